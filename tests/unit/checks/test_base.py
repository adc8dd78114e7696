"""A check that sees only part of its world (one istiod replica or Elasticsearch cluster unreadable) serves
what it found there, and reports check_up 0: a blind spot never reads as healthy (DP01, CP03, DP03, CP04-CP11,
TR02-TR07)."""

from __future__ import annotations

import pytest

from exporter.checks import ALL_CHECKS
from exporter.evaluate import evaluate, track_first_seen
from exporter.metrics.render import build_families, render
from exporter.sources.errors import SourceError
from exporter.sources.istiod.syncz import parse_syncz
from tests.scenarios.istiod import istiod, proxy, replica
from tests.scenarios.tracing import ClusterData, ElasticsearchSnapshot, cluster, index
from tests.unit.helpers import settings

NOW = 6 * 3600.0
CHECKS = {c.id: c for c in ALL_CHECKS}
UNREADABLE = SourceError("timeout", "istiod istiod-b: /debug/syncz did not answer in time")


def body(outcome) -> str:
    return render(build_families([], [outcome], 100), process_metrics=False).text.decode()


def test_dp01_stale_proxy_on_a_readable_replica_still_alerts_while_the_check_is_not_evaluated():
    snap = istiod(NOW, replica("istiod-a", [proxy("web-1.shop", eds_acked="e0")]), replica("istiod-b", error=UNREADABLE),
                  stale_since={("istiod-a", "web-1.shop", "EDS"): NOW - 600})  # fmt: skip
    [dp01] = evaluate([CHECKS["DP01"]], {"istiod": snap}, settings(), NOW)
    assert not dp01.up and dp01.partial and "istiod-b" in dp01.error
    assert [f.name for f in dp01.result.findings] == ["web-1"]
    text = body(dp01)
    assert 'meshhealth_check_up{check="DP01"} 0.0' in text
    assert "meshhealth_xds_proxy_stale_seconds{" in text  # MeshHealthProxyStale still fires for web-1
    assert 'meshhealth_finding{check="DP01"' in text


@pytest.mark.parametrize("check_id", ["DP01", "CP03", "DP03", "CP04", "CP05", "CP08", "CP11"])
def test_every_replica_check_is_not_evaluated_with_a_replica_unreadable(check_id):
    snap = istiod(NOW, replica("istiod-a", [proxy("web-1.shop")]), replica("istiod-b", error=UNREADABLE))
    [outcome] = evaluate([CHECKS[check_id]], {"istiod": snap}, settings(), NOW)
    assert not outcome.up and outcome.partial


@pytest.mark.parametrize("check_id", ["TR02", "TR03", "TR04", "TR05", "TR06", "TR07"])
def test_tracing_checks_are_not_evaluated_with_a_cluster_unreadable(check_id):
    broken = ClusterData("other", "http://es-2:9200", error=SourceError("connection", "cannot connect to es-2:9200"))
    snap = ElasticsearchSnapshot((cluster(NOW, blocks={index(NOW, 0).name: ("index.blocks.write",)}), broken), NOW)
    [outcome] = evaluate([CHECKS[check_id]], {"elasticsearch": snap}, settings(), NOW)
    assert not outcome.up and outcome.partial and "other" in outcome.error
    if check_id == "TR03":
        assert [f.name for f in outcome.result.findings] == [index(NOW, 0).name]
    [tr01] = evaluate([CHECKS["TR01"]], {"elasticsearch": snap}, settings(), NOW)
    assert tr01.up and any(f.namespace == "other" for f in tr01.result.findings)  # TR01 names the blind cluster


def test_dp01_first_seen_follows_partial_findings():
    snap = istiod(NOW, replica("istiod-a", [proxy("web-1.shop", eds_acked="e0")]), replica("istiod-b", error=UNREADABLE),
                  stale_since={("istiod-a", "web-1.shop", "EDS"): NOW - 600})  # fmt: skip
    outcomes = evaluate([CHECKS["DP01"]], {"istiod": snap}, settings(), NOW)
    assert len(track_first_seen({}, outcomes, NOW)) == 1


def test_syncz_entries_of_an_unknown_shape_are_an_error_not_zero_proxies():
    with pytest.raises(ValueError, match="none of the 2 syncz entries names a proxy"):
        parse_syncz([{"id": "web-1.shop", "status": "SYNCED"}, {"id": "web-2.shop"}])
    assert parse_syncz([]) == ()  # an istiod without proxies is fine


def test_every_part_wrapper_names_every_unreadable_part():
    import pytest

    from exporter.checks.base import EveryCluster
    from exporter.model import CheckResult, NotEvaluated
    from exporter.sources.errors import SourceError

    snap = ElasticsearchSnapshot((ClusterData("a", "u", error=SourceError("timeout", "t1")),
                                  ClusterData("b", "u", error=SourceError("timeout", "t2"))), 0.0)  # fmt: skip
    wrapped = EveryCluster(lambda s, settings, now: CheckResult())
    with pytest.raises(NotEvaluated, match="not checked \\(a: t1; b: t2\\)"):
        wrapped(snap, settings(), 0.0)
