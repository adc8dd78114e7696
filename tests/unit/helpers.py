"""Small builders shared by unit tests."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from exporter.config import Settings, load_settings
from exporter.sources.kube.source import KubeSnapshot

FIXTURES = Path(__file__).parent / "fixtures"


def kube_object(name: str, **patch: Any) -> dict[str, Any]:
    """A recorded Kubernetes object from fixtures/kube, with top-level sections deep-updated."""
    obj: dict[str, Any] = json.loads((FIXTURES / "kube" / f"{name}.json").read_text())
    return deep_update(obj, patch)


def deep_update(obj: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_update(out[key], value)
        elif value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def snapshot(**objects: list[Any]) -> KubeSnapshot:
    return KubeSnapshot({key: tuple(items) for key, items in objects.items()})


def settings(**overrides: Any) -> Settings:
    return load_settings(None, overrides)


def uninjected(name: str = "reviews-v1-5b5d6494f4-7xk2p", namespace: str = "bookinfo", **patch: Any) -> Any:
    """The recorded injected reviews pod with its sidecar, init containers and injection status removed."""
    from exporter.sources.kube.projections import project_pod

    obj = kube_object("pod-reviews-v1-injected")
    obj["metadata"]["name"] = name
    obj["metadata"]["namespace"] = namespace
    obj["metadata"]["annotations"].pop("sidecar.istio.io/status")
    obj["spec"]["containers"] = [c for c in obj["spec"]["containers"] if c["name"] != "istio-proxy"]
    obj["spec"]["initContainers"] = []
    obj["status"]["initContainerStatuses"] = []
    return project_pod(deep_update(obj, patch))


def tracked_reachable(root: object) -> int:
    """How many objects reachable from ``root`` the garbage collector tracks (scans at every full collection);
    classes, functions and modules are neither counted nor followed. Collects first: a collection stops tracking
    the tuples that hold only untracked values (the inner ones first, so a tuple of tuples may take two)."""
    import gc
    import types

    gc.collect()
    gc.collect()

    stop = (type, types.FunctionType, types.ModuleType, types.BuiltinFunctionType)
    seen: set[int] = set()
    count = 0
    todo = [root]
    while todo:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, stop):
            continue
        seen.add(id(obj))
        count += gc.is_tracked(obj)
        todo.extend(gc.get_referents(obj))
    return count
