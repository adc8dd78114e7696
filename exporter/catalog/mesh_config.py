"""Section C of the failure-mode catalogue: Istio configuration mistakes (what istioctl analyze and Kiali catch).

Each check exports, per namespace with findings, how many objects show the mistake; the finding series
(``meshhealth_finding{check="CFxx"}``) name each object, and the finding's message names the field.
Configuration does not flap: warnings fire after 1m (an apply of several objects settles within that), info
after 10m.
"""

from __future__ import annotations

from exporter.catalog import labels
from exporter.catalog.model import Alert, FailureMode, MetricSpec, Panel, Query, Runbook
from exporter.model import Severity

SECTION_NAME = "Configuration"


def config_metric(name: str, help: str) -> MetricSpec[...]:
    return MetricSpec(
        f"meshhealth_config_{name}", help + " Per namespace, only where there are some.", labels.namespace
    )


def config_mode(
    id: str,
    title: str,
    metric: MetricSpec[...],
    alert: str,
    severity: Severity,
    summary: str,
    description: str,
    runbook: Runbook,
) -> FailureMode:
    return FailureMode(
        id=id,
        title=title,
        section=SECTION_NAME,
        metrics=(metric,),
        alerts=(
            Alert(
                name=alert,
                expr=f"{metric.name} > 0",
                for_="10m" if severity == Severity.INFO else "1m",
                severity=severity,
                summary=summary,
                description=description,
            ),
        ),
        panels=(
            Panel(
                title=title,
                description=f"{id}: objects per namespace; the findings table names each object and field.",
                queries=(Query(f"{metric.name} > 0", "{{namespace}}"),),
            ),
            Panel(
                title=f"{id} findings",
                description="One row per object with this mistake (the message names the field).",
                queries=(Query(f'meshhealth_finding{{check="{id}"}}', ""),),
                kind="table",
            ),
        ),
        runbook=runbook,
    )


ANALYZE = "istioctl analyze -A    # the same objects, on demand"

CF01_CONFLICTS = config_metric(
    "tls_conflicts",
    "DestinationRules whose TLS mode the server side rejects, and STRICT Services clients reach in plain text.",
)
CF01 = config_mode(
    "CF01",
    "DestinationRule TLS conflicts with PeerAuthentication",
    CF01_CONFLICTS,
    "MeshHealthDestinationRuleTLSConflict",
    Severity.WARNING,
    "A DestinationRule's TLS mode conflicts with the mesh's mTLS policy.",
    "{{ $value }} DestinationRules or Services in namespace {{ $labels.namespace }} send traffic the server side "
    "rejects (DestinationRule DISABLE toward STRICT workloads, or the reverse); requests fail with 503.",
    Runbook(
        meaning=(
            "A DestinationRule sets `trafficPolicy.tls.mode` (top level, per port or per subset) to `DISABLE`, "
            "`SIMPLE` or `MUTUAL` toward workloads whose effective PeerAuthentication is `STRICT` (workload over "
            "namespace over mesh-wide in the root namespace), or `ISTIO_MUTUAL` toward workloads with `DISABLE`. "
            "It also reports STRICT Services that no DestinationRule sends mTLS to while `enableAutoMtls` is false. "
            "Kiali reports the DISABLE case as KIA0207 (namespace policy) or KIA0208 (mesh policy); istioctl has no "
            "analyzer for it."
        ),
        impact="Clients get `503 upstream connect error or disconnect/reset before headers`, flags UF or UC.",
        diagnosis=f"""```sh
kubectl get destinationrules,peerauthentications -A
istioctl x describe pod <server-pod> -n <namespace>   # shows the effective mTLS mode
{ANALYZE}
```""",
        mitigation="""- Remove the `tls` block (auto mTLS picks the right mode) or set `ISTIO_MUTUAL`.
- If the workload must accept plain text, make its PeerAuthentication `PERMISSIVE` (or `DISABLE` per port).""",
    ),
)

CF02_UNDEFINED_SUBSETS = config_metric(
    "undefined_subsets", "VirtualServices that route to a subset no applicable DestinationRule defines."
)
CF02 = config_mode(
    "CF02",
    "VirtualService routes to an undefined subset",
    CF02_UNDEFINED_SUBSETS,
    "MeshHealthVirtualServiceSubsetUndefined",
    Severity.WARNING,
    "A VirtualService routes to a subset that no DestinationRule defines.",
    "{{ $value }} VirtualServices in namespace {{ $labels.namespace }} route to subsets that no DestinationRule "
    "applicable to them defines; those routes answer 503.",
    Runbook(
        meaning=(
            "A route destination (`http`, `tls`, `tcp` routes and mirrors) names a `subset`, but the DestinationRule "
            "istiod picks for that host (client namespace first, then the host's namespace, then the root namespace; "
            "the most specific host) does not define it, or no DestinationRule applies. istioctl reports IST0101 "
            '(ReferencedResourceNotFound, host+subset), Kiali KIA1107; Envoy logs "route to subset v1 but NO '
            'DESTINATION RULE defining subsets".'
        ),
        impact="Requests on that route get `503` with response flag `NR` (no cluster) until the subset exists.",
        diagnosis=f"""```sh
kubectl -n <namespace> get virtualservice <name> -o yaml | grep -B2 -A2 subset
kubectl get destinationrules -A -o custom-columns=NS:.metadata.namespace,NAME:.metadata.name,HOST:.spec.host,SUBSETS:.spec.subsets[*].name
{ANALYZE}
```""",
        mitigation="""- Add the subset to the host's DestinationRule (in the client's or the Service's namespace), or fix the
  subset name in the VirtualService.
- Apply DestinationRules before the VirtualServices that use them (and delete in the reverse order).""",
    ),
)

CF03_EMPTY_SUBSETS = config_metric(
    "empty_subsets", "DestinationRules with a subset that selects no pod, or whose host is no Service."
)
CF03 = config_mode(
    "CF03",
    "DestinationRule subset selects no pods",
    CF03_EMPTY_SUBSETS,
    "MeshHealthDestinationRuleSubsetEmpty",
    Severity.WARNING,
    "A DestinationRule subset selects no pods.",
    "{{ $value }} DestinationRules in namespace {{ $labels.namespace }} have a subset whose labels match no "
    "running pod of their Service (or a host that is no Service); traffic to it gets 503 UH.",
    Runbook(
        meaning=(
            "A subset's `labels`, together with the Service's selector, match no running pod (a typo such as "
            "`version: v1-bug`, or the version was scaled to zero), or `spec.host` is no Service or ServiceEntry. "
            "istiod then has a cluster without endpoints (`pilot_eds_no_instances`, CP05). istioctl reports IST0173 "
            "(DestinationRuleSubsetNotSelectPods) and IST0174 (UnknownDestinationRuleHost); Kiali KIA0203 and KIA0202."
        ),
        impact="Requests routed to the subset get `503` with response flag `UH` (no healthy upstream).",
        diagnosis=f"""```sh
kubectl -n <namespace> get destinationrule <name> -o jsonpath='{{.spec.subsets}}'
kubectl -n <service-namespace> get pods -l <service-selector>,<subset-labels> --show-labels
{ANALYZE}
```""",
        mitigation="""- Fix the subset labels, or deploy the version they name.
- Remove subsets (and the VirtualService routes to them) for versions that were retired.""",
    ),
)

CF04_UNNAMED_PORTS = config_metric(
    "unnamed_ports", "Services the mesh's workloads reach with ports whose name and appProtocol give Istio no protocol."
)
CF04 = config_mode(
    "CF04",
    "Service port without a protocol",
    CF04_UNNAMED_PORTS,
    "MeshHealthServicePortUnnamed",
    Severity.INFO,
    "Service ports in the mesh name no protocol.",
    "{{ $value }} Services in namespace {{ $labels.namespace }} have ports without a protocol prefix or "
    "appProtocol; Istio treats them as TCP (no HTTP routing, retries, circuit breaking or tracing).",
    Runbook(
        meaning=(
            "A Service port has neither `appProtocol` nor a name of the form `<protocol>[-suffix]` (`http`, `http2`, "
            "`https`, `grpc`, `grpc-web`, `tcp`, `tls`, `mongo`, `mysql`, `redis`, `udp`), e.g. `web` or no name. "
            "Judged are the Services a workload of the mesh can call, in whichever namespace they are: those exported "
            "(`networking.istio.io/exportTo`, else the mesh's `defaultServiceExportTo`) to a namespace with "
            "injection enabled or with a sidecar pod, as istiod gives them to every sidecar there. A Service no mesh "
            "namespace sees has no client whose proxy reads its protocol. istioctl reports IST0118 "
            "(PortNameIsNotUnderNamingConvention) for every Service, Kiali KIA0601 (name) and KIA0602 (appProtocol). "
            "Istio's own Services are left out, as istioctl does."
        ),
        impact="Traffic is proxied as opaque TCP: header-based routing, retries, HTTP metrics and tracing stop at it.",
        diagnosis=f"""```sh
kubectl -n <namespace> get svc <name> -o jsonpath='{{range .spec.ports[*]}}{{.name}} {{.port}} {{.appProtocol}}{{"\\n"}}{{end}}'
{ANALYZE}
```""",
        mitigation="- Rename the port (`http-web`) or set `appProtocol: http` (both are non-disruptive for Kubernetes).",
    ),
)

CF05_PROTOCOL_CONFLICTS = config_metric(
    "protocol_conflicts", "Services selecting the same pods that give one target port different protocols."
)
CF05 = config_mode(
    "CF05",
    "Same target port, different protocols",
    CF05_PROTOCOL_CONFLICTS,
    "MeshHealthServiceProtocolConflict",
    Severity.WARNING,
    "Services give the same pod port different protocols.",
    "{{ $value }} Services in namespace {{ $labels.namespace }} select the same pods as another Service and "
    "declare one target port with a different protocol (istiod: pilot_conflict_inbound_listener).",
    Runbook(
        meaning=(
            "Two Services select the same pods and map a port to the same `targetPort`, but their port names or "
            "`appProtocol` give different protocols (`http` in one, `tcp` in the other). istiod can build one "
            "inbound listener per port and counts `pilot_conflict_inbound_listener` (CP06). istioctl's IST0116 "
            "compares only the L4 protocol (TCP/UDP) of equal Service ports, so it does not see this case."
        ),
        impact="One of the protocols wins: HTTP features disappear for one Service, or TCP clients get HTTP errors.",
        diagnosis="""```sh
kubectl -n <namespace> get svc -o wide          # which Services select the same labels
kubectl -n <namespace> get svc <a> <b> -o jsonpath='{range .items[*]}{.metadata.name}: {.spec.ports}{"\\n"}{end}'
```""",
        mitigation="- Give the port the same protocol in every Service selecting those pods, or split the workloads.",
    ),
)

CF06_MISPLACED_RULES = config_metric(
    "misplaced_destination_rules",
    "DestinationRules outside their host's namespace and the root namespace (they apply to their own namespace only).",
)
CF06 = config_mode(
    "CF06",
    "DestinationRule in a namespace where it cannot apply",
    CF06_MISPLACED_RULES,
    "MeshHealthDestinationRuleMisplaced",
    Severity.INFO,
    "A DestinationRule lives where it applies only to its own namespace's clients.",
    "{{ $value }} DestinationRules in namespace {{ $labels.namespace }} are for hosts in other namespaces; they "
    "apply only to clients in {{ $labels.namespace }}.",
    Runbook(
        meaning=(
            "istiod picks a DestinationRule for a client from the client's namespace, then the host's namespace, "
            "then the root namespace (`rootNamespace`, usually `istio-system`). A DestinationRule in a third "
            "namespace applies only to clients in that namespace, whatever its `exportTo`. istioctl and Kiali have "
            "no message for this."
        ),
        impact="Traffic policy (TLS, subsets, load balancing, outlier detection) is missing for every other client.",
        diagnosis="""```sh
kubectl get destinationrules -A -o custom-columns=NS:.metadata.namespace,NAME:.metadata.name,HOST:.spec.host,EXPORT:.spec.exportTo
```""",
        mitigation="- Move the DestinationRule to the host's namespace (or the root namespace for a mesh-wide default).",
    ),
)

CF07_FAULT_WITH_RETRIES = config_metric(
    "fault_with_retries", "VirtualServices with an HTTP route that has fault injection and retries or a timeout."
)
CF07 = config_mode(
    "CF07",
    "Fault injection combined with retries or timeouts",
    CF07_FAULT_WITH_RETRIES,
    "MeshHealthFaultWithRetries",
    Severity.INFO,
    "A route combines fault injection with retries or a timeout.",
    "{{ $value }} VirtualServices in namespace {{ $labels.namespace }} combine fault injection with retries or a "
    "timeout on one HTTP route, which Istio does not support.",
    Runbook(
        meaning=(
            "An `http` route sets `fault` (delay or abort) together with `retries` (attempts > 0) or `timeout`. "
            "Istio documents that fault injection and retry/timeout policies on the same route do not work together. "
            "istioctl and Kiali have no message for this."
        ),
        impact="Chaos tests measure the wrong thing: injected faults are retried away or timeouts do not apply.",
        diagnosis="""```sh
kubectl -n <namespace> get virtualservice <name> -o yaml | grep -nE 'fault|retries|timeout'
```""",
        mitigation="- Put fault injection on its own route (e.g. matched by a test header) without retries or timeout.",
    ),
)

CF08_GATEWAY_CONFLICTS = config_metric(
    "gateway_conflicts",
    "Gateways with a server istiod drops when it merges the Gateways of the same pods (a TLS host already served "
    "on the port, a protocol it cannot merge with the port's server).",
)
CF08 = config_mode(
    "CF08",
    "Gateway servers conflict on a port",
    CF08_GATEWAY_CONFLICTS,
    "MeshHealthGatewayConflict",
    Severity.WARNING,
    "A Gateway server conflicts with an older one on the same port.",
    "{{ $value }} Gateways in namespace {{ $labels.namespace }} have a server that conflicts with an older server "
    "on the same gateway pods and port; istiod rejects it (pilot_total_rejected_configs).",
    Runbook(
        meaning=(
            "istiod merges every Gateway that selects the same gateway pods, oldest first, server by server, and "
            "skips a server it cannot place beside the ones it already has (CP04, `pilot_total_rejected_configs`): "
            "a server with a `tls` block on a port (and bind) where another TLS server already has one of its hosts "
            '("skipping server on gateway ..., duplicate host names"); a server on a port whose plain-text server '
            "on the same bind has a protocol it cannot merge with: only HTTP joins HTTP, so TCP beside HTTP, two TCP "
            'servers, or HTTPS beside plain HTTP lose the newer server, whatever their hosts ("skipping server on '
            'gateway ... conflict with existing server"); an HTTPS server whose port name another HTTPS server of '
            "the Gateway on the port has. Plain-HTTP servers with the same host are merged, not rejected. istioctl "
            "reports IST0145 (ConflictingGateways) for duplicate hosts only, and names both Gateways; Kiali KIA0301."
        ),
        impact="The hosts of the rejected server are not served by it: their TLS certificate, routes or TCP "
        "listener are missing.",
        diagnosis=f"""```sh
kubectl get gateways.networking.istio.io -A -o yaml | grep -E 'name:|hosts|number|protocol|selector' -A2
kubectl -n istio-system logs deploy/istiod | grep 'skipping server on gateway'
{ANALYZE}
```""",
        mitigation="- Keep one server per TLS host and port, and one protocol per port and bind (merge the servers, "
        "or move one to a distinct port or bind).",
    ),
)

CF09_ENTRIES_WITHOUT_ADDRESS = config_metric(
    "serviceentries_without_address", "ServiceEntries with TCP ports and no address while DNS auto-allocation is off."
)
CF09 = config_mode(
    "CF09",
    "ServiceEntry without addresses for TCP",
    CF09_ENTRIES_WITHOUT_ADDRESS,
    "MeshHealthServiceEntryNoAddress",
    Severity.INFO,
    "A TCP ServiceEntry has no address.",
    "{{ $value }} ServiceEntries in namespace {{ $labels.namespace }} have TCP ports but no addresses, while "
    "proxy DNS capture with address auto-allocation is off; proxies match their traffic by port alone.",
    Runbook(
        meaning=(
            "A ServiceEntry declares TCP ports (protocol TCP or none) without `spec.addresses` and without an "
            "allocated address in its status, and the mesh config does not set both `ISTIO_META_DNS_CAPTURE` and "
            '`ISTIO_META_DNS_AUTO_ALLOCATE` (or `PILOT_ENABLE_IP_AUTOALLOCATE`) to "true" in '
            "`defaultConfig.proxyMetadata`. istioctl reports IST0134 (ServiceEntryAddressesRequired)."
        ),
        impact=(
            "The outbound listener is `0.0.0.0:<port>`: the entry has no effect for its host, or catches all TCP "
            "traffic on that port (e.g. every database on 5432)."
        ),
        diagnosis=f"""```sh
kubectl -n <namespace> get serviceentry <name> -o yaml
kubectl -n istio-system get configmap istio -o jsonpath='{{.data.mesh}}' | grep -A5 proxyMetadata
{ANALYZE}
```""",
        mitigation="""- Add `spec.addresses` (a VIP or the real IP range), or
- enable DNS capture with auto-allocation in the mesh config (`ISTIO_META_DNS_CAPTURE` and
  `ISTIO_META_DNS_AUTO_ALLOCATE: "true"`) and restart the workloads.""",
    ),
)

CF10_BAD_DISCOVERY_ADDRESS = config_metric(
    "bad_discovery_address", "Mesh configs whose defaultConfig.discoveryAddress is no Service port."
)
CF10 = config_mode(
    "CF10",
    "Mesh config points proxies at a bad discovery address",
    CF10_BAD_DISCOVERY_ADDRESS,
    "MeshHealthDiscoveryAddressInvalid",
    Severity.CRITICAL,
    "The mesh config points proxies at an istiod address that does not exist.",
    "A mesh config in namespace {{ $labels.namespace }} sets defaultConfig.discoveryAddress to something that is "
    "not a Service port (or cannot be read); new proxies get no configuration.",
    Runbook(
        meaning=(
            "`defaultConfig.discoveryAddress` in ConfigMap `istio` (or `istio-<revision>`, key `mesh`) is not "
            "`host:port`, or names a Service or port that does not exist, e.g. `istiod/istio-system.svc:15012` "
            "instead of `istiod.istio-system.svc:15012`. External addresses (IPs, other domains) are not judged. "
            "A mesh config that is not YAML is reported here too."
        ),
        impact="Proxies started from now on cannot reach istiod: no listeners, no access logs, pods never ready.",
        diagnosis="""```sh
kubectl -n istio-system get configmap istio -o jsonpath='{.data.mesh}' | grep discoveryAddress
kubectl -n istio-system get svc -l app=istiod
```""",
        mitigation="- Fix the address (`istioctl install --set meshConfig.defaultConfig.discoveryAddress=...` or the "
        "Helm value) and restart affected pods.",
    ),
)

CF11_TRACING_UNREACHABLE = config_metric(
    "tracing_backend_unreachable", "Tracing backends in the mesh config that are no reachable Service port."
)
CF11 = config_mode(
    "CF11",
    "Tracing backend unreachable",
    CF11_TRACING_UNREACHABLE,
    "MeshHealthTracingBackendUnreachable",
    Severity.WARNING,
    "The mesh config sends traces to a backend that is not there.",
    "A mesh config in namespace {{ $labels.namespace }} names {{ $value }} tracing backends that are no Service "
    "port with ready endpoints (or refuse a TCP connection); no traces arrive.",
    Runbook(
        meaning=(
            "`defaultConfig.tracing.zipkin.address` or an `extensionProviders` entry (zipkin, opentelemetry, "
            "skywalking, datadog, lightstep) names a Service that does not exist, has no such port or no ready "
            "endpoints. With `checks.CF11.tcp_probe: true` the exporter also opens a TCP connection to every "
            "address (off by default: the exporter's network may differ from the proxies')."
        ),
        impact="Proxies drop spans: traces are missing or end at the first hop.",
        diagnosis="""```sh
kubectl -n istio-system get configmap istio -o jsonpath='{.data.mesh}' | grep -E 'zipkin|service:|port:'
kubectl -n <backend-namespace> get svc,endpointslices <backend>
```""",
        mitigation="- Point the provider at the collector's Service (`<name>.<namespace>.svc.cluster.local` and its port), "
        "or deploy the collector.",
    ),
)

CF12_EXTERNALNAME_TCP = config_metric(
    "externalname_tcp", "ExternalName Services the mesh's workloads reach with ports that proxies route by port alone."
)
CF12 = config_mode(
    "CF12",
    "ExternalName Service for TCP",
    CF12_EXTERNALNAME_TCP,
    "MeshHealthExternalNameTCP",
    Severity.INFO,
    "An ExternalName Service carries TCP traffic in the mesh.",
    "{{ $value }} ExternalName Services in namespace {{ $labels.namespace }} have TCP ports; proxies route TCP by "
    "port, so requests can reach a different database.",
    Runbook(
        meaning=(
            "A Service of type ExternalName that a workload of the mesh can call (exported to a mesh namespace, as "
            "for CF04) has a port sidecars can only route by destination port: not HTTP (told apart by Host) nor "
            "HTTPS/TLS (told apart by SNI), i.e. TCP, unnamed, mysql, mongo or redis. An ExternalName Service has no "
            "cluster IP, so two such databases on one port share a listener (older meshes) and requests can reach "
            "the wrong one and fail authentication. istioctl reports IST0150 (ExternalNameServiceTypeInvalidPortName) "
            "for unnamed and `tcp` ports."
        ),
        impact="Connections to one external database end at another (authentication failures, wrong data).",
        diagnosis="""```sh
kubectl get svc -A --field-selector spec.type=ExternalName -o wide
```""",
        mitigation="- Use a ServiceEntry with `addresses` (or resolution DNS and a distinct port) for external TCP services.",
    ),
)

CF13_LOCAL_TRAFFIC_GATEWAYS = config_metric(
    "local_traffic_gateways",
    "Ingress gateway Services with externalTrafficPolicy Local and nodes without a gateway pod.",
)
CF13 = config_mode(
    "CF13",
    "Ingress gateway with externalTrafficPolicy Local",
    CF13_LOCAL_TRAFFIC_GATEWAYS,
    "MeshHealthGatewayTrafficPolicyLocal",
    Severity.INFO,
    "An ingress gateway Service is Local while some nodes run no gateway.",
    "{{ $value }} ingress gateway Services in namespace {{ $labels.namespace }} use externalTrafficPolicy Local "
    "while some nodes run no gateway pod; clients there cannot reach the load-balancer address.",
    Runbook(
        meaning=(
            "A LoadBalancer or NodePort Service selecting ingress gateway pods (`checks.CF13.gateway_selector`) sets "
            "`externalTrafficPolicy: Local`, and some nodes run no gateway pod. kube-proxy answers for the load "
            "balancer's address on every node but forwards only to local pods."
        ),
        impact="Pods on nodes without a gateway replica cannot reach the mesh's public address (timeouts).",
        diagnosis="""```sh
kubectl -n istio-system get svc istio-ingressgateway -o jsonpath='{.spec.externalTrafficPolicy}'
kubectl -n istio-system get pods -l istio=ingressgateway -o wide
```""",
        mitigation="""- Run a gateway pod on every node (DaemonSet, or replicas with anti-affinity), or
- use `externalTrafficPolicy: Cluster` when the client source IP is not needed.""",
    ),
)

CF14_FULL_SAMPLING = config_metric(
    "full_sampling",
    "Mesh configs and Telemetry resources sampling traces at or above checks.CF14.max_sampling_percent.",
)
CF14 = config_mode(
    "CF14",
    "Tracing sampling at 100 %",
    CF14_FULL_SAMPLING,
    "MeshHealthTracingFullSampling",
    Severity.INFO,
    "Tracing samples every request.",
    "{{ $value }} mesh configs or Telemetry resources in namespace {{ $labels.namespace }} sample traces at or "
    "above the configured percentage (100 % by default).",
    Runbook(
        meaning=(
            "`defaultConfig.tracing.sampling` in the mesh config, or a Telemetry resource's "
            "`tracing[].randomSamplingPercentage`, is at or above `checks.CF14.max_sampling_percent` (100). "
            "Istio's default is 1 %."
        ),
        impact="Proxy CPU and memory, collector load and Elasticsearch storage grow with every request (TR02, TR03).",
        diagnosis="""```sh
kubectl -n istio-system get configmap istio -o jsonpath='{.data.mesh}' | grep -A3 tracing
kubectl get telemetries.telemetry.istio.io -A -o yaml | grep -B5 randomSamplingPercentage
```""",
        mitigation="- Lower the sampling (1-10 % is usual in production); sample 100 % only for selected workloads.",
    ),
)

SECTION = (CF01, CF02, CF03, CF04, CF05, CF06, CF07, CF08, CF09, CF10, CF11, CF12, CF13, CF14)
