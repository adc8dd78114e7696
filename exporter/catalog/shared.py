"""What several catalogue entries share: the component readiness metrics (declared once, listed by each entry
that emits them) and the builders of entries and alerts of the same shape."""

from __future__ import annotations

from exporter.catalog import labels
from exporter.catalog.model import Alert, FailureMode, MetricSpec, Panel, Query, Runbook
from exporter.model import Severity

COMPONENT_REPLICAS_DESIRED = MetricSpec(
    "meshhealth_component_replicas_desired",
    "Replicas requested by each workload of a watched component (check = CP01, TR08 or TM07).",
    labels.check_component_namespace_kind_workload,
)
COMPONENT_REPLICAS_READY = MetricSpec(
    "meshhealth_component_replicas_ready",
    "Ready replicas of each workload of a watched component.",
    labels.check_component_namespace_kind_workload,
)
COMPONENT_WORKLOADS = MetricSpec(
    "meshhealth_component_workloads",
    "Workloads matching each watched component's namespaces, selector and name prefix.",
    labels.check_component,
)
COMPONENT_MISSING = MetricSpec(
    "meshhealth_component_missing",
    "1 when a component marked required matches no workload (only required components have this series).",
    labels.check_component,
)

COMPONENT_METRICS = (
    COMPONENT_REPLICAS_DESIRED,
    COMPONENT_REPLICAS_READY,
    COMPONENT_WORKLOADS,
    COMPONENT_MISSING,
)


def component_not_ready_expr(check_id: str) -> str:
    return (
        f'meshhealth_component_replicas_ready{{check="{check_id}"}} '
        f'< meshhealth_component_replicas_desired{{check="{check_id}"}}'
    )


def component_missing_alert(check_id: str, name: str, severity: Severity) -> Alert:
    """A required component (``required: true``) that matches no workload at all."""
    return Alert(
        name=name,
        expr=f'meshhealth_component_missing{{check="{check_id}"}} == 1',
        for_="10m",
        severity=severity,
        summary="A required component has no workload.",
        description="No workload matches the required component {{ $labels.component }} ({{ $labels.check }}).",
    )


def component_alert(check_id: str, name: str, severity: Severity, summary: str, effect: str) -> Alert:
    """The readiness alert of a component check."""
    description = (
        "{{ $labels.kind }} {{ $labels.namespace }}/{{ $labels.workload }} ({{ $labels.component }}) has "
        "{{ $value }} ready replicas, fewer than desired" + (f"; {effect}." if effect else ".")
    )
    return Alert(
        name=name,
        expr=component_not_ready_expr(check_id),
        for_="5m",
        severity=severity,
        summary=summary,
        description=description,
    )


def relayed_gauge_mode(
    fm_id: str, title: str, metric: MetricSpec[...], alert: str, summary: str, what: str, runbook: Runbook,
    extra_metrics: tuple[MetricSpec[...], ...] = (),
) -> FailureMode:  # fmt: skip
    """A failure mode whose check relays one istiod gauge per replica (CP05-CP07): alert when above 0."""
    return FailureMode(
        id=fm_id,
        title=title,
        section="Control plane",
        metrics=(metric, *extra_metrics),
        alerts=(
            Alert(
                name=alert,
                expr=f"{metric.name} > 0",
                for_="10m",
                severity=Severity.WARNING,
                summary=summary,
                description=f"istiod {{{{ $labels.istiod }}}} reports {{{{ $value }}}} {what}.",
            ),
        ),
        panels=(Panel(title=title, description=metric.help, queries=(Query(metric.name, "{{istiod}}"),)),),
        runbook=runbook,
    )
