"""Run the enabled checks over the latest source data (pure: data and ``now`` in, outcomes out)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from exporter.catalog import METRICS
from exporter.checks.base import CheckDef
from exporter.config import Settings
from exporter.model import CheckResult, Finding, NotEvaluated

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckOutcome:
    check: str
    up: bool  # False: the source has no fresh data, or the check failed on it
    result: CheckResult = field(default_factory=CheckResult)
    error: str = ""
    partial: bool = False  # not up, but ``result`` holds what the visible part showed

    @property
    def served(self) -> bool:
        """Its findings and samples are exported (complete, or the visible part of a partial evaluation)."""
        return self.up or self.partial


def evaluate(
    checks: Sequence[CheckDef], data: Mapping[str, Any | None], settings: Settings, now: float
) -> list[CheckOutcome]:
    outcomes = []
    for check in checks:
        snapshot = data.get(check.source)
        if snapshot is None:
            outcomes.append(CheckOutcome(check.id, False, error=f"no fresh data from source {check.source}"))
            continue
        unreadable = getattr(snapshot, "unreadable", None)  # resources of the Kubernetes snapshot that failed
        missing = unreadable(spec.key for spec in check.resources(settings)) if callable(unreadable) else {}
        if missing:
            why = "; ".join(f"{key}: {reason}" for key, reason in sorted(missing.items()))
            outcomes.append(CheckOutcome(check.id, False, error=f"cannot read what this check needs ({why})"))
            continue
        try:
            result = check.run(snapshot, settings, now)
            undeclared = undeclared_samples(result)
            if undeclared:
                raise ValueError(f"emits metrics the catalogue does not declare: {', '.join(sorted(undeclared))}")
        except NotEvaluated as exc:
            partial = exc.partial if exc.partial is not None and not undeclared_samples(exc.partial) else None
            outcomes.append(CheckOutcome(check.id, False, partial or CheckResult(), str(exc), partial is not None))
            continue
        except Exception as exc:  # a check bug on odd data must not take the exporter down
            log.exception("check %s failed", check.id)
            outcomes.append(CheckOutcome(check.id, False, error=f"check failed: {type(exc).__name__}: {exc}"))
            continue
        outcomes.append(CheckOutcome(check.id, True, result))
    return outcomes


def undeclared_samples(result: CheckResult) -> set[str]:
    """Samples whose metric or label names differ from the catalogue (they must never reach the renderer)."""
    bad = set()
    for sample in result.samples:
        spec = METRICS.get(sample.metric)
        if spec is None or tuple(k for k, _ in sample.labels) != spec.labels:
            bad.add(sample.metric)
    return bad


FindingKey = tuple[str, str, str, str]


def finding_key(finding: Finding) -> FindingKey:
    return (finding.check, finding.namespace, finding.kind, finding.name)


def track_first_seen(
    previous: Mapping[FindingKey, float], outcomes: Sequence[CheckOutcome], now: float
) -> dict[FindingKey, float]:
    """Since when each current finding has been reported; a check not evaluated keeps what it had."""
    current: dict[FindingKey, float] = {}
    for outcome in outcomes:
        if not outcome.served:
            current.update({k: v for k, v in previous.items() if k[0] == outcome.check})
            continue
        for f in outcome.result.findings:
            key = finding_key(f)
            current[key] = previous.get(key, now)
    return current


def all_findings(outcomes: Sequence[CheckOutcome]) -> list[Finding]:
    findings = [f for o in outcomes for f in o.result.findings]
    return sorted(findings, key=lambda f: (-f.severity, f.check, f.namespace, f.name))
