"""Istio configuration scenarios (CF01-CF21) from the corpus in ``tests/corpus/istio-config``.

``base.yaml`` is Bookinfo with the all-mTLS DestinationRules, the usual VirtualServices and the mesh config;
each ``cfNN-<mistake>.yaml`` adds or replaces objects (an object annotated ``corpus.meshhealth.io/delete:
"true"`` is removed). The same merged objects feed the checks (projected) and ``istioctl analyze``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from exporter.checks import configuration
from exporter.config import Settings
from exporter.sources.kube.manifest_snapshot import project_manifests
from exporter.sources.kube.snapshot import KubeSnapshot
from exporter.sources.manifests import Manifest
from tests.scenarios import Scenario

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "istio-config"
DELETE = "corpus.meshhealth.io/delete"

# The resources the configuration checks read, projected as the Kubernetes source (and check --files) projects.
SPECS = [spec for check in configuration.CHECKS for spec in check.resources(Settings())]


def _key(doc: dict[str, Any]) -> tuple[str, str, str]:
    meta = doc.get("metadata") or {}
    return doc["kind"], meta.get("namespace") or "", meta["name"]


def variants() -> list[str]:
    return sorted(f.stem for f in CORPUS.glob("cf*.yaml"))


def documents(variant: str | None = None) -> list[dict[str, Any]]:
    """The base objects with ``variant`` applied (None: the base alone)."""
    merged = {_key(d): d for d in yaml.safe_load_all((CORPUS / "base.yaml").read_text()) if d}
    if variant is not None:
        for doc in yaml.safe_load_all((CORPUS / f"{variant}.yaml").read_text()):
            if not doc:
                continue
            if ((doc.get("metadata") or {}).get("annotations") or {}).get(DELETE) == "true":
                merged.pop(_key(doc), None)
            else:
                merged[_key(doc)] = doc
    return list(merged.values())


# apiVersion of the kinds the corpus holds, for objects written without one (the unit tests' short-hand).
API_VERSIONS = {
    "Namespace": "v1", "Node": "v1", "Pod": "v1", "Service": "v1", "ConfigMap": "v1",
    "EndpointSlice": "discovery.k8s.io/v1",
    "DestinationRule": "networking.istio.io/v1", "VirtualService": "networking.istio.io/v1",
    "Gateway": "networking.istio.io/v1", "ServiceEntry": "networking.istio.io/v1",
    "PeerAuthentication": "security.istio.io/v1", "Telemetry": "telemetry.istio.io/v1",
    "Sidecar": "networking.istio.io/v1", "AuthorizationPolicy": "security.istio.io/v1",
}  # fmt: skip


def project(docs: list[dict[str, Any]], probes: dict[str, str] | None = None) -> KubeSnapshot:
    """The snapshot the Kubernetes source would hold with exactly ``docs`` in the cluster."""
    manifests = [
        Manifest("corpus", f"document {i}", {"apiVersion": API_VERSIONS[d["kind"]], **d}) for i, d in enumerate(docs)
    ]
    files = project_manifests(manifests, SPECS)
    assert not files.errors, [str(e) for e in files.errors]
    assert not files.unread, files.unread
    return KubeSnapshot(files.snapshot.objects, probes=probes or {})


def changed(*changes: dict[str, Any], drop: tuple[tuple[str, str, str], ...] = (), variant: str | None = None,
            probes: dict[str, str] | None = None) -> KubeSnapshot:  # fmt: skip
    """The corpus (base or a variant) with objects added or replaced by (kind, namespace, name), or dropped."""
    docs = {_key(d): copy.deepcopy(d) for d in documents(variant)}
    for key in drop:
        docs.pop(key)
    for doc in changes:
        docs[_key(doc)] = doc
    return project(list(docs.values()), probes)


def obj(kind: str, namespace: str, name: str, spec: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    """A test object in the corpus' short-hand (no apiVersion); ``metadata=`` adds to name and namespace."""
    meta = {"name": name, "namespace": namespace} if namespace else {"name": name}
    meta.update(top.pop("metadata", {}))
    return {"kind": kind, "metadata": meta, **({"spec": spec} if spec is not None else {}), **top}


def snapshot(variant: str | None = None) -> KubeSnapshot:
    return project(documents(variant))


def mesh_config(variant: str | None = None) -> str:
    """The ``mesh`` key of ConfigMap istio-system/istio."""
    for doc in documents(variant):
        if _key(doc) == ("ConfigMap", "istio-system", "istio"):
            return str(doc["data"]["mesh"])
    return ""


def _scenario(variant: str) -> Scenario:
    check, _, name = variant.partition("-")
    return Scenario(check.upper(), name, lambda n: snapshot(), lambda n, v=variant: snapshot(v))  # type: ignore[misc]


SCENARIOS = [_scenario(v) for v in variants()]
