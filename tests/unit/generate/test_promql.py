"""The PromQL rewrites: family selectors and the cluster label, checked on the parsed expressions of every
generated rule and panel (promql-parser, the Rust port of Prometheus' parser)."""

from __future__ import annotations

import json

import promql_parser as pp
import pytest

from exporter.config import Settings
from exporter.generate.alerts import effective_alerts
from exporter.generate.dashboard_scope import NAMESPACED
from exporter.generate.dashboards import render_dashboards
from exporter.generate.promql import Scope, keep_label, with_selector, with_selector_on
from tests.promql import nodes, selectors


def groupings_without(expr: str, label: str) -> list[str]:
    """Aggregations and on() matches of ``expr`` that merge series of different ``label`` values."""
    out = []
    for n in nodes(pp.parse(expr)):
        if isinstance(n, pp.AggregateExpr):
            m = n.modifier
            if m is None or (m.type == pp.AggModifierType.By) != (label in m.labels):
                out.append(f"{n.op} {m}")
        elif isinstance(n, pp.BinaryExpr) and n.modifier is not None and n.modifier.matching is not None:
            m = n.modifier.matching
            if (m.type == pp.LabelModifierType.Include) != (label in m.labels):
                out.append(str(m))
    return out


def matchers(vs: pp.VectorSelector) -> set[tuple[str, str]]:
    return {(m.name, m.value) for m in vs.matchers.matchers}


def rule_exprs(settings: Settings) -> list[str]:
    return [a.expr for a in effective_alerts(settings)]


def panel_exprs(settings: Settings, overview_status: bool = True) -> list[str]:
    """Every panel query; ``overview_status=False`` leaves out the overview's section statuses, which are one value
    across the chosen clusters by design (their selectors still carry the cluster variable)."""
    return [
        target["expr"]
        for name, text in render_dashboards(settings).items()
        for panel in json.loads(text)["panels"]
        if overview_status or not (name == "meshhealth-overview.json" and panel["type"] == "stat")
        for target in panel.get("targets", [])
    ]


def test_keep_label_widens_every_list_once():
    expr = "sum by () (a) > 0 unless on () count by (x) (b) and on (y, z) c"
    assert keep_label(expr, "k") == "sum by (k) (a) > 0 unless on (k) count by (k, x) (b) and on (k, y, z) c"
    assert keep_label(expr, "") == expr
    assert keep_label("meshhealth_ratio_on (x)", "k") == "meshhealth_ratio_on (x)"


def test_with_selector_touches_only_its_family():
    expr = "meshhealth_istio_init_failing_pods > 0 and istio_requests_total{a='b'} and rate(istio_x[5m])"
    assert with_selector(expr, 'job="j"', "istio_") == (
        'meshhealth_istio_init_failing_pods > 0 and istio_requests_total{job="j",a=\'b\'} and rate(istio_x{job="j"}[5m])'
    )
    assert with_selector("meshhealth_es_jaeger_blocked_indices", 'job="j"', "jaeger_") == (
        "meshhealth_es_jaeger_blocked_indices"
    )
    assert with_selector_on("meshhealth_a_total + meshhealth_a", 'n="1"', ["meshhealth_a"]) == (
        'meshhealth_a_total + meshhealth_a{n="1"}'
    )
    both = ["meshhealth_a", "meshhealth_a_total"]
    assert with_selector_on("meshhealth_a_total + meshhealth_a", 'n="1"', both) == (
        'meshhealth_a_total{n="1"} + meshhealth_a{n="1"}'
    )
    assert with_selector_on("meshhealth_a + b", 'n="1"', []) == "meshhealth_a + b"
    assert with_selector("meshhealth_a + istio_b", 'n="1"') == 'meshhealth_a{n="1"} + istio_b'  # default family


@pytest.mark.parametrize("label", ["cluster", "k8s_cluster"])
def test_every_rule_and_panel_keeps_the_cluster_label(label):
    settings = Settings(cluster_label=label)
    exprs = rule_exprs(settings) + panel_exprs(settings, overview_status=False)
    assert len(exprs) > 100
    assert {e: groupings_without(e, label) for e in exprs if groupings_without(e, label)} == {}


def grouping_labels(expr: str) -> set[str]:
    out: set[str] = set()
    for n in nodes(pp.parse(expr)):
        if isinstance(n, pp.AggregateExpr) and n.modifier is not None:
            out |= set(n.modifier.labels)
        elif isinstance(n, pp.BinaryExpr) and n.modifier is not None and n.modifier.matching is not None:
            out |= set(n.modifier.matching.labels)
    return out


def test_no_cluster_label_leaves_the_catalogue_groupings():
    exprs = rule_exprs(Settings(cluster_label=""))
    assert not any("cluster" in grouping_labels(e) for e in exprs)
    assert any("by ()" in e for e in exprs)
    assert all("cluster" in grouping_labels(e) for e in rule_exprs(Settings()) if " by (" in e or " on (" in e)


def test_each_family_selector_reaches_every_metric_of_that_family_in_rules():
    settings = Settings(
        metric_selector='job="meshhealth"', istio_metric_selector='job="envoy"', jaeger_metric_selector='job="jaeger"'
    )
    expected = {"meshhealth_": ("job", "meshhealth"), "istio_": ("job", "envoy"), "jaeger_": ("job", "jaeger"),
                "otelcol_": ("job", "jaeger")}  # fmt: skip
    seen = set()
    for expr in rule_exprs(settings):
        for vs in selectors(expr):
            [prefix] = [p for p in expected if vs.name.startswith(p)]
            assert expected[prefix] in matchers(vs), expr
            assert len([m for m in matchers(vs) if m[0] == "job"]) == 1, expr
            seen.add(prefix)
    assert seen == set(expected)


def test_panels_follow_the_dashboard_variables():
    settings = Settings(istio_metric_selector='job="envoy"')
    seen_namespaced = False
    for expr in panel_exprs(settings):
        for vs in selectors(expr, fill_variables=False):
            have = matchers(vs)
            assert ("cluster", "$cluster") in have, expr
            if vs.name.startswith("meshhealth_"):
                assert {("job", "$job"), ("instance", "$instance")} <= have, expr
            if vs.name.startswith("istio_"):
                assert ("job", "envoy") in have, expr
            assert (("namespace", "$namespace") in have) == (vs.name in NAMESPACED), expr
            seen_namespaced |= vs.name in NAMESPACED
    assert seen_namespaced


@pytest.mark.parametrize("label", ["cluster", ""])
def test_dashboards_have_the_variables_their_queries_use(label):
    for name, text in render_dashboards(Settings(cluster_label=label)).items():
        dashboard = json.loads(text)
        variables = [v["name"] for v in dashboard["templating"]["list"]]
        assert variables == ["datasource", *(["cluster"] if label else []), "job", "instance", "namespace"], name
        used = {v for v in ("cluster", "job", "instance", "namespace") if f"${v}" in text}
        assert used <= set(variables), name
        for v in dashboard["templating"]["list"][1:]:
            pp.parse(v["query"].removeprefix("label_values(").rsplit(",", 1)[0])
            assert v["includeAll"] and v["allValue"] == ".*", name


def test_scope_applies_selectors_before_widening_groupings():
    scope = Scope(meshhealth='job="a"', cluster_label="c")
    assert scope.apply("sum by () (meshhealth_x)") == 'sum by (c) (meshhealth_x{job="a"})'
