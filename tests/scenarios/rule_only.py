"""Scenarios of alerts that no check's samples drive: the exporter's own health (MH01), rendered from
source and check states; the rule-only TR09 on the Jaeger collector's metrics, shaped as Jaeger
v1.76 and Jaeger v2 (cmd/jaeger of the same module) expose them; and the traffic alerts TM01, TM03-TM06 on istio_requests_total with the labels Istio's
proxies report (names listed in exporter/catalog/external.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from exporter.evaluate import CheckOutcome
from exporter.metrics.render import build_families, render
from exporter.model import CheckResult, SourceView
from tests.scenarios.promtool import BUILD_INFO, Key, parse_body

# series -> (first value, increase per minute): counters grow, gauges keep their value
Phase = dict[Key, tuple[float, float]]


@dataclass(frozen=True)
class SeriesScenario:
    check: str
    name: str
    healthy: Callable[[], Phase]
    unhealthy: Callable[[], Phase]

    @property
    def id(self) -> str:
        return f"{self.check}-{self.name}"


def _exporter(source_up: bool, check_up: bool) -> Phase:
    source = SourceView("kubernetes", "https://10.0.0.1:443", source_up, True, 1000.0, 0.2, {},
                        "" if source_up else "timeout", "" if source_up else "GET /api/v1/pods timed out")  # fmt: skip
    outcome = CheckOutcome("DP02", check_up, CheckResult(), "" if check_up else "no Kubernetes data")
    body = render(build_families([source], [outcome], 100), process_metrics=False).text.decode()
    phase: Phase = {k: (v, 0.0) for k, v in parse_body(body).items() if k[0].startswith(("meshhealth_source_up",
                                                                                        "meshhealth_check_up"))}  # fmt: skip
    phase[BUILD_INFO] = (1.0, 0.0)
    return phase


_JOB = (("instance", "10.0.3.4:14269"), ("job", "jaeger-collector"))


def _jaeger(received: float = 100, dropped: float = 0, queue: float = 10, bulk_errors: float = 0) -> Phase:
    """Per-minute growth of the collector's counters and the queue gauges of one collector."""
    return {
        ("jaeger_collector_spans_received_total", _JOB): (0.0, received),
        ("jaeger_collector_spans_dropped_total", _JOB): (0.0, dropped),
        ("jaeger_collector_queue_length", _JOB): (queue, 0.0),
        ("jaeger_collector_queue_capacity", _JOB): (2000.0, 0.0),
        ("jaeger_storage_bulk_index_errors_total", _JOB): (4.0, bulk_errors),
    }


_V2_JOB = (("instance", "10.0.3.5:8888"), ("job", "jaeger"), ("otel_scope_schema_url", ""), ("otel_scope_version", ""))
_V2_RECEIVER = (*_V2_JOB, ("otel_scope_name", "go.opentelemetry.io/collector/receiver/receiverhelper"),
                ("receiver", "otlp"), ("transport", "http"))  # fmt: skip
_V2_EXPORTER = (*_V2_JOB, ("exporter", "jaeger_storage_exporter"),
                ("otel_scope_name", "go.opentelemetry.io/collector/exporter/exporterhelper"))  # fmt: skip


def _jaeger_v2(accepted: float = 100, refused: float = 0, failed: float = 0, queue: float = 10,
               bulk_errors: float = 0) -> Phase:  # fmt: skip
    """Jaeger v2 (an OpenTelemetry Collector) as it exposes itself on :8888 (labels as read from the running
    cmd/jaeger of the testbed): receiver and exporter span counters, the sending queue, the v2 ES writer."""
    queue_labels = tuple(sorted((*_V2_EXPORTER, ("data_type", "traces"))))
    return {
        ("otelcol_receiver_accepted_spans_total", tuple(sorted(_V2_RECEIVER))): (0.0, accepted),
        ("otelcol_receiver_refused_spans_total", tuple(sorted(_V2_RECEIVER))): (0.0, refused),
        ("otelcol_exporter_sent_spans_total", tuple(sorted(_V2_EXPORTER))): (0.0, accepted - failed),
        ("otelcol_exporter_send_failed_spans_total", tuple(sorted(_V2_EXPORTER))): (0.0, failed),
        ("otelcol_exporter_queue_size", queue_labels): (queue, 0.0),
        ("otelcol_exporter_queue_capacity", queue_labels): (1000.0, 0.0),
        ("jaeger_storage_bulk_index_errors_total", tuple(sorted(_V2_JOB))): (2.0, bulk_errors),
    }


def _istio_labels(reporter: str, code: str, flags: str, client: str = "productpage-v1") -> tuple[tuple[str, str], ...]:
    """Labels of istio_requests_total as Istio's proxies report them (istio.io docs, reference/config/metrics)."""
    labels = {
        "connection_security_policy": "mutual_tls" if reporter == "destination" else "unknown",
        "destination_app": "reviews", "destination_canonical_revision": "v1", "destination_canonical_service": "reviews",
        "destination_cluster": "Kubernetes", "destination_principal": "spiffe://cluster.local/ns/bookinfo/sa/reviews",
        "destination_service": "reviews.bookinfo.svc.cluster.local", "destination_service_name": "reviews",
        "destination_service_namespace": "bookinfo", "destination_version": "v1", "destination_workload": "reviews-v1",
        "destination_workload_namespace": "bookinfo", "grpc_response_status": "", "instance": "10.244.1.7:15090",
        "job": "kubernetes-pods", "reporter": reporter, "request_protocol": "http", "response_code": code,
        "response_flags": flags, "source_app": client.rsplit("-", 1)[0], "source_canonical_revision": "v1",
        "source_canonical_service": client.rsplit("-", 1)[0], "source_cluster": "Kubernetes",
        "source_principal": "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage", "source_version": "v1",
        "source_workload": client, "source_workload_namespace": "bookinfo",
    }  # fmt: skip
    return tuple(sorted(labels.items()))


def _traffic(ok_per_minute: float, failed: dict[tuple[str, str], float] | None = None) -> Phase:
    """Requests per minute to reviews as both proxies report them: successes, and failures by (code, flags). A
    failure the client's proxy produces (UH, NR, UF, ...) never reaches the server, so only ``source`` counts it."""
    phase: Phase = {}
    for reporter in ("source", "destination"):
        phase[("istio_requests_total", _istio_labels(reporter, "200", "-"))] = (1000.0, ok_per_minute)
    for (code, flags), per_minute in (failed or {}).items():
        phase[("istio_requests_total", _istio_labels("source", code, flags))] = (50.0, per_minute)
    return phase


def _proxies(connected: float) -> Phase:
    labels = (("istiod", "istiod-1-29-2-7c9f6b9d8-abcde"), ("proxy_type", "sidecar"), ("revision", "default"),
              ("status", "SYNCED"), ("type", "CDS"))  # fmt: skip
    return {("meshhealth_xds_proxies", labels): (connected, 0.0)}


SCENARIOS = [
    SeriesScenario("MH01", "source-down", lambda: _exporter(True, True), lambda: _exporter(False, True)),
    SeriesScenario("MH01", "check-not-evaluated", lambda: _exporter(True, True), lambda: _exporter(True, False)),
    # the exporter stops answering: every one of its series goes stale at once
    SeriesScenario("MH01", "exporter-absent", lambda: _exporter(True, True), dict),
    SeriesScenario("TR09", "dropping-spans", _jaeger, lambda: _jaeger(dropped=30)),
    SeriesScenario("TR09", "queue-full", _jaeger, lambda: _jaeger(queue=1900)),
    SeriesScenario("TR09", "bulk-index-errors", _jaeger, lambda: _jaeger(bulk_errors=1)),
    # Jaeger v2: the receiver refuses spans (memory limiter), or the storage exporter fails to write them
    SeriesScenario("TR09", "v2-refusing-spans", _jaeger_v2, lambda: _jaeger_v2(accepted=90, refused=10)),
    SeriesScenario("TR09", "v2-send-failed", _jaeger_v2, lambda: _jaeger_v2(failed=30)),
    SeriesScenario("TR09", "v2-queue-full", _jaeger_v2, lambda: _jaeger_v2(queue=950)),
    SeriesScenario("TR09", "v2-bulk-index-errors", _jaeger_v2, lambda: _jaeger_v2(bulk_errors=1)),
    # one refused span in 10,000 stays under drop_ratio; then one in ten does not
    SeriesScenario(
        "TR09",
        "v2-rare-refusal-then-many",
        lambda: _jaeger_v2(accepted=10000, refused=1),
        lambda: _jaeger_v2(accepted=9000, refused=1000),
    ),
    # telemetry gone while proxies stay connected
    SeriesScenario("TM01", "telemetry-missing", lambda: {**_proxies(12), **_traffic(600)}, lambda: _proxies(12)),
    # 600 requests a minute = 10/s; 10 % failing
    SeriesScenario("TM03", "no-healthy-upstream", lambda: _traffic(600), lambda: _traffic(540, {("503", "UH"): 60})),
    # a night with 1 request a minute, all failing, stays silent (below min_requests_per_second); then real traffic
    SeriesScenario(
        "TM03",
        "quiet-night-then-outage",
        lambda: _traffic(0, {("503", "UH"): 1}),
        lambda: _traffic(300, {("503", "UH"): 300}),
    ),
    # no istio_requests_total at all (the metric appears with the first request): silent, then failing
    SeriesScenario("TM03", "metric-absent-then-outage", dict, lambda: _traffic(540, {("503", "UH"): 60})),
    SeriesScenario("TM04", "no-route", lambda: _traffic(600), lambda: _traffic(540, {("404", "NR"): 60})),
    SeriesScenario(
        "TM05",
        "upstream-connect-failure",
        lambda: _traffic(600),
        lambda: _traffic(500, {("503", "UF,URX"): 60, ("503", "UC"): 40}),
    ),
    # UH alone is TM03's, not TM05's; combined flags count for each symptom
    SeriesScenario(
        "TM05",
        "retries-exhausted-not-uh",
        lambda: _traffic(600, {("503", "UH"): 1}),
        lambda: _traffic(540, {("503", "URX"): 60}),
    ),
    SeriesScenario(
        "TM06", "upstream-protocol-error", lambda: _traffic(600), lambda: _traffic(570, {("502", "UPE"): 30})
    ),
]
