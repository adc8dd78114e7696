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


class EveryPart:
    """Wrap a check whose verdict needs every part of its source (each istiod replica, each cluster): with
    one unreadable, the findings of the others are served but the check is not evaluated (unknown, not
    healthy)."""

    what = ""

    def __init__(self, run: Callable[[Any, Settings, float], CheckResult]) -> None:
        self.run = run

    def parts(self, snapshot: Any) -> list[tuple[str, object]]:
        """(name, error or None) of every part."""
        raise NotImplementedError

    def __call__(self, snapshot: Any, settings: Settings, now: float) -> CheckResult:
        result = self.run(snapshot, settings, now)
        failed = [f"{name}: {error}" for name, error in self.parts(snapshot) if error is not None]
        if failed:
            raise NotEvaluated(f"{self.what} ({'; '.join(failed)})", result)
        return result


class EveryReplica(EveryPart):
    what = "istiod replica(s) unreadable, their proxies are not checked"

    def parts(self, snapshot: Any) -> list[tuple[str, object]]:
        return [(r.replica.name, r.error) for r in snapshot.replicas]


class EveryCluster(EveryPart):
    what = "Elasticsearch cluster(s) unreadable, not checked"

    def parts(self, snapshot: Any) -> list[tuple[str, object]]:
        return [(c.name, c.error) for c in snapshot.clusters]


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
