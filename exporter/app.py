"""Wiring: which sources the enabled checks need, the exporter's state, and the one-shot run."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from exporter.checks import enabled_checks
from exporter.checks.base import CheckDef
from exporter.checks.configuration import CHECKS as MESH_CONFIG_CHECKS
from exporter.config import Settings
from exporter.evaluate import CheckOutcome, FindingKey, evaluate, track_first_seen
from exporter.loop_lag import LoopLag
from exporter.metrics.render import build_families, render
from exporter.metrics.rendered import RenderedMetrics
from exporter.model import SourceView
from exporter.scheduler import Scheduler, SourceState, refresh_once
from exporter.sources.elasticsearch.source import ElasticsearchSource
from exporter.sources.istiod.parser_process import ParserProcess
from exporter.sources.istiod.source import IstiodSource
from exporter.sources.kube.manifest_snapshot import overlay, project_manifests
from exporter.sources.kube.snapshot import KubeSnapshot
from exporter.sources.kube.source import KubeSource
from exporter.sources.manifests import ManifestError, read_manifests
from exporter.sources.proxy_stats import ProxyStatsSource
from exporter.sources.webhook_tls import WebhookTLSSource

log = logging.getLogger(__name__)


def build_sources(settings: Settings, checks: list[CheckDef], *, watch: bool) -> list[SourceState]:
    """Sources in dependency order: Kubernetes first, then the probes that read its cache, then the rest."""
    states: list[SourceState] = []
    kube_specs = [spec for c in checks for spec in c.resources(settings)]
    kube: SourceState | None = None
    if kube_specs and settings.sources.kubernetes.enabled:
        cf11 = settings.checks.CF11
        kube_source = KubeSource(
            settings.kubernetes,
            kube_specs,
            watch=watch,
            max_backoff=settings.sources.kubernetes.max_backoff_seconds,
            tracing_probe_timeout=cf11.probe_timeout_seconds if cf11.enabled and cf11.tcp_probe else None,
        )
        kube = SourceState(kube_source, settings.sources.kubernetes)
        states.append(kube)

    def kube_data() -> Any | None:
        return kube.fresh_data(time.time()) if kube is not None else None

    if any(c.source == "istiod" for c in checks):
        # a long-running exporter parses syncz in a child process: the GIL stays with the loop serving /metrics
        parsers = ParserProcess if watch else None
        source = IstiodSource(settings, kube_data, kube_enabled=kube is not None, one_shot=not watch, parsers=parsers)
        states.append(SourceState(source, settings.sources.istiod, after=kube))
    if kube is not None and any(c.source == "webhook_tls" for c in checks):
        states.append(SourceState(WebhookTLSSource(settings, kube_data), settings.sources.webhook_tls, after=kube))
    if kube is not None and any(c.source == "proxy_stats" for c in checks):
        states.append(SourceState(ProxyStatsSource(settings, kube_data), settings.sources.proxy_stats, after=kube))
    if any(c.source == "elasticsearch" for c in checks):
        states.append(SourceState(ElasticsearchSource(settings), settings.sources.elasticsearch))
    return states


CONFIGURATION_CHECKS = frozenset(c.id for c in MESH_CONFIG_CHECKS)
# What a cluster holds beside the configuration: missing from the files, the checks see none of it.
CLUSTER_STATE = frozenset({"namespaces", "nodes", "pods", "services", "endpointslices", "istio_configmaps"})
KUBE_BACKED = frozenset({"kubernetes", "webhook_tls", "proxy_stats"})


def active_checks(settings: Settings) -> list[CheckDef]:
    """Enabled checks whose source is enabled and can run: Elasticsearch needs clusters; the webhook and proxy
    stats probes need Kubernetes; istiod needs Kubernetes to discover its pods or explicit ``istio.istiod_urls``."""
    enabled = {name for name, s in settings.sources if s.enabled}
    if not settings.elasticsearch.clusters:
        enabled.discard("elasticsearch")
    if "kubernetes" not in enabled:
        enabled -= KUBE_BACKED
        if not settings.istio.istiod_urls:
            enabled.discard("istiod")
    return [c for c in enabled_checks(settings) if c.source in enabled]


class Exporter:
    """Holds the latest outcomes and the rendered metrics body; ``update`` recomputes both."""

    def __init__(self, settings: Settings, on_update: Callable[[], None] | None = None) -> None:
        """``on_update``: called on the loop after each update run in the background (``request_update``)."""
        self.settings = settings
        self.on_update = on_update
        self.checks = active_checks(settings)
        self.states = build_sources(settings, self.checks, watch=True)
        self.scheduler = Scheduler(self.states, self.request_update)
        self.outcomes: list[CheckOutcome] = []
        self.first_seen: dict[FindingKey, float] = {}
        self.updated_at: float | None = None
        self.rendered: RenderedMetrics = render(
            build_families(self.sources(), [], settings.findings.max_series_per_check)
        )
        self._update_pending = False
        self._update_task: asyncio.Task[None] | None = None
        self._update_seconds = 0.0
        self._coalesced = 0
        self.loop_lag = LoopLag()
        self._loop_lag_task: asyncio.Task[None] | None = None

    def sources(self) -> list[SourceView]:
        return [s.view() for s in self.states]

    def waiting(self) -> list[str]:
        """Sources not refreshed once yet: the exporter is ready when none is left."""
        return [s.source.name for s in self.states if not s.attempted]

    def update(self) -> None:
        """Evaluate every check and render /metrics now, on the calling thread."""
        self._apply(*self._inputs())

    def _inputs(self) -> tuple[float, dict[str, Any], list[SourceView], float]:
        now = time.time()
        data = {s.source.name: s.fresh_data(now) for s in self.states}
        return now, data, self.sources(), self.loop_lag.longest()

    def _compute(
        self, now: float, data: dict[str, Any], views: list[SourceView], lag: float
    ) -> tuple[list[CheckOutcome], dict[FindingKey, float], RenderedMetrics]:
        """Pure in its inputs (immutable snapshots and views): safe to run off the event loop."""
        outcomes = evaluate(self.checks, data, self.settings, now)
        first_seen = track_first_seen(self.first_seen, outcomes, now)
        families = build_families(views, outcomes, self.settings.findings.max_series_per_check, lag,
                                  (self._update_seconds, self._coalesced))  # fmt: skip
        return outcomes, first_seen, render(families)

    def _apply(self, now: float, data: dict[str, Any], views: list[SourceView], lag: float) -> None:
        self.outcomes, self.first_seen, self.rendered = self._compute(now, data, views, lag)
        self.updated_at = now

    def request_update(self) -> None:
        """Evaluate and render in a worker thread, so that checks over tens of thousands of proxies or pods never
        hold up /metrics: requests while one runs coalesce into one more run after it. The checks and the
        renderer are pure Python, so the loop gets the GIL back at every switch interval."""
        running = self._update_task is not None and not self._update_task.done()
        if running:
            self._coalesced += 1  # waits for the run in progress; any number of these make one more run
        self._update_pending = True
        if not running:
            self._update_task = asyncio.get_running_loop().create_task(self._update_in_thread(), name="update")

    async def _update_in_thread(self) -> None:
        while self._update_pending:
            self._update_pending = False
            now, data, views, lag = self._inputs()
            started = time.perf_counter()
            try:
                outcomes, first_seen, rendered = await asyncio.to_thread(self._compute, now, data, views, lag)
            except Exception:  # a bug in a check must not stop every later update
                log.exception("evaluating the checks failed")
                continue
            finally:
                self._update_seconds = time.perf_counter() - started
            self.outcomes, self.first_seen, self.rendered, self.updated_at = outcomes, first_seen, rendered, now
            if self.on_update is not None:
                self.on_update()

    def start(self) -> None:
        self._loop_lag_task = asyncio.get_running_loop().create_task(self.loop_lag.run(), name="loop-lag")
        self.scheduler.start()

    async def stop(self) -> None:
        if self._update_task is not None:
            await asyncio.gather(self._update_task, return_exceptions=True)
        if self._loop_lag_task is not None:
            self._loop_lag_task.cancel()
            await asyncio.gather(self._loop_lag_task, return_exceptions=True)
        await self.scheduler.stop()


async def _confirm_stale(states: list[SourceState], wait: float) -> None:
    """istiod before 1.23 sends no send time: poll again after ``wait`` to confirm STALE proxies by nonce."""
    for state in states:
        source = state.source
        if isinstance(source, IstiodSource) and state.up and source.needs_stale_confirmation(state.data):
            await asyncio.sleep(wait)
            await refresh_once(state)


@dataclass(frozen=True)
class OneShot:
    sources: list[SourceView]
    outcomes: list[CheckOutcome]


async def run_once(settings: Settings) -> OneShot:
    """Refresh every enabled source once (concurrently, each with its timeout) and run every check."""
    checks = active_checks(settings)
    states = build_sources(settings, checks, watch=False)
    try:
        if states:
            first = [s for s in states if s.after is None]
            await asyncio.gather(*(refresh_once(s) for s in first))
            # they read the Kubernetes cache; istiod also runs without it when istio.istiod_urls are given
            dependent = [s for s in states if s.after is not None and (s.after.up or s.source.name == "istiod")]
            await asyncio.gather(*(refresh_once(s) for s in dependent))
            states = first + dependent
            await _confirm_stale(states, settings.istio.stale_confirm_seconds)
    finally:
        await asyncio.gather(*(s.source.close() for s in states), return_exceptions=True)
    now = time.time()
    data = {s.source.name: s.fresh_data(now) for s in states}
    return OneShot([s.view() for s in states], evaluate(checks, data, settings, now))


@dataclass(frozen=True)
class FilesRun:
    sources: list[SourceView]
    outcomes: list[CheckOutcome]
    unread: dict[str, int]  # kind -> objects no configuration check reads
    absent: list[str]  # resource keys the checks read that neither the files nor the cluster gave


def configuration_checks(settings: Settings) -> list[CheckDef]:
    """The enabled Istio configuration checks (CF01-CF21): the ones ``check --files`` runs."""
    return [c for c in enabled_checks(settings) if c.id in CONFIGURATION_CHECKS]


async def run_files(settings: Settings, paths: list[str], *, namespace: str, use_kube: bool) -> FilesRun:
    """Run the configuration checks on manifests (``-`` reads stdin), alone or applied over the cluster's
    objects. Each file is a source: up when every document in it could be read."""
    checks = configuration_checks(settings)
    specs = [spec for c in checks for spec in c.resources(settings)]
    manifests = await asyncio.to_thread(read_manifests, paths)
    files = project_manifests(manifests.objects, specs, namespace)
    now = time.time()
    problems: dict[str, list[ManifestError]] = {path: [] for path in manifests.paths}
    for error in (*manifests.errors, *files.errors):
        problems.setdefault(error.path, []).append(error)
    views = [
        SourceView("manifests", path, not found, True, None if found else now, None,
                   {"invalid": len(found)} if found else {}, "invalid" if found else "",
                   "; ".join(str(e) for e in found))
        for path, found in problems.items()
    ]  # fmt: skip
    snapshot: KubeSnapshot | None = files.snapshot
    absent = list(files.absent)
    if use_kube:
        states = build_sources(settings, checks, watch=False)
        try:
            await asyncio.gather(*(refresh_once(s) for s in states))
        finally:
            await asyncio.gather(*(s.source.close() for s in states), return_exceptions=True)
        views += [s.view() for s in states]
        cluster = next((s.fresh_data(time.time()) for s in states if s.source.name == "kubernetes"), None)
        # without the cluster's objects the files alone would judge a mesh that is not there
        snapshot = overlay(cluster, files.snapshot, time.time()) if isinstance(cluster, KubeSnapshot) else None
        absent = [] if snapshot is None else [k for k in absent if not snapshot.get(k)]
    absent = [k for k in absent if k in CLUSTER_STATE]
    outcomes = evaluate(checks, {"kubernetes": snapshot}, settings, time.time())
    return FilesRun(views, outcomes, dict(files.unread), absent)
