"""Elasticsearch source benchmark: requests per refresh and refresh CPU with 50 vs 5,000 Jaeger indices.

The cluster is served by a separate process over loopback. Prints the requests per refresh (must not
change with the number of indices) and the refresh + checks CPU time relative to a bare json.loads of
the _cat/indices body. Run: make bench  (or .venv/bin/python -m bench.bench_elasticsearch)
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import socket
import time
from datetime import UTC, datetime, timedelta

from exporter.checks import ALL_CHECKS
from exporter.config import load_settings
from exporter.evaluate import evaluate
from exporter.sources.elasticsearch.source import ElasticsearchSource


def cat_body(count: int) -> bytes:
    start = datetime(2026, 11, 21, tzinfo=UTC)
    rows = []
    for i in range(count):
        day = start - timedelta(hours=i)
        family = ("span", "service")[i % 2]
        rows.append(
            {
                "index": f"jaeger-{family}-{day:%Y-%m-%d}-{day:%H}",
                "health": "green",
                "status": "open",
                "docs.count": "1000",
                "store.size": "123456",
                "creation.date": str(int(day.timestamp() * 1000)),
            }
        )
    return json.dumps(rows).encode()


def serve(port: int, cat: bytes) -> None:
    from aiohttp import web

    async def handle(request: web.Request) -> web.Response:
        path = request.path
        if path == "/":
            return web.json_response({"version": {"number": "7.10.2"}})
        if path == "/_cluster/health":
            return web.json_response({"status": "green", "unassigned_shards": 0})
        if path == "/_nodes/stats/fs":
            return web.json_response(
                {
                    "nodes": {
                        "n": {
                            "name": "data-0",
                            "roles": ["data"],
                            "fs": {
                                "data": [{"path": "/data", "total_in_bytes": 10**12, "available_in_bytes": 5 * 10**11}]
                            },
                        }
                    }
                }
            )
        if path == "/_cluster/settings":
            return web.json_response({"defaults": {"cluster.routing.allocation.disk.watermark.flood_stage": "95%"}})
        if path.startswith("/_cat/indices/"):
            return web.Response(body=cat, content_type="application/json")
        if path.endswith("/_search"):
            return web.json_response({"aggregations": {"newest": {"value": time.time() * 1000}}})
        return web.json_response({})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure(count: int) -> tuple[int, float, float]:
    cat = cat_body(count)
    port = free_port()
    server = multiprocessing.Process(target=serve, args=(port, cat), daemon=True)
    server.start()
    time.sleep(1.5)
    try:
        settings = load_settings(
            None,
            {
                "elasticsearch": {
                    "clusters": [{"name": "tracing", "urls": [f"http://127.0.0.1:{port}"], "jaeger": {"hourly": True}}]
                }
            },
        )
        checks = [c for c in ALL_CHECKS if c.source == "elasticsearch"]

        async def once() -> tuple[int, float]:
            source = ElasticsearchSource(settings)
            try:
                await source.refresh()
                start = time.process_time()
                snapshot = await source.refresh()
                evaluate(checks, {"elasticsearch": snapshot}, settings, time.time())
                return snapshot.clusters[0].requests, time.process_time() - start
            finally:
                await source.close()

        requests, cpu = min(asyncio.run(once()) for _ in range(3))
        start = time.process_time()
        for _ in range(5):
            json.loads(cat)
        baseline = (time.process_time() - start) / 5
        return requests, cpu, baseline
    finally:
        server.terminate()


def main() -> None:
    small = measure(50)
    large = measure(5000)
    print(f"requests per refresh: {small[0]} with 50 indices, {large[0]} with 5,000 indices")
    print(
        f"5,000 indices: refresh + tracing checks {large[1] * 1000:.0f} ms CPU, json.loads of _cat/indices "
        f"{large[2] * 1000:.1f} ms -> ratio {large[1] / large[2]:.1f}; 50 indices: {small[1] * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
