"""Traffic checks: TM02, whether the sidecars' metrics can be collected at all (the rest of section F is
rule-only on istio_requests_total)."""

from __future__ import annotations

from collections import Counter

from exporter.catalog.traffic import PROXY_STATS_ISSUES, PROXY_STATS_PROBED
from exporter.checks import resources as r
from exporter.checks.base import CheckDef, alert_severity, human_duration
from exporter.config import Settings
from exporter.model import CheckResult, Finding
from exporter.sources.proxy_stats_snapshot import ProxyStatsSnapshot

UNREACHABLE, SCRAPE_DISABLED = "unreachable", "scrape_disabled"


def check_proxy_stats(snapshot: ProxyStatsSnapshot, settings: Settings, now: float) -> CheckResult:
    """TM02: sampled sidecars whose stats endpoint failed at their latest probe; injected pods opted out of
    annotation-based scraping."""
    result = CheckResult()
    severity = alert_severity(settings, "TM02")
    counts: Counter[tuple[str, str]] = Counter()
    for probe in snapshot.probes:
        if not probe.error:
            continue
        counts[(probe.namespace, UNREACHABLE)] += 1
        ago = human_duration(now - probe.probed_at)
        message = f"GET {probe.url}: {probe.error} (probed {ago} ago)"
        result.findings.append(Finding("TM02", severity, probe.namespace, "Pod", probe.pod, message))
    for namespace, pod in snapshot.scrape_disabled:
        counts[(namespace, SCRAPE_DISABLED)] += 1
        message = 'annotated prometheus.io/scrape: "false": annotation-based scraping skips its sidecar metrics'
        result.findings.append(Finding("TM02", severity, namespace, "Pod", pod, message))
    for (namespace, reason), count in sorted(counts.items()):
        result.samples.append(PROXY_STATS_ISSUES.sample(count, namespace=namespace, reason=reason))
    result.samples.append(PROXY_STATS_PROBED.sample(len(snapshot.probes)))
    return result


CHECKS = (CheckDef("TM02", "proxy_stats", lambda s: [r.PODS], check_proxy_stats),)
