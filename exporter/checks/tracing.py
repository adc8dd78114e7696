"""Tracing storage checks (catalogue section E): Elasticsearch health, disk, blocks and Jaeger indices.

Every finding puts the Elasticsearch cluster (its configured name) in ``namespace`` and the object in
``kind``/``name``: the cluster itself, a node, or an index. Metrics label the cluster ``es_cluster``,
so it never collides with the ``cluster`` label multi-cluster Prometheus setups give the Kubernetes cluster.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from exporter.alerting import alert_ref
from exporter.catalog.tracing import (
    ES_CLUSTER_ERROR_INFO,
    ES_CLUSTER_STATUS,
    ES_CLUSTER_UP,
    ES_DISK_AVAILABLE_BYTES,
    ES_DISK_FLOOD_STAGE_DISTANCE_BYTES,
    ES_DISK_TOTAL_BYTES,
    ES_DISK_USED_RATIO,
    ES_DISK_WATERMARK_FREE_BYTES,
    ES_HEALTH_REPORT_DISK_STATUS,
    ES_JAEGER_BLOCKED_INDICES,
    ES_JAEGER_INDICES_IMPLAUSIBLE_DATE,
    ES_JAEGER_INDICES_OVER_RETENTION,
    ES_JAEGER_NEWEST_SPAN_AGE_SECONDS,
    ES_JAEGER_OLDEST_INDEX_AGE_SECONDS,
    ES_JAEGER_WRITE_INDEX_PRESENT,
    ES_REQUESTS_PER_REFRESH,
    ES_UNASSIGNED_SHARDS,
)
from exporter.checks.base import CheckDef, EveryCluster, alert_severity, human_duration, plural
from exporter.config import Settings
from exporter.model import CheckResult, Finding, NotEvaluated
from exporter.sources.elasticsearch.parse import LEVELS, JaegerIndex, free_bytes_threshold
from exporter.sources.elasticsearch.snapshot import ClusterData, ElasticsearchSnapshot

STATUSES = ("green", "yellow", "red")
RED = alert_ref("TR01", "MeshHealthElasticsearchClusterHealth/critical")
YELLOW = alert_ref("TR01", "MeshHealthElasticsearchClusterHealth/warning")
UNREADABLE = alert_ref("TR01", "MeshHealthElasticsearchUnreadable")
FLOOD = alert_ref("TR02", "MeshHealthElasticsearchDiskWatermark/critical")
HIGH = alert_ref("TR02", "MeshHealthElasticsearchDiskWatermark/warning")


def _gib(n: float) -> str:
    """Bytes in binary units: 66.5 GiB, 100.0 PiB."""
    for unit, power in (("PiB", 5), ("TiB", 4), ("GiB", 3), ("MiB", 2)):
        if abs(n) >= 1024**power:
            return f"{n / 1024**power:.1f} {unit}"
    return f"{n:.0f} B"


def _answered(snapshot: ElasticsearchSnapshot) -> list[ClusterData]:
    return [c for c in snapshot.clusters if c.error is None]


def check_cluster_health(snapshot: ElasticsearchSnapshot, settings: Settings, now: float) -> CheckResult:
    """TR01: cluster status (one-hot), unassigned shards; clusters that cannot be read."""
    result = CheckResult()
    for c in snapshot.clusters:
        result.samples.append(ES_CLUSTER_UP.sample(0 if c.error else 1, es_cluster=c.name))
        result.samples.append(ES_REQUESTS_PER_REFRESH.sample(c.requests, es_cluster=c.name))
        if c.error is not None:
            result.samples.append(ES_CLUSTER_ERROR_INFO.sample(1, es_cluster=c.name, reason=c.error.reason,
                                                               error=c.error.message[:200]))  # fmt: skip
            message = f"cannot read the cluster: {c.error.message}"
            severity = UNREADABLE.severity(settings)
            result.findings.append(Finding("TR01", severity, c.name, "ElasticsearchCluster", c.name, message))
            continue
        status = str(c.health.get("status") or "unknown")
        for s in STATUSES:
            result.samples.append(ES_CLUSTER_STATUS.sample(1 if s == status else 0, es_cluster=c.name,
                                            status=s))  # fmt: skip
        unassigned = c.health.get("unassigned_shards")
        unassigned = unassigned if isinstance(unassigned, int) else 0
        result.samples.append(ES_UNASSIGNED_SHARDS.sample(unassigned, es_cluster=c.name))
        if status in ("yellow", "red"):
            severity = (RED if status == "red" else YELLOW).severity(settings)
            message = f"cluster {status}: {unassigned} unassigned shards ({c.distribution} {c.version})"
            result.findings.append(Finding("TR01", severity, c.name, "ElasticsearchCluster", c.name, message))
    return result


def check_disk_watermarks(snapshot: ElasticsearchSnapshot, settings: Settings, now: float) -> CheckResult:
    """TR02: per data node (least-available path): available bytes vs the effective watermarks in bytes."""
    result = CheckResult()
    for c in _answered(snapshot):
        assert c.settings is not None
        if not c.settings.enabled():
            continue
        report = c.disk_report
        if report:
            status = str(report.get("status") or "unknown")
            result.samples.append(ES_HEALTH_REPORT_DISK_STATUS.sample(1, es_cluster=c.name, status=status))
            if status in ("yellow", "red") and not c.disks:
                symptom = str(report.get("symptom") or "")
                severity = (FLOOD if status == "red" else HIGH).severity(settings)
                result.findings.append(Finding("TR02", severity, c.name, "ElasticsearchCluster", c.name,
                                               f"_health_report disk indicator {status}: {symptom}"))  # fmt: skip
        for disk in c.disks:
            labels = {"es_cluster": c.name, "node": disk.node}
            result.samples.append(ES_DISK_AVAILABLE_BYTES.sample(disk.available, **labels))
            if disk.total:
                used = 1 - disk.available / disk.total
                result.samples.append(ES_DISK_USED_RATIO.sample(used, **labels))
            result.samples.append(ES_DISK_TOTAL_BYTES.sample(disk.total, **labels))
            thresholds = {level: free_bytes_threshold(c.settings, level, disk.total) for level in LEVELS}
            for level, free in thresholds.items():
                if free is not None:
                    result.samples.append(ES_DISK_WATERMARK_FREE_BYTES.sample(free, **labels,
                                                    level=level))  # fmt: skip
            flood, high = thresholds["flood_stage"], thresholds["high"]
            if flood is not None:
                distance = disk.available - flood
                result.samples.append(ES_DISK_FLOOD_STAGE_DISTANCE_BYTES.sample(distance, **labels))
            # Elasticsearch's DiskThresholdMonitor: a watermark is reached when free bytes fall below it
            reached = next(((lvl, f) for lvl, f in (("flood_stage", flood), ("high", high)) if f is not None
                            and disk.available < f), None)  # fmt: skip
            if reached:
                level, free = reached
                severity = (FLOOD if level == "flood_stage" else HIGH).severity(settings)
                effect = ("Elasticsearch makes every index with a shard here read-only" if level == "flood_stage"
                          else "no new shards are allocated here and shards move away")  # fmt: skip
                message = (f"{_gib(disk.available)} available of {_gib(disk.total)} on {disk.path}: {level} "
                           f"watermark reached (needs {_gib(free)} free); {effect}")  # fmt: skip
                if report.get("symptom"):
                    message += f"; _health_report: {report['symptom']}"
                result.findings.append(Finding("TR02", severity, c.name, "ElasticsearchNode", disk.node, message))
    return result


def check_blocked_indices(snapshot: ElasticsearchSnapshot, settings: Settings, now: float) -> CheckResult:
    """TR03: Jaeger indices with read_only_allow_delete, read_only or write blocks."""
    result = CheckResult()
    severity = alert_severity(settings, "TR03")
    cap = settings.findings.max_series_per_check
    for c in _answered(snapshot):
        families = {i.name: i.family for i in c.indices}
        counts: Counter[tuple[str, str]] = Counter()
        for index, blocks in sorted(c.blocks.items()):
            family = families.get(index, "other")
            for block in blocks:
                counts[(family, block.rsplit(".", 1)[-1])] += 1
            if len(result.findings) < cap:
                hint = (" (cleared automatically below the high watermark since 7.4; remove it by hand before)"
                        if "index.blocks.read_only_allow_delete" in blocks else "")  # fmt: skip
                message = f"{', '.join(blocks)} = true: the collector's writes fail{hint}"
                result.findings.append(Finding("TR03", severity, c.name, "Index", index, message))
        for family in ("span", "service", "dependencies"):
            for block in ("read_only_allow_delete", "read_only", "write"):
                result.samples.append(ES_JAEGER_BLOCKED_INDICES.sample(counts[(family, block)],
                                                es_cluster=c.name, family=family, block=block))  # fmt: skip
    return result


def _expected_today(c: ClusterData, now: float) -> str:
    base = f"{c.prefix}-jaeger-span" if c.prefix else "jaeger-span"
    moment = datetime.fromtimestamp(now, UTC)
    sep = c.date_separator
    name = f"{base}-{moment.year:04d}{sep}{moment.month:02d}{sep}{moment.day:02d}"
    return name + (f"-{moment.hour:02d}" if c.hourly else "")


def check_write_index(snapshot: ElasticsearchSnapshot, settings: Settings, now: float) -> CheckResult:
    """TR04: today's span index (or the rollover write alias) exists, after a grace period past UTC midnight."""
    result = CheckResult()
    grace = settings.checks.TR04.grace_seconds
    severity = alert_severity(settings, "TR04")
    for c in _answered(snapshot):
        if c.rollover:
            present, expected = (
                c.write_alias_target is not None,
                f"alias {c.prefix + '-' if c.prefix else ''}jaeger-span-write",
            )
        else:
            expected = _expected_today(c, now)
            present = any(i.name == expected for i in c.indices)
            moment = datetime.fromtimestamp(now, UTC)
            period_start = moment.replace(minute=0, second=0, microsecond=0) if c.hourly else moment.replace(
                hour=0, minute=0, second=0, microsecond=0)  # fmt: skip
            if not present and (moment - period_start) < timedelta(seconds=grace):
                present = True  # still within the grace period: the first span creates the index
        result.samples.append(ES_JAEGER_WRITE_INDEX_PRESENT.sample(1 if present else 0, es_cluster=c.name))
        if not present:
            message = f"{expected} does not exist: spans of this period have nowhere to go (or nothing writes them)"
            result.findings.append(Finding("TR04", severity, c.name, "Index", expected, message))
    return result


def check_span_freshness(snapshot: ElasticsearchSnapshot, settings: Settings, now: float) -> CheckResult:
    """TR05: how old the newest span in the current write index is."""
    result = CheckResult()
    limit = settings.checks.TR05.max_span_age_seconds
    severity = alert_severity(settings, "TR05")
    blind = [f"{c.name}: {c.freshness_error}" for c in _answered(snapshot) if c.freshness_error]
    if blind:
        raise NotEvaluated("; ".join(blind))
    for c in _answered(snapshot):
        if c.write_index is None or c.newest_span is None:
            continue
        age = max(0.0, now - c.newest_span)
        result.samples.append(ES_JAEGER_NEWEST_SPAN_AGE_SECONDS.sample(age, es_cluster=c.name))
        if age > limit:
            message = f"newest span in {c.write_index} is {human_duration(age)} old: spans stopped arriving"
            result.findings.append(Finding("TR05", severity, c.name, "Index", c.write_index, message))
    return result


def check_retention(snapshot: ElasticsearchSnapshot, settings: Settings, now: float) -> CheckResult:
    """TR06: Jaeger indices older than the retention: by the date in the name, as the index cleaner
    judges them (creation date for rollover indices); implausible name dates are TR07's alone."""
    result = CheckResult()
    retention = settings.checks.TR06.retention_days * 86400
    severity = alert_severity(settings, "TR06")
    moment = datetime.fromtimestamp(now, UTC)
    for c in _answered(snapshot):
        ages = {i.name: age for i in c.indices
                if not implausible(i, moment, settings) and (age := index_age(i, now)) is not None}  # fmt: skip
        old = [i for i in c.indices if ages.get(i.name, 0.0) > retention]
        oldest_age = max(ages.values(), default=0.0)
        result.samples.append(ES_JAEGER_OLDEST_INDEX_AGE_SECONDS.sample(oldest_age, es_cluster=c.name))
        per_family = Counter(i.family for i in old)
        for family in ("span", "service", "dependencies"):
            result.samples.append(ES_JAEGER_INDICES_OVER_RETENTION.sample(per_family[family],
                                            es_cluster=c.name, family=family))  # fmt: skip
        if old:
            oldest = max(old, key=lambda i: (ages[i.name], i.name))
            count = plural(len(old), "Jaeger index", "Jaeger indices")
            message = (f"{count} older than {settings.checks.TR06.retention_days:g} days "
                       f"(oldest {oldest.name}, {human_duration(ages[oldest.name])}): the index cleaner "
                       "is not running or not matching")  # fmt: skip
            result.findings.append(Finding("TR06", severity, c.name, "Index", oldest.name, message))
    return result


def index_age(index: JaegerIndex, now: float) -> float | None:
    """Seconds since the period the index's name stands for began, else since it was created."""
    if index.date is not None:
        return max(0.0, now - index.date.timestamp()) if index.date.year < 9999 else 0.0
    return max(0.0, now - index.created) if index.created is not None else None


def implausible(index: JaegerIndex, moment: datetime, settings: Settings) -> bool:
    """TR07: the date in the name is far in the future or the past (spans with wrong clocks)."""
    if index.date is None:
        return False
    cfg = settings.checks.TR07
    return index.date - moment > timedelta(days=cfg.future_days) or moment - index.date > timedelta(days=cfg.past_days)


def check_implausible_dates(snapshot: ElasticsearchSnapshot, settings: Settings, now: float) -> CheckResult:
    """TR07: index dates far in the future or past (spans with bad clocks create indices like 27633-07-05)."""
    result = CheckResult()
    moment = datetime.fromtimestamp(now, UTC)
    severity = alert_severity(settings, "TR07")
    for c in _answered(snapshot):
        bad = [i for i in c.indices if implausible(i, moment, settings)]
        result.samples.append(ES_JAEGER_INDICES_IMPLAUSIBLE_DATE.sample(len(bad), es_cluster=c.name))
        for index in bad[: settings.findings.max_series_per_check]:
            message = f"index date {index.name} is implausible: spans with wrong clocks ({index.docs} documents)"
            result.findings.append(Finding("TR07", severity, c.name, "Index", index.name, message))
    return result


CHECKS = (
    # TR01 reports unreadable clusters itself; the others are not evaluated while one is unreadable
    CheckDef("TR01", "elasticsearch", lambda s: [], check_cluster_health),
    CheckDef("TR02", "elasticsearch", lambda s: [], EveryCluster(check_disk_watermarks)),
    CheckDef("TR03", "elasticsearch", lambda s: [], EveryCluster(check_blocked_indices)),
    CheckDef("TR04", "elasticsearch", lambda s: [], EveryCluster(check_write_index)),
    CheckDef("TR05", "elasticsearch", lambda s: [], EveryCluster(check_span_freshness)),
    CheckDef("TR06", "elasticsearch", lambda s: [], EveryCluster(check_retention)),
    CheckDef("TR07", "elasticsearch", lambda s: [], EveryCluster(check_implausible_dates)),
)
