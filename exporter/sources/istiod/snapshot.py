"""What the istiod source hands to the checks: per-replica syncz, metrics and push status (no I/O here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from exporter.sources.errors import SourceError
from exporter.sources.istiod.metrics import IstiodMetrics
from exporter.sources.istiod.syncz import ProxySync


@dataclass(frozen=True)
class Replica:
    name: str
    namespace: str
    revision: str
    url: str


# A running pod with a sidecar: (namespace, name, created). One per pod, made at every refresh: a plain tuple of
# strings and numbers, which the garbage collector stops tracking, and cheaper to make than an object.
SidecarPod = tuple[str, str, float | None]


@dataclass(frozen=True)
class ReplicaData:
    replica: Replica
    error: SourceError | None = None  # syncz could not be read: the replica's proxies are unknown
    proxies: tuple[ProxySync, ...] = ()
    metrics: IstiodMetrics | None = None
    metrics_error: str = ""
    push_status: dict[str, Any] = field(default_factory=dict)
    convergence_delta: tuple[tuple[float, float], ...] = ()  # (le, count) since the previous refresh
    rejected_delta: tuple[tuple[str, str, float], ...] = ()  # (type, name, new rejections) since the previous refresh


@dataclass(frozen=True)
class IstiodSnapshot:
    replicas: tuple[ReplicaData, ...]
    stale_since: dict[tuple[str, str, str], float]  # (replica, proxy, type) -> first seen STALE
    sidecar_pods: tuple[SidecarPod, ...]
    taken_at: float
    kube_available: bool = True  # False: no Kubernetes pod cache (disabled or unreachable); DP02 cannot judge
    # one-shot runs: STALE types whose same nonce was still unacknowledged at a second poll, and the wait
    stale_confirmed: frozenset[tuple[str, str, str]] = frozenset()
    confirm_interval: float = 0.0

    @property
    def complete(self) -> bool:
        """Every replica's syncz was read (needed before calling a proxy disconnected)."""
        return all(r.error is None for r in self.replicas)
