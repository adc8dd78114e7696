"""Plain data shared by checks, the renderer and the report: severities, findings, samples."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field


class NotEvaluated(Exception):
    """Raised by a check whose data is too incomplete to judge (e.g. an istiod replica did not answer).

    ``partial`` carries what the check found in the part it could see: it is served (findings and
    samples) while the check reports ``check_up 0``, so a blind spot never reads as an all-clear and the
    visible problems still alert."""

    def __init__(self, message: str, partial: CheckResult | None = None) -> None:
        super().__init__(message)
        self.partial = partial


class Severity(enum.IntEnum):
    """Alert severities, ordered so that a comparison means "at least as severe"."""

    INFO = 0
    WARNING = 1
    CRITICAL = 2

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str) -> Severity:
        try:
            return cls[value.strip().upper()]
        except KeyError:
            allowed = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {value!r} (expected one of: {allowed})") from None


@dataclass(frozen=True, slots=True)
class Finding:
    """One object that shows one failure mode."""

    check: str
    severity: Severity
    namespace: str
    kind: str
    name: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {
            "check": self.check,
            "severity": self.severity.label,
            "namespace": self.namespace,
            "kind": self.kind,
            "name": self.name,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class Sample:
    """One value of a derived metric; the metric's help and type live in the catalogue."""

    metric: str
    labels: tuple[tuple[str, str], ...]
    value: float

    @staticmethod
    def of(metric: str, value: float, **labels: str) -> Sample:
        return Sample(metric, tuple(labels.items()), float(value))


@dataclass(slots=True)
class CheckResult:
    """What a check returns: per-object findings plus values of its derived metrics."""

    findings: list[Finding] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ResourceStats:
    """One Kubernetes resource the exporter caches: readable or not, and its list/watch counters."""

    resource: str
    up: bool
    objects: int
    lists: int
    list_errors: int
    watch_events: int
    projection_errors: int


@dataclass(frozen=True)
class SourceView:
    """What the renderer, the report and the status page need to know about one source."""

    name: str
    instance: str
    up: bool
    attempted: bool
    last_success: float | None
    duration: float | None
    errors: Mapping[str, int]
    error_reason: str = ""
    error: str = ""
    resources: tuple[ResourceStats, ...] = ()  # the Kubernetes source's per-resource state
