"""The exporter's own health: sources it cannot read, findings it had to drop."""

from __future__ import annotations

from exporter.catalog import labels
from exporter.catalog.model import (
    Alert,
    FailureMode,
    MetricSpec,
    Panel,
    Query,
    Runbook,
)
from exporter.model import Severity

SOURCE_UP = MetricSpec(
    "meshhealth_source_up", "1 if the last refresh of the source succeeded.", labels.source_source_instance
)
SOURCE_LAST_SUCCESS_TIMESTAMP_SECONDS = MetricSpec(
    "meshhealth_source_last_success_timestamp_seconds",
    "Unix time of the last successful refresh of the source.",
    labels.source_source_instance,
)
SOURCE_REFRESH_DURATION_SECONDS = MetricSpec(
    "meshhealth_source_refresh_duration_seconds",
    "Duration of the last refresh of the source.",
    labels.source_source_instance,
)
SOURCE_ERRORS = MetricSpec(
    "meshhealth_source_errors",
    "Failed refreshes of the source by reason.",
    labels.source_source_instance_reason,
    type="counter",
)
SOURCE_ERROR_INFO = MetricSpec(
    "meshhealth_source_error_info",
    "The last error of a source that is down (message in label error).",
    labels.source_source_instance_reason_error,
)
CHECK_UP = MetricSpec(
    "meshhealth_check_up",
    "1 if the check ran on fresh data from its source; 0 if its results are withdrawn.",
    labels.check,
)
CHECK_FINDINGS = MetricSpec(
    "meshhealth_check_findings", "Objects currently found by the check (0 when healthy).", labels.check
)
FINDING = MetricSpec(
    "meshhealth_finding",
    "One series per finding (capped per check; see meshhealth_findings_suppressed).",
    labels.check_severity_namespace_kind_name,
)
FINDINGS_SUPPRESSED = MetricSpec(
    "meshhealth_findings_suppressed",
    "Findings not exported as meshhealth_finding series because of the per-check cap.",
    labels.check,
)
BUILD = MetricSpec("meshhealth_build", "Build information.", labels.version_revision_python_version, type="info")
KUBE_RESOURCE_UP = MetricSpec(
    "meshhealth_kube_resource_up",
    "1 if the Kubernetes resource is cached and current; 0 if it cannot be read (its checks are not evaluated).",
    labels.resource,
)
KUBE_OBJECTS = MetricSpec(
    "meshhealth_kube_objects", "Objects of the resource in the exporter's cache.", labels.resource
)
KUBE_LISTS = MetricSpec(
    "meshhealth_kube_lists", "Full lists of the resource, by result.", labels.resource_result, type="counter"
)
KUBE_WATCH_EVENTS = MetricSpec("meshhealth_kube_watch_events", "Watch events applied.", labels.resource, type="counter")
KUBE_PROJECTION_ERRORS = MetricSpec(
    "meshhealth_kube_projection_errors",
    "Objects skipped because they could not be read (malformed).",
    labels.resource,
    type="counter",
)

EVENT_LOOP_LAG = MetricSpec(
    "meshhealth_event_loop_lag_seconds",
    "Longest delay of the refresher's event loop in the last minute, as of the last refresh: refreshes wait that "
    "long (the serving process answers scrapes on a loop of its own).",
    labels.none,
)

UPDATE_DURATION = MetricSpec(
    "meshhealth_update_duration_seconds",
    "How long the previous evaluation of every check and rendering of /metrics took (in a worker thread): "
    "source data that arrives meanwhile waits for it.",
    labels.none,
)
UPDATES_COALESCED = MetricSpec(
    "meshhealth_updates_coalesced",
    "Refreshes that arrived while an evaluation was running, folded into one more run after it (refreshes "
    "faster than the checks can follow).",
    labels.none,
    type="counter",
)

MH01 = FailureMode(
    id="MH01",
    title="A monitored source cannot be read",
    section="Exporter",
    metrics=(
        SOURCE_UP,
        SOURCE_LAST_SUCCESS_TIMESTAMP_SECONDS,
        SOURCE_REFRESH_DURATION_SECONDS,
        SOURCE_ERRORS,
        SOURCE_ERROR_INFO,
        CHECK_UP,
        CHECK_FINDINGS,
        FINDING,
        FINDINGS_SUPPRESSED,
        BUILD,
        EVENT_LOOP_LAG,
        UPDATE_DURATION,
        UPDATES_COALESCED,
        KUBE_RESOURCE_UP,
        KUBE_OBJECTS,
        KUBE_LISTS,
        KUBE_WATCH_EVENTS,
        KUBE_PROJECTION_ERRORS,
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
        ),
        Alert(
            # absent() as kubernetes-mixin's *Down alerts: without it, an exporter that dies or is no longer
            # scraped resolves every alert above and below, which looks like a healthy mesh
            name="MeshHealthExporterAbsent",
            expr="absent(meshhealth_build_info)",
            for_="15m",
            severity=Severity.WARNING,
            summary="Prometheus has no data from mesh-health-exporter.",
            description=(
                "No meshhealth_build_info series for 15 minutes: the exporter is down or no longer scraped, and "
                "every mesh-health alert has resolved for lack of data, not because the mesh is healthy. Check the "
                "exporter's pod, its ServiceMonitor or scrape job, and the Prometheus targets page."
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
        Panel(
            title="Event-loop lag",
            description="Longest delay of the refresher's event loop in the last minute: refreshes wait that long.",
            queries=(Query("meshhealth_event_loop_lag_seconds", "{{instance}}"),),
            unit="s",
        ),
    ),
    runbook=Runbook(
        meaning=(
            "The exporter has not been able to refresh a source (Kubernetes API, istiod, Elasticsearch) "
            "for 10 minutes. `meshhealth_source_error_info` and the status page (`/`) carry the error. "
            "`MeshHealthExporterAbsent`: Prometheus has no series of the exporter at all (the pod is down, "
            "crash-looping, or its target is no longer scraped)."
        ),
        impact=(
            "Checks that depend on the source are not evaluated; after `stale_after_seconds` their "
            "metrics are withdrawn and `meshhealth_check_up` is 0. Problems there go unnoticed."
        ),
        diagnosis="""```sh
curl -s http://<exporter>:9745/metrics | grep -E 'meshhealth_source_(up|error_info)'
kubectl logs deploy/mesh-health-exporter | tail -50
kubectl auth can-i list pods --as=system:serviceaccount:<ns>:mesh-health-exporter -A
kubectl get pods,servicemonitor -l app.kubernetes.io/name=mesh-health-exporter -A   # exporter absent
```""",
        mitigation="""- `forbidden`: the ClusterRole lacks a resource; upgrade the chart or grant get/list/watch.
- `timeout` / `connection`: network policy or the target is overloaded; raise `timeout_seconds`.
- `too_large`: raise `kubernetes.max_response_bytes` (or the source's limit).
- Exporter absent: check the pod's events and logs, and that the ServiceMonitor's labels match the
  Prometheus `serviceMonitorSelector` (Prometheus's targets page lists the job).""",
    ),
)


ISTIOD_REPLICA_UP = MetricSpec(
    "meshhealth_istiod_replica_up", "1 if the replica's /debug/syncz was read.", labels.istiod_namespace_revision
)
ISTIOD_REPLICA_ERROR_INFO = MetricSpec(
    "meshhealth_istiod_replica_error_info", "Why a replica could not be read.", labels.istiod_reason_error
)
ISTIOD_CONNECTED_PROXIES = MetricSpec(
    "meshhealth_istiod_connected_proxies", "Proxies connected to each replica (syncz entries).", labels.istiod
)
ISTIOD_INFO = MetricSpec(
    "meshhealth_istiod_info", "Version of each replica (istio_build tag).", labels.istiod_namespace_revision_version
)
ISTIOD_SIDECAR_INJECTION_REQUESTS = MetricSpec(
    "meshhealth_istiod_sidecar_injection_requests",
    "istiod's sidecar_injection_requests_total.",
    labels.istiod,
    type="counter",
)
ISTIOD_SIDECAR_INJECTION_FAILURES = MetricSpec(
    "meshhealth_istiod_sidecar_injection_failures",
    "istiod's sidecar_injection_failure_total.",
    labels.istiod,
    type="counter",
)

MH02 = FailureMode(
    id="MH02",
    title="An istiod replica cannot be read",
    section="Exporter",
    metrics=(
        ISTIOD_REPLICA_UP,
        ISTIOD_REPLICA_ERROR_INFO,
        ISTIOD_CONNECTED_PROXIES,
        ISTIOD_INFO,
        ISTIOD_SIDECAR_INJECTION_REQUESTS,
        ISTIOD_SIDECAR_INJECTION_FAILURES,
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
