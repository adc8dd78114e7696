"""Peak memory while the Kubernetes source meets a 500 MB watch event, against its configured limit.

A loopback server streams one watch event of 500 MB (no newline) to the Kubernetes client with the default
limits (max_response_bytes 256 MiB, memory_budget_bytes 512 MiB). The client must refuse it (too_large) with
its peak RSS growth under 2x max_response_bytes. Measured in the same run: the same body read into a plain
``bytes`` by concatenation, the former watch loop (baseline, stopped at the limit too). Each case runs in its
own process (ru_maxrss is per process). Prints peak growth, seconds, and ratios.

Run: make bench  (or .venv/bin/python -m bench.bench_memory)
"""

from __future__ import annotations

import asyncio
import multiprocessing
import resource
import time
from typing import Any

from aiohttp import web

EVENT_BYTES = 500 * 1024 * 1024
CHUNK = 1024 * 1024


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _server() -> tuple[web.AppRunner, str]:
    async def watch(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        await resp.write(b'{"type": "ADDED", "object": {"pad": "')
        block = b"x" * CHUNK
        try:
            for _ in range(EVENT_BYTES // CHUNK):
                await resp.write(block)
        except (ConnectionError, RuntimeError):
            pass
        return resp

    app = web.Application()
    app.router.add_get("/watch", watch)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


async def _current(url: str) -> str:
    from kubernetes_asyncio import client as k8s_client

    from exporter.config import KubernetesSettings
    from exporter.sources.errors import SourceError
    from exporter.sources.kube.client import KubeHttp

    client = KubeHttp(k8s_client.ApiClient(k8s_client.Configuration(host=url)), KubernetesSettings())
    try:
        async for _ in client.stream_json_lines("/watch", {"timeoutSeconds": "60"}):
            pass
        return "read"
    except SourceError as exc:
        return exc.reason
    finally:
        await client.close()


async def _concatenating(url: str) -> str:
    """The former loop: ``buffer += chunk`` on bytes, then a search from the start, until the limit."""
    import aiohttp

    from exporter.config import KubernetesSettings

    limit = KubernetesSettings().max_response_bytes
    async with aiohttp.ClientSession() as session, session.get(url + "/watch") as resp:
        buffer = b""
        async for chunk in resp.content.iter_any():
            buffer += chunk
            if buffer.find(b"\n") >= 0:
                return "line"
            if len(buffer) > limit:
                return "too_large"
    return "read"


def _case(name: str, out: Any) -> None:
    async def run() -> None:
        runner, url = await _server()
        before = _rss_mib()
        start = time.perf_counter()
        result = await (_current(url) if name == "current" else _concatenating(url))
        out.put((name, result, _rss_mib() - before, time.perf_counter() - start))
        await runner.cleanup()

    asyncio.run(run())


def measure(name: str) -> tuple[str, str, float, float]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_case, args=(name, queue))
    proc.start()
    result = queue.get(timeout=600)
    proc.join()
    return result  # type: ignore[no-any-return]


def main() -> None:
    from exporter.config import KubernetesSettings

    limit_mib = KubernetesSettings().max_response_bytes / 1024 / 1024
    baseline = measure("concatenating")
    current = measure("current")
    print(f"500 MB watch event, max_response_bytes {limit_mib:.0f} MiB")
    for name, result, grew, seconds in (baseline, current):
        ratio = grew / limit_mib
        print(f"  {name:14s} -> {result:10s} peak RSS +{grew:6.0f} MiB ({ratio:.2f}x limit) in {seconds:.2f}s")
    print(f"  current / baseline: peak {current[2] / baseline[2]:.2f}, time {current[3] / baseline[3]:.2f}"
          f"  (target: peak < 2x limit; got {current[2] / limit_mib:.2f}x)")  # fmt: skip


if __name__ == "__main__":
    main()
