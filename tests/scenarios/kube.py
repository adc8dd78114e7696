"""Kubernetes-state scenarios: CP01, CP02, CP09, CP12, DP04-DP08, WH01, WH02, WH04, WH05, NS01-NS03, TR08, TM07."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from exporter.sources.kube import projections as p
from exporter.sources.kube.snapshot import KubeSnapshot
from tests.scenarios import Scenario
from tests.unit.helpers import deep_update, kube_object


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def snap(**objects: list[Any]) -> KubeSnapshot:
    return KubeSnapshot({k: tuple(v) for k, v in objects.items()})


def istiod(ready: int = 2, desired: int = 2) -> Any:
    obj = kube_object("deployment-istiod-1-6-10-unready", status={"readyReplicas": ready, "availableReplicas": ready})
    obj["spec"]["replicas"] = desired
    return p.project_deployment(obj)


def workload(kind: str, name: str, namespace: str, labels: dict[str, str], ready: int, desired: int = 2) -> Any:
    obj = {"metadata": {"name": name, "namespace": namespace, "labels": labels, "generation": 1},
           "spec": {"replicas": desired}, "status": {"readyReplicas": ready, "observedGeneration": 1}}  # fmt: skip
    return p.project_deployment(obj) if kind == "Deployment" else p.project_statefulset(obj)


def gateway(ready: int) -> Any:
    return workload("Deployment", "istio-ingressgateway", "istio-system", {"istio": "ingressgateway"}, ready)


def istiod_pod(now: float, restarts: int = 0, oom_ago: float | None = None) -> Any:
    base = kube_object("pod-reviews-v1-injected", metadata={
        "name": "istiod-7c9f6b9d8-abcde", "namespace": "istio-system",
        "labels": {"app": "istiod", "istio.io/rev": "default", "pod-template-hash": "7c9f6b9d8"},
        "ownerReferences": [{"kind": "ReplicaSet", "name": "istiod-7c9f6b9d8", "controller": True}]})  # fmt: skip
    last = {}
    if oom_ago is not None:
        last = {"terminated": {"reason": "OOMKilled", "exitCode": 137, "finishedAt": iso(now - oom_ago)}}
    base["status"]["containerStatuses"] = [{"name": "discovery", "ready": True, "restartCount": restarts,
                                            "state": {"running": {}}, "lastState": last}]  # fmt: skip
    return p.project_pod(base)


def event(now: float, reason: str, message: str, *, namespace: str = "istio-system", kind: str = "Pod",
          name: str = "istiod-7c9f6b9d8-abcde", ago: float = 60, count: int = 4) -> Any:  # fmt: skip
    return p.project_event({
        "metadata": {"name": f"{name}.17b", "namespace": namespace},
        "involvedObject": {"kind": kind, "name": name, "namespace": namespace},
        "reason": reason, "message": message, "count": count, "lastTimestamp": iso(now - ago), "type": "Warning",
    })  # fmt: skip


TOKEN_MSG = ('MountVolume.SetUp failed for volume "istio-token" : failed to fetch token: the API server does not '
             "have TokenRequest endpoints enabled")  # fmt: skip

INJECTED = kube_object("pod-reviews-v1-injected")


def pod(now: float, *, injected: bool = True, name: str = "reviews-v1-5b5d6494f4-7xk2p", namespace: str = "bookinfo",
        **patch: Any) -> Any:  # fmt: skip
    obj = copy.deepcopy(INJECTED)
    obj["metadata"].update(name=name, namespace=namespace, creationTimestamp=iso(now - 3600))
    if not injected:
        obj["metadata"]["annotations"].pop("sidecar.istio.io/status")
        obj["spec"]["containers"] = [c for c in obj["spec"]["containers"] if c["name"] != "istio-proxy"]
        obj["spec"]["initContainers"] = []
        obj["status"]["initContainerStatuses"] = []
    return p.project_pod(deep_update(obj, patch))


def ns(name: str, **labels: str) -> Any:
    return p.project_namespace({"metadata": {"name": name, "labels": labels}, "status": {"phase": "Active"}})


def webhooks(service: str = "istiod", namespace: str = "istio-system", policy: str = "Fail") -> dict[str, list[Any]]:
    client = {"service": {"name": service, "namespace": namespace, "path": "/inject", "port": 443}}
    return {
        "validating_webhooks": [p.project_validating_webhooks({"metadata": {"name": "istio-validator-istio-system"},
            "webhooks": [{"name": "rev.validation.istio.io", "failurePolicy": policy, "clientConfig": client}]})],
        "mutating_webhooks": [p.project_mutating_webhooks({"metadata": {"name": "istio-sidecar-injector"},
            "webhooks": [{"name": "rev.namespace.sidecar-injector.istio.io", "failurePolicy": policy,
                          "clientConfig": client}]})],
    }  # fmt: skip


def webhook_world(*, service: bool = True, ready: bool = True, namespace: bool = True, policy: str = "Fail",
                  target: str = "istiod") -> KubeSnapshot:  # fmt: skip
    svc = p.project_service(
        {
            "metadata": {"name": "istiod", "namespace": "istio-system"},
            "spec": {
                "selector": {"app": "istiod"},
                "ports": [{"name": "https-webhook", "port": 443, "targetPort": 15017}],
            },
        }
    )
    endpoints = p.project_endpointslice({
        "metadata": {"name": "istiod-x1", "namespace": "istio-system",
                     "labels": {"kubernetes.io/service-name": "istiod"}},
        "addressType": "IPv4", "endpoints": [{"addresses": ["10.244.0.5"], "conditions": {"ready": ready}}],
        "ports": [{"name": "https-webhook", "port": 15017, "protocol": "TCP"}]})  # fmt: skip
    return snap(namespaces=[ns("istio-system"), ns("default")] if namespace else [ns("default")],
                services=[svc] if service and namespace else [], endpointslices=[endpoints] if namespace else [],
                **webhooks(service=target, policy=policy))  # fmt: skip


def crashlooping(
    now: float, name: str, node: str = "worker-3", message: str = "iptables-restore: line 2 failed"
) -> Any:
    obj = copy.deepcopy(INJECTED)
    obj["metadata"]["name"] = name
    obj["spec"]["nodeName"] = node
    obj["status"]["phase"] = "Pending"
    obj["status"]["initContainerStatuses"] = [{
        "name": "istio-init", "ready": False, "restartCount": 6,
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container"}},
        "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "message": message,
                                     "finishedAt": iso(now - 300)}},
    }]  # fmt: skip
    return p.project_pod(obj)


def webhook_event(now: float) -> Any:
    return p.project_event({
        "metadata": {"name": "reviews-v2-6c5bf657cf.17b8", "namespace": "bookinfo"},
        "involvedObject": {"kind": "ReplicaSet", "name": "reviews-v2-6c5bf657cf", "namespace": "bookinfo"},
        "reason": "FailedCreate", "type": "Warning", "count": 12, "lastTimestamp": iso(now - 120),
        "message": 'Error creating: Internal error occurred: failed calling webhook '
                   '"namespace.sidecar-injector.istio.io": failed to call webhook: Post '
                   '"https://istiod.istio-system.svc:443/inject?timeout=10s": no endpoints available for service "istiod"',
    })  # fmt: skip


def probe_pod(now: float, *, rewrite: bool = True) -> Any:
    obj = copy.deepcopy(INJECTED)
    obj["metadata"]["creationTimestamp"] = iso(now - 3600)
    obj["spec"]["containers"][0]["livenessProbe"] = {"httpGet": {"path": "/health", "port": 9080}}
    if not rewrite:
        obj["metadata"]["annotations"]["sidecar.istio.io/rewriteAppHTTPProbers"] = "false"
    return p.project_pod(obj)


def unhealthy_probe_event(now: float) -> Any:
    return event(now, "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503",
                 namespace="bookinfo", name="reviews-v1-5b5d6494f4-7xk2p", count=30)  # fmt: skip


def terminating_ns(now: float) -> Any:
    obj = kube_object("namespace-istio-system-terminating")
    obj["metadata"]["deletionTimestamp"] = iso(now - 3600)
    return p.project_namespace(obj)


CRDS = ["virtualservices.networking.istio.io", "gateways.networking.istio.io"]


def crds(*names: str) -> list[Any]:
    return [p.project_crd({"metadata": {"name": n}, "status": {"conditions": [{"type": "Established",
                                                                               "status": "True"}]}})
            for n in names]  # fmt: skip


NGINX = {"metadata": {"labels": {"app.kubernetes.io/name": "ingress-nginx", "pod-template-hash": "7d4db76476"},
                      "ownerReferences": [{"kind": "ReplicaSet", "controller": True,
                                           "name": "ingress-nginx-controller-7d4db76476"}]}}  # fmt: skip
EXPECTED = {"checks": {"NS03": {"expected_in_mesh": [{"name": "ingress-nginx",
                                                       "selector": "app.kubernetes.io/name=ingress-nginx"}]}}}  # fmt: skip
INJECTION = {"istio-injection": "enabled"}
KIALI = {"checks": {"TM07": {"components": [{"name": "kiali", "selector": "app.kubernetes.io/name=kiali",
                                              "required": True}]}}}  # fmt: skip
JAEGER = {"app.kubernetes.io/name": "jaeger-collector"}
REQUIRED_GATEWAY = {
    "checks": {
        "CP01": {
            "components": [
                {
                    "name": "istio-ingressgateway",
                    "kinds": ["Deployment"],
                    "selector": "istio=ingressgateway",
                    "required": True,
                }
            ]
        }
    }
}
REQUIRED_COLLECTOR = {
    "checks": {
        "TR08": {
            "components": [
                {"name": "jaeger-collector", "required": True, "selector": "app.kubernetes.io/name=jaeger-collector"}
            ]
        }
    }
}

SCENARIOS = [
    Scenario("CP01", "istiod-not-ready", lambda n: snap(deployments=[istiod()]),
             lambda n: snap(deployments=[istiod(ready=1)])),
    Scenario("CP01", "istiod-rollout", lambda n: snap(deployments=[istiod()]),
             lambda n: snap(deployments=[p.project_deployment(kube_object("deployment-istiod-1-6-10-unready",
                                                                           metadata={"generation": 2}))])),
    Scenario("CP01", "istiod-missing", lambda n: snap(deployments=[istiod()]), lambda n: snap(deployments=[])),
    Scenario("CP01", "gateway-not-ready", lambda n: snap(deployments=[istiod(), gateway(2)]),
             lambda n: snap(deployments=[istiod(), gateway(0)])),
    Scenario("CP01", "gateway-missing", lambda n: snap(deployments=[istiod(), gateway(2)]),
             lambda n: snap(deployments=[istiod()]), REQUIRED_GATEWAY),
    Scenario("CP02", "restart", lambda n: snap(pods=[istiod_pod(n)]), lambda n: snap(pods=[istiod_pod(n, 1)])),
    Scenario("CP02", "oomkilled", lambda n: snap(pods=[istiod_pod(n)]),
             lambda n: snap(pods=[istiod_pod(n, 1, oom_ago=600)])),
    Scenario("CP09", "hpa-target-missing",
             lambda n: snap(deployments=[istiod()], control_plane_hpas=[p.project_hpa({
                 "metadata": {"name": "istiod", "namespace": "istio-system"},
                 "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "istiod-1-6-10"}}})]),
             lambda n: snap(deployments=[istiod()], control_plane_hpas=[p.project_hpa({
                 "metadata": {"name": "istiod", "namespace": "istio-system"},
                 "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "istiod"}}})])),
    Scenario("CP12", "token-mount", lambda n: snap(warning_events=[event(n, "FailedMount", "configmap x not found")]),
             lambda n: snap(warning_events=[event(n, "FailedMount", TOKEN_MSG)])),
    Scenario("DP04", "not-injected", lambda n: snap(pods=[pod(n)], namespaces=[ns("bookinfo", **INJECTION)],
                                                    **webhooks()),
             lambda n: snap(pods=[pod(n, injected=False)], namespaces=[ns("bookinfo", **INJECTION)], **webhooks())),
    Scenario("DP05", "webhook-failing", lambda n: snap(warning_events=[]),
             lambda n: snap(warning_events=[webhook_event(n)])),
    Scenario("DP06", "init-crashloop-node", lambda n: snap(pods=[pod(n)]),
             lambda n: snap(pods=[crashlooping(n, "a"), crashlooping(n, "b")])),
    Scenario("DP06", "init-crashloop-one-pod", lambda n: snap(pods=[pod(n)]),
             lambda n: snap(pods=[crashlooping(n, "a")])),
    Scenario("DP07", "probe-failing", lambda n: snap(pods=[probe_pod(n)]),
             lambda n: snap(pods=[probe_pod(n)], warning_events=[unhealthy_probe_event(n)])),
    Scenario("DP07", "rewrite-disabled", lambda n: snap(pods=[probe_pod(n)]),
             lambda n: snap(pods=[probe_pod(n, rewrite=False)])),
    Scenario("DP08", "drain-shorter", lambda n: snap(pods=[pod(n)]),
             lambda n: snap(pods=[pod(n, spec={"terminationGracePeriodSeconds": 120})])),
    Scenario("NS03", "expected-sidecar-missing",
             lambda n: snap(pods=[pod(n, name="ingress-nginx-controller-7d4db76476-p6b8m", namespace="ingress-nginx",
                                      **NGINX)]),
             lambda n: snap(pods=[pod(n, injected=False, name="ingress-nginx-controller-7d4db76476-p6b8m",
                                      namespace="ingress-nginx", **NGINX)]), EXPECTED),
    Scenario("WH01", "service-missing", lambda n: webhook_world(), lambda n: webhook_world(target="istiod-old")),
    Scenario("WH02", "no-endpoints", lambda n: webhook_world(), lambda n: webhook_world(ready=False)),
    Scenario("WH04", "ignore-hides-broken", lambda n: webhook_world(policy="Ignore"),
             lambda n: webhook_world(policy="Ignore", ready=False)),
    Scenario("WH05", "leftover", lambda n: webhook_world(), lambda n: webhook_world(namespace=False)),
    Scenario("NS01", "stuck-terminating", lambda n: snap(namespaces=[ns("istio-system")]),
             lambda n: snap(namespaces=[terminating_ns(n)])),
    Scenario("NS02", "crd-missing", lambda n: snap(crds=crds(*CRDS)), lambda n: snap(crds=crds(CRDS[0])),
             {"checks": {"NS02": {"required_crds": CRDS}}}),
    Scenario("TR08", "collector-not-ready",
             lambda n: snap(deployments=[workload("Deployment", "jaeger-collector", "tracing", JAEGER, 2)]),
             lambda n: snap(deployments=[workload("Deployment", "jaeger-collector", "tracing", JAEGER, 1)])),
    Scenario("TR08", "collector-missing",
             lambda n: snap(deployments=[workload("Deployment", "jaeger-collector", "tracing", JAEGER, 2)]),
             lambda n: snap(deployments=[]), REQUIRED_COLLECTOR),
    Scenario("TM07", "kiali-not-ready",
             lambda n: snap(deployments=[workload("Deployment", "kiali", "istio-system",
                                                  {"app.kubernetes.io/name": "kiali"}, 1, 1)]),
             lambda n: snap(deployments=[workload("Deployment", "kiali", "istio-system",
                                                  {"app.kubernetes.io/name": "kiali"}, 0, 1)]), KIALI),
    Scenario("TM07", "required-missing",
             lambda n: snap(deployments=[workload("Deployment", "kiali", "istio-system",
                                                  {"app.kubernetes.io/name": "kiali"}, 1, 1)]),
             lambda n: snap(deployments=[]), KIALI),
]  # fmt: skip
