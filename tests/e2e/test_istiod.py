"""DP01, CP03, DP02, CP05 and CP04 end to end: two real istiod replicas, simulated sidecars over real xDS."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from testbed.istio import Istiod, Sidecars
from testbed.kube import KubeCluster
from tests.e2e.helpers import Mesh, by_label, hung
from tests.support import metric_values, wait_for

pytestmark = pytest.mark.e2e
_trigger = itertools.count()


def test_dp01_stale_on_the_right_replica_only(mesh: Mesh, tmp_path: Path) -> None:
    assert mesh.check(tmp_path, "DP01") == []
    mesh.sidecars.command("stop-ack", pod="web-1.shop", type="EDS")
    mesh.push()
    time.sleep(1.5)
    [finding] = wait_for(lambda: mesh.check(tmp_path, "DP01"), 30, "DP01 finding")
    assert (finding["namespace"], finding["name"]) == ("shop", "web-1")
    assert mesh.a.monitoring_url in finding["message"] and "EDS" in finding["message"]
    mesh.sidecars.command("resume", pod="web-1.shop")
    wait_for(mesh.synced, 60, "resynced")
    assert mesh.check(tmp_path, "DP01") == []


def test_cp03_nack_with_message_and_reject_counter(mesh: Mesh, tmp_path: Path) -> None:
    mesh.sidecars.command("nack", pod="web-2.shop", type="LDS", msg="Error adding/updating listener(s): e2e bad filter")
    mesh.push()
    [finding] = wait_for(lambda: mesh.check(tmp_path, "CP03"), 30, "CP03 finding")
    assert finding["name"] == "web-2" and "e2e bad filter" in finding["message"]
    assert 'pilot_total_xds_rejects{type="lds"}' in mesh.b.metrics()
    mesh.sidecars.command("resume", pod="web-2.shop")
    wait_for(mesh.synced, 60, "resynced")
    assert mesh.check(tmp_path, "CP03") == []


def test_dp02_disconnected_proxy(mesh: Mesh, tmp_path: Path) -> None:
    assert mesh.check(tmp_path, "DP02") == []
    mesh.sidecars.command("disconnect", pod="web-3.shop")
    wait_for(lambda: len(mesh.b.get_json("/debug/syncz")) == 1, 30, "web-3 gone from syncz")
    [finding] = mesh.check(tmp_path, "DP02")
    assert (finding["namespace"], finding["name"]) == ("shop", "web-3")
    mesh.sidecars.command("connect", pod="web-3.shop")
    wait_for(lambda: len(mesh.b.get_json("/debug/syncz")) == 2, 30, "web-3 back")
    assert mesh.check(tmp_path, "DP02") == []


def test_cp05_destination_rule_subset_without_pods(mesh: Mesh, tmp_path: Path) -> None:
    rules = "/apis/networking.istio.io/v1/namespaces/shop/destinationrules"
    assert mesh.check(tmp_path, "CP05") == []
    mesh.kube.admin.apply(rules, {
        "apiVersion": "networking.istio.io/v1", "kind": "DestinationRule", "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"host": "web", "subsets": [{"name": "v1", "labels": {"version": "v1"}},
                                            {"name": "v1-bug", "labels": {"version": "v1-bug"}}]},
    })  # fmt: skip

    def cluster_findings() -> list[dict[str, str]]:
        return [f for f in mesh.check(tmp_path, "CP05") if "v1-bug" in f["name"]]

    found = wait_for(cluster_findings, 60, "CP05 finding for the v1-bug subset")
    assert found[0]["name"] == "outbound|8080|v1-bug|web.shop.svc.cluster.local" and found[0]["namespace"] == "shop"
    assert "pilot_eds_no_instances" in mesh.a.metrics()
    # CF03 reaches istiod's conclusion from the Kubernetes objects alone: the same subsets of the same host.
    empty_in_istiod = {
        f["name"].split("|")[2]
        for f in mesh.check(tmp_path, "CP05")
        if f["name"].endswith("|web.shop.svc.cluster.local")
    }
    cf03 = mesh.check(tmp_path, "CF03")
    assert [(f["namespace"], f["kind"], f["name"]) for f in cf03] == [("shop", "DestinationRule", "web")]
    assert {m.split(" ")[1] for f in cf03 for m in [f["message"]]} == empty_in_istiod == {"v1-bug"}
    mesh.kube.admin.delete(f"{rules}/web")
    mesh.push()
    wait_for(lambda: not cluster_findings(), 60, "CP05 cleared")


def gateway(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": "istio-system"},
        "spec": {
            "selector": {"istio": "ingressgateway"},
            "servers": [{"port": {"number": 443, "name": "https", "protocol": "HTTPS"}, "hosts": ["shop.example.com"],
                         "tls": {"mode": "SIMPLE", "credentialName": "shop-cert"}}],
        },
    }  # fmt: skip


def test_cp04_two_gateways_same_tls_host(mesh: Mesh, tmp_path: Path, exporter_factory) -> None:
    gateways = "/apis/networking.istio.io/v1/namespaces/istio-system/gateways"
    config = mesh.config(tmp_path)
    data = json.loads(config.read_text())
    data["sources"] = {"istiod": {"interval_seconds": 1}, "kubernetes": {"interval_seconds": 1}}
    config.write_text(json.dumps(data))
    running = exporter_factory(["--kubeconfig", str(mesh.kube.kubeconfig), "--config", str(config)])

    def cp04() -> list[dict[str, str]]:
        body = running.get("/metrics")[2].decode()
        return [dict(labels) for labels, _ in metric_values(body.encode(), "meshhealth_finding").items()
                if ("check", "CP04") in labels]  # fmt: skip

    wait_for(lambda: running.get("/readyz")[0] == 200, 60, "exporter ready")
    time.sleep(3)
    assert cp04() == []
    mesh.kube.admin.apply(gateways, gateway("gw-a"))
    mesh.kube.admin.apply(gateways, gateway("gw-b"))
    found = wait_for(cp04, 60, "CP04 finding")
    assert found[0]["kind"] == "Gateway" and found[0]["name"] in ("gw-a", "gw-b")
    assert "pilot_total_rejected_configs" in mesh.a.metrics()
    # CF08 names the same Gateway istiod rejected, from the Kubernetes objects alone.
    cf08 = mesh.check(tmp_path, "CF08")
    assert [(f["namespace"], f["kind"], f["name"]) for f in cf08] == [("istio-system", "Gateway", found[0]["name"])]
    mesh.kube.admin.delete(f"{gateways}/{found[0]['name']}")
    mesh.push()
    wait_for(lambda: cp04() == [], 60, "CP04 cleared after the conflict is removed")
    mesh.kube.admin.delete(f"{gateways}/gw-a")
    mesh.kube.admin.delete(f"{gateways}/gw-b")


def test_simulator_holds_1000_clients_and_exporter_counts_them(
    kube: KubeCluster, tmp_path: Path, exporter_factory
) -> None:
    kube.admin.apply("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "load"}})
    istiod = Istiod(kube, "istiod-load").start()
    pods = [{"name": f"load-{i}", "namespace": "load", "ip": f"10.20.{i // 250}.{i % 250 + 1}", "xds": istiod.xds_address}
            for i in range(1000)]  # fmt: skip
    sidecars = Sidecars(kube, pods)
    sidecars.workdir = tmp_path
    sidecars.start()
    try:
        wait_for(lambda: len(istiod.get_json("/debug/syncz")) == 1000, 180, "1000 proxies connected")
        config = tmp_path / "load.json"
        config.write_text(json.dumps({"istio": {"istiod_urls": [istiod.monitoring_url]}}))
        running = exporter_factory(["--kubeconfig", str(kube.kubeconfig), "--config", str(config)])

        def synced_cds() -> float:
            values = metric_values(running.get("/metrics")[2], "meshhealth_xds_proxies")
            return sum(
                v for labels, v in values.items() if ("status", "SYNCED") in labels and ("type", "CDS") in labels
            )

        assert wait_for(lambda: synced_cds() == 1000, 180, "exporter sees 1000 SYNCED proxies")
        connected = metric_values(running.get("/metrics")[2], "meshhealth_istiod_connected_proxies")
        assert list(connected.values()) == [1000.0]
    finally:
        sidecars.stop()
        istiod.stop()


def polling_both_replicas(
    mesh: Mesh, tmp_path: Path, exporter_factory: Any, kube_source: dict[str, Any] | None = None, **extra: Any
) -> tuple[Any, Callable[[str, str], dict[str, float]]]:
    """A running exporter polling both istiod replicas every second (3 s to answer), DP02 without grace; and a
    reader of one metric's values by one label from its /metrics."""
    sources: dict[str, Any] = {"istiod": {"interval_seconds": 1, "timeout_seconds": 3}}
    if kube_source is not None:
        sources["kubernetes"] = kube_source
    config = tmp_path / "polling.json"
    config.write_text(json.dumps({
        "sources": sources,
        "istio": {"istiod_urls": [mesh.a.monitoring_url, mesh.b.monitoring_url]},
        "checks": {"DP02": {"grace_seconds": 0}},
        **extra,
    }))  # fmt: skip
    running = exporter_factory(["--kubeconfig", str(mesh.kube.kubeconfig), "--config", str(config)])

    def read(name: str, label: str) -> dict[str, float]:
        return by_label(running.get("/metrics")[2], name, label)

    return running, read


def test_a_real_istiod_replica_that_hangs_fails_alone_then_recovers(
    mesh: Mesh, tmp_path: Path, exporter_factory
) -> None:
    """Fault matrix on the real component: istiod-b stopped (a black hole). Only that replica is down, with a
    reason; istiod-a's proxies keep their values; DP02 is not evaluated (it needs every replica), never healthy;
    /metrics answers at once; everything comes back when istiod-b does."""
    a, b = mesh.a.monitoring_url, mesh.b.monitoring_url
    running, read = polling_both_replicas(mesh, tmp_path, exporter_factory)

    def healthy() -> bool:
        return read("meshhealth_istiod_replica_up", "istiod") == {a: 1, b: 1} and (
            read("meshhealth_check_up", "check").get("DP02") == 1
        )

    wait_for(healthy, 60, "both replicas read")
    assert mesh.b.process.process is not None
    with hung(mesh.b.process.process.pid):
        wait_for(lambda: read("meshhealth_istiod_replica_up", "istiod").get(b) == 0, 30, "the hung replica seen")
        wait_for(lambda: read("meshhealth_check_up", "check").get("DP02") == 0, 30, "DP02 not evaluated")
        started = time.monotonic()
        body = running.get("/metrics")[2]
        assert time.monotonic() - started < 1.0
        errors = metric_values(body, "meshhealth_istiod_replica_error_info")
        assert {dict(k)["reason"] for k in errors if dict(k)["istiod"] == b} == {"timeout"}
        assert by_label(body, "meshhealth_istiod_replica_up", "istiod")[a] == 1
        assert by_label(body, "meshhealth_source_up", "source")["istiod"] == 1
        synced_on_a = sum(v for k, v in metric_values(body, "meshhealth_xds_proxies").items()
                          if {("istiod", a), ("type", "CDS"), ("status", "SYNCED")} <= set(k))  # fmt: skip
        assert synced_on_a == 3
    wait_for(healthy, 60, "recovered after istiod-b resumed")


def test_a_real_kube_apiserver_that_hangs_is_down_with_a_reason_while_istiod_is_read(
    mesh: Mesh, tmp_path: Path, exporter_factory
) -> None:
    """Fault matrix on the real component: kube-apiserver stopped (a black hole; its open watches go silent).
    The Kubernetes source is down with reason timeout once its last good data is too old to serve, the checks
    that read Kubernetes are not evaluated (never healthy), both istiod replicas keep their values, /metrics
    answers at once, and everything comes back when the API server does."""
    a, b = mesh.a.monitoring_url, mesh.b.monitoring_url
    kube = {"interval_seconds": 1, "timeout_seconds": 3, "max_backoff_seconds": 2, "stale_after_seconds": 5}
    running, read = polling_both_replicas(
        mesh, tmp_path, exporter_factory, kube_source=kube, kubernetes={"request_timeout_seconds": 3}
    )

    def healthy() -> bool:
        checks = read("meshhealth_check_up", "check")
        return read("meshhealth_source_up", "source").get("kubernetes") == 1 and all(
            checks.get(c) == 1 for c in ("DP02", "NS01", "CP01")
        )

    wait_for(healthy, 60, "Kubernetes read")
    assert mesh.kube.apiserver.process is not None
    with hung(mesh.kube.apiserver.process.pid):
        wait_for(lambda: read("meshhealth_source_up", "source").get("kubernetes") == 0, 60, "the hung API seen")
        wait_for(lambda: all(read("meshhealth_check_up", "check").get(c) == 0 for c in ("DP02", "NS01", "CP01")),
                 30, "the Kubernetes checks not evaluated")  # fmt: skip
        started = time.monotonic()
        body = running.get("/metrics")[2]
        assert time.monotonic() - started < 1.0
        errors = metric_values(body, "meshhealth_source_error_info")
        assert {dict(k)["reason"] for k in errors if dict(k)["source"] == "kubernetes"} == {"timeout"}
        assert by_label(body, "meshhealth_source_up", "source")["istiod"] == 1
        assert by_label(body, "meshhealth_istiod_replica_up", "istiod") == {a: 1, b: 1}
    wait_for(healthy, 90, "recovered after kube-apiserver resumed")
