"""Healthy and unhealthy data for every check, built relative to a given ``now``.

The same scenarios feed the unit tests (the check finds something exactly in the unhealthy case) and the
promtool test that ties each check to its alerts: the check's rendered /metrics samples are the alert
rules' input series, so an alert that reads a metric the check does not emit, or fires without a
finding, fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Scenario:
    check: str
    name: str
    healthy: Callable[[float], Any]  # now -> source snapshot
    unhealthy: Callable[[float], Any]
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.check}-{self.name}"


def all_scenarios() -> list[Scenario]:
    from tests.scenarios import config, istiod, kube, tracing, traffic

    return [*kube.SCENARIOS, *config.SCENARIOS, *istiod.SCENARIOS, *tracing.SCENARIOS, *traffic.SCENARIOS]
