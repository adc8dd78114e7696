"""grafana_dashboards/.lint against dashboard-linter's target-job-rule and target-instance-rule, done as the linter
does them (lint/rule_target_job_instance.go: every selector needs a regex matcher ``job=~"$job"`` and
``instance=~"$instance"``; a configuration entry matches by dashboard title and panel title)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from exporter.config import Settings
from exporter.generate.dashboard_lint import RULES, foreign_panels, render_lint_config
from exporter.generate.dashboards import render_dashboards
from tests.promql import pp, selectors
from tests.support import ROOT

FOREIGN_PREFIXES = ("istio_", "jaeger_", "otelcol_")


def panels(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for p in items:
        out.append(p)
        out += panels(p.get("panels") or [])
    return out


def violations(dashboard: dict[str, Any], rule: str) -> list[tuple[str, str]]:
    """(panel title, metric name) of every selector the linter's rule reports."""
    label = rule.split("-")[1]
    out = []
    for panel in panels(dashboard["panels"]):
        for target in panel.get("targets") or []:
            for vs in selectors(target["expr"], fill_variables=False):
                if not any(m.name == label and m.op == pp.MatchOp.Re and m.value == f"${label}"
                           for m in vs.matchers.matchers):  # fmt: skip
                    out.append((panel["title"], vs.name))
    return out


def excluded(config: dict[str, Any], rule: str, dashboard: str, panel: str) -> bool:
    return any(e["dashboard"] == dashboard and e["panel"] == panel for e in config["exclusions"][rule]["entries"])


@pytest.mark.parametrize(
    "dashboards",
    [
        {p.name: p.read_text() for p in sorted((ROOT / "grafana_dashboards").glob("*.json"))},
        render_dashboards(Settings(cluster_label="", istio_metric_selector='job="envoy-stats"')),
    ],
    ids=["committed", "knobs"],
)
def test_only_foreign_series_go_without_the_exporters_job_and_instance(dashboards):
    config = yaml.safe_load(render_lint_config(dashboards))
    for rule in RULES:
        needed = set()
        for text in dashboards.values():
            dashboard = json.loads(text)
            for panel, metric in violations(dashboard, rule):
                assert metric.startswith(FOREIGN_PREFIXES) or metric == "ALERTS", (dashboard["title"], panel, metric)
                assert excluded(config, rule, dashboard["title"], panel), (rule, dashboard["title"], panel)
                needed.add((dashboard["title"], panel))
        entries = {(e["dashboard"], e["panel"]) for e in config["exclusions"][rule]["entries"]}
        assert entries == needed, "an exclusion no violation needs"
        assert all(e["reason"] for e in config["exclusions"][rule]["entries"])


def test_committed_lint_config_is_generated():
    dashboards = {p.name: p.read_text() for p in sorted((ROOT / "grafana_dashboards").glob("*.json"))}
    assert (ROOT / "grafana_dashboards" / ".lint").read_text() == render_lint_config(dashboards)


def test_own_metrics_are_never_excluded():
    dashboard = {"title": "d", "panels": [
        {"title": "a", "targets": [{"expr": 'meshhealth_finding{job=~"$job"}'}]},
        {"title": "row", "panels": [{"title": "b", "targets": [{"expr": "rate(istio_requests_total[5m])"},
                                                                {"expr": "meshhealth_istio_init_failing_pods"}]}]},
        {"title": "c", "targets": [{"expr": 'ALERTS{alertname="X"}'}]},
    ]}  # fmt: skip
    found = foreign_panels(dashboard)
    assert [p for p, _ in found] == ["b", "c"]
    assert "Istio" in found[0][1] and "ALERTS" in found[1][1]


def test_the_linter_reads_the_file_shape_it_expects():
    """yaml.v3 keys of lint.ConfigurationFile: exclusions → rule → reason/entries → dashboard/panel/reason."""
    doc = yaml.safe_load((ROOT / "grafana_dashboards" / ".lint").read_text())
    assert set(doc) == {"exclusions"} and set(doc["exclusions"]) == set(RULES)
    for rule in doc["exclusions"].values():
        assert set(rule) == {"reason", "entries"}
        assert all(set(e) == {"reason", "dashboard", "panel"} for e in rule["entries"])
