"""xDS sync checks from istiod's syncz on every replica (catalogue sections A and B): DP01-DP03, CP03."""

from __future__ import annotations

import re
from collections import Counter, defaultdict

from exporter.catalog.xds import (
    ISTIOD_XDS_REJECTS,
    XDS_DISCONNECTED_PODS,
    XDS_DISCONNECTED_PROXIES,
    XDS_PROXIES,
    XDS_PROXIES_VERSION_SKEW,
    XDS_PROXY_REJECTED,
    XDS_PROXY_STALE_SECONDS,
    XDS_PROXY_STATUS,
    XDS_STALE_OLDEST_SECONDS,
)
from exporter.checks import resources as r
from exporter.checks.base import CheckDef, EveryReplica, alert_severity, human_duration, plural
from exporter.config import Settings
from exporter.model import CheckResult, Finding, NotEvaluated, Sample
from exporter.sources.istiod.snapshot import IstiodSnapshot, ReplicaData
from exporter.sources.istiod.syncz import ERROR, STALE, STATUSES, TypeStatus

MAIN_TYPES = ("CDS", "LDS", "RDS", "EDS")
_VERSION = re.compile(r"^v?(\d+)\.(\d+)")


def _answered(snapshot: IstiodSnapshot) -> list[ReplicaData]:
    return [r for r in snapshot.replicas if r.error is None]


def _split(proxy: str) -> tuple[str, str]:
    name, _, namespace = proxy.rpartition(".")
    return (namespace, name) if name else ("", proxy)


def check_stale(snapshot: IstiodSnapshot, settings: Settings, now: float) -> CheckResult:
    """DP01: per replica, proxies by type and status; how long each STALE proxy has been STALE."""
    result = CheckResult()
    threshold = settings.checks.DP01.stale_threshold_seconds
    severity = alert_severity(settings, "DP01")
    cap = settings.findings.max_series_per_check
    stale_series: list[tuple[float, Sample]] = []
    for replica in _answered(snapshot):
        name, revision = replica.replica.name, replica.replica.revision
        counts: Counter[tuple[str, str, str]] = Counter()
        proxy_types, xds_types = {"sidecar"}, set(MAIN_TYPES)
        oldest = 0.0
        # Proxies in sync have equal statuses (a few distinct tuples of TypeStatus per replica): count
        # them by group, then visit one by one only the proxies with a STALE type (or all, for per-proxy series).
        groups: Counter[tuple[str, tuple[TypeStatus, ...]]] = Counter(
            (proxy.proxy_type, proxy.types) for proxy in replica.proxies
        )
        stale_groups = set()
        for (proxy_type, types), count in groups.items():
            proxy_types.add(proxy_type)
            for t in types:
                xds_types.add(t.type)
                counts[(proxy_type, t.type, t.status)] += count
                if t.status == STALE:
                    stale_groups.add(types)
        per_proxy = settings.findings.per_proxy_series
        for proxy in replica.proxies if stale_groups or per_proxy else ():
            if per_proxy:
                result.samples += [
                    XDS_PROXY_STATUS.sample(1, istiod=name, proxy=proxy.proxy, type=t.type, status=t.status)
                    for t in proxy.types
                ]
            if proxy.types not in stale_groups:
                continue
            stale_types = []
            confirmed = []
            for t in proxy.types:
                if t.status == STALE:
                    since = snapshot.stale_since.get((name, proxy.proxy, t.type), snapshot.taken_at)
                    age = max(0.0, now - since)
                    oldest = max(oldest, age)
                    stale_types.append((t, age))
                    if (name, proxy.proxy, t.type) in snapshot.stale_confirmed and t.sent_time is None:
                        confirmed.append(t)
                    sample = XDS_PROXY_STALE_SECONDS.sample(age, istiod=name, proxy=proxy.proxy, type=t.type)
                    stale_series.append((age, sample))
            parts = [_stale_part(t, a) for t, a in stale_types if a >= threshold and t not in confirmed]
            if confirmed:
                wait = human_duration(snapshot.confirm_interval)
                parts += [
                    f"{t.type} {_unacked(t)} at two polls {wait} apart "
                    "(this istiod reports no send time, so the age is unknown)"
                    for t in confirmed
                ]
            if parts:
                namespace, pod = _split(proxy.proxy)
                message = f"STALE on istiod {name}: " + "; ".join(parts)
                result.findings.append(Finding("DP01", severity, namespace, "Proxy", pod, message))
        for proxy_type in sorted(proxy_types):
            for xds_type in sorted(xds_types):
                for status in STATUSES:
                    result.samples.append(
                        XDS_PROXIES.sample(
                            counts[(proxy_type, xds_type, status)],
                            istiod=name,
                            revision=revision,
                            proxy_type=proxy_type,
                            type=xds_type,
                            status=status,
                        )
                    )
        result.samples.append(XDS_STALE_OLDEST_SECONDS.sample(oldest, istiod=name))
    # one series per STALE proxy and type, oldest first, capped like findings
    result.samples += [s for _, s in sorted(stale_series, key=lambda x: -x[0])[:cap]]
    return result


def _unacked(t: TypeStatus) -> str:
    return "(never acknowledged)" if not t.acked else f"(sent {t.sent or '?'}, acknowledged only {t.acked})"


def _stale_part(t: TypeStatus, age: float) -> str:
    return f"{t.type} {human_duration(age)} {_unacked(t)}"


def check_rejected(snapshot: IstiodSnapshot, settings: Settings, now: float) -> CheckResult:
    """CP03: configuration NACKed by proxies: syncz lastError (1.23+) and pilot_total_xds_rejects."""
    result = CheckResult()
    severity = alert_severity(settings, "CP03")
    cap = settings.findings.max_series_per_check
    rejected: list[Sample] = []
    for replica in _answered(snapshot):
        name = replica.replica.name
        for proxy in replica.proxies:
            errors = [t for t in proxy.types if t.status == ERROR]
            for t in errors:
                rejected.append(XDS_PROXY_REJECTED.sample(1, istiod=name, proxy=proxy.proxy, type=t.type))
            if errors:
                namespace, pod = _split(proxy.proxy)
                message = "; ".join(f"{t.type} rejected: {t.error[:300]}" for t in errors)
                result.findings.append(Finding("CP03", severity, namespace, "Proxy", pod, message))
        if replica.metrics is None:
            continue
        totals: dict[str, float] = dict.fromkeys(MAIN_TYPES, 0.0)
        found = replica.metrics.first("pilot_total_xds_rejects_total", "pilot_total_xds_rejects")
        if found:
            for labels, value in found[1]:
                xds_type = dict(labels).get("type", "unknown").upper()
                totals[xds_type] = totals.get(xds_type, 0.0) + value
        else:  # before pilot_total_xds_rejects: one counter per type
            for xds_type in MAIN_TYPES:
                legacy = f"pilot_xds_{xds_type.lower()}_reject"
                totals[xds_type] = replica.metrics.total(legacy, legacy + "_total")
        for xds_type, value in sorted(totals.items()):
            result.samples.append(ISTIOD_XDS_REJECTS.sample(value, istiod=name, type=xds_type))
    result.samples += rejected[:cap]
    return result


def check_disconnected(snapshot: IstiodSnapshot, settings: Settings, now: float) -> CheckResult:
    """DP02: pods with a running istio-proxy that no istiod replica lists: they get no configuration."""
    if not snapshot.complete:
        failed = "; ".join(f"{r.replica.name}: {r.error}" for r in snapshot.replicas if r.error is not None)
        raise NotEvaluated(f"cannot tell which proxies are disconnected while a replica's syncz is unread ({failed})")
    if not snapshot.kube_available:
        raise NotEvaluated(
            "needs the Kubernetes pod cache to know which pods run a sidecar "
            "(the Kubernetes source is disabled or unreachable)"
        )
    connected = {p.proxy for r in snapshot.replicas for p in r.proxies}  # "<pod>.<namespace>"
    grace = settings.checks.DP02.grace_seconds
    severity = alert_severity(settings, "DP02")
    per_namespace: Counter[str] = Counter()
    result = CheckResult()
    for namespace, name, created in sorted(snapshot.sidecar_pods, key=lambda p: p[:2]):
        if f"{name}.{namespace}" in connected:
            continue
        if created is not None and now - created < grace:
            continue
        per_namespace[namespace] += 1
        message = "istio-proxy is running but no istiod replica lists this proxy in /debug/syncz"
        result.findings.append(Finding("DP02", severity, namespace, "Pod", name, message))
    for namespace, count in sorted(per_namespace.items()):
        result.samples.append(XDS_DISCONNECTED_PROXIES.sample(count, namespace=namespace))
    result.samples.append(XDS_DISCONNECTED_PODS.sample(sum(per_namespace.values())))
    return result


def minor(version: str) -> tuple[int, int] | None:
    found = _VERSION.match(version)
    return (int(found.group(1)), int(found.group(2))) if found else None


def check_version_skew(snapshot: IstiodSnapshot, settings: Settings, now: float) -> CheckResult:
    """DP03: proxies whose Istio minor version is too far from their istiod's."""
    result = CheckResult()
    allowed = settings.checks.DP03.max_minor_skew
    severity = alert_severity(settings, "DP03")
    for replica in _answered(snapshot):
        if replica.metrics is None:
            continue
        istiod_version = replica.metrics.version()
        mine = minor(istiod_version)
        if mine is None:
            continue
        skewed: dict[str, Counter[str]] = defaultdict(Counter)
        too_far: dict[str, bool] = {}  # per version string: a mesh runs a handful of versions
        for proxy in replica.proxies:
            far = too_far.get(proxy.istio_version)
            if far is None:
                theirs = minor(proxy.istio_version)
                far = too_far[proxy.istio_version] = theirs is not None and (
                    theirs[0] != mine[0] or abs(theirs[1] - mine[1]) > allowed
                )
            if far:
                skewed[proxy.istio_version][_split(proxy.proxy)[0]] += 1
        for proxy_version, namespaces in sorted(skewed.items()):
            result.samples.append(
                XDS_PROXIES_VERSION_SKEW.sample(
                    sum(namespaces.values()),
                    istiod=replica.replica.name,
                    istiod_version=istiod_version,
                    proxy_version=proxy_version,
                )
            )
            for namespace, count in sorted(namespaces.items()):
                message = (
                    f"{plural(count, 'proxy', 'proxies')} on Istio {proxy_version}, istiod {replica.replica.name} runs "
                    f"{istiod_version}: restart the workloads to pick up the current proxy"
                )
                result.findings.append(Finding("DP03", severity, namespace, "Namespace", namespace, message))
    return result


CHECKS = (
    CheckDef("DP01", "istiod", lambda s: [r.PODS], EveryReplica(check_stale)),
    CheckDef("CP03", "istiod", lambda s: [r.PODS], EveryReplica(check_rejected)),
    CheckDef("DP02", "istiod", lambda s: [r.PODS], check_disconnected),
    CheckDef("DP03", "istiod", lambda s: [r.PODS], EveryReplica(check_version_skew)),
)
