"""The exporter's own health: sources it cannot read, findings it had to drop."""

from __future__ import annotations

from exporter.catalog.model import (
    Alert,
    AlertTest,
    FailureMode,
    MetricSpec,
    Panel,
    Query,
    Runbook,
    Series,
)
from exporter.model import Severity

SOURCE_LABELS = ("source", "instance")

MH01 = FailureMode(
    id="MH01",
    title="A monitored source cannot be read",
    section="Exporter",
    metrics=(
        MetricSpec("meshhealth_source_up", "1 if the last refresh of the source succeeded.", SOURCE_LABELS),
        MetricSpec(
            "meshhealth_source_last_success_timestamp_seconds",
            "Unix time of the last successful refresh of the source.",
            SOURCE_LABELS,
        ),
        MetricSpec(
            "meshhealth_source_refresh_duration_seconds",
            "Duration of the last refresh of the source.",
            SOURCE_LABELS,
        ),
        MetricSpec(
            "meshhealth_source_errors",
            "Failed refreshes of the source by reason.",
            (*SOURCE_LABELS, "reason"),
            type="counter",
        ),
        MetricSpec(
            "meshhealth_source_error_info",
            "The last error of a source that is down (message in label error).",
            (*SOURCE_LABELS, "reason", "error"),
        ),
        MetricSpec(
            "meshhealth_check_up",
            "1 if the check ran on fresh data from its source; 0 if its results are withdrawn.",
            ("check",),
        ),
        MetricSpec(
            "meshhealth_check_findings",
            "Objects currently found by the check (0 when healthy).",
            ("check",),
        ),
        MetricSpec(
            "meshhealth_finding",
            "One series per finding (capped per check; see meshhealth_findings_suppressed).",
            ("check", "severity", "namespace", "kind", "name"),
        ),
        MetricSpec(
            "meshhealth_findings_suppressed",
            "Findings not exported as meshhealth_finding series because of the per-check cap.",
            ("check",),
        ),
        MetricSpec("meshhealth_build", "Build information.", ("version", "python_version"), type="info"),
    ),
    alerts=(
        Alert(
            name="MeshHealthSourceDown",
            expr="meshhealth_source_up == 0",
            for_="10m",
            severity=Severity.WARNING,
            summary="mesh-health-exporter cannot read one of its sources.",
            description=(
                "Source {{ $labels.source }} ({{ $labels.instance }}) has failed to refresh for 10 minutes; "
                "the failure modes it detects are not monitored. The exporter status page shows the error."
            ),
            test=AlertTest(
                failing=(Series('meshhealth_source_up{source="kubernetes",instance="https://10.0.0.1:443"}', "0x30"),),
                healthy=(Series('meshhealth_source_up{source="kubernetes",instance="https://10.0.0.1:443"}', "1x30"),),
                labels={"source": "kubernetes", "instance": "https://10.0.0.1:443"},
                description=(
                    "Source kubernetes (https://10.0.0.1:443) has failed to refresh for 10 minutes; "
                    "the failure modes it detects are not monitored. The exporter status page shows the error."
                ),
            ),
        ),
    ),
    panels=(
        Panel(
            title="Sources up",
            description="1 when the source's last refresh succeeded.",
            queries=(Query("meshhealth_source_up", "{{source}} {{instance}}"),),
        ),
        Panel(
            title="Findings by check",
            description="Objects currently found, per failure-mode ID.",
            queries=(Query("sum by (check) (meshhealth_check_findings) > 0", "{{check}}"),),
        ),
        Panel(
            title="Current findings",
            description="Every finding (capped per check).",
            queries=(Query("meshhealth_finding", ""),),
            kind="table",
        ),
        Panel(
            title="Refresh duration",
            description="Duration of the last refresh per source.",
            queries=(Query("meshhealth_source_refresh_duration_seconds", "{{source}} {{instance}}"),),
            unit="s",
        ),
    ),
    runbook=Runbook(
        meaning=(
            "The exporter has not been able to refresh a source (Kubernetes API, istiod, Elasticsearch) "
            "for 10 minutes. `meshhealth_source_error_info` and the status page (`/`) carry the error."
        ),
        impact=(
            "Checks that depend on the source are not evaluated; after `stale_after_seconds` their "
            "metrics are withdrawn and `meshhealth_check_up` is 0. Problems there go unnoticed."
        ),
        diagnosis="""```sh
curl -s http://<exporter>:9745/metrics | grep -E 'meshhealth_source_(up|error_info)'
kubectl logs deploy/mesh-health-exporter | tail -50
kubectl auth can-i list pods --as=system:serviceaccount:<ns>:mesh-health-exporter -A
```""",
        mitigation="""- `forbidden`: the ClusterRole lacks a resource; upgrade the chart or grant get/list/watch.
- `timeout` / `connection`: network policy or the target is overloaded; raise `timeout_seconds`.
- `too_large`: raise `kubernetes.max_response_bytes` (or the source's limit).""",
    ),
)

SECTION = (MH01,)
