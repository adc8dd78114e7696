"""The shape of a catalogue entry: everything about one failure mode, from metric to runbook."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from string import Template
from typing import Literal

from exporter.model import Severity

PanelKind = Literal["timeseries", "stat", "table"]


@dataclass(frozen=True)
class MetricSpec:
    """A metric the exporter emits (help text and labels are declared once, here)."""

    name: str
    help: str
    labels: tuple[str, ...] = ()
    type: Literal["gauge", "counter", "info"] = "gauge"


def exposed_name(metric: MetricSpec) -> str:
    """The name on /metrics: counters end in _total, info metrics in _info."""
    return metric.name + {"counter": "_total", "info": "_info"}.get(metric.type, "")


@dataclass(frozen=True)
class Series:
    """An input series of a promtool unit test, in promtool's expanding notation."""

    series: str
    values: str


@dataclass(frozen=True)
class AlertTest:
    """A failure scenario for the alert's promtool unit test.

    ``failing`` makes the expression true from minute ``true_from`` on; the generated test checks
    the alert is silent just before ``for`` expires and firing just after, with ``labels`` and
    ``description``. ``healthy`` must keep the alert silent throughout.
    """

    failing: tuple[Series, ...]
    healthy: tuple[Series, ...]
    labels: dict[str, str]
    description: str
    true_from: int = 0


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str  # PromQL; ${name} is replaced by the check's threshold of that name
    for_: str
    severity: Severity
    summary: str
    description: str  # Prometheus template ({{ $labels.x }}, {{ $value }})
    test: AlertTest

    def __post_init__(self) -> None:
        if not re.fullmatch(r"MeshHealth[A-Z][A-Za-z0-9]*", self.name) or len(self.name) > 40:
            raise ValueError(f"alert name {self.name!r}: CamelCase, prefix MeshHealth, at most 40 chars")
        if not self.summary.endswith("."):
            raise ValueError(f"alert {self.name}: summary must be a sentence ending in a period")

    def render_expr(self, thresholds: dict[str, float]) -> str:
        values = {k: _number(v) for k, v in thresholds.items()}
        return Template(self.expr).substitute(values)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    title: str
    description: str
    queries: tuple[Query, ...]
    kind: PanelKind = "timeseries"
    unit: str = "short"


@dataclass(frozen=True)
class Runbook:
    meaning: str
    impact: str
    diagnosis: str  # Markdown: the commands an operator runs to confirm
    mitigation: str  # Markdown: how to fix


@dataclass(frozen=True)
class FailureMode:
    id: str
    title: str
    section: str
    metrics: tuple[MetricSpec, ...]
    alerts: tuple[Alert, ...]
    panels: tuple[Panel, ...]
    runbook: Runbook
    thresholds: tuple[str, ...] = field(default=())  # names of the check settings used in exprs

    @property
    def anchor(self) -> str:
        return self.id.lower()


def series(metric: str, values: str, **labels: str) -> Series:
    """A promtool input series from a metric name and labels (``job`` included if given)."""
    inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return Series(f"{metric}{{{inner}}}" if inner else metric, values)
