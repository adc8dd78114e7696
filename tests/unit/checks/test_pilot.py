"""Unit tests of the checks of istiod's metrics and push status (CP04-CP08, CP10, CP11)."""

from __future__ import annotations

import dataclasses

import pytest

from exporter.checks.pilot import (
    CP05,
    CP06,
    CP07,
    CP10,
    _object_of,
    check_convergence,
    check_rejected_configs,
    check_root_cert,
    quantile,
)
from exporter.sources.istiod.metrics import parse_metrics
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


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("outbound|9080|v1-bug|reviews.bookinfo.svc.cluster.local", "bookinfo"),
        ("reviews.bookinfo.svc.cluster.local:9080", "bookinfo"),
        ("web-1.shop", "shop"),
        ("reviews", ""),
        ("10.0.0.1", "0"),
        ("a..b", ""),
        ("x.svc.cluster.local", ""),
        ("inbound|8080||", ""),
    ],
)
def test_cp05_cp10_object_of_a_push_status_key(key, expected):
    assert _object_of(key) == (expected, key)


def test_cp05_push_status_merged_over_replicas_explained_and_capped():
    push = {"pilot_eds_no_instances": {
        "outbound|80||b.shop.svc.cluster.local": {"message": "custom text", "proxy": "gw.istio-system"},
        "outbound|80||a.shop.svc.cluster.local": "junk",
    }}  # fmt: skip
    snap = snap_of({"istiod-a": [], "istiod-b": []}, push=push)
    result = CP05(snap, settings(), 1000.0)
    assert [(f.namespace, f.kind, f.name, f.message) for f in result.findings] == [
        ("shop", "Cluster", "outbound|80||a.shop.svc.cluster.local",
         "the cluster has no endpoints (Service selector or subset labels match no ready pod); "
         "pilot_eds_no_instances on istiod istiod-a, istiod-b"),
        ("shop", "Cluster", "outbound|80||b.shop.svc.cluster.local",
         "custom text (proxy gw.istio-system); pilot_eds_no_instances on istiod istiod-a, istiod-b"),
    ]  # fmt: skip
    detail = sorted(x.labels for x in result.samples if x.metric == "meshhealth_istiod_cluster_without_instances")
    assert detail == sorted((("istiod", r), ("key", k)) for r in ("istiod-a", "istiod-b")
                            for k in push["pilot_eds_no_instances"])  # fmt: skip
    capped = CP05(snap, settings(findings={"max_series_per_check": 1}), 1000.0)
    assert len(capped.findings) == 1
    assert len([x for x in capped.samples if x.metric == "meshhealth_istiod_cluster_without_instances"]) == 1
    no_push = CP05(snap_of({"istiod-a": []}, push={"pilot_eds_no_instances": ["x"]}), settings(), 1000.0)
    [f] = no_push.findings
    assert f.message == "istiod reports 1 (pilot_eds_no_instances); no detail in push_status"


def test_cp04_findings_per_rejected_object_and_counter_relayed():
    snap = snap_of({"istiod-a": []}, rejected=(("gateway", "bookinfo/gw-2", 2.0), ("", "bare", 1.0)))
    result = check_rejected_configs(snap, settings(), 1000.0)
    assert [(f.check, f.severity.label, f.namespace, f.kind, f.name, f.message) for f in result.findings] == [
        ("CP04", "warning", "bookinfo", "Gateway", "gw-2", "istiod istiod-a rejected this gateway 2 more times: "
         "another object already configures the same host and port (the second server is dropped)"),
        ("CP04", "warning", "", "Config", "bare", "istiod istiod-a rejected this  1 more times: another object "
         "already configures the same host and port (the second server is dropped)"),
    ]  # fmt: skip
    assert {(x.metric, x.labels): x.value for x in result.samples} == {
        ("meshhealth_istiod_rejected_configs", (("istiod", "istiod-a"), ("type", "gateway"), ("name", "bookinfo/gw-2"))): 3.0,
        ("meshhealth_istiod_rejected_configs_kinds", (("istiod", "istiod-a"),)): 2.0,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("q", "buckets", "expected"),
    [
        (0.5, [(1.0, 10), (2.0, 20), (float("inf"), 20)], 1.0),
        (0.75, [(1.0, 10), (2.0, 20), (float("inf"), 20)], 1.5),
        (0.99, [(float("inf"), 10), (1.0, 5)], 1.0),
        (0.5, [(1.0, 0), (2.0, 4), (4.0, 4)], 1.5),
        (1.0, [(1.0, 4), (2.0, 4)], 1.0),
        (0.5, [], None),
        (0.5, [(1.0, 0)], None),
    ],
)  # fmt: skip
def test_cp08_quantile_like_histogram_quantile(q, buckets, expected):
    assert quantile(q, buckets) == (pytest.approx(expected) if expected is not None else None)


def test_cp08_threshold_and_samples():
    snap = snap_of({"istiod-a": []})
    replica = snap.replicas[0]
    slow = dataclasses.replace(replica, convergence_delta=((1.0, 1), (10.0, 100), (float("inf"), 100)))
    fast = dataclasses.replace(replica, convergence_delta=((0.1, 100), (float("inf"), 100)))
    for data, value, found in ((slow, 9.9090909, True), (fast, 0.099, False)):
        result = check_convergence(dataclasses.replace(snap, replicas=(data,)), settings(), 1000.0)
        [sample] = result.samples
        assert sample.labels == (("istiod", "istiod-a"),) and sample.value == pytest.approx(value)
        assert bool(result.findings) is found
    [f] = check_convergence(dataclasses.replace(snap, replicas=(slow,)), settings(), 1000.0).findings
    assert f.message == "p99 push convergence 9.9s over the last interval (threshold 5s)"
    s = settings(checks={"CP08": {"convergence_p99_seconds": 10}})
    assert check_convergence(dataclasses.replace(snap, replicas=(slow,)), s, 1000.0).findings == []


@pytest.mark.parametrize(
    ("left_days", "severity", "text"),
    [(40, None, ""), (29.9, "warning", "expires in 29d"), (6.9, "critical", "expires in 6d"),
     (-1, "critical", "has expired")],
)  # fmt: skip
def test_cp11_root_cert_grades(left_days, severity, text):
    metrics = f"# TYPE citadel_server_root_cert_expiry_seconds gauge\ncitadel_server_root_cert_expiry_seconds {left_days * 86400}\n"
    result = check_root_cert(snap_of({"istiod-a": []}, metrics=metrics), settings(), 1000.0)
    [sample] = result.samples
    assert sample.value == 1000.0 + left_days * 86400
    if severity is None:
        assert result.findings == []
    else:
        [f] = result.findings
        assert (f.severity.label, f.kind, f.name) == (severity, "Pod", "istiod-a") and text in f.message


def test_cp05_cp10_keys_with_dots_before_the_host():
    assert _object_of("outbound|80|v1.2|reviews") == ("", "outbound|80|v1.2|reviews")
    assert _object_of("outbound|80|v1.2|reviews.shop.svc.cluster.local") == (
        "shop", "outbound|80|v1.2|reviews.shop.svc.cluster.local")  # fmt: skip


def test_cp07_push_status_entry_without_message_is_named_after_its_metric():
    push = {"pilot_conflict_outbound_listener_tcp_over_current_tcp": {"0.0.0.0:8080": {}}}
    gauges = "pilot_conflict_outbound_listener_tcp_over_current_tcp 1\n"
    [f] = CP07(snap_of({"istiod-a": []}, metrics=gauges, push=push), settings(), 1000.0).findings
    assert f.message == ("pilot_conflict_outbound_listener_tcp_over_current_tcp; "
                         "pilot_conflict_outbound_listener_tcp_over_current_tcp on istiod istiod-a")  # fmt: skip


def test_cp05_long_push_status_messages_are_cut_at_500():
    push = {"pilot_eds_no_instances": {"outbound|80||a.shop.svc.cluster.local": {"message": "m" * 600}}}
    [f] = CP05(snap_of({"istiod-a": []}, push=push), settings(), 1000.0).findings
    assert len(f.message) == 500


def test_cp04_untyped_counter_and_samples_without_labels():
    untyped = 'pilot_total_rejected_configs{type="gateway",name="ns/gw"} 3\npilot_total_rejected_configs 1\n'
    result = check_rejected_configs(snap_of({"istiod-a": []}, metrics=untyped), settings(), 1000.0)
    assert sorted((x.labels, x.value) for x in result.samples if x.metric == "meshhealth_istiod_rejected_configs") == [
        ((("istiod", "istiod-a"), ("type", ""), ("name", "")), 1.0),
        ((("istiod", "istiod-a"), ("type", "gateway"), ("name", "ns/gw")), 3.0),
    ]  # fmt: skip


def test_cp08_second_replica_checked_after_one_without_interval_and_the_threshold_is_exclusive():
    snap = snap_of({"istiod-a": [], "istiod-b": []})
    a, b = snap.replicas
    b = dataclasses.replace(b, convergence_delta=((5.0, 100), (float("inf"), 100)))
    result = check_convergence(dataclasses.replace(snap, replicas=(a, b)), settings(), 1000.0)
    assert [(x.labels, x.value) for x in result.samples] == [((("istiod", "istiod-b"),), pytest.approx(4.95))]
    assert quantile(1.0, [(5.0, 100)]) == 5.0
    at = check_convergence(
        dataclasses.replace(snap, replicas=(b,)), settings(checks={"CP08": {"convergence_p99_seconds": 4.95}}), 1000.0
    )
    assert at.samples[0].value == 4.95 and at.findings == []  # not above the threshold
    assert quantile(0.5, [(1.0, 1)]) == 0.5


@pytest.mark.parametrize(
    ("left", "severity", "message"),
    [(30 * 86400, None, None), (30 * 86400 - 1, "warning", "the mesh root certificate expires in 29d23h59m"),
     (7 * 86400, "warning", "the mesh root certificate expires in 7d"),
     (7 * 86400 - 1, "critical", "the mesh root certificate expires in 6d23h59m"),
     (0.5, "critical", "the mesh root certificate expires in 0s"),
     (0, "critical", "the mesh root certificate has expired")],
)  # fmt: skip
def test_cp11_exact_bounds_and_messages(left, severity, message):
    snap = snap_of({"istiod-a": [], "istiod-b": []}, metrics=f"citadel_server_root_cert_expiry_seconds {left}\n")
    first = dataclasses.replace(snap.replicas[0], metrics=None)
    snap = dataclasses.replace(snap, replicas=(first, snap.replicas[1]), taken_at=1000.0)
    result = check_root_cert(snap, settings(), 1000.0)
    assert [x.labels for x in result.samples] == [(("istiod", "istiod-b"),)]
    assert [(f.severity.label, f.message) for f in result.findings] == ([(severity, message)] if severity else [])


def test_cp11_a_replica_without_the_cert_gauge_does_not_hide_the_next():
    snap = snap_of({"istiod-a": [], "istiod-b": []}, metrics="citadel_server_root_cert_expiry_seconds 3600\n")
    first = dataclasses.replace(snap.replicas[0], metrics=parse_metrics("go_goroutines 1\n"))
    result = check_root_cert(dataclasses.replace(snap, replicas=(first, snap.replicas[1])), settings(), 1000.0)
    assert [f.name for f in result.findings] == ["istiod-b"]
