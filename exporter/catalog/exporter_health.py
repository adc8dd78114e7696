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

SOURCE_LABELS = ("source", "source_instance")  # not "instance": Prometheus sets that to the target

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
        MetricSpec(
            "meshhealth_kube_resource_up",
            "1 if the Kubernetes resource is cached and current; 0 if it cannot be read (its checks are not "
            "evaluated).",
            ("resource",),
        ),
        MetricSpec("meshhealth_kube_objects", "Objects of the resource in the exporter's cache.", ("resource",)),
        MetricSpec(
            "meshhealth_kube_lists", "Full lists of the resource, by result.", ("resource", "result"), type="counter"
        ),
        MetricSpec("meshhealth_kube_watch_events", "Watch events applied.", ("resource",), type="counter"),
        MetricSpec(
            "meshhealth_kube_projection_errors",
            "Objects skipped because they could not be read (malformed).",
            ("resource",),
            type="counter",
        ),
    ),
    alerts=(
        Alert(
            name="MeshHealthSourceDown",
            expr="meshhealth_source_up == 0",
            for_="10m",
            severity=Severity.WARNING,
            summary="mesh-health-exporter cannot read one of its sources.",
            description=(
                "Source {{ $labels.source }} ({{ $labels.source_instance }}) has failed to refresh for 10 minutes; "
                "the failure modes it detects are not monitored. The exporter status page shows the error."
            ),
            test=AlertTest(
                failing=(
                    Series('meshhealth_source_up{source="kubernetes",source_instance="https://10.0.0.1:443"}', "0x30"),
                ),
                healthy=(
                    Series('meshhealth_source_up{source="kubernetes",source_instance="https://10.0.0.1:443"}', "1x30"),
                ),
                labels={"source": "kubernetes", "source_instance": "https://10.0.0.1:443"},
                description=(
                    "Source kubernetes (https://10.0.0.1:443) has failed to refresh for 10 minutes; "
                    "the failure modes it detects are not monitored. The exporter status page shows the error."
                ),
            ),
        ),
        Alert(
            name="MeshHealthCheckNotEvaluated",
            expr="meshhealth_check_up == 0",
            for_="15m",
            severity=Severity.WARNING,
            summary="A check cannot judge what it monitors.",
            description=(
                "Check {{ $labels.check }} has not been evaluated for 15 minutes (its data is missing, stale or "
                "incomplete): its failure mode is not monitored. The status page and `check` say why; disable "
                "checks that cannot run in this setup."
            ),
            test=AlertTest(
                failing=(Series('meshhealth_check_up{check="DP02"}', "0x30"),),
                healthy=(Series('meshhealth_check_up{check="DP02"}', "1x30"),),
                labels={"check": "DP02"},
                description=(
                    "Check DP02 has not been evaluated for 15 minutes (its data is missing, stale or incomplete): "
                    "its failure mode is not monitored. The status page and `check` say why; disable checks that "
                    "cannot run in this setup."
                ),
            ),
        ),
    ),
    panels=(
        Panel(
            title="Sources up",
            description="1 when the source's last refresh succeeded.",
            queries=(Query("meshhealth_source_up", "{{source}} {{source_instance}}"),),
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
            queries=(Query("meshhealth_source_refresh_duration_seconds", "{{source}} {{source_instance}}"),),
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

_ISTIOD = "istiod-7c9f6b9d8-abcde"

MH02 = FailureMode(
    id="MH02",
    title="An istiod replica cannot be read",
    section="Exporter",
    metrics=(
        MetricSpec(
            "meshhealth_istiod_replica_up",
            "1 if the replica's /debug/syncz was read.",
            ("istiod", "namespace", "revision"),
        ),
        MetricSpec(
            "meshhealth_istiod_replica_error_info", "Why a replica could not be read.", ("istiod", "reason", "error")
        ),
        MetricSpec(
            "meshhealth_istiod_connected_proxies", "Proxies connected to each replica (syncz entries).", ("istiod",)
        ),
        MetricSpec(
            "meshhealth_istiod_info",
            "Version of each replica (istio_build tag).",
            ("istiod", "namespace", "revision", "version"),
        ),
        MetricSpec(
            "meshhealth_istiod_sidecar_injection_requests",
            "istiod's sidecar_injection_requests_total.",
            ("istiod",),
            type="counter",
        ),
        MetricSpec(
            "meshhealth_istiod_sidecar_injection_failures",
            "istiod's sidecar_injection_failure_total.",
            ("istiod",),
            type="counter",
        ),
    ),
    alerts=(
        Alert(
            name="MeshHealthIstiodUnreadable",
            expr="meshhealth_istiod_replica_up == 0",
            for_="10m",
            severity=Severity.WARNING,
            summary="mesh-health-exporter cannot read an istiod replica's debug endpoints.",
            description=(
                "istiod {{ $labels.istiod }} ({{ $labels.namespace }}) does not answer /debug/syncz; "
                "the sync status of its proxies is unknown."
            ),
            test=AlertTest(
                failing=(
                    Series(
                        f'meshhealth_istiod_replica_up{{istiod="{_ISTIOD}",namespace="istio-system",'
                        'revision="default"}',
                        "0x30",
                    ),
                ),
                healthy=(
                    Series(
                        f'meshhealth_istiod_replica_up{{istiod="{_ISTIOD}",namespace="istio-system",'
                        'revision="default"}',
                        "1x30",
                    ),
                ),
                labels={"istiod": _ISTIOD, "namespace": "istio-system", "revision": "default"},
                description=(
                    f"istiod {_ISTIOD} (istio-system) does not answer /debug/syncz; the sync status of its proxies "
                    "is unknown."
                ),
            ),
        ),
    ),
    panels=(
        Panel(
            title="istiod replicas read",
            description="1 when the replica's debug endpoints answered.",
            queries=(Query("meshhealth_istiod_replica_up", "{{istiod}}"),),
        ),
        Panel(
            title="Connected proxies per istiod",
            description="syncz entries per replica.",
            queries=(Query("meshhealth_istiod_connected_proxies", "{{istiod}}"),),
        ),
    ),
    runbook=Runbook(
        meaning=(
            "The exporter reads `/debug/syncz`, `/metrics` and `/debug/push_status` on port 15014 of every istiod "
            "pod. A replica did not answer, or refused: Istio 1.27.6+/1.28.4+/1.29+ answer 403 to debug callers "
            "outside the control-plane namespace (`ENABLE_DEBUG_ENDPOINT_AUTH`)."
        ),
        impact="DP01–DP03 and CP03–CP11 are blind for that replica's proxies; DP02 is not evaluated.",
        diagnosis="""```sh
curl -s http://<exporter>:9745/metrics | grep meshhealth_istiod_replica_error_info
kubectl -n istio-system get pods -l app=istiod -o wide
kubectl -n istio-system get deploy istiod -o yaml | grep -A1 DEBUG_ENDPOINT_AUTH
```""",
        mitigation="""- `forbidden`: deploy the exporter in `istio-system`, or add its namespace to istiod's
  `DEBUG_ENDPOINT_AUTH_ALLOWED_NAMESPACES`.
- `unauthorized`: the exporter's pod needs its service-account token (`automountServiceAccountToken: true`).
- `connection` / `timeout`: NetworkPolicies must allow the exporter to reach istiod on 15014.""",
    ),
)

SECTION = (MH01, MH02)
