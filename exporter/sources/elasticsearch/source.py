"""Read every configured Elasticsearch/OpenSearch cluster with a constant number of requests.

Plain aiohttp rather than the official client: each major of elasticsearch-py refuses servers of other
majors (it sends compatible-with headers and checks the product header), while these few read-only
endpoints answer the same JSON on Elasticsearch 6.8 to 9.x and OpenSearch 1.x/2.x.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import logging
import os
import ssl
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from exporter.config import ElasticsearchClusterSettings, Settings
from exporter.sources.elasticsearch.parse import (
    ClusterSettings,
    JaegerIndex,
    index_pattern,
    least_available_paths,
    parse_blocks,
    parse_cat_indices,
)
from exporter.sources.elasticsearch.snapshot import ClusterData, ElasticsearchSnapshot
from exporter.sources.errors import SourceError, reason_for_status
from exporter.sources.http import BudgetExhausted, MemoryBudget, describe_client_error, read_bounded

log = logging.getLogger(__name__)
# each cluster gets this share of sources.elasticsearch.timeout_seconds: one that hangs fails alone, in time
CLUSTER_SHARE = 0.8
NEWEST_SPAN = {"size": 0, "aggs": {"newest": {"max": {"field": "startTimeMillis"}}}}


def _secret(path: Path | None, env: str | None = None) -> str | None:
    if path is not None:
        try:
            return path.read_text().strip()
        except OSError as exc:
            raise SourceError("config", f"cannot read {path}: {exc.strerror}") from None
    if env:
        return os.environ.get(env)
    return None


def auth_headers(cluster: ElasticsearchClusterSettings) -> dict[str, str]:
    """Authorization from files or environment variables; values never appear in errors or logs."""
    if cluster.api_key_file:
        return {"Authorization": f"ApiKey {_secret(cluster.api_key_file)}"}
    if cluster.bearer_token_file:
        return {"Authorization": f"Bearer {_secret(cluster.bearer_token_file)}"}
    if cluster.username:
        password = _secret(cluster.password_file, cluster.password_env) or ""
        token = base64.b64encode(f"{cluster.username}:{password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}
    return {}


def secret_fragments(authorization: str) -> list[str]:
    """The parts of an Authorization value that must never be shown: the credential, and for basic auth
    the decoded password."""
    _, _, credential = authorization.partition(" ")
    out = [credential] if credential else []
    if authorization.startswith("Basic ") and credential:
        try:
            _, _, password = base64.b64decode(credential).decode("utf-8", "replace").partition(":")
        except ValueError:
            password = ""
        if len(password) >= 4:
            out.append(password)
    return sorted(out, key=len, reverse=True)


def ssl_context(cluster: ElasticsearchClusterSettings) -> ssl.SSLContext | bool:
    if cluster.insecure_skip_verify:
        return False
    context = ssl.create_default_context()
    if cluster.ca_file:
        try:
            context.load_verify_locations(cluster.ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise SourceError("config", f"cannot load CA {cluster.ca_file}: {exc}") from None
    return context


def supports_health_report(version: dict[str, Any]) -> bool:
    """Elasticsearch 8.7+ answers _health_report with a disk indicator; OpenSearch does not."""
    if version.get("distribution") == "opensearch":
        return False
    parts = str(version.get("number") or "").split(".")
    try:
        return (int(parts[0]), int(parts[1])) >= (8, 7)
    except (ValueError, IndexError):
        return False


class ClusterReader:
    """One refresh of one cluster: credentials are read once (so rotated files are picked up next time)."""

    def __init__(
        self,
        cluster: ElasticsearchClusterSettings,
        session: aiohttp.ClientSession,
        limit: int,
        tls: ssl.SSLContext | bool,
        url: str | None = None,
        budget: MemoryBudget | None = None,
    ) -> None:
        self.budget = budget or MemoryBudget("elasticsearch", limit, "elasticsearch.memory_budget_bytes")
        self.cluster = cluster
        self.session = session
        self.limit = limit
        self.tls = tls
        self.requests = 0
        self.url = (url or cluster.urls[0]).rstrip("/")
        self.headers = {"Accept": "application/json", **auth_headers(cluster)}
        self._secrets = secret_fragments(self.headers.get("Authorization", ""))

    def redact(self, text: str) -> str:
        """Upstream text with our credentials removed (a server or proxy may echo the request headers)."""
        for secret in self._secrets:
            text = text.replace(secret, "<redacted>")
        return "".join(c if c.isprintable() else " " for c in text)

    async def call(self, method: str, path: str, body: Any = None, missing_ok: bool = False) -> Any:
        self.requests += 1
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        with self.budget.reserve() as held:  # the body is given back once parsed
            try:
                async with self.session.request(
                    method,
                    self.url + path,
                    headers=headers,
                    data=json.dumps(body) if body is not None else None,
                    ssl=self.tls,
                    allow_redirects=False,
                ) as resp:
                    if resp.status == 404 and missing_ok:
                        return None
                    if resp.status >= 400:
                        excerpt = self.redact((await resp.content.read(300)).decode("utf-8", "replace"))
                        raise SourceError(
                            reason_for_status(resp.status),
                            f"elasticsearch {self.cluster.name}: {method} {path}: HTTP {resp.status} {excerpt[:200]}",
                        )
                    raw = await read_bounded(resp, self.limit, held)
            except BudgetExhausted as exc:
                raise SourceError("too_large", f"elasticsearch {self.cluster.name}: {path}: {exc}") from None
            except TimeoutError:
                message = f"elasticsearch {self.cluster.name}: {path} did not answer in time"
                raise SourceError("timeout", message) from None
            except aiohttp.ClientError as exc:
                raise SourceError(
                    "connection", f"elasticsearch {self.cluster.name}: {path}: {describe_client_error(exc)}"
                ) from None
            if raw is None:
                raise SourceError(
                    "too_large", f"elasticsearch {self.cluster.name}: {path} is larger than {self.limit} bytes"
                )
            try:
                return json.loads(raw)
            except ValueError:
                message = f"elasticsearch {self.cluster.name}: {path} is not JSON"
                raise SourceError("invalid_response", message) from None

    async def read(self, now: float) -> ClusterData:
        jaeger = self.cluster.jaeger
        pattern = index_pattern(jaeger.prefix)
        root = await self.call("GET", "/")
        if not isinstance(root, dict) or not isinstance(root.get("version"), dict):
            raise SourceError("invalid_response", f"elasticsearch {self.cluster.name}: / has no version")
        version = root["version"]
        health, nodes, settings, blocks, cat = await asyncio.gather(
            self.call("GET", "/_cluster/health"),
            self.call("GET", "/_nodes/stats/fs"),
            self.call("GET", "/_cluster/settings?include_defaults=true&flat_settings=true"),
            self.call(
                "GET",
                f"/{pattern}/_settings/index.blocks.*?flat_settings=true&allow_no_indices=true"
                "&ignore_unavailable=true&expand_wildcards=all",
            ),
            self.call(
                "GET",
                f"/_cat/indices/{pattern}?format=json&bytes=b"
                "&h=index,health,status,docs.count,store.size,creation.date&expand_wildcards=all",
            ),
        )
        for name, doc in (("/_cluster/health", health), ("/_nodes/stats/fs", nodes), ("/_cluster/settings", settings)):
            if not isinstance(doc, dict):
                raise SourceError("invalid_response", f"elasticsearch {self.cluster.name}: {name} is not a JSON object")
        indices = parse_cat_indices(cat, jaeger.prefix, jaeger.date_separator)
        alias_target = None
        if jaeger.rollover:
            alias = await self.call("GET", f"/_alias/{jaeger.base('span')}-write", missing_ok=True)
            if isinstance(alias, dict):
                alias_name = f"{jaeger.base('span')}-write"
                writers = [
                    index
                    for index, body in alias.items()
                    if ((body or {}).get("aliases") or {}).get(alias_name, {}).get("is_write_index", True)
                ]
                alias_target = sorted(writers)[-1] if writers else None
            write_index = alias_target
        else:
            write_index = current_span_index(indices, now)
        disk_report: dict[str, Any] = {}
        if supports_health_report(version):
            report = await self.call("GET", "/_health_report/disk", missing_ok=True)
            indicator = ((report or {}).get("indicators") or {}).get("disk") if isinstance(report, dict) else None
            disk_report = indicator if isinstance(indicator, dict) else {}
        newest, freshness_error = None, ""
        if write_index:
            try:
                result = await self.call("POST", f"/{write_index}/_search", NEWEST_SPAN)
            except SourceError as exc:
                freshness_error = f"newest-span query on {write_index} failed: {exc.message}"
                result = None
            if isinstance(result, dict):
                value = ((result.get("aggregations") or {}).get("newest") or {}).get("value")
                newest = float(value) / 1000 if isinstance(value, int | float) else None
            elif not freshness_error:
                freshness_error = f"newest-span query on {write_index} did not answer a JSON object"
        return ClusterData(
            name=self.cluster.name,
            url=self.url,
            version=str(version.get("number") or ""),
            distribution=str(version.get("distribution") or "elasticsearch"),
            health=health,
            disks=tuple(least_available_paths(nodes)),
            settings=ClusterSettings.parse(settings),
            blocks=parse_blocks(blocks),
            indices=tuple(indices),
            write_alias_target=alias_target,
            write_index=write_index,
            newest_span=newest,
            freshness_error=freshness_error,
            disk_report=disk_report,
            requests=self.requests,
            rollover=jaeger.rollover,
            date_separator=jaeger.date_separator,
            hourly=jaeger.hourly,
            prefix=jaeger.prefix,
        )


class ElasticsearchSource:
    name = "elasticsearch"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._session: aiohttp.ClientSession | None = None
        self._tls: dict[str, ssl.SSLContext | bool] = {}
        self._last_good: dict[str, str] = {}
        self.budget = MemoryBudget(
            "elasticsearch", settings.elasticsearch.memory_budget_bytes, "elasticsearch.memory_budget_bytes"
        )
        self.instance = ",".join(c.name for c in settings.elasticsearch.clusters)

    async def refresh(self) -> ElasticsearchSnapshot:
        if self._session is None:
            read_timeout = self._settings.sources.elasticsearch.timeout_seconds
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(sock_connect=5, sock_read=read_timeout))
        now = time.time()

        async def one(cluster: ElasticsearchClusterSettings) -> ClusterData:
            """Each URL in order, starting with the one that answered last time; the first answer wins."""
            urls = [u.rstrip("/") for u in cluster.urls]
            good = self._last_good.get(cluster.name)
            if good in urls:
                urls.remove(good)
                urls.insert(0, good)
            try:
                if cluster.name not in self._tls:  # loading a CA bundle is expensive: once per cluster
                    self._tls[cluster.name] = ssl_context(cluster)
            except SourceError as exc:
                return ClusterData(cluster.name, urls[0], error=exc)
            assert self._session is not None
            failures: list[SourceError] = []
            requests = 0
            for url in urls:
                reader = ClusterReader(
                    cluster,
                    self._session,
                    self._settings.elasticsearch.max_response_bytes,
                    self._tls[cluster.name],
                    url,
                    self.budget,
                )
                try:
                    data = await reader.read(now)
                except SourceError as exc:
                    requests += reader.requests
                    failures.append(exc)
                    if exc.reason == "config":
                        break
                    continue
                self._last_good[cluster.name] = url
                return dataclasses.replace(data, requests=data.requests + requests)
            if len(failures) == 1:
                return ClusterData(cluster.name, urls[0], error=failures[0], requests=requests)
            message = f"elasticsearch {cluster.name}: none of {len(urls)} URLs answered: " + "; ".join(
                f"{u}: {e.message.removeprefix(f'elasticsearch {cluster.name}: ')}"
                for u, e in zip(urls, failures, strict=False)
            )
            return ClusterData(cluster.name, urls[0], error=SourceError(failures[0].reason, message), requests=requests)

        deadline = CLUSTER_SHARE * self._settings.sources.elasticsearch.timeout_seconds

        async def bounded(cluster: ElasticsearchClusterSettings) -> ClusterData:
            """A cluster that hangs, or drips bytes so that no read times out, fails alone (timeout)."""
            try:
                async with asyncio.timeout(deadline):
                    return await one(cluster)
            except TimeoutError:
                message = f"elasticsearch {cluster.name}: no complete answer within {deadline:g}s"
                return ClusterData(cluster.name, cluster.urls[0].rstrip("/"), error=SourceError("timeout", message))

        clusters = tuple(await asyncio.gather(*(bounded(c) for c in self._settings.elasticsearch.clusters)))
        for c in clusters:
            if c.error is not None:
                log.warning("elasticsearch cluster %s cannot be read: %s (%s)", c.name, c.error.message, c.error.reason)
        answered = [c for c in clusters if c.error is None]
        if not answered:
            first = clusters[0].error
            assert first is not None
            raise SourceError(first.reason, first.message)
        return ElasticsearchSnapshot(clusters, now)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


PLAUSIBLE_SKEW_SECONDS = 3600.0


def current_span_index(indices: list[JaegerIndex], now: float) -> str | None:
    """The newest daily/hourly span index whose date is not in the future (beyond a small clock skew):
    an index named after a wrong clock (TR07) must not stand in for the one spans are written to."""
    latest = datetime.fromtimestamp(now + PLAUSIBLE_SKEW_SECONDS, UTC)
    spans = [i for i in indices if i.family == "span" and i.date is not None and i.date <= latest]
    return max(spans, key=lambda i: (i.date or latest, i.name)).name if spans else None


def utc_today(now: float) -> datetime:
    return datetime.fromtimestamp(now, UTC)
