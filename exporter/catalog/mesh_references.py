"""Section C, continued: Istio configuration that names something that is not there (CF15-CF21).

A Gateway a VirtualService binds to, the workloads a Gateway, Sidecar, AuthorizationPolicy or Telemetry selects, the
host a route sends to, the namespaces a policy admits: each finding names the object, the field and what is missing,
with the ``istioctl analyze`` code of the same mistake.
"""

from __future__ import annotations

from exporter.catalog.mesh_config import ANALYZE, config_metric, config_mode
from exporter.catalog.model import Runbook
from exporter.model import Severity

CF15_UNBOUND_VIRTUAL_SERVICES = config_metric(
    "unbound_virtualservices",
    "VirtualServices bound to a Gateway that does not exist or that serves none of their hosts.",
)
CF15 = config_mode(
    "CF15",
    "VirtualService bound to a missing Gateway or to none of its hosts",
    CF15_UNBOUND_VIRTUAL_SERVICES,
    "MeshHealthVirtualServiceGatewayMissing",
    Severity.WARNING,
    "A VirtualService names a Gateway that does not exist or serves none of its hosts.",
    "{{ $value }} VirtualServices in namespace {{ $labels.namespace }} name a Gateway in spec.gateways that does "
    "not exist, or whose servers expose none of the VirtualService's hosts; the gateway does not route them.",
    Runbook(
        meaning=(
            "An entry of `spec.gateways` (other than `mesh`) resolves (`name`: the VirtualService's namespace, "
            "`ns/name`, or the legacy `name.ns.svc.<domain>`) to no Gateway, or the Gateway's servers expose none of "
            "the VirtualService's `hosts` to the VirtualService's namespace (a server host `ns/host` binds only "
            "VirtualServices of `ns`; `./host` those of the Gateway's namespace). istiod then builds no route for "
            "it on that gateway. istioctl reports IST0101 (gateway) and IST0132 (VirtualServiceHostNotFoundInGateway)."
        ),
        impact="Requests through that gateway for those hosts get `404` with response flag `NR` (no route).",
        diagnosis=f"""```sh
kubectl -n <namespace> get virtualservice <name> -o jsonpath='{{.spec.gateways}} {{.spec.hosts}}'
kubectl get gateways.networking.istio.io -A -o custom-columns=NS:.metadata.namespace,NAME:.metadata.name,HOSTS:.spec.servers[*].hosts
{ANALYZE}
```""",
        mitigation="""- Fix the Gateway name (`<namespace>/<gateway>` when the Gateway lives in another namespace), or create
  the Gateway.
- Add the VirtualService's host to a server of the Gateway, or use a host the Gateway already serves.""",
    ),
)

CF16_UNREACHABLE_GATEWAYS = config_metric(
    "unreachable_gateways",
    "Gateways whose selector matches no pod, or with a server port no Service of their pods exposes.",
)
CF16 = config_mode(
    "CF16",
    "Gateway selects no gateway pod, or listens on a port its Service does not expose",
    CF16_UNREACHABLE_GATEWAYS,
    "MeshHealthGatewayUnreachable",
    Severity.WARNING,
    "A Gateway selects no pod, or listens on a port no Service exposes.",
    "{{ $value }} Gateways in namespace {{ $labels.namespace }} select no running pod, or have a server port that "
    "no Service of their gateway pods exposes; clients cannot reach those servers.",
    Runbook(
        meaning=(
            "A Gateway's `spec.selector` matches no running pod in any namespace (so no proxy gets its listeners), or "
            "a server's `port.number` is neither the port nor the target port of a TCP port of any Service that "
            "selects the gateway pods (the proxy listens, but nothing routes traffic to that port). istioctl reports "
            "IST0101 (selector) and IST0162 (GatewayPortNotDefinedOnService)."
        ),
        impact="Clients cannot reach the Gateway's hosts on that port: connections are refused or time out.",
        diagnosis=f"""```sh
kubectl -n <namespace> get gateway.networking.istio.io <name> -o jsonpath='{{.spec.selector}} {{.spec.servers[*].port}}'
kubectl get pods -A -l <selector> -o wide
kubectl get svc -A -l <selector> -o custom-columns=NS:.metadata.namespace,NAME:.metadata.name,PORTS:.spec.ports[*].targetPort
{ANALYZE}
```""",
        mitigation="""- Fix the selector to the gateway deployment's labels (`istio: ingressgateway` for the default one).
- Add the port to the gateway's Service, or use a port it exposes (the Gateway's port is the pod's port, usually
  the Service's targetPort: 8080 for 80, 8443 for 443 in Istio's charts).""",
    ),
)

CF17_UNMATCHED_SELECTORS = config_metric(
    "unmatched_selectors",
    "Sidecars, AuthorizationPolicies and Telemetries that select no workload, or policies naming missing namespaces.",
)
CF17 = config_mode(
    "CF17",
    "Sidecar, AuthorizationPolicy or Telemetry applies to no workload",
    CF17_UNMATCHED_SELECTORS,
    "MeshHealthPolicySelectsNothing",
    Severity.WARNING,
    "A Sidecar, AuthorizationPolicy or Telemetry selects no workload.",
    "{{ $value }} Sidecars, AuthorizationPolicies or Telemetries in namespace {{ $labels.namespace }} select no "
    "running workload, or admit a namespace that does not exist; the setting they carry applies nowhere.",
    Runbook(
        meaning=(
            "A Sidecar's `workloadSelector.labels`, a Telemetry's `selector.matchLabels` or an AuthorizationPolicy's "
            "`selector.matchLabels` match no running pod of their namespace (all namespaces for an AuthorizationPolicy "
            "in the root namespace); a namespace-wide AuthorizationPolicy sits in a namespace with no mesh workload; "
            "or a rule's `from.source.namespaces`/`notNamespaces` names a namespace that does not exist. istioctl "
            "reports IST0101 (selector, namespace) and IST0127 (NoMatchingWorkloadsFound). A typo in a label or a "
            "namespace is the usual cause."
        ),
        impact=(
            "The egress restriction, telemetry setting or access rule is not enforced where it was meant to be. An "
            "ALLOW policy that names a missing namespace admits no one from it; a DENY policy that selects nothing "
            "denies nothing."
        ),
        diagnosis=f"""```sh
kubectl -n <namespace> get <kind> <name> -o yaml | grep -A4 -i -E 'selector|namespaces'
kubectl -n <namespace> get pods --show-labels
{ANALYZE}
```""",
        mitigation="""- Fix the labels to the workload's pod labels (not the Deployment's), or the namespace name.
- Delete the object if the workload is gone.""",
    ),
)

CF18_UNKNOWN_DESTINATIONS = config_metric(
    "unknown_destinations",
    "VirtualServices routing or mirroring to a host no Service or ServiceEntry defines, or to a port it lacks.",
)
CF18 = config_mode(
    "CF18",
    "VirtualService routes to an unknown host or port",
    CF18_UNKNOWN_DESTINATIONS,
    "MeshHealthVirtualServiceHostUnknown",
    Severity.WARNING,
    "A VirtualService routes to a host or port that does not exist.",
    "{{ $value }} VirtualServices in namespace {{ $labels.namespace }} route or mirror to a host that no Service or "
    "ServiceEntry visible there defines, or to a port that host does not have; those routes answer 503.",
    Runbook(
        meaning=(
            "A route destination (`http`, `tls`, `tcp`) or mirror names a `host` that, resolved in the "
            "VirtualService's namespace, is no Kubernetes Service and no ServiceEntry host exported to that namespace, "
            "or names a `port.number` the host does not declare. istiod points the route at a cluster that does not "
            "exist. istioctl reports IST0101 (host, mirror host, host:port)."
        ),
        impact="Requests on that route get `503` with response flag `NC` (no cluster); mirrored traffic is dropped.",
        diagnosis=f"""```sh
kubectl -n <namespace> get virtualservice <name> -o yaml | grep -A3 destination
kubectl get svc,serviceentries.networking.istio.io -A | grep <host>
{ANALYZE}
```""",
        mitigation="""- Fix the host (`name.namespace.svc.cluster.local` for a Service of another namespace) or the port.
- Create the Service or a ServiceEntry for an external host, exported to the VirtualService's namespace.""",
    ),
)

CF19_OVERLAPPING_RESOURCES = config_metric(
    "overlapping_resources",
    "Sidecars and Telemetries that apply to a workload together with another of their kind.",
)
CF19 = config_mode(
    "CF19",
    "Several Sidecars or Telemetries apply to one workload",
    CF19_OVERLAPPING_RESOURCES,
    "MeshHealthSidecarOverlap",
    Severity.WARNING,
    "Several Sidecars or Telemetries apply to the same workload.",
    "{{ $value }} Sidecars or Telemetries in namespace {{ $labels.namespace }} select a pod another one of the same "
    "kind also selects, or are one of several without a selector; what applies depends on creation order.",
    Runbook(
        meaning=(
            "Two Sidecars (or two Telemetries) of a namespace select the same pod by labels, or a namespace has "
            "several of them without a selector. istiod sorts them by creation time: a proxy gets the first Sidecar "
            "that selects it (else the oldest selector-less one) and ignores the others; workload Telemetries are "
            "merged, the newer overriding the older field by field, and only the oldest namespace-wide Telemetry "
            "applies. Which settings a proxy gets depends on creation order. istioctl reports IST0110/IST0111 "
            "(Sidecars) and IST0159/IST0160 (Telemetries)."
        ),
        impact=(
            "The proxy's egress hosts, outbound traffic policy or telemetry settings are those of one object only; "
            "recreating the other one changes them silently."
        ),
        diagnosis=f"""```sh
kubectl -n <namespace> get sidecars.networking.istio.io,telemetries.telemetry.istio.io -o yaml | grep -A3 -E 'workloadSelector|selector'
{ANALYZE}
```""",
        mitigation="""- Merge the objects into one, or give each a selector that no other one's pods match.
- Keep at most one selector-less Sidecar (and one Telemetry) per namespace.""",
    ),
)

CF20_DUPLICATE_MESH_HOSTS = config_metric(
    "duplicate_mesh_hosts",
    "VirtualServices of the mesh (sidecars) that define a host another VirtualService visible to the same "
    "clients also defines.",
)
CF20 = config_mode(
    "CF20",
    "Several VirtualServices for one host of the mesh",
    CF20_DUPLICATE_MESH_HOSTS,
    "MeshHealthVirtualServiceHostDuplicate",
    Severity.WARNING,
    "Several VirtualServices define the same host for the sidecars.",
    "{{ $value }} VirtualServices in namespace {{ $labels.namespace }} define a host for the mesh that another "
    "VirtualService exported to the same namespaces also defines; sidecars use only one of them.",
    Runbook(
        meaning=(
            "Two VirtualServices bound to the `mesh` gateway (no `gateways`, or `mesh` listed) name the same host, "
            "resolved in their namespaces, and their `exportTo` (default: the mesh's defaultVirtualServiceExportTo) "
            "reaches a common namespace. istiod builds one virtual host per domain for a sidecar: it keeps the older "
            "VirtualService's routes, drops the other's and counts `pilot_vservice_dup_domain`. istioctl reports "
            "IST0109 (ConflictingMeshGatewayVirtualServiceHosts)."
        ),
        impact="The routes of one VirtualService (retries, timeouts, traffic shifting) silently do not apply.",
        diagnosis=f"""```sh
kubectl get virtualservices -A -o custom-columns=NS:.metadata.namespace,NAME:.metadata.name,HOSTS:.spec.hosts,GATEWAYS:.spec.gateways,EXPORT:.spec.exportTo
{ANALYZE}
```""",
        mitigation="""- Merge the routes into one VirtualService per host (or use delegate VirtualServices on a gateway).
- Narrow `exportTo` so that each client namespace sees one of them.""",
    ),
)

CF21_UNVERIFIED_TLS = config_metric(
    "unverified_tls",
    "DestinationRules originating TLS (SIMPLE or MUTUAL) without a CA to verify the server, or skipping verification.",
)
CF21 = config_mode(
    "CF21",
    "DestinationRule originates TLS without verifying the server",
    CF21_UNVERIFIED_TLS,
    "MeshHealthDestinationRuleTLSUnverified",
    Severity.INFO,
    "A DestinationRule originates TLS without verifying the server certificate.",
    "{{ $value }} DestinationRules in namespace {{ $labels.namespace }} originate TLS (SIMPLE or MUTUAL) without "
    "caCertificates, or with insecureSkipVerify; the server's identity may not be checked.",
    Runbook(
        meaning=(
            "A `tls` block (top level, port level or subset) with mode `SIMPLE` or `MUTUAL` sets no `caCertificates` "
            "(and no `credentialName` on a DestinationRule with a workloadSelector, as gateways use), or sets "
            "`insecureSkipVerify: true`. Without a CA, proxies verify against the system roots only where "
            "`VERIFY_CERTIFICATE_AT_CLIENT` is on (the default since Istio 1.20); older proxies, and "
            "insecureSkipVerify, accept any certificate. istioctl reports IST0128 (destination level) and IST0129 "
            "(port level)."
        ),
        impact="Traffic to the external service can be intercepted by anyone who can answer for its address.",
        diagnosis=f"""```sh
kubectl -n <namespace> get destinationrule <name> -o yaml | grep -B2 -A6 'tls:'
{ANALYZE}
```""",
        mitigation="""- Set `caCertificates` (a file mounted into the proxy) or `credentialName` with the CA, and `sni`.
- Remove `insecureSkipVerify`.""",
    ),
)

SECTION = (CF15, CF16, CF17, CF18, CF19, CF20, CF21)
