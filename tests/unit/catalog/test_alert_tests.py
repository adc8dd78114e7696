"""The catalogue's own promtool scenarios can fail: each feeds metrics its alert reads."""

from __future__ import annotations

import re

import pytest

from exporter.catalog import CATALOG

ALERTS = [(mode.id, alert) for mode in CATALOG for alert in mode.alerts]
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def read_metrics(expr: str) -> set[str]:
    words = set(_NAME.findall(re.sub(r'"[^"]*"', "", expr)))
    return {w for w in words if w.startswith(("meshhealth_", "jaeger_", "otelcol_", "istio_", "pilot_", "up"))}


def fed(series) -> set[str]:
    return {s.series.split("{", 1)[0] for s in series}


@pytest.mark.parametrize(("check", "alert"), ALERTS, ids=lambda x: getattr(x, "name", x))
def test_healthy_and_failing_series_feed_what_the_alert_reads(check, alert):
    reads = read_metrics(alert.expr)
    assert reads, alert.expr
    assert fed(alert.test.failing) & reads, (alert.name, "failing scenario feeds nothing the alert reads")
    assert fed(alert.test.healthy) & reads, (alert.name, "healthy scenario feeds nothing the alert reads")
