"""Sidecar injection and data-plane pod checks (catalogue section B): DP04-DP08."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import yaml

from exporter.alerting import alert_ref
from exporter.catalog.data_plane import (
    INJECTION_WEBHOOK_FAILURES,
    ISTIO_INIT_FAILING_PODS,
    NODES_ISTIO_INIT_FAILING,
    OBJECTS_FAILING_INJECTION,
    PODS_WITHOUT_SIDECAR,
    SIDECAR_PROBE_ISSUES,
    WORKLOADS_DRAIN_SHORTER_THAN_GRACE,
    WORKLOADS_SIDECAR_PROBE_FAILING,
    WORKLOADS_WITHOUT_SIDECAR,
)
from exporter.checks import resources as r
from exporter.checks.base import CheckDef, alert_severity, plural, recent_events
from exporter.config import Settings
from exporter.durations import parse_duration
from exporter.model import CheckResult, Finding
from exporter.sources.kube.projections import NamespaceInfo, NodeInfo, PodInfo, WebhookInfo
from exporter.sources.kube.snapshot import KubeSnapshot

INJECT = "sidecar.istio.io/inject"
ISTIO_INIT_CONTAINERS = ("istio-init", "istio-validation")
WEBHOOK_IN_MESSAGE = re.compile(r'failed calling webhook "([^"]+)"')

NOT_RESTARTED = "not_restarted"
WEBHOOK_FAILING = "webhook_failing"
NO_INJECTOR = "no_injector"
REASON_TEXT = {
    NOT_RESTARTED: "created before injection was enabled or while the injector was down: restart the workload",
    WEBHOOK_FAILING: "pod creation hit injection webhook failures (DP05)",
    NO_INJECTOR: "no Istio mutating webhook configuration exists",
}


def _yaml(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def istio_webhooks(snapshot: KubeSnapshot, settings: Settings, kind: str | None = None) -> list[WebhookInfo]:
    pattern = re.compile(settings.istio.webhook_name_pattern)
    keys = [r.VALIDATING_WEBHOOKS.key, r.MUTATING_WEBHOOKS.key]
    hooks = [h for key in keys for config in snapshot.get(key) for h in config]
    return [
        h
        for h in hooks
        if (kind is None or h.kind == kind) and (pattern.search(h.configuration) or pattern.search(h.name))
    ]


def _injector_policy(snapshot: KubeSnapshot) -> str:
    for cm in snapshot.get("istio_configmaps"):
        if cm.name.startswith("istio-sidecar-injector"):
            policy = _yaml(cm.get("config")).get("policy")
            if isinstance(policy, str):
                return policy
    return "enabled"


def _injection_wanted(pod: PodInfo, ns: NamespaceInfo, policy: str) -> bool:
    explicit = pod.label(INJECT) or pod.annotation(INJECT)
    if explicit == "true":
        return True
    if explicit == "false" or policy == "disabled":
        return False
    injection = ns.label("istio-injection")
    return injection == "enabled" or (injection != "disabled" and bool(ns.label("istio.io/rev")))


def _webhook_failure_events(snapshot: KubeSnapshot, settings: Settings, now: float, window: float) -> list[Any]:
    pattern = re.compile(settings.istio.webhook_name_pattern)
    out = []
    for event in recent_events(snapshot, now, window, reason="FailedCreate"):
        found = WEBHOOK_IN_MESSAGE.search(event.message)
        if found and pattern.search(found.group(1)):
            out.append((event, found.group(1)))
    return out


def check_injection(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """DP04: pods that should have a sidecar run without one, grouped by workload, with the likely reason."""
    cfg = settings.checks.DP04
    namespaces = {ns.name: ns for ns in snapshot.get(r.NAMESPACES.key)}
    policy = _injector_policy(snapshot)
    failing = {e.namespace for e, _ in _webhook_failure_events(snapshot, settings, now, 3600)}
    has_injector = bool(istio_webhooks(snapshot, settings, "mutating"))
    by_workload: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for pod in snapshot.get(r.PODS.key):
        if pod.has_sidecar or pod.deleting or pod.phase in ("Succeeded", "Failed"):
            continue
        ns = namespaces.get(pod.namespace)
        if ns is None or not _injection_wanted(pod, ns, policy):
            continue
        if pod.host_network or pod.namespace in cfg.ignored_namespaces:
            continue  # the injector ignores these by design: not a finding
        if pod.created is not None and now - pod.created < cfg.grace_seconds:
            continue
        reason = WEBHOOK_FAILING if pod.namespace in failing else NOT_RESTARTED if has_injector else NO_INJECTOR
        kind, name = pod.workload
        by_workload[(pod.namespace, kind, name, reason)] += 1
    result = CheckResult()
    per_namespace: dict[tuple[str, str], int] = defaultdict(int)
    severity = alert_severity(settings, "DP04")
    for (namespace, kind, name, reason), count in sorted(by_workload.items()):
        per_namespace[(namespace, reason)] += count
        message = f"{plural(count, 'pod')} without istio-proxy although injection is enabled; {REASON_TEXT[reason]}"
        result.findings.append(Finding("DP04", severity, namespace, kind, name, message))
    for (namespace, reason), count in sorted(per_namespace.items()):
        result.samples.append(PODS_WITHOUT_SIDECAR.sample(count, namespace=namespace, reason=reason))
    result.samples.append(WORKLOADS_WITHOUT_SIDECAR.sample(len(by_workload)))
    return result


def check_injection_webhook_failures(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """DP05: controllers cannot create pods because the injection webhook call fails."""
    result = CheckResult()
    window = settings.checks.DP05.event_window_seconds
    per_object: dict[tuple[str, str, str], tuple[int, str]] = {}
    per_webhook: dict[tuple[str, str], int] = defaultdict(int)
    for event, webhook in _webhook_failure_events(snapshot, settings, now, window):
        key = (event.namespace, event.object_kind, event.object_name)
        count, _ = per_object.get(key, (0, ""))
        per_object[key] = (count + event.count, event.message)
        per_webhook[(event.namespace, webhook)] += event.count
    severity = alert_severity(settings, "DP05")
    for (namespace, kind, name), (count, message) in sorted(per_object.items()):
        result.findings.append(Finding("DP05", severity, namespace, kind, name, f"{count}x: {message[:300]}"))
    for (namespace, webhook), count in sorted(per_webhook.items()):
        result.samples.append(INJECTION_WEBHOOK_FAILURES.sample(count, namespace=namespace, webhook=webhook))
    result.samples.append(OBJECTS_FAILING_INJECTION.sample(len(per_object)))
    return result


def _init_failure(pod: PodInfo) -> str | None:
    for s in pod.states:
        if not s.init or s.name not in ISTIO_INIT_CONTAINERS:
            continue
        if s.waiting_reason == "CrashLoopBackOff":
            return f"{s.name} CrashLoopBackOff after {s.restarts} restarts" + (
                f" (last exit code {s.last_exit_code}: {s.last_message.strip()})" if s.last_message.strip() else ""
            )
        if s.terminated_reason and s.terminated_exit_code not in (None, 0):
            return f"{s.name} terminated: {s.terminated_reason}, exit code {s.terminated_exit_code}"
    return None


INIT_CRASHLOOPING = alert_ref("DP06", "MeshHealthIstioInitFailing/critical")
INIT_FAILING = alert_ref("DP06", "MeshHealthIstioInitFailing/warning")
PROBES_FAILING = alert_ref("DP07", "MeshHealthSidecarProbesFailing")
REWRITE_OFF = alert_ref("DP07", "MeshHealthSidecarProbeRewriteOff")


def check_init_crashloops(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """DP06: istio-init / istio-validation failing, grouped by node (a bad node is one finding)."""
    result = CheckResult()
    nodes: dict[str, NodeInfo] = {n.name: n for n in snapshot.get(r.NODES.key)}
    per_node: dict[str, list[tuple[PodInfo, str]]] = defaultdict(list)
    for pod in snapshot.get(r.PODS.key):
        reason = _init_failure(pod)
        if reason:
            per_node[pod.node].append((pod, reason))
    threshold = settings.checks.DP06.min_pods_per_node
    severity, below = INIT_CRASHLOOPING.severity(settings), INIT_FAILING.severity(settings)
    for node, pods in sorted(per_node.items()):
        result.samples.append(ISTIO_INIT_FAILING_PODS.sample(len(pods), node=node or "unscheduled"))
        info = nodes.get(node)
        host = f"; node kernel {info.kernel}, {info.os_image}, {info.container_runtime}" if info else ""
        example = f"{pods[0][0].namespace}/{pods[0][0].name}: {pods[0][1]}"
        message = f"{plural(len(pods), 'pod')} with failing Istio init containers, e.g. {example}{host}"
        found = severity if len(pods) >= threshold else below
        result.findings.append(Finding("DP06", found, "", "Node", node or "unscheduled", message[:500]))
    result.samples.append(NODES_ISTIO_INIT_FAILING.sample(len(per_node)))
    return result


def check_probes(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """DP07: probes on injected pods: rewrite disabled (intercepted under mTLS) or failing (Unhealthy events)."""
    pods = {(p.namespace, p.name): p for p in snapshot.get(r.PODS.key) if p.has_sidecar}
    issues: dict[tuple[str, str, str, str], str] = {}
    for pod in pods.values():
        rewrite = pod.annotation("sidecar.istio.io/rewriteAppHTTPProbers")
        network_probes = [p for p in pod.probes if p.handler in ("httpGet", "tcpSocket", "grpc")]
        if rewrite == "false" and network_probes:
            kind, name = pod.workload
            issues.setdefault(
                (pod.namespace, kind, name, "rewrite_disabled"),
                f"probe rewrite disabled; {network_probes[0].kind} probe {network_probes[0].handler} port "
                f"{network_probes[0].port} goes through the sidecar",
            )
    for event in recent_events(snapshot, now, settings.checks.DP07.event_window_seconds, reason="Unhealthy"):
        pod = pods.get((event.namespace, event.object_name))
        if pod is not None:
            kind, name = pod.workload
            issues[(pod.namespace, kind, name, "probe_failing")] = f"{event.count}x {event.message[:250]}"
    result = CheckResult()
    per_namespace: dict[tuple[str, str], int] = defaultdict(int)
    severity = {"probe_failing": PROBES_FAILING.severity(settings), "rewrite_disabled": REWRITE_OFF.severity(settings)}
    for (namespace, kind, name, reason), message in sorted(issues.items()):
        per_namespace[(namespace, reason)] += 1
        result.findings.append(Finding("DP07", severity[reason], namespace, kind, name, message))
    for (namespace, reason), count in sorted(per_namespace.items()):
        result.samples.append(SIDECAR_PROBE_ISSUES.sample(count, namespace=namespace, reason=reason))
    result.samples.append(WORKLOADS_SIDECAR_PROBE_FAILING.sample(sum(1 for k in issues if k[3] == "probe_failing")))
    return result


def _proxy_settings(config: dict[str, Any]) -> tuple[float | None, bool]:
    drain = config.get("terminationDrainDuration")
    metadata = config.get("proxyMetadata") or {}
    exit_on_zero = isinstance(metadata, dict) and str(metadata.get("EXIT_ON_ZERO_ACTIVE_CONNECTIONS")).lower() == "true"
    return (parse_duration(drain) if isinstance(drain, str) else None), exit_on_zero


def check_drain(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """DP08: the proxy drains (default 5 s) long before a workload's long grace period ends."""
    cfg = settings.checks.DP08
    mesh_drain, mesh_exit = None, False
    for cm in snapshot.get("istio_configmaps"):
        if cm.name == "istio":
            default_config = _yaml(cm.get("mesh")).get("defaultConfig") or {}
            if isinstance(default_config, dict):
                mesh_drain, mesh_exit = _proxy_settings(default_config)
    workloads: dict[tuple[str, str, str], str] = {}
    for pod in snapshot.get(r.PODS.key):
        if not pod.has_sidecar or pod.grace_period <= cfg.default_grace_seconds:
            continue
        pod_drain, pod_exit = _proxy_settings(_yaml(pod.annotation("proxy.istio.io/config")))
        if mesh_exit or pod_exit:
            continue
        drain = pod_drain or mesh_drain or cfg.default_drain_seconds
        if pod.grace_period > drain * cfg.ratio:
            kind, name = pod.workload
            workloads[(pod.namespace, kind, name)] = (
                f"terminationGracePeriodSeconds {pod.grace_period}s but the sidecar drains after {drain:g}s; "
                "set terminationDrainDuration or EXIT_ON_ZERO_ACTIVE_CONNECTIONS"
            )
    result = CheckResult()
    per_namespace: dict[str, int] = defaultdict(int)
    severity = alert_severity(settings, "DP08")
    for (namespace, kind, name), message in sorted(workloads.items()):
        per_namespace[namespace] += 1
        result.findings.append(Finding("DP08", severity, namespace, kind, name, message))
    for namespace, count in sorted(per_namespace.items()):
        result.samples.append(WORKLOADS_DRAIN_SHORTER_THAN_GRACE.sample(count, namespace=namespace))
    return result


CHECKS = (
    CheckDef(
        "DP04",
        "kubernetes",
        lambda s: [
            r.PODS,
            r.NAMESPACES,
            r.WARNING_EVENTS,
            r.MUTATING_WEBHOOKS,
            r.VALIDATING_WEBHOOKS,
            r.istio_configmaps(s),
        ],
        check_injection,
    ),
    CheckDef("DP05", "kubernetes", lambda s: [r.WARNING_EVENTS], check_injection_webhook_failures),
    CheckDef("DP06", "kubernetes", lambda s: [r.PODS, r.NODES], check_init_crashloops),
    CheckDef("DP07", "kubernetes", lambda s: [r.PODS, r.WARNING_EVENTS], check_probes),
    CheckDef("DP08", "kubernetes", lambda s: [r.PODS, r.istio_configmaps(s)], check_drain),
)
