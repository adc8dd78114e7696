"""Unit tests of the checks of istiod's metrics and push status (CP04-CP08, CP10, CP11)."""

from __future__ import annotations

import pytest

from exporter.checks.pilot import CP06, CP07, CP10, check_convergence, check_rejected_configs, check_root_cert, quantile
from tests.unit.helpers import settings
from tests.unit.sources.istiod.test_source import NEW_METRICS, OLD_METRICS, snap_of


def test_cp04_cp08_cp11_rejected_gateway_root_cert_and_convergence():
    snap = snap_of({"a": []}, rejected=(("gateway", "bookinfo/gw-2", 3.0),))
    [gw] = check_rejected_configs(snap, settings(), 1000.0).findings
    assert (gw.kind, gw.namespace, gw.name) == ("Gateway", "bookinfo", "gw-2")
    fixed = check_rejected_configs(snap_of({"a": []}), settings(), 1000.0)
    assert fixed.findings == [] and any(x.metric == "meshhealth_istiod_rejected_configs" for x in fixed.samples)
    [cert] = check_root_cert(snap, settings(), 1000.0).findings
    assert cert.severity.label == "critical" and "6d" in cert.message  # 518400 s = 6 days
    old = check_root_cert(snap_of({"a": []}, metrics=OLD_METRICS), settings(), 1000.0)
    assert old.samples[0].value == 1.9e9 and old.findings == []
    assert check_convergence(snap, settings(), 1000.0).samples == []  # no interval yet
    assert quantile(0.99, [(0.1, 10), (1.0, 20), (float("inf"), 20)]) == pytest.approx(0.982)
    assert quantile(0.5, [(float("inf"), 0)]) is None


def test_cp05_eds_no_instances_names_the_cluster():
    from exporter.checks.pilot import CHECKS

    cp05 = next(c for c in CHECKS if c.id == "CP05")
    push = {"pilot_eds_no_instances": {"outbound|9080|v1-bug|reviews.bookinfo.svc.cluster.local": {}}}
    result = cp05.run(snap_of({"a": []}, push=push), settings(), 1000.0)
    [finding] = result.findings
    assert finding.namespace == "bookinfo" and finding.name == "outbound|9080|v1-bug|reviews.bookinfo.svc.cluster.local"
    assert {x.metric for x in result.samples} == {
        "meshhealth_istiod_eds_no_instances",
        "meshhealth_istiod_cluster_without_instances",
    }


GAUGES = """# TYPE pilot_conflict_inbound_listener gauge
pilot_conflict_inbound_listener 2
# TYPE pilot_conflict_outbound_listener_tcp_over_current_tcp gauge
pilot_conflict_outbound_listener_tcp_over_current_tcp 1
# TYPE pilot_conflict_outbound_listener_http_over_current_tcp gauge
pilot_conflict_outbound_listener_http_over_current_tcp 4
# TYPE pilot_duplicate_envoy_clusters gauge
pilot_duplicate_envoy_clusters 3
# TYPE pilot_vservice_dup_domain gauge
pilot_vservice_dup_domain 5
"""


def _samples(result):
    return {(x.metric, x.labels): x.value for x in result.samples}


def test_cp06_inbound_conflicts_relayed_per_replica_with_a_finding_per_replica():
    result = CP06(snap_of({"istiod-a": [], "istiod-b": []}, metrics=GAUGES), settings(), 1000.0)
    assert _samples(result) == {
        ("meshhealth_istiod_inbound_listener_conflicts", (("istiod", "istiod-a"),)): 2.0,
        ("meshhealth_istiod_inbound_listener_conflicts", (("istiod", "istiod-b"),)): 2.0,
    }
    assert [(f.check, f.severity.label, f.namespace, f.kind, f.name, f.message) for f in result.findings] == [
        ("CP06", "warning", "istio-system", "Pod", name, "istiod reports 2 (pilot_conflict_inbound_listener); "
         "no detail in push_status") for name in ("istiod-a", "istiod-b")
    ]  # fmt: skip


def test_cp07_outbound_conflicts_sum_every_name_istio_has_used():
    result = CP07(snap_of({"istiod-a": []}, metrics=GAUGES), settings(), 1000.0)
    assert _samples(result) == {("meshhealth_istiod_outbound_listener_conflicts", (("istiod", "istiod-a"),)): 5.0}
    [finding] = result.findings
    assert finding.message.startswith("istiod reports 5 (pilot_conflict_outbound_listener_tcp_over_current_tcp, ")
    quiet = CP07(snap_of({"istiod-a": []}, metrics=NEW_METRICS), settings(), 1000.0)
    assert quiet.findings == [] and _samples(quiet) == {
        ("meshhealth_istiod_outbound_listener_conflicts", (("istiod", "istiod-a"),)): 0.0
    }


def test_cp10_duplicates_relay_two_gauges_and_name_objects_from_push_status():
    push = {"pilot_vservice_dup_domain": {"reviews.bookinfo.svc.cluster.local:9080": {"proxy": "gw-1.istio-system"}}}
    s = settings(alerts={"MeshHealthDuplicateClustersOrDomains": {"severity": "critical"}})
    result = CP10(snap_of({"istiod-a": []}, metrics=GAUGES, push=push), s, 1000.0)
    assert _samples(result) == {
        ("meshhealth_istiod_duplicate_envoy_clusters", (("istiod", "istiod-a"),)): 3.0,
        ("meshhealth_istiod_duplicate_vservice_domains", (("istiod", "istiod-a"),)): 5.0,
    }
    [finding] = result.findings
    assert (finding.check, finding.severity.label, finding.kind) == ("CP10", "critical", "Config")
    assert finding.name == "reviews.bookinfo.svc.cluster.local:9080"
    assert finding.message.endswith("(proxy gw-1.istio-system); pilot_vservice_dup_domain on istiod istiod-a")
