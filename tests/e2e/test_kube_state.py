"""Issue scenarios on a real kube-apiserver: baseline -> inject -> finding -> repair -> clear."""

from __future__ import annotations

import http.server
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from testbed.kube import KubeCluster
from tests.e2e.helpers import config_file, ensure_namespace, findings, run_check
from tests.e2e.test_foundation import istiod_deployment

pytestmark = pytest.mark.e2e

APPS = "/apis/apps/v1/namespaces"
ADMISSION = "/apis/admissionregistration.k8s.io/v1"


def check_findings(kube: KubeCluster, tmp_path: Path, check: str) -> list[dict[str, str]]:
    code, report, stderr = run_check(kube.kubeconfig, config_file(tmp_path))
    assert code in (0, 1), stderr
    assert all(s["up"] for s in report["sources"]), report["sources"]
    return findings(report, check)


def test_cp09_hpa_targets_missing_deployment(kube: KubeCluster, tmp_path: Path) -> None:
    ensure_namespace(kube, "istio-system")
    kube.admin.apply(f"{APPS}/istio-system/deployments", istiod_deployment("istiod-1-6-10", "1-6-10", 1))
    hpa: dict[str, Any] = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "istiod", "namespace": "istio-system"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "istiod-1-6-10"},
            "minReplicas": 1,
            "maxReplicas": 5,
        },
    }
    hpas = "/apis/autoscaling/v2/namespaces/istio-system/horizontalpodautoscalers"
    kube.admin.apply(hpas, hpa)
    assert check_findings(kube, tmp_path, "CP09") == []

    hpa["spec"]["scaleTargetRef"]["name"] = "istiod"
    kube.admin.apply(hpas, hpa)
    [finding] = check_findings(kube, tmp_path, "CP09")
    assert finding["name"] == "istiod" and "existing: istiod-1-6-10" in finding["message"]

    kube.admin.delete(f"{hpas}/istiod")
    assert check_findings(kube, tmp_path, "CP09") == []


def validating_webhook(service: str, policy: str = "Fail") -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "istio-validator-e2e"},
        "webhooks": [
            {
                "name": "rev.validation.istio.io",
                "admissionReviewVersions": ["v1"],
                "sideEffects": "None",
                "failurePolicy": policy,
                # matches nothing the tests create, so a broken webhook cannot block the testbed itself
                "rules": [
                    {
                        "apiGroups": ["e2e.meshhealth.io"],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE"],
                        "resources": ["nothings"],
                    }
                ],
                "clientConfig": {"service": {"name": service, "namespace": "istio-system", "port": 443}},
            }
        ],
    }


def service(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "istio-system"},
        "spec": {"selector": {"app": name}, "ports": [{"name": "https-webhook", "port": 443, "targetPort": 15017}]},
    }


def endpoint_slice(service_name: str, ready: bool) -> dict[str, Any]:
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"{service_name}-e2e",
            "namespace": "istio-system",
            "labels": {"kubernetes.io/service-name": service_name},
        },
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.244.0.9"], "conditions": {"ready": ready}}],
        "ports": [{"name": "https-webhook", "port": 15017, "protocol": "TCP"}],
    }


def test_wh01_wh02_webhook_service_missing_then_without_endpoints(kube: KubeCluster, tmp_path: Path) -> None:
    ensure_namespace(kube, "istio-system")
    services = "/api/v1/namespaces/istio-system/services"
    slices = "/apis/discovery.k8s.io/v1/namespaces/istio-system/endpointslices"
    kube.admin.apply(services, service("istiod-1-6-10"))
    kube.admin.apply(slices, endpoint_slice("istiod-1-6-10", ready=True))
    webhooks = f"{ADMISSION}/validatingwebhookconfigurations"
    kube.admin.apply(webhooks, validating_webhook("istiod-1-6-10"))
    assert check_findings(kube, tmp_path, "WH01") == [] and check_findings(kube, tmp_path, "WH02") == []

    # after a revisioned install the webhook still names the old revision's Service
    kube.admin.apply(webhooks, validating_webhook("istiod-1-5-0"))
    [wh01] = check_findings(kube, tmp_path, "WH01")
    assert wh01["name"] == "istio-validator-e2e" and wh01["severity"] == "critical"
    assert "Service istio-system/istiod-1-5-0" in wh01["message"] and "does not exist" in wh01["message"]

    # the Service is back but its only endpoint is not ready ("no endpoints available for service")
    kube.admin.apply(services, service("istiod-1-5-0"))
    kube.admin.apply(slices, endpoint_slice("istiod-1-5-0", ready=False))
    assert check_findings(kube, tmp_path, "WH01") == []
    [wh02] = check_findings(kube, tmp_path, "WH02")
    assert "no ready endpoints" in wh02["message"]

    # failurePolicy Ignore hides it: WH04
    kube.admin.apply(webhooks, validating_webhook("istiod-1-5-0", policy="Ignore"))
    [wh04] = check_findings(kube, tmp_path, "WH04")
    assert "Istio config is not validated" in wh04["message"]

    kube.admin.apply(slices, endpoint_slice("istiod-1-5-0", ready=True))
    for check in ("WH01", "WH02", "WH04"):
        assert check_findings(kube, tmp_path, check) == [], check
    kube.admin.delete(f"{webhooks}/istio-validator-e2e")


def pod(name: str, namespace: str, *, sidecar: bool = False, **spec_extra: Any) -> dict[str, Any]:
    containers = [{"name": "app", "image": "registry.example/app:1"}]
    if sidecar:
        containers.append({"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.29.2"})
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "labels": {"app": name}}
    metadata.update(spec_extra.pop("metadata", {}))
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": {"containers": containers, **spec_extra}}


def test_dp04_pod_without_sidecar_in_injection_enabled_namespace(kube: KubeCluster, tmp_path: Path) -> None:
    kube.admin.apply(
        "/api/v1/namespaces",
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "shop", "labels": {"istio-injection": "enabled"}},
        },
    )
    pods = "/api/v1/namespaces/shop/pods"
    kube.admin.create(pods, pod("web", "shop", sidecar=True))
    kube.admin.create(pods, pod("node-agent", "shop", hostNetwork=True))
    kube.admin.create(pods, pod("batch", "shop", metadata={"annotations": {"sidecar.istio.io/inject": "false"}}))
    config = tmp_path / "config.json"
    base = json.loads(config_file(tmp_path).read_text())
    base["checks"]["DP04"] = {"grace_seconds": 0}
    config.write_text(json.dumps(base))

    def dp04() -> list[dict[str, str]]:
        code, report, stderr = run_check(kube.kubeconfig, config)
        assert code in (0, 1), stderr
        return findings(report, "DP04")

    assert dp04() == []  # hostNetwork and explicit opt-out are not findings
    kube.admin.create(pods, pod("checkout", "shop"))
    [finding] = dp04()
    assert (finding["namespace"], finding["kind"], finding["name"]) == ("shop", "Pod", "checkout")
    assert finding["message"].startswith("1 pod without istio-proxy")
    kube.admin.request("DELETE", f"{pods}/checkout?gracePeriodSeconds=0")
    assert dp04() == []


class _EnvoyStats(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"# TYPE envoy_server_live gauge\nenvoy_server_live 1\n# TYPE istio_requests_total counter\n"
        self.send_response(200 if self.path == "/stats/prometheus" else 404)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return None


def test_tm02_sidecar_stats_endpoint_unreachable_and_scrape_disabled(kube: KubeCluster, tmp_path: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EnvoyStats)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        ensure_namespace(kube, "stats")
        pods = "/api/v1/namespaces/stats/pods"
        # pods without a kubelet: the API server takes their status as written; 127.0.0.1 serves Envoy's stats,
        # nothing listens on 127.0.0.9 (loopback, so the probe fails fast with connection refused)
        for name, ip in (("served", "127.0.0.1"), ("unserved", "127.0.0.9")):
            kube.admin.create(pods, pod(name, "stats", sidecar=True))
            kube.admin.merge_patch(f"{pods}/{name}/status", {"status": {
                "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                "containerStatuses": [{"name": c, "image": "x", "imageID": "", "ready": True, "restartCount": 0,
                                       "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}}
                                      for c in ("app", "istio-proxy")]}})  # fmt: skip
        base = json.loads(config_file(tmp_path).read_text())
        base["sources"]["proxy_stats"] = {"enabled": True}
        base["checks"]["TM02"] = {"port": server.server_address[1], "probe_timeout_seconds": 2}
        config = tmp_path / "tm02.json"
        config.write_text(json.dumps(base))

        def tm02() -> list[dict[str, str]]:
            code, report, stderr = run_check(kube.kubeconfig, config)
            assert code in (0, 1), stderr
            assert {s["name"]: s["up"] for s in report["sources"]}["proxy_stats"], report["sources"]
            # other tests' pods (the simulated mesh's) may be probed too: only this namespace is this test's
            return sorted((f for f in findings(report, "TM02") if f["namespace"] == "stats"), key=lambda f: f["name"])

        [unserved] = tm02()
        assert (unserved["namespace"], unserved["name"], unserved["severity"]) == ("stats", "unserved", "info")
        assert unserved["message"].startswith(f"GET http://127.0.0.9:{server.server_address[1]}/stats/prometheus: "
                                              "cannot connect")  # fmt: skip
        kube.admin.merge_patch(f"{pods}/served", {"metadata": {"annotations": {"prometheus.io/scrape": "false"}}})
        opted_out, _ = tm02()
        assert opted_out["name"] == "served" and 'prometheus.io/scrape: "false"' in opted_out["message"]
        for name in ("served", "unserved"):
            kube.admin.request("DELETE", f"{pods}/{name}?gracePeriodSeconds=0")
        assert tm02() == []
    finally:
        server.shutdown()
