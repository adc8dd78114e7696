"""Catalogue-wide conventions."""

from __future__ import annotations

from exporter.catalog import METRICS

RESERVED = {"cluster", "job", "instance"}  # set by Prometheus targets and multi-cluster setups


def test_no_metric_uses_a_label_prometheus_setups_reserve():
    clashes = {name: spec.labels for name, spec in METRICS.items() if RESERVED & set(spec.labels)}
    assert clashes == {}


def test_elasticsearch_metrics_name_the_cluster_es_cluster():
    es = {name: spec.labels for name, spec in METRICS.items() if name.startswith("meshhealth_es_")}
    assert es and all(labels[:1] == ("es_cluster",) for labels in es.values()), es
