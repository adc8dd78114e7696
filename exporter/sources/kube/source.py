"""The Kubernetes source: informers for every resource the enabled checks need, read as one snapshot."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from exporter.config import KubernetesSettings
from exporter.model import ResourceStats
from exporter.sources.errors import SourceError
from exporter.sources.kube.client import KubeHttp
from exporter.sources.kube.discovery import discover
from exporter.sources.kube.informer import Informer
from exporter.sources.kube.reachability import probe_tracing_backends
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
        tracing_probe_timeout: float | None = None,
    ) -> None:
        self._max_backoff = max_backoff
        self._tracing_probe_timeout = tracing_probe_timeout  # CF11's TCP probe; None: off
        self._settings = settings
        self._specs = merge_specs(specs)
        self._watch = watch
        self._connect = connect
        self._http: KubeHttp | None = None
        self._informers: list[Informer] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._pending: list[ResourceSpec] = list(self._specs)  # not discovered yet
        self._undiscovered: dict[str, SourceError] = {}
        self.instance = ""

    async def _ensure_informers(self) -> None:
        """Discover and start informers for the resources not discovered yet. A resource the API server
        does not serve (a CRD not installed) fails alone; an unreachable server fails the source."""
        if self._http is None:
            self._http = await self._connect(self._settings)
            self.instance = self._http.host
        pending, self._pending = self._pending, []
        for spec in pending:
            try:
                served = await discover(self._http, spec)
            except SourceError as exc:
                if exc.reason not in ("not_found", "invalid_response"):
                    self._pending.extend(p for p in pending if p not in self._pending)
                    raise
                self._undiscovered[spec.key] = exc
                self._pending.append(spec)
                continue
            self._undiscovered.pop(spec.key, None)
            namespaces: Sequence[str | None] = spec.namespaces if spec.namespaces and served.namespaced else [None]
            informers = [Informer(self._http, spec, served, ns, self._settings, self._max_backoff) for ns in namespaces]
            self._informers.extend(informers)
            if self._watch:
                self._tasks.extend(asyncio.create_task(inf.run(), name=f"informer {inf.path}") for inf in informers)

    async def refresh(self) -> KubeSnapshot:
        await self._ensure_informers()
        failed: dict[str, SourceError] = dict(self._undiscovered)
        if self._watch:
            await asyncio.gather(*(inf.attempted.wait() for inf in self._informers))
            for inf, task in zip(self._informers, self._tasks, strict=True):
                if task.done():
                    failed[inf.spec.key] = SourceError("internal", f"the informer of {inf.path} stopped")
                elif inf.error is not None:
                    failed.setdefault(inf.spec.key, inf.error)
        else:
            results = await asyncio.gather(*(inf.list() for inf in self._informers), return_exceptions=True)
            for inf, outcome in zip(self._informers, results, strict=True):
                if isinstance(outcome, SourceError):
                    failed.setdefault(inf.spec.key, outcome)
                elif isinstance(outcome, BaseException):
                    raise outcome
        if failed and len(failed) == len(self._specs):  # nothing readable: the source is down
            first = next(iter(failed.values()))
            raise SourceError(first.reason, first.message, first.status)
        if self._watch:
            # A watch that hangs (black hole, a server that drips bytes) is never noticed by the watch itself:
            # one small request with the list timeout proves the API server still answers.
            assert self._http is not None
            await self._http.get_json("/version")
        objects: dict[str, list[Any]] = {spec.key: [] for spec in self._specs if spec.key not in failed}
        for inf in self._informers:
            if inf.spec.key in objects:
                objects[inf.spec.key].extend(inf.items.values())
        reasons = {key: f"{err.reason}: {err.message}" for key, err in failed.items()}
        probes: dict[str, str] = {}
        if self._tracing_probe_timeout is not None and "istio_configmaps" in objects:
            probes = await probe_tracing_backends(objects["istio_configmaps"], self._tracing_probe_timeout)
        return KubeSnapshot({key: tuple(items) for key, items in objects.items()}, reasons, probes)

    def resource_stats(self) -> list[ResourceStats]:
        """Per resource key: readable or not, and list/watch/projection counters over its informers."""
        by_key: dict[str, list[Informer]] = {}
        for inf in self._informers:
            by_key.setdefault(inf.spec.key, []).append(inf)
        out = [ResourceStats(key, False, 0, 0, 1, 0, 0) for key in sorted(self._undiscovered)]
        for key, infs in sorted(by_key.items()):
            out.append(
                ResourceStats(
                    resource=key,
                    up=all(i.error is None and i.synced for i in infs),
                    objects=sum(len(i.items) for i in infs),
                    lists=sum(i.lists for i in infs),
                    list_errors=sum(i.list_errors for i in infs),
                    watch_events=sum(i.events for i in infs),
                    projection_errors=sum(i.projection_errors for i in infs),
                )
            )
        return out

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
