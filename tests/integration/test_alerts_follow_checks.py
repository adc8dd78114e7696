"""For every check: its alerts fire exactly when it has findings, with the findings' severity and objects.

Each scenario's healthy and unhealthy data go through the check and the /metrics renderer; the samples
are promtool's input series for the generated rules. The unhealthy case must fire an alert of this
check (and of no other), with the severity of the findings and naming their objects; the healthy case
must fire nothing.
"""

from __future__ import annotations

import pytest

from exporter.catalog import BY_ID
from tests.scenarios import all_scenarios
from tests.scenarios.promtool import run_scenario
from tests.unit.helpers import settings

pytestmark = pytest.mark.integration
SCENARIOS = all_scenarios()
# labels that name an object; an alert without any is an aggregate (per replica, type, node count, ...)
OBJECT_LABELS = {"namespace", "pod", "proxy", "deployment", "workload", "configuration", "service", "node", "index",
                 "es_cluster", "crd", "hpa", "component"}  # fmt: skip


def _names_an_object(alert: dict[str, str], findings) -> bool:
    values = [v for k, v in alert.items() if k in OBJECT_LABELS and v]
    if not values:
        return True  # an aggregate alert (no object labels)
    names = {x for f in findings for x in (f.namespace, f.name) if x}
    return any(n in v or v in n for n in names for v in values)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_alert_fires_exactly_with_the_findings(scenario, promtool, tmp_path):
    s = settings(**scenario.settings)
    run = run_scenario(scenario, s, tmp_path, promtool, unhealthy=True)
    own = {a.name for a in BY_ID[scenario.check].alerts}
    assert run.findings
    assert set(run.fired) - own == set(), f"alerts of other checks fire on {scenario.check}'s metrics"
    assert run.fired, f"no alert of {scenario.check} fires although it has findings:\n{run.output}"
    fired_severities = {labels["severity"] for alerts in run.fired.values() for labels in alerts}
    # every finding is backed by an alert of its own severity (a worse case may fire a milder alert too)
    assert {f.severity.label for f in run.findings} <= fired_severities, (run.findings, run.fired)
    for name, alerts in run.fired.items():
        for labels in alerts:
            assert _names_an_object(labels, run.findings), (name, labels, run.findings)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_alerts_silent_when_healthy(scenario, promtool, tmp_path):
    run = run_scenario(scenario, settings(**scenario.settings), tmp_path, promtool, unhealthy=False)
    assert run.fired == {}, run.output
