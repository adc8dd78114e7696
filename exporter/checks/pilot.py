"""Checks on istiod's own metrics and push status (catalogue section A): CP04-CP08, CP10, CP11.

Each relays the istiod counter or gauge under ``meshhealth_istiod_*`` (so alerts work where Prometheus
does not scrape istiod) and, where istiod's /debug/push_status has per-object detail, names the objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from exporter.alerting import alert_ref
from exporter.catalog.model import MetricSpec
from exporter.catalog.pilot import (
    ISTIOD_CLUSTER_WITHOUT_INSTANCES,
    ISTIOD_CONVERGENCE_P99_SECONDS,
    ISTIOD_DUPLICATE_ENVOY_CLUSTERS,
    ISTIOD_DUPLICATE_VSERVICE_DOMAINS,
    ISTIOD_EDS_NO_INSTANCES,
    ISTIOD_INBOUND_LISTENER_CONFLICTS,
    ISTIOD_OUTBOUND_LISTENER_CONFLICTS,
    ISTIOD_REJECTED_CONFIGS,
    ISTIOD_REJECTED_CONFIGS_KINDS,
    ISTIOD_ROOT_CERT_EXPIRY_TIMESTAMP_SECONDS,
)
from exporter.checks import resources as r
from exporter.checks.base import CheckDef, EveryReplica, alert_severity, human_duration
from exporter.config import Settings
from exporter.model import CheckResult, Finding, Severity
from exporter.sources.istiod.snapshot import IstiodSnapshot, ReplicaData

OUTBOUND_CONFLICTS = (
    "pilot_conflict_outbound_listener_tcp_over_current_tcp",
    "pilot_conflict_outbound_listener_http_over_current_tcp",
    "pilot_conflict_outbound_listener_tcp_over_current_http",
)


def _with_metrics(snapshot: IstiodSnapshot) -> list[ReplicaData]:
    return [r for r in snapshot.replicas if r.error is None and r.metrics is not None]


def _object_of(key: str) -> tuple[str, str]:
    """(namespace, name) for a push_status key: an Envoy cluster name, a proxy ID or a host."""
    host = key.rsplit("|", 1)[-1] if "|" in key else key
    parts = host.split(".")
    if len(parts) >= 2 and parts[1] not in ("svc", ""):
        return parts[1], key
    return "", key


_EXPLAIN = {
    "pilot_eds_no_instances": "the cluster has no endpoints (Service selector or subset labels match no ready pod)",
    "pilot_conflict_inbound_listener": "Services declare this port of the same pods with different protocols",
    "pilot_duplicate_envoy_clusters": "two definitions produce this Envoy cluster; one is ignored",
    "pilot_vservice_dup_domain": "two VirtualServices claim this domain; one is ignored",
}


def _push_findings(
    check_id: str, replicas: Sequence[ReplicaData], metrics: Sequence[str], kind: str, severity: Severity, cap: int
) -> tuple[list[Finding], list[tuple[str, str]]]:
    """One finding per object named in /debug/push_status, merged over the replicas that report it."""
    seen: dict[tuple[str, str], tuple[str, list[str]]] = {}
    keys: list[tuple[str, str]] = []
    for replica in replicas:
        for metric in metrics:
            entries = replica.push_status.get(metric)
            if not isinstance(entries, dict):
                continue
            for key, detail in sorted(entries.items()):
                detail = detail if isinstance(detail, dict) else {}
                text = str(detail.get("message") or _EXPLAIN.get(metric, metric))
                if detail.get("proxy"):
                    text += f" (proxy {detail['proxy']})"
                keys.append((replica.replica.name, str(key)))
                seen.setdefault((metric, str(key)), (text, []))[1].append(replica.replica.name)
    findings = []
    for (metric, key), (text, names) in list(seen.items())[:cap]:
        namespace, name = _object_of(key)
        message = f"{text}; {metric} on istiod {', '.join(names)}"
        findings.append(Finding(check_id, severity, namespace, kind, name, message[:500]))
    return findings, keys


def relay_gauges(
    check_id: str,
    relays: Sequence[tuple[MetricSpec[...], Sequence[str]]],
    kind: str,
    detail_metric: MetricSpec[...] | None,
    snapshot: IstiodSnapshot,
    settings: Settings,
    now: float,
) -> CheckResult:
    """A check relaying istiod gauges (the sum of the names given, as they differ by version) and naming the
    objects from push_status; bound to one check with ``functools.partial``."""
    result = CheckResult()
    severity = alert_severity(settings, check_id)
    cap = settings.findings.max_series_per_check
    replicas = _with_metrics(snapshot)
    sources = [n for _, names in relays for n in names]
    totals: dict[str, float] = {}
    for replica in replicas:
        assert replica.metrics is not None
        for metric, names in relays:
            value = sum(replica.metrics.total(n) for n in names)
            totals[replica.replica.name] = totals.get(replica.replica.name, 0.0) + value
            result.samples.append(metric.sample(value, istiod=replica.replica.name))
    findings, keys = _push_findings(check_id, replicas, sources, kind, severity, cap)
    if not findings:  # a gauge above 0 without detail still deserves a finding
        for r in replicas:
            if totals.get(r.replica.name):
                message = f"istiod reports {totals[r.replica.name]:g} ({', '.join(sources)}); no detail in push_status"
                findings.append(Finding(check_id, severity, r.replica.namespace, "Pod", r.replica.name, message))
    result.findings += findings
    if detail_metric:
        result.samples += [detail_metric.sample(1, istiod=name, key=key) for name, key in keys[:cap]]
    return result


def check_rejected_configs(snapshot: IstiodSnapshot, settings: Settings, now: float) -> CheckResult:
    """CP04: configuration istiod rejects (pilot_total_rejected_configs{type,name}), e.g. conflicting Gateways.

    The counter is relayed as is (for the alert's increase()); findings name the objects rejected since the
    previous refresh (on the first refresh: every object the counter names), so they clear after a fix."""
    result = CheckResult()
    severity = alert_severity(settings, "CP04")
    for replica in _with_metrics(snapshot):
        assert replica.metrics is not None
        found = replica.metrics.first("pilot_total_rejected_configs_total", "pilot_total_rejected_configs")
        for labels, value in found[1] if found else ():
            d = dict(labels)
            result.samples.append(
                ISTIOD_REJECTED_CONFIGS.sample(
                    value,
                    istiod=replica.replica.name,
                    type=d.get("type", ""),
                    name=d.get("name", ""),
                )
            )
        for kind, name, count in replica.rejected_delta:
            namespace, _, short = name.rpartition("/")
            message = (
                f"istiod {replica.replica.name} rejected this {kind} {count:g} more times: another object "
                "already configures the same host and port (the second server is dropped)"
            )
            result.findings.append(
                Finding("CP04", severity, namespace, kind.capitalize() or "Config", short or name, message)
            )
        result.samples.append(
            ISTIOD_REJECTED_CONFIGS_KINDS.sample(len(replica.rejected_delta), istiod=replica.replica.name)
        )
    return result


def check_convergence(snapshot: IstiodSnapshot, settings: Settings, now: float) -> CheckResult:
    """CP08: p99 of pilot_proxy_convergence_time over the last refresh interval."""
    result = CheckResult()
    threshold = settings.checks.CP08.convergence_p99_seconds
    severity = alert_severity(settings, "CP08")
    for replica in _with_metrics(snapshot):
        p99 = quantile(0.99, replica.convergence_delta)
        if p99 is None:
            continue
        result.samples.append(ISTIOD_CONVERGENCE_P99_SECONDS.sample(p99, istiod=replica.replica.name))
        if p99 > threshold:
            message = f"p99 push convergence {p99:.1f}s over the last interval (threshold {threshold:g}s)"
            result.findings.append(
                Finding("CP08", severity, replica.replica.namespace, "Pod", replica.replica.name, message)
            )
    return result


def quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """Like histogram_quantile over cumulative (le, count) pairs; None without observations."""
    if not buckets:
        return None
    buckets = sorted(buckets)
    total = buckets[-1][1]
    if total <= 0:
        return None
    rank = q * total
    prev_le, prev_count = 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if le == float("inf"):
                return prev_le
            if count == prev_count:
                return le
            return prev_le + (le - prev_le) * (rank - prev_count) / (count - prev_count)
        prev_le, prev_count = le, count
    return prev_le


ROOT_CERT_EXPIRING = alert_ref("CP11", "MeshHealthRootCertExpiring/warning")
ROOT_CERT_SOON = alert_ref("CP11", "MeshHealthRootCertExpiring/critical")


def check_root_cert(snapshot: IstiodSnapshot, settings: Settings, now: float) -> CheckResult:
    """CP11: the mesh root certificate's expiry (timestamp metric, or seconds left in newer versions)."""
    result = CheckResult()
    cfg = settings.checks.CP11
    for replica in _with_metrics(snapshot):
        assert replica.metrics is not None
        expiry: float | None = None
        stamp = replica.metrics.get("citadel_server_root_cert_expiry_timestamp")
        left = replica.metrics.get("citadel_server_root_cert_expiry_seconds")
        if stamp:
            expiry = stamp[0][1]
        elif left:
            expiry = snapshot.taken_at + left[0][1]
        if expiry is None:
            continue
        result.samples.append(ISTIOD_ROOT_CERT_EXPIRY_TIMESTAMP_SECONDS.sample(expiry, istiod=replica.replica.name))
        remaining = expiry - now
        if remaining < cfg.warning_days * 86400:
            alert = ROOT_CERT_SOON if remaining < cfg.critical_days * 86400 else ROOT_CERT_EXPIRING
            severity = alert.severity(settings)
            message = (
                f"the mesh root certificate expires in {human_duration(remaining)}"
                if remaining > 0
                else ("the mesh root certificate has expired")
            )
            result.findings.append(
                Finding("CP11", severity, replica.replica.namespace, "Pod", replica.replica.name, message)
            )
    return result


CP05 = partial(relay_gauges, "CP05", [(ISTIOD_EDS_NO_INSTANCES, ["pilot_eds_no_instances"])], "Cluster",
               ISTIOD_CLUSTER_WITHOUT_INSTANCES)  # fmt: skip
CP06 = partial(relay_gauges, "CP06", [(ISTIOD_INBOUND_LISTENER_CONFLICTS, ["pilot_conflict_inbound_listener"])],
               "Listener", None)  # fmt: skip
CP07 = partial(relay_gauges, "CP07", [(ISTIOD_OUTBOUND_LISTENER_CONFLICTS, OUTBOUND_CONFLICTS)], "Listener", None)
CP10 = partial(relay_gauges, "CP10", [(ISTIOD_DUPLICATE_ENVOY_CLUSTERS, ["pilot_duplicate_envoy_clusters"]),
                                      (ISTIOD_DUPLICATE_VSERVICE_DOMAINS, ["pilot_vservice_dup_domain"])],
               "Config", None)  # fmt: skip

CHECKS = (
    CheckDef("CP04", "istiod", lambda s: [r.PODS], EveryReplica(check_rejected_configs)),
    CheckDef("CP05", "istiod", lambda s: [r.PODS], EveryReplica(CP05)),
    CheckDef("CP06", "istiod", lambda s: [r.PODS], EveryReplica(CP06)),
    CheckDef("CP07", "istiod", lambda s: [r.PODS], EveryReplica(CP07)),
    CheckDef("CP08", "istiod", lambda s: [r.PODS], EveryReplica(check_convergence)),
    CheckDef("CP10", "istiod", lambda s: [r.PODS], EveryReplica(CP10)),
    CheckDef("CP11", "istiod", lambda s: [r.PODS], EveryReplica(check_root_cert)),
)
