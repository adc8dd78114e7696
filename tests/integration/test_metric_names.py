"""Every metric a generated rule or dashboard panel reads is one the exporter really emits or one listed with its
upstream source: names are taken from the parsed expressions (promql-parser), and the exporter's names from
what a running ``serve`` serves plus what every check scenario renders on /metrics (healthy and unhealthy)."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from exporter.catalog.external import EXTERNAL_METRICS
from exporter.config import Settings
from exporter.evaluate import evaluate
from exporter.generate.dashboards import render_dashboards
from exporter.generate.rules import render_rules_file
from tests.promql import metric_names
from tests.scenarios import all_scenarios
from tests.scenarios.promtool import CHECKS, parse_body, rendered_samples
from tests.support import start_exporter, wait_for
from tests.unit.helpers import settings as make_settings

pytestmark = pytest.mark.integration
PROMETHEUS_OWN = {"ALERTS": "prometheus rules/alerting.go alertMetricName (firing and pending alerts)"}
NOW = 1_700_000_000.0


def used_names() -> dict[str, set[str]]:
    """Metric name -> where it is read (alert names, dashboard panel titles)."""
    settings = Settings()
    used: dict[str, set[str]] = {}
    for group in yaml.safe_load(render_rules_file(settings))["groups"]:
        for rule in group["rules"]:
            for name in metric_names(rule["expr"]):
                used.setdefault(name, set()).add(rule["alert"])
    for file, text in render_dashboards(settings).items():
        for panel in json.loads(text)["panels"]:
            for target in panel.get("targets", []):
                for name in metric_names(target["expr"]):
                    used.setdefault(name, set()).add(f"{file}: {panel['title']}")
    return used


@pytest.fixture(scope="module")
def emitted() -> set[str]:
    names: set[str] = set()
    for scenario in all_scenarios():
        s = make_settings(**scenario.settings)
        check = CHECKS[scenario.check]
        for data in (scenario.healthy(NOW), scenario.unhealthy(NOW)):
            [outcome] = evaluate([check], {check.source: data}, s, NOW)
            names |= {name for name, _ in rendered_samples(outcome, s)}
    running = start_exporter([])
    try:
        # the first render after a refresh runs in a worker thread: wait for it rather than read the empty start
        def rendered() -> bytes | None:
            status, _, body = running.get("/metrics")
            assert status == 200
            wanted = (b"meshhealth_source_refresh_duration_seconds", b"meshhealth_event_loop_lag_seconds")
            return body if all(w in body for w in wanted) else None

        body = wait_for(rendered, 30, "the first render after a refresh")
        names |= {name for name, _ in parse_body(body.decode())}
        names |= set(re.findall(r"^(meshhealth_build_info)\{", body.decode(), re.M))
    finally:
        running.process.terminate()
        running.process.communicate(timeout=10)
    return names


def test_every_name_in_rules_and_panels_is_emitted_or_listed(emitted):
    used = used_names()
    assert len(used) > 60
    unknown = {name: sorted(where)[:3] for name, where in used.items()
               if name not in emitted and name not in EXTERNAL_METRICS and name not in PROMETHEUS_OWN}  # fmt: skip
    assert unknown == {}


def test_listed_external_names_are_all_used():
    used = used_names()
    assert set(EXTERNAL_METRICS) - set(used) == set(), "listed but read by no rule or panel"
