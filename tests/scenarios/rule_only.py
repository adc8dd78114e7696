"""Scenarios of alerts that no check's samples drive: the exporter's own health (MH01), rendered from
source and check states, and the rule-only TR09 on the Jaeger collector's metrics, shaped as Jaeger
v1.76 exposes them (names listed in exporter/catalog/external.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from exporter.evaluate import CheckOutcome
from exporter.metrics.render import build_families, render
from exporter.model import CheckResult, SourceView
from tests.scenarios.promtool import Key, parse_body

# series -> (first value, increase per minute): counters grow, gauges keep their value
Phase = dict[Key, tuple[float, float]]


@dataclass(frozen=True)
class SeriesScenario:
    check: str
    name: str
    healthy: Callable[[], Phase]
    unhealthy: Callable[[], Phase]

    @property
    def id(self) -> str:
        return f"{self.check}-{self.name}"


def _exporter(source_up: bool, check_up: bool) -> Phase:
    source = SourceView("kubernetes", "https://10.0.0.1:443", source_up, True, 1000.0, 0.2, {},
                        "" if source_up else "timeout", "" if source_up else "GET /api/v1/pods timed out")  # fmt: skip
    outcome = CheckOutcome("DP02", check_up, CheckResult(), "" if check_up else "no Kubernetes data")
    body = render(build_families([source], [outcome], 100), process_metrics=False).text.decode()
    return {k: (v, 0.0) for k, v in parse_body(body).items() if k[0].startswith(("meshhealth_source_up",
                                                                                 "meshhealth_check_up"))}  # fmt: skip


_JOB = (("instance", "10.0.3.4:14269"), ("job", "jaeger-collector"))


def _jaeger(received: float = 100, dropped: float = 0, queue: float = 10, bulk_errors: float = 0) -> Phase:
    """Per-minute growth of the collector's counters and the queue gauges of one collector."""
    return {
        ("jaeger_collector_spans_received_total", _JOB): (0.0, received),
        ("jaeger_collector_spans_dropped_total", _JOB): (0.0, dropped),
        ("jaeger_collector_queue_length", _JOB): (queue, 0.0),
        ("jaeger_collector_queue_capacity", _JOB): (2000.0, 0.0),
        ("jaeger_bulk_index_errors_total", _JOB): (4.0, bulk_errors),
    }


SCENARIOS = [
    SeriesScenario("MH01", "source-down", lambda: _exporter(True, True), lambda: _exporter(False, True)),
    SeriesScenario("MH01", "check-not-evaluated", lambda: _exporter(True, True), lambda: _exporter(True, False)),
    SeriesScenario("TR09", "dropping-spans", _jaeger, lambda: _jaeger(dropped=30)),
    SeriesScenario("TR09", "queue-full", _jaeger, lambda: _jaeger(queue=1900)),
    SeriesScenario("TR09", "bulk-index-errors", _jaeger, lambda: _jaeger(bulk_errors=1)),
]
