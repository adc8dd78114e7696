"""The failure-mode catalogue: the single source of truth for metrics, alerts, panels and runbooks."""

from __future__ import annotations

from exporter.catalog import (
    components,
    control_plane,
    data_plane,
    exporter_health,
    lifecycle,
    pilot,
    tracing,
    webhooks,
    xds,
)
from exporter.catalog.model import FailureMode, MetricSpec
from exporter.catalog.shared import SHARED_METRICS

CATALOG: tuple[FailureMode, ...] = (
    *control_plane.SECTION,
    *pilot.SECTION,
    *xds.SECTION,
    *data_plane.SECTION,
    *webhooks.SECTION,
    *lifecycle.SECTION,
    *components.SECTION,
    *tracing.SECTION,
    *exporter_health.SECTION,
)

BY_ID: dict[str, FailureMode] = {fm.id: fm for fm in CATALOG}


def metric_specs() -> dict[str, MetricSpec]:
    specs: dict[str, MetricSpec] = {}
    for m in (*SHARED_METRICS, *(m for fm in CATALOG for m in fm.metrics)):
        if m.name in specs:
            raise ValueError(f"metric {m.name} declared twice")
        specs[m.name] = m
    return specs


METRICS = metric_specs()
