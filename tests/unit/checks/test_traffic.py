"""TM02: findings and counts from the proxy stats probe's results."""

from __future__ import annotations

from exporter.app import active_checks, build_sources
from exporter.checks.traffic import check_proxy_stats
from exporter.sources.proxy_stats_snapshot import ProxyStatsSnapshot, StatsProbe
from tests.unit.helpers import settings

NOW = 1_700_000_000.0


def probe(namespace: str, pod: str, error: str = "", ago: float = 90) -> StatsProbe:
    return StatsProbe(namespace, pod, "http://10.0.0.1:15090/stats/prometheus", error, NOW - ago)


def samples(result) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.metric, s.labels): s.value for s in result.samples}


def test_tm02_reports_failed_probes_and_opted_out_pods_per_namespace():
    snapshot = ProxyStatsSnapshot(
        (probe("shop", "web-0"), probe("shop", "web-1", "HTTP 503"), probe("shop", "web-2", "cannot connect: x"),
         probe("pay", "api-0", "no answer within 2s", ago=3700)),
        (("pay", "batch-0"), ("pay", "batch-1")),
        9,
    )  # fmt: skip
    result = check_proxy_stats(snapshot, settings(), NOW)
    assert [(f.namespace, f.name, f.kind, f.severity.label) for f in result.findings] == [
        ("shop", "web-1", "Pod", "info"), ("shop", "web-2", "Pod", "info"), ("pay", "api-0", "Pod", "info"),
        ("pay", "batch-0", "Pod", "info"), ("pay", "batch-1", "Pod", "info"),
    ]  # fmt: skip
    assert result.findings[0].message == "GET http://10.0.0.1:15090/stats/prometheus: HTTP 503 (probed 1m ago)"
    assert "(probed 1h1m ago)" in result.findings[2].message
    assert 'prometheus.io/scrape: "false"' in result.findings[3].message
    assert samples(result) == {
        ("meshhealth_proxy_stats_issues", (("namespace", "pay"), ("reason", "scrape_disabled"))): 2,
        ("meshhealth_proxy_stats_issues", (("namespace", "pay"), ("reason", "unreachable"))): 1,
        ("meshhealth_proxy_stats_issues", (("namespace", "shop"), ("reason", "unreachable"))): 2,
        ("meshhealth_proxy_stats_probed", ()): 4,
    }


def test_tm02_healthy_is_a_probed_count_and_nothing_else():
    result = check_proxy_stats(ProxyStatsSnapshot((probe("shop", "web-0"),), (), 1), settings(), NOW)
    assert result.findings == [] and samples(result) == {("meshhealth_proxy_stats_probed", ()): 1}


def test_tm02_severity_follows_the_alert_override():
    s = settings(alerts={"MeshHealthProxyStatsUnreachable": {"severity": "warning"}})
    [finding] = check_proxy_stats(ProxyStatsSnapshot((probe("shop", "a", "HTTP 500"),), (), 1), s, NOW).findings
    assert finding.severity.label == "warning"


def test_tm02_runs_only_when_its_source_is_enabled():
    assert "TM02" not in {c.id for c in active_checks(settings())}
    on = settings(sources={"proxy_stats": {"enabled": True}})
    assert "TM02" in {c.id for c in active_checks(on)}
    names = [s.source.name for s in build_sources(on, active_checks(on), watch=False)]
    assert names.index("proxy_stats") > names.index("kubernetes")
    off_kube = settings(sources={"proxy_stats": {"enabled": True}, "kubernetes": {"enabled": False}})
    assert "TM02" not in {c.id for c in active_checks(off_kube)}
