"""Lifecycle checks (catalogue section G)."""

from __future__ import annotations

from collections import defaultdict

from exporter.catalog.lifecycle import (
    CRD_MISSING,
    CRDS_MISSING,
    EXPECTED_SIDECAR_MISSING,
    NAMESPACE_TERMINATING_CONDITION,
    NAMESPACE_TERMINATING_SECONDS,
    NAMESPACES_TERMINATING,
)
from exporter.checks import resources as r
from exporter.checks.base import CheckDef, alert_severity, human_duration, plural
from exporter.config import Settings
from exporter.model import CheckResult, Finding
from exporter.selectors import matches
from exporter.sources.kube.projections import NamespaceInfo
from exporter.sources.kube.snapshot import KubeSnapshot

NAMESPACES = r.NAMESPACES.key

# Conditions the namespace controller sets while it cannot finish a deletion.
DELETION_CONDITIONS = (
    "NamespaceDeletionDiscoveryFailure",
    "NamespaceDeletionGroupVersionParsingFailure",
    "NamespaceDeletionContentFailure",
    "NamespaceContentRemaining",
    "NamespaceFinalizersRemaining",
)


def check_namespace_terminating(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """NS01: namespaces Terminating longer than the threshold, with what blocks them."""
    result = CheckResult()
    threshold = settings.checks.NS01.terminating_threshold_seconds
    severity = alert_severity(settings, "NS01")
    terminating: list[NamespaceInfo] = sorted(
        (ns for ns in snapshot.get(NAMESPACES) if ns.phase == "Terminating"), key=lambda ns: ns.name
    )
    result.samples.append(NAMESPACES_TERMINATING.sample(len(terminating)))
    for ns in terminating:
        age = max(0.0, now - ns.deletion_timestamp) if ns.deletion_timestamp is not None else 0.0
        result.samples.append(NAMESPACE_TERMINATING_SECONDS.sample(age, namespace=ns.name))
        blocking = [c for c in ns.conditions if c.type in DELETION_CONDITIONS and c.status == "True"]
        for c in blocking:
            result.samples.append(NAMESPACE_TERMINATING_CONDITION.sample(1, namespace=ns.name, condition=c.type))
        if age < threshold:
            continue
        details = [f"Terminating for {human_duration(age)}"]
        details += [f"{c.type}: {c.message}" if c.message else c.type for c in blocking]
        if ns.finalizers:
            details.append("namespace finalizers: " + ", ".join(ns.finalizers))
        result.findings.append(Finding("NS01", severity, "", "Namespace", ns.name, "; ".join(details)))
    return result


def check_required_crds(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """NS02: every required CRD exists and is Established."""
    result = CheckResult()
    crds = {c.name: c for c in snapshot.get(r.CRDS.key)}
    severity = alert_severity(settings, "NS02")
    missing = 0
    for name in sorted(set(settings.checks.NS02.required_crds)):
        crd = crds.get(name)
        if crd is not None and crd.established:
            continue
        missing += 1
        state = "not established" if crd is not None else "not installed"
        result.samples.append(CRD_MISSING.sample(1, crd=name))
        result.findings.append(Finding("NS02", severity, "", "CustomResourceDefinition", name, f"required CRD {state}"))
    result.samples.append(CRDS_MISSING.sample(missing))
    return result


def check_expected_in_mesh(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """NS03: pods that must be in the mesh (ingress controllers, gateways) run without a sidecar."""
    result = CheckResult()
    severity = alert_severity(settings, "NS03")
    for component in settings.checks.NS03.expected_in_mesh:
        workloads: dict[tuple[str, str, str], int] = defaultdict(int)
        for pod in snapshot.get(r.PODS.key):
            if pod.has_sidecar or pod.deleting or pod.phase in ("Succeeded", "Failed"):
                continue
            if component.namespaces and pod.namespace not in component.namespaces:
                continue
            if pod.name.startswith(component.name_prefix) and matches(component.selector, pod.labels):
                kind, name = pod.workload
                workloads[(pod.namespace, kind, name)] += 1
        per_namespace: dict[str, int] = defaultdict(int)
        for (namespace, kind, name), count in sorted(workloads.items()):
            per_namespace[namespace] += count
            message = f"{component.name}: {plural(count, 'pod')} without istio-proxy"
            result.findings.append(Finding("NS03", severity, namespace, kind, name, message))
        for namespace, count in sorted(per_namespace.items()):
            result.samples.append(EXPECTED_SIDECAR_MISSING.sample(count, namespace=namespace, component=component.name))
    return result


CHECKS = (
    CheckDef("NS01", "kubernetes", lambda s: [r.NAMESPACES], check_namespace_terminating),
    CheckDef("NS02", "kubernetes", lambda s: [r.CRDS], check_required_crds),
    CheckDef("NS03", "kubernetes", lambda s: [r.PODS], check_expected_in_mesh),
)
