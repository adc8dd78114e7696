"""Catalogue-wide conventions."""

from __future__ import annotations

import re

from exporter.catalog import BY_ID, METRICS
from exporter.catalog.external import EXTERNAL_METRICS
from exporter.catalog.model import exposed_name
from exporter.checks import ALL_CHECKS
from tests.promql import metric_names

RESERVED = {"cluster", "job", "instance"}  # set by Prometheus targets and multi-cluster setups
FAMILIES = ("meshhealth_", "istio_", "jaeger_", "otelcol_")  # exporter/generate/promql.py rewrites these names


def test_no_expression_names_a_metric_family_inside_a_string():
    """The selector rewrites (Python and the chart's RE2) work on names; a label value starting like a metric
    family (exporter=~"jaeger_...") would be rewritten too."""
    for fm in BY_ID.values():
        exprs = [a.expr for a in fm.alerts] + [q.expr for p in fm.panels for q in p.queries]
        for expr in exprs:
            for literal in re.findall(r'"(?:[^"\\]|\\.)*"', expr):
                assert not re.search(rf"\b({'|'.join(FAMILIES)})", literal), (fm.id, expr)


def test_no_metric_uses_a_label_prometheus_setups_reserve():
    clashes = {name: spec.labels for name, spec in METRICS.items() if RESERVED & set(spec.labels)}
    assert clashes == {}


def test_elasticsearch_metrics_name_the_cluster_es_cluster():
    es = {name: spec.labels for name, spec in METRICS.items() if name.startswith("meshhealth_es_")}
    assert es and all(labels[:1] == ("es_cluster",) for labels in es.values()), es


def test_tr09_rule_only_alerts_read_jaeger_metrics_listed_with_their_source():
    """TR09 has no check: its alerts read the Jaeger collector's own metrics, each listed in EXTERNAL_METRICS."""
    tr09 = BY_ID["TR09"]
    assert tr09.metrics == ()
    named = {m for a in tr09.alerts for m in metric_names(a.expr)}
    assert {n for n in named if n.startswith("jaeger_collector_")} and {n for n in named if n.startswith("otelcol_")}
    assert named <= set(EXTERNAL_METRICS), named - set(EXTERNAL_METRICS)
    assert not any(c.id == "TR09" for c in ALL_CHECKS)


def test_traffic_alerts_are_rule_only_on_istios_request_metric_with_a_traffic_guard():
    """TM01 and TM03-TM06 have no check; TM03-TM06 divide by the request rate and need a minimum rate."""
    for id in ("TM01", "TM03", "TM04", "TM05", "TM06"):
        assert not any(c.id == id for c in ALL_CHECKS), id
        [alert] = BY_ID[id].alerts
        assert "istio_requests_total" in alert.expr and "istio_requests_total" in EXTERNAL_METRICS
        if id != "TM01":
            assert "${min_requests_per_second}" in alert.expr and "${ratio}" in alert.expr, id
            assert BY_ID[id].thresholds == ("ratio", "min_requests_per_second")


def test_every_alert_names_only_metrics_we_emit_or_listed_external_ones():
    ours = {exposed_name(m) for m in METRICS.values()}
    for fm in BY_ID.values():
        for alert in fm.alerts:
            metrics = metric_names(alert.expr)
            assert metrics, alert.name
            assert metrics <= ours | set(EXTERNAL_METRICS), (alert.name, metrics - ours - set(EXTERNAL_METRICS))
