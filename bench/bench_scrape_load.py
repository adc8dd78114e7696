"""/metrics under load, during refreshes, against a static aiohttp server of the same bytes (the baseline).

The exporter runs as its own process against loopback upstreams (tests/faults.py): two istiod replicas with
20,000 proxies each, refreshed every second, so /metrics is served while refreshes and checks run. A static
aiohttp server (own process) serves the exporter's last /metrics body. A load generator (own process) keeps 1,
20 and 100 scrapers busy for 10 s against each, plain text and gzip, in 5 alternating rounds of 2 s (static,
exporter, static, ...) so that both see the same machine noise. Prints p50/p99 of both over all rounds and the
ratios (target: p99 ratio <= 1.5).

Run: make bench  (or .venv/bin/python -m bench.bench_scrape_load)
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

SECONDS = 10.0
ROUNDS = 5
CONCURRENCY = (1, 20, 100)


def _static_server(body: bytes, port: Any) -> None:
    from aiohttp import web

    async def handler(request: web.Request) -> web.Response:
        resp = web.Response(body=body, content_type="text/plain", charset="utf-8")
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            resp.enable_compression()
        return resp

    async def run() -> None:
        app = web.Application()
        app.router.add_get("/metrics", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port.value = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        await asyncio.Event().wait()

    asyncio.run(run())


def _load(url: str, concurrency: int, gzip: bool, seconds: float, out: Any) -> None:
    import aiohttp

    async def run() -> list[float]:
        latencies: list[float] = []
        deadline = time.perf_counter() + seconds
        headers = {"Accept-Encoding": "gzip" if gzip else "identity"}
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

            async def scraper() -> None:
                while time.perf_counter() < deadline:
                    start = time.perf_counter()
                    async with session.get(url, headers=headers) as resp:
                        await resp.read()
                        assert resp.status == 200
                    latencies.append(time.perf_counter() - start)

            await asyncio.gather(*(scraper() for _ in range(concurrency)))
        return latencies

    out.put(asyncio.run(run()))


def _round(url: str, concurrency: int, gzip: bool) -> list[float]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_load, args=(url, concurrency, gzip, SECONDS / ROUNDS, queue))
    proc.start()
    latencies: list[float] = queue.get(timeout=120)
    proc.join()
    return latencies


def _quantiles(latencies: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return q[49], q[98]


def measure(
    static: str, exporter: str, concurrency: int, gzip: bool
) -> tuple[tuple[float, float], tuple[float, float]]:
    """p50 and p99 of the static server and of the exporter, over alternating rounds."""
    base: list[float] = []
    ours: list[float] = []
    for _ in range(ROUNDS):
        base += _round(static, concurrency, gzip)
        ours += _round(exporter, concurrency, gzip)
    return _quantiles(base), _quantiles(ours)


def main() -> None:
    import tests.faults as faults
    from tests.faults import KUBECONFIG, SYNCZ, Upstream, istiod_api, kube_api
    from tests.support import start_exporter, wait_for

    one = json.loads(SYNCZ)[0]
    faults.SYNCZ = json.dumps([{**one, "proxy": f"web-{i}.team-{i % 50}"} for i in range(20_000)])
    kube, a, b = Upstream(kube_api), Upstream(istiod_api), Upstream(istiod_api)
    tmp = Path(tempfile.mkdtemp())
    (tmp / "kubeconfig").write_text(KUBECONFIG.format(url=kube.url))
    source = {"interval_seconds": 1, "timeout_seconds": 5}
    config = {"sources": {"kubernetes": source, "istiod": source}, "istio": {"istiod_urls": [a.url, b.url]}}
    (tmp / "config.json").write_text(json.dumps(config))
    exporter = start_exporter(["--config", str(tmp / "config.json"), "--kubeconfig", str(tmp / "kubeconfig")],
                              log=tmp / "exporter.log")  # fmt: skip
    ctx = multiprocessing.get_context("spawn")
    try:
        wait_for(lambda: b"meshhealth_istiod_connected_proxies" in exporter.get("/metrics")[2], 60, "first refresh")
        body = exporter.get("/metrics")[2]
        port = ctx.Value("i", 0)
        static = ctx.Process(target=_static_server, args=(body, port), daemon=True)
        static.start()
        while port.value == 0:
            time.sleep(0.05)
        print(f"/metrics of {len(body):,} bytes, exporter refreshing istiod (2 x 20,000 proxies) every second; "
              f"{SECONDS:g} s per case and server, in {ROUNDS} alternating rounds")  # fmt: skip
        print(f"{'case':22s} {'static p50':>10s} {'p99':>8s} {'exporter p50':>12s} {'p99':>8s} "
              f"{'p50 ratio':>9s} {'p99 ratio':>9s}")  # fmt: skip
        for gzip in (False, True):
            for concurrency in CONCURRENCY:
                base, ours = measure(
                    f"http://127.0.0.1:{port.value}/metrics", exporter.url + "/metrics", concurrency, gzip
                )
                name = f"{concurrency} scrapers{' gzip' if gzip else ''}"
                print(f"{name:22s} {base[0] * 1000:8.1f}ms {base[1] * 1000:6.1f}ms {ours[0] * 1000:10.1f}ms "
                      f"{ours[1] * 1000:6.1f}ms {ours[0] / base[0]:9.2f} {ours[1] / base[1]:9.2f}")  # fmt: skip
        static.terminate()
    finally:
        exporter.process.terminate()
        exporter.process.wait(10)
        for upstream in (kube, a, b):
            upstream.stop()
    print("target: p99 ratio <= 1.5 during refreshes")


if __name__ == "__main__":
    main()
