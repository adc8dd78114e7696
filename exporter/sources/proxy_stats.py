"""TM02: GET each sidecar's Prometheus stats endpoint (``:15090/stats/prometheus``) for a bounded, rotating sample
of injected pods, as Prometheus would scrape it. Off by default (``sources.proxy_stats.enabled``): the exporter's
network may not reach pod IPs, and a sample of pods is probed per refresh, not every pod.

Each refresh probes ``checks.TM02.sample_size`` pods, continuing where the last refresh stopped, so every pod is
probed within ``candidates / sample_size`` refreshes; the latest result of each pod is kept until the pod goes
away. A probe reads at most ``max_body_bytes``: enough to see Envoy's metric names, never a whole large body.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from exporter.config import Settings
from exporter.sources.errors import SourceError
from exporter.sources.proxy_stats_snapshot import ProxyStatsSnapshot, StatsProbe

MAX_CONCURRENT = 10
SCRAPE_ANNOTATION = "prometheus.io/scrape"
# the first metric families of Envoy's and Istio's stats output
_MARKERS = (b"envoy_", b"istio_")


def stats_candidates(snapshot: Any) -> list[Any]:
    """Pure: injected pods whose sidecar runs and that have a pod IP (not host network), in a stable order."""
    pods = [p for p in snapshot.get("pods") if p.has_sidecar and p.sidecar_running and p.ip and not p.host_network
            and not p.deleting and p.phase == "Running"]  # fmt: skip
    return sorted(pods, key=lambda p: (p.namespace, p.name))


def rotating_window(items: list[Any], offset: int, size: int) -> tuple[list[Any], int]:
    """Pure: ``size`` items from ``offset`` on, wrapping around; and the next offset."""
    if not items:
        return [], 0
    start = offset % len(items)
    window = (items[start:] + items[:start])[: min(size, len(items))]
    return window, (start + len(window)) % len(items)


def _url(ip: str, port: int, path: str) -> str:
    host = f"[{ip}]" if ":" in ip else ip
    return f"http://{host}:{port}{path}"


async def probe_stats(session: aiohttp.ClientSession, url: str, limit_seconds: float, max_bytes: int) -> str:
    """'' when ``url`` serves Envoy/Istio metrics; else why not. Reads at most ``max_bytes`` of the body."""
    try:
        async with asyncio.timeout(limit_seconds):
            async with session.get(url, allow_redirects=False) as resp:
                if resp.status != 200:
                    return f"HTTP {resp.status}"
                head = await resp.content.read(max_bytes)
    except TimeoutError:
        return f"no answer within {limit_seconds:g}s"
    except aiohttp.ClientConnectorError as exc:
        return f"cannot connect: {exc.os_error.strerror or exc.os_error}"
    except (aiohttp.ClientError, OSError) as exc:
        return f"request failed: {type(exc).__name__}"
    if not any(marker in head for marker in _MARKERS):
        return "answered without Envoy or Istio metrics"
    return ""


class ProxyStatsSource:
    name = "proxy_stats"

    def __init__(self, settings: Settings, kube_data: Callable[[], Any | None]) -> None:
        self._settings = settings
        self._kube_data = kube_data
        self.instance = "kubernetes"
        self._offset = 0
        self._latest: dict[tuple[str, str], StatsProbe] = {}
        self._session: aiohttp.ClientSession | None = None

    async def refresh(self) -> ProxyStatsSnapshot:
        snapshot = self._kube_data()
        if snapshot is None:
            raise SourceError("not_found", "no fresh Kubernetes data to find sidecars in")
        cfg = self._settings.checks.TM02
        candidates = stats_candidates(snapshot)
        window, self._offset = rotating_window(candidates, self._offset, cfg.sample_size)
        if self._session is None:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=MAX_CONCURRENT))
        session = self._session
        now = time.time()

        async def one(pod: Any) -> StatsProbe:
            url = _url(pod.ip, cfg.port, cfg.path)
            error = await probe_stats(session, url, cfg.probe_timeout_seconds, cfg.max_body_bytes)
            return StatsProbe(pod.namespace, pod.name, url, error, now)

        for result in await asyncio.gather(*(one(p) for p in window)):
            self._latest[(result.namespace, result.pod)] = result
        alive = {(p.namespace, p.name) for p in candidates}
        self._latest = {k: v for k, v in self._latest.items() if k in alive}
        disabled = tuple(sorted((p.namespace, p.name) for p in snapshot.get("pods")
                                if p.has_sidecar and p.annotation(SCRAPE_ANNOTATION) == "false"))  # fmt: skip
        return ProxyStatsSnapshot(tuple(sorted(self._latest.values(), key=lambda r: (r.namespace, r.pod))),
                                  disabled, len(candidates))  # fmt: skip

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
