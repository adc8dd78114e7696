"""Webhook wiring checks (catalogue section D). WH01/02/04/05 read the cache; WH03 reads the TLS probe."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import partial

from exporter.alerting import alert_ref
from exporter.catalog.webhooks import (
    WEBHOOK_CERT_EXPIRY_TIMESTAMP_SECONDS,
    WEBHOOK_ENDPOINTS_PROBED,
    WEBHOOK_FAILING_OPEN,
    WEBHOOK_READY_ENDPOINTS,
    WEBHOOK_TARGET_BROKEN,
)
from exporter.checks import resources as r
from exporter.checks.base import CheckDef, alert_severity, human_duration
from exporter.checks.data_plane import istio_webhooks
from exporter.config import Settings
from exporter.model import CheckResult, Finding, Sample
from exporter.sources.kube.projections import ServiceInfo, WebhookInfo
from exporter.sources.kube.snapshot import KubeSnapshot
from exporter.sources.webhook_tls_snapshot import WebhookTLSSnapshot

SERVICE_MISSING = "service_missing"
NO_READY_ENDPOINTS = "no_ready_endpoints"
NAMESPACE_MISSING = "namespace_missing"
TLS_ERROR = "tls_error"
REASON_CHECK = {SERVICE_MISSING: "WH01", NO_READY_ENDPOINTS: "WH02", TLS_ERROR: "WH03", NAMESPACE_MISSING: "WH05"}


@dataclass(frozen=True)
class WebhookTarget:
    """One webhook configuration's view of one Service (webhooks sharing both are merged)."""

    kind: str
    configuration: str
    namespace: str
    service: str
    failure_policy: str  # Fail if any of the merged webhooks fails closed
    webhooks: tuple[str, ...]
    ready_endpoints: int | None  # None: the Service does not exist
    reason: str | None

    def labels(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "configuration": self.configuration,
            "namespace": self.namespace,
            "service": self.service,
        }


def webhook_targets(snapshot: KubeSnapshot, settings: Settings) -> list[WebhookTarget]:
    namespaces = {ns.name for ns in snapshot.get(r.NAMESPACES.key)}
    services: dict[tuple[str, str], ServiceInfo] = {(s.namespace, s.name): s for s in snapshot.get(r.SERVICES.key)}
    ready: dict[tuple[str, str], int] = defaultdict(int)
    for es in snapshot.get(r.ENDPOINTSLICES.key):
        ready[(es.namespace, es.service)] += len(es.ready_addresses)
    grouped: dict[tuple[str, str, str, str], list[WebhookInfo]] = defaultdict(list)
    for hook in istio_webhooks(snapshot, settings):
        if hook.service_name:
            grouped[(hook.kind, hook.configuration, hook.service_namespace, hook.service_name)].append(hook)
    targets = []
    for (kind, configuration, namespace, service), hooks in sorted(grouped.items()):
        policy = "Fail" if any(h.failure_policy == "Fail" for h in hooks) else "Ignore"
        endpoints = ready[(namespace, service)] if (namespace, service) in services else None
        reason = None
        if namespace not in namespaces:
            reason = NAMESPACE_MISSING
        elif endpoints is None:
            reason = SERVICE_MISSING
        elif endpoints == 0:
            reason = NO_READY_ENDPOINTS
        targets.append(
            WebhookTarget(
                kind, configuration, namespace, service, policy, tuple(h.name for h in hooks), endpoints, reason
            )
        )
    return targets


def _broken_sample(t: WebhookTarget, reason: str) -> Sample:
    return WEBHOOK_TARGET_BROKEN.sample(1, **t.labels(), failure_policy=t.failure_policy, reason=reason)


def broken_targets(check_id: str, reason: str, explain: str, snapshot: KubeSnapshot, settings: Settings,
                   now: float) -> CheckResult:  # fmt: skip
    """WH01, WH02, WH05 (bound with ``functools.partial``): Istio webhooks whose target is broken for ``reason``."""
    result = CheckResult()
    for t in webhook_targets(snapshot, settings):
        if check_id == "WH02" and t.ready_endpoints is not None:
            result.samples.append(WEBHOOK_READY_ENDPOINTS.sample(t.ready_endpoints, **t.labels()))
        if t.reason != reason or (check_id != "WH05" and t.failure_policy == "Ignore"):
            continue  # failurePolicy Ignore on a broken target is WH04's finding
        result.samples.append(_broken_sample(t, reason))
        message = (
            f"{t.kind} webhook {', '.join(t.webhooks)} calls Service {t.namespace}/{t.service}: {explain}; "
            f"failurePolicy {t.failure_policy}"
        )
        kind = f"{t.kind.capitalize()}WebhookConfiguration"
        result.findings.append(
            Finding(check_id, alert_severity(settings, check_id), t.namespace, kind, t.configuration, message)
        )
    return result


def check_ignore_hides_failures(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """WH04: failurePolicy Ignore on a broken target: the API server silently skips the webhook."""
    result = CheckResult()
    severity = alert_severity(settings, "WH04")
    for t in webhook_targets(snapshot, settings):
        if t.reason is None or t.failure_policy != "Ignore":
            continue
        result.samples.append(WEBHOOK_FAILING_OPEN.sample(1, **t.labels(), reason=t.reason))
        effect = "pods are created without sidecars" if t.kind == "mutating" else "Istio config is not validated"
        message = f"failurePolicy Ignore and {t.reason.replace('_', ' ')} ({REASON_CHECK[t.reason]}): {effect}"
        kind = f"{t.kind.capitalize()}WebhookConfiguration"
        result.findings.append(Finding("WH04", severity, t.namespace, kind, t.configuration, message))
    return result


TLS_BROKEN = alert_ref("WH03", "MeshHealthWebhookTLSBroken")
CERT_EXPIRING = alert_ref("WH03", "MeshHealthWebhookCertExpiring")


def check_webhook_tls(snapshot: WebhookTLSSnapshot, settings: Settings, now: float) -> CheckResult:
    """WH03: each endpoint's certificate verifies against caBundle for <svc>.<ns>.svc; days to expiry."""
    result = CheckResult()
    warn_before = settings.checks.WH03.cert_expiry_warning_days * 86400
    severity, expiring = TLS_BROKEN.severity(settings), CERT_EXPIRING.severity(settings)
    for probe in snapshot.results:
        labels = {
            "kind": probe.kind,
            "configuration": probe.configuration,
            "namespace": probe.namespace,
            "service": probe.service,
        }
        kind = f"{probe.kind.capitalize()}WebhookConfiguration"
        failed = [e for e in probe.endpoints if e.error]
        if failed:
            result.samples.append(
                WEBHOOK_TARGET_BROKEN.sample(
                    1,
                    **labels,
                    failure_policy=probe.failure_policy,
                    reason=TLS_ERROR,
                )
            )
            message = f"TLS to {failed[0].address} as {probe.server_name}: {failed[0].error}"
            result.findings.append(Finding("WH03", severity, probe.namespace, kind, probe.configuration, message))
        expiries = [e.not_after for e in probe.endpoints if e.not_after is not None]
        if expiries:
            soonest = min(expiries)
            result.samples.append(WEBHOOK_CERT_EXPIRY_TIMESTAMP_SECONDS.sample(soonest, **labels))
            if not failed and soonest - now < warn_before:
                message = f"serving certificate of {probe.server_name} expires in {human_duration(soonest - now)}"
                result.findings.append(Finding("WH03", expiring, probe.namespace, kind, probe.configuration, message))
    result.samples.append(WEBHOOK_ENDPOINTS_PROBED.sample(sum(len(p.endpoints) for p in snapshot.results)))
    return result


_WEBHOOK_RESOURCES = [r.VALIDATING_WEBHOOKS, r.MUTATING_WEBHOOKS, r.NAMESPACES, r.SERVICES, r.ENDPOINTSLICES]

CHECKS = (
    CheckDef(
        "WH01",
        "kubernetes",
        lambda s: _WEBHOOK_RESOURCES,
        partial(broken_targets, "WH01", SERVICE_MISSING, "the Service does not exist"),
    ),
    CheckDef(
        "WH02",
        "kubernetes",
        lambda s: _WEBHOOK_RESOURCES,
        partial(broken_targets, "WH02", NO_READY_ENDPOINTS, "the Service has no ready endpoints"),
    ),
    CheckDef("WH03", "webhook_tls", lambda s: _WEBHOOK_RESOURCES, check_webhook_tls),
    CheckDef("WH04", "kubernetes", lambda s: _WEBHOOK_RESOURCES, check_ignore_hides_failures),
    CheckDef(
        "WH05",
        "kubernetes",
        lambda s: _WEBHOOK_RESOURCES,
        partial(broken_targets, "WH05", NAMESPACE_MISSING, "its namespace no longer exists (leftover after uninstall)"),
    ),
)
