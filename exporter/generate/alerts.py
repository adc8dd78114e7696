"""The alerts as configured: catalogue defaults with the user's overrides applied."""

from __future__ import annotations

import re
from dataclasses import dataclass

from exporter.alerting import effective_for, effective_severity
from exporter.catalog import CATALOG
from exporter.catalog.model import Alert, FailureMode
from exporter.config import CheckSettings, Settings
from exporter.durations import parse_duration
from exporter.generate.promql import Scope
from exporter.model import Severity


def rule_scope(settings: Settings) -> Scope:
    """Selectors and cluster label of the generated rules (the chart applies the same rewrites in Go)."""
    return Scope(
        meshhealth=settings.metric_selector,
        istio=settings.istio_metric_selector,
        jaeger=settings.jaeger_metric_selector,
        cluster_label=settings.cluster_label,
    )


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
    scope = rule_scope(settings)
    for fm in CATALOG:
        cs = check_settings(settings, fm)
        if not cs.enabled:
            continue
        thresholds = {name: float(getattr(cs, name)) for name in fm.thresholds}
        for alert in fm.alerts:
            override = settings.alerts.get(alert.key)
            if override is not None and not override.enabled:
                continue
            out.append(
                EffectiveAlert(
                    failure_mode=fm,
                    alert=alert,
                    expr=scope.apply(alert.render_expr(thresholds)),
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
