"""The Kubernetes source: informers for every resource the enabled checks need, read as one snapshot."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from exporter.config import KubernetesSettings
from exporter.sources.errors import SourceError
from exporter.sources.kube.client import KubeHttp
from exporter.sources.kube.discovery import discover
from exporter.sources.kube.informer import Informer
from exporter.sources.kube.resources import ResourceSpec
from exporter.sources.kube.snapshot import KubeSnapshot


def merge_specs(specs: Sequence[ResourceSpec]) -> list[ResourceSpec]:
    """One informer per distinct resource key; the same key must always mean the same request."""
    seen: dict[str, ResourceSpec] = {}
    for spec in specs:
        other = seen.setdefault(spec.key, spec)
        if other != spec:
            raise ValueError(f"resource key {spec.key!r} is declared twice with different requests")
    return list(seen.values())


Connector = Callable[[KubernetesSettings], Awaitable[KubeHttp]]


class KubeSource:
    """``watch=True``: informers follow changes in the background and refresh() reads their caches.
    ``watch=False``: every refresh() lists each resource once (the ``check`` command)."""

    name = "kubernetes"

    def __init__(
        self,
        settings: KubernetesSettings,
        specs: Sequence[ResourceSpec],
        *,
        watch: bool = True,
        connect: Connector = KubeHttp.connect,
        max_backoff: float = 60.0,
    ) -> None:
        self._max_backoff = max_backoff
        self._settings = settings
        self._specs = merge_specs(specs)
        self._watch = watch
        self._connect = connect
        self._http: KubeHttp | None = None
        self._informers: list[Informer] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.instance = ""

    async def _ensure_informers(self) -> None:
        if self._informers:
            return
        if self._http is None:
            self._http = await self._connect(self._settings)
            self.instance = self._http.host
        informers: list[Informer] = []
        for spec in self._specs:
            served = await discover(self._http, spec)
            namespaces: Sequence[str | None] = spec.namespaces if spec.namespaces and served.namespaced else [None]
            informers.extend(
                Informer(self._http, spec, served, ns, self._settings, self._max_backoff) for ns in namespaces
            )
        self._informers = informers
        if self._watch:
            self._tasks = [asyncio.create_task(inf.run(), name=f"informer {inf.path}") for inf in informers]

    async def refresh(self) -> KubeSnapshot:
        await self._ensure_informers()
        if self._watch:
            await asyncio.gather(*(inf.attempted.wait() for inf in self._informers))
            for inf, task in zip(self._informers, self._tasks, strict=True):
                if task.done():
                    raise SourceError("internal", f"the informer of {inf.path} stopped; restart the exporter")
                if inf.error is not None:
                    raise SourceError(inf.error.reason, inf.error.message)
            # A watch that hangs (black hole, a server that drips bytes) is never noticed by the watch itself:
            # one small request with the list timeout proves the API server still answers.
            assert self._http is not None
            await self._http.get_json("/version")
        else:
            await asyncio.gather(*(inf.list() for inf in self._informers))
        objects: dict[str, list[Any]] = {spec.key: [] for spec in self._specs}
        for inf in self._informers:
            objects[inf.spec.key].extend(inf.items.values())
        return KubeSnapshot({key: tuple(items) for key, items in objects.items()})

    def stats(self) -> dict[str, int]:
        return {
            "informers": len(self._informers),
            "objects": sum(len(i.items) for i in self._informers),
            "lists": sum(i.lists for i in self._informers),
            "events": sum(i.events for i in self._informers),
            "projection_errors": sum(i.projection_errors for i in self._informers),
        }

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._http is not None:
            await self._http.close()
            self._http = None
