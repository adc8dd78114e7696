"""The exporter's view of its own sources (catalogue section "Exporter"): MH02, each istiod replica."""

from __future__ import annotations

from exporter.catalog.exporter_health import (
    ISTIOD_CONNECTED_PROXIES,
    ISTIOD_INFO,
    ISTIOD_REPLICA_ERROR_INFO,
    ISTIOD_REPLICA_UP,
    ISTIOD_SIDECAR_INJECTION_FAILURES,
    ISTIOD_SIDECAR_INJECTION_REQUESTS,
)
from exporter.checks import resources as r
from exporter.checks.base import CheckDef, alert_severity
from exporter.config import Settings
from exporter.model import CheckResult, Finding
from exporter.sources.istiod.snapshot import IstiodSnapshot


def check_istiod_replicas(snapshot: IstiodSnapshot, settings: Settings, now: float) -> CheckResult:
    """MH02: which istiod replicas answered, their versions, connected proxies and injection counters."""
    result = CheckResult()
    for replica in snapshot.replicas:
        r = replica.replica
        result.samples.append(
            ISTIOD_REPLICA_UP.sample(
                0 if replica.error else 1,
                istiod=r.name,
                namespace=r.namespace,
                revision=r.revision,
            )
        )
        if replica.error is not None:
            result.samples.append(
                ISTIOD_REPLICA_ERROR_INFO.sample(
                    1,
                    istiod=r.name,
                    reason=replica.error.reason,
                    error=replica.error.message[:200],
                )
            )
            kind = "Pod" if r.namespace else "IstiodURL"  # replicas from istio.istiod_urls are not pods
            severity = alert_severity(settings, "MH02")
            result.findings.append(Finding("MH02", severity, r.namespace, kind, r.name, replica.error.message))
            continue
        result.samples.append(ISTIOD_CONNECTED_PROXIES.sample(len(replica.proxies), istiod=r.name))
        if replica.metrics is None:
            continue
        result.samples.append(
            ISTIOD_INFO.sample(
                1,
                istiod=r.name,
                namespace=r.namespace,
                revision=r.revision,
                version=replica.metrics.version(),
            )
        )
        for metric, source in (
            (ISTIOD_SIDECAR_INJECTION_REQUESTS, "sidecar_injection_requests_total"),
            (ISTIOD_SIDECAR_INJECTION_FAILURES, "sidecar_injection_failure_total"),
        ):
            result.samples.append(metric.sample(replica.metrics.total(source), istiod=r.name))
    return result


CHECKS = (CheckDef("MH02", "istiod", lambda s: [r.PODS], check_istiod_replicas),)
