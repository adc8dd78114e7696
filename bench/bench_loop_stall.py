"""Event-loop stall while the checks run over 20,000 proxies (3 istiod replicas) and 50,000 pods.

A ticker task sleeps 1 ms in a loop and records how late it wakes: the longest delay is how long a /metrics
request would have waited. Measured in the same run for the exporter's update (every check + rendering /metrics)
called on the loop (the baseline: how it ran before) and through ``request_update`` (a worker thread).
Prints both stalls, the update's own duration and the ratio (target: stall < 50 ms).

Run: make bench  (or .venv/bin/python -m bench.bench_loop_stall)
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import time
from typing import Any

from bench.bench_istiod import free_port, serve, syncz
from bench.bench_kube_projection import NAMESPACES, pod_bodies
from exporter.app import Exporter
from exporter.config import load_settings
from exporter.sources.istiod.source import IstiodSource
from exporter.sources.kube import projections as p
from exporter.sources.kube.snapshot import KubeSnapshot

PROXIES, PODS = 20_000, 50_000


def kube_snapshot() -> KubeSnapshot:
    import json

    pods = tuple(p.project_pod(json.loads(b)["object"]) for b in pod_bodies(PODS))
    namespaces = tuple(
        p.project_namespace({"metadata": {"name": f"team-{i}", "labels": {"istio-injection": "enabled"}},
                             "status": {"phase": "Active"}})
        for i in range(NAMESPACES)
    )  # fmt: skip
    return KubeSnapshot({"pods": pods, "namespaces": namespaces})


async def longest_stall(work: Any) -> tuple[float, float]:
    """(longest ticker delay, duration of ``work``) while ``work`` runs."""
    stop = asyncio.Event()
    worst = 0.0

    async def ticker() -> None:
        nonlocal worst
        while not stop.is_set():
            start = time.perf_counter()
            await asyncio.sleep(0.001)
            worst = max(worst, time.perf_counter() - start - 0.001)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    start = time.perf_counter()
    await work()
    duration = time.perf_counter() - start
    stop.set()
    await task
    return worst, duration


async def measure(urls: list[str], kube: KubeSnapshot) -> tuple[float, float, float]:
    settings = load_settings(None, {"istio": {"istiod_urls": urls}})
    source = IstiodSource(settings, lambda: kube)
    try:
        istiod = await source.refresh()
    finally:
        await source.close()
    exporter = Exporter(settings)
    now = time.time()
    for state in exporter.states:
        state.data = {"kubernetes": kube, "istiod": istiod}.get(state.source.name)
        state.up = state.attempted = state.data is not None
        state.last_success = now if state.data is not None else None

    async def on_loop() -> None:
        exporter.update()

    async def in_thread() -> None:
        exporter.request_update()
        assert exporter._update_task is not None
        await exporter._update_task

    await on_loop()  # warm up
    baseline, duration = min([await longest_stall(on_loop) for _ in range(3)])
    stall, _ = min([await longest_stall(in_thread) for _ in range(3)])
    return baseline, duration, stall


async def json_stalls(body: bytes) -> tuple[float, float]:
    """Longest stall while one replica's syncz is decoded in a worker thread: json.loads (one C call holding
    the GIL; the baseline) and loads_interruptible (one element per call)."""
    from exporter.sources.json_array import loads_interruptible

    async def plain() -> None:
        await asyncio.to_thread(json.loads, body)

    async def interruptible() -> None:
        await asyncio.to_thread(loads_interruptible, body)

    baseline, _ = min([await longest_stall(plain) for _ in range(5)])
    stall, _ = min([await longest_stall(interruptible) for _ in range(5)])
    return baseline, stall


def main() -> None:
    bodies = [syncz(r, PROXIES // 3) for r in range(3)]
    big = syncz(0, PROXIES)
    json_baseline, json_stall = asyncio.run(json_stalls(big))
    print(f"decoding one syncz of {PROXIES:,} proxies ({len(big) / 1e6:.1f} MB) in a worker thread: longest loop "
          f"stall {json_baseline * 1000:.0f} ms with json.loads, {json_stall * 1000:.0f} ms with loads_interruptible "
          f"-> ratio {json_stall / json_baseline:.3f}")  # fmt: skip
    ports = [free_port() for _ in bodies]
    servers = [multiprocessing.Process(target=serve, args=(port, body), daemon=True)
               for port, body in zip(ports, bodies, strict=True)]  # fmt: skip
    for server in servers:
        server.start()
    time.sleep(1.5)
    try:
        kube = kube_snapshot()
        baseline, duration, stall = asyncio.run(measure([f"http://127.0.0.1:{port}" for port in ports], kube))
    finally:
        for server in servers:
            server.terminate()
    print(
        f"{PROXIES:,} proxies and {PODS:,} pods: update (all checks + render) takes {duration * 1000:.0f} ms; "
        f"longest loop stall {baseline * 1000:.0f} ms when it runs on the loop, {stall * 1000:.0f} ms in a worker "
        f"thread -> ratio {stall / baseline:.3f} (target: stall < 50 ms)"
    )


if __name__ == "__main__":
    main()
