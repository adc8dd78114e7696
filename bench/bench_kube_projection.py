"""Kubernetes cache benchmark: 50,000 pods, 10,000 Services, 20,000 events.

Prints, against baselines measured in the same run:
- bytes retained per pod: projected vs the full decoded object (ratio);
- time per watch event: decode + project vs decode only (ratio);
- time of all Kubernetes checks over the full snapshot, relative to decoding the pods once;
- /metrics body size with 5,000 vs 50,000 healthy pods (should not grow).

Run: make bench  (or .venv/bin/python -m bench.bench_kube_projection)
"""

from __future__ import annotations

import copy
import gc
import json
import time
import tracemalloc
from pathlib import Path
from typing import Any

from exporter.checks import ALL_CHECKS
from exporter.config import load_settings
from exporter.evaluate import evaluate
from exporter.metrics.render import build_families, render
from exporter.model import SourceView
from exporter.sources.kube import projections as p
from exporter.sources.kube.source import KubeSnapshot

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "unit" / "fixtures" / "kube" / "pod-reviews-v1-injected.json"
PODS, SERVICES, EVENTS, NAMESPACES = 50_000, 10_000, 20_000, 500


def pod_bodies(count: int) -> list[bytes]:
    """Deployments of 10 replicas, each with its own app container name; every 20th pod has restarted (its
    own restart count and finish time), so not every pod's container states are alike."""
    template = json.loads(FIXTURE.read_text())
    out = []
    for i in range(count):
        obj = copy.deepcopy(template)
        ns, app = f"team-{i % NAMESPACES}", f"app-{i // 10}"
        obj["metadata"]["name"] = f"{app}-5b5d6494f4-{i:05d}"
        obj["metadata"]["namespace"] = ns
        obj["metadata"]["labels"]["app"] = app
        obj["metadata"]["ownerReferences"][0]["name"] = f"{app}-5b5d6494f4"
        obj["metadata"]["uid"] = f"uid-{i}"
        obj["spec"]["nodeName"] = f"worker-{i % 200}"
        obj["spec"]["containers"][0]["name"] = app
        statuses = obj["status"]["containerStatuses"]
        statuses[1]["name"] = app
        if i % 20 == 0:
            statuses[1]["restartCount"] = 1 + i % 7
            finished = f"2024-03-02T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}Z"
            statuses[1]["lastState"] = {"terminated": {"reason": "Error", "exitCode": 1, "finishedAt": finished}}
        out.append(json.dumps({"type": "MODIFIED", "object": obj}).encode())
    return out


def service(i: int) -> dict[str, Any]:
    return {
        "metadata": {"name": f"svc-{i}", "namespace": f"team-{i % NAMESPACES}"},
        "spec": {"selector": {"app": f"app-{i}"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]},
    }


def event(i: int) -> dict[str, Any]:
    return {
        "metadata": {"name": f"e-{i}", "namespace": f"team-{i % NAMESPACES}"},
        "reason": "BackOff",
        "involvedObject": {"kind": "Pod", "name": f"app-{i}"},
        "message": "Back-off restarting failed container",
        "count": 3,
        "lastTimestamp": "2024-03-02T10:00:00Z",
        "type": "Warning",
    }


def retained(build: Any) -> tuple[int, Any]:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    value = build()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return after - before, value


def timed(fn: Any, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def body_size(pods: list[Any], namespaces: list[Any]) -> int:
    settings = load_settings()
    snap = KubeSnapshot({"pods": tuple(pods), "namespaces": tuple(namespaces)})
    checks = [c for c in ALL_CHECKS if c.source == "kubernetes"]
    outcomes = evaluate(checks, {"kubernetes": snap}, settings, time.time())
    source = SourceView("kubernetes", "https://k8s", True, True, time.time(), 0.1, {})
    return len(render(build_families([source], outcomes, 100), process_metrics=False).text)


def main() -> None:
    bodies = pod_bodies(PODS)
    print(f"pods: {PODS}, services: {SERVICES}, events: {EVENTS}; one watch event ~{len(bodies[0])} bytes")

    full_bytes, full = retained(lambda: [json.loads(b)["object"] for b in bodies])
    del full
    projected_bytes, projected = retained(lambda: [p.project_pod(json.loads(b)["object"]) for b in bodies])
    print(
        f"retained per pod: full object {full_bytes / PODS:,.0f} B, projected {projected_bytes / PODS:,.0f} B "
        f"-> {full_bytes / projected_bytes:.1f}x smaller"
    )

    decode = timed(lambda: [json.loads(b)["object"] for b in bodies])
    decode_project = timed(lambda: [p.project_pod(json.loads(b)["object"]) for b in bodies])
    print(
        f"per watch event: decode {decode / PODS * 1e6:.1f} us, decode+project {decode_project / PODS * 1e6:.1f} us "
        f"-> projection costs {decode_project / decode:.2f}x the bare decode"
    )

    namespaces = [
        p.project_namespace(
            {"metadata": {"name": f"team-{i}", "labels": {"istio-injection": "enabled"}}, "status": {"phase": "Active"}}
        )
        for i in range(NAMESPACES)
    ]
    snapshot = KubeSnapshot(
        {
            "pods": tuple(projected),
            "namespaces": tuple(namespaces),
            "services": tuple(p.project_service(service(i)) for i in range(SERVICES)),
            "warning_events": tuple(p.project_event(event(i)) for i in range(EVENTS)),
        }
    )
    settings = load_settings()
    checks = [c for c in ALL_CHECKS if c.source == "kubernetes"]
    check_time = timed(lambda: evaluate(checks, {"kubernetes": snapshot}, settings, time.time()))
    print(
        f"all {len(checks)} Kubernetes checks over the snapshot: {check_time * 1000:.0f} ms CPU "
        f"= {check_time / decode:.2f}x decoding the pods once"
    )

    small = body_size(projected[:5000], namespaces)
    large = body_size(projected, namespaces)
    print(
        f"/metrics body (healthy mesh): {small:,} B with 5,000 pods, {large:,} B with 50,000 pods "
        f"-> ratio {large / small:.2f}"
    )


if __name__ == "__main__":
    main()
