"""Projections: full Kubernetes objects in, the few fields the checks read out (immutable)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


def parse_time(value: Any) -> float | None:
    """RFC 3339 timestamp as Unix seconds, or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _str_map(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        return ()
    return tuple(sorted((str(k), str(v)) for k, v in value.items()))


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


@dataclass(frozen=True, slots=True)
class Condition:
    type: str
    status: str
    reason: str
    message: str


def _conditions(status: dict[str, Any]) -> tuple[Condition, ...]:
    out = []
    for c in status.get("conditions") or []:
        if isinstance(c, dict):
            out.append(
                Condition(
                    str(c.get("type") or ""),
                    str(c.get("status") or ""),
                    str(c.get("reason") or ""),
                    str(c.get("message") or ""),
                )
            )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class NamespaceInfo:
    name: str
    phase: str
    labels: tuple[tuple[str, str], ...]
    deletion_timestamp: float | None
    finalizers: tuple[str, ...]  # spec.finalizers (e.g. kubernetes) and metadata.finalizers
    conditions: tuple[Condition, ...]

    def label(self, key: str) -> str | None:
        return dict(self.labels).get(key)


def project_namespace(obj: dict[str, Any]) -> NamespaceInfo:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    finalizers = [str(f) for f in (spec.get("finalizers") or []) + (meta.get("finalizers") or [])]
    return NamespaceInfo(
        name=str(meta["name"]),
        phase=str(status.get("phase") or ""),
        labels=_str_map(meta.get("labels")),
        deletion_timestamp=parse_time(meta.get("deletionTimestamp")),
        finalizers=tuple(dict.fromkeys(finalizers)),
        conditions=_conditions(status),
    )


@dataclass(frozen=True, slots=True)
class DeploymentInfo:
    namespace: str
    name: str
    labels: tuple[tuple[str, str], ...]
    desired: int
    ready: int
    available: int
    updated: int
    generation: int
    observed_generation: int
    conditions: tuple[Condition, ...]

    def label(self, key: str) -> str | None:
        return dict(self.labels).get(key)


def project_deployment(obj: dict[str, Any]) -> DeploymentInfo:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    replicas = spec.get("replicas")
    return DeploymentInfo(
        namespace=str(meta.get("namespace") or ""),
        name=str(meta["name"]),
        labels=_str_map(meta.get("labels")),
        desired=_int(replicas, 1),  # the API server defaults spec.replicas to 1
        ready=_int(status.get("readyReplicas")),
        available=_int(status.get("availableReplicas")),
        updated=_int(status.get("updatedReplicas")),
        generation=_int(meta.get("generation")),
        observed_generation=_int(status.get("observedGeneration")),
        conditions=_conditions(status),
    )
