"""Control-plane checks (catalogue section A)."""

from __future__ import annotations

from exporter.checks.base import CheckDef, alert_severity
from exporter.config import Settings
from exporter.model import CheckResult, Finding, Sample, Severity
from exporter.sources.kube.projections import DeploymentInfo, project_deployment
from exporter.sources.kube.resources import ResourceSpec
from exporter.sources.kube.source import KubeSnapshot

ISTIOD_DEPLOYMENTS = "istiod_deployments"
REVISION_LABEL = "istio.io/rev"


def _istiod_resources(settings: Settings) -> list[ResourceSpec]:
    return [
        ResourceSpec(
            key=ISTIOD_DEPLOYMENTS,
            group="apps",
            plural="deployments",
            project=project_deployment,
            namespaces=tuple(settings.istio.control_plane_namespaces),
            label_selector=settings.istio.istiod_selector,
        )
    ]


def _rolling_out(d: DeploymentInfo) -> bool:
    if d.observed_generation < d.generation:
        return True
    for c in d.conditions:
        if c.type == "Progressing":
            return c.status == "True" and c.reason in ("ReplicaSetUpdated", "NewReplicaSetCreated")
    return False


def check_istiod_ready(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """CP01: every istiod Deployment (each revision) has as many ready replicas as desired."""
    result = CheckResult()
    deployments: list[DeploymentInfo] = sorted(snapshot.get(ISTIOD_DEPLOYMENTS), key=lambda d: (d.namespace, d.name))
    severity = alert_severity(settings, "CP01")
    result.samples.append(Sample.of("meshhealth_istiod_deployments", len(deployments)))
    for d in deployments:
        labels = {"namespace": d.namespace, "revision": d.label(REVISION_LABEL) or "default", "deployment": d.name}
        result.samples.append(Sample.of("meshhealth_istiod_replicas_desired", d.desired, **labels))
        result.samples.append(Sample.of("meshhealth_istiod_replicas_ready", d.ready, **labels))
        if d.ready >= d.desired:
            continue
        details = [f"{d.ready}/{d.desired} replicas ready (revision {labels['revision']})"]
        details += [
            f"{c.type}: {c.reason} {c.message}".strip()
            for c in d.conditions
            if c.status == "False" or c.reason == "ProgressDeadlineExceeded"
        ]
        found_severity = severity
        if d.ready > 0 and _rolling_out(d):
            details.append("rollout in progress")
            found_severity = min(severity, Severity.WARNING)
        result.findings.append(Finding("CP01", found_severity, d.namespace, "Deployment", d.name, "; ".join(details)))
    if not deployments:
        namespaces = ",".join(settings.istio.control_plane_namespaces)
        result.findings.append(
            Finding(
                "CP01",
                severity,
                namespaces,
                "Deployment",
                "istiod",
                f"no Deployment matching {settings.istio.istiod_selector} in {namespaces}",
            )
        )
    return result


CHECKS = (CheckDef("CP01", "kubernetes", _istiod_resources, check_istiod_ready),)
