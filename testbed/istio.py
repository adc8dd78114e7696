"""Istio pieces of the testbed, taken from the pinned istio.io/istio module: CRDs, later istiod."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import yaml

from testbed.kube import ApiError, KubeCluster
from testbed.processes import BIN, ROOT, ManagedProcess, free_port, run_step

GO_MOD = ROOT / "testbed" / "go" / "istiod" / "go.mod"
ISTIO_PACKAGE = "istio.io/istio/pilot/cmd/pilot-discovery"
CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def istio_version() -> str:
    for line in GO_MOD.read_text().splitlines():
        parts = line.split()
        if parts[:2] == ["require", "istio.io/istio"]:
            return parts[2]
    raise RuntimeError(f"no istio.io/istio requirement in {GO_MOD}")


def escape_module_path(path: str) -> str:
    """The module cache's case encoding: each upper-case letter becomes '!' and its lower case."""
    return "".join(f"!{c.lower()}" if c.isupper() else c for c in path)


def module_dir() -> Path:
    """The pinned istio.io/istio module in the Go module cache (extracted if missing).

    The module proxy serves this pseudo-version's .mod and .zip but answers 403 for its .info, and
    `go mod download` / `go list -m` ask for the .info. Listing a package of the module from the
    testbed's module needs only the .mod and .zip files, as `go build` does.
    """
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GONOSUMDB": "github.com/openshift/api"}
    cache = run_step(["go", "env", "GOMODCACHE"], env=env, timeout=60).strip()
    cached = Path(cache) / f"{escape_module_path('istio.io/istio')}@{istio_version()}"
    if (cached / "go.mod").is_file():
        return cached
    out = run_step(["go", "list", "-f", "{{.Module.Dir}}", ISTIO_PACKAGE], cwd=GO_MOD.parent, env=env)
    return Path(out.strip())


def istio_crds() -> list[dict[str, Any]]:
    text = (module_dir() / "manifests" / "charts" / "base" / "files" / "crd-all.gen.yaml").read_text()
    return [d for d in yaml.safe_load_all(text) if isinstance(d, dict) and d.get("kind") == "CustomResourceDefinition"]


def install_istio_crds(cluster: KubeCluster, timeout: float = 60) -> list[str]:
    names = []
    for crd in istio_crds():
        crd.get("metadata", {}).pop("annotations", None)  # helm keep-policy annotations are irrelevant here
        cluster.admin.apply(CRD_PATH, crd)
        names.append(crd["metadata"]["name"])
    deadline = time.monotonic() + timeout
    for name in names:
        while True:
            try:
                conditions = cluster.admin.get(f"{CRD_PATH}/{name}").get("status", {}).get("conditions", [])
            except ApiError:
                conditions = []
            if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"CRD {name} not established after {timeout:.0f}s")
            time.sleep(0.2)
    return names


ISTIOD_BIN = BIN / "pilot-discovery"
SIDECARS_BIN = BIN / "sidecars"
ISTIOCTL_BIN = BIN / "istioctl"
MESH_CONFIG = """defaultConfig:
  discoveryAddress: istiod.istio-system.svc:15012
  proxyMetadata: {}
enableAutoMtls: true
rootNamespace: istio-system
trustDomain: cluster.local
"""


class Istiod:
    """One istiod replica (pilot-discovery) out of cluster, all ports on loopback."""

    def __init__(self, cluster: KubeCluster, name: str, revision: str = "default") -> None:
        self.cluster = cluster
        self.name = name
        self.workdir = cluster.workdir / name
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "mesh.yaml").write_text(MESH_CONFIG)
        self.ports = {k: free_port() for k in ("http", "monitoring", "xds", "secure_xds", "webhook")}
        self.monitoring_url = f"http://127.0.0.1:{self.ports['monitoring']}"
        self.xds_address = f"127.0.0.1:{self.ports['xds']}"
        self.process = ManagedProcess(
            name,
            [
                str(ISTIOD_BIN), "discovery", f"--kubeconfig={cluster.kubeconfig}",
                f"--httpAddr=127.0.0.1:{self.ports['http']}", f"--monitoringAddr=127.0.0.1:{self.ports['monitoring']}",
                f"--grpcAddr={self.xds_address}", f"--secureGRPCAddr=127.0.0.1:{self.ports['secure_xds']}",
                f"--httpsAddr=127.0.0.1:{self.ports['webhook']}", f"--meshConfig={self.workdir / 'mesh.yaml'}",
                "--networksConfig=/dev/null", "--log_output_level=default:info",
            ],
            self.workdir,
            env={
                "POD_NAMESPACE": "istio-system", "POD_NAME": name, "REVISION": revision,
                "PILOT_CERT_PROVIDER": "istiod", "JWT_POLICY": "third-party-jwt", "CLUSTER_ID": "Kubernetes",
                "KUBECONFIG": str(cluster.kubeconfig), "PILOT_DEBOUNCE_AFTER": "100ms", "PILOT_DEBOUNCE_MAX": "1s",
            },
        )  # fmt: skip

    def _ready(self) -> bool:
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{self.ports['http']}/ready", timeout=2) as resp:
            return bool(resp.status == 200)

    def start(self, timeout: float = 120) -> Istiod:
        self.process.start()
        self.process.wait_until(self._ready, timeout, "ready")
        return self

    def get_json(self, path: str) -> Any:
        import urllib.request

        with urllib.request.urlopen(self.monitoring_url + path, timeout=10) as resp:
            return json.loads(resp.read())

    def metrics(self) -> str:
        import urllib.request

        with urllib.request.urlopen(self.monitoring_url + "/metrics", timeout=10) as resp:
            return str(resp.read().decode())

    def stop(self) -> None:
        self.process.stop()


def prepare_control_plane(cluster: KubeCluster) -> None:
    """The namespace, Service (with endpoints) and mesh ConfigMap of an installed istiod, and endpoints for the
    `kubernetes` Service (an API server advertising a loopback address publishes none; a real cluster has them)."""
    cluster.admin.apply("/apis/discovery.k8s.io/v1/namespaces/default/endpointslices", {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "kubernetes-testbed", "namespace": "default",
                     "labels": {"kubernetes.io/service-name": "kubernetes"}},
        "addressType": "IPv4", "ports": [{"name": "https", "port": 443, "protocol": "TCP"}],
        "endpoints": [{"addresses": ["10.0.0.1"], "conditions": {"ready": True}}]})  # fmt: skip
    cluster.admin.apply(
        "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}}
    )
    cluster.admin.apply("/api/v1/namespaces/istio-system/services", {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "istiod", "namespace": "istio-system", "labels": {"app": "istiod", "istio": "pilot"}},
        "spec": {"ports": [
            {"name": "grpc-xds", "port": 15010}, {"name": "https-dns", "port": 15012},
            {"name": "https-webhook", "port": 443, "targetPort": 15017},
            {"name": "http-monitoring", "port": 15014}]}})  # fmt: skip
    # istiod runs outside the cluster: its Service has no selector and one ready endpoint, as for an external
    # control plane (without it, istiod counts its own four clusters in pilot_eds_no_instances)
    cluster.admin.apply("/apis/discovery.k8s.io/v1/namespaces/istio-system/endpointslices", {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "istiod-testbed", "namespace": "istio-system",
                     "labels": {"kubernetes.io/service-name": "istiod"}},
        "addressType": "IPv4",
        "ports": [{"name": "grpc-xds", "port": 15010, "protocol": "TCP"},
                  {"name": "https-dns", "port": 15012, "protocol": "TCP"},
                  {"name": "https-webhook", "port": 15017, "protocol": "TCP"},
                  {"name": "http-monitoring", "port": 15014, "protocol": "TCP"}],
        "endpoints": [{"addresses": ["10.0.0.2"], "conditions": {"ready": True}}]})  # fmt: skip
    cluster.admin.apply(
        "/api/v1/namespaces/istio-system/configmaps",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "istio", "namespace": "istio-system"},
         "data": {"mesh": MESH_CONFIG, "meshNetworks": "networks: {}"}},
    )  # fmt: skip


def create_running_pod(
    cluster: KubeCluster, namespace: str, name: str, ip: str, labels: dict[str, str], sidecar: bool = True
) -> None:
    """A pod as the kubelet would report it: Running, with its IP and (optionally) a running istio-proxy."""
    containers = [{"name": "app", "image": "registry.example/app:1"}]
    if sidecar:
        containers.append({"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.29.2"})
    path = f"/api/v1/namespaces/{namespace}/pods"
    cluster.admin.apply(path, {"apiVersion": "v1", "kind": "Pod",
                               "metadata": {"name": name, "namespace": namespace, "labels": labels},
                               "spec": {"containers": containers}})  # fmt: skip
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    statuses = [
        {"name": c["name"], "ready": True, "restartCount": 0, "image": c["image"], "imageID": "", "started": True,
         "state": {"running": {"startedAt": now}}}
        for c in containers
    ]  # fmt: skip
    status = {
        "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": "10.0.0.1", "startTime": now,
        "conditions": [{"type": "Ready", "status": "True"}], "containerStatuses": statuses,
    }  # fmt: skip
    cluster.admin.merge_patch(f"{path}/{name}/status", {"status": status})


def create_service(
    cluster: KubeCluster, namespace: str, name: str, port: int, ips: list[str], labels: dict[str, str]
) -> None:
    cluster.admin.apply(f"/api/v1/namespaces/{namespace}/services", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace},
        "spec": {"selector": labels, "ports": [{"name": "http", "port": port, "targetPort": port}]}})  # fmt: skip
    cluster.admin.apply(f"/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices", {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": f"{name}-1", "namespace": namespace, "labels": {"kubernetes.io/service-name": name}},
        "addressType": "IPv4", "ports": [{"name": "http", "port": port, "protocol": "TCP"}],
        "endpoints": [{"addresses": [ip], "conditions": {"ready": True}} for ip in ips]})  # fmt: skip


class Sidecars:
    """The simulated sidecars (testbed/go/sidecars) and their HTTP control port."""

    def __init__(self, cluster: KubeCluster, pods: list[dict[str, str]]) -> None:
        self.workdir = cluster.workdir / "sidecars"
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "pods.json").write_text(json.dumps(pods))
        self.control = f"127.0.0.1:{free_port()}"
        self.process = ManagedProcess(
            "sidecars",
            [str(SIDECARS_BIN), f"-pods={self.workdir / 'pods.json'}", f"-control={self.control}"],
            self.workdir,
        )

    def command(self, verb: str, **params: str) -> None:
        import urllib.parse
        import urllib.request

        url = f"http://{self.control}/{verb}?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=10) as resp:
            resp.read()

    def status(self) -> dict[str, Any]:
        import urllib.request

        with urllib.request.urlopen(f"http://{self.control}/status", timeout=10) as resp:
            return dict(json.loads(resp.read()))

    def start(self, timeout: float = 60) -> Sidecars:
        self.process.start()
        self.process.wait_until(lambda: bool(self.status()), timeout, "serving its control port")
        return self

    def stop(self) -> None:
        self.process.stop()


def register_istiod_deployment(cluster: KubeCluster, replicas: int) -> None:
    """The Deployment object that stands for the istiod processes running out of cluster, with their status."""
    labels = {"app": "istiod", "istio.io/rev": "default"}
    path = "/apis/apps/v1/namespaces/istio-system/deployments"
    cluster.admin.apply(path, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "istiod", "namespace": "istio-system",
                                                                    "labels": labels},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": "discovery", "image": "docker.io/istio/pilot:1.29.2"}]}}},
    })  # fmt: skip
    status = {"observedGeneration": 1, "replicas": replicas, "readyReplicas": replicas,
              "availableReplicas": replicas, "updatedReplicas": replicas}  # fmt: skip
    cluster.admin.merge_patch(f"{path}/istiod/status", {"status": status})
