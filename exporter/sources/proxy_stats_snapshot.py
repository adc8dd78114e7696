"""What the proxy stats probe hands to the checks (TM02): per sampled sidecar, whether its Prometheus stats
endpoint answered, and which injected pods opted out of annotation-based scraping."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StatsProbe:
    namespace: str
    pod: str
    url: str
    error: str  # empty: the endpoint served Envoy/Istio metrics
    probed_at: float


@dataclass(frozen=True)
class ProxyStatsSnapshot:
    probes: tuple[StatsProbe, ...]  # the latest result of every injected pod probed so far and still running
    scrape_disabled: tuple[tuple[str, str], ...]  # (namespace, pod) annotated prometheus.io/scrape: "false"
    candidates: int  # injected, running pods with an IP: what the sample rotates through
