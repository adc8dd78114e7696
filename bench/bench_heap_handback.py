"""Memory a refused large answer leaves behind: one exporter process, a 50 MB answer from each upstream in turn.

Upstreams on loopback as in the soak (tests/faults.py; two istiod replicas of 20,000 proxies each), limits of
16 MiB per answer and 32 MiB per source. Each upstream in turn answers every request with 50 MB for 10 s (the
exporter refuses them: too large, or over its source's budget), then recovers. The refresher process's lowest
RSS (the exporter's process that reads the answers) in the 20 s after each fault is compared with its lowest
before the first: what stays is memory the heap kept.
Before large reads handed their chunks' pages back (``exporter/sources/heap.py``) the same run kept 0, 3 and
44 MiB in three runs: whether the chunks' holes stay depends on what else was allocated above them meanwhile.

Run: make bench BENCH=bench_heap_handback  (or .venv/bin/python -m bench.bench_heap_handback)
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from tests.faults import KUBECONFIG, SYNCZ, Upstream, es_api, istiod_api, kube_api
from tests.support import process_rss_mib, refresher_pid, start_exporter

LIMIT = 16 << 20


def main() -> None:
    import tests.faults as faults

    one = json.loads(SYNCZ)[0]
    faults.SYNCZ = json.dumps([{**one, "proxy": f"web-{i}.team-{i % 50}"} for i in range(20_000)])
    upstreams = {"kube": Upstream(kube_api), "istiod-a": Upstream(istiod_api), "istiod-b": Upstream(istiod_api),
                 "es-a": Upstream(es_api), "es-b": Upstream(es_api)}  # fmt: skip
    tmp = Path(tempfile.mkdtemp())
    (tmp / "kubeconfig").write_text(KUBECONFIG.format(url=upstreams["kube"].url))
    source = {"interval_seconds": 2, "timeout_seconds": 3, "max_backoff_seconds": 5}
    limits = {"max_response_bytes": LIMIT, "memory_budget_bytes": 2 * LIMIT}
    config = {
        "sources": {"kubernetes": source, "istiod": source, "elasticsearch": source},
        "kubernetes": {"request_timeout_seconds": 3, **limits},
        "istio": {"istiod_urls": [upstreams["istiod-a"].url, upstreams["istiod-b"].url], **limits},
        "elasticsearch": {**limits, "clusters": [{"name": "es-a", "urls": [upstreams["es-a"].url]},
                                                 {"name": "es-b", "urls": [upstreams["es-b"].url]}]},
    }  # fmt: skip
    (tmp / "config.json").write_text(json.dumps(config))
    exporter = start_exporter(["--config", str(tmp / "config.json"), "--kubeconfig", str(tmp / "kubeconfig")],
                              log=tmp / "exporter.log")  # fmt: skip
    pid = refresher_pid(exporter.process.pid)  # the process that reads the answers
    assert pid is not None, "no refresher process"

    def lowest_rss(seconds: float) -> float:
        low = float("inf")
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            exporter.get("/metrics")
            low = min(low, process_rss_mib(pid))
            time.sleep(1)
        return low

    try:
        lowest_rss(40)  # first polls, parser processes started
        before = lowest_rss(20)
        print(f"refresher process, lowest RSS in 20 s: {before:.0f} MiB before the faults; limit per answer "
              f"{LIMIT >> 20} MiB, per source {2 * LIMIT >> 20} MiB")  # fmt: skip
        after = before
        for name in ("kube", "istiod-b", "es-b"):
            upstreams[name].set_fault("huge")
            time.sleep(10)
            upstreams[name].set_fault(None)
            after = lowest_rss(20)
            print(f"after 10 s of 50 MB answers from {name:9s}: lowest RSS {after:.0f} MiB ({after - before:+.0f})")
        kept = max(0.0, after - before)
        print(f"kept after all three: {kept:.0f} MiB -> {kept / (LIMIT >> 20):.2f}x the limit per answer "
              "(target: well under 1x; up to 2.75x before the heap hand-back)")  # fmt: skip
    finally:
        exporter.process.terminate()
        exporter.process.wait(10)
        for upstream in upstreams.values():
            upstream.stop()


if __name__ == "__main__":
    main()
