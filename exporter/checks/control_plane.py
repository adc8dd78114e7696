"""Control-plane checks (catalogue section A): istiod readiness, restarts, HPA targets, token mounts."""

from __future__ import annotations

from typing import Any

from exporter.alerting import alert_ref
from exporter.catalog.control_plane import (
    HPA_TARGET_MISSING,
    HPAS_TARGET_MISSING,
    ISTIOD_CONTAINER_RESTARTS,
    ISTIOD_DEPLOYMENTS,
    ISTIOD_OOMKILLED,
    ISTIOD_PODS_TOKEN_MOUNT_FAILING,
    ISTIOD_REPLICAS_DESIRED,
    ISTIOD_REPLICAS_READY,
    ISTIOD_TOKEN_MOUNT_FAILURES,
)
from exporter.checks import resources as r
from exporter.checks.base import CheckDef, alert_severity, human_duration, recent_events
from exporter.checks.components import component_findings
from exporter.config import Settings
from exporter.model import CheckResult, Finding
from exporter.selectors import matches
from exporter.sources.kube.projections import HPAInfo, PodInfo, WorkloadInfo
from exporter.sources.kube.snapshot import KubeSnapshot

REVISION_LABEL = "istio.io/rev"


def _istiod(objects: tuple[Any, ...], settings: Settings) -> list[Any]:
    """Objects in the control-plane namespaces matching istio.istiod_selector, sorted."""
    namespaces = set(settings.istio.control_plane_namespaces)
    chosen = [o for o in objects if o.namespace in namespaces and matches(settings.istio.istiod_selector, o.labels)]
    return sorted(chosen, key=lambda o: (o.namespace, o.name))


def istiod_workloads(snapshot: KubeSnapshot, settings: Settings) -> list[WorkloadInfo]:
    return _istiod(snapshot.get(r.DEPLOYMENTS.key), settings)


def istiod_pods(snapshot: KubeSnapshot, settings: Settings) -> list[PodInfo]:
    return _istiod(snapshot.get(r.PODS.key), settings)


def _rolling_out(d: WorkloadInfo) -> bool:
    if d.observed_generation < d.generation:
        return True
    for c in d.conditions:
        if c.type == "Progressing":
            return c.status == "True" and c.reason in ("ReplicaSetUpdated", "NewReplicaSetCreated")
    return False


ISTIOD_NOT_READY = alert_ref("CP01", "MeshHealthIstiodNotReady")
ISTIOD_MISSING = alert_ref("CP01", "MeshHealthIstiodMissing")
GATEWAY_NOT_READY = alert_ref("CP01", "MeshHealthGatewayNotReady")
GATEWAY_MISSING = alert_ref("CP01", "MeshHealthGatewayMissing")
RESTARTING = alert_ref("CP02", "MeshHealthIstiodRestarting")
OOMKILLED = alert_ref("CP02", "MeshHealthIstiodOOMKilled")


def check_istiod_ready(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """CP01: every istiod Deployment (each revision) and each configured control-plane component is ready."""
    result = CheckResult()
    deployments = istiod_workloads(snapshot, settings)
    severity = ISTIOD_NOT_READY.severity(settings)
    result.samples.append(ISTIOD_DEPLOYMENTS.sample(len(deployments)))
    for d in deployments:
        labels = {"namespace": d.namespace, "revision": d.label(REVISION_LABEL) or "default", "deployment": d.name}
        result.samples.append(ISTIOD_REPLICAS_DESIRED.sample(d.desired, **labels))
        result.samples.append(ISTIOD_REPLICAS_READY.sample(d.ready, **labels))
        if d.ready >= d.desired:
            continue
        details = [f"{d.ready}/{d.desired} replicas ready (revision {labels['revision']})"]
        details += [
            f"{c.type}: {c.reason} {c.message}".strip()
            for c in d.conditions
            if c.status == "False" or c.reason == "ProgressDeadlineExceeded"
        ]
        if d.ready > 0 and _rolling_out(d):
            details.append("rollout in progress (the alert fires if it does not finish within its `for`)")
        result.findings.append(Finding("CP01", severity, d.namespace, "Deployment", d.name, "; ".join(details)))
    if not deployments:
        namespaces = ",".join(settings.istio.control_plane_namespaces)
        message = f"no Deployment matching {settings.istio.istiod_selector} in {namespaces}"
        result.findings.append(
            Finding("CP01", ISTIOD_MISSING.severity(settings), namespaces, "Deployment", "istiod", message)
        )
    component_findings("CP01", snapshot, settings.checks.CP01.components, (GATEWAY_NOT_READY, GATEWAY_MISSING),
                       settings, result)  # fmt: skip
    return result


def check_istiod_restarts(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """CP02: restart counts of istiod containers, and OOMKills within ``oom_recent_seconds``."""
    result = CheckResult()
    recent = settings.checks.CP02.oom_recent_seconds
    for pod in istiod_pods(snapshot, settings):
        revision = pod.label(REVISION_LABEL) or "default"
        restarts = sum(s.restarts for s in pod.states if not s.init)
        labels = {"namespace": pod.namespace, "pod": pod.name, "revision": revision}
        result.samples.append(ISTIOD_CONTAINER_RESTARTS.sample(restarts, **labels))
        oom = [
            s
            for s in pod.states
            if s.last_reason == "OOMKilled" and s.last_finished is not None and now - s.last_finished <= recent
        ]
        oom += [s for s in pod.states if s.terminated_reason == "OOMKilled"]
        result.samples.append(ISTIOD_OOMKILLED.sample(1 if oom else 0, **labels))
        if oom:
            when = [f"{human_duration(now - s.last_finished)} ago" for s in oom if s.last_finished is not None]
            message = f"container {oom[0].name} OOMKilled {when[0] if when else 'now'}; {restarts} restarts in total"
            result.findings.append(
                Finding("CP02", OOMKILLED.severity(settings), pod.namespace, "Pod", pod.name, message)
            )
        elif restarts:
            last = next((s for s in pod.states if s.restarts and s.last_reason), None)
            reason = f" (last: {last.last_reason}, exit code {last.last_exit_code})" if last else ""
            message = f"{restarts} container restarts{reason}"
            result.findings.append(
                Finding("CP02", RESTARTING.severity(settings), pod.namespace, "Pod", pod.name, message)
            )
    return result


def check_hpa_targets(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """CP09: every HPA in the control-plane namespaces scales a workload that exists."""
    result = CheckResult()
    existing = {(w.kind, w.namespace, w.name) for w in snapshot.get(r.DEPLOYMENTS.key)}
    existing |= {(w.kind, w.namespace, w.name) for w in snapshot.get(r.STATEFULSETS.key)}
    broken = 0
    severity = alert_severity(settings, "CP09")
    hpas: list[HPAInfo] = sorted(snapshot.get("control_plane_hpas"), key=lambda h: (h.namespace, h.name))
    for hpa in hpas:
        if hpa.target_kind not in ("Deployment", "StatefulSet"):
            continue  # other scale subresources (ReplicaSet, custom) are not resolved here
        if (hpa.target_kind, hpa.namespace, hpa.target_name) in existing:
            continue
        broken += 1
        result.samples.append(
            HPA_TARGET_MISSING.sample(
                1,
                namespace=hpa.namespace,
                hpa=hpa.name,
                target_kind=hpa.target_kind,
                target_name=hpa.target_name,
            )
        )
        candidates = sorted(
            name
            for kind, ns, name in existing
            if kind == hpa.target_kind and ns == hpa.namespace and name.startswith(hpa.target_name)
        )
        hint = f"; existing: {', '.join(candidates)}" if candidates else ""
        message = f'scaleTargetRef {hpa.target_kind} "{hpa.target_name}" does not exist{hint}'
        result.findings.append(Finding("CP09", severity, hpa.namespace, "HorizontalPodAutoscaler", hpa.name, message))
    result.samples.append(HPAS_TARGET_MISSING.sample(broken))
    return result


def check_istio_token_mount(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """CP12: FailedMount events of ``istio-token`` on istiod pods (wrong jwtPolicy)."""
    result = CheckResult()
    namespaces = set(settings.istio.control_plane_namespaces)
    window = settings.checks.CP12.event_window_seconds
    per_pod: dict[tuple[str, str], list[str]] = {}
    for event in recent_events(snapshot, now, window, reason="FailedMount"):
        if event.namespace in namespaces and event.object_kind == "Pod" and "istio-token" in event.message:
            per_pod.setdefault((event.namespace, event.object_name), []).append(event.message)
    severity = alert_severity(settings, "CP12")
    for (namespace, pod), messages in sorted(per_pod.items()):
        result.samples.append(ISTIOD_TOKEN_MOUNT_FAILURES.sample(len(messages), namespace=namespace, pod=pod))
        result.findings.append(Finding("CP12", severity, namespace, "Pod", pod, messages[-1][:300]))
    result.samples.append(ISTIOD_PODS_TOKEN_MOUNT_FAILING.sample(len(per_pod)))
    return result


CHECKS = (
    CheckDef("CP01", "kubernetes", lambda s: [r.DEPLOYMENTS, r.STATEFULSETS], check_istiod_ready),
    CheckDef("CP02", "kubernetes", lambda s: [r.PODS], check_istiod_restarts),
    CheckDef(
        "CP09", "kubernetes", lambda s: [r.control_plane_hpas(s), r.DEPLOYMENTS, r.STATEFULSETS], check_hpa_targets
    ),
    CheckDef("CP12", "kubernetes", lambda s: [r.WARNING_EVENTS], check_istio_token_mount),
)
