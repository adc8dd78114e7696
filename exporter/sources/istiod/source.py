"""Fetch syncz, metrics and push status from every istiod replica; remember since when proxies are STALE.

Replicas come from the Kubernetes cache (pods matching ``istio.istiod_selector`` in the control-plane
namespaces, on ``istio.monitoring_port``) plus ``istio.istiod_urls``. Each replica lists only its own
proxies, so results are kept per replica and merged by the checks. A replica that fails does not
fail the source; the source fails only when no replica answered (with that replica's reason).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from exporter.config import Settings
from exporter.selectors import matches
from exporter.sources.errors import SourceError, reason_for_status
from exporter.sources.gc_pause import gc_paused
from exporter.sources.http import (
    BudgetExhausted,
    MemoryBudget,
    Reservation,
    describe_bad_json,
    describe_client_error,
    read_bounded,
)
from exporter.sources.istiod.metrics import IstiodMetrics, parse_metrics
from exporter.sources.istiod.parser_process import ParserProcess
from exporter.sources.istiod.snapshot import IstiodSnapshot, Replica, ReplicaData, SidecarPod
from exporter.sources.istiod.syncz import STALE, PlainProxy, ProxySync, adopt, parse_syncz
from exporter.sources.json_array import loads_interruptible

# each replica gets this share of sources.istiod.timeout_seconds, so one that hangs fails alone before the source does
REPLICA_SHARE = 0.8
SA_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")
FORBIDDEN_HINT = (
    "Istio 1.27.6+/1.28.4+/1.29+ allow debug endpoints only to callers from the control-plane namespace: "
    "deploy the exporter in istio-system or add its namespace to DEBUG_ENDPOINT_AUTH_ALLOWED_NAMESPACES"
)


Parsed = tuple[tuple[ProxySync, ...], dict[str, ProxySync]]  # a replica's proxies, and by ID for its next poll


def _parse_syncz_body(body: bytes, previous: dict[str, ProxySync] | None) -> Parsed:
    with gc_paused():  # the decoded document holds no cycles: reference counting frees it
        proxies = parse_syncz(loads_interruptible(body), previous)
    return proxies, {p.proxy: p for p in proxies}


def _adopt(rows: tuple[PlainProxy, ...], previous: dict[str, ProxySync] | None) -> Parsed:
    proxies = adopt(rows, previous)
    return proxies, {p.proxy: p for p in proxies}


def discover_replicas(kube: Any, settings: Settings) -> list[Replica]:
    """Pure: istiod replicas from the cache, then the static URLs."""
    replicas: list[Replica] = []
    namespaces = set(settings.istio.control_plane_namespaces)
    for pod in kube.get("pods") if kube is not None else ():
        if pod.namespace not in namespaces or not matches(settings.istio.istiod_selector, pod.labels):
            continue
        if pod.phase != "Running" or not pod.ip or pod.deleting:
            continue
        revision = pod.label("istio.io/rev") or "default"
        replicas.append(Replica(pod.name, pod.namespace, revision, f"http://{pod.ip}:{settings.istio.monitoring_port}"))
    for url in settings.istio.istiod_urls:
        replicas.append(Replica(url, "", "", url.rstrip("/")))
    return sorted(replicas, key=lambda r: (r.namespace, r.name))


def sidecar_pods(kube: Any) -> tuple[SidecarPod, ...]:
    if kube is None:
        return ()
    return tuple(
        (p.namespace, p.name, p.created)
        for p in kube.get("pods")
        if p.has_sidecar and p.phase == "Running" and not p.deleting and p.sidecar_running
    )


def _pods_readable(kube: Any) -> bool:
    """The pod cache is there and complete (DP02 needs every pod with a sidecar)."""
    return kube is not None and not (getattr(kube, "failed", None) or {}).get("pods")


class IstiodSource:
    name = "istiod"

    def __init__(
        self,
        settings: Settings,
        kube_data: Callable[[], Any | None],
        clock: Callable[[], float] = time.time,
        *,
        kube_enabled: bool = True,
        one_shot: bool = False,
        parsers: Callable[[], ParserProcess] | None = None,
    ) -> None:
        # serve: a parser process per replica (up to istio.parser_processes), so that a body one replica's parse
        # chokes on cannot make another replica wait past its time; None (check): bodies are parsed in worker
        # threads of this process
        self._new_parser = parsers
        self._parsers: dict[int, ParserProcess] = {}  # by slot
        self._slots: dict[str, int] = {}  # replica URL -> slot, for the current replicas
        self._one_shot = one_shot
        self._settings = settings
        self._kube_enabled = kube_enabled
        self._stale_nonce: dict[tuple[str, str, str], str] = {}
        self._last_poll: float | None = None
        self._clock = clock
        self._kube_data = kube_data
        self._session: aiohttp.ClientSession | None = None
        self.budget = MemoryBudget("istiod", settings.istio.memory_budget_bytes, "istio.memory_budget_bytes")
        self._stale_since: dict[tuple[str, str, str], float] = {}
        self._proxies: dict[str, dict[str, ProxySync]] = {}  # per replica URL, as of its last poll
        self._convergence: dict[str, dict[float, float]] = {}
        self._rejected: dict[str, dict[tuple[str, str], float]] = {}
        self.instance = ",".join(settings.istio.control_plane_namespaces)

    def _token(self) -> str | None:
        path = self._settings.istio.debug_token_file or (SA_TOKEN if SA_TOKEN.exists() else None)
        if path is None:
            return None
        try:
            return Path(path).read_text().strip() or None
        except OSError as exc:
            raise SourceError("config", f"cannot read the debug token {path}: {exc.strerror}") from None

    async def _get(self, replica: Replica, path: str, limit: int, held: Reservation) -> bytes:
        assert self._session is not None
        url = replica.url + path
        headers = {"Accept": "application/json, text/plain"}
        token = self._token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            async with self._session.get(url, headers=headers, allow_redirects=False) as resp:
                if resp.status >= 400:
                    hint = f": {FORBIDDEN_HINT}" if resp.status == 403 else ""
                    if resp.status == 401:
                        hint = ": istiod rejected the token (mount the service-account token; istio.debug_token_file)"
                    raise SourceError(
                        reason_for_status(resp.status),
                        f"istiod {replica.name}: {path} answered HTTP {resp.status}{hint}",
                    )
                body = await read_bounded(resp, limit, held)
        except BudgetExhausted as exc:
            raise SourceError("too_large", f"istiod {replica.name}: {path}: {exc}") from None
        except TimeoutError:
            raise SourceError("timeout", f"istiod {replica.name}: {path} did not answer in time") from None
        except aiohttp.ClientError as exc:
            raise SourceError("connection", f"istiod {replica.name}: {path}: {describe_client_error(exc)}") from None
        if body is None:
            raise SourceError("too_large", f"istiod {replica.name}: {path} is larger than {limit} bytes")
        return body

    async def _replica(self, replica: Replica) -> ReplicaData:
        with self.budget.reserve() as held:  # the bodies are given back once parsed
            return await self._read_replica(replica, held)

    async def _read_replica(self, replica: Replica, held: Reservation) -> ReplicaData:
        limit = self._settings.istio.max_response_bytes
        results = await asyncio.gather(
            self._get(replica, "/debug/syncz", limit, held),
            self._get(replica, "/metrics", limit, held),
            self._get(replica, "/debug/push_status", limit, held),
            return_exceptions=True,
        )
        syncz_body, metrics_body, push_body = results
        if isinstance(syncz_body, BaseException):
            if not isinstance(syncz_body, SourceError):
                raise syncz_body
            return ReplicaData(replica, error=syncz_body)
        try:
            previous = self._proxies.get(replica.url)
            parser = self._parser(replica)
            if parser is None:
                parsed = await asyncio.to_thread(_parse_syncz_body, syncz_body, previous)
            else:
                parsed = await asyncio.to_thread(_adopt, await parser.parse_syncz(syncz_body), previous)
            proxies, self._proxies[replica.url] = parsed
        except SourceError as exc:  # the parser process died
            return ReplicaData(replica, error=SourceError(exc.reason, f"istiod {replica.name}: syncz: {exc.message}"))
        except json.JSONDecodeError as exc:
            message = f"istiod {replica.name}: /debug/syncz answered {describe_bad_json(syncz_body, exc)}"
            return ReplicaData(replica, error=SourceError("invalid_response", message))
        except ValueError as exc:
            return ReplicaData(replica, error=SourceError("invalid_response", f"istiod {replica.name}: syncz: {exc}"))
        metrics, metrics_error = None, ""
        if isinstance(metrics_body, bytes):
            try:
                metrics = await self._parse_metrics(replica, metrics_body)
            except ValueError as exc:
                metrics_error = f"metrics are not Prometheus text: {exc}"
            except SourceError as exc:  # the parser process died
                metrics_error = f"metrics: {exc.message}"
        else:
            metrics_error = str(metrics_body)
        push: dict[str, Any] = {}
        if isinstance(push_body, bytes):
            try:
                loaded = await asyncio.to_thread(json.loads, push_body) if push_body.strip() else {}
                push = loaded if isinstance(loaded, dict) else {}
            except ValueError:
                push = {}
        return ReplicaData(replica, None, proxies, metrics, metrics_error, push)

    def _parser(self, replica: Replica) -> ParserProcess | None:
        if self._new_parser is None:
            return None
        slot = self._slots.get(replica.url, 0)
        parser = self._parsers.get(slot)
        if parser is None:
            parser = self._parsers[slot] = self._new_parser()
        return parser

    async def _parse_metrics(self, replica: Replica, body: bytes) -> IstiodMetrics:
        parser = self._parser(replica)
        if parser is not None:  # serve: in the parser process, stopped when the replica's time is up
            return await parser.parse_metrics(body)
        # check: pure-Python parsing in a thread; the loop gets the GIL back at every switch interval
        return await asyncio.to_thread(lambda: parse_metrics(body.decode("utf-8", "replace")))

    async def _bounded(self, replica: Replica) -> ReplicaData:
        """One replica within its share of the source's timeout: a replica that hangs, or drips bytes so that
        no read times out, fails alone (timeout) while the others' data is still delivered in time."""
        deadline = REPLICA_SHARE * self._settings.sources.istiod.timeout_seconds
        try:
            async with asyncio.timeout(deadline):
                return await self._replica(replica)
        except TimeoutError:
            message = f"istiod {replica.name}: no complete answer within {deadline:g}s"
            return ReplicaData(replica, error=SourceError("timeout", message))

    async def refresh(self) -> IstiodSnapshot:
        kube = self._kube_data()
        replicas = discover_replicas(kube, self._settings)
        if not replicas:
            namespaces = ",".join(self._settings.istio.control_plane_namespaces)
            if kube is None:
                where = "the Kubernetes source is disabled" if not self._kube_enabled else "Kubernetes is unreachable"
                raise SourceError(
                    "not_found",
                    f"cannot discover istiod pods ({where}) and istio.istiod_urls is empty: "
                    "set istio.istiod_urls (e.g. a port-forward to istiod's port 15014)",
                )
            raise SourceError(
                "not_found",
                f"no running istiod pod ({self._settings.istio.istiod_selector} in {namespaces}) "
                "and istio.istiod_urls is empty",
            )
        if self._session is None:
            timeout = aiohttp.ClientTimeout(
                total=None, sock_connect=5, sock_read=self._settings.sources.istiod.timeout_seconds
            )
            self._session = aiohttp.ClientSession(timeout=timeout)
        slots = self._settings.istio.parser_processes
        self._slots = {r.url: i % slots for i, r in enumerate(replicas)}
        unused = [parser for slot, parser in self._parsers.items() if slot >= len(replicas)]
        self._parsers = {slot: parser for slot, parser in self._parsers.items() if slot < len(replicas)}
        await asyncio.gather(*(parser.close() for parser in unused))  # fewer replicas than before
        data = tuple(await asyncio.gather(*(self._bounded(r) for r in replicas)))
        current = {r.url for r in replicas}
        self._proxies = {url: known for url, known in self._proxies.items() if url in current}
        answered = [d for d in data if d.error is None]
        if not answered:
            first = data[0].error
            assert first is not None
            raise SourceError(first.reason, first.message)
        # a pass over every proxy and every pod: in a worker thread, not on the loop that serves /metrics
        return await asyncio.to_thread(self._snapshot, data, kube, self._clock())

    def _snapshot(self, data: tuple[ReplicaData, ...], kube: Any, now: float) -> IstiodSnapshot:
        self._stale_since = self._track_stale(data, now)
        confirmed, interval = self._confirm_stale(data, now)
        data = tuple(self._with_rejected_delta(self._with_convergence_delta(d)) for d in data)
        return IstiodSnapshot(
            data, dict(self._stale_since), sidecar_pods(kube), now, _pods_readable(kube), confirmed, interval
        )

    def _confirm_stale(
        self, data: tuple[ReplicaData, ...], now: float
    ) -> tuple[frozenset[tuple[str, str, str]], float]:
        """STALE types whose sent nonce was already unacknowledged at the previous poll (same replica)."""
        if not self._one_shot:  # a long-running exporter measures the age and applies the threshold
            return frozenset(), 0.0
        current = {
            (replica.replica.name, proxy.proxy, t.type): t.sent
            for replica in data
            if replica.error is None
            for proxy in replica.proxies
            for t in proxy.types
            if t.status == STALE
        }
        confirmed = frozenset(k for k, nonce in current.items() if self._stale_nonce.get(k) == nonce)
        interval = now - self._last_poll if self._last_poll is not None else 0.0
        self._stale_nonce, self._last_poll = current, now
        return confirmed, interval

    def needs_stale_confirmation(self, snapshot: IstiodSnapshot) -> bool:
        """Some STALE type has no send time (istiod before 1.23): only a second poll can tell its age."""
        confirmed = snapshot.stale_confirmed
        return any(
            t.status == STALE and t.sent_time is None and (r.replica.name, p.proxy, t.type) not in confirmed
            for r in snapshot.replicas
            if r.error is None
            for p in r.proxies
            for t in p.types
        )

    def _track_stale(self, data: tuple[ReplicaData, ...], now: float) -> dict[tuple[str, str, str], float]:
        current: dict[tuple[str, str, str], float] = {}
        for replica in data:
            if replica.error is not None:  # unknown this round: keep what we knew
                current.update({k: v for k, v in self._stale_since.items() if k[0] == replica.replica.name})
                continue
            for proxy in replica.proxies:
                for t in proxy.types:
                    if t.status == STALE:
                        key = (replica.replica.name, proxy.proxy, t.type)
                        # first seen now, or when the unacknowledged update was sent (1.23+), if earlier
                        first = min(now, t.sent_time) if t.sent_time else now
                        current[key] = self._stale_since.get(key, first)
        return current

    def _with_convergence_delta(self, replica: ReplicaData) -> ReplicaData:
        """Bucket increments of pilot_proxy_convergence_time since this replica's previous refresh."""
        if replica.metrics is None:
            return replica
        current: dict[float, float] = {}
        for labels, value in replica.metrics.get("pilot_proxy_convergence_time_bucket"):
            le = dict(labels).get("le")
            if le is not None:
                current[float(le)] = current.get(float(le), 0.0) + value
        previous = self._convergence.get(replica.replica.name)
        self._convergence[replica.replica.name] = current
        if previous is None or any(current.get(le, 0.0) < count for le, count in previous.items()):
            return replica  # first look, or istiod restarted: no interval to compare
        delta = tuple(sorted((le, count - previous.get(le, 0.0)) for le, count in current.items()))
        return dataclasses.replace(replica, convergence_delta=delta)

    def _with_rejected_delta(self, replica: ReplicaData) -> ReplicaData:
        """Configs istiod rejected again since the previous refresh: a conflict that persists keeps being
        rejected at every push; a fixed one stops (the counter itself never goes down)."""
        if replica.metrics is None:
            return replica
        found = replica.metrics.first("pilot_total_rejected_configs_total", "pilot_total_rejected_configs")
        current = {(dict(lb).get("type", ""), dict(lb).get("name", "")): v for lb, v in (found[1] if found else ())}
        previous = self._rejected.get(replica.replica.name)
        self._rejected[replica.replica.name] = current
        if previous is None:
            delta = tuple((t, n, v) for (t, n), v in sorted(current.items()))  # first look: everything counts
        else:
            delta = tuple(
                (t, n, v - previous.get((t, n), 0.0))
                for (t, n), v in sorted(current.items())
                if v > previous.get((t, n), 0.0)
            )
        return dataclasses.replace(replica, rejected_delta=delta)

    async def close(self) -> None:
        parsers, self._parsers = list(self._parsers.values()), {}
        await asyncio.gather(*(parser.close() for parser in parsers))
        if self._session is not None:
            await self._session.close()
            self._session = None
