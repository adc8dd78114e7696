"""Soak: one exporter process for N minutes against loopback upstreams that keep failing and recovering.

Upstreams (tests/faults.py): the Kubernetes API, two istiod replicas (20,000 proxies each), two Elasticsearch
clusters. Every 20 s one upstream gets the next fault of the matrix (refused, black hole, drip, HTTP errors,
garbage, a 50 MB body) for 10 s, in turn; a scraper reads /metrics every second. Once a minute RSS, peak RSS,
open file descriptors and threads are sampled (the serving process, the refresher and its parser processes,
summed; RSS also for the server and the refresher alone), with the scrape latencies of that minute. A leak
shows as a column that keeps growing. Writes bench/SOAK.md (make bench puts it into bench/REPORT.md).

Run: make soak  (30 minutes; SOAK_MINUTES=2 for a short run)
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.faults import FAULTS, KUBECONFIG, SYNCZ, Upstream, es_api, istiod_api, kube_api
from tests.support import process_rss_mib, refresher_pid, start_exporter, tree_status

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    minutes = float(os.environ.get("SOAK_MINUTES", "30"))
    big = json.loads(SYNCZ)[0]
    syncz = json.dumps([{**big, "proxy": f"web-{i}.team-{i % 50}"} for i in range(20_000)])
    import tests.faults as faults

    faults.SYNCZ = syncz  # each replica reports 20,000 synced proxies
    upstreams = {"kube": Upstream(kube_api), "istiod-a": Upstream(istiod_api), "istiod-b": Upstream(istiod_api),
                 "es-a": Upstream(es_api), "es-b": Upstream(es_api)}  # fmt: skip
    tmp = Path(tempfile.mkdtemp())
    (tmp / "kubeconfig").write_text(KUBECONFIG.format(url=upstreams["kube"].url))
    source = {"interval_seconds": 2, "timeout_seconds": 3, "max_backoff_seconds": 5}
    config = {
        "sources": {"kubernetes": source, "istiod": source, "elasticsearch": source},
        "kubernetes": {"request_timeout_seconds": 3, "max_response_bytes": 16 << 20, "memory_budget_bytes": 32 << 20},
        "istio": {"istiod_urls": [upstreams["istiod-a"].url, upstreams["istiod-b"].url],
                  "max_response_bytes": 16 << 20, "memory_budget_bytes": 32 << 20},
        "elasticsearch": {"max_response_bytes": 16 << 20, "memory_budget_bytes": 32 << 20, "clusters": [
            {"name": "es-a", "urls": [upstreams["es-a"].url]}, {"name": "es-b", "urls": [upstreams["es-b"].url]}]},
    }  # fmt: skip
    (tmp / "config.json").write_text(json.dumps(config))
    exporter = start_exporter(["--config", str(tmp / "config.json"), "--kubeconfig", str(tmp / "kubeconfig")],
                              log=tmp / "exporter.log")  # fmt: skip
    pid = exporter.process.pid
    schedule = [(name, fault) for fault in FAULTS for name in ("kube", "istiod-b", "es-b")]
    rows: list[str] = []
    start = time.monotonic()
    latencies: list[float] = []
    failures = 0
    step = 0
    next_fault, next_sample = start + 20, start + 60
    active: str | None = None
    try:
        while time.monotonic() - start < minutes * 60:
            t0 = time.perf_counter()
            try:
                status, _, _ = exporter.get("/metrics")
            except OSError:  # no answer within the client's 10 s: counted, and the soak goes on
                status = 0
            latencies.append(time.perf_counter() - t0)
            failures += status != 200
            now = time.monotonic()
            if now >= next_fault:
                if active is not None:
                    upstreams[active].set_fault(None)
                    active = None
                    next_fault = now + 10
                else:
                    active, fault = schedule[step % len(schedule)]
                    upstreams[active].set_fault(fault)
                    step += 1
                    next_fault = now + 10
            if now >= next_sample:
                s = tree_status(pid)
                q = statistics.quantiles(latencies, n=100, method="inclusive")
                server = process_rss_mib(pid)
                child = refresher_pid(pid)
                refresher = process_rss_mib(child) if child is not None else 0.0
                rows.append(f"| {len(rows) + 1} | {s['VmRSS']:.0f} | {server:.0f} | {refresher:.0f} | "
                            f"{s['VmHWM']:.0f} | {s['fds']:.0f} | "
                            f"{s['Threads']:.0f} | {q[49] * 1000:.1f} | {q[98] * 1000:.1f} | "
                            f"{max(latencies) * 1000:.0f} | {failures} | {os.getloadavg()[0]:.1f} |")  # fmt: skip
                print(rows[-1], flush=True)
                latencies, failures = [], 0
                next_sample += 60
            time.sleep(max(0.0, 1 - (time.perf_counter() - t0)))
        alive = exporter.process.poll() is None
    finally:
        exporter.process.terminate()
        try:
            stopped = exporter.process.wait(10) == 0
        except subprocess.TimeoutExpired:
            stopped = False
            exporter.process.kill()
        for upstream in upstreams.values():
            upstream.stop()
    text = "\n".join([
        f"# Soak: {minutes:g} minutes ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)", "",
        "One exporter: its serving process, its refresher process and the refresher's parser processes (one per "
        "istiod replica); RSS, FDs and threads are summed over all of them, RSS also given for the server and "
        "the refresher alone; "
        "Kubernetes API, istiod "
        "replicas (20,000 proxies each) and Elasticsearch clusters on "
        "loopback; every 20 s one upstream gets the next fault of the matrix for 10 s; /metrics scraped every "
        f"second. Process alive at the end: {'yes' if alive else 'NO'}; clean stop on SIGTERM within 10 s: "
        f"{'yes' if stopped else 'NO'}.", "",
        "| minute | RSS MiB | of which the server | of which the refresher | peak RSS MiB | open FDs | threads | "
        "scrape p50 ms | scrape p99 ms | scrape max ms | scrape errors | load avg (1 min) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        *rows, "",
        "Reproduce: `make soak` (SOAK_MINUTES to change the length).", "",
    ])  # fmt: skip
    (ROOT / "bench" / "SOAK.md").write_text(text)
    print(text)
    return 0 if alive and stopped else 1


if __name__ == "__main__":
    sys.exit(main())
