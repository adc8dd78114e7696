"""Metrics of other software that rule-only alerts use, with where the real system defines them.

Every name here was read from that software's source at the version given; the catalogue test fails
when an alert names a metric that is neither ours nor listed here.
"""

from __future__ import annotations

EXTERNAL_METRICS: dict[str, str] = {
    # Jaeger v1 collector (github.com/jaegertracing/jaeger v1.76.0, cmd/collector/app/metrics.go,
    # namespace jaeger_collector from cmd/collector/main.go)
    "jaeger_collector_spans_received_total": "jaeger v1.76.0 cmd/collector/app/metrics.go (received by svc)",
    "jaeger_collector_spans_dropped_total": "jaeger v1.76.0 cmd/collector/app/metrics.go SpansDropped",
    "jaeger_collector_queue_length": "jaeger v1.76.0 cmd/collector/app/metrics.go QueueLength",
    "jaeger_collector_queue_capacity": "jaeger v1.76.0 cmd/collector/app/metrics.go QueueCapacity",
    # Jaeger v1 Elasticsearch writer (internal/storage/elasticsearch/config/config.go: NewWriter(..., "bulk_index"),
    # namespace jaeger)
    "jaeger_bulk_index_errors_total": "jaeger v1.76.0 spanstoremetrics write_metrics.go Errors",
    "jaeger_bulk_index_attempts_total": "jaeger v1.76.0 spanstoremetrics write_metrics.go Attempts",
    # Istio's standard request metric, reported by every proxy (labels reporter, destination_service,
    # destination_service_namespace, response_code, response_flags, ...: istio.io docs reference/config/metrics)
    "istio_requests_total": "istio 1.29.2 istioctl/pkg/metrics/metrics.go reqTot; Envoy istio_stats filter",
}
