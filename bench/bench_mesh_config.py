"""Configuration checks benchmark: a full CF01-CF21 pass at 1x, 2x and 4x of 5,000 Services, 2,000 VirtualServices,
2,000 DestinationRules and 20,000 pods, against ``istioctl analyze`` on the same objects in the same run.

The mesh grows by namespaces (100 per 1x, each with 50 Services, 20 VirtualServices, 20 DestinationRules, 200 pods,
a Gateway, a ServiceEntry, a PeerAuthentication, a Sidecar and an AuthorizationPolicy; a few mistakes of every
kind). Printed per size: the best of 5 passes of all CF checks on the projected objects, the ratio to the previous
size (linear: 2.0 per doubling), the wall time of ``istioctl analyze --use-kube=false -A`` on the same objects
written as one file and the ratio ours/istioctl; then the wall time of ``mesh-health-exporter check --files`` on
that file (start-up, parsing, projection and every check: what a CI job waits for) and its ratio to istioctl's;
last the peak heap growth of one pass (tracemalloc, not timed). Offline, istioctl skips its analyzers that need
Services and Pods, so it does less work than we do.
Run: make bench  (or .venv/bin/python -m bench.bench_mesh_config [--max-scale 4] [--no-istioctl])
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from exporter.checks.configuration import CHECKS
from exporter.config import Settings
from exporter.model import NotEvaluated
from exporter.sources.kube.snapshot import KubeSnapshot
from testbed.istio import ISTIOCTL_BIN
from tests.scenarios.config import project

CONTAINERS = [{"name": "app", "image": "app:1"}, {"name": "istio-proxy", "image": "proxyv2:1"}]
MESH = "defaultConfig:\n  discoveryAddress: istiod.istio-system.svc:15012\nrootNamespace: istio-system\n"
PER_NAMESPACE = {"services": 50, "virtualservices": 20, "destinationrules": 20, "pods": 200}
NAMESPACES_PER_SCALE = 100


def namespace_objects(ns: str, broken: bool) -> list[dict[str, Any]]:
    objs: list[dict[str, Any]] = [{"apiVersion": "v1", "kind": "Namespace",
                                   "metadata": {"name": ns, "labels": {"istio-injection": "enabled"}}}]  # fmt: skip
    for s in range(PER_NAMESPACE["services"]):
        name = f"svc-{s}"
        port_name = "web" if broken and s == 0 else "http"
        objs.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
                     "spec": {"selector": {"app": name}, "ports": [{"name": port_name, "port": 8080}]}})  # fmt: skip
        for p in range(PER_NAMESPACE["pods"] // PER_NAMESPACE["services"]):
            objs.append({"apiVersion": "v1", "kind": "Pod",
                         "metadata": {"name": f"{name}-v{p % 2 + 1}-{p}", "namespace": ns,
                                      "labels": {"app": name, "version": f"v{p % 2 + 1}", "pod-template-hash": "abc"}},
                         "spec": {"nodeName": f"node-{p}", "containers": CONTAINERS},
                         "status": {"phase": "Running"}})  # fmt: skip
    for r in range(PER_NAMESPACE["destinationrules"]):
        subsets = [{"name": "v1", "labels": {"version": "v1"}}, {"name": "v2", "labels": {"version": "v2"}}]
        if broken and r == 0:
            subsets.append({"name": "v3", "labels": {"version": "v3-bug"}})
        objs.append({"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
                     "metadata": {"name": f"svc-{r}", "namespace": ns},
                     "spec": {"host": f"svc-{r}", "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}},
                              "subsets": subsets}})  # fmt: skip
    for v in range(PER_NAMESPACE["virtualservices"]):
        subset = "v9" if broken and v == 1 else "v1"
        objs.append({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
                     "metadata": {"name": f"svc-{v}", "namespace": ns},
                     "spec": {"hosts": [f"svc-{v}"], "http": [{"route": [
                         {"destination": {"host": f"svc-{v}", "subset": subset}, "weight": 90},
                         {"destination": {"host": f"svc-{v}", "subset": "v2"}, "weight": 10}]}]}})  # fmt: skip
    objs.append({"apiVersion": "networking.istio.io/v1", "kind": "Gateway", "metadata": {"name": "gw", "namespace": ns},
                 "spec": {"selector": {"istio": "ingressgateway"}, "servers": [
                     {"port": {"number": 443, "name": "https", "protocol": "HTTPS"}, "hosts": [f"{ns}.example.com"],
                      "tls": {"mode": "SIMPLE", "credentialName": f"{ns}-cert"}}]}})  # fmt: skip
    objs.append({"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry",
                 "metadata": {"name": "db", "namespace": ns},
                 "spec": {"hosts": [f"db.{ns}.example.com"], "addresses": ["240.0.0.1/32"],
                          "ports": [{"number": 5432, "name": "tcp-pg", "protocol": "TCP"}]}})  # fmt: skip
    objs.append({"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
                 "metadata": {"name": "default", "namespace": ns}, "spec": {"mtls": {"mode": "STRICT"}}})  # fmt: skip
    objs.append({"apiVersion": "networking.istio.io/v1", "kind": "Sidecar",
                 "metadata": {"name": "default", "namespace": ns},
                 "spec": {"egress": [{"hosts": ["./*", "istio-system/*"]}]}})  # fmt: skip
    app = "svc-0-typo" if broken else "svc-0"
    objs.append({"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
                 "metadata": {"name": "svc-0-viewer", "namespace": ns},
                 "spec": {"selector": {"matchLabels": {"app": app}}, "action": "ALLOW",
                          "rules": [{"from": [{"source": {"namespaces": ["istio-system", ns]}}]}]}})  # fmt: skip
    return objs


def mesh_objects(scale: int) -> list[dict[str, Any]]:
    objs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "istio", "namespace": "istio-system"},
         "data": {"mesh": MESH}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "istiod", "namespace": "istio-system",
                                                             "labels": {"app": "istiod", "istio": "pilot"}},
         "spec": {"selector": {"app": "istiod"}, "ports": [{"name": "https-dns", "port": 15012}]}},
    ]  # fmt: skip
    for i in range(NAMESPACES_PER_SCALE * scale):
        objs += namespace_objects(f"team-{i}", broken=i % 10 == 0)
    return objs


def snapshot(objs: list[dict[str, Any]]) -> KubeSnapshot:
    return project(objs)


def full_pass(snap: KubeSnapshot, settings: Settings) -> tuple[float, int]:
    gc.collect()  # start every pass from the same heap state
    start = time.perf_counter()
    findings = 0
    for check in CHECKS:
        try:
            findings += len(check.run(snap, settings, time.time()).findings)
        except NotEvaluated as exc:
            findings += len(exc.partial.findings) if exc.partial else 0
    return time.perf_counter() - start, findings


def peak_memory(snap: KubeSnapshot, settings: Settings) -> float:
    """MiB the Python heap grows by, at most, during one pass (fresh indexes; tracemalloc, not timed)."""
    gc.collect()
    tracemalloc.start()
    full_pass(KubeSnapshot(snap.objects), settings)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def write_objects(objs: list[dict[str, Any]], workdir: Path) -> Path:
    path = workdir / "objects.yaml"
    path.write_text("\n---\n".join(json.dumps(o) for o in objs))
    return path


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=False, timeout=1800)
    return time.perf_counter() - start


def istioctl_time(path: Path) -> float:
    return wall([str(ISTIOCTL_BIN), "analyze", "--use-kube=false", "-A", "-o", "json", str(path)])


def check_files_time(path: Path) -> float:
    """``check --files`` on the file istioctl reads: start-up, reading, projecting and every check."""
    return wall([sys.executable, "-m", "exporter", "check", "--files", str(path), "--output", "json"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-scale", type=int, default=4)
    parser.add_argument("--no-istioctl", action="store_true")
    args = parser.parse_args()
    settings = Settings()
    use_istioctl = not args.no_istioctl and ISTIOCTL_BIN.exists()
    print(f"{'size':>5} {'services':>9} {'VS':>6} {'DR':>6} {'pods':>7} {'findings':>8} {'CF pass s':>10} "
          f"{'ratio':>6} {'istioctl s':>11} {'ours/istioctl':>14} {'--files s':>10} "
          f"{'files/istioctl':>15} {'peak MiB':>9}")  # fmt: skip
    previous = None
    scale = 1
    with tempfile.TemporaryDirectory() as tmp:
        while scale <= args.max_scale:
            objs = mesh_objects(scale)
            snap = snapshot(objs)
            times = [full_pass(KubeSnapshot(snap.objects), settings) for _ in range(5)]  # fresh indexes each pass
            best, findings = min(t for t, _ in times), times[0][1]
            ratio = f"{best / previous:.2f}" if previous else "-"
            path = write_objects(objs, Path(tmp))
            theirs = istioctl_time(path) if use_istioctl else None
            files = check_files_time(path)
            peak = peak_memory(snap, settings)
            counts = {k: len(snap.get(k)) for k in ("services", "virtualservices", "destinationrules", "pods")}
            print(f"{scale:>4}x {counts['services']:>9} {counts['virtualservices']:>6} {counts['destinationrules']:>6} "
                  f"{counts['pods']:>7} {findings:>8} {best:>10.3f} {ratio:>6} "
                  f"{'-' if theirs is None else f'{theirs:.3f}':>11} "
                  f"{'-' if theirs is None else f'{best / theirs:.2f}':>14} {files:>10.3f} "
                  f"{'-' if theirs is None else f'{files / theirs:.2f}':>15} {peak:>9.1f}", flush=True)  # fmt: skip
            previous = best
            scale *= 2
    if not use_istioctl:
        print(f"istioctl not measured ({ISTIOCTL_BIN} missing or --no-istioctl): bash testbed/build.sh istiod")


if __name__ == "__main__":
    main()
