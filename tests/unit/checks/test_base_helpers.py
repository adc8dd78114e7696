"""Shared helpers of the checks: durations and counts in messages, recent events."""

from __future__ import annotations

import pytest

from exporter.checks.base import human_duration, plural, recent_events
from exporter.sources.kube.projections import EventInfo
from tests.unit.helpers import snapshot


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (59.9, "59s"), (-5, "0s"), (60, "1m"), (3600, "1h"), (3661, "1h1m"), (86400, "1d"),
     (90061, "1d1h1m"), (86400 + 59, "1d")],
)  # fmt: skip
def test_human_duration(seconds, text):
    assert human_duration(seconds) == text


def test_plural():
    assert plural(1, "pod") == "1 pod" and plural(0, "pod") == "0 pods" and plural(2, "proxy", "proxies") == "2 proxies"
    assert plural(1, "proxy", "proxies") == "1 proxy"


def test_recent_events_of_a_reason_within_the_window_sorted():
    def ev(name, reason="FailedMount", last=100.0, ns="a"):
        return EventInfo(ns, "Pod", name, reason, "m", 1, last)

    events = [ev("z", last=95.0), ev("y", last=40.0), ev("x", last=39.9), ev("w", reason="Other"), ev("v", last=None),
              ev("b", ns="0", last=90.0), ev("u", last=101.0)]  # fmt: skip
    got = recent_events(snapshot(warning_events=events), 100.0, 60.0, "FailedMount")
    assert [(e.namespace, e.object_name) for e in got] == [("0", "b"), ("a", "u"), ("a", "y"), ("a", "z")]
