"""TM02's probe: which sidecars are candidates, the rotating sample, and GETs against real HTTP servers on
loopback (Envoy's text format, errors, silence, an endless body)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from exporter.sources.errors import SourceError
from exporter.sources.proxy_stats import (
    MAX_CONCURRENT,
    ProxyStatsSource,
    _url,
    probe_stats,
    rotating_window,
    stats_candidates,
)
from tests.scenarios.kube import pod, snap
from tests.support import free_port
from tests.unit.helpers import settings

NOW = 1_700_000_000.0
# the start of a real sidecar's /stats/prometheus (Envoy text format, Istio's standard metrics included)
ENVOY_STATS = (
    b"# TYPE envoy_cluster_assignment_stale counter\n"
    b'envoy_cluster_assignment_stale{cluster_name="xds-grpc"} 0\n'
    b"# TYPE istio_requests_total counter\n"
)


def test_candidates_are_running_injected_pods_with_an_ip_in_stable_order():
    pods = [
        pod(NOW, name="b"), pod(NOW, name="a"), pod(NOW, name="plain", injected=False),
        pod(NOW, name="no-ip", status={"podIP": None}), pod(NOW, name="host", spec={"hostNetwork": True}),
        pod(NOW, name="pending", status={"phase": "Pending"}),
        pod(NOW, name="going", metadata={"deletionTimestamp": "2023-11-14T22:00:00Z"}),
    ]  # fmt: skip
    assert [p.name for p in stats_candidates(snap(pods=pods))] == ["a", "b"]


@pytest.mark.parametrize(
    ("offset", "size", "window", "following"),
    [(0, 2, "ab", 2), (2, 2, "cd", 4), (4, 2, "ea", 1), (7, 3, "cde", 0), (0, 9, "abcde", 0)],
)
def test_rotating_window_wraps_and_covers_everything(offset, size, window, following):
    assert rotating_window(list("abcde"), offset, size) == (list(window), following)
    assert rotating_window([], 3, 2) == ([], 0)


async def stats_server(handler: Any, host: str = "127.0.0.1") -> tuple[web.AppRunner, int]:
    app = web.Application()
    app.router.add_get("/stats/prometheus", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, host, port).start()
    return runner, port


async def envoy(request: web.Request) -> web.Response:
    return web.Response(body=ENVOY_STATS, content_type="text/plain")


async def endless(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    await response.prepare(request)
    await response.write(ENVOY_STATS)
    while True:  # a body that never ends: the probe must stop reading, not wait for it
        await response.write(b"envoy_filler_metric 1\n" * 4096)


async def silent(request: web.Request) -> web.Response:
    await asyncio.sleep(1.5)  # past the probe's 0.3 s
    return web.Response(text="late")


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        (envoy, ""),
        (endless, ""),
        (lambda r: web.Response(status=404, text="no such path"), "HTTP 404"),
        (lambda r: web.Response(text="<html>login</html>"), "answered without Envoy or Istio metrics"),
        (silent, "no answer within 0.3s"),
    ],
)
async def test_probe_against_a_real_server(handler, expected):
    async def wrapped(request: web.Request) -> web.StreamResponse:
        result = handler(request)
        return await result if asyncio.iscoroutine(result) else result

    runner, port = await stats_server(wrapped)
    try:
        async with aiohttp.ClientSession() as session:
            error = await probe_stats(session, f"http://127.0.0.1:{port}/stats/prometheus", 0.3, 65536)
        assert error == expected
    finally:
        await runner.cleanup()


async def test_probe_of_a_closed_port_says_it_cannot_connect():
    async with aiohttp.ClientSession() as session:
        error = await probe_stats(session, f"http://127.0.0.1:{free_port()}/stats/prometheus", 1.0, 65536)
    assert error.startswith("cannot connect: ") and "[Errno" not in error  # the reason, not the exception's repr


async def test_probe_does_not_follow_redirects_and_names_a_dropped_connection():
    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound("/elsewhere")

    async def hang_up(request: web.Request) -> web.Response:
        assert request.transport is not None
        request.transport.close()
        return web.Response(text="never sent")

    for handler, expected in ((redirect, "HTTP 302"), (hang_up, "request failed: ServerDisconnectedError")):
        runner, port = await stats_server(handler)
        try:
            async with aiohttp.ClientSession() as session:
                assert await probe_stats(session, f"http://127.0.0.1:{port}/stats/prometheus", 2, 65536) == expected
        finally:
            await runner.cleanup()


def test_ipv6_pod_addresses_are_bracketed():
    assert _url("fd00:10:244::7", 15090, "/stats/prometheus") == "http://[fd00:10:244::7]:15090/stats/prometheus"
    assert _url("10.244.1.7", 15090, "/stats/prometheus") == "http://10.244.1.7:15090/stats/prometheus"


async def test_source_bounds_concurrency_honours_the_probe_timeout_and_closes():
    in_flight, peak = 0, 0

    async def slow(request: web.Request) -> web.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.2)
        in_flight -= 1
        return web.Response(body=ENVOY_STATS)

    runner, port = await stats_server(slow)
    pods = [pod(NOW, name=f"p{i:02d}", namespace="shop", status={"podIP": "127.0.0.1"}) for i in range(25)]
    s = settings(checks={"TM02": {"sample_size": 25, "port": port, "probe_timeout_seconds": 5}})
    source = ProxyStatsSource(s, lambda: snap(pods=pods))
    assert source.instance == "kubernetes"
    try:
        before = time.time()
        result = await source.refresh()
        assert len(result.probes) == 25 and all(p.error == "" for p in result.probes)
        assert all(before <= p.probed_at <= time.time() for p in result.probes)
        assert peak == MAX_CONCURRENT
        silent_runner, silent_port = await stats_server(silent)
        short = ProxyStatsSource(
            settings(checks={"TM02": {"port": silent_port, "probe_timeout_seconds": 0.3}}), lambda: snap(pods=pods[:1])
        )
        try:
            [late] = (await short.refresh()).probes
            assert late.error == "no answer within 0.3s"
            session = short._session
            await short.close()
            assert session is not None and session.closed and short._session is None
        finally:
            await silent_runner.cleanup()
    finally:
        await source.close()
        await runner.cleanup()


async def test_source_rotates_keeps_latest_results_and_forgets_pods_that_went_away():
    runner, port = await stats_server(envoy)
    # 127.0.0.1 serves stats; nothing listens on 127.0.0.3 (the whole 127/8 is loopback)
    pods = [pod(NOW, name="a", namespace="shop", status={"podIP": "127.0.0.1"}),
            pod(NOW, name="b", namespace="shop", status={"podIP": "127.0.0.3"}),
            pod(NOW, name="c", namespace="shop", status={"podIP": "127.0.0.1"},
                metadata={"annotations": {"prometheus.io/scrape": "false"}})]  # fmt: skip
    world = {"snapshot": snap(pods=pods)}
    s = settings(checks={"TM02": {"sample_size": 2, "port": port, "probe_timeout_seconds": 2}})
    source = ProxyStatsSource(s, lambda: world["snapshot"])
    try:
        first = await source.refresh()
        assert [(p.pod, p.error == "") for p in first.probes] == [("a", True), ("b", False)]
        assert first.probes[1].url == f"http://127.0.0.3:{port}/stats/prometheus"
        assert first.probes[1].error.startswith("cannot connect")
        assert first.scrape_disabled == (("shop", "c"),) and first.candidates == 3
        second = await source.refresh()  # c, then a again
        assert [p.pod for p in second.probes] == ["a", "b", "c"]
        world["snapshot"] = snap(pods=[pods[0], pods[2]])  # b is gone
        third = await source.refresh()
        assert [p.pod for p in third.probes] == ["a", "c"]
        world["snapshot"] = None
        with pytest.raises(SourceError) as err:
            await source.refresh()
        assert err.value.reason == "not_found" and err.value.message == "no fresh Kubernetes data to find sidecars in"
    finally:
        await source.close()
        await runner.cleanup()
