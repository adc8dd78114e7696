"""One source of truth for each alert's effective severity and `for`: the catalogue, then the overrides.

Precedence: ``alerts.<AlertName>`` (severity, for; ``alerts.<AlertName>/<severity>`` for each variant of a
graded alert), then ``checks.<ID>.alert_severity/alert_for`` (only for
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

ALERTS: dict[str, tuple[str, Alert]] = {a.key: (fm.id, a) for fm in BY_ID.values() for a in fm.alerts}
GRADED: dict[str, list[str]] = {}
for _key, (_, _alert) in ALERTS.items():
    if _alert.graded:
        GRADED.setdefault(_alert.name, []).append(_key)


def effective_severity(settings: Settings, check_id: str, alert: Alert) -> Severity:
    override = settings.alerts.get(alert.key)
    if override is not None and override.severity:
        return Severity.parse(override.severity)
    per_check = settings.checks.for_id(check_id).alert_severity
    return Severity.parse(per_check) if per_check else alert.severity


def effective_for(settings: Settings, check_id: str, alert: Alert) -> str:
    override = settings.alerts.get(alert.key)
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


def alert_ref(check_id: str, key: str) -> AlertRef:
    """The alert ``key`` (name, or name/severity of a graded variant) of ``check_id``; raises at import time
    when the catalogue has no such alert."""
    found = ALERTS.get(key)
    if found is None or found[0] != check_id:
        raise LookupError(f"the catalogue has no alert {key} under {check_id}")
    return AlertRef(check_id, found[1])


def single_alert(check_id: str) -> AlertRef:
    """The only alert of ``check_id``."""
    [alert] = BY_ID[check_id].alerts
    return AlertRef(check_id, alert)


def override_errors(settings: Settings) -> list[str]:
    """Overrides that name no alert, or per-check overrides on checks with several alerts."""
    errors = []
    for key in settings.alerts:
        if key in GRADED:
            variants = ", ".join(f"alerts.{k}" for k in GRADED[key])
            errors.append(f"alerts.{key}: graded by severity; set each variant ({variants})")
        elif key not in ALERTS:
            errors.append(f"alerts.{key}: no such alert (known: {', '.join(sorted(ALERTS))})")
    for name, keys in GRADED.items():
        severities = [effective_severity(settings, ALERTS[k][0], ALERTS[k][1]) for k in keys]
        if len(set(severities)) != len(severities):
            errors.append(f"alerts: the variants of graded alert {name} ({', '.join(keys)}) would share a severity")
    for check_id, mode in BY_ID.items():
        cs = settings.checks.for_id(check_id)
        if len(mode.alerts) > 1 and (cs.alert_severity or cs.alert_for):
            names = ", ".join(a.name for a in mode.alerts)
            errors.append(
                f"checks.{check_id}: alert_severity/alert_for would change all of its alerts ({names}); "
                "set alerts.<name>.severity / alerts.<name>.for instead"
            )
    return errors
