"""A Kubernetes snapshot made of manifests instead of the API server (``check --files``): each object goes
through the projection of the resource that would have watched it, with the same namespaces and selectors."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from exporter.selectors import matches
from exporter.sources.kube.resources import ResourceSpec
from exporter.sources.kube.snapshot import KubeSnapshot
from exporter.sources.manifests import Manifest, ManifestError

# Kinds of the resources checks read that are not namespaced (every other kind is).
CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "Node",
        "CustomResourceDefinition",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "ClusterRole",
        "ClusterRoleBinding",
        "PersistentVolume",
        "StorageClass",
        "PriorityClass",
        "GatewayClass",
    }
)
_IRREGULAR = {"endpoints": "endpoints"}
_VOWELS = frozenset("aeiou")


def resource_plural(kind: str) -> str:
    """The resource name Kubernetes gives a kind by default (Gateway → gateways, Telemetry → telemetries,
    ServiceEntry → serviceentries, Ingress → ingresses)."""
    name = kind.lower()
    if name in _IRREGULAR:
        return _IRREGULAR[name]
    if name.endswith(("s", "x", "z", "ch", "sh")):
        return name + "es"
    if name.endswith("y") and len(name) > 1 and name[-2] not in _VOWELS:
        return name[:-1] + "ies"
    return name + "s"


@dataclass(frozen=True)
class FileSnapshot:
    snapshot: KubeSnapshot
    errors: tuple[ManifestError, ...]
    unread: Counter[str]  # kind -> objects of kinds no resource reads (or outside a resource's namespaces)
    absent: tuple[str, ...]  # resource keys read that no manifest provided


def _field(body: dict[str, Any], path: str) -> str | None:
    value: Any = body
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return None if value is None else str(value)


def _selected(spec: ResourceSpec, manifest: Manifest, namespace: str) -> bool:
    if spec.namespaces is not None and namespace not in spec.namespaces:
        return False
    labels = manifest.metadata.get("labels")
    if spec.label_selector and not matches(spec.label_selector, labels if isinstance(labels, dict) else {}):
        return False
    if spec.field_selector:
        terms = [t.split("!=")[0].split("=")[0].strip() for t in spec.field_selector.split(",")]
        fields = {t: v for t in terms if (v := _field(manifest.body, t)) is not None}
        if not matches(spec.field_selector, fields):
            return False
    return True


def object_key(obj: Any) -> tuple[str, str] | None:
    """(namespace, name) of a projected object (Istio projections keep theirs in ``meta``); None for a
    projection without a name."""
    meta = getattr(obj, "meta", obj)
    name = getattr(meta, "name", None)
    return None if not isinstance(name, str) else (getattr(meta, "namespace", "") or "", name)


def project_manifests(
    manifests: Iterable[Manifest], specs: Sequence[ResourceSpec], default_namespace: str = "default"
) -> FileSnapshot:
    """Project every manifest a spec reads; a namespaced object without a namespace gets ``default_namespace``
    (as ``kubectl apply`` gives it). An object defined twice is a problem; the later definition is kept."""
    by_resource: dict[tuple[str, str], list[ResourceSpec]] = {}
    for spec in {s.key: s for s in specs}.values():
        by_resource.setdefault((spec.group, spec.plural), []).append(spec)
    objects: dict[str, dict[tuple[str, str], Any]] = {spec.key: {} for spec in specs}
    seen: dict[tuple[str, str, str], str] = {}
    errors: list[ManifestError] = []
    unread: Counter[str] = Counter()
    for manifest in manifests:
        kind = manifest.kind
        namespace = "" if kind in CLUSTER_SCOPED else manifest.metadata.get("namespace") or default_namespace
        readers = [
            s for s in by_resource.get((manifest.group, resource_plural(kind)), ()) if _selected(s, manifest, namespace)
        ]
        if not readers:
            unread[kind] += 1
            continue
        body = manifest.body
        if namespace and manifest.metadata.get("namespace") != namespace:
            body = {**body, "metadata": {**manifest.metadata, "namespace": namespace}}
        identity = (f"{manifest.group}/{kind}", namespace, str(manifest.metadata["name"]))
        if identity in seen:
            errors.append(ManifestError(manifest.path, manifest.where, f"defined again (first at {seen[identity]}); "
                                        "the later definition is checked"))  # fmt: skip
        seen[identity] = f"{manifest.path}: {manifest.where}"
        for spec in readers:
            try:
                projected = spec.project(body)
            except Exception as exc:  # a malformed object costs only itself
                errors.append(
                    ManifestError(
                        manifest.path, manifest.where, f"cannot be read as {kind}: {type(exc).__name__}: {exc}"
                    )
                )
                break
            objects[spec.key][identity[1:]] = projected
    absent = tuple(sorted(key for key, found in objects.items() if not found))
    snapshot = KubeSnapshot({key: tuple(found.values()) for key, found in objects.items()})
    return FileSnapshot(snapshot, tuple(errors), unread, absent)


def _created_at(obj: Any, created: float | None) -> Any:
    """``obj`` with its creation time set (Istio projections keep theirs in ``meta``)."""
    if hasattr(obj, "meta") and hasattr(obj.meta, "created"):
        return replace(obj, meta=replace(obj.meta, created=created))
    if hasattr(obj, "created"):
        return replace(obj, created=created)
    return obj


def _creation(obj: Any) -> float | None:
    value = getattr(getattr(obj, "meta", obj), "created", None)
    return value if isinstance(value, float) else None


def overlay(cluster: KubeSnapshot, files: KubeSnapshot, applied_at: float) -> KubeSnapshot:
    """The cluster as it is once the files are applied at ``applied_at``: an object in both is the file's version
    and keeps the cluster's creation time; one new to the cluster is created then, whatever creationTimestamp the
    file gives it (the API server sets it; istiod settles some conflicts in favour of the older object)."""
    merged: dict[str, tuple[Any, ...]] = dict(cluster.objects)
    for key, given in files.objects.items():
        if not given:
            continue
        existing = {k: o for o in cluster.get(key) if (k := object_key(o)) is not None}
        applied = []
        for obj in given:
            name = object_key(obj)
            before = existing.pop(name, None) if name is not None else None
            applied.append(_created_at(obj, _creation(before) if before is not None else applied_at))
        replaced = {object_key(o) for o in given}
        merged[key] = tuple(o for o in cluster.get(key) if object_key(o) not in replaced) + tuple(applied)
    return KubeSnapshot(merged, cluster.failed, cluster.probes)
