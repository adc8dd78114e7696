"""The fault matrix: every upstream x every fault, against one running exporter process.

Upstreams on loopback (tests/faults.py): the Kubernetes API, istiod replica b (of a and b), Elasticsearch
cluster es-b (of es-a and es-b). For each fault in turn: the process stays up, /metrics keeps answering at
once, the failing source (or only that replica or cluster) is down with a reason the fault explains, the
others keep their values, the checks that need it are not evaluated (never "healthy"), memory stays bounded;
then the fault is lifted and everything comes back. The faults: refused, black hole, a drip of one byte per
0.1 s, 401/403/404/500/503, HTML, truncated JSON, valid JSON of the wrong shape, a 50 MB body.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.faults import FAULTS, KUBECONFIG, Upstream, es_api, istiod_api, kube_api
from tests.support import (
    RunningExporter,
    cpu_seconds,
    metric_values,
    process_tree,
    refresher_pid,
    start_exporter,
    tree_memory_mib,
    wait_for,
)

pytestmark = pytest.mark.integration

LIMIT = 8 * 1024 * 1024  # max_response_bytes of every source: the 50 MB body is refused while read
RSS_BOUND_MIB = 400  # peak RSS (VmHWM) of the exporter + its parser processes over the matrix, with 50 MB bodies
STALE_AFTER = 3  # a source's last good data serves its checks this long after it went down, then not evaluated
SCRAPE_BOUND_SECONDS = 0.5  # a scrape never waits for a source (stalls seen before: seconds to minutes)


@dataclass
class World:
    kube: Upstream
    istiod_a: Upstream
    istiod_b: Upstream
    es_a: Upstream
    es_b: Upstream
    exporter: RunningExporter

    def metrics(self) -> tuple[bytes, float]:
        start = time.perf_counter()
        status, _, body = self.exporter.get("/metrics")
        assert status == 200
        return body, time.perf_counter() - start

    def value(self, name: str, **labels: str) -> float | None:
        body, _ = self.metrics()
        for key, value in metric_values(body, name).items():
            if labels.items() <= dict(key).items():
                return value
        return None

    def reasons(self, name: str, **labels: str) -> set[str]:
        body, _ = self.metrics()
        return {dict(k)["reason"] for k in metric_values(body, name) if labels.items() <= dict(k).items()}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("faults")
    kube, istiod_a, istiod_b = Upstream(kube_api), Upstream(istiod_api), Upstream(istiod_api)
    es_a, es_b = Upstream(es_api), Upstream(es_api)
    (tmp / "kubeconfig").write_text(KUBECONFIG.format(url=kube.url))
    source = {"interval_seconds": 1, "timeout_seconds": 2, "max_backoff_seconds": 2, "stale_after_seconds": STALE_AFTER}
    config = {
        "sources": {"kubernetes": source, "istiod": source, "elasticsearch": source},
        "kubernetes": {"request_timeout_seconds": 2, "max_response_bytes": LIMIT, "memory_budget_bytes": 2 * LIMIT},
        "istio": {"istiod_urls": [istiod_a.url, istiod_b.url], "max_response_bytes": LIMIT,
                  "memory_budget_bytes": 2 * LIMIT},
        "elasticsearch": {"max_response_bytes": LIMIT, "memory_budget_bytes": 2 * LIMIT, "clusters": [
            {"name": "es-a", "urls": [es_a.url]}, {"name": "es-b", "urls": [es_b.url]}]},
    }  # fmt: skip
    (tmp / "config.json").write_text(json.dumps(config))
    # its log goes to a file: a pipe nobody reads would fill up with the matrix's warnings and block the process
    exporter = start_exporter(["--config", str(tmp / "config.json"), "--kubeconfig", str(tmp / "kubeconfig")],
                              log=tmp / "exporter.log")  # fmt: skip
    try:
        w = World(kube, istiod_a, istiod_b, es_a, es_b, exporter)
        wait_for(lambda: healthy(w), 60, "every source up")
        yield w
        exporter.process.terminate()
        assert exporter.process.wait(10) == 0, "no clean stop on SIGTERM after the matrix"
    finally:
        if exporter.process.poll() is None:
            exporter.process.kill()
        for upstream in (kube, istiod_a, istiod_b, es_a, es_b):
            upstream.stop()


def healthy(w: World) -> bool:
    return (
        w.value("meshhealth_source_up", source="kubernetes") == 1
        and w.value("meshhealth_source_up", source="istiod") == 1
        and w.value("meshhealth_source_up", source="elasticsearch") == 1
        and w.value("meshhealth_istiod_replica_up", istiod=replica_b(w)) == 1
        and w.value("meshhealth_es_cluster_up", es_cluster="es-b") == 1
        and w.value("meshhealth_check_up", check="DP01") == 1
        and w.value("meshhealth_check_up", check="TR02") == 1
        and w.value("meshhealth_check_up", check="NS01") == 1
    )


def peak_rss_mib(w: World) -> float:
    """The exporter's peak RSS plus its parser processes. (a parser killed mid-parse takes its peak along)."""
    return tree_memory_mib(w.exporter.process.pid)[1]


def assert_serving(w: World) -> None:
    assert w.exporter.process.poll() is None, "the exporter died"
    slowest = max(w.metrics()[1] for _ in range(5))
    assert slowest < SCRAPE_BOUND_SECONDS, f"/metrics took {slowest:.2f}s"


def replica_b(w: World) -> str:
    return w.istiod_b.url


def during_and_after(w: World, upstream: Upstream, fault: str, down: object, others: object) -> None:
    """Apply ``fault`` to ``upstream``; wait for ``down`` (a callable true while the fault is seen) while serving;
    check ``others``; lift it and wait for every source to be healthy again."""
    upstream.set_fault(fault)
    try:
        wait_for(lambda: (assert_serving(w), down())[1], 30, f"{fault} seen")  # type: ignore[operator]
        assert_serving(w)
        others()  # type: ignore[operator]
    finally:
        upstream.set_fault(None)
    wait_for(lambda: healthy(w), 60, f"recovery after {fault}")
    assert_serving(w)
    assert peak_rss_mib(w) < RSS_BOUND_MIB


@pytest.mark.parametrize("fault", list(FAULTS))
def test_kubernetes_api_fault(world, fault):
    def down() -> bool:
        reasons = world.reasons("meshhealth_source_error_info", source="kubernetes")
        return world.value("meshhealth_source_up", source="kubernetes") == 0 and bool(reasons & FAULTS[fault])

    def others() -> None:
        assert world.value("meshhealth_source_up", source="istiod") == 1
        assert world.value("meshhealth_source_up", source="elasticsearch") == 1
        assert world.value("meshhealth_istiod_connected_proxies", istiod=replica_b(world)) == 1
        # checks that read Kubernetes: not evaluated once its last good data is older than stale_after
        wait_for(lambda: all(world.value("meshhealth_check_up", check=c) == 0 for c in ("NS01", "CP01", "DP02")),
                 STALE_AFTER + 10, "Kubernetes checks not evaluated")  # fmt: skip
        assert world.value("meshhealth_check_up", check="TR02") == 1  # Elasticsearch's are

    during_and_after(world, world.kube, fault, down, others)


@pytest.mark.parametrize("fault", list(FAULTS))
def test_istiod_replica_fault(world, fault):
    def down() -> bool:
        reasons = world.reasons("meshhealth_istiod_replica_error_info", istiod=replica_b(world))
        return world.value("meshhealth_istiod_replica_up", istiod=replica_b(world)) == 0 and bool(
            reasons & FAULTS[fault]
        )

    def others() -> None:
        replica_a = world.istiod_a.url
        assert world.value("meshhealth_istiod_replica_up", istiod=replica_a) == 1
        assert world.value("meshhealth_istiod_connected_proxies", istiod=replica_a) == 1
        assert world.value("meshhealth_source_up", source="kubernetes") == 1
        assert world.value("meshhealth_source_up", source="elasticsearch") == 1
        assert world.value("meshhealth_check_up", check="DP01") == 0  # one replica unread: not evaluated

    during_and_after(world, world.istiod_b, fault, down, others)


@pytest.mark.parametrize("fault", list(FAULTS))
def test_elasticsearch_cluster_fault(world, fault):
    def down() -> bool:
        reasons = world.reasons("meshhealth_es_cluster_error_info", es_cluster="es-b")
        return world.value("meshhealth_es_cluster_up", es_cluster="es-b") == 0 and bool(reasons & FAULTS[fault])

    def others() -> None:
        assert world.value("meshhealth_es_cluster_up", es_cluster="es-a") == 1
        assert world.value("meshhealth_es_cluster_status", es_cluster="es-a", status="yellow") == 1  # as recorded
        assert world.value("meshhealth_source_up", source="kubernetes") == 1
        assert world.value("meshhealth_source_up", source="istiod") == 1
        assert world.value("meshhealth_check_up", check="TR02") == 0  # one cluster unread: not evaluated

    during_and_after(world, world.es_b, fault, down, others)


def test_the_serving_process_leaves_every_refresh_to_the_refresher(world):
    """The process serving HTTP only serves: its child, the refresher, polls every source, runs the checks and
    renders, and the istiod parser processes are the refresher's children. A scrape never waits for a refresh."""
    server = world.exporter.process.pid
    refresher = refresher_pid(server)
    assert refresher is not None, "no refresher process"
    assert [p for p in process_tree(refresher) if p != refresher], "the refresher has no parser processes"
    before = cpu_seconds(server), cpu_seconds(refresher)
    for _ in range(5):  # 5 s of refreshes every second, scraped once a second
        world.metrics()
        time.sleep(1)
    served, refreshed = cpu_seconds(server) - before[0], cpu_seconds(refresher) - before[1]
    assert served < refreshed / 3, f"serving took {served:.2f}s of CPU, refreshing {refreshed:.2f}s"
