"""List, then watch with bookmarks; relist on 410 Gone; reconnect with backoff (modelled on kopf)."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any

from exporter.config import KubernetesSettings
from exporter.sources.errors import SourceError
from exporter.sources.kube.client import KubeHttp
from exporter.sources.kube.resources import ResourceSpec, ServedResource

log = logging.getLogger(__name__)


class _Gone(Exception):
    """The resourceVersion we hold is too old: the cache must be rebuilt from a list."""


def metadata(obj: dict[str, Any]) -> dict[str, Any]:
    """The object's metadata, or {} when the server sent something that is not an object there."""
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def object_key(obj: dict[str, Any]) -> str:
    meta = metadata(obj)
    return f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"


GONE_IN_A_ROW = 3  # watches answering 410 right after a fresh list: the source is reported down


class Informer:
    """A cache of one resource collection (one namespace, or all), holding projected objects only."""

    def __init__(
        self,
        http: KubeHttp,
        spec: ResourceSpec,
        served: ServedResource,
        namespace: str | None,
        settings: KubernetesSettings,
        max_backoff: float = 60.0,
    ) -> None:
        self.spec = spec
        self._max_backoff = max(1.0, max_backoff)
        self.gone_in_a_row = 0
        self.path = served.collection_path(namespace)
        self._http = http
        self._settings = settings
        self.items: dict[str, Any] = {}
        self.resource_version = ""
        self.synced = False
        self.error: SourceError | None = None
        self.attempted = asyncio.Event()
        self.lists = 0
        self.list_errors = 0
        self.events = 0
        self.projection_errors = 0

    def _params(self) -> dict[str, str]:
        params: dict[str, str] = {}
        if self.spec.label_selector:
            params["labelSelector"] = self.spec.label_selector
        if self.spec.field_selector:
            params["fieldSelector"] = self.spec.field_selector
        return params

    def _project(self, obj: dict[str, Any]) -> Any | None:
        try:
            return self.spec.project(obj)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            self.projection_errors += 1
            log.warning("skipping malformed object %s in %s: %s", object_key(obj), self.path, exc)
            return None

    async def list(self) -> None:
        """Replace the cache with a full, paginated list."""
        try:
            await self._list()
        except SourceError:
            self.list_errors += 1
            raise

    async def _list(self) -> None:
        items: dict[str, Any] = {}
        cont = ""
        while True:
            params = self._params() | {"limit": str(self._settings.page_size)}
            if cont:
                params["continue"] = cont
            try:
                page = await self._http.get_json(self.path, params)
            except SourceError as exc:
                if cont and exc.status == 410:  # continue token expired: start over
                    items, cont = {}, ""
                    continue
                raise
            for obj in page.get("items") or []:
                if isinstance(obj, dict):
                    projected = self._project(obj)
                    if projected is not None:
                        items[object_key(obj)] = projected
            meta = page.get("metadata") or {}
            cont = meta.get("continue") or ""
            if not cont:
                self.resource_version = str(meta.get("resourceVersion") or "")
                break
        self.items = items
        self.synced = True
        self.lists += 1

    def _apply(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        obj = event.get("object")
        if not isinstance(obj, dict):
            raise SourceError("invalid_response", f"watch {self.path}: event without object")
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise _Gone()
            raise SourceError("http_error", f"watch {self.path}: {obj.get('message') or obj}")
        rv = metadata(obj).get("resourceVersion")
        if kind in ("ADDED", "MODIFIED"):
            projected = self._project(obj)
            if projected is not None:
                self.items[object_key(obj)] = projected
        elif kind == "DELETED":
            self.items.pop(object_key(obj), None)
        elif kind != "BOOKMARK":
            return
        if rv:
            self.resource_version = str(rv)
        self.events += 1

    async def watch(self) -> None:
        """Follow changes from our resourceVersion until the server ends the watch."""
        timeout = self._settings.watch_timeout_seconds
        params = self._params() | {
            "watch": "1",
            "allowWatchBookmarks": "true",
            "resourceVersion": self.resource_version,
            "timeoutSeconds": str(int(timeout * random.uniform(0.9, 1.1))),  # noqa: S311
        }
        try:
            async for event in self._http.stream_json_lines(self.path, params):
                self._apply(event)
        except SourceError as exc:
            if exc.status == 410:
                raise _Gone() from None
            raise

    async def run(self) -> None:
        """Keep the cache current until cancelled. Never ends on its own: any failure, even one this code
        did not foresee, is recorded in ``error`` (the source reports it) and retried with backoff."""
        backoff = 1.0
        relist = True
        while True:
            try:
                if relist:
                    await self.list()
                    relist = False
                    if self.gone_in_a_row < GONE_IN_A_ROW:
                        self.error = None
                self.attempted.set()
                started = time.monotonic()
                await self.watch()
                backoff, self.gone_in_a_row, self.error = 1.0, 0, None
                if time.monotonic() - started < 1:  # a server that ends watches at once: do not spin
                    await asyncio.sleep(1)
                continue
            except _Gone:
                relist = True
                self.gone_in_a_row += 1
                if self.gone_in_a_row == 1:
                    log.info("watch %s: resourceVersion expired, relisting", self.path)
                    continue  # the normal case: relist at once
                if self.gone_in_a_row >= GONE_IN_A_ROW:
                    self.error = SourceError(
                        "http_error",
                        f"watch {self.path} answers 410 Gone even right after a fresh list "
                        f"({self.gone_in_a_row} times in a row): the cache cannot be kept current",
                    )
                log.warning("watch %s: 410 Gone again after relisting (retrying in %.0fs)", self.path, backoff)
            except SourceError as exc:
                self.error = exc
                self.attempted.set()
                log.warning("kubernetes %s: %s (retrying in %.0fs)", self.path, exc, backoff)
                if exc.reason == "not_found":
                    relist = True
            except Exception as exc:  # a bug or an answer of a shape nobody foresaw: report it, keep going
                self.error = SourceError("internal", f"{self.path}: {type(exc).__name__}: {exc}"[:500])
                self.attempted.set()
                relist = True
                log.exception("kubernetes %s: unexpected failure (retrying in %.0fs)", self.path, backoff)
            await asyncio.sleep(backoff * random.uniform(0.8, 1.2))  # noqa: S311
            backoff = min(backoff * 2, self._max_backoff)
