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
    # The Elasticsearch writer of v1 and v2 (internal/storage/elasticsearch/config/config.go: NewWriter(...,
    # "bulk_index") under the storage factory's namespace jaeger_storage: internal/storage/v1/factory/factory.go
    # in v1, cmd/jaeger/internal/extension/jaegerstorage/extension.go in v2); the e2e test reads it from both
    "jaeger_storage_bulk_index_errors_total": "jaeger v1.76.0 spanstoremetrics write_metrics.go Errors, namespace "
    "storage (v1 internal/storage/v1/factory/factory.go, v2 cmd/jaeger/internal/extension/jaegerstorage)",
    # Jaeger v2 (cmd/jaeger, OpenTelemetry Collector v0.140.0 inside jaeger v1.76.0's module): the Collector's
    # receiver/exporter helpers (prefix otelcol_, counters with _total)
    "otelcol_receiver_accepted_spans_total": "opentelemetry-collector receiverhelper v0.140.0 "
    "internal/metadata/generated_telemetry.go",
    "otelcol_receiver_refused_spans_total": "opentelemetry-collector receiverhelper v0.140.0 "
    "internal/metadata/generated_telemetry.go",
    "otelcol_exporter_send_failed_spans_total": "opentelemetry-collector exporterhelper v0.140.0 "
    "internal/metadata/generated_telemetry.go",
    "otelcol_exporter_queue_size": "opentelemetry-collector exporterhelper v0.140.0 internal/metadata/generated_telemetry.go",
    "otelcol_exporter_queue_capacity": "opentelemetry-collector exporterhelper v0.140.0 "
    "internal/metadata/generated_telemetry.go",
    # Istio's standard request metric, reported by every proxy (labels reporter, destination_service,
    # destination_service_namespace, response_code, response_flags, ...: istio.io docs reference/config/metrics)
    "istio_requests_total": "istio 1.29.2 istioctl/pkg/metrics/metrics.go reqTot; Envoy istio_stats filter",
}
