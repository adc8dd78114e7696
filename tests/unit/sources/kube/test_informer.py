"""Informer protocol handling (paging, bookmarks, 410 Gone, reconnects) against a scripted API stream.

The same informer runs against a real kube-apiserver in tests/e2e; this file pins the edge cases
that are hard to provoke there on demand.
"""

import asyncio
import json

import pytest
from aiohttp import web
from kubernetes_asyncio import client as k8s_client

from exporter.config import KubernetesSettings
from exporter.sources.errors import SourceError
from exporter.sources.kube.client import KubeHttp
from exporter.sources.kube.projections import project_namespace
from exporter.sources.kube.resources import ResourceSpec
from exporter.sources.kube.source import KubeSource


def ns(name, rv, phase="Active"):
    return {"metadata": {"name": name, "resourceVersion": str(rv)}, "status": {"phase": phase}}


class ScriptedAPI:
    def __init__(self):
        self.objects = {"a": ns("a", 1), "b": ns("b", 2), "c": ns("c", 3)}
        self.list_rv = "3"
        self.list_status = 200
        self.watches: list[dict] = []
        self.streams: asyncio.Queue = asyncio.Queue()  # one list of events (or "drop") per watch
        self.lists = 0
        self.version_calls = 0
        self.version_delay = 0.0

    async def version(self, request):
        self.version_calls += 1
        if self.version_delay:
            await asyncio.sleep(self.version_delay)
        return web.json_response({"major": "1", "minor": "34", "gitVersion": "v1.34.4"})

    async def discovery(self, request):
        return web.json_response({"resources": [{"name": "namespaces", "namespaced": False}]})

    async def namespaces(self, request):
        if request.query.get("watch"):
            self.watches.append(dict(request.query))
            resp = web.StreamResponse()
            await resp.prepare(request)
            events = await self.streams.get()
            for event in events:
                if event == "drop":
                    return resp
                await resp.write(json.dumps(event).encode() + b"\n")
            await asyncio.sleep(3600)
            return resp
        if self.list_status != 200:
            return web.json_response(
                {"kind": "Status", "code": self.list_status, "message": "namespaces is forbidden: User cannot list"},
                status=self.list_status,
            )
        self.lists += 1
        names = sorted(self.objects)
        start = int(request.query.get("continue") or 0)
        limit = int(request.query["limit"])
        page = names[start : start + limit]
        more = start + limit < len(names)
        meta = {"continue": str(start + limit)} if more else {"resourceVersion": self.list_rv}
        return web.json_response({"items": [self.objects[n] for n in page], "metadata": meta})


@pytest.fixture
async def api(aiohttp_server):
    scripted = ScriptedAPI()
    app = web.Application()
    app.router.add_get("/api/v1", scripted.discovery)
    app.router.add_get("/api/v1/namespaces", scripted.namespaces)
    app.router.add_get("/version", scripted.version)
    server = await aiohttp_server(app)
    scripted.url = str(server.make_url("")).rstrip("/")
    return scripted


def source_for(api, **settings):
    kube_settings = KubernetesSettings(page_size=2, **settings)

    async def connect(s):
        return KubeHttp(k8s_client.ApiClient(k8s_client.Configuration(host=api.url)), s)

    spec = ResourceSpec("namespaces", "", "namespaces", project_namespace)
    return KubeSource(kube_settings, [spec], watch=True, connect=connect)


async def wait_for(predicate, seconds=5.0):
    for _ in range(int(seconds / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


def names(snapshot):
    return sorted((n.name, n.phase) for n in snapshot.get("namespaces"))


async def test_list_pages_then_watch_events_and_bookmarks(api):
    source = source_for(api)
    try:
        snap = await source.refresh()
        assert names(snap) == [("a", "Active"), ("b", "Active"), ("c", "Active")]
        await api.streams.put(
            [
                {"type": "ADDED", "object": ns("d", 4)},
                {"type": "MODIFIED", "object": ns("a", 5, "Terminating")},
                {"type": "DELETED", "object": ns("b", 6)},
                {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "9"}}},
                "drop",
            ]
        )
        await api.streams.put([])
        await wait_for(lambda: len(api.watches) == 2)
        assert api.watches[0]["resourceVersion"] == "3"
        assert api.watches[0]["allowWatchBookmarks"] == "true"
        assert api.watches[1]["resourceVersion"] == "9"  # resumed from the bookmark, no relist
        assert api.lists == 2  # two pages of one list
        assert names(await source.refresh()) == [("a", "Terminating"), ("c", "Active"), ("d", "Active")]
    finally:
        await source.close()


async def test_gone_relists(api):
    source = source_for(api)
    try:
        await source.refresh()
        api.objects = {"x": ns("x", 20)}
        api.list_rv = "20"
        await api.streams.put([{"type": "ERROR", "object": {"kind": "Status", "code": 410, "message": "too old"}}])
        await api.streams.put([])
        await wait_for(lambda: len(api.watches) == 2)
        assert api.watches[1]["resourceVersion"] == "20"
        assert names(await source.refresh()) == [("x", "Active")]
        assert source.stats()["lists"] == 2
    finally:
        await source.close()


async def test_malformed_objects_are_skipped(api):
    api.objects["bad"] = {"metadata": {"resourceVersion": "7"}, "status": "???"}
    source = source_for(api)
    try:
        await api.streams.put([{"type": "ADDED", "object": {"metadata": {}}}, {"type": "ADDED", "object": ns("e", 8)}])
        snap = await source.refresh()
        await wait_for(lambda: len(source._informers[0].items) == 4)
        assert {"a", "b", "c"} <= {n for n, _ in names(snap)}
        assert source.stats()["projection_errors"] == 2
    finally:
        await source.close()


async def test_forbidden_list_is_a_source_error(api):
    api.list_status = 403
    source = source_for(api)
    try:
        with pytest.raises(SourceError) as err:
            await source.refresh()
        assert err.value.reason == "forbidden"
        assert "namespaces is forbidden" in err.value.message
    finally:
        await source.close()


async def test_garbage_and_oversized_answers(api, aiohttp_server):
    async def garbage(request):
        return web.Response(body=b"<html>proxy error</html>")

    app = web.Application()
    app.router.add_get("/api/v1", garbage)
    server = await aiohttp_server(app)
    api.url = str(server.make_url("")).rstrip("/")
    source = source_for(api)
    with pytest.raises(SourceError) as err:
        await source.refresh()
    await source.close()
    assert err.value.reason == "invalid_response"

    async def huge(request):
        return web.Response(body=b"{" + b" " * 5_000_000 + b"}")

    app2 = web.Application()
    app2.router.add_get("/api/v1", huge)
    server2 = await aiohttp_server(app2)
    api.url = str(server2.make_url("")).rstrip("/")
    source = source_for(api, max_response_bytes=1_000_000)
    with pytest.raises(SourceError) as err:
        await source.refresh()
    await source.close()
    assert err.value.reason == "too_large"


async def test_event_with_malformed_metadata_neither_kills_nor_freezes_the_informer(api):
    source = source_for(api)
    try:
        await source.refresh()
        await api.streams.put([
            {"type": "ADDED", "object": {"metadata": "not-an-object", "status": {}}},
            {"type": "MODIFIED", "object": {"metadata": ["a", "list"]}},
            {"type": "ADDED", "object": ns("after", 10)},
            "drop",
        ])  # fmt: skip
        await api.streams.put([{"type": "MODIFIED", "object": ns("a", 11, "Terminating")}])
        await wait_for(lambda: ("after", "Active") in names(KubeSnapshotView(source)))
        await wait_for(lambda: ("a", "Terminating") in names(KubeSnapshotView(source)))  # later watches still apply
        assert not source._tasks[0].done()
        assert source.stats()["projection_errors"] == 2
        await source.refresh()  # still up
    finally:
        await source.close()


async def test_a_failure_nobody_foresaw_is_reported_and_retried(api, monkeypatch):
    source = source_for(api)
    try:
        await source.refresh()
        informer = source._informers[0]
        original = informer._apply

        def broken(event):
            raise RuntimeError("unexpected shape")

        monkeypatch.setattr(informer, "_apply", broken)
        await api.streams.put([{"type": "ADDED", "object": ns("x", 12)}])
        await wait_for(lambda: informer.error is not None)
        with pytest.raises(SourceError) as err:
            await source.refresh()
        assert err.value.reason == "internal" and "RuntimeError: unexpected shape" in err.value.message
        monkeypatch.setattr(informer, "_apply", original)
        await api.streams.put([])
        await wait_for(lambda: informer.error is None and informer.lists >= 2, seconds=10)
        assert not source._tasks[0].done()
    finally:
        await source.close()


async def test_hung_api_server_makes_the_source_fail(api):
    source = source_for(api, request_timeout_seconds=0.5)
    try:
        await source.refresh()
        api.version_delay = 5  # the watch is silent (a black hole looks the same), /version hangs too
        with pytest.raises(SourceError) as err:
            await source.refresh()
        assert err.value.reason == "timeout"
        api.version_delay = 0
        await source.refresh()
    finally:
        await source.close()


async def test_gone_forever_backs_off_and_reports(api):
    source = source_for(api)
    gone = {"type": "ERROR", "object": {"kind": "Status", "code": 410, "message": "too old resource version"}}
    try:
        await source.refresh()
        for _ in range(6):
            await api.streams.put([gone])
        await asyncio.sleep(2.5)
        assert api.lists <= 2 * 5  # two pages per list: a handful of relists, not hundreds
        await wait_for(lambda: source._informers[0].error is not None, seconds=10)
        with pytest.raises(SourceError) as err:
            await source.refresh()
        assert "410 Gone even right after a fresh list" in err.value.message
    finally:
        await source.close()


def test_backoff_is_capped_by_the_configured_maximum():
    from exporter.app import build_sources
    from exporter.checks import ALL_CHECKS
    from tests.unit.helpers import settings

    s = settings(sources={"kubernetes": {"max_backoff_seconds": 7}})
    [kube, *_] = build_sources(s, list(ALL_CHECKS), watch=True)
    assert kube.source._max_backoff == 7


class KubeSnapshotView:
    """The informer caches as refresh() would return them, without the liveness request."""

    def __init__(self, source):
        self.items = [i for inf in source._informers for i in inf.items.values()]

    def get(self, key):
        return tuple(self.items)


def source_with(api, specs, watch=True):
    async def connect(s):
        return KubeHttp(k8s_client.ApiClient(k8s_client.Configuration(host=api.url)), s)

    return KubeSource(KubernetesSettings(page_size=2), specs, watch=watch, connect=connect)


MISSING_CRD = ResourceSpec("gateways", "networking.istio.io", "gateways", lambda o: o)


@pytest.mark.parametrize("watch", [True, False])
async def test_one_unreadable_resource_fails_only_the_checks_that_need_it(api, watch):
    from exporter.checks.base import CheckDef
    from exporter.evaluate import evaluate
    from exporter.model import CheckResult
    from tests.unit.helpers import settings

    namespaces = ResourceSpec("namespaces", "", "namespaces", project_namespace)
    source = source_with(api, [namespaces, MISSING_CRD], watch=watch)
    try:
        snap = await source.refresh()  # the API server does not serve networking.istio.io: the rest is read
        assert names(snap) == [("a", "Active"), ("b", "Active"), ("c", "Active")]
        assert snap.failed["gateways"].startswith("not_found: API group networking.istio.io is not served")
        needs_gateways = CheckDef("X1", "kubernetes", lambda s: [namespaces, MISSING_CRD], lambda *a: CheckResult())
        needs_namespaces = CheckDef("X2", "kubernetes", lambda s: [namespaces], lambda *a: CheckResult())
        blind, fine = evaluate([needs_gateways, needs_namespaces], {"kubernetes": snap}, settings(), 0.0)
        assert not blind.up and "gateways: not_found" in blind.error
        assert fine.up
    finally:
        await source.close()


async def test_every_resource_unreadable_fails_the_source(api):
    api.list_status = 403
    source = source_with(api, [ResourceSpec("namespaces", "", "namespaces", project_namespace), MISSING_CRD])
    try:
        with pytest.raises(SourceError) as err:
            await source.refresh()
        assert err.value.reason in ("forbidden", "not_found")
    finally:
        await source.close()


async def test_errors_keep_the_http_status(api):
    api.list_status = 403
    source = source_for(api)
    try:
        with pytest.raises(SourceError) as err:
            await source.refresh()
        assert err.value.status == 403
    finally:
        await source.close()


async def test_per_resource_state_and_counters_are_exported(api):
    from exporter.metrics.render import build_families, render
    from exporter.model import SourceView

    namespaces = ResourceSpec("namespaces", "", "namespaces", project_namespace)
    source = source_with(api, [namespaces, MISSING_CRD])
    try:
        await source.refresh()
        view = SourceView("kubernetes", api.url, True, True, 1.0, 0.1, {}, resources=tuple(source.resource_stats()))
        body = render(build_families([view], [], 10), process_metrics=False).text.decode()
    finally:
        await source.close()
    assert 'meshhealth_kube_resource_up{resource="gateways"} 0.0' in body
    assert 'meshhealth_kube_resource_up{resource="namespaces"} 1.0' in body
    assert 'meshhealth_kube_objects{resource="namespaces"} 3.0' in body
    assert 'meshhealth_kube_lists_total{resource="namespaces",result="success"} 1.0' in body


def test_cf11_tcp_probe_is_handed_to_the_source_only_when_switched_on():
    from exporter.app import build_sources
    from exporter.checks import ALL_CHECKS
    from tests.unit.helpers import settings

    [kube, *_] = build_sources(settings(), list(ALL_CHECKS), watch=True)
    assert kube.source._tracing_probe_timeout is None
    on = settings(checks={"CF11": {"tcp_probe": True, "probe_timeout_seconds": 0.5}})
    [kube, *_] = build_sources(on, list(ALL_CHECKS), watch=True)
    assert kube.source._tracing_probe_timeout == 0.5
    off = settings(checks={"CF11": {"tcp_probe": True, "enabled": False}})
    [kube, *_] = build_sources(off, list(ALL_CHECKS), watch=True)
    assert kube.source._tracing_probe_timeout is None


async def test_refresh_carries_the_tcp_probe_results(api, monkeypatch):
    from exporter.sources.kube import source as source_module

    seen = []

    async def fake_probe(configmaps, seconds):
        seen.append((list(configmaps), seconds))
        return {"zipkin.tracing:9411": "connection refused"}

    monkeypatch.setattr(source_module, "probe_tracing_backends", fake_probe)
    spec = ResourceSpec("istio_configmaps", "", "namespaces", project_namespace)  # any readable resource will do
    source = source_with(api, [spec], watch=False)
    source._tracing_probe_timeout = 0.5
    try:
        snap = await source.refresh()
    finally:
        await source.close()
    assert snap.probes == {"zipkin.tracing:9411": "connection refused"} and seen[0][1] == 0.5
