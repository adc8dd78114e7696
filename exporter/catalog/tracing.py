"""Section E of the catalogue: Jaeger on Elasticsearch."""

from __future__ import annotations

from exporter.catalog import labels
from exporter.catalog.model import Alert, FailureMode, MetricSpec, Panel, Query, Runbook
from exporter.model import Severity

_ES = """```sh
curl -s es:9200/_cluster/health?pretty
curl -s es:9200/_cat/allocation?v
curl -s 'es:9200/_cat/indices?v&s=index' | grep jaeger
curl -s 'es:9200/_cluster/settings?include_defaults=true&flat_settings=true&pretty' | grep watermark
curl -s 'es:9200/*jaeger-*/_settings/index.blocks.*?flat_settings=true&pretty'
kubectl -n <ns> logs deploy/jaeger-collector | grep -iE 'cluster_block_exception|FORBIDDEN|TOO_MANY_REQUESTS'
```"""
_FREE_SPACE = """- Free disk: delete old Jaeger indices (`jaeger-es-index-cleaner <days> http://es:9200`, with `INDEX_PREFIX`
  for prefixed names such as KubeSphere's `logstash`), or grow the volumes.
- Before Elasticsearch 7.4 the read-only block stays after space is freed; remove it by hand:
  `curl -XPUT 'es:9200/*jaeger-*/_settings' -H 'Content-Type: application/json' -d '{"index.blocks.read_only_allow_delete": null}'`
- Emergency: switch the collector to in-memory storage (`SPAN_STORAGE_TYPE=memory`) to keep the UI useful
  while Elasticsearch recovers (traces are then not persisted)."""

ES_CLUSTER_UP = MetricSpec(
    "meshhealth_es_cluster_up", "1 if the cluster answered the exporter's requests.", labels.es_cluster
)
ES_CLUSTER_ERROR_INFO = MetricSpec(
    "meshhealth_es_cluster_error_info",
    "Why a cluster could not be read (reason and message), while meshhealth_es_cluster_up is 0.",
    labels.es_cluster_reason_error,
)
ES_CLUSTER_STATUS = MetricSpec(
    "meshhealth_es_cluster_status", "1 for the cluster's current health status.", labels.es_cluster_status
)
ES_UNASSIGNED_SHARDS = MetricSpec(
    "meshhealth_es_unassigned_shards", "Unassigned shards (_cluster/health).", labels.es_cluster
)
ES_REQUESTS_PER_REFRESH = MetricSpec(
    "meshhealth_es_requests_per_refresh", "Requests the last refresh made (constant per cluster).", labels.es_cluster
)

TR01 = FailureMode(
    id="TR01",
    title="Elasticsearch cluster red / yellow",
    section="Tracing storage",
    metrics=(
        ES_CLUSTER_UP,
        ES_CLUSTER_ERROR_INFO,
        ES_CLUSTER_STATUS,
        ES_UNASSIGNED_SHARDS,
        ES_REQUESTS_PER_REFRESH,
    ),
    alerts=(
        Alert(
            name="MeshHealthElasticsearchClusterHealth",
            expr='meshhealth_es_cluster_status{status="red"} == 1',
            for_="2m",
            severity=Severity.CRITICAL,
            graded=True,
            summary="The Elasticsearch cluster holding traces is red.",
            description="Elasticsearch cluster {{ $labels.es_cluster }} is red: some primary shards are unassigned.",
        ),
        Alert(
            name="MeshHealthElasticsearchUnreadable",
            expr="meshhealth_es_cluster_up == 0",
            for_="10m",
            severity=Severity.WARNING,
            summary="mesh-health-exporter cannot read an Elasticsearch cluster.",
            description="Elasticsearch cluster {{ $labels.es_cluster }} does not answer the exporter; its checks are blind.",
        ),
        Alert(
            name="MeshHealthElasticsearchClusterHealth",
            expr='meshhealth_es_cluster_status{status="yellow"} == 1',
            for_="15m",
            severity=Severity.WARNING,
            graded=True,
            summary="The Elasticsearch cluster holding traces is yellow.",
            description="Elasticsearch cluster {{ $labels.es_cluster }} is yellow: replica shards are unassigned.",
        ),
    ),
    panels=(
        Panel(
            title="Cluster status",
            description="Health per cluster (1 = current status).",
            queries=(Query("meshhealth_es_cluster_status == 1", "{{es_cluster}} {{status}}"),),
            kind="table",
        ),
    ),
    runbook=Runbook(
        meaning="`_cluster/health` is red (primary shards unassigned) or yellow (replicas unassigned).",
        impact="Red: writes to the affected indices fail and searches return partial results. Yellow: no redundancy.",
        diagnosis=_ES
        + """
```sh
curl -s 'es:9200/_cluster/allocation/explain?pretty'
curl -s 'es:9200/_cat/shards?v' | grep -v STARTED
```""",
        mitigation="Fix the reason `allocation/explain` gives (disk watermarks: TR02; lost nodes: TR08), or drop a broken index.",
    ),
)


ES_DISK_AVAILABLE_BYTES = MetricSpec(
    "meshhealth_es_disk_available_bytes",
    "Available bytes on each data node's least-available data path.",
    labels.es_cluster_node,
)
ES_DISK_TOTAL_BYTES = MetricSpec("meshhealth_es_disk_total_bytes", "Size of that data path.", labels.es_cluster_node)
ES_DISK_WATERMARK_FREE_BYTES = MetricSpec(
    "meshhealth_es_disk_watermark_free_bytes",
    "Free bytes at which each watermark is reached on that path (percentages, byte values and "
    "8.x max_headroom resolved).",
    labels.es_cluster_node_level,
)
ES_DISK_FLOOD_STAGE_DISTANCE_BYTES = MetricSpec(
    "meshhealth_es_disk_flood_stage_distance_bytes",
    "Available bytes left before the flood-stage watermark.",
    labels.es_cluster_node,
)
ES_DISK_USED_RATIO = MetricSpec(
    "meshhealth_es_disk_used_ratio", "Used share of that data path (0-1).", labels.es_cluster_node
)
ES_HEALTH_REPORT_DISK_STATUS = MetricSpec(
    "meshhealth_es_health_report_disk_status",
    "1 for the status of _health_report's disk indicator (Elasticsearch 8.7+).",
    labels.es_cluster_status,
)

TR02 = FailureMode(
    id="TR02",
    title="Data disk above the high / flood-stage watermark",
    section="Tracing storage",
    metrics=(
        ES_DISK_AVAILABLE_BYTES,
        ES_DISK_TOTAL_BYTES,
        ES_DISK_WATERMARK_FREE_BYTES,
        ES_DISK_FLOOD_STAGE_DISTANCE_BYTES,
        ES_DISK_USED_RATIO,
        ES_HEALTH_REPORT_DISK_STATUS,
    ),
    alerts=(
        Alert(
            name="MeshHealthElasticsearchDiskWatermark",
            expr='meshhealth_es_disk_available_bytes < on (es_cluster, node) meshhealth_es_disk_watermark_free_bytes{level="flood_stage"}',
            for_="1m",
            severity=Severity.CRITICAL,
            graded=True,
            summary="An Elasticsearch data disk is past the flood-stage watermark.",
            description="Node {{ $labels.node }} of {{ $labels.es_cluster }} has {{ $value | humanize1024 }}B available: past flood stage, indices become read-only.",
        ),
        Alert(
            name="MeshHealthElasticsearchDiskWatermark",
            expr='meshhealth_es_disk_available_bytes < on (es_cluster, node) meshhealth_es_disk_watermark_free_bytes{level="high"}',
            for_="5m",
            severity=Severity.WARNING,
            graded=True,
            summary="An Elasticsearch data disk is past the high watermark.",
            description="Node {{ $labels.node }} of {{ $labels.es_cluster }} has {{ $value | humanize1024 }}B available: past the high watermark, shards move away.",
        ),
    ),
    panels=(
        Panel(
            title="Disk available vs watermarks",
            description="Available bytes and the free bytes at each watermark.",
            queries=(
                Query("meshhealth_es_disk_available_bytes", "available {{node}}"),
                Query("meshhealth_es_disk_watermark_free_bytes", "{{level}} {{node}}"),
            ),
            unit="bytes",
        ),
    ),
    runbook=Runbook(
        meaning=(
            "A data node's least-available data path is below a disk watermark. Thresholds come from "
            "`_cluster/settings` (transient > persistent > defaults, 85/90/95 % by default); percentages mean used "
            "space, byte values free space, and on 8.x `max_headroom` caps percentages (flood stage can trigger at "
            "100 GB free on big disks). The exporter resolves every form to bytes so one expression fits all."
        ),
        impact="High: no new shards here. Flood stage: every index with a shard here is blocked read-only (TR03).",
        diagnosis=_ES,
        mitigation=_FREE_SPACE,
    ),
)

ES_JAEGER_BLOCKED_INDICES = MetricSpec(
    "meshhealth_es_jaeger_blocked_indices",
    "Jaeger indices with a block set to true, by family and block (read_only_allow_delete, read_only, write).",
    labels.es_cluster_family_block,
)

TR03 = FailureMode(
    id="TR03",
    title="Jaeger indices blocked read-only",
    section="Tracing storage",
    metrics=(ES_JAEGER_BLOCKED_INDICES,),
    alerts=(
        Alert(
            name="MeshHealthJaegerIndicesReadOnly",
            expr="sum by (es_cluster, family) (meshhealth_es_jaeger_blocked_indices) > 0",
            for_="1m",
            severity=Severity.CRITICAL,
            summary="Jaeger indices are blocked read-only; spans are being lost.",
            description="{{ $value }} Jaeger {{ $labels.family }} indices in {{ $labels.es_cluster }} are blocked; the collector's writes fail.",
        ),
    ),
    panels=(
        Panel(
            title="Blocked Jaeger indices",
            description="Jaeger indices with read-only or write blocks.",
            queries=(
                Query(
                    "sum by (es_cluster, family, block) (meshhealth_es_jaeger_blocked_indices)",
                    "{{es_cluster}} {{family}} {{block}}",
                ),
            ),
        ),
    ),
    runbook=Runbook(
        meaning=(
            "Jaeger indices carry `index.blocks.read_only_allow_delete` (set by Elasticsearch at flood stage), "
            "`index.blocks.read_only` or `index.blocks.write`. The collector's bulk writes fail with "
            "`cluster_block_exception ... FORBIDDEN/12/index read-only / allow delete (api)` (older) or "
            "`TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark` (newer); Jaeger v1 still counts them as saved."
        ),
        impact="New spans are lost until the block is removed: the tracing UI stays empty for the current day.",
        diagnosis=_ES,
        mitigation=_FREE_SPACE,
    ),
)

ES_JAEGER_WRITE_INDEX_PRESENT = MetricSpec(
    "meshhealth_es_jaeger_write_index_present",
    "1 if today's span index (hourly: this hour's; rollover: the write alias) exists.",
    labels.es_cluster,
)

TR04 = FailureMode(
    id="TR04",
    title="Today's Jaeger index missing",
    section="Tracing storage",
    metrics=(ES_JAEGER_WRITE_INDEX_PRESENT,),
    alerts=(
        Alert(
            name="MeshHealthJaegerIndexMissing",
            expr="meshhealth_es_jaeger_write_index_present == 0",
            for_="10m",
            severity=Severity.CRITICAL,
            summary="Jaeger has no index for the current period.",
            description="Cluster {{ $labels.es_cluster }} has no Jaeger span index for today (or no write alias): no spans are stored.",
        ),
    ),
    panels=(
        Panel(
            title="Write index present",
            description="1 when today's span index (or the write alias) exists.",
            queries=(Query("meshhealth_es_jaeger_write_index_present", "{{es_cluster}}"),),
        ),
    ),
    runbook=Runbook(
        meaning=(
            "Spans are written to `<prefix>-jaeger-span-<UTC date of span start>` (separator configurable, `-HH` for "
            "hourly), or through the alias `jaeger-span-write` in rollover mode. Past the grace period after UTC "
            "midnight that index does not exist."
        ),
        impact="Either nothing sends spans (collector down, sampling 0, no traffic) or the collector cannot create indices.",
        diagnosis=_ES + "\n\nCompare with TR05 (newest span) and TR09 (collector metrics).",
        mitigation="Check the collector's logs and its Elasticsearch credentials/permissions; in rollover mode run `jaeger-es-rollover init`.",
    ),
)

ES_JAEGER_NEWEST_SPAN_AGE_SECONDS = MetricSpec(
    "meshhealth_es_jaeger_newest_span_age_seconds",
    "Age of the newest span (max startTimeMillis) in the current write index.",
    labels.es_cluster,
)

TR05 = FailureMode(
    id="TR05",
    title="Spans stopped arriving",
    section="Tracing storage",
    thresholds=("max_span_age_seconds",),
    metrics=(ES_JAEGER_NEWEST_SPAN_AGE_SECONDS,),
    alerts=(
        Alert(
            name="MeshHealthJaegerSpansStale",
            expr="meshhealth_es_jaeger_newest_span_age_seconds > ${max_span_age_seconds}",
            for_="5m",
            severity=Severity.WARNING,
            summary="No new spans reach the tracing storage.",
            description="The newest span in {{ $labels.es_cluster }} is {{ $value | humanizeDuration }} old.",
        ),
    ),
    panels=(
        Panel(
            title="Newest span age",
            description="Age of the newest stored span.",
            queries=(Query("meshhealth_es_jaeger_newest_span_age_seconds", "{{es_cluster}}"),),
            unit="s",
        ),
    ),
    runbook=Runbook(
        meaning="The newest span in the current write index is older than the threshold although the index exists.",
        impact="Tracing is broken while traffic continues: ingress without sidecar (NS03), missing `X-Request-ID`, collector failing, storage blocked (TR03).",
        diagnosis=_ES
        + """
```sh
curl -s -XPOST 'es:9200/<index>/_search' -H 'Content-Type: application/json' \\
  -d '{"size":0,"aggs":{"newest":{"max":{"field":"startTimeMillis"}}}}'
```""",
        mitigation="Follow the chain: sampling in the mesh config (CF14), the proxies' tracing address (CF11), the collector (TR08, TR09), the storage (TR02, TR03).",
    ),
)

ES_JAEGER_INDICES_OVER_RETENTION = MetricSpec(
    "meshhealth_es_jaeger_indices_over_retention",
    "Jaeger indices created longer ago than checks.TR06.retention_days.",
    labels.es_cluster_family,
)
ES_JAEGER_OLDEST_INDEX_AGE_SECONDS = MetricSpec(
    "meshhealth_es_jaeger_oldest_index_age_seconds",
    "Age of the oldest Jaeger index (creation.date).",
    labels.es_cluster,
)

TR06 = FailureMode(
    id="TR06",
    title="Retention not enforced",
    section="Tracing storage",
    metrics=(
        ES_JAEGER_INDICES_OVER_RETENTION,
        ES_JAEGER_OLDEST_INDEX_AGE_SECONDS,
    ),
    alerts=(
        Alert(
            name="MeshHealthJaegerRetentionNotEnforced",
            expr="sum by (es_cluster) (meshhealth_es_jaeger_indices_over_retention) > 0",
            for_="6h",
            severity=Severity.WARNING,
            summary="Old Jaeger indices are not being deleted.",
            description="{{ $value }} Jaeger indices in {{ $labels.es_cluster }} are older than the retention; the disk will fill.",
        ),
    ),
    panels=(
        Panel(
            title="Indices over retention",
            description="Jaeger indices older than the retention.",
            queries=(Query("meshhealth_es_jaeger_indices_over_retention", "{{es_cluster}} {{family}}"),),
        ),
    ),
    runbook=Runbook(
        meaning=(
            "Jaeger indices older than the retention exist (by `creation.date`). `jaeger-es-index-cleaner NUM_OF_DAYS` "
            "deletes by creation date and breaks silently when daily indices and rollover are mixed; KubeSphere keeps 7 days."
        ),
        impact="The disk fills up: TR02, then TR03 and lost spans.",
        diagnosis=_ES + "\n\n```sh\nkubectl get cronjob -A | grep -i index-cleaner\n```",
        mitigation="Run or fix the cleaner CronJob (`jaeger-es-index-cleaner <days> http://es:9200`, `INDEX_PREFIX`, `ROLLOVER=true` for rollover).",
    ),
)

ES_JAEGER_INDICES_IMPLAUSIBLE_DATE = MetricSpec(
    "meshhealth_es_jaeger_indices_implausible_date",
    "Jaeger indices whose name has a date far in the future or past.",
    labels.es_cluster,
)

TR07 = FailureMode(
    id="TR07",
    title="Implausible index dates",
    section="Tracing storage",
    metrics=(ES_JAEGER_INDICES_IMPLAUSIBLE_DATE,),
    alerts=(
        Alert(
            name="MeshHealthJaegerImplausibleIndexDates",
            expr="meshhealth_es_jaeger_indices_implausible_date > 0",
            for_="10m",
            severity=Severity.WARNING,
            summary="Spans with wrong clocks create Jaeger indices far in the future or past.",
            description="{{ $value }} Jaeger indices in {{ $labels.es_cluster }} have implausible dates.",
        ),
    ),
    panels=(
        Panel(
            title="Implausible index dates",
            description="Indices like jaeger-span-27633-07-05.",
            queries=(Query("meshhealth_es_jaeger_indices_implausible_date", "{{es_cluster}}"),),
        ),
    ),
    runbook=Runbook(
        meaning="Spans whose start time is wrong (bad client clocks, microseconds taken as milliseconds) create indices such as `jaeger-span-27633-07-05`.",
        impact="Each index costs shards and heap; thousands of them slow or break the cluster, and the cleaner never deletes future dates.",
        diagnosis=_ES,
        mitigation="Delete the indices (`curl -XDELETE es:9200/jaeger-span-27633-07-05`) and fix the clients' clocks or instrumentation.",
    ),
)


# Jaeger v2 is an OpenTelemetry Collector: its receiver and exporter helpers count spans (otelcol_*). Every
# exporter of Jaeger's collector counts (jaeger_storage_exporter, or kafka in a collector/ingester split: a failed
# send loses spans either way); jaeger_metric_selector keeps other OpenTelemetry Collectors out.
_BY = "sum by (namespace, job, instance)"

TR09 = FailureMode(
    id="TR09",
    title="Jaeger collector dropping or failing to store spans",
    section="Tracing storage",
    thresholds=("drop_ratio", "queue_fill_ratio"),
    metrics=(),
    alerts=(
        Alert(
            name="MeshHealthJaegerDroppingSpans",
            expr=(
                f"{_BY} (rate(jaeger_collector_spans_dropped_total[5m])) "
                f"/ {_BY} (rate(jaeger_collector_spans_received_total[5m])) > ${{drop_ratio}} "
                f"or ({_BY} (rate(otelcol_receiver_refused_spans_total[5m])) "
                f"+ {_BY} (rate(otelcol_exporter_send_failed_spans_total[5m]))) "
                f"/ ({_BY} (rate(otelcol_receiver_accepted_spans_total[5m])) "
                f"+ {_BY} (rate(otelcol_receiver_refused_spans_total[5m]))) > ${{drop_ratio}}"
            ),
            for_="10m",
            severity=Severity.WARNING,
            summary="The Jaeger collector drops spans.",
            description="Collector {{ $labels.instance }} drops {{ $value | humanizePercentage }} of the spans it receives.",
        ),
        Alert(
            name="MeshHealthJaegerQueueFull",
            expr=(
                "jaeger_collector_queue_length / jaeger_collector_queue_capacity > ${queue_fill_ratio} "
                "or otelcol_exporter_queue_size / otelcol_exporter_queue_capacity "
                "> ${queue_fill_ratio}"
            ),
            for_="10m",
            severity=Severity.WARNING,
            summary="The Jaeger collector's queue is nearly full.",
            description="Collector {{ $labels.instance }} queue is {{ $value | humanizePercentage }} full; storage is too slow.",
        ),
        Alert(
            name="MeshHealthJaegerBulkIndexErrors",
            expr=f"{_BY} (increase(jaeger_storage_bulk_index_errors_total[10m])) > 0",
            for_="10m",
            severity=Severity.WARNING,
            summary="The Jaeger collector's bulk writes to Elasticsearch fail.",
            description="Collector {{ $labels.instance }} had failed bulk flushes to Elasticsearch in the last 10 minutes.",
        ),
    ),
    panels=(
        Panel(
            title="Collector drops",
            description="Spans lost per second: v1 dropped; v2 refused by the receiver or failed in an exporter.",
            queries=(
                Query("sum by (instance) (rate(jaeger_collector_spans_dropped_total[5m]))", "dropped {{instance}}"),
                Query("sum by (instance) (rate(otelcol_receiver_refused_spans_total[5m]))", "refused {{instance}}"),
                Query(
                    "sum by (instance) (rate(otelcol_exporter_send_failed_spans_total[5m]))",
                    "send failed {{instance}}",
                ),
            ),
        ),
        Panel(
            title="Collector queue fill",
            description="Queue length over capacity (v1 collector queue, v2 exporter sending queue).",
            queries=(
                Query("jaeger_collector_queue_length / jaeger_collector_queue_capacity", "{{instance}}"),
                Query("otelcol_exporter_queue_size / otelcol_exporter_queue_capacity", "{{instance}} {{exporter}}"),
            ),
            unit="percentunit",
        ),
        Panel(
            title="Failed bulk writes",
            description="Failed bulk flushes to Elasticsearch per second (jaeger_storage_bulk_index_errors_total, "
            "the same name in v1 and v2).",
            queries=(Query("sum by (instance) (rate(jaeger_storage_bulk_index_errors_total[5m]))", "{{instance}}"),),
        ),
    ),
    runbook=Runbook(
        meaning=(
            "Rule-only, on the collector's own metrics: dropped spans, a full queue, failed bulk flushes, for Jaeger "
            "v1 (`jaeger_collector_*`) and Jaeger v2, an OpenTelemetry Collector (`otelcol_receiver_refused_spans_total`, "
            "`otelcol_exporter_send_failed_spans_total`, the exporter's sending queue); both report failed bulk "
            "writes as `jaeger_storage_bulk_index_errors_total` (read from the running collectors). Both Elasticsearch "
            "writers report spans as saved when they are queued for a bulk request, so ES rejections hide behind "
            "success counters; the bulk error counters count failed flushes, not documents. v2 reports its queue "
            "only when `jaeger_storage_exporter.queue` is enabled. TR03 and TR05 are the reliable signals that "
            "spans are lost."
        ),
        impact="Traces are incomplete or missing.",
        diagnosis=_ES,
        mitigation="Scale the collector or raise its queue (v1 `--collector.queue-size`, v2 "
        "`exporters.jaeger_storage_exporter.queue.queue_size`); fix the storage (TR02, TR03).",
    ),
)

SECTION = (TR01, TR02, TR03, TR04, TR05, TR06, TR07, TR09)
