"""Wiring: which sources run in which mode; istiod without Kubernetes; one-shot STALE confirmation."""

from __future__ import annotations

import copy

import pytest
from aiohttp import web

from exporter.app import active_checks, build_sources, run_once
from tests.unit.helpers import settings
from tests.unit.sources.istiod.test_source import SYNCZ_1_18, FakeReplica, entry_1_23
from tests.unit.test_cli import UNREACHABLE as UNREACHABLE_KUBECONFIG

ISTIOD_ONLY_CHECKS = {"DP01", "DP02", "DP03", "CP03", "CP04", "CP05", "CP06", "CP07", "CP08", "CP10", "CP11", "MH02"}


class SequencedReplica(FakeReplica):
    """istiod whose syncz answers change from one poll to the next (the last one repeats)."""

    def __init__(self, bodies):
        super().__init__(bodies[0])
        self.bodies = list(bodies)
        self.polls = 0

    def app(self):
        app = super().app()

        @web.middleware
        async def advance(request, handler):
            if request.path == "/debug/syncz":
                self.syncz = self.bodies[min(self.polls, len(self.bodies) - 1)]
                self.polls += 1
            return await handler(request)

        app.middlewares.append(advance)
        return app


async def serve(aiohttp_server, replica):
    server = await aiohttp_server(replica.app())
    return str(server.make_url("")).rstrip("/")


def by_id(outcomes):
    return {o.check: o for o in outcomes}


def test_istiod_urls_keep_istiod_checks_without_kubernetes():
    no_kube = {"kubernetes": {"enabled": False}}
    assert {c.id for c in active_checks(settings(sources=no_kube))} == set()
    with_urls = {c.id for c in active_checks(settings(sources=no_kube, istio={"istiod_urls": ["http://x:15014"]}))}
    assert with_urls == ISTIOD_ONLY_CHECKS
    es = {"clusters": [{"name": "tracing", "urls": ["http://127.0.0.1:1"]}]}
    s = settings(sources=no_kube, istio={"istiod_urls": ["http://x:15014"]}, elasticsearch=es)
    names = [state.source.name for state in build_sources(s, active_checks(s), watch=True)]
    assert names == ["istiod", "elasticsearch"]


async def test_check_reads_istiod_without_kubernetes(aiohttp_server):
    url = await serve(aiohttp_server, FakeReplica([entry_1_23("a.shop", eds_sent="e3")]))
    s = settings(sources={"kubernetes": {"enabled": False}}, istio={"istiod_urls": [url]})
    result = await run_once(s)
    assert [(v.name, v.up) for v in result.sources] == [("istiod", True)]
    outcomes = by_id(result.outcomes)
    assert set(outcomes) == ISTIOD_ONLY_CHECKS
    assert not outcomes["DP02"].up and "Kubernetes" in outcomes["DP02"].error
    assert all(o.up for check, o in outcomes.items() if check != "DP02"), outcomes
    [finding] = outcomes["DP01"].result.findings  # sentTime is a day old: STALE far past the threshold
    assert finding.name == "a" and "(sent e3, acknowledged only e2)" in finding.message


async def test_unreachable_kubernetes_does_not_stop_istiod(aiohttp_server, tmp_path):
    url = await serve(aiohttp_server, FakeReplica([entry_1_23("a.shop")]))
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(UNREACHABLE_KUBECONFIG)
    s = settings(
        kubernetes={"kubeconfig": str(kubeconfig), "mode": "kubeconfig"},
        istio={"istiod_urls": [url]},
        sources={"kubernetes": {"timeout_seconds": 2}},
    )
    result = await run_once(s)
    sources = {v.name: v.up for v in result.sources}
    assert sources == {"kubernetes": False, "istiod": True}
    outcomes = by_id(result.outcomes)
    assert outcomes["DP01"].up and outcomes["MH02"].up
    assert not outcomes["DP02"].up and not outcomes["CP01"].up


def legacy(endpoint_sent: str, endpoint_acked: str) -> list[dict[str, str]]:
    entry = copy.deepcopy(SYNCZ_1_18[0])
    entry.update(proxy="web-1.shop", proxy_type="sidecar", endpoint_sent=endpoint_sent, endpoint_acked=endpoint_acked)
    return [entry]


async def test_one_shot_confirms_stale_without_send_time(aiohttp_server):
    replica = SequencedReplica([legacy("d2", ""), legacy("d2", "")])
    url = await serve(aiohttp_server, replica)
    s = settings(sources={"kubernetes": {"enabled": False}}, istio={"istiod_urls": [url], "stale_confirm_seconds": 0.2})
    result = await run_once(s)
    assert replica.polls == 2
    [finding] = by_id(result.outcomes)["DP01"].result.findings
    assert finding.name == "web-1" and finding.namespace == "shop"
    assert "EDS (never acknowledged)" in finding.message and "age is unknown" in finding.message


@pytest.mark.parametrize(
    "second",
    [
        legacy("d3", "d3"),  # acknowledged meanwhile: SYNCED
        legacy("d3", "d2"),  # a new push: STALE again, but not the same update, so not confirmed
    ],
)
async def test_one_shot_does_not_report_stale_that_moved(aiohttp_server, second):
    replica = SequencedReplica([legacy("d2", "d1"), second])
    url = await serve(aiohttp_server, replica)
    s = settings(sources={"kubernetes": {"enabled": False}}, istio={"istiod_urls": [url], "stale_confirm_seconds": 0.1})
    result = await run_once(s)
    assert replica.polls == 2
    assert by_id(result.outcomes)["DP01"].result.findings == []


async def test_one_shot_polls_once_when_nothing_is_stale(aiohttp_server):
    replica = SequencedReplica([legacy("d2", "d2")])
    url = await serve(aiohttp_server, replica)
    s = settings(sources={"kubernetes": {"enabled": False}}, istio={"istiod_urls": [url], "stale_confirm_seconds": 5})
    result = await run_once(s)
    assert replica.polls == 1 and by_id(result.outcomes)["DP01"].result.findings == []


async def test_elasticsearch_only_mode(aiohttp_server):
    from tests.unit.sources.elasticsearch.test_source import FakeES, index_row

    fake = FakeES([index_row("jaeger-span-2026-11-21")], health="clusterhealth-6.8.8.json")
    server = await aiohttp_server(fake.app())
    es = {"clusters": [{"name": "tracing", "urls": [str(server.make_url("")).rstrip("/")]}]}
    s = settings(sources={"kubernetes": {"enabled": False}}, elasticsearch=es)
    result = await run_once(s)
    assert [(v.name, v.up) for v in result.sources] == [("elasticsearch", True)]
    assert set(by_id(result.outcomes)) == {"TR01", "TR02", "TR03", "TR04", "TR05", "TR06", "TR07"}
    assert all(o.up for o in result.outcomes), [(o.check, o.error) for o in result.outcomes]


def test_serve_reads_istiod_without_kubernetes():
    from exporter.app import Exporter

    s = settings(sources={"kubernetes": {"enabled": False}}, istio={"istiod_urls": ["http://127.0.0.1:15014"]})
    exporter = Exporter(s)
    assert [state.source.name for state in exporter.states] == ["istiod"]
    assert {c.id for c in exporter.checks} == ISTIOD_ONLY_CHECKS


async def test_updates_run_off_the_loop_coalesce_and_survive_a_failing_run(monkeypatch):
    import asyncio
    import threading

    import exporter.app as app_module
    from exporter.app import Exporter

    exporter = Exporter(settings(sources={"kubernetes": {"enabled": False}}))
    real = app_module.evaluate
    release, entered = threading.Event(), threading.Event()
    threads: list[str] = []
    calls = {"n": 0}

    def slow_evaluate(*args, **kwargs):
        calls["n"] += 1
        threads.append(threading.current_thread().name)
        if calls["n"] == 1:
            entered.set()
            release.wait(10)  # the first run holds its worker thread until the test lets it go
        if calls["n"] == 2:
            raise RuntimeError("a check's bug")
        return real(*args, **kwargs)

    monkeypatch.setattr(app_module, "evaluate", slow_evaluate)
    before = exporter.rendered
    exporter.request_update()
    await asyncio.to_thread(entered.wait, 10)
    # the loop keeps running while the first run is busy: ticks advance and /metrics keeps its last body
    for _ in range(5):
        await asyncio.sleep(0)
    assert exporter.rendered is before
    for _ in range(3):
        exporter.request_update()  # three requests while busy: one more run, not three
    release.set()
    await exporter._update_task
    assert calls["n"] == 2 and threading.main_thread().name not in threads
    assert exporter.rendered is not before  # the first run's result was applied; the failing second kept it
    exporter.request_update()  # a failed run does not stop later ones
    await exporter._update_task
    assert calls["n"] == 3 and exporter.updated_at is not None
    # the exporter's own load: the three requests that waited, and how long the previous run took
    body = exporter.rendered.text.decode()
    assert "meshhealth_updates_coalesced_total 3.0" in body
    [duration] = [float(line.split()[1]) for line in body.splitlines()
                  if line.startswith("meshhealth_update_duration_seconds ")]  # fmt: skip
    assert 0 < duration < 10
    await exporter.stop()
