"""One memory budget per source: answers in flight share it, each gives back what it held when done."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import ClientSession, web
from kubernetes_asyncio import client as k8s_client

from exporter.config import KubernetesSettings
from exporter.sources.errors import SourceError
from exporter.sources.http import BudgetExhausted, MemoryBudget, read_bounded
from exporter.sources.kube.client import KubeHttp


def test_reservations_share_the_budget_and_give_back_on_exit():
    budget = MemoryBudget("x", 100, "x.memory_budget_bytes")
    with budget.reserve() as a:
        a.take(60)
        with budget.reserve() as b:
            with pytest.raises(BudgetExhausted, match=r"x source's memory budget \(100 bytes"):
                b.take(41)
            b.take(40)
            assert budget.held == 100
        assert budget.held == 60
        a.give(10)
        assert budget.held == 50 and a.size == 50
    assert budget.held == 0 and budget.peak == 100


def test_an_exception_inside_gives_everything_back():
    budget = MemoryBudget("x", 100, "s")

    def fail() -> None:
        with budget.reserve() as held:
            held.take(70)
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fail()
    assert budget.held == 0


def body_app(size: int) -> web.Application:
    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()  # chunked: no Content-Length to refuse early
        await resp.prepare(request)
        for _ in range(size // 10_000):
            await resp.write(b"x" * 10_000)
        return resp

    app = web.Application()
    app.router.add_get("/", handler)
    return app


async def test_read_bounded_counts_chunks_and_the_joined_copy(aiohttp_server):
    server = await aiohttp_server(body_app(200_000))
    budget = MemoryBudget("x", 1_000_000, "s")
    async with ClientSession() as session, session.get(server.make_url("/")) as resp:
        with budget.reserve() as held:
            body = await read_bounded(resp, 500_000, held)
            assert body is not None and len(body) == 200_000
            assert held.size == 200_000  # the chunks; the joined copy was given back
    assert budget.held == 0
    assert budget.peak == 400_000  # chunks and their joined copy, for a moment


async def test_read_bounded_stops_at_the_budget(aiohttp_server):
    server = await aiohttp_server(body_app(300_000))
    budget = MemoryBudget("x", 250_000, "s")
    async with ClientSession() as session, session.get(server.make_url("/")) as resp:
        with pytest.raises(BudgetExhausted), budget.reserve() as held:
            await read_bounded(resp, 10_000_000, held)
    assert budget.held == 0


class Lists:
    """A list endpoint answering 400 kB slowly, and a watch endpoint with events split across chunks."""

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def big_list(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        await resp.write(b'{"items": [], "pad": "' + b"x" * 400_000)
        await self.release.wait()
        await resp.write(b'", "metadata": {"resourceVersion": "1"}}')
        return resp

    async def watch(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        events = [{"type": "ADDED", "object": {"metadata": {"name": f"n{i}"}, "pad": "y" * (i * 50_000)}}
                  for i in range(4)]  # fmt: skip
        text = (
            b"".join(json.dumps(e).encode() + b"\n" for e in events)
            + b"\n"
            + json.dumps({"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "9"}}}).encode()
        )  # the last event has no newline
        for i in range(0, len(text), 7_777):  # chunks that cut events anywhere
            await resp.write(text[i : i + 7_777])
        return resp


@pytest.fixture
async def kube(aiohttp_server):
    lists = Lists()
    app = web.Application()
    app.router.add_get("/big", lists.big_list)
    app.router.add_get("/watch", lists.watch)
    server = await aiohttp_server(app)
    return lists, str(server.make_url("")).rstrip("/")


def http(url: str, **settings: int) -> KubeHttp:
    return KubeHttp(k8s_client.ApiClient(k8s_client.Configuration(host=url)), KubernetesSettings(**settings))


async def held_at_least(client: KubeHttp, size: int) -> None:
    for _ in range(500):
        if client.budget.held >= size:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"budget never reached {size}: {client.budget.held}")


async def test_concurrent_lists_share_the_kubernetes_budget(kube):
    lists, url = kube
    client = http(url, max_response_bytes=1_000_000, memory_budget_bytes=1_000_000)
    first = asyncio.create_task(client.get_json("/big"))
    await held_at_least(client, 400_000)
    second = asyncio.create_task(client.get_json("/big"))
    await held_at_least(client, 800_000)
    lists.release.set()  # both go on: 2 x 400 kB held, then each needs its joined copy as well
    results = await asyncio.gather(first, second, return_exceptions=True)
    [error] = [r for r in results if isinstance(r, SourceError)]  # the one that would pass the budget fails
    assert error.reason == "too_large" and "kubernetes.memory_budget_bytes" in str(error)
    assert [r["metadata"] for r in results if isinstance(r, dict)] == [{"resourceVersion": "1"}]  # the other is read
    assert client.budget.held == 0
    await client.close()


async def test_watch_lines_split_across_chunks_and_budget_given_back(kube):
    _, url = kube
    client = http(url)
    events = [e async for e in client.stream_json_lines("/watch", {"timeoutSeconds": "5"})]
    assert [e["object"]["metadata"].get("name") for e in events] == ["n0", "n1", "n2", "n3", None]
    assert events[-1]["type"] == "BOOKMARK"
    assert [len(e["object"].get("pad", "")) for e in events[:4]] == [0, 50_000, 100_000, 150_000]
    assert client.budget.held == 0 and 0 < client.budget.peak < 250_000  # never the whole stream at once
    await client.close()


async def test_watch_event_larger_than_the_budget_is_too_large(kube):
    _, url = kube
    client = http(url, max_response_bytes=100_000, memory_budget_bytes=120_000)
    with pytest.raises(SourceError) as err:
        [e async for e in client.stream_json_lines("/watch", {"timeoutSeconds": "5"})]
    assert err.value.reason == "too_large"
    assert client.budget.held == 0
    await client.close()


@pytest.mark.parametrize(("size", "off_loop"), [(200_000, False), (2_000_000, True)])
async def test_a_large_body_is_joined_off_the_loop(aiohttp_server, monkeypatch, size, off_loop):
    import threading

    import exporter.sources.http as http

    joined_in: list[threading.Thread] = []

    def join(chunks: list[bytes]) -> bytes:
        joined_in.append(threading.current_thread())
        return b"".join(chunks)

    monkeypatch.setattr(http, "join_chunks", join)
    server = await aiohttp_server(body_app(size))
    async with ClientSession() as session, session.get(server.make_url("/")) as resp:
        body = await read_bounded(resp, 10_000_000)
    assert body == b"x" * size
    assert (joined_in[0] is not threading.main_thread()) is off_loop


def drip_app(size: int) -> web.Application:
    """Sends ``size`` bytes, then nothing more (the reader's time runs out)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        for _ in range(size // 10_000):
            await resp.write(b"x" * 10_000)
        await asyncio.sleep(30)
        return resp

    app = web.Application()
    app.router.add_get("/", handler)
    return app


@pytest.mark.parametrize(
    ("make_app", "size", "limit", "budget", "outcome", "given_back"),
    [
        (body_app, 200_000, 10_000_000, None, "body", False),
        (body_app, 2_000_000, 10_000_000, None, "body", True),
        (body_app, 3_000_000, 1_500_000, None, "none", True),
        (body_app, 300_000, 100_000, None, "none", False),
        (body_app, 3_000_000, 10_000_000, 1_500_000, "over budget", True),
        (drip_app, 2_000_000, 10_000_000, None, "cancelled", True),
        (drip_app, 200_000, 10_000_000, None, "cancelled", False),
    ],
)
async def test_the_heap_is_handed_back_once_the_chunks_of_a_large_body_are_freed(
    aiohttp_server, monkeypatch, make_app, size, limit, budget, outcome, given_back
):
    """Read, refused, over the source's budget or given up, a body of 1 MiB or more leaves its chunks' holes in
    the heap: glibc would keep them, and the largest body so far would stay in the RSS for good."""
    import exporter.sources.http as http
    from exporter.sources.http import BudgetExhausted, MemoryBudget

    seen: list[list[bytes]] = []
    chunks_alive: list[int] = []

    def join(chunks: list[bytes]) -> bytes:
        seen.append(chunks)
        return b"".join(chunks)

    def give_back() -> None:
        chunks_alive.append(sum(len(c) for c in seen[0]) if seen else 0)

    monkeypatch.setattr(http, "join_chunks", join)
    monkeypatch.setattr(http, "give_back_memory", give_back)
    server = await aiohttp_server(make_app(size))  # an application per run: it binds to the run's loop
    held = MemoryBudget("test", budget, "budget").reserve() if budget else None
    async with ClientSession() as session, session.get(server.make_url("/")) as resp:
        if outcome == "cancelled":
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(read_bounded(resp, limit, held), 1.0)
        elif outcome == "over budget":
            with pytest.raises(BudgetExhausted):
                await read_bounded(resp, limit, held)
        else:
            body = await read_bounded(resp, limit, held)
            assert (body is not None) is (outcome == "body")
    for _ in range(100):  # handed back from a worker thread
        if chunks_alive or not given_back:
            break
        await asyncio.sleep(0.01)
    assert chunks_alive == ([0] if given_back else [])  # once, after the chunks were let go
