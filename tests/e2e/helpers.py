"""Helpers shared by the end-to-end tests: run the CLI against the testbed, read its report, the mesh."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from testbed.istio import Istiod, Sidecars, create_service, install_istio_crds
from testbed.kube import KubeCluster
from testbed.processes import ComponentError
from tests.support import metric_values


def config_file(tmp_path: Path, **checks: Any) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        json.dumps(
            {
                "sources": {"kubernetes": {"interval_seconds": 1, "timeout_seconds": 20}, "istiod": {"enabled": False}},
                "checks": {"NS01": {"terminating_threshold_seconds": 1}, **checks},
            }
        )
    )
    return path


def run_check(kubeconfig: Path, config: Path) -> tuple[int, dict[str, Any], str]:
    proc = subprocess.run(
        [sys.executable, "-m", "exporter", "check", "--output", "json", "--kubeconfig", str(kubeconfig),
         "--config", str(config)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    report = json.loads(proc.stdout) if proc.stdout.strip() else {}
    return proc.returncode, report, proc.stderr


def findings(report: dict[str, Any], check: str) -> list[dict[str, str]]:
    return [f for f in report.get("findings", []) if f["check"] == check]


def ensure_namespace(kube: KubeCluster, name: str, labels: dict[str, str] | None = None) -> None:
    kube.admin.apply("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                           "metadata": {"name": name, "labels": labels or {}}})  # fmt: skip


_trigger = itertools.count()


class Mesh:
    def __init__(self, kube: KubeCluster, a: Istiod, b: Istiod, sidecars: Sidecars) -> None:
        self.kube, self.a, self.b, self.sidecars = kube, a, b, sidecars

    def config(self, tmp_path: Path) -> Path:
        path = tmp_path / "istiod.json"
        path.write_text(json.dumps({
            "istio": {"istiod_urls": [self.a.monitoring_url, self.b.monitoring_url]},
            "checks": {"DP01": {"stale_threshold_seconds": 1}, "DP02": {"grace_seconds": 0}},
        }))  # fmt: skip
        return path

    def check(self, tmp_path: Path, check_id: str) -> list[dict[str, str]]:
        code, report, stderr = run_check(self.kube.kubeconfig, self.config(tmp_path))
        assert code in (0, 1), stderr
        assert all(s["up"] for s in report["sources"]), report["sources"]
        return findings(report, check_id)

    def push(self) -> None:
        """Make istiod push to every proxy: a new Service changes clusters and endpoints."""
        create_service(self.kube, "shop", f"trigger-{next(_trigger)}", 9090, ["10.10.0.10"], {"app": "web"})

    def synced(self) -> bool:
        for istiod in (self.a, self.b):
            for entry in istiod.get_json("/debug/syncz"):
                for status in entry.get("resources", {}).values():
                    if status.get("sent") != status.get("acked") or status.get("lastError"):
                        return False
        return True


def running_cluster() -> Iterator[KubeCluster]:
    """A fresh apiserver with Istio's CRDs for a fixture to yield; a component that does not start fails the test
    with the tail of its log (never a skip)."""
    cluster = KubeCluster()
    try:
        cluster.start()
        install_istio_crds(cluster)
    except ComponentError as err:
        cluster.stop()
        pytest.fail(str(err), pytrace=False)
    yield cluster
    cluster.stop()


def by_label(body: bytes, name: str, label: str) -> dict[str, float]:
    """Values of metric ``name`` keyed by one of its labels."""
    return {dict(labels)[label]: value for labels, value in metric_values(body, name).items()}


@contextlib.contextmanager
def hung(pid: int) -> Iterator[None]:
    """The process group stopped (SIGSTOP): the kernel still accepts connections, nothing answers (a black hole)."""
    os.killpg(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(pid, signal.SIGCONT)
