"""Section A of the catalogue read from istiod's metrics and push status: CP04-CP08, CP10, CP11."""

from __future__ import annotations

from exporter.catalog import labels
from exporter.catalog.model import Alert, FailureMode, MetricSpec, Panel, Query, Runbook
from exporter.catalog.shared import relayed_gauge_mode
from exporter.model import Severity

_PUSH_STATUS = """```sh
kubectl -n istio-system exec deploy/istiod -- curl -s localhost:15014/debug/push_status | jq
kubectl -n istio-system exec deploy/istiod -- curl -s localhost:15014/metrics | grep -E '^pilot_(eds_no_instances|conflict|duplicate|vservice_dup|total_rejected)'
istioctl analyze -A
```"""


ISTIOD_REJECTED_CONFIGS = MetricSpec(
    "meshhealth_istiod_rejected_configs",
    "istiod's pilot_total_rejected_configs{type,name}: objects it had to reject or ignore.",
    labels.istiod_type_name,
    type="counter",
)
ISTIOD_REJECTED_CONFIGS_KINDS = MetricSpec(
    "meshhealth_istiod_rejected_configs_kinds", "Distinct objects istiod reports as rejected.", labels.istiod
)

CP04 = FailureMode(
    id="CP04",
    title="Configuration rejected by istiod (e.g. conflicting Gateways)",
    section="Control plane",
    metrics=(
        ISTIOD_REJECTED_CONFIGS,
        ISTIOD_REJECTED_CONFIGS_KINDS,
    ),
    alerts=(
        Alert(
            name="MeshHealthConfigRejected",
            expr="increase(meshhealth_istiod_rejected_configs_total[30m]) > 0",
            for_="0m",
            severity=Severity.WARNING,
            summary="istiod rejects or ignores a configuration object.",
            description=(
                "istiod {{ $labels.istiod }} rejects {{ $labels.type }} {{ $labels.name }}; its hosts are not served."
            ),
        ),
    ),
    panels=(
        Panel(
            title="Rejected configuration",
            description="Objects istiod rejected in the last 30 minutes.",
            queries=(Query("increase(meshhealth_istiod_rejected_configs_total[30m]) > 0", "{{type}} {{name}}"),),
            kind="table",
        ),
    ),
    runbook=Runbook(
        meaning=(
            "istiod counts objects it had to reject in `pilot_total_rejected_configs{type,name}`. The documented "
            "case: two Gateways configure TLS for the same host on the same port; istiod keeps the first and drops "
            "the second server, named in the `name` label."
        ),
        impact="Hosts of the dropped server fail (TLS errors or 404) although both objects were accepted by the API server.",
        diagnosis=_PUSH_STATUS
        + """
```sh
kubectl get gateways.networking.istio.io -A -o json \\
  | jq -r '.items[] | .metadata.namespace + "/" + .metadata.name + " " + ([.spec.servers[] | (.port.number|tostring) + " " + (.hosts|join(","))]|join("; "))'
```""",
        mitigation="""- Merge the servers into one Gateway, or give each Gateway distinct hosts/ports (or a distinct selector).""",
    ),
)

ISTIOD_CLUSTER_WITHOUT_INSTANCES = MetricSpec(
    "meshhealth_istiod_cluster_without_instances",
    "1 per cluster istiod lists under pilot_eds_no_instances in /debug/push_status (capped).",
    labels.istiod_key,
)

ISTIOD_EDS_NO_INSTANCES = MetricSpec(
    "meshhealth_istiod_eds_no_instances",
    "istiod's pilot_eds_no_instances: clusters whose Service or DestinationRule subset selects no pod.",
    labels.istiod,
)

CP05 = relayed_gauge_mode(
    "CP05",
    "Clusters without instances",
    ISTIOD_EDS_NO_INSTANCES,
    "MeshHealthClustersWithoutInstances",
    "Envoy clusters have no endpoints (503 UH).",
    "clusters without instances",
    Runbook(
        meaning=(
            "istiod built Envoy clusters that have no endpoints (`pilot_eds_no_instances`). `/debug/push_status` "
            "names each cluster (`outbound|9080|v1-bug|reviews.bookinfo.svc.cluster.local`): a Service selector "
            "that matches no pods, pods not started, or a DestinationRule subset whose labels match no pod."
        ),
        impact="Requests routed to these clusters fail with 503 and response flag UH (no healthy upstream).",
        diagnosis=_PUSH_STATUS
        + """
```sh
kubectl -n <ns> get destinationrule <dr> -o yaml | grep -A3 subsets
kubectl -n <ns> get pods -l app=<app>,version=<subset-version> --show-labels
```""",
        mitigation="Fix the subset labels or the Service selector, or start the missing pods.",
    ),
    extra_metrics=(ISTIOD_CLUSTER_WITHOUT_INSTANCES,),
)

ISTIOD_INBOUND_LISTENER_CONFLICTS = MetricSpec(
    "meshhealth_istiod_inbound_listener_conflicts",
    "istiod's pilot_conflict_inbound_listener: the same port declared with different protocols for the same pods.",
    labels.istiod,
)

CP06 = relayed_gauge_mode(
    "CP06",
    "Inbound listener protocol conflict",
    ISTIOD_INBOUND_LISTENER_CONFLICTS,
    "MeshHealthInboundListenerConflict",
    "Services declare one port of the same pods with different protocols.",
    "inbound listener conflicts",
    Runbook(
        meaning=(
            "Two Services select the same pods and declare the same port with different protocols (e.g. `http` and "
            "`tcp`); istiod can build only one inbound listener (`pilot_conflict_inbound_listener`)."
        ),
        impact="One of the protocols wins arbitrarily: HTTP features or TCP traffic break for the other Service.",
        diagnosis=_PUSH_STATUS,
        mitigation="Use the same protocol (port name prefix or `appProtocol`) for the port in every Service.",
    ),
)

ISTIOD_OUTBOUND_LISTENER_CONFLICTS = MetricSpec(
    "meshhealth_istiod_outbound_listener_conflicts",
    "Sum of istiod's pilot_conflict_outbound_listener_* gauges (names differ by version; all are read).",
    labels.istiod,
)

CP07 = relayed_gauge_mode(
    "CP07",
    "Outbound listener conflicts",
    ISTIOD_OUTBOUND_LISTENER_CONFLICTS,
    "MeshHealthOutboundListenerConflict",
    "Services conflict on an outbound listener port.",
    "outbound listener conflicts",
    Runbook(
        meaning=(
            "Services in the mesh share a port with incompatible protocols on the same address "
            "(`pilot_conflict_outbound_listener_tcp_over_current_tcp`, and before 1.19 `..._http_over_current_tcp`, "
            "`..._tcp_over_current_http`)."
        ),
        impact="Traffic to one of the Services is sent through the other's listener: wrong routing or no routing.",
        diagnosis=_PUSH_STATUS,
        mitigation="Give the conflicting Services distinct ports or consistent protocols; limit visibility with `exportTo`.",
    ),
)

ISTIOD_CONVERGENCE_P99_SECONDS = MetricSpec(
    "meshhealth_istiod_convergence_p99_seconds",
    "p99 of istiod's pilot_proxy_convergence_time over the last refresh interval.",
    labels.istiod,
)

CP08 = FailureMode(
    id="CP08",
    title="Slow configuration convergence",
    section="Control plane",
    thresholds=("convergence_p99_seconds",),
    metrics=(ISTIOD_CONVERGENCE_P99_SECONDS,),
    alerts=(
        Alert(
            name="MeshHealthSlowConfigConvergence",
            expr="meshhealth_istiod_convergence_p99_seconds > ${convergence_p99_seconds}",
            for_="10m",
            severity=Severity.WARNING,
            summary="Configuration takes too long to reach proxies.",
            description="istiod {{ $labels.istiod }} needs {{ $value }}s (p99) to push configuration to proxies.",
        ),
    ),
    panels=(
        Panel(
            title="Push convergence p99",
            description="p99 time from a change to all proxies having received it, per istiod.",
            queries=(Query("meshhealth_istiod_convergence_p99_seconds", "{{istiod}}"),),
            unit="s",
        ),
    ),
    runbook=Runbook(
        meaning="istiod needs long to push changes (`pilot_proxy_convergence_time` p99): it is overloaded.",
        impact="Endpoint changes (scaling, rollouts) reach proxies late: requests go to pods that are gone (503).",
        diagnosis="""```sh
kubectl top pod -n istio-system -l app=istiod
kubectl -n istio-system exec deploy/istiod -- curl -s localhost:15014/metrics | grep -E 'pilot_(xds_pushes|proxy_queue_time|push_triggers)'
```""",
        mitigation="""- Add istiod replicas / CPU; reduce push scope with `Sidecar` resources and `exportTo`;
  raise `PILOT_DEBOUNCE_AFTER` for very dynamic clusters.""",
    ),
)

ISTIOD_DUPLICATE_ENVOY_CLUSTERS = MetricSpec(
    "meshhealth_istiod_duplicate_envoy_clusters", "istiod's pilot_duplicate_envoy_clusters.", labels.istiod
)
ISTIOD_DUPLICATE_VSERVICE_DOMAINS = MetricSpec(
    "meshhealth_istiod_duplicate_vservice_domains", "istiod's pilot_vservice_dup_domain.", labels.istiod
)

CP10 = FailureMode(
    id="CP10",
    title="Duplicate Envoy clusters / VirtualService domains",
    section="Control plane",
    metrics=(
        ISTIOD_DUPLICATE_ENVOY_CLUSTERS,
        ISTIOD_DUPLICATE_VSERVICE_DOMAINS,
    ),
    alerts=(
        Alert(
            name="MeshHealthDuplicateClustersOrDomains",
            expr="meshhealth_istiod_duplicate_envoy_clusters > 0 or meshhealth_istiod_duplicate_vservice_domains > 0",
            for_="10m",
            severity=Severity.WARNING,
            summary="istiod sees duplicate clusters or VirtualService domains.",
            description="istiod {{ $labels.istiod }} reports {{ $value }} duplicate clusters or domains; one of them is ignored.",
        ),
    ),
    panels=(
        Panel(
            title="Duplicate clusters and domains",
            description="istiod's duplicate cluster and VirtualService domain gauges.",
            queries=(
                Query("meshhealth_istiod_duplicate_envoy_clusters", "clusters {{istiod}}"),
                Query("meshhealth_istiod_duplicate_vservice_domains", "domains {{istiod}}"),
            ),
        ),
    ),
    runbook=Runbook(
        meaning=(
            "Two ServiceEntries/Services produce the same Envoy cluster, or two VirtualServices claim the same "
            "domain for a gateway (`pilot_duplicate_envoy_clusters`, `pilot_vservice_dup_domain`)."
        ),
        impact="Only one definition wins; routes of the other are silently ignored.",
        diagnosis=_PUSH_STATUS,
        mitigation="Merge the VirtualServices for a host, or remove the duplicate ServiceEntry.",
    ),
)

ISTIOD_ROOT_CERT_EXPIRY_TIMESTAMP_SECONDS = MetricSpec(
    "meshhealth_istiod_root_cert_expiry_timestamp_seconds",
    "Expiry of the mesh root certificate (citadel_server_root_cert_expiry_timestamp, or now + ..._seconds).",
    labels.istiod,
)

CP11 = FailureMode(
    id="CP11",
    title="Root CA certificate close to expiry",
    section="Control plane",
    thresholds=("warning_days", "critical_days"),
    metrics=(ISTIOD_ROOT_CERT_EXPIRY_TIMESTAMP_SECONDS,),
    alerts=(
        Alert(
            name="MeshHealthRootCertExpiring",
            expr="meshhealth_istiod_root_cert_expiry_timestamp_seconds - time() < ${warning_days} * 86400",
            for_="1h",
            severity=Severity.WARNING,
            graded=True,
            summary="The mesh root certificate expires within weeks.",
            description="The root certificate of istiod {{ $labels.istiod }} expires in {{ $value | humanizeDuration }}.",
        ),
        Alert(
            name="MeshHealthRootCertExpiring",
            expr="meshhealth_istiod_root_cert_expiry_timestamp_seconds - time() < ${critical_days} * 86400",
            for_="10m",
            severity=Severity.CRITICAL,
            graded=True,
            summary="The mesh root certificate expires within days.",
            description="The root certificate of istiod {{ $labels.istiod }} expires in {{ $value | humanizeDuration }}.",
        ),
    ),
    panels=(
        Panel(
            title="Root certificate lifetime",
            description="Time until the mesh root certificate expires.",
            queries=(Query("meshhealth_istiod_root_cert_expiry_timestamp_seconds - time()", "{{istiod}}"),),
            unit="s",
        ),
    ),
    runbook=Runbook(
        meaning="The mesh's root CA certificate (istiod's self-signed `istio-ca-secret` or a plugged-in `cacerts`) expires soon.",
        impact="After expiry, workload certificates fail to verify: mTLS between all sidecars breaks at once.",
        diagnosis="""```sh
kubectl -n istio-system get secret istio-ca-secret cacerts -o name 2>/dev/null
kubectl -n istio-system get secret istio-ca-secret -o jsonpath='{.data.ca-cert\\.pem}' | base64 -d | openssl x509 -noout -enddate
```""",
        mitigation="""- Rotate the root following Istio's "plugging in CA certificates" procedure (add the new root to the
  trust bundle first, then switch the signing CA), then restart istiod and workloads.""",
    ),
)

SECTION = (CP04, CP05, CP06, CP07, CP08, CP10, CP11)
