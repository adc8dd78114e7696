"""Where the API server serves a resource: found through the discovery API, not assumed."""

from __future__ import annotations

from exporter.sources.errors import SourceError
from exporter.sources.kube.client import KubeHttp
from exporter.sources.kube.resources import ResourceSpec, ServedResource


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
