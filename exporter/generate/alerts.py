"""The alerts as configured: catalogue defaults with the user's overrides applied."""

from __future__ import annotations

import re
from dataclasses import dataclass

from exporter.alerting import effective_for, effective_severity
from exporter.catalog import CATALOG
from exporter.catalog.model import Alert, FailureMode
from exporter.config import CheckSettings, Settings
from exporter.durations import parse_duration
from exporter.model import Severity

_OWN_METRIC = re.compile(r"\b(meshhealth_[a-zA-Z0-9_]+)(\{)?")


def with_selector(expr: str, selector: str) -> str:
    """``expr`` with ``selector`` added to every meshhealth_* metric (the chart does the same in Go)."""
    if not selector:
        return expr
    return _OWN_METRIC.sub(lambda m: f"{m[1]}{{{selector}," if m[2] else f"{m[1]}{{{selector}}}", expr)


def duration_seconds(text: str) -> float:
    seconds = parse_duration(text)
    if seconds is None:
        raise ValueError(f"{text!r} is not a duration")
    return seconds


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@dataclass(frozen=True)
class EffectiveAlert:
    failure_mode: FailureMode
    alert: Alert
    expr: str
    for_: str
    severity: Severity
    runbook_url: str

    @property
    def annotations(self) -> dict[str, str]:
        return {
            "check": self.failure_mode.id,
            "summary": self.alert.summary,
            "description": self.alert.description,
            "runbook_url": self.runbook_url,
        }


def check_settings(settings: Settings, fm: FailureMode) -> CheckSettings:
    return settings.checks.for_id(fm.id)


def effective_alerts(settings: Settings) -> list[EffectiveAlert]:
    out = []
    for fm in CATALOG:
        cs = check_settings(settings, fm)
        if not cs.enabled:
            continue
        thresholds = {name: float(getattr(cs, name)) for name in fm.thresholds}
        for alert in fm.alerts:
            override = settings.alerts.get(alert.name)
            if override is not None and not override.enabled:
                continue
            out.append(
                EffectiveAlert(
                    failure_mode=fm,
                    alert=alert,
                    expr=with_selector(alert.render_expr(thresholds), settings.metric_selector),
                    for_=effective_for(settings, fm.id, alert),
                    severity=effective_severity(settings, fm.id, alert),
                    runbook_url=f"{settings.runbook_base_url}#{fm.anchor}",
                )
            )
    return out


def by_section(alerts: list[EffectiveAlert]) -> dict[str, list[EffectiveAlert]]:
    groups: dict[str, list[EffectiveAlert]] = {}
    for a in alerts:
        groups.setdefault(a.failure_mode.section, []).append(a)
    return groups
