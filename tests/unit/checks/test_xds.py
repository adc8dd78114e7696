"""Unit tests of the xDS sync checks (DP01-DP03, CP03) on istiod snapshots."""

from __future__ import annotations

from exporter.checks.xds import check_disconnected, check_rejected, check_stale, check_version_skew
from exporter.sources.istiod.source import SidecarPod
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
    pods = [SidecarPod("shop", "web-1", 0.0), SidecarPod("shop", "web-2", 0.0), SidecarPod("shop", "new", 990.0)]
    result = check_disconnected(snap_of({"a": [entry_1_23("web-1.shop")]}, sidecars=pods), settings(), 1000.0)
    assert [f.name for f in result.findings] == ["web-2"]
    assert {x.metric: x.value for x in result.samples} == {
        "meshhealth_xds_disconnected_proxies": 1, "meshhealth_xds_disconnected_pods": 1}  # fmt: skip


def test_dp03_version_skew():
    snap = snap_of({"a": [entry_1_23("old.shop", version="1.26.1"), entry_1_23("new.shop", version="1.28.0")]})
    result = check_version_skew(snap, settings(), 1000.0)
    [finding] = result.findings
    assert finding.namespace == "shop" and "1 proxy on Istio 1.26.1" in finding.message
