"""Metrics that several failure modes use (component readiness), declared once."""

from __future__ import annotations

from exporter.catalog.model import MetricSpec

_COMPONENT = ("check", "component", "namespace", "kind", "workload")

COMPONENT_METRICS = (
    MetricSpec(
        "meshhealth_component_replicas_desired",
        "Replicas requested by each workload of a watched component (check = CP01, TR08 or TM07).",
        _COMPONENT,
    ),
    MetricSpec(
        "meshhealth_component_replicas_ready", "Ready replicas of each workload of a watched component.", _COMPONENT
    ),
    MetricSpec(
        "meshhealth_component_workloads",
        "Workloads matching each watched component's namespaces, selector and name prefix.",
        ("check", "component"),
    ),
)

SHARED_METRICS = COMPONENT_METRICS


def component_not_ready_expr(check_id: str) -> str:
    return (
        f'meshhealth_component_replicas_ready{{check="{check_id}"}} '
        f'< meshhealth_component_replicas_desired{{check="{check_id}"}}'
    )
