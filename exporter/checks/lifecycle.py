"""Lifecycle checks (catalogue section G)."""

from __future__ import annotations

from exporter.checks.base import CheckDef, alert_severity, human_duration
from exporter.config import Settings
from exporter.model import CheckResult, Finding, Sample
from exporter.sources.kube.projections import NamespaceInfo, project_namespace
from exporter.sources.kube.resources import ResourceSpec
from exporter.sources.kube.source import KubeSnapshot

NAMESPACES = "namespaces"

# Conditions the namespace controller sets while it cannot finish a deletion.
DELETION_CONDITIONS = (
    "NamespaceDeletionDiscoveryFailure",
    "NamespaceDeletionGroupVersionParsingFailure",
    "NamespaceDeletionContentFailure",
    "NamespaceContentRemaining",
    "NamespaceFinalizersRemaining",
)


def _namespace_resources(settings: Settings) -> list[ResourceSpec]:
    return [ResourceSpec(key=NAMESPACES, group="", plural="namespaces", project=project_namespace)]


def check_namespace_terminating(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """NS01: namespaces Terminating longer than the threshold, with what blocks them."""
    result = CheckResult()
    threshold = settings.checks.NS01.terminating_threshold_seconds
    severity = alert_severity(settings, "NS01")
    terminating: list[NamespaceInfo] = sorted(
        (ns for ns in snapshot.get(NAMESPACES) if ns.phase == "Terminating"), key=lambda ns: ns.name
    )
    result.samples.append(Sample.of("meshhealth_namespaces_terminating", len(terminating)))
    for ns in terminating:
        age = max(0.0, now - ns.deletion_timestamp) if ns.deletion_timestamp is not None else 0.0
        result.samples.append(Sample.of("meshhealth_namespace_terminating_seconds", age, namespace=ns.name))
        blocking = [c for c in ns.conditions if c.type in DELETION_CONDITIONS and c.status == "True"]
        for c in blocking:
            result.samples.append(
                Sample.of("meshhealth_namespace_terminating_condition", 1, namespace=ns.name, condition=c.type)
            )
        if age < threshold:
            continue
        details = [f"Terminating for {human_duration(age)}"]
        details += [f"{c.type}: {c.message}" if c.message else c.type for c in blocking]
        if ns.finalizers:
            details.append("namespace finalizers: " + ", ".join(ns.finalizers))
        result.findings.append(Finding("NS01", severity, "", "Namespace", ns.name, "; ".join(details)))
    return result


CHECKS = (CheckDef("NS01", "kubernetes", _namespace_resources, check_namespace_terminating),)
