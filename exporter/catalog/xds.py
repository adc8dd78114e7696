"""Sections A and B of the catalogue read from istiod: xDS sync (proxy-status), replicas and pilot metrics."""

from __future__ import annotations

from exporter.catalog import labels
from exporter.catalog.model import Alert, FailureMode, MetricSpec, Panel, Query, Runbook
from exporter.model import Severity

_PROXY_STATUS = """```sh
istioctl proxy-status                                   # SYNCED / STALE / NOT SENT per proxy and type
istioctl proxy-status <pod>.<namespace>                 # diff of what istiod sent and what the proxy has
kubectl -n istio-system exec deploy/istiod -- curl -s localhost:15014/debug/syncz | jq '.[] | select(.proxy=="<pod>.<ns>")'
istioctl proxy-config cluster|listener|route|endpoint <pod> -n <namespace>
kubectl -n <namespace> exec <pod> -c istio-proxy -- curl -s localhost:15000/clusters | head
kubectl -n istio-system logs deploy/istiod | grep -E 'ADS|NACK|<pod>'
```"""

XDS_PROXIES = MetricSpec(
    "meshhealth_xds_proxies",
    "Proxies connected to each istiod replica by proxy type, xDS type and status "
    "(SYNCED, STALE, NOT_SENT, ERROR) as in istioctl proxy-status.",
    labels.istiod_revision_proxy_type_type_status,
)
XDS_STALE_OLDEST_SECONDS = MetricSpec(
    "meshhealth_xds_stale_oldest_seconds",
    "How long the longest-STALE proxy of each istiod replica has been STALE (0 when none).",
    labels.istiod,
)
XDS_PROXY_STALE_SECONDS = MetricSpec(
    "meshhealth_xds_proxy_stale_seconds",
    "Seconds each STALE proxy has been STALE, per xDS type (only STALE proxies; capped).",
    labels.istiod_proxy_type,
)
XDS_PROXY_STATUS = MetricSpec(
    "meshhealth_xds_proxy_status",
    "1 per proxy, xDS type and status (only with findings.per_proxy_series: one series per proxy).",
    labels.istiod_proxy_type_status,
)

DP01 = FailureMode(
    id="DP01",
    title="Proxy STALE (sent but not acknowledged)",
    section="Data plane sync",
    thresholds=("stale_threshold_seconds",),
    metrics=(
        XDS_PROXIES,
        XDS_STALE_OLDEST_SECONDS,
        XDS_PROXY_STALE_SECONDS,
        XDS_PROXY_STATUS,
    ),
    alerts=(
        Alert(
            name="MeshHealthProxyStale",
            expr="meshhealth_xds_proxy_stale_seconds > ${stale_threshold_seconds}",
            for_="1m",
            severity=Severity.WARNING,
            summary="A proxy has not acknowledged configuration from istiod.",
            description=(
                "Proxy {{ $labels.proxy }} has not acknowledged {{ $labels.type }} from istiod {{ $labels.istiod }} "
                "for {{ $value | humanizeDuration }}."
            ),
        ),
    ),
    panels=(
        Panel(
            title="Proxies by sync status",
            description="Like istioctl proxy-status, summed over replicas and xDS types.",
            queries=(Query("sum by (status) (meshhealth_xds_proxies)", "{{status}}"),),
        ),
        Panel(
            title="Longest STALE per istiod",
            description="How long the longest-STALE proxy of each replica has been waiting for an ACK.",
            queries=(Query("meshhealth_xds_stale_oldest_seconds", "{{istiod}}"),),
            unit="s",
        ),
    ),
    runbook=Runbook(
        meaning=(
            "istiod sent a configuration update (a nonce) to a proxy and the proxy has not acknowledged it for "
            "longer than the threshold. The exporter reads `/debug/syncz` on every istiod replica (each lists only "
            "its own proxies) and remembers since when each proxy and xDS type has been STALE. istiod 1.23+ "
            "reports when it sent the update (`sentTime`), so the age is known at the first look. Older istiod "
            "versions do not: a running exporter measures the age from when it first saw the proxy STALE, and the "
            "one-shot `check` polls twice, `istio.stale_confirm_seconds` apart (default 5 s), and reports a proxy "
            "whose same update (nonce) is still unacknowledged at the second poll. A type whose `acked` is empty "
            "was never acknowledged at all."
        ),
        impact=(
            "The proxy runs on old configuration: new endpoints, routes or certificates do not reach it. Causes: "
            "network trouble between Envoy and istiod (the update is lost), an overloaded proxy, or an Istio bug."
        ),
        diagnosis=_PROXY_STATUS,
        mitigation="""- Restart the affected pod (it reconnects and receives a full push); if many proxies of one istiod
  are STALE, restart that istiod replica.
- Check network policies and load balancers between pods and istiod (port 15012), and istiod's CPU (CP08).""",
    ),
)

XDS_PROXY_REJECTED = MetricSpec(
    "meshhealth_xds_proxy_rejected",
    "1 per proxy and xDS type whose last update was rejected (syncz lastError, Istio 1.23+; capped).",
    labels.istiod_proxy_type,
)
ISTIOD_XDS_REJECTS = MetricSpec(
    "meshhealth_istiod_xds_rejects",
    "istiod's pilot_total_xds_rejects (or the older per-type counters) by xDS type; 0 when absent.",
    labels.istiod_type,
    type="counter",
)

CP03 = FailureMode(
    id="CP03",
    title="xDS pushes rejected by proxies (NACK)",
    section="Data plane sync",
    metrics=(
        XDS_PROXY_REJECTED,
        ISTIOD_XDS_REJECTS,
    ),
    alerts=(
        Alert(
            name="MeshHealthXDSRejected",
            expr=(
                'sum by (istiod, type) (meshhealth_xds_proxies{status="ERROR"}) > 0 '
                "or sum by (istiod, type) (increase(meshhealth_istiod_xds_rejects_total[10m])) > 0"
            ),
            for_="5m",
            severity=Severity.WARNING,
            summary="Proxies reject configuration pushed by istiod.",
            description="Proxies reject {{ $labels.type }} configuration from istiod {{ $labels.istiod }}.",
        ),
    ),
    panels=(
        Panel(
            title="Rejected pushes (NACK)",
            description="Proxies whose last update was rejected, and istiod's reject counters.",
            queries=(
                Query('sum by (istiod, type) (meshhealth_xds_proxies{status="ERROR"})', "proxies {{istiod}} {{type}}"),
                Query(
                    "sum by (istiod, type) (increase(meshhealth_istiod_xds_rejects_total[10m]))",
                    "rejects {{istiod}} {{type}}",
                ),
            ),
        ),
    ),
    runbook=Runbook(
        meaning=(
            "Envoy rejected configuration that istiod pushed (a NACK). On Istio 1.23+ syncz carries the proxy's "
            "`lastError` message per type, which the finding shows; older versions only count rejects in "
            "`pilot_total_xds_rejects` (absent until the first reject: treated as 0)."
        ),
        impact="The proxy keeps its previous configuration for that type: changes (often an EnvoyFilter) do not apply.",
        diagnosis=_PROXY_STATUS,
        mitigation="""- Read the rejection message (finding / `istiod` logs `NACK`): usually an EnvoyFilter or a
  configuration the proxy version does not understand (DP03); fix or remove that object.""",
    ),
)

XDS_DISCONNECTED_PROXIES = MetricSpec(
    "meshhealth_xds_disconnected_proxies",
    "Pods with a running istio-proxy that no istiod replica lists, by namespace.",
    labels.namespace,
)
XDS_DISCONNECTED_PODS = MetricSpec(
    "meshhealth_xds_disconnected_pods", "Pods with a running istio-proxy that no istiod replica lists.", labels.none
)

DP02 = FailureMode(
    id="DP02",
    title="Proxy disconnected from every istiod",
    section="Data plane sync",
    metrics=(
        XDS_DISCONNECTED_PROXIES,
        XDS_DISCONNECTED_PODS,
    ),
    alerts=(
        Alert(
            name="MeshHealthProxyDisconnected",
            expr="meshhealth_xds_disconnected_proxies > 0",
            for_="5m",
            severity=Severity.WARNING,
            summary="Sidecars are not connected to any istiod.",
            description=(
                "{{ $value }} pods in namespace {{ $labels.namespace }} run istio-proxy but are connected to no "
                "istiod; they receive no configuration."
            ),
        ),
    ),
    panels=(
        Panel(
            title="Disconnected proxies",
            description="Pods with a running istio-proxy absent from every istiod's syncz.",
            queries=(Query("meshhealth_xds_disconnected_proxies", "{{namespace}}"),),
        ),
    ),
    runbook=Runbook(
        meaning=(
            "A pod runs an `istio-proxy` container (or a native sidecar) but appears in no istiod replica's "
            "`/debug/syncz`. Pods younger than `checks.DP02.grace_seconds` are ignored; the check is not evaluated "
            "while an istiod replica cannot be read."
        ),
        impact="The proxy has no (or only its bootstrap) configuration: traffic fails or bypasses policies.",
        diagnosis=_PROXY_STATUS,
        mitigation="""- `kubectl -n <ns> logs <pod> -c istio-proxy` shows why it cannot connect (DNS of
  `discoveryAddress`, certificates, network policy); check CF10 for a wrong discovery address.""",
    ),
)

XDS_PROXIES_VERSION_SKEW = MetricSpec(
    "meshhealth_xds_proxies_version_skew",
    "Proxies whose Istio minor version differs from their istiod's by more than the supported skew.",
    labels.istiod_istiod_version_proxy_version,
)

DP03 = FailureMode(
    id="DP03",
    title="Proxy / istiod version skew",
    section="Data plane sync",
    thresholds=(),
    metrics=(XDS_PROXIES_VERSION_SKEW,),
    alerts=(
        Alert(
            name="MeshHealthProxyVersionSkew",
            expr="meshhealth_xds_proxies_version_skew > 0",
            for_="30m",
            severity=Severity.WARNING,
            summary="Proxies run an Istio version outside the supported skew of their control plane.",
            description=(
                "{{ $value }} proxies run Istio {{ $labels.proxy_version }} against istiod {{ $labels.istiod }} "
                "({{ $labels.istiod_version }}); restart them after upgrades."
            ),
        ),
    ),
    panels=(
        Panel(
            title="Version skew",
            description="Proxies outside the supported version skew of their istiod.",
            queries=(Query("meshhealth_xds_proxies_version_skew", "{{proxy_version}} vs {{istiod_version}}"),),
        ),
    ),
    runbook=Runbook(
        meaning=(
            "Proxies report an Istio version (syncz `istio_version`) more than `checks.DP03.max_minor_skew` minor "
            'versions away from their istiod\'s (`istio_build{component="pilot"}`): pods were not restarted '
            "after a control-plane upgrade."
        ),
        impact="Unsupported combinations: configuration the old proxy does not understand is rejected (CP03).",
        diagnosis="""```sh
istioctl proxy-status | awk '{print $NF}' | sort | uniq -c     # versions in use
istioctl version
```""",
        mitigation="Restart the workloads so they get the current proxy: `kubectl -n <ns> rollout restart deploy`.",
    ),
)

SECTION = (DP01, CP03, DP02, DP03)
