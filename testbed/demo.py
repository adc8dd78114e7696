"""`make demo`: both testbed parts, the exporter and Prometheus; `make demo-break/demo-fix SCENARIO=<id>`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from testbed.istio import create_service
from testbed.kube import KubeClient
from testbed.monitoring import Prometheus
from testbed.processes import ROOT, ManagedProcess
from testbed.tracing import Elasticsearch, JaegerCollector

EXPORTER_PORT = 9745


def start_monitoring(run: Path, state: dict[str, Any]) -> list[ManagedProcess]:
    """Elasticsearch + Jaeger, then the exporter and Prometheus with rules rendered for the demo."""
    es = Elasticsearch(workdir=run / "elasticsearch").start()
    collector = JaegerCollector(es, workdir=run / "jaeger").start()
    collector.send_spans("web", count=20)
    config = run / "demo.json"
    config.write_text(json.dumps({
        "istio": {"istiod_urls": state["istiod_urls"]},
        "sources": {"kubernetes": {"interval_seconds": 5}, "istiod": {"interval_seconds": 5},
                    "elasticsearch": {"interval_seconds": 10}},
        "elasticsearch": {"clusters": [{"name": "testbed", "urls": [es.url]}]},
        "checks": {"DP01": {"stale_threshold_seconds": 30, "alert_for": "30s"}, "TR05": {"max_span_age_seconds": 3600}},
    }, indent=2))  # fmt: skip
    subprocess.run([sys.executable, "-m", "exporter", "generate", "--config", str(config), "--output-dir", str(run)],
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    exporter = ManagedProcess(
        "exporter",
        [sys.executable, "-m", "exporter", "serve", "--kubeconfig", state["kubeconfig"], "--config", str(config),
         "--listen-address", f"127.0.0.1:{EXPORTER_PORT}"],
        run, env={"PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    exporter.start()
    prometheus = Prometheus(run / "prometheus", run / "alert_rules" / "rules.yaml", f"127.0.0.1:{EXPORTER_PORT}",
                            "127.0.0.1:9") .start()  # fmt: skip
    state.update(
        {"elasticsearch": es.url, "exporter": f"http://127.0.0.1:{EXPORTER_PORT}", "prometheus": prometheus.url}
    )
    return [es.process, collector.process, exporter, prometheus.process]


def _admin(state: dict[str, Any]) -> KubeClient:
    pki = Path(state["kubeconfig"]).parent / "pki"
    return KubeClient(state["server"], pki / "ca.crt", pki / "admin.crt", pki / "admin.key")


class _Cluster:
    def __init__(self, admin: KubeClient) -> None:
        self.admin = admin


def _sidecars(state: dict[str, Any], verb: str, **params: str) -> None:
    import urllib.parse
    import urllib.request

    url = f"http://{state['sidecars_control']}/{verb}?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=10) as resp:
        resp.read()


def _es(state: dict[str, Any], method: str, path: str, body: Any = None) -> None:
    import urllib.request

    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(state["elasticsearch"] + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(req, timeout=30) as resp:
        resp.read()


def _push(state: dict[str, Any]) -> None:
    import time

    create_service(_Cluster(_admin(state)), "shop", f"push-{int(time.time())}", 9090, ["10.10.0.10"], {"app": "web"})  # type: ignore[arg-type]


DESTINATION_RULES = "/apis/networking.istio.io/v1/namespaces/shop/destinationrules"
WATERMARK = "cluster.routing.allocation.disk.watermark"


def scenario(state: dict[str, Any], name: str, action: str) -> str:
    """Inject (``break``) or repair (``fix``) one failure mode; returns what was done."""
    breaking = action == "break"
    if name == "DP01":
        if breaking:
            _sidecars(state, "stop-ack", pod="web-1.shop", type="EDS")
            _push(state)
            return "web-1 stops acknowledging EDS; STALE after 30s, MeshHealthProxyStale fires 30s later"
        _sidecars(state, "resume", pod="web-1.shop")
        return "web-1 acknowledges again"
    if name == "CP03":
        if breaking:
            _sidecars(state, "nack", pod="web-2.shop", type="LDS", msg="Error adding/updating listener(s): demo")
            _push(state)
            return "web-2 rejects the next LDS push"
        _sidecars(state, "resume", pod="web-2.shop")
        return "web-2 reconnects and acknowledges"
    if name == "DP02":
        _sidecars(state, "disconnect" if breaking else "connect", pod="web-3.shop")
        return "web-3 disconnected from istiod" if breaking else "web-3 connected again"
    if name == "CP05":
        if breaking:
            _admin(state).apply(DESTINATION_RULES, {
                "apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
                "metadata": {"name": "web", "namespace": "shop"},
                "spec": {"host": "web", "subsets": [{"name": "v1-bug", "labels": {"version": "v1-bug"}}]}})  # fmt: skip
            return "DestinationRule web has a subset that selects no pod"
        _admin(state).delete(f"{DESTINATION_RULES}/web")
        _push(state)
        return "DestinationRule removed"
    if name == "TR03":
        value = "100pb" if breaking else None
        _es(state, "PUT", "/_cluster/settings", {"transient": {f"{WATERMARK}.low": value, f"{WATERMARK}.high": value,
                                                               f"{WATERMARK}.flood_stage": value}})  # fmt: skip
        return ("watermarks above the disk size: flood stage, Jaeger indices become read-only" if breaking
                else "watermarks restored; Elasticsearch releases the block")  # fmt: skip
    if name == "TR01":
        if breaking:
            _es(state, "PUT", "/unplaceable?wait_for_active_shards=0", {"settings": {
                "number_of_replicas": 0, "index.routing.allocation.require._name": "nowhere"}})  # fmt: skip
            return "an index whose shard cannot be allocated: the cluster is red"
        _es(state, "DELETE", "/unplaceable")
        return "index deleted: green again"
    raise SystemExit(f"unknown scenario {name}: DP01, CP03, DP02, CP05, TR03, TR01")
