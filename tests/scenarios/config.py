"""Istio configuration scenarios (CF01-CF14) from the corpus in ``tests/corpus/istio-config``.

``base.yaml`` is Bookinfo with the all-mTLS DestinationRules, the usual VirtualServices and the mesh config;
each ``cfNN-<mistake>.yaml`` adds or replaces objects (an object annotated ``corpus.meshhealth.io/delete:
"true"`` is removed). The same merged objects feed the checks (projected) and ``istioctl analyze``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from exporter.sources.kube import istio_projections as ip
from exporter.sources.kube import projections as p
from exporter.sources.kube.snapshot import KubeSnapshot
from tests.scenarios import Scenario

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "istio-config"
DELETE = "corpus.meshhealth.io/delete"

PROJECTIONS: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {
    "Namespace": ("namespaces", p.project_namespace),
    "Node": ("nodes", p.project_node),
    "Pod": ("pods", p.project_pod),
    "Service": ("services", p.project_service),
    "EndpointSlice": ("endpointslices", p.project_endpointslice),
    "ConfigMap": ("istio_configmaps", p.project_istio_configmap),
    "DestinationRule": ("destinationrules", ip.project_destination_rule),
    "VirtualService": ("virtualservices", ip.project_virtual_service),
    "Gateway": ("gateways", ip.project_gateway),
    "ServiceEntry": ("serviceentries", ip.project_service_entry),
    "PeerAuthentication": ("peerauthentications", ip.project_peer_authentication),
    "Telemetry": ("telemetries", ip.project_telemetry),
}


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


def snapshot(variant: str | None = None) -> KubeSnapshot:
    objects: dict[str, list[Any]] = {key: [] for key, _ in PROJECTIONS.values()}
    for doc in documents(variant):
        key, project = PROJECTIONS[doc["kind"]]
        objects[key].append(project(doc))
    return KubeSnapshot({k: tuple(v) for k, v in objects.items()})


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
