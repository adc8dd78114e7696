"""Unit tests of the xDS sync checks (DP01-DP03, CP03) on istiod snapshots."""

from __future__ import annotations

import dataclasses

import pytest

from exporter.checks.xds import check_disconnected, check_rejected, check_stale, check_version_skew
from exporter.sources.istiod.metrics import parse_metrics
from tests.unit.helpers import settings
from tests.unit.sources.istiod.test_source import OLD_METRICS, entry_1_23, snap_of


def test_dp01_status_counts_never_disappear():
    result = check_stale(snap_of({"istiod-a": [], "istiod-b": [entry_1_23("a.ns")]}), settings(), 1000.0)
    counts = [x for x in result.samples if x.metric == "meshhealth_xds_proxies"]
    assert {dict(x.labels)["istiod"] for x in counts} == {"istiod-a", "istiod-b"}
    synced = [x.value for x in counts if dict(x.labels) == {"istiod": "istiod-b", "revision": "default",
              "proxy_type": "sidecar", "type": "EDS", "status": "SYNCED"}]  # fmt: skip
    assert synced == [1]
    assert not any(x.metric == "meshhealth_xds_proxy_status" for x in result.samples)
    detailed = check_stale(snap_of({"b": [entry_1_23("a.ns")]}), settings(findings={"per_proxy_series": True}), 1000.0)
    assert sum(1 for x in detailed.samples if x.metric == "meshhealth_xds_proxy_status") == 4


def test_cp03_nack_with_message_and_counters():
    snap = snap_of({"istiod-a": [entry_1_23("web-1.shop", lds_error="Error adding/updating listener: bad")]})
    result = check_rejected(snap, settings(), 1000.0)
    [finding] = result.findings
    assert finding.name == "web-1" and "LDS rejected: Error adding/updating listener: bad" in finding.message
    rejects = {dict(x.labels)["type"]: x.value for x in result.samples if x.metric == "meshhealth_istiod_xds_rejects"}
    assert rejects == {"CDS": 0, "EDS": 0, "LDS": 4, "RDS": 0}
    legacy = check_rejected(snap_of({"istiod-a": []}, metrics=OLD_METRICS), settings(), 1000.0)
    assert {dict(x.labels)["type"]: x.value for x in legacy.samples}["CDS"] == 2


def test_dp02_disconnected_pods_with_grace():
    pods = [("shop", "web-1", 0.0), ("shop", "web-2", 0.0), ("shop", "new", 990.0)]
    result = check_disconnected(snap_of({"a": [entry_1_23("web-1.shop")]}, sidecars=pods), settings(), 1000.0)
    assert [f.name for f in result.findings] == ["web-2"]
    assert {x.metric: x.value for x in result.samples} == {
        "meshhealth_xds_disconnected_proxies": 1, "meshhealth_xds_disconnected_pods": 1}  # fmt: skip


def test_dp03_version_skew():
    snap = snap_of({"a": [entry_1_23("old.shop", version="1.26.1"), entry_1_23("new.shop", version="1.28.0")]})
    result = check_version_skew(snap, settings(), 1000.0)
    [finding] = result.findings
    assert finding.namespace == "shop" and "1 proxy on Istio 1.26.1" in finding.message


def _stale(proxy, since, now=1000.0, **settings_overrides):
    """One replica, one proxy STALE on EDS since ``since`` (entry_1_23 sends e9, acknowledged e8)."""
    snap = snap_of({"istiod-a": [entry_1_23(proxy, eds_sent="e9", eds_acked="e8")]})
    snap = dataclasses.replace(snap, stale_since={("istiod-a", proxy, "EDS"): since})
    return check_stale(snap, settings(**settings_overrides), now)


@pytest.mark.parametrize(("age", "found"), [(299, False), (300, True), (3600, True)])
def test_dp01_finding_from_the_stale_threshold_on(age, found):
    result = _stale("web-1.shop", since=1000.0 - age)
    assert bool(result.findings) is found
    stale = {x.metric: (x.labels, x.value) for x in result.samples if "stale" in x.metric}
    assert stale["meshhealth_xds_stale_oldest_seconds"] == ((("istiod", "istiod-a"),), float(age))
    assert stale["meshhealth_xds_proxy_stale_seconds"] == (
        (("istiod", "istiod-a"), ("proxy", "web-1.shop"), ("type", "EDS")), float(age))  # fmt: skip
    if found:
        [f] = result.findings
        assert (f.check, f.severity.label, f.namespace, f.kind, f.name) == ("DP01", "warning", "shop", "Proxy", "web-1")
        assert f.message.startswith("STALE on istiod istiod-a: EDS ") and "(sent e9, acknowledged only e8)" in f.message


def test_dp01_counts_per_type_and_status_and_threshold_setting():
    result = _stale("web-1.shop", since=0.0, **{"checks": {"DP01": {"stale_threshold_seconds": 2000}}})
    assert result.findings == []
    counts = {dict(x.labels)["type"] + "/" + dict(x.labels)["status"]: x.value for x in result.samples
              if x.metric == "meshhealth_xds_proxies"}  # fmt: skip
    assert counts == {f"{t}/{s}": (1.0 if (t, s) in {("CDS", "SYNCED"), ("LDS", "SYNCED"), ("RDS", "SYNCED"),
                                                        ("EDS", "STALE")} else 0.0)
                      for t in ("CDS", "EDS", "LDS", "RDS") for s in ("SYNCED", "STALE", "NOT_SENT", "ERROR")}  # fmt: skip


def test_dp01_stale_series_oldest_first_and_capped():
    proxies = [entry_1_23(f"p{i}.ns", eds_sent="e9", eds_acked="e8") for i in range(4)]
    snap = snap_of({"istiod-a": proxies})
    since = {("istiod-a", f"p{i}.ns", "EDS"): 1000.0 - 100 * (i + 1) for i in range(4)}
    result = check_stale(dataclasses.replace(snap, stale_since=since), settings(findings={"max_series_per_check": 2}),
                         1000.0)  # fmt: skip
    series = [
        (dict(x.labels)["proxy"], x.value) for x in result.samples if x.metric == "meshhealth_xds_proxy_stale_seconds"
    ]
    assert series == [("p3.ns", 400.0), ("p2.ns", 300.0)]
    assert [f.name for f in result.findings] == ["p2", "p3"]
    oldest = [x.value for x in result.samples if x.metric == "meshhealth_xds_stale_oldest_seconds"]
    assert oldest == [400.0]


def test_dp01_stale_without_since_counts_from_the_snapshot_and_one_shot_confirmation():
    snap = snap_of({"istiod-a": [entry_1_23("web-1.shop", eds_sent="e9", eds_acked="")]})
    assert check_stale(snap, settings(), 1000.0).findings == []  # first seen now: age 0
    [proxy] = snap.replicas[0].proxies
    undated = proxy._replace(types=tuple(t._replace(sent_time=None) for t in proxy.types))
    replica = dataclasses.replace(snap.replicas[0], proxies=(undated,))
    confirmed = dataclasses.replace(snap, replicas=(replica,), stale_confirmed=frozenset({("istiod-a", "web-1.shop", "EDS")}),
                                    confirm_interval=5.0)  # fmt: skip
    [f] = check_stale(confirmed, settings(), 1000.0).findings
    assert f.message == ("STALE on istiod istiod-a: EDS (never acknowledged) at two polls 5s apart "
                         "(this istiod reports no send time, so the age is unknown)")  # fmt: skip


def test_dp01_router_proxies_and_unknown_types_get_their_own_counts():
    gw = entry_1_23("gw-1.istio-system")
    gw["proxy_type"] = "router"
    gw["resources"]["type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig"] = {"sent": "x", "acked": "x"}
    result = check_stale(snap_of({"istiod-a": [gw]}), settings(), 1000.0)
    labels = {(dict(x.labels)["proxy_type"], dict(x.labels)["type"]) for x in result.samples
              if x.metric == "meshhealth_xds_proxies"}  # fmt: skip
    assert labels == {(p, t) for p in ("router", "sidecar") for t in ("CDS", "ECDS", "EDS", "LDS", "RDS")}
    assert {dict(x.labels)["revision"] for x in result.samples if x.metric == "meshhealth_xds_proxies"} == {"default"}


def test_cp03_every_rejected_type_named_errors_truncated_and_series_capped():
    long = "Error adding/updating listener(s): " + "x" * 400
    entry = entry_1_23("web-1.shop", lds_error=long)
    entry["resources"][
        "type.googleapis.com/envoy.config.cluster.v3.Cluster"]["lastError"] = "cluster bad"  # fmt: skip
    result = check_rejected(snap_of({"istiod-a": [entry, entry_1_23("ok.shop")]}), settings(), 1000.0)
    [f] = result.findings
    assert (f.check, f.severity.label, f.namespace, f.kind, f.name) == ("CP03", "warning", "shop", "Proxy", "web-1")
    assert f.message == f"CDS rejected: cluster bad; LDS rejected: {long[:300]}"
    per_proxy = sorted(dict(x.labels)["type"] for x in result.samples if x.metric == "meshhealth_xds_proxy_rejected")
    assert per_proxy == ["CDS", "LDS"]
    capped = check_rejected(snap_of({"istiod-a": [entry]}), settings(findings={"max_series_per_check": 1}), 1000.0)
    assert len([x for x in capped.samples if x.metric == "meshhealth_xds_proxy_rejected"]) == 1


def test_cp03_reject_counters_of_every_istio_version():
    new = '# TYPE pilot_total_xds_rejects counter\npilot_total_xds_rejects{type="lds"} 4\npilot_total_xds_rejects{type="ecds"} 1\npilot_total_xds_rejects 2\n'
    result = check_rejected(snap_of({"a": []}, metrics=new), settings(), 1000.0)
    assert {dict(x.labels)["type"]: x.value for x in result.samples} == {
        "CDS": 0, "EDS": 0, "LDS": 4, "RDS": 0, "ECDS": 1, "UNKNOWN": 2}  # fmt: skip
    legacy = check_rejected(snap_of({"a": []}, metrics=OLD_METRICS), settings(), 1000.0)
    assert {dict(x.labels)["type"]: x.value for x in legacy.samples} == {"CDS": 2, "EDS": 0, "LDS": 0, "RDS": 0}
    no_metrics = dataclasses.replace(snap_of({"a": []}), replicas=(dataclasses.replace(snap_of({"a": []}).replicas[0],
                                                                                        metrics=None),))  # fmt: skip
    assert check_rejected(no_metrics, settings(), 1000.0).samples == []


def _skew(istiod_build, *proxies, **overrides):
    metrics = f'# TYPE istio_build gauge\nistio_build{{component="pilot",tag="{istiod_build}"}} 1\n'
    entries = [entry_1_23(p, version=v) for p, v in proxies]
    return check_version_skew(snap_of({"istiod-a": entries}, metrics=metrics), settings(**overrides), 1000.0)


def test_dp03_minor_skew_by_namespace_and_version():
    result = _skew("1.29.2", ("a.shop", "1.27.0"), ("b.shop", "1.27.3"), ("c.shop", "1.26.9"), ("d.web", "1.26.1"),
                   ("e.shop", "1.28.1"), ("f.shop", "1.31.0"), ("g.shop", "2.29.0"), ("h.shop", "unknown"),
                   ("i.shop", "v1.20.0"), checks={"DP03": {"max_minor_skew": 2}})  # fmt: skip
    assert {(dict(x.labels)["proxy_version"], x.value) for x in result.samples} == {
        ("1.26.1", 1.0), ("1.26.9", 1.0), ("2.29.0", 1.0), ("v1.20.0", 1.0)}  # fmt: skip
    assert {dict(x.labels)["istiod_version"] for x in result.samples} == {"1.29.2"}
    assert [(f.namespace, f.kind, f.name, f.message) for f in result.findings] == [
        ("web", "Namespace", "web", "1 proxy on Istio 1.26.1, istiod istiod-a runs 1.29.2: restart the workloads to "
         "pick up the current proxy"),
        ("shop", "Namespace", "shop", "1 proxy on Istio 1.26.9, istiod istiod-a runs 1.29.2: restart the workloads to "
         "pick up the current proxy"),
        ("shop", "Namespace", "shop", "1 proxy on Istio 2.29.0, istiod istiod-a runs 1.29.2: restart the workloads to "
         "pick up the current proxy"),
        ("shop", "Namespace", "shop", "1 proxy on Istio v1.20.0, istiod istiod-a runs 1.29.2: restart the workloads to "
         "pick up the current proxy"),
    ]  # fmt: skip
    wider = _skew("1.29.2", ("c.shop", "1.26.9"), checks={"DP03": {"max_minor_skew": 3}})
    assert wider.findings == [] and wider.samples == []
    assert _skew("unknown", ("c.shop", "1.20.0")).samples == []
    [default] = _skew("1.29.2", ("a.shop", "1.27.9"), ("b.shop", "1.28.0"), ("c.shop", "1.30.1")).findings
    assert default.message.startswith("1 proxy on Istio 1.27.9")


def test_dp02_grace_and_counts_per_namespace():
    pods = [("shop", "a", 0.0), ("shop", "b", None), ("web", "c", 880.0),
            ("web", "d", 881.0), ("shop", "on", 0.0)]  # fmt: skip
    result = check_disconnected(snap_of({"x": [entry_1_23("on.shop")]}, sidecars=pods), settings(), 1000.0)
    assert [(f.namespace, f.kind, f.name) for f in result.findings] == [("shop", "Pod", "a"), ("shop", "Pod", "b"),
                                                                        ("web", "Pod", "c")]  # fmt: skip
    assert result.findings[0].message == "istio-proxy is running but no istiod replica lists this proxy in /debug/syncz"
    assert {(x.metric, x.labels): x.value for x in result.samples} == {
        ("meshhealth_xds_disconnected_proxies", (("namespace", "shop"),)): 2.0,
        ("meshhealth_xds_disconnected_proxies", (("namespace", "web"),)): 1.0,
        ("meshhealth_xds_disconnected_pods", ()): 3.0,
    }


def test_dp01_per_proxy_series_and_counts_of_several_proxies():
    entries = [entry_1_23("a.ns"), entry_1_23("b.ns")]
    result = check_stale(snap_of({"istiod-a": entries}), settings(findings={"per_proxy_series": True}), 1000.0)
    status = sorted((x.labels, x.value) for x in result.samples if x.metric == "meshhealth_xds_proxy_status")
    assert status[0] == ((("istiod", "istiod-a"), ("proxy", "a.ns"), ("type", "CDS"), ("status", "SYNCED")), 1.0)
    assert len(status) == 8 and {v for _, v in status} == {1.0}
    synced = {dict(x.labels)["type"]: x.value for x in result.samples
              if x.metric == "meshhealth_xds_proxies" and dict(x.labels)["status"] == "SYNCED"}  # fmt: skip
    assert synced == {"CDS": 2, "EDS": 2, "LDS": 2, "RDS": 2}


def test_dp01_first_seen_now_is_zero_seconds_and_two_stale_types_are_both_named():
    entry = entry_1_23("web-1.shop", eds_sent="e9", eds_acked="e8")
    entry["resources"]["type.googleapis.com/envoy.config.cluster.v3.Cluster"].update(sent="c9", acked="c8")
    snap = snap_of({"istiod-a": [entry]})
    fresh = check_stale(snap, settings(), 1000.0)
    assert {x.value for x in fresh.samples if x.metric == "meshhealth_xds_proxy_stale_seconds"} == {0.0}
    since = {("istiod-a", "web-1.shop", "EDS"): 0.0, ("istiod-a", "web-1.shop", "CDS"): 0.0}
    [f] = check_stale(dataclasses.replace(snap, stale_since=since), settings(), 1000.0).findings
    assert f.message == ("STALE on istiod istiod-a: CDS 16m (sent c9, acknowledged only c8); "
                         "EDS 16m (sent e9, acknowledged only e8)")  # fmt: skip


def test_dp01_long_stale_and_confirmed_parts_together():
    entry = entry_1_23("web-1.shop", eds_sent="e9", eds_acked="e8")
    entry["resources"]["type.googleapis.com/envoy.config.cluster.v3.Cluster"].update(sent="c9", acked="", sentTime=None)
    snap = snap_of({"istiod-a": [entry]})
    snap = dataclasses.replace(snap, stale_since={("istiod-a", "web-1.shop", "EDS"): 0.0},
                               stale_confirmed=frozenset({("istiod-a", "web-1.shop", "CDS")}), confirm_interval=5.0)  # fmt: skip
    [f] = check_stale(snap, settings(), 1000.0).findings
    assert f.message == ("STALE on istiod istiod-a: EDS 16m (sent e9, acknowledged only e8); CDS (never acknowledged) "
                         "at two polls 5s apart (this istiod reports no send time, so the age is unknown)")  # fmt: skip


@pytest.mark.parametrize(
    ("proxy", "namespace", "name"),
    [("web-1.shop", "shop", "web-1"), ("web.v2.shop", "shop", "web.v2"), ("nodot", "", "nodot")],
)
def test_cp03_proxy_ids_split_at_the_last_dot(proxy, namespace, name):
    [f] = check_rejected(snap_of({"istiod-a": [entry_1_23(proxy, lds_error="bad")]}), settings(), 1000.0).findings
    assert (f.namespace, f.name) == (namespace, name)


def test_cp03_replicas_without_metrics_and_counters_summed_per_type():
    untyped = 'pilot_total_xds_rejects{type="lds",node="a"} 1\npilot_total_xds_rejects{type="lds",node="b"} 2\n'
    snap = snap_of({"istiod-a": [], "istiod-b": []}, metrics=untyped)
    snap = dataclasses.replace(snap, replicas=(dataclasses.replace(snap.replicas[0], metrics=None), snap.replicas[1]))
    result = check_rejected(snap, settings(), 1000.0)
    assert {(dict(x.labels)["istiod"], dict(x.labels)["type"]): x.value for x in result.samples} == {
        ("istiod-b", "CDS"): 0, ("istiod-b", "EDS"): 0, ("istiod-b", "LDS"): 3, ("istiod-b", "RDS"): 0}  # fmt: skip
    legacy_counter = "# TYPE pilot_xds_eds_reject counter\npilot_xds_eds_reject_total 5\n"
    legacy = check_rejected(snap_of({"a": []}, metrics=legacy_counter), settings(), 1000.0)
    assert {dict(x.labels)["type"]: x.value for x in legacy.samples}["EDS"] == 5


def test_dp02_not_evaluated_messages():
    from exporter.model import NotEvaluated
    from exporter.sources.errors import SourceError

    snap = snap_of({"istiod-a": [], "istiod-b": [], "istiod-c": []})
    a, b, c = snap.replicas
    b = dataclasses.replace(b, error=SourceError("timeout", "t1"))
    c = dataclasses.replace(c, error=SourceError("timeout", "t2"))
    with pytest.raises(NotEvaluated) as unread:
        check_disconnected(dataclasses.replace(snap, replicas=(a, b, c)), settings(), 1000.0)
    assert str(unread.value) == ("cannot tell which proxies are disconnected while a replica's syncz is unread "
                                 "(istiod-b: t1; istiod-c: t2)")  # fmt: skip
    with pytest.raises(NotEvaluated) as blind:
        check_disconnected(dataclasses.replace(snap, kube_available=False), settings(), 1000.0)
    assert str(blind.value) == ("needs the Kubernetes pod cache to know which pods run a sidecar "
                                "(the Kubernetes source is disabled or unreachable)")  # fmt: skip


def test_dp03_replicas_without_metrics_unknown_versions_first_and_counts():
    metrics = 'istio_build{component="pilot",tag="1.29.2"} 1\n'
    entries = [entry_1_23("x.shop", version=""), entry_1_23("a.shop", version="1.20.0"),
               entry_1_23("b.shop", version="1.20.0")]  # fmt: skip
    snap = snap_of({"istiod-a": [], "istiod-b": entries}, metrics=metrics)
    snap = dataclasses.replace(snap, replicas=(dataclasses.replace(snap.replicas[0], metrics=None), snap.replicas[1]))
    result = check_version_skew(snap, settings(), 1000.0)
    assert [(x.labels[0], x.value) for x in result.samples] == [(("istiod", "istiod-b"), 2.0)]
    [f] = result.findings
    assert f.message.startswith("2 proxies on Istio 1.20.0, istiod istiod-b runs 1.29.2")


def test_dp03_a_replica_of_unknown_version_does_not_hide_the_next():
    snap = snap_of({"istiod-a": [entry_1_23("a.shop", version="1.20.0")], "istiod-b": [entry_1_23("b.shop", version="1.20.0")]},
                   metrics='istio_build{component="pilot",tag="1.29.2"} 1\n')  # fmt: skip
    unknown = dataclasses.replace(snap.replicas[0], metrics=parse_metrics("go_goroutines 1\n"))
    result = check_version_skew(dataclasses.replace(snap, replicas=(unknown, snap.replicas[1])), settings(), 1000.0)
    assert [dict(x.labels)["istiod"] for x in result.samples] == ["istiod-b"]
