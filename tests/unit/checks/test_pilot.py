"""Unit tests of the checks of istiod's metrics and push status (CP04-CP08, CP10, CP11)."""

from __future__ import annotations

import pytest

from exporter.checks.pilot import check_convergence, check_rejected_configs, check_root_cert, quantile
from tests.unit.helpers import settings
from tests.unit.sources.istiod.test_source import OLD_METRICS, snap_of


def test_cp04_cp08_cp11_rejected_gateway_root_cert_and_convergence():
    snap = snap_of({"a": []}, rejected=(("gateway", "bookinfo/gw-2", 3.0),))
    [gw] = check_rejected_configs(snap, settings(), 1000.0).findings
    assert (gw.kind, gw.namespace, gw.name) == ("Gateway", "bookinfo", "gw-2")
    fixed = check_rejected_configs(snap_of({"a": []}), settings(), 1000.0)
    assert fixed.findings == [] and any(x.metric == "meshhealth_istiod_rejected_configs" for x in fixed.samples)
    [cert] = check_root_cert(snap, settings(), 1000.0).findings
    assert cert.severity.label == "critical" and "6d" in cert.message  # 518400 s = 6 days
    old = check_root_cert(snap_of({"a": []}, metrics=OLD_METRICS), settings(), 1000.0)
    assert old.samples[0].value == 1.9e9 and old.findings == []
    assert check_convergence(snap, settings(), 1000.0).samples == []  # no interval yet
    assert quantile(0.99, [(0.1, 10), (1.0, 20), (float("inf"), 20)]) == pytest.approx(0.982)
    assert quantile(0.5, [(float("inf"), 0)]) is None


def test_cp05_eds_no_instances_names_the_cluster():
    from exporter.checks.pilot import CHECKS

    cp05 = next(c for c in CHECKS if c.id == "CP05")
    push = {"pilot_eds_no_instances": {"outbound|9080|v1-bug|reviews.bookinfo.svc.cluster.local": {}}}
    result = cp05.run(snap_of({"a": []}, push=push), settings(), 1000.0)
    [finding] = result.findings
    assert finding.namespace == "bookinfo" and finding.name == "outbound|9080|v1-bug|reviews.bookinfo.svc.cluster.local"
    assert {x.metric for x in result.samples} == {
        "meshhealth_istiod_eds_no_instances",
        "meshhealth_istiod_cluster_without_instances",
    }
