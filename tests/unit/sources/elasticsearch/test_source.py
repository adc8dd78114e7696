"""Elasticsearch source and tracing checks on recorded responses (6.5-8.9) and a local HTTP server."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web

from exporter.checks.tracing import (
    check_blocked_indices,
    check_cluster_health,
    check_disk_watermarks,
    check_implausible_dates,
    check_retention,
    check_span_freshness,
    check_write_index,
)
from exporter.model import NotEvaluated
from exporter.sources.elasticsearch.parse import (
    ClusterSettings,
    free_bytes_threshold,
    least_available_paths,
    parse_blocks,
    parse_index,
)
from exporter.sources.elasticsearch.source import ElasticsearchSource
from exporter.sources.errors import SourceError
from tests.support import drip
from tests.unit.helpers import settings

FIXTURES = Path(__file__).parents[2] / "fixtures" / "elasticsearch"
GIB = 1024**3
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC).timestamp()


def fixture(name):
    return json.loads((FIXTURES / name).read_text())


def test_settings_of_7_3_defaults_are_ratios_of_used_space():
    s = ClusterSettings.parse(fixture("settings-7.3.0.json"))
    assert free_bytes_threshold(s, "flood_stage", 100 * GIB) == pytest.approx(5 * GIB)
    assert free_bytes_threshold(s, "high", 100 * GIB) == pytest.approx(10 * GIB)


def test_settings_of_8_9_persistent_percentages_without_headroom():
    s = ClusterSettings.parse(fixture("settings-8.9.1-watermark.json"))
    assert s.effective["cluster.routing.allocation.disk.watermark.flood_stage"] == "96%"
    assert free_bytes_threshold(s, "flood_stage", 10_000 * GIB) == pytest.approx(400 * GIB)  # -1: no headroom


def test_precedence_bytes_and_default_headroom():
    doc = {
        "defaults": {"cluster.routing.allocation.disk.watermark.flood_stage": "95%",
                     "cluster.routing.allocation.disk.watermark.flood_stage.max_headroom": "100GB",
                     "cluster.routing.allocation.disk.watermark.high": "90%"},
        "persistent": {"cluster.routing.allocation.disk.watermark.high": "85%"},
        "transient": {"cluster.routing.allocation.disk.watermark.high": "20gb"},
    }  # fmt: skip
    s = ClusterSettings.parse(doc)
    assert free_bytes_threshold(s, "high", 1000 * GIB) == 20 * GIB  # transient bytes = free space
    # default percentage on a big disk: capped by the default headroom (flood stage at 100 GB free)
    assert free_bytes_threshold(s, "flood_stage", 10_000 * GIB) == 100 * GIB
    explicit = ClusterSettings.parse(
        {**doc, "persistent": {"cluster.routing.allocation.disk.watermark.flood_stage": "95%"}}
    )
    assert free_bytes_threshold(explicit, "flood_stage", 10_000 * GIB) == pytest.approx(500 * GIB)


def test_nodes_least_available_path_of_data_nodes():
    [disk] = least_available_paths(fixture("nodestats-7.13.1.json"))
    assert disk.total == 476630163456 and disk.available == 63425642496
    assert len(least_available_paths(fixture("nodestats-6.8.8.json"))) >= 1
    multi = {"nodes": {"a": {"name": "data-0", "roles": ["data"], "fs": {"data": [
        {"path": "/d1", "total_in_bytes": 100, "available_in_bytes": 50},
        {"path": "/d2", "total_in_bytes": 100, "available_in_bytes": 5}]}},
        "m": {"name": "master-0", "roles": ["master"], "fs": {"data": [{"path": "/m", "total_in_bytes": 1, "available_in_bytes": 0}]}}}}  # fmt: skip
    assert [(d.node, d.path) for d in least_available_paths(multi)] == [("data-0", "/d2")]


def test_blocks_from_nested_and_flat_settings():
    assert parse_blocks(fixture("indices_settings-6.5.4.json")) == {
        "instagram": ("index.blocks.read_only_allow_delete",),
        "twitter": ("index.blocks.read_only_allow_delete",),
    }
    flat = {"jaeger-span-2026-11-21": {"settings": {"index.blocks.write": "true", "index.blocks.read_only": "false"}}}
    assert parse_blocks(flat) == {"jaeger-span-2026-11-21": ("index.blocks.write",)}


@pytest.mark.parametrize(
    ("name", "prefix", "sep", "expected"),
    [
        ("jaeger-span-2020-12-15", "", "-", ("span", datetime(2020, 12, 15, tzinfo=UTC))),
        ("logstash-jaeger-span-2020-12-15", "logstash", "-", ("span", datetime(2020, 12, 15, tzinfo=UTC))),
        ("jaeger-service-2020.12.15", "", ".", ("service", datetime(2020, 12, 15, tzinfo=UTC))),
        ("jaeger-span-2020-12-15-07", "", "-", ("span", datetime(2020, 12, 15, 7, tzinfo=UTC))),
        ("jaeger-span-000003", "", "-", ("span", None)),
        ("jaeger-span-27633-07-05", "", "-", ("span", datetime.max.replace(tzinfo=UTC))),
        ("logstash-jaeger-span-2020-12-15", "", "-", None),
        ("jaeger-span-2020-12-15", "logstash", "-", None),
        ("kibana-2020-12-15", "", "-", None),
    ],
)
def test_index_names(name, prefix, sep, expected):
    assert parse_index(name, prefix, sep) == expected


class FakeES:
    """The endpoints the source calls, answering recorded bodies; counts requests."""

    def __init__(self, indices=(), blocks=None, status=200, health="clusterhealth-7.13.1.json", newest_ms=None,
                 nodes="nodestats-7.13.1.json", watermark_settings=None, root=None, alias=None,
                 search_status=200):  # fmt: skip
        self.root, self.alias = root or fixture("clusterinfo-7.13.1.json"), alias
        self.search_status = search_status
        self.indices, self.blocks, self.status = list(indices), blocks or {}, status
        self.health, self.nodes, self.newest_ms = health, nodes, newest_ms
        self.settings = watermark_settings or fixture("settings-8.9.1-watermark.json")
        self.calls: list[str] = []

    def app(self):
        app = web.Application()

        async def handle(request: web.Request) -> web.StreamResponse:
            self.calls.append(f"{request.method} {request.path}")
            if self.status != 200:
                return web.Response(status=self.status, text='{"error":"security_exception"}')
            path = request.path
            if path == "/":
                return web.json_response(self.root)
            if path == "/_health_report/disk":
                return web.json_response(fixture("healthreport-8.7.0.json"))
            if path.startswith("/_alias/"):
                return web.json_response(self.alias) if self.alias else web.json_response({}, status=404)
            if path == "/_cluster/health":
                return web.json_response(fixture(self.health))
            if path == "/_nodes/stats/fs":
                return web.json_response(fixture(self.nodes))
            if path == "/_cluster/settings":
                return web.json_response(self.settings)
            if path.endswith("/_settings/index.blocks.*"):
                return web.json_response({i: {"settings": {b: "true"}} for i, b in self.blocks.items()})
            if path.startswith("/_cat/indices/"):
                return web.json_response(self.indices)
            if path.endswith("/_search"):
                if self.search_status != 200:
                    return web.json_response(
                        {"error": {"type": "index_not_found_exception"}}, status=self.search_status
                    )
                return web.json_response({"hits": {"total": 1}, "aggregations": {"newest": {"value": self.newest_ms}}})
            return web.json_response({"error": "no handler"}, status=404)

        app.router.add_route("*", "/{tail:.*}", handle)
        return app


def index_row(name, created_days_ago=0.0, docs=10):
    return {"index": name, "health": "green", "status": "open", "docs.count": str(docs), "store.size": "1000",
            "creation.date": str(int((NOW - created_days_ago * 86400) * 1000))}  # fmt: skip


async def read(aiohttp_server, *fakes, **cluster_extra):
    urls = []
    for fake in fakes:
        server = await aiohttp_server(fake.app())
        urls.append(str(server.make_url("")).rstrip("/"))
    s = settings(elasticsearch={"clusters": [{"name": f"c{i}", "urls": [u], **cluster_extra} for i, u in enumerate(urls)]},
                 sources={"elasticsearch": {"timeout_seconds": 2}})  # fmt: skip
    source = ElasticsearchSource(s)
    try:
        return await source.refresh(), s
    finally:
        await source.close()


async def test_requests_per_refresh_are_constant(aiohttp_server):
    few = FakeES([index_row("jaeger-span-2026-11-21")])
    many = FakeES([index_row(f"jaeger-span-2020-{1 + i // 28:02d}-{1 + i % 28:02d}") for i in range(300)]
                  + [index_row("jaeger-span-2026-11-21")] * 1)  # fmt: skip
    many.indices += [index_row(f"jaeger-service-x{i}") for i in range(4700)]
    snap, _ = await read(aiohttp_server, few, many)
    assert [c.requests for c in snap.clusters] == [7, 7]
    assert len(snap.clusters[1].indices) == 5001


async def test_flood_stage_blocked_today_and_stale_spans(aiohttp_server):
    today = "jaeger-span-2026-11-21"
    fake = FakeES(
        [index_row(today), index_row("jaeger-span-2026-11-01", created_days_ago=20), index_row("jaeger-span-27633-07-05")],
        blocks={today: "index.blocks.read_only_allow_delete"},
        newest_ms=(NOW - 3600) * 1000,
        watermark_settings={"persistent": {"cluster.routing.allocation.disk.watermark.flood_stage": "100gb",
                                           "cluster.routing.allocation.disk.watermark.high": "200gb"}},
    )  # fmt: skip
    snap, s = await read(aiohttp_server, fake)
    [tr02] = check_disk_watermarks(snap, s, NOW).findings  # 63 GB available < 100 GB
    assert (tr02.namespace, tr02.kind) == ("c0", "ElasticsearchNode") and "/" not in tr02.name
    assert tr02.severity.label == "critical" and "flood_stage watermark reached" in tr02.message
    [tr03] = check_blocked_indices(snap, s, NOW).findings
    assert tr03.name == today and "read_only_allow_delete" in tr03.message
    assert check_write_index(snap, s, NOW).findings == []
    [tr05] = check_span_freshness(snap, s, NOW).findings
    assert "1h old" in tr05.message
    [tr06] = check_retention(snap, s, NOW).findings
    assert tr06.name == "jaeger-span-2026-11-01"
    [tr07] = check_implausible_dates(snap, s, NOW).findings
    assert tr07.name == "jaeger-span-27633-07-05"
    [tr01] = check_cluster_health(snap, s, NOW).findings  # the recorded 7.13.1 health is yellow
    assert (tr01.namespace, tr01.kind, tr01.name) == ("c0", "ElasticsearchCluster", "c0")
    assert tr01.severity.label == "warning" and "30 unassigned shards" in tr01.message


async def test_tr04_missing_index_after_grace_and_prefix_separator(aiohttp_server):
    fake = FakeES([index_row("logstash-jaeger-span-2026.11.20")], newest_ms=(NOW - 60) * 1000)
    snap, s = await read(aiohttp_server, fake, jaeger={"prefix": "logstash", "date_separator": "."})
    [finding] = check_write_index(snap, s, NOW).findings
    assert finding.name == "logstash-jaeger-span-2026.11.21"
    just_after_midnight = datetime(2026, 11, 21, 0, 10, tzinfo=UTC).timestamp()
    assert check_write_index(snap, s, just_after_midnight).findings == []
    assert snap.clusters[0].write_index == "logstash-jaeger-span-2026.11.20"


@pytest.mark.parametrize(("status", "reason"), [(401, "unauthorized"), (403, "forbidden"), (503, "http_error")])
async def test_http_errors_are_source_errors_with_reason(aiohttp_server, status, reason):
    with pytest.raises(SourceError) as err:
        await read(aiohttp_server, FakeES(status=status))
    assert err.value.reason == reason


async def test_tr01_one_failing_cluster_does_not_hide_the_other(aiohttp_server):
    snap, s = await read(aiohttp_server, FakeES(status=503), FakeES([index_row("jaeger-span-2026-11-21")]))
    assert snap.clusters[0].error is not None and snap.clusters[1].error is None
    result = check_cluster_health(snap, s, NOW)
    ups = {dict(x.labels)["es_cluster"]: x.value for x in result.samples if x.metric == "meshhealth_es_cluster_up"}
    assert ups == {"c0": 0, "c1": 1}


async def test_garbage_huge_and_slow_answers(aiohttp_server):
    async def garbage(request):
        return web.Response(text="<html>proxy</html>")

    async def huge(request):
        return web.Response(body=b"{" + b" " * 5_000_000 + b"}")

    async def slow(request):
        await asyncio.sleep(5)
        return web.json_response({})

    for handler, reason in ((garbage, "invalid_response"), (huge, "too_large"), (slow, "timeout")):
        app = web.Application()
        app.router.add_get("/", handler)
        server = await aiohttp_server(app)
        s = settings(elasticsearch={"clusters": [{"name": "x", "urls": [str(server.make_url("")).rstrip("/")]}],
                                    "max_response_bytes": 1_000_000},
                     sources={"elasticsearch": {"timeout_seconds": 1}})  # fmt: skip
        source = ElasticsearchSource(s)
        with pytest.raises(SourceError) as err:
            await source.refresh()
        await source.close()
        assert err.value.reason == reason, handler


def test_credentials_come_from_files_and_never_from_config_text(tmp_path):
    from exporter.config import ElasticsearchClusterSettings
    from exporter.sources.elasticsearch.source import auth_headers

    (tmp_path / "pw").write_text("s3cret\n")
    cluster = ElasticsearchClusterSettings(name="x", urls=["https://es:9200"], username="jaeger",
                                           password_file=tmp_path / "pw")  # fmt: skip
    assert auth_headers(cluster) == {"Authorization": "Basic amFlZ2VyOnMzY3JldA=="}
    (tmp_path / "key").write_text("abc")
    keyed = ElasticsearchClusterSettings(name="x", urls=["https://es:9200"], api_key_file=tmp_path / "key")
    assert auth_headers(keyed) == {"Authorization": "ApiKey abc"}


async def test_tr02_health_report_cross_check_on_8_7_and_later(aiohttp_server):
    root = {"version": {"number": "8.7.0"}}
    rows = [index_row("jaeger-span-2026-11-21")]
    snap, s = await read(aiohttp_server, FakeES(rows, root=root), FakeES(rows), FakeES(rows, root={"version": {
        "distribution": "opensearch", "number": "2.19.1"}}))  # fmt: skip
    assert [c.requests for c in snap.clusters] == [8, 7, 7]  # only 8.7+ answers _health_report
    assert snap.clusters[0].disk_report["status"] == "green"
    samples = check_disk_watermarks(snap, s, NOW).samples
    report = [dict(x.labels) for x in samples if x.metric == "meshhealth_es_health_report_disk_status"]
    assert report == [{"es_cluster": "c0", "status": "green"}]
    used = [x.value for x in samples if x.metric == "meshhealth_es_disk_used_ratio"]
    assert used and all(0 < u < 1 for u in used)


async def test_tr04_rollover_write_alias(aiohttp_server):
    alias = {"jaeger-span-000002": {"aliases": {"jaeger-span-write": {"is_write_index": True}}},
             "jaeger-span-000001": {"aliases": {"jaeger-span-write": {"is_write_index": False}}}}  # fmt: skip
    rows = [index_row("jaeger-span-000001"), index_row("jaeger-span-000002")]
    snap, s = await read(aiohttp_server, FakeES(rows, alias=alias, newest_ms=NOW * 1000), jaeger={"rollover": True})
    cluster = snap.clusters[0]
    assert cluster.write_alias_target == "jaeger-span-000002" and cluster.write_index == "jaeger-span-000002"
    assert cluster.requests == 8
    assert check_write_index(snap, s, NOW).findings == []
    missing, s = await read(aiohttp_server, FakeES(rows), jaeger={"rollover": True})
    [finding] = check_write_index(missing, s, NOW).findings
    assert "jaeger-span-write" in finding.name


async def test_tr01_health_of_6_8(aiohttp_server):
    snap, s = await read(aiohttp_server, FakeES(health="clusterhealth-6.8.8.json", nodes="nodestats-6.8.8.json"))
    [finding] = check_cluster_health(snap, s, NOW).findings
    assert finding.message.startswith("cluster yellow")


async def test_every_tracing_check_emits_only_declared_metrics(aiohttp_server):
    from exporter.checks import ALL_CHECKS
    from exporter.evaluate import evaluate

    root = {"version": {"number": "8.7.0"}}
    fake = FakeES([index_row(f"jaeger-span-{datetime.fromtimestamp(NOW, UTC):%Y-%m-%d}")], root=root,
                  blocks={"jaeger-span-2026-11-21": "index.blocks.write"}, newest_ms=NOW * 1000)  # fmt: skip
    snap, s = await read(aiohttp_server, fake)
    outcomes = evaluate([c for c in ALL_CHECKS if c.source == "elasticsearch"], {"elasticsearch": snap}, s, NOW)
    assert [(o.check, o.error) for o in outcomes if not o.up] == []


async def test_tr05_tr07_freshness_reads_the_newest_plausible_index_not_a_future_dated_one(aiohttp_server):
    today, future = "jaeger-span-2026-11-21", "jaeger-span-2027-03-14"  # a wrong clock wrote spans "in 2027"
    fake = FakeES([index_row(today), index_row(future)], newest_ms=(NOW - 3 * 3600) * 1000)
    snap, s = await read(aiohttp_server, fake)
    assert snap.clusters[0].write_index == today
    assert "POST /jaeger-span-2026-11-21/_search" in fake.calls
    [tr05] = check_span_freshness(snap, s, NOW).findings
    assert tr05.name == today and "3h old" in tr05.message
    [age] = [x.value for x in check_span_freshness(snap, s, NOW).samples]
    assert age == 3 * 3600
    assert [f.name for f in check_implausible_dates(snap, s, NOW).findings] == [future]


async def test_failed_freshness_query_makes_tr05_not_evaluated(aiohttp_server):
    fake = FakeES([index_row("jaeger-span-2026-11-21")], newest_ms=NOW * 1000, search_status=404)
    snap, s = await read(aiohttp_server, fake)
    assert snap.clusters[0].error is None  # the rest of the cluster was read
    with pytest.raises(NotEvaluated, match=r"c0: newest-span query on jaeger-span-2026-11-21 failed: .*HTTP 404"):
        check_span_freshness(snap, s, NOW)


async def test_tr06_tr07_retention_counts_only_plausible_dates_and_names_the_oldest_real_index(aiohttp_server):
    fake = FakeES([
        index_row("jaeger-span-2026-11-21"),
        index_row("jaeger-span-2026-11-01", created_days_ago=20),
        index_row("jaeger-span-2026-10-30", created_days_ago=22),
        index_row("jaeger-span-1970-01-01", created_days_ago=1),  # a zero clock: TR07's, not TR06's
        index_row("jaeger-span-2031-01-01", created_days_ago=30),  # far future, created long ago: TR07's
    ])  # fmt: skip
    snap, s = await read(aiohttp_server, fake)
    result = check_retention(snap, s, NOW)
    [tr06] = result.findings
    assert tr06.name == "jaeger-span-2026-10-30" and tr06.message.startswith("2 Jaeger indices")
    over = {dict(x.labels)["family"]: x.value for x in result.samples
            if x.metric == "meshhealth_es_jaeger_indices_over_retention"}  # fmt: skip
    assert over["span"] == 2
    [oldest] = [x.value for x in result.samples if x.metric == "meshhealth_es_jaeger_oldest_index_age_seconds"]
    assert oldest == NOW - datetime(2026, 10, 30, tzinfo=UTC).timestamp()
    assert {f.name for f in check_implausible_dates(snap, s, NOW).findings} == {
        "jaeger-span-1970-01-01",
        "jaeger-span-2031-01-01",
    }


async def test_every_url_is_tried_in_order_and_the_good_one_remembered(aiohttp_server):
    broken, good = FakeES(status=503), FakeES([index_row("jaeger-span-2026-11-21")])
    urls = []
    for fake in (broken, good):
        server = await aiohttp_server(fake.app())
        urls.append(str(server.make_url("")).rstrip("/"))
    s = settings(elasticsearch={"clusters": [{"name": "c", "urls": ["http://127.0.0.1:1", *urls]}]})
    source = ElasticsearchSource(s)
    try:
        first = await source.refresh()
        assert first.clusters[0].error is None and first.clusters[0].url == urls[1]
        assert len(broken.calls) == 1
        await source.refresh()
        assert len(broken.calls) == 1  # the URL that answered last time is asked first
    finally:
        await source.close()


async def test_errors_of_every_url_are_readable(aiohttp_server):
    s = settings(elasticsearch={"clusters": [{"name": "c", "urls": ["http://127.0.0.1:1", "http://127.0.0.1:2/"]}]})
    source = ElasticsearchSource(s)
    with pytest.raises(SourceError) as err:
        await source.refresh()
    await source.close()
    message = err.value.message
    assert "SSLContext" not in message and "object at 0x" not in message
    assert "none of 2 URLs answered" in message
    assert "http://127.0.0.1:1: /: cannot connect to 127.0.0.1:1: " in message
    assert "http://127.0.0.1:2: /: cannot connect to 127.0.0.1:2: " in message


async def test_credentials_echoed_by_the_server_never_reach_errors(aiohttp_server, tmp_path):
    async def reflect(request):  # a misconfigured proxy that echoes the request headers in its error page
        return web.Response(status=401, text=f"denied; you sent {dict(request.headers)}")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", reflect)
    server = await aiohttp_server(app)
    password = tmp_path / "password"
    password.write_text("s3cr3t-pa55\n")
    s = settings(elasticsearch={"clusters": [{"name": "x", "urls": [str(server.make_url("")).rstrip("/")],
                                              "username": "monitor", "password_file": str(password)}]})  # fmt: skip
    source = ElasticsearchSource(s)
    with pytest.raises(SourceError) as err:
        await source.refresh()
    await source.close()
    assert err.value.reason == "unauthorized"
    assert "s3cr3t-pa55" not in err.value.message and "bW9uaXRvcjpzM2NyM3QtcGE1NQ==" not in err.value.message
    assert "<redacted>" in err.value.message


def test_missing_credential_or_ca_file_stops_serve_and_check_at_startup(tmp_path, capsys):
    import yaml

    from exporter.cli import main

    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"sources": {"kubernetes": {"enabled": False}}, "elasticsearch": {"clusters": [
        {"name": "x", "urls": ["https://es:9200"], "ca_file": "/nonexistent/ca.crt"}]}}))  # fmt: skip
    assert main(["check", "--config", str(config)]) == 2
    assert "elasticsearch.clusters.0.ca_file: /nonexistent/ca.crt does not exist" in capsys.readouterr().err
    assert main(["generate", "--config", str(config), "--output-dir", str(tmp_path), "--skip-rule-tests"]) == 0


async def test_a_dripping_cluster_fails_alone_and_in_time(aiohttp_server):
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", drip)
    dripping = await aiohttp_server(app)
    healthy = await aiohttp_server(FakeES([index_row("jaeger-span-2026-11-21")]).app())
    s = settings(elasticsearch={"clusters": [{"name": "drip", "urls": [str(dripping.make_url("")).rstrip("/")]},
                                             {"name": "ok", "urls": [str(healthy.make_url("")).rstrip("/")]}]},
                 sources={"elasticsearch": {"timeout_seconds": 1}})  # fmt: skip
    source = ElasticsearchSource(s)
    try:
        # the scheduler would cancel the refresh at timeout_seconds; a bound well above it catches a hang
        snap = await asyncio.wait_for(source.refresh(), 10)
    finally:
        await source.close()
    drip_data, ok = snap.clusters
    assert drip_data.error is not None and drip_data.error.reason == "timeout"
    assert drip_data.error.message == "elasticsearch drip: no complete answer within 0.8s"
    assert ok.error is None
