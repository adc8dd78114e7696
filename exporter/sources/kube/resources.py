"""Which Kubernetes resources to watch, and where the API server serves them (discovered, not assumed)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from exporter.sources.errors import SourceError
from exporter.sources.kube.client import KubeHttp


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


async def discover(http: KubeHttp, spec: ResourceSpec) -> ServedResource:
    """Find the version and scope of ``spec`` through the discovery API."""
    if spec.group == "":
        prefix = f"/api/{spec.version or 'v1'}"
    else:
        version = spec.version
        if version is None:
            try:
                group = await http.get_json(f"/apis/{spec.group}")
            except SourceError as exc:
                if exc.reason == "not_found":
                    raise SourceError(
                        "not_found", f"API group {spec.group} is not served (are its CRDs installed?)"
                    ) from None
                raise
            preferred = group.get("preferredVersion") or {}
            version = preferred.get("version") if isinstance(preferred, dict) else None
            if not isinstance(version, str) or not version:
                raise SourceError("invalid_response", f"/apis/{spec.group}: no preferred version")
        prefix = f"/apis/{spec.group}/{version}"
    resources = await http.get_json(prefix)
    for item in resources.get("resources") or []:
        if isinstance(item, dict) and item.get("name") == spec.plural:
            return ServedResource(prefix, spec.plural, bool(item.get("namespaced")))
    raise SourceError("not_found", f"{prefix} does not serve {spec.plural}")
