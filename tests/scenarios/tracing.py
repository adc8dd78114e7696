"""Tracing-storage scenarios (TR01-TR07 on Elasticsearch data) and the webhook TLS probe (WH03)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from exporter.sources.elasticsearch.parse import ClusterSettings, JaegerIndex, NodeDisk
from exporter.sources.elasticsearch.snapshot import ClusterData, ElasticsearchSnapshot
from exporter.sources.errors import SourceError
from exporter.sources.webhook_tls_snapshot import EndpointResult, TLSProbe, WebhookTLSSnapshot
from tests.scenarios import Scenario

GIB = 1024**3
WATERMARKS = {"persistent": {"cluster.routing.allocation.disk.watermark.low": "85%",
                             "cluster.routing.allocation.disk.watermark.high": "90%",
                             "cluster.routing.allocation.disk.watermark.flood_stage": "95%"}}  # fmt: skip


def index(now: float, days_ago: int, family: str = "span", *, name_date: datetime | None = None) -> JaegerIndex:
    day = (datetime.fromtimestamp(now, UTC) - timedelta(days=days_ago)).replace(hour=0, minute=0, second=0,
                                                                                 microsecond=0)  # fmt: skip
    date = name_date or day
    return JaegerIndex(f"jaeger-{family}-{date:%Y-%m-%d}", family, date, day.timestamp(), 100, 1000, "open")


def cluster(now: float, **changes: Any) -> ClusterData:
    today = index(now, 0)
    base = ClusterData(
        name="tracing", url="http://es:9200", version="7.10.2",
        health={"status": "green", "unassigned_shards": 0},
        disks=(NodeDisk("es-data-0", "/usr/share/elasticsearch/data", 100 * GIB, 50 * GIB),),
        settings=ClusterSettings.parse(WATERMARKS), blocks={},
        indices=(index(now, 1), today, index(now, 0, "service")),
        write_index=today.name, newest_span=now - 30,
    )  # fmt: skip
    return dataclasses.replace(base, **changes)


def es(now: float, **changes: Any) -> ElasticsearchSnapshot:
    return ElasticsearchSnapshot((cluster(now, **changes),), now)


def disk(available_gib: float) -> tuple[NodeDisk, ...]:
    return (NodeDisk("es-data-0", "/usr/share/elasticsearch/data", 100 * GIB, available_gib * GIB),)


def implausible(now: float) -> JaegerIndex:
    return index(now, 0, name_date=datetime(9999, 7, 5, tzinfo=UTC))


def tls(now: float, *, error: str = "", expires_in_days: float = 300, policy: str = "Fail") -> WebhookTLSSnapshot:
    endpoint = EndpointResult("10.244.0.5:15017", None if error else now + expires_in_days * 86400, error)
    probe = TLSProbe("validating", "istio-validator-istio-system", "istio-system", "istiod", policy,
                     "istiod.istio-system.svc", (endpoint,))  # fmt: skip
    return WebhookTLSSnapshot((probe,))


def healthy(now: float) -> ElasticsearchSnapshot:
    return es(now)


SCENARIOS = [
    Scenario("TR01", "red", healthy, lambda n: es(n, health={"status": "red", "unassigned_shards": 3})),
    Scenario("TR01", "yellow", healthy, lambda n: es(n, health={"status": "yellow", "unassigned_shards": 5})),
    Scenario("TR01", "unreadable", healthy, lambda n: ElasticsearchSnapshot((
        ClusterData("tracing", "http://es:9200", error=SourceError("timeout", "elasticsearch tracing: / timed out")),
        cluster(n, name="other")), n)),
    Scenario("TR02", "flood-stage", healthy, lambda n: es(n, disks=disk(3))),
    Scenario("TR02", "high-watermark", healthy, lambda n: es(n, disks=disk(8))),
    Scenario("TR03", "read-only", healthy,
             lambda n: es(n, blocks={index(n, 0).name: ("index.blocks.read_only_allow_delete",)})),
    Scenario("TR04", "today-missing", healthy,
             lambda n: es(n, indices=(index(n, 1), index(n, 1, "service")), write_index=index(n, 1).name)),
    Scenario("TR05", "spans-stopped", healthy, lambda n: es(n, newest_span=n - 3 * 3600)),
    Scenario("TR06", "retention", healthy, lambda n: es(n, indices=(index(n, 30), index(n, 1), index(n, 0)))),
    Scenario("TR07", "implausible-date", healthy,
             lambda n: es(n, indices=(index(n, 1), index(n, 0), implausible(n)))),
    Scenario("WH03", "tls-broken", lambda n: tls(n),
             lambda n: tls(n, error="certificate verify failed: unable to get local issuer certificate")),
    Scenario("WH03", "tls-broken-failing-open", lambda n: tls(n, policy="Ignore"),
             lambda n: tls(n, policy="Ignore", error="certificate has expired")),
    Scenario("WH03", "cert-expiring", lambda n: tls(n), lambda n: tls(n, expires_in_days=5)),
]  # fmt: skip
