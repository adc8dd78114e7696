"""istiod source: syncz of every version shape, metrics of old and new versions, replicas over real HTTP.

The syncz documents follow the SyncStatus JSON of each Istio line (pilot/pkg/xds/debug.go): 1.6 without
cluster_id/proxy_type, 1.14 with extensionconfig_*, 1.18 with proxy_type, 1.23+ with resources{typeUrl}.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from aiohttp import web

from exporter.checks.exporter_health import check_istiod_replicas
from exporter.checks.xds import (
    check_disconnected,
    check_stale,
)
from exporter.model import NotEvaluated
from exporter.sources.istiod.metrics import parse_metrics
from exporter.sources.istiod.parser_process import ParserProcess
from exporter.sources.istiod.source import IstiodSnapshot, IstiodSource
from exporter.sources.istiod.syncz import ERROR, NOT_SENT, STALE, SYNCED, classify, parse_syncz
from tests.support import drip
from tests.unit.helpers import settings

CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
LDS = "type.googleapis.com/envoy.config.listener.v3.Listener"
RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"

SYNCZ_1_6 = """[
    {
        "proxy": "productpage-v1-7f44c4d57c-ksf9h.bookinfo",
        "proxy_version": "1.6.10",
        "istio_version": "1.6.10",
        "cluster_sent": "2020-12-15T08:12:01Z/12",
        "cluster_acked": "2020-12-15T08:12:01Z/12",
        "listener_sent": "2020-12-15T08:12:01Z/12",
        "listener_acked": "2020-12-15T08:12:01Z/12",
        "route_sent": "2020-12-15T08:12:01Z/12",
        "route_acked": "2020-12-15T08:12:01Z/12",
        "endpoint_sent": "2020-12-15T08:13:44Z/14",
        "endpoint_acked": "2020-12-15T08:12:01Z/12"
    }
]"""

SYNCZ_1_14 = [{
    "cluster_id": "Kubernetes", "proxy": "details-v1-6758dd9d8d-dhxqs.bookinfo", "istio_version": "1.14.6",
    "cluster_sent": "n1", "cluster_acked": "n1", "listener_sent": "n2", "listener_acked": "n2",
    "route_sent": "n3", "route_acked": "n3", "endpoint_sent": "n4", "endpoint_acked": "n4",
    "extensionconfig_sent": "n5",
}]  # fmt: skip

SYNCZ_1_18 = [{
    "cluster_id": "Kubernetes", "proxy": "istio-ingressgateway-5d8f4b4c9-2lmcv.istio-system",
    "proxy_type": "router", "istio_version": "1.18.7",
    "cluster_sent": "a", "cluster_acked": "a", "listener_sent": "b", "listener_acked": "b",
    "route_sent": "c", "route_acked": "c", "endpoint_sent": "d", "endpoint_acked": "d",
}]  # fmt: skip


def entry_1_23(proxy, eds_sent="e2", eds_acked="e2", lds_error="", version="1.29.2"):
    return {
        "cluster_id": "Kubernetes", "proxy": proxy, "proxy_type": "sidecar", "istio_version": version,
        "cluster_sent": "c1", "cluster_acked": "c1", "listener_sent": "l1", "listener_acked": "l1",
        "endpoint_sent": eds_sent, "endpoint_acked": eds_acked,
        "resources": {
            CDS: {"sent": "c1", "acked": "c1", "sentTime": "2026-11-21T10:00:00Z"},
            LDS: {"sent": "l1", "acked": "l1", "sentTime": "2026-11-21T10:00:00Z", "lastError": lds_error},
            RDS: {"sent": "r1", "acked": "r1", "sentTime": "2026-11-21T10:00:00Z"},
            EDS: {"sent": eds_sent, "acked": eds_acked, "sentTime": "2026-11-21T10:00:01Z"},
        },
    }  # fmt: skip


def statuses(proxy):
    return {t.type: t.status for t in proxy.types}


def test_classification_rules():
    assert classify("", "") == NOT_SENT
    assert classify("n1", "n1") == SYNCED
    assert classify("n2", "n1") == STALE
    assert classify("n1", "") == STALE  # never acknowledged
    assert classify("n1", "n1", "rejected") == ERROR


def test_every_version_shape():
    [p16] = parse_syncz(json.loads(SYNCZ_1_6))
    assert p16.proxy_type == "sidecar" and p16.cluster_id == "" and p16.istio_version == "1.6.10"
    assert statuses(p16) == {"CDS": SYNCED, "LDS": SYNCED, "RDS": SYNCED, "EDS": STALE}
    assert p16.pod_key() == ("bookinfo", "productpage-v1-7f44c4d57c-ksf9h")
    [p114] = parse_syncz(SYNCZ_1_14)
    assert statuses(p114)["ECDS"] == STALE
    [p118] = parse_syncz(SYNCZ_1_18)
    assert p118.proxy_type == "router" and p118.worst == SYNCED
    [p123] = parse_syncz([entry_1_23("a.ns", lds_error="Error adding/updating listener(s) 0.0.0.0_8080: bad filter")])
    assert statuses(p123) == {"CDS": SYNCED, "LDS": ERROR, "RDS": SYNCED, "EDS": SYNCED}
    assert "bad filter" in next(t.error for t in p123.types if t.type == "LDS")


@pytest.mark.parametrize("body", [{"proxies": []}, "nope", 3])
def test_not_a_syncz_document(body):
    with pytest.raises(ValueError, match=r"^syncz is not a JSON list$"):
        parse_syncz(body)


def test_partial_entries_are_tolerated():
    parsed = parse_syncz([{"proxy": "x.y", "resources": {CDS: "junk", EDS: {"sent": 5}}}, {"no": "proxy"}, None])
    assert len(parsed) == 1 and statuses(parsed[0]) == {"EDS": NOT_SENT}


OLD_METRICS = """# TYPE pilot_xds_cds_reject gauge
pilot_xds_cds_reject{node="a.ns",err="x"} 2
# TYPE pilot_rds_expired_nonce counter
pilot_rds_expired_nonce 3
# TYPE citadel_server_root_cert_expiry_timestamp gauge
citadel_server_root_cert_expiry_timestamp 1.9e+09
# TYPE istio_build gauge
istio_build{component="pilot",tag="1.6.10"} 1
# TYPE pilot_conflict_outbound_listener_http_over_current_tcp gauge
pilot_conflict_outbound_listener_http_over_current_tcp 1
"""

NEW_METRICS = """# HELP pilot_total_xds_rejects Total number of XDS responses from pilot rejected by proxy.
# TYPE pilot_total_xds_rejects counter
pilot_total_xds_rejects{type="lds"} 4
# TYPE citadel_server_root_cert_expiry_seconds gauge
citadel_server_root_cert_expiry_seconds 518400
# TYPE istio_build gauge
istio_build{component="pilot",tag="1.29.2"} 1
# TYPE pilot_eds_no_instances gauge
pilot_eds_no_instances 1
# TYPE pilot_total_rejected_configs counter
pilot_total_rejected_configs{name="bookinfo/gw-2",type="gateway"} 3
# TYPE sidecar_injection_failure_total counter
sidecar_injection_failure_total 2
# TYPE pilot_proxy_convergence_time histogram
pilot_proxy_convergence_time_bucket{le="0.1"} 10
pilot_proxy_convergence_time_bucket{le="1"} 20
pilot_proxy_convergence_time_bucket{le="+Inf"} 20
pilot_proxy_convergence_time_sum 3
pilot_proxy_convergence_time_count 20
# TYPE go_goroutines gauge
go_goroutines 300
"""


def test_metrics_of_old_and_new_versions():
    old = parse_metrics(OLD_METRICS)
    assert old.version() == "1.6.10" and old.total("pilot_xds_cds_reject") == 2
    assert old.first("pilot_xds_expired_nonce_total", "pilot_rds_expired_nonce_total") is not None
    new = parse_metrics(NEW_METRICS)
    assert new.version() == "1.29.2" and new.get("go_goroutines") == ()
    assert new.first("pilot_total_xds_rejects_total")[1] == (((("type", "lds"),), 4.0),)
    with pytest.raises(ValueError, match="could not convert"):
        parse_metrics("this is { not metrics")


class FakeReplica:
    """One istiod HTTP endpoint with a given syncz body / status (a real aiohttp server on loopback)."""

    def __init__(self, syncz, status=200, metrics=NEW_METRICS, delay=0.0):
        self.syncz, self.status, self.metrics, self.delay = syncz, status, metrics, delay
        self.auth = []

    def app(self):
        app = web.Application()

        async def syncz(request):
            self.auth.append(request.headers.get("Authorization"))
            await asyncio.sleep(self.delay)
            if self.status != 200:
                return web.Response(status=self.status)
            body = self.syncz if isinstance(self.syncz, bytes) else json.dumps(self.syncz).encode()
            return web.Response(body=body, content_type="application/json")

        async def metrics(request):
            return web.Response(text=self.metrics)

        async def push_status(request):
            return web.json_response({"pilot_eds_no_instances": {
                "outbound|9080|v1-bug|reviews.bookinfo.svc.cluster.local": {}}})  # fmt: skip

        app.router.add_get("/debug/syncz", syncz)
        app.router.add_get("/metrics", metrics)
        app.router.add_get("/debug/push_status", push_status)
        return app


async def start(aiohttp_server, replicas, tmp_path, clock=None, parsers=None, seconds=1, **istio):
    urls = []
    for replica in replicas:
        server = await aiohttp_server(replica.app())
        urls.append(str(server.make_url("")).rstrip("/"))
    token = tmp_path / "token"
    token.write_text("sa-token\n")
    s = settings(istio={"istiod_urls": urls, "debug_token_file": str(token), **istio},
                 sources={"istiod": {"timeout_seconds": seconds}})  # fmt: skip
    source = IstiodSource(s, lambda: None, clock or time.time, parsers=parsers)
    return source, s, urls


@pytest.mark.parametrize("parser", ["thread", "process"])
async def test_dp02_mh02_three_replicas_merged_and_failures_isolated(aiohttp_server, tmp_path, parser):
    ok1 = FakeReplica([entry_1_23("a.bookinfo"), entry_1_23("b.bookinfo", eds_sent="e3")])
    ok2 = FakeReplica([entry_1_23("c.bookinfo")])
    forbidden = FakeReplica([], status=403)
    slow = FakeReplica([], delay=3)
    garbage = FakeReplica(b"<html>oops</html>")
    parsers = ParserProcess if parser == "process" else None  # 5 parser processes start within the replicas' time
    replicas = [ok1, ok2, forbidden, slow, garbage]
    source, s, urls = await start(aiohttp_server, replicas, tmp_path, parsers=parsers, seconds=2.5)
    try:
        snap = await source.refresh()
    finally:
        await source.close()
    by_url = {r.replica.url: r for r in snap.replicas}
    assert len(by_url[urls[0]].proxies) == 2 and len(by_url[urls[1]].proxies) == 1
    assert by_url[urls[0]].metrics == parse_metrics(NEW_METRICS) and by_url[urls[0]].metrics_error == ""
    assert (
        by_url[urls[2]].error.reason == "forbidden"
        and "DEBUG_ENDPOINT_AUTH_ALLOWED_NAMESPACES" in by_url[urls[2]].error.message
    )
    assert by_url[urls[3]].error.reason in ("timeout", "connection")
    assert by_url[urls[4]].error.reason == "invalid_response"
    assert ok1.auth == ["Bearer sa-token"]
    assert not snap.complete
    assert set(snap.stale_since) == {(urls[0], "b.bookinfo", "EDS")}
    replicas = check_istiod_replicas(snap, s, snap.taken_at)
    up = {dict(x.labels)["istiod"]: x.value for x in replicas.samples if x.metric == "meshhealth_istiod_replica_up"}
    assert up == {urls[0]: 1, urls[1]: 1, urls[2]: 0, urls[3]: 0, urls[4]: 0}
    assert {(f.kind, f.namespace) for f in replicas.findings} == {("IstiodURL", "")}  # a URL is not a Pod
    with pytest.raises(NotEvaluated) as blind:
        check_disconnected(snap, s, snap.taken_at)
    assert f"{urls[4]}: istiod {urls[4]}: /debug/syncz answered HTML instead of JSON" in str(blind.value)
    assert "HTTP 403" in str(blind.value)


async def test_all_replicas_refusing_is_a_source_error_not_healthy(aiohttp_server, tmp_path):
    source, _, _ = await start(aiohttp_server, [FakeReplica([], status=403), FakeReplica([], status=403)], tmp_path)
    from exporter.sources.errors import SourceError

    with pytest.raises(SourceError) as err:
        await source.refresh()
    await source.close()
    assert err.value.reason == "forbidden" and "istio-system" in err.value.message


async def test_huge_body_is_rejected(aiohttp_server, tmp_path):
    big = FakeReplica(b"[" + b" " * 3_000_000 + b"]")
    source, _, urls = await start(aiohttp_server, [big, FakeReplica([entry_1_23("a.x")])], tmp_path,
                                  max_response_bytes=1_000_000)  # fmt: skip
    snap = await source.refresh()
    await source.close()
    by_url = {r.replica.url: r for r in snap.replicas}
    assert by_url[urls[0]].error.reason == "too_large"
    assert len(by_url[urls[1]].proxies) == 1


async def test_dp01_stale_since_survives_refreshes_and_clears(aiohttp_server, tmp_path):
    replica = FakeReplica([entry_1_23("a.bookinfo", eds_sent="e3")])
    clock = iter([1000.0, 1400.0, 1500.0])
    source, s, urls = await start(aiohttp_server, [replica], tmp_path, clock=lambda: next(clock))
    try:
        first = await source.refresh()
        second = await source.refresh()
        assert second.stale_since[(urls[0], "a.bookinfo", "EDS")] == 1000.0
        result = check_stale(second, s, 1400.0)
        [finding] = result.findings
        assert finding.name == "a" and finding.namespace == "bookinfo" and "EDS 6m" in finding.message
        stale = [x for x in result.samples if x.metric == "meshhealth_xds_proxy_stale_seconds"]
        assert [x.value for x in stale] == [400.0]
        replica.syncz = [entry_1_23("a.bookinfo")]
        third = await source.refresh()
        assert third.stale_since == {} and check_stale(third, s, 1500.0).findings == []
        assert first.stale_since == {(urls[0], "a.bookinfo", "EDS"): 1000.0}
    finally:
        await source.close()


def snap_of(replica_proxies, metrics=NEW_METRICS, sidecars=(), push=None, rejected=()):
    from exporter.sources.istiod.source import Replica, ReplicaData

    replicas = tuple(
        ReplicaData(Replica(name, "istio-system", "default", f"http://{name}"), None, parse_syncz(p),
                    parse_metrics(metrics), "", push or {}, rejected_delta=rejected)
        for name, p in replica_proxies.items()
    )  # fmt: skip
    return IstiodSnapshot(replicas, {}, tuple(sidecars), 1000.0)


def test_replicas_discovered_from_running_istiod_pods_plus_static_urls():
    from exporter.sources.istiod.source import discover_replicas
    from exporter.sources.kube.projections import project_pod
    from tests.unit.helpers import kube_object, snapshot

    def istiod_pod(name, ip, phase="Running", rev="1-29-2", ns="istio-system"):
        obj = kube_object(
            "pod-reviews-v1-injected",
            metadata={"name": name, "namespace": ns, "labels": {"app": "istiod", "istio.io/rev": rev}},
        )
        obj["status"]["podIP"], obj["status"]["phase"] = ip, phase
        return project_pod(obj)

    pods = [istiod_pod("istiod-1-29-2-a", "10.0.0.5"), istiod_pod("istiod-1-29-2-b", "10.0.0.6", phase="Pending"),
            istiod_pod("istiod-x", "10.0.0.7", ns="default"), project_pod(kube_object("pod-reviews-v1-injected"))]  # fmt: skip
    s = settings(istio={"istiod_urls": ["http://127.0.0.1:15014/"]})
    replicas = discover_replicas(snapshot(pods=pods), s)
    assert [(r.name, r.revision, r.url) for r in replicas] == [
        ("http://127.0.0.1:15014/", "", "http://127.0.0.1:15014"),
        ("istiod-1-29-2-a", "1-29-2", "http://10.0.0.5:15014"),
    ]


def test_sidecar_pods_are_listed_with_nothing_for_the_collector_to_scan():
    """One entry per running pod with a sidecar, made at every refresh (50,000 with 50,000 pods)."""
    from exporter.sources.istiod.source import sidecar_pods
    from exporter.sources.kube.projections import project_pod
    from tests.unit.helpers import kube_object, snapshot, tracked_reachable

    def pod(name, phase="Running"):
        obj = kube_object("pod-reviews-v1-injected", metadata={"name": name, "namespace": "shop"})
        obj["status"]["phase"] = phase
        return project_pod(obj)

    pods = sidecar_pods(snapshot(pods=[pod(f"web-{i}") for i in range(100)] + [pod("done", phase="Succeeded")]))
    assert sorted(pods)[:2] == [("shop", "web-0", pods[0][2]), ("shop", "web-1", pods[0][2])] and len(pods) == 100
    assert pods[0][2] is not None
    assert tracked_reachable(pods) == 0


async def test_unauthorized_replica_explains_the_token(aiohttp_server, tmp_path):
    source, _, _ = await start(aiohttp_server, [FakeReplica([], status=401)], tmp_path)
    from exporter.sources.errors import SourceError

    with pytest.raises(SourceError) as err:
        await source.refresh()
    await source.close()
    assert err.value.reason == "unauthorized" and "token" in err.value.message


def test_every_istiod_check_emits_only_declared_metrics():
    from exporter.checks import ALL_CHECKS
    from exporter.evaluate import evaluate

    snap = snap_of({"a": [entry_1_23("web-1.shop", eds_sent="x", lds_error="bad")]},
                   sidecars=[("shop", "web-2", 0.0)], rejected=(("gateway", "ns/gw", 1.0),),
                   push={"pilot_eds_no_instances": {"outbound|80||web.shop.svc.cluster.local": {}}})  # fmt: skip
    s = settings(findings={"per_proxy_series": True})
    outcomes = evaluate([c for c in ALL_CHECKS if c.source == "istiod"], {"istiod": snap}, s, 1000.0)
    assert [(o.check, o.error) for o in outcomes if not o.up] == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'[{"proxy": "web-1.shop", "cluster_id": "Kuber', "of JSON that ends early: the answer was cut off"),
        (b'[{"proxy": "web-1.shop"}, ', "of JSON that ends early"),
        (b"", "an empty body instead of JSON"),
        (b"<html><body>502 Bad Gateway</body></html>", "HTML instead of JSON"),
        (b"proxy web-1.shop SYNCED", "that are not JSON (Expecting value at byte 0"),
    ],
)
async def test_unreadable_syncz_is_explained(aiohttp_server, tmp_path, body, expected):
    source, _, urls = await start(aiohttp_server, [FakeReplica(body), FakeReplica([entry_1_23("a.x")])], tmp_path)
    snap = await source.refresh()
    await source.close()
    error = next(r.error for r in snap.replicas if r.replica.url == urls[0])
    assert error.reason == "invalid_response" and expected in error.message
    assert "Unterminated string" not in error.message


async def test_dp02_not_evaluated_when_the_pod_cache_failed(aiohttp_server, tmp_path):
    from exporter.sources.kube.snapshot import KubeSnapshot

    url = str((await aiohttp_server(FakeReplica([entry_1_23("a.x")]).app())).make_url("")).rstrip("/")
    s = settings(istio={"istiod_urls": [url]})
    kube = KubeSnapshot({}, {"pods": "forbidden: pods is forbidden"})
    source = IstiodSource(s, lambda: kube)
    snap = await source.refresh()
    await source.close()
    assert not snap.kube_available
    with pytest.raises(NotEvaluated, match="Kubernetes"):
        check_disconnected(snap, s, snap.taken_at)


async def test_a_dripping_replica_fails_alone_and_in_time(aiohttp_server, tmp_path):
    """A replica that sends its headers and then one byte every 0.1 s never trips a read timeout; its share of
    the source's timeout ends it, and the other replica's data is delivered."""

    class Dripping(FakeReplica):
        def app(self):
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", drip)
            return app

    source, _, urls = await start(aiohttp_server, [FakeReplica([entry_1_23("a.bookinfo")]), Dripping([])], tmp_path)
    try:
        snap = await asyncio.wait_for(source.refresh(), 10)  # a bound far above the 1 s source timeout
    finally:
        await source.close()
    by_url = {r.replica.url: r for r in snap.replicas}
    ok, dripping = by_url[urls[0]], by_url[urls[1]]
    assert ok.error is None and len(ok.proxies) == 1
    assert dripping.error is not None and dripping.error.reason == "timeout"
    assert dripping.error.message == f"istiod {urls[1]}: no complete answer within 0.8s"


async def test_a_metrics_body_too_slow_to_parse_fails_its_replica_alone_and_stops_its_parser(aiohttp_server, tmp_path):
    """serve parses /metrics in a parser process per replica: when the replica's time is up, its parse is stopped
    (in a thread it would have kept a core busy for seconds after the replica had failed), and the other replica's
    parses never wait behind it."""
    lines = "".join(f'pilot_xds{{version="{i}",type="eds"}} {i}\n' for i in range(400_000))
    heavy = FakeReplica([entry_1_23("a.bookinfo")])
    fine = FakeReplica([entry_1_23("b.bookinfo")])
    # the refreshes that start a parser process get 10 s: a spawn on a loaded machine can take over a second
    source, roomy, urls = await start(aiohttp_server, [heavy, fine], tmp_path, parsers=ParserProcess, seconds=10)
    tight = settings(istio=roomy.istio.model_dump(), sources={"istiod": {"timeout_seconds": 1}})
    try:
        await source.refresh()  # both parser processes are up
        heavy.metrics, fine.delay = "# TYPE pilot_xds gauge\n" + lines, 0.3  # fine parses while heavy's are parsed
        source._settings = tight
        snap = await source.refresh()
        stopped, running = (source._parsers[source._slots[url]] for url in urls)
        assert stopped._process is None and running._process is not None and running._process.is_alive()
        heavy.metrics = NEW_METRICS
        source._settings = roomy
        again = await source.refresh()
    finally:
        await source.close()
    by_url = {r.replica.url: r for r in snap.replicas}
    assert by_url[urls[0]].error is not None and by_url[urls[0]].error.reason == "timeout"
    assert [p.proxy for p in by_url[urls[1]].proxies] == ["b.bookinfo"] and by_url[urls[1]].metrics is not None
    assert all(r.error is None and r.metrics is not None for r in again.replicas)
    assert (stopped.started, running.started) == (2, 1)  # heavy's was started again for the third refresh
    assert source._parsers == {} and running._process is None  # closed with the source


async def test_replicas_get_a_parser_process_each_up_to_the_limit_and_unused_ones_are_stopped(aiohttp_server, tmp_path):
    replicas = [FakeReplica([entry_1_23(f"{name}.bookinfo")]) for name in "abc"]
    # starting two parser processes can take over a second on a loaded machine
    source, s, urls = await start(
        aiohttp_server, replicas, tmp_path, parsers=ParserProcess, parser_processes=2, seconds=10
    )
    try:
        snap = await source.refresh()
        assert [len(r.proxies) for r in snap.replicas] == [1, 1, 1]
        ordered = sorted(urls)  # replicas from istiod_urls are ordered by URL
        assert source._slots == {ordered[0]: 0, ordered[1]: 1, ordered[2]: 0}  # the third shares the first's
        assert set(source._parsers) == {0, 1} and all(p.started == 1 for p in source._parsers.values())
        second = source._parsers[1]._process
        assert second is not None
        source._settings = settings(istio={**s.istio.model_dump(), "istiod_urls": ordered[1:2]},
                                    sources={"istiod": {"timeout_seconds": 1}})  # fmt: skip
        [replica] = (await source.refresh()).replicas
        assert replica.replica.url == ordered[1] and set(source._parsers) == {0}
        assert not second.is_alive()  # one replica left: its process is the only one
    finally:
        await source.close()
    assert source._parsers == {}


async def test_bodies_are_parsed_in_worker_threads_not_on_the_loop(aiohttp_server, tmp_path, monkeypatch):
    """istiod's /metrics can be tens of MB of text: its pure-Python parse runs in a thread, like syncz's and the
    pass over every proxy that follows."""
    import threading

    import exporter.sources.istiod.source as source_module

    threads: dict[str, str] = {}
    real_metrics, real_syncz = source_module.parse_metrics, source_module.parse_syncz

    def metrics(text):
        threads["metrics"] = threading.current_thread().name
        return real_metrics(text)

    def syncz(document, previous=None):
        threads["syncz"] = threading.current_thread().name
        return real_syncz(document, previous)

    real_track = source_module.IstiodSource._track_stale

    def track(self, data, now):  # a pass over every proxy of every replica
        threads["track_stale"] = threading.current_thread().name
        return real_track(self, data, now)

    monkeypatch.setattr(source_module, "parse_metrics", metrics)
    monkeypatch.setattr(source_module, "parse_syncz", syncz)
    monkeypatch.setattr(source_module.IstiodSource, "_track_stale", track)
    source, _, _ = await start(aiohttp_server, [FakeReplica([entry_1_23("a.bookinfo")])], tmp_path)
    try:
        [replica] = (await source.refresh()).replicas
    finally:
        await source.close()
    assert replica.metrics is not None and set(threads) == {"metrics", "syncz", "track_stale"}
    assert threading.main_thread().name not in threads.values()


async def test_unchanged_proxies_are_kept_across_polls_and_forgotten_with_their_replica(aiohttp_server, tmp_path):
    one, two = FakeReplica([entry_1_23("a.bookinfo")]), FakeReplica([entry_1_23("b.bookinfo")])
    source, s, urls = await start(aiohttp_server, [one, two], tmp_path)
    try:
        first = await source.refresh()
        second = await source.refresh()
        assert [r.proxies[0] for r in second.replicas] == [r.proxies[0] for r in first.replicas]
        assert all(b.proxies[0] is a.proxies[0] for a, b in zip(first.replicas, second.replicas, strict=True))
        assert set(source._proxies) == set(urls)
        # the second replica goes away (a scaled-down or replaced istiod pod): its 20,000 proxies must not stay
        source._settings = s.model_copy(update={"istio": s.istio.model_copy(update={"istiod_urls": urls[:1]})})
        third = await source.refresh()
        assert len(third.replicas) == 1 and set(source._proxies) == {urls[0]}
    finally:
        await source.close()
