"""Istio pieces of the testbed, taken from the pinned istio.io/istio module: CRDs, later istiod."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

from testbed.kube import ApiError, KubeCluster
from testbed.processes import ROOT

GO_MOD = ROOT / "testbed" / "go" / "istiod" / "go.mod"
CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def istio_version() -> str:
    for line in GO_MOD.read_text().splitlines():
        parts = line.split()
        if parts[:2] == ["require", "istio.io/istio"]:
            return parts[2]
    raise RuntimeError(f"no istio.io/istio requirement in {GO_MOD}")


def module_dir() -> Path:
    """The pinned istio.io/istio module in the Go module cache (downloaded if missing)."""
    version = istio_version()
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GONOSUMDB": "github.com/openshift/api"}
    out = subprocess.run(
        ["go", "mod", "download", "-json", f"istio.io/istio@{version}"],
        cwd=GO_MOD.parent, env=env, capture_output=True, text=True, check=True, timeout=900,
    )  # fmt: skip
    return Path(json.loads(out.stdout)["Dir"])


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
