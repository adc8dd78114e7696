"""Which Kubernetes resources to watch, and where the API server serves them (pure data; see discovery.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ResourceSpec:
    """A resource to keep in the cache under ``key``, projected to only the fields checks read."""

    key: str
    group: str  # "" for the core group
    plural: str
    project: Callable[[dict[str, Any]], Any]
    namespaces: tuple[str, ...] | None = None  # None: every namespace (or cluster-scoped)
    label_selector: str | None = None
    field_selector: str | None = None
    version: str | None = None  # None: the group's preferred version


@dataclass(frozen=True)
class ServedResource:
    """Where a resource is served: ``/api/v1`` or ``/apis/<group>/<version>`` and its scope."""

    prefix: str
    plural: str
    namespaced: bool

    def collection_path(self, namespace: str | None) -> str:
        if namespace and self.namespaced:
            return f"{self.prefix}/namespaces/{namespace}/{self.plural}"
        return f"{self.prefix}/{self.plural}"
