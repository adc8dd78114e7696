"""TM02 scenarios: the proxy stats probe's results (a sampled sidecar not answering, a pod opted out of
scraping)."""

from __future__ import annotations

from exporter.sources.proxy_stats_snapshot import ProxyStatsSnapshot, StatsProbe
from tests.scenarios import Scenario


def stats(now: float, *, failing: tuple[str, ...] = (), opted_out: tuple[str, ...] = ()) -> ProxyStatsSnapshot:
    pods = ("web-0", "web-1", "cart-0")
    probes = tuple(
        StatsProbe("shop", pod, f"http://10.244.1.{i + 10}:15090/stats/prometheus",
                   "cannot connect: Connection refused" if pod in failing else "", now - 30)
        for i, pod in enumerate(pods)
    )  # fmt: skip
    return ProxyStatsSnapshot(probes, tuple(("shop", p) for p in opted_out), len(pods))


SCENARIOS = [
    Scenario("TM02", "stats-unreachable", lambda n: stats(n), lambda n: stats(n, failing=("web-1",))),
    Scenario("TM02", "scrape-disabled", lambda n: stats(n), lambda n: stats(n, opted_out=("cart-0",))),
]
