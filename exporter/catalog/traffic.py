"""Section F of the failure-mode catalogue: traffic symptoms, rule-only on Istio's standard request metric, and
TM02, the probe of sidecars' stats endpoints that feed that metric.

``istio_requests_total`` is reported by both ends of a request (``reporter="source"`` by the client's proxy,
``"destination"`` by the server's); the ratios below are taken per reporter and destination service, with a
minimum request rate so that a single 503 at night does not page. Response flags are Envoy's short codes
(``UH`` no healthy upstream, ``NR`` no route, ``UF`` upstream connect failure, ``URX`` retry limit, ``UC``
upstream connection termination, ``UPE`` upstream protocol error); a request can carry several, comma-separated.
"""

from __future__ import annotations

from exporter.catalog import labels
from exporter.catalog.model import Alert, FailureMode, MetricSpec, Panel, Query, Runbook
from exporter.catalog.xds import XDS_PROXIES
from exporter.model import Severity

SECTION_NAME = "Traffic"
_BY = "destination_service_namespace, destination_service, reporter"
_ALL = f"sum by ({_BY}) (rate(istio_requests_total[5m]))"


def _ratio(selector: str) -> str:
    """Share of the requests to a destination service, per reporter, that match ``selector``, when the service gets
    more than ``min_requests_per_second``."""
    return (
        f"(sum by ({_BY}) (rate(istio_requests_total{{{selector}}}[5m])) / {_ALL}) > ${{ratio}}"
        f" and on ({_BY}) {_ALL} > ${{min_requests_per_second}}"
    )


def _mode(id: str, title: str, selector: str, alert: str, summary: str, what: str, runbook: Runbook) -> FailureMode:
    return FailureMode(
        id=id,
        title=title,
        section=SECTION_NAME,
        thresholds=("ratio", "min_requests_per_second"),
        metrics=(),
        alerts=(
            Alert(
                name=alert,
                expr=_ratio(selector),
                for_="10m",
                severity=Severity.WARNING,
                summary=summary,
                description=(
                    "{{ $value | humanizePercentage }} of the requests to {{ $labels.destination_service }} "
                    f"(reported by the {{{{ $labels.reporter }}}} proxy) {what}."
                ),
            ),
        ),
        panels=(
            Panel(
                title=title,
                description=f"{id}: share of requests per destination service and reporter.",
                queries=(
                    Query(
                        f"sum by ({_BY}) (rate(istio_requests_total{{{selector}}}[5m])) / {_ALL}",
                        "{{destination_service}} ({{reporter}})",
                    ),
                ),
                unit="percentunit",
            ),
        ),
        runbook=runbook,
    )


_FLAGS = """```sh
# which clients, which flags (Prometheus):
sum by (source_workload, destination_service, response_code, response_flags) (rate(istio_requests_total{response_flags!="-"}[5m]))
istioctl proxy-config cluster <client-pod> -n <ns> --fqdn <service>    # the clusters the client has
kubectl -n <ns> logs <client-pod> -c istio-proxy | grep -E ' (UH|NR|UF|URX|UC|UPE) '   # access log flags
```"""

TM01 = FailureMode(
    id="TM01",
    title="No mesh telemetry while proxies are connected",
    section=SECTION_NAME,
    metrics=(XDS_PROXIES,),
    alerts=(
        Alert(
            name="MeshHealthMeshTelemetryMissing",
            expr='sum by () (meshhealth_xds_proxies{type="CDS"}) > 0 unless on () count by () (istio_requests_total) > 0',
            for_="15m",
            severity=Severity.WARNING,
            summary="Proxies are connected but Prometheus has no istio_requests_total.",
            description=(
                "{{ $value }} proxies are connected to istiod, but no istio_requests_total series exists: "
                "Kiali's topology and every traffic alert (TM03-TM06) are blind."
            ),
        ),
    ),
    panels=(
        Panel(
            title="Request metric series vs connected proxies",
            description="Series of istio_requests_total next to the proxies istiod serves.",
            queries=(
                Query("count by () (istio_requests_total)", "istio_requests_total series"),
                Query('sum by () (meshhealth_xds_proxies{type="CDS"})', "connected proxies"),
            ),
        ),
    ),
    runbook=Runbook(
        meaning=(
            "Rule-only: istiod serves proxies (our DP data, `meshhealth_xds_proxies`), yet Prometheus holds no "
            "`istio_requests_total` at all. The proxies' stats endpoint (`:15090/stats/prometheus`) is not scraped "
            "(no PodMonitor/annotations, NetworkPolicy, mTLS on the scrape), or telemetry is switched off "
            "(Telemetry API `metrics` disabled, `meshConfig.defaultProviders.metrics: []`)."
        ),
        impact="Kiali shows an empty graph; TM03-TM06 can never fire.",
        diagnosis="""```sh
kubectl -n <ns> exec <pod> -c istio-proxy -- pilot-agent request GET stats/prometheus | grep -c istio_requests_total
kubectl get podmonitors,servicemonitors -A | grep -i istio
kubectl get telemetries.telemetry.istio.io -A -o yaml | grep -B3 -A5 metrics
```""",
        mitigation="- Scrape the proxies (the Istio PodMonitor for `:15090`, or `prometheus.io/*` annotations with merged metrics).\n"
        "- Re-enable metrics in the Telemetry API or `meshConfig.defaultProviders.metrics`.",
    ),
)

TM03 = _mode(
    "TM03",
    "503 UH: no healthy upstream",
    'response_code="503",response_flags=~".*UH.*"',
    "MeshHealthNoHealthyUpstream",
    "Requests fail with 503 UH (no healthy upstream).",
    "fail with 503 UH: the destination has no ready endpoints",
    Runbook(
        meaning=(
            "Envoy found no healthy endpoint in the destination cluster: its pods are not ready, or the route goes to a "
            "subset whose labels match no pod (CF03, CP05 `pilot_eds_no_instances`), or outlier detection ejected all."
        ),
        impact="Those requests fail at once with 503; the client sees `no healthy upstream`.",
        diagnosis=_FLAGS + "\n\nCompare with CF03 (empty subsets) and CP05 (clusters without instances).",
        mitigation="- Make the pods ready, or fix the subset labels (CF03).\n- Relax outlier detection if it ejects every host.",
    ),
)

TM04 = _mode(
    "TM04",
    "404 NR: no route",
    'response_flags=~".*NR.*"',
    "MeshHealthNoRoute",
    "Requests fail with NR (no route configured).",
    "get no route (NR)",
    Runbook(
        meaning=(
            "Envoy had no route (or no cluster) for the request: a VirtualService routes to a subset no "
            "DestinationRule defines (CF02), a host or port that no route matches, a Sidecar resource that does not "
            "import the host. Reported by the destination proxy, NR usually means `filter_chain_not_found`: "
            "plain text reached a STRICT mTLS port (a client outside the mesh, or auto mTLS off, CF01)."
        ),
        impact="Clients get 404 (HTTP) or a reset connection (TCP, server side).",
        diagnosis=_FLAGS
        + "\n\nServer side: `kubectl -n <ns> exec <server-pod> -c istio-proxy -- pilot-agent request GET stats | "
        "grep filter_chain_not_found`. Compare with CF01 and CF02.",
        mitigation="- Define the subset (CF02) or fix the route's host/port.\n"
        "- Server side: put the client in the mesh, or make the server's PeerAuthentication PERMISSIVE for that port.",
    ),
)

TM05 = _mode(
    "TM05",
    "503 UF/URX/UC: upstream connect failures",
    'response_flags=~".*(UF|URX|UC).*"',
    "MeshHealthUpstreamConnectFailure",
    "Requests fail connecting to the upstream (UF/URX/UC).",
    "fail connecting to or lose the upstream (UF, URX, UC)",
    Runbook(
        meaning=(
            "Envoy could not connect to the upstream (UF), gave up after retries (URX) or lost the connection (UC): "
            "a DestinationRule's TLS mode conflicts with the server's mTLS policy (CF01), the app listens on another "
            "port than the Service's targetPort, or the app closes idle connections before Envoy does."
        ),
        impact="Clients get `503 upstream connect error or disconnect/reset before headers`.",
        diagnosis=_FLAGS + "\n\nCompare with CF01 (TLS conflicts).",
        mitigation="- Fix the TLS mode (CF01) or the port the app listens on.\n"
        "- For UC: make the app's keep-alive longer than Envoy's idle timeout, or set `idleTimeout` in the DestinationRule.",
    ),
)

TM06 = _mode(
    "TM06",
    "502 UPE: upstream protocol error",
    'response_flags=~".*UPE.*"',
    "MeshHealthUpstreamProtocolError",
    "Responses fail with 502 UPE (upstream protocol error).",
    "fail with an upstream protocol error (UPE)",
    Runbook(
        meaning=(
            "Envoy could not parse the upstream's response: an invalid header (a space before the colon, `Time :`, "
            "un-encoded non-ASCII file names: `HPE_INVALID_HEADER_TOKEN`), too many or too large headers, or HTTP/1 "
            "spoken on a port declared HTTP/2 (CF04/CF05)."
        ),
        impact="Clients get 502 for responses that worked without the mesh.",
        diagnosis=_FLAGS + "\n\nReproduce with `curl -v` from the client pod and read the raw response headers.",
        mitigation="- Fix the response headers in the app (encode file names per RFC 6266).\n"
        "- Declare the port's real protocol (`http` vs `http2`, CF04).",
    ),
)

PROXY_STATS_ISSUES = MetricSpec(
    "meshhealth_proxy_stats_issues",
    "Sampled sidecars whose stats endpoint did not serve metrics (reason unreachable), and injected pods "
    "annotated prometheus.io/scrape: false (reason scrape_disabled), by namespace.",
    labels.namespace_reason,
)
PROXY_STATS_PROBED = MetricSpec(
    "meshhealth_proxy_stats_probed",
    "Injected pods with a current stats-endpoint probe result (the sample rotates through all of them).",
    labels.none,
)

TM02 = FailureMode(
    id="TM02",
    title="Sidecar stats endpoint unreachable or not scraped",
    section=SECTION_NAME,
    metrics=(PROXY_STATS_ISSUES, PROXY_STATS_PROBED),
    alerts=(
        Alert(
            name="MeshHealthProxyStatsUnreachable",
            expr="meshhealth_proxy_stats_issues > 0",
            for_="15m",
            severity=Severity.INFO,
            summary="Sidecars whose metrics Prometheus cannot collect.",
            description=(
                "{{ $value }} sidecars in namespace {{ $labels.namespace }} ({{ $labels.reason }}): their requests "
                "are missing from istio_requests_total, so traffic alerts and Kiali do not see them."
            ),
        ),
    ),
    panels=(
        Panel(
            title="Sidecars without collectable metrics",
            description="Sampled sidecars whose :15090/stats/prometheus failed, and pods opted out of scraping.",
            queries=(
                Query("meshhealth_proxy_stats_issues", "{{namespace}} {{reason}}"),
                Query("meshhealth_proxy_stats_probed", "probed"),
            ),
        ),
    ),
    runbook=Runbook(
        meaning=(
            "Off by default (`sources.proxy_stats.enabled`): the exporter GETs `:15090/stats/prometheus` of a rotating "
            "sample of injected pods (`checks.TM02.sample_size` per refresh), as Prometheus scrapes sidecars, and "
            "reports those that do not answer with Envoy/Istio metrics (reason `unreachable`). Injected pods annotated "
            '`prometheus.io/scrape: "false"` are reported too (reason `scrape_disabled`): annotation-based scraping '
            "skips them."
        ),
        impact=(
            "The pod's requests never reach `istio_requests_total`: TM03-TM06 and Kiali's graph are blind to it, "
            "and TM01 cannot tell (other proxies still report)."
        ),
        diagnosis="""```sh
kubectl -n <ns> exec <pod> -c istio-proxy -- curl -s localhost:15090/stats/prometheus | head
kubectl -n <ns> get pod <pod> -o jsonpath='{.metadata.annotations}'      # prometheus.io/* set by injection
kubectl get networkpolicy -A                                               # does one block port 15090/15020?
```""",
        mitigation="""- Allow Prometheus (and the exporter) to reach ports 15090/15020 of the pods (NetworkPolicy); the sidecar does
  not intercept these ports, so mTLS settings do not apply to them.
- Remove `prometheus.io/scrape: "false"` or add the pods to a PodMonitor.
- Probing from the exporter's network can fail where Prometheus succeeds; compare with Prometheus' targets page.""",
    ),
)

SECTION = (TM01, TM02, TM03, TM04, TM05, TM06)
