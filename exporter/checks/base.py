"""What a check is: the data it needs and a pure function from that data to findings and samples."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from exporter.alerting import single_alert
from exporter.config import Settings
from exporter.model import CheckResult, NotEvaluated, Severity
from exporter.sources.kube.projections import EventInfo
from exporter.sources.kube.resources import ResourceSpec


@dataclass(frozen=True)
class CheckDef:
    """``run(data, settings, now)`` is pure: ``data`` is the snapshot of ``source``; no I/O, no clock."""

    id: str
    source: str
    resources: Callable[[Settings], list[ResourceSpec]]
    run: Callable[[Any, Settings, float], CheckResult]


def alert_severity(settings: Settings, check_id: str) -> Severity:
    """Severity of the findings of a check with a single alert: that alert's effective severity."""
    return single_alert(check_id).severity(settings)


def recent_events(snapshot: Any, now: float, window: float, reason: str) -> list[EventInfo]:
    """Warning events of ``reason`` last seen within ``window`` seconds before ``now``."""
    events: list[EventInfo] = [
        e
        for e in snapshot.get("warning_events")
        if e.reason == reason and e.last_seen is not None and now - e.last_seen <= window
    ]
    return sorted(events, key=lambda e: (e.namespace, e.object_name, e.last_seen or 0))


def _every_part(
    parts: Callable[[Any], list[tuple[str, object]]], what: str
) -> Callable[[Callable[[Any, Settings, float], CheckResult]], Callable[[Any, Settings, float], CheckResult]]:
    """Wrap a check whose verdict needs every part of its source (each istiod replica, each cluster): with
    one unreadable, the findings of the others are served but the check is not evaluated (unknown, not
    healthy). ``parts`` yields (name, error or None)."""

    def wrap(run: Callable[[Any, Settings, float], CheckResult]) -> Callable[[Any, Settings, float], CheckResult]:
        def wrapped(snapshot: Any, settings: Settings, now: float) -> CheckResult:
            result = run(snapshot, settings, now)
            failed = [f"{name}: {error}" for name, error in parts(snapshot) if error is not None]
            if failed:
                raise NotEvaluated(f"{what} ({'; '.join(failed)})", result)
            return result

        wrapped.__doc__ = run.__doc__
        return wrapped

    return wrap


every_replica = _every_part(
    lambda s: [(r.replica.name, r.error) for r in s.replicas],
    "istiod replica(s) unreadable, their proxies are not checked",
)
every_cluster = _every_part(
    lambda s: [(c.name, c.error) for c in s.clusters], "Elasticsearch cluster(s) unreadable, not checked"
)


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``1 proxy runs``-style counts: "1 pod", "2 pods", "1 proxy", "3 proxies"."""
    word = singular if count == 1 else plural_form or f"{singular}s"
    return f"{count} {word}"


def human_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{minutes}m" if minutes else ""]
    text = "".join(parts)
    return text if text else f"{secs}s"
