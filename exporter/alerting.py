"""One source of truth for each alert's effective severity and `for`: the catalogue, then the overrides.

Precedence: ``alerts.<AlertName>`` (severity, for), then ``checks.<ID>.alert_severity/alert_for`` (only for
checks with a single alert), then the catalogue. The rule generator and the checks both ask here, so a
finding always carries the severity of the alert that fires for it.

Checks hold an :class:`AlertRef` per alert, made at import time: a misspelt alert name fails on import.
"""

from __future__ import annotations

from dataclasses import dataclass

from exporter.catalog import BY_ID
from exporter.catalog.model import Alert
from exporter.config import Settings
from exporter.model import Severity

ALERTS: dict[str, tuple[str, Alert]] = {a.name: (fm.id, a) for fm in BY_ID.values() for a in fm.alerts}


def effective_severity(settings: Settings, check_id: str, alert: Alert) -> Severity:
    override = settings.alerts.get(alert.name)
    if override is not None and override.severity:
        return Severity.parse(override.severity)
    per_check = settings.checks.for_id(check_id).alert_severity
    return Severity.parse(per_check) if per_check else alert.severity


def effective_for(settings: Settings, check_id: str, alert: Alert) -> str:
    override = settings.alerts.get(alert.name)
    if override is not None and override.for_:
        return override.for_
    return settings.checks.for_id(check_id).alert_for or alert.for_


@dataclass(frozen=True)
class AlertRef:
    """A typed handle on one catalogue alert, for the check whose findings it fires for."""

    check: str
    alert: Alert

    def severity(self, settings: Settings) -> Severity:
        return effective_severity(settings, self.check, self.alert)


def alert_ref(check_id: str, name: str) -> AlertRef:
    """The alert ``name`` of ``check_id``; raises at import time when the catalogue has no such alert."""
    found = ALERTS.get(name)
    if found is None or found[0] != check_id:
        raise LookupError(f"the catalogue has no alert {name} under {check_id}")
    return AlertRef(check_id, found[1])


def single_alert(check_id: str) -> AlertRef:
    """The only alert of ``check_id``."""
    [alert] = BY_ID[check_id].alerts
    return AlertRef(check_id, alert)


def override_errors(settings: Settings) -> list[str]:
    """Overrides that name no alert, or per-check overrides on checks with several alerts."""
    errors = [
        f"alerts.{name}: no such alert (known: {', '.join(sorted(ALERTS))})"
        for name in settings.alerts
        if name not in ALERTS
    ]
    for check_id, mode in BY_ID.items():
        cs = settings.checks.for_id(check_id)
        if len(mode.alerts) > 1 and (cs.alert_severity or cs.alert_for):
            names = ", ".join(a.name for a in mode.alerts)
            errors.append(
                f"checks.{check_id}: alert_severity/alert_for would change all of its alerts ({names}); "
                "set alerts.<name>.severity / alerts.<name>.for instead"
            )
    return errors
