"""Checks are pure: a source snapshot in, findings and derived metric values out."""

from __future__ import annotations

from exporter.checks import (
    components,
    configuration,
    control_plane,
    data_plane,
    exporter_health,
    lifecycle,
    pilot,
    tracing,
    traffic,
    webhooks,
    xds,
)
from exporter.checks.base import CheckDef
from exporter.config import Settings

ALL_CHECKS: tuple[CheckDef, ...] = (
    *control_plane.CHECKS,
    *pilot.CHECKS,
    *xds.CHECKS,
    *data_plane.CHECKS,
    *configuration.CHECKS,
    *webhooks.CHECKS,
    *lifecycle.CHECKS,
    *components.CHECKS,
    *tracing.CHECKS,
    *traffic.CHECKS,
    *exporter_health.CHECKS,
)


def enabled_checks(settings: Settings) -> list[CheckDef]:
    return [c for c in ALL_CHECKS if settings.checks.for_id(c.id).enabled]
