"""The failure-mode catalogue: the single source of truth for metrics, alerts, panels and runbooks."""

from __future__ import annotations

from exporter.catalog import (
    components,
    control_plane,
    data_plane,
    exporter_health,
    lifecycle,
    mesh_config,
    mesh_references,
    pilot,
    tracing,
    traffic,
    webhooks,
    xds,
)
from exporter.catalog.model import FailureMode, MetricSpec

CATALOG: tuple[FailureMode, ...] = (
    *control_plane.SECTION,
    *pilot.SECTION,
    *xds.SECTION,
    *data_plane.SECTION,
    *mesh_config.SECTION,
    *mesh_references.SECTION,
    *webhooks.SECTION,
    *lifecycle.SECTION,
    *components.SECTION,
    *tracing.SECTION,
    *traffic.SECTION,
    *exporter_health.SECTION,
)

BY_ID: dict[str, FailureMode] = {fm.id: fm for fm in CATALOG}


def metric_specs() -> dict[str, MetricSpec[...]]:
    """Every metric by name. A metric emitted by several checks is one object listed by each of their entries;
    two declarations of one name are an error."""
    specs: dict[str, MetricSpec[...]] = {}
    for m in (m for fm in CATALOG for m in fm.metrics):
        if specs.setdefault(m.name, m) is not m:
            raise ValueError(f"metric {m.name} declared twice")
    return specs


METRICS = metric_specs()
