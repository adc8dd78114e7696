"""Every check has scenarios, and each is what it claims: findings exactly in the unhealthy case."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from exporter.catalog import BY_ID
from exporter.checks import ALL_CHECKS
from exporter.evaluate import CheckOutcome, evaluate
from tests.scenarios import all_scenarios
from tests.unit.helpers import settings

SCENARIOS = all_scenarios()
NOW = 6 * 3600.0


def test_every_check_has_a_scenario():
    covered = {s.check for s in SCENARIOS}
    assert [c.id for c in ALL_CHECKS if c.id not in covered] == []


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_findings_only_when_unhealthy(scenario):
    check = next(c for c in ALL_CHECKS if c.id == scenario.check)
    s = settings(**scenario.settings)
    [healthy] = evaluate([check], {check.source: scenario.healthy(NOW)}, s, NOW)
    [unhealthy] = evaluate([check], {check.source: scenario.unhealthy(NOW)}, s, NOW)
    assert healthy.up and unhealthy.up, (healthy.error, unhealthy.error)
    assert healthy.result.findings == []
    assert unhealthy.result.findings, "the unhealthy scenario has no finding"


@pytest.mark.parametrize("severity", ["info", "critical"])
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_findings_follow_alert_severity_overrides(scenario, severity):
    """No check hard-codes a severity: overriding all of its alerts moves every finding."""
    check = next(c for c in ALL_CHECKS if c.id == scenario.check)
    alerts = {a.key: {"severity": severity} for a in BY_ID[scenario.check].alerts}
    s = settings(**scenario.settings, alerts=alerts)
    [unhealthy] = evaluate([check], {check.source: scenario.unhealthy(NOW)}, s, NOW)
    assert {f.severity.label for f in unhealthy.result.findings} == {severity}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_each_check_emits_only_metrics_declared_under_its_id(scenario):
    """A metric belongs to the failure mode whose check emits it: its alert, panel and runbook sit there."""
    check = next(c for c in ALL_CHECKS if c.id == scenario.check)
    s = settings(**scenario.settings)
    declared = {m.name for m in BY_ID[scenario.check].metrics}
    for data in (scenario.healthy(NOW), scenario.unhealthy(NOW)):
        [outcome] = evaluate([check], {check.source: data}, s, NOW)
        assert {x.metric for x in outcome.result.samples} - declared == set()


EXPECTED = Path(__file__).parents[2] / "scenarios" / "expected"


def _output(outcome: CheckOutcome) -> dict[str, object]:
    findings = [[f.check, f.severity.label, f.namespace, f.kind, f.name, f.message] for f in outcome.result.findings]
    samples = sorted(
        f"{x.metric}{{{','.join(f'{k}={v!r}' for k, v in x.labels)}}} {x.value!r}" for x in outcome.result.samples
    )
    return {"up": outcome.up, "error": outcome.error, "findings": findings, "samples": samples}


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_findings_and_samples_are_exactly_the_expected_ones(scenario):
    """Every finding (severity, object, message) and every sample (labels, value) of both halves of each scenario,
    compared with tests/scenarios/expected/<scenario>.json. After an intended change, review the difference and
    rewrite the files with UPDATE_EXPECTED=1."""
    check = next(c for c in ALL_CHECKS if c.id == scenario.check)
    s = settings(**scenario.settings)
    got = {}
    for half in ("healthy", "unhealthy"):
        [outcome] = evaluate([check], {check.source: getattr(scenario, half)(NOW)}, s, NOW)
        got[half] = _output(outcome)
    path = EXPECTED / f"{scenario.id}.json"
    if os.environ.get("UPDATE_EXPECTED"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    assert got == json.loads(path.read_text())
