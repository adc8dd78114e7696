"""pint's promql/series comments: a selector is disabled exactly when no healthy scenario has a series it matches."""

from __future__ import annotations

import re

import yaml

from exporter.generate.series_presence import present_while_healthy, problem_only_selectors
from tests.support import ROOT


def test_series_of_a_healthy_mesh_are_present_and_findings_are_not():
    assert present_while_healthy("meshhealth_istiod_replicas_ready")
    assert present_while_healthy("meshhealth_check_up", 'check="DP01"')
    assert not present_while_healthy("meshhealth_check_up", 'check="NOPE"')
    assert not present_while_healthy("meshhealth_finding")
    assert not present_while_healthy("meshhealth_xds_proxy_stale_seconds")


def test_matchers_follow_promql():
    assert present_while_healthy("meshhealth_check_up", 'check=~"DP0[12]"')
    assert not present_while_healthy("meshhealth_check_up", 'check!~".+"')
    assert present_while_healthy("meshhealth_check_up", 'check!="DP01"')


def test_only_problem_series_are_disabled():
    expr = "meshhealth_xds_proxy_stale_seconds > 60 and on (cluster) meshhealth_istiod_replicas_ready > 0"
    assert problem_only_selectors(expr) == ["meshhealth_xds_proxy_stale_seconds"]
    with_labels = 'meshhealth_webhook_target_broken{reason="tls_error"} == 1'
    assert problem_only_selectors(with_labels) == ['meshhealth_webhook_target_broken{reason="tls_error"}']


def test_jaeger_generations_are_disabled_only_when_a_rule_reads_both():
    both = "jaeger_collector_queue_length / jaeger_collector_queue_capacity > 0.8 or otelcol_exporter_queue_size > 1"
    assert problem_only_selectors(both) == ["jaeger_collector_queue_length", "jaeger_collector_queue_capacity",
                                            "otelcol_exporter_queue_size"]  # fmt: skip
    assert problem_only_selectors("jaeger_collector_queue_length > 1") == []
    assert problem_only_selectors("rate(jaeger_storage_bulk_index_errors_total[5m]) > 0") == []


def test_every_comment_sits_in_its_rule_and_names_a_selector_of_its_expr():
    text = (ROOT / "alert_rules" / "rules.yaml").read_text()
    rules = [r for g in yaml.safe_load(text)["groups"] for r in g["rules"]]
    blocks = re.split(r"\n      - alert: ", text)[1:]
    assert len(blocks) == len(rules)
    commented = 0
    for block, rule in zip(blocks, rules, strict=True):
        assert block.startswith(rule["alert"])
        for selector in re.findall(r"# pint disable promql/series\((.*)\)\n", block):
            commented += 1
            name = selector.split("{")[0]
            assert re.search(rf"\b{name}\b", rule["expr"]), (rule["alert"], selector)
            for matcher in re.findall(r'\w+=~?"[^"]*"', selector):
                assert matcher in rule["expr"], (rule["alert"], selector)
    assert commented >= 30
