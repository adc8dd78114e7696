"""istiod source benchmark: 20,000 proxies over 3 replicas, fetched over loopback.

Prints, against baselines measured in the same run:
- CPU time of one full refresh (fetch, parse, classify) + all istiod checks + rendering /metrics,
  relative to a bare json.loads of the same syncz bodies (target: <= 3);
- /metrics body size with default settings for 2,000 and 20,000 healthy proxies (must not grow).

The replicas are served by a separate process so the server's CPU is not counted.
Run: make bench  (or .venv/bin/python -m bench.bench_istiod)
"""

from __future__ import annotations

import json
import multiprocessing
import socket
import time
from typing import Any

from exporter.checks import ALL_CHECKS
from exporter.config import load_settings
from exporter.evaluate import evaluate
from exporter.metrics.render import build_families, render
from exporter.model import SourceView
from exporter.sources.istiod.source import IstiodSource

TYPES = {
    "type.googleapis.com/envoy.config.cluster.v3.Cluster": "cluster",
    "type.googleapis.com/envoy.config.listener.v3.Listener": "listener",
    "type.googleapis.com/envoy.config.route.v3.RouteConfiguration": "route",
    "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment": "endpoint",
}
SENT = "2026-11-21T10:00:00.123456Z"
METRICS = """# TYPE istio_build gauge
istio_build{component="pilot",tag="1.29.2"} 1
# TYPE pilot_total_xds_rejects counter
pilot_total_xds_rejects{type="eds"} 3
# TYPE pilot_eds_no_instances gauge
pilot_eds_no_instances 0
# TYPE citadel_server_root_cert_expiry_seconds gauge
citadel_server_root_cert_expiry_seconds 3.1e+08
"""


def syncz(replica: int, count: int) -> bytes:
    entries = []
    for i in range(count):
        nonce = f"2026-11-21T10:00:00Z/{i % 97}"
        stale = replica == 0 and i < 5  # the same five problems in every mesh size
        resources = {
            url: {"sent": nonce, "acked": "" if stale and short == "endpoint" else nonce, "sentTime": SENT}
            for url, short in TYPES.items()
        }
        entry: dict[str, Any] = {
            "cluster_id": "Kubernetes",
            "proxy": f"app-{replica}-{i}-5b5d6494f4-x7k2p.team-{i % 300}",
            "proxy_type": "sidecar",
            "istio_version": "1.29.2",
            "resources": resources,
        }
        for url, short in TYPES.items():
            entry[f"{short}_sent"] = resources[url]["sent"]
            entry[f"{short}_acked"] = resources[url]["acked"]
        entries.append(entry)
    return json.dumps(entries, indent=4).encode()  # istiod pretty-prints


def serve(port: int, body: bytes) -> None:
    from aiohttp import web

    app = web.Application()

    async def syncz_handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    async def metrics_handler(request: web.Request) -> web.Response:
        return web.Response(text=METRICS)

    async def push_handler(request: web.Request) -> web.Response:
        return web.json_response({})

    app.router.add_get("/debug/syncz", syncz_handler)
    app.router.add_get("/metrics", metrics_handler)
    app.router.add_get("/debug/push_status", push_handler)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure(total: int) -> tuple[float, float, int]:
    per_replica = total // 3
    bodies = [syncz(r, per_replica) for r in range(3)]
    ports = [free_port() for _ in bodies]
    servers = [
        multiprocessing.Process(target=serve, args=(p, b), daemon=True) for p, b in zip(ports, bodies, strict=True)
    ]
    for s in servers:
        s.start()
    time.sleep(1.5)
    try:
        settings = load_settings(None, {"istio": {"istiod_urls": [f"http://127.0.0.1:{p}" for p in ports]}})
        checks = [c for c in ALL_CHECKS if c.source == "istiod"]
        import asyncio

        async def once() -> tuple[float, int]:
            source = IstiodSource(settings, lambda: None)
            try:
                await source.refresh()  # warm up connections
                start = time.process_time()
                snapshot = await source.refresh()
                outcomes = evaluate(checks, {"istiod": snapshot}, settings, time.time())
                view = SourceView("istiod", "istio-system", True, True, time.time(), 0.1, {})
                body = render(build_families([view], outcomes, 100), process_metrics=False).text
                return time.process_time() - start, len(body)
            finally:
                await source.close()

        refresh_cpu, body_size = min(asyncio.run(once()) for _ in range(3))
        start = time.process_time()
        for _ in range(3):
            for b in bodies:
                json.loads(b)
        baseline = (time.process_time() - start) / 3
        return refresh_cpu, baseline, body_size
    finally:
        for s in servers:
            s.terminate()


def main() -> None:
    refresh, baseline, body = measure(20_000)
    print(
        f"20,000 proxies over 3 replicas: refresh+checks+render {refresh * 1000:.0f} ms CPU, "
        f"json.loads of the same bodies {baseline * 1000:.0f} ms -> ratio {refresh / baseline:.2f} (target <= 3)"
    )
    _, _, small = measure(2_000)
    print(
        f"/metrics body with defaults: {small:,} B for 2,000 proxies, {body:,} B for 20,000 proxies "
        f"(5 STALE proxies in both) -> ratio {body / small:.2f}"
    )


if __name__ == "__main__":
    main()
