"""The shape of a catalogue entry: everything about one failure mode, from metric to runbook."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from string import Template
from typing import Generic, Literal, ParamSpec

from exporter.model import Sample, Severity

PanelKind = Literal["timeseries", "stat", "table"]


MetricType = Literal["gauge", "counter", "info"]
P = ParamSpec("P")


class MetricSpec(Generic[P]):
    """A metric the exporter emits, declared once: name, help, type and labels.

    ``labels`` is a signature from ``exporter.catalog.labels`` (keyword-only, one parameter per label), so
    ``spec.sample(value, namespace=..., reason=...)`` is type-checked against the declared labels.
    """

    __slots__ = ("help", "labels", "name", "type")

    def __init__(
        self,
        name: str,
        help: str,
        labels: Callable[P, None],
        type: MetricType = "gauge",
    ) -> None:
        if not re.fullmatch(r"meshhealth_[a-z0-9_]+", name):
            raise ValueError(f"metric name {name!r}: lower snake case with the meshhealth_ prefix")
        self.name = name
        self.help = help
        self.labels: tuple[str, ...] = tuple(inspect.signature(labels).parameters)
        self.type = type

    def __repr__(self) -> str:
        return f"MetricSpec({self.name!r}, labels={self.labels!r}, type={self.type!r})"

    def sample(self, value: float, /, *args: P.args, **labels: P.kwargs) -> Sample:
        """One value of this metric; the labels must be exactly the declared ones (any order)."""
        if args or set(labels) != set(self.labels):
            raise ValueError(f"{self.name}: labels {sorted(labels)} given, {list(self.labels)} declared")
        return Sample(self.name, tuple((k, str(labels[k])) for k in self.labels), float(value))


def exposed_name(metric: MetricSpec[...]) -> str:
    """The name on /metrics: counters end in _total, info metrics in _info."""
    return metric.name + {"counter": "_total", "info": "_info"}.get(metric.type, "")


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str  # PromQL; ${name} is replaced by the check's threshold of that name
    for_: str
    severity: Severity
    summary: str
    description: str  # Prometheus template ({{ $labels.x }}, {{ $value }})
    # one of several alerts of a failure mode that share this name and differ in severity (warning, then
    # critical), so Alertmanager's stock inhibit rule (equal: [namespace, alertname]) silences the warning
    # while the critical variant fires
    graded: bool = False

    @property
    def key(self) -> str:
        """The name, or ``name/severity`` for a graded variant: how overrides and reasons refer to it."""
        return f"{self.name}/{self.severity.label}" if self.graded else self.name

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
    metrics: tuple[MetricSpec[...], ...]
    alerts: tuple[Alert, ...]
    panels: tuple[Panel, ...]
    runbook: Runbook
    thresholds: tuple[str, ...] = field(default=())  # names of the check settings used in exprs

    def __post_init__(self) -> None:
        by_name: dict[str, list[Alert]] = {}
        for alert in self.alerts:
            by_name.setdefault(alert.name, []).append(alert)
        for name, variants in by_name.items():
            graded = len(variants) > 1
            if any(a.graded != graded for a in variants) or len({a.severity for a in variants}) != len(variants):
                raise ValueError(f"{self.id}: alerts named {name} must be graded, with one severity each")

    @property
    def anchor(self) -> str:
        return self.id.lower()
