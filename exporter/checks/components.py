"""Readiness of configured components (CP01 gateways, TR08 Jaeger/Elasticsearch, TM07 Kiali/Prometheus)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from exporter.alerting import AlertRef, alert_ref
from exporter.catalog.shared import (
    COMPONENT_MISSING,
    COMPONENT_REPLICAS_DESIRED,
    COMPONENT_REPLICAS_READY,
    COMPONENT_WORKLOADS,
)
from exporter.checks import resources as r
from exporter.checks.base import CheckDef
from exporter.config import ComponentSettings, Settings
from exporter.model import CheckResult, Finding
from exporter.selectors import matches
from exporter.sources.kube.projections import WorkloadInfo
from exporter.sources.kube.snapshot import KubeSnapshot


def matching_workloads(snapshot: KubeSnapshot, component: ComponentSettings) -> list[WorkloadInfo]:
    workloads: list[WorkloadInfo] = []
    if "Deployment" in component.kinds:
        workloads += snapshot.get(r.DEPLOYMENTS.key)
    if "StatefulSet" in component.kinds:
        workloads += snapshot.get(r.STATEFULSETS.key)
    return sorted(
        (
            w
            for w in workloads
            if (not component.namespaces or w.namespace in component.namespaces)
            and w.name.startswith(component.name_prefix)
            and matches(component.selector, w.labels)
        ),
        key=lambda w: (w.namespace, w.kind, w.name),
    )


def component_findings(
    check_id: str,
    snapshot: KubeSnapshot,
    components: Sequence[ComponentSettings],
    alerts: tuple[AlertRef, AlertRef],
    settings: Settings,
    result: CheckResult,
) -> None:
    """Add replica gauges and findings for ``components`` to ``result``; ``alerts`` are (not ready, missing)."""
    severity, missing_severity = (a.severity(settings) for a in alerts)
    for component in components:
        workloads = matching_workloads(snapshot, component)
        result.samples.append(COMPONENT_WORKLOADS.sample(len(workloads), check=check_id, component=component.name))
        for w in workloads:
            labels = {
                "check": check_id,
                "component": component.name,
                "namespace": w.namespace,
                "kind": w.kind,
                "workload": w.name,
            }
            result.samples.append(COMPONENT_REPLICAS_DESIRED.sample(w.desired, **labels))
            result.samples.append(COMPONENT_REPLICAS_READY.sample(w.ready, **labels))
            if w.ready < w.desired:
                message = f"{component.name}: {w.ready}/{w.desired} replicas ready"
                result.findings.append(Finding(check_id, severity, w.namespace, w.kind, w.name, message))
        if component.required:
            result.samples.append(COMPONENT_MISSING.sample(0 if workloads else 1, check=check_id,
                                            component=component.name))  # fmt: skip
        if component.required and not workloads:
            where = ",".join(component.namespaces) or "any namespace"
            message = f"{component.name}: no workload matches (selector {component.selector or '-'}, {where})"
            result.findings.append(Finding(check_id, missing_severity, ",".join(component.namespaces), "Workload",
                                           component.name, message))  # fmt: skip


ALERTS = {
    "TR08": (
        alert_ref("TR08", "MeshHealthTracingComponentNotReady"),
        alert_ref("TR08", "MeshHealthTracingComponentMissing"),
    ),
    "TM07": (
        alert_ref("TM07", "MeshHealthTelemetryComponentDown"),
        alert_ref("TM07", "MeshHealthTelemetryComponentMissing"),
    ),
}


def components_ready(check_id: str, snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """TR08, TM07 (bound with ``functools.partial``): configured components have every replica ready."""
    result = CheckResult()
    components = settings.checks.TR08.components if check_id == "TR08" else settings.checks.TM07.components
    component_findings(check_id, snapshot, components, ALERTS[check_id], settings, result)
    return result


CHECKS = (
    CheckDef("TR08", "kubernetes", lambda s: [r.DEPLOYMENTS, r.STATEFULSETS], partial(components_ready, "TR08")),
    CheckDef("TM07", "kubernetes", lambda s: [r.DEPLOYMENTS, r.STATEFULSETS], partial(components_ready, "TM07")),
)
