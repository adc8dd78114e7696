"""How Istio resolves configuration, as pure functions over projected objects (no I/O).

- host names: short names are relative to the object's namespace, names with a dot are taken as written,
  wildcards match by suffix (``ResolveShortnameToFQDN`` and ``host.Name.Matches`` in Istio);
- ``exportTo``: ``*`` (default), ``.`` (own namespace), ``~`` (nobody) or namespace names;
- DestinationRule lookup for a client: client namespace, then the service's namespace, then the root
  namespace, each time the most specific host match (``PushContext.destinationRule``);
- PeerAuthentication: workload (selector) over namespace over mesh-wide (root namespace), ``UNSET`` inherits,
  port-level settings override for their target port; nothing set means PERMISSIVE;
- endpoint labels, which DestinationRule subsets select: the pod's labels with istiod's topology labels over
  them (``AugmentLabels``): region/zone/subzone of the pod's locality label or of its node's topology labels,
  ``topology.istio.io/cluster`` (istiod's cluster ID) and ``kubernetes.io/hostname`` (the pod's node).
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

from exporter.sources.kube.istio_projections import DestinationRuleInfo, Labels, PeerAuthenticationInfo
from exporter.sources.kube.projections import NodeInfo, PodInfo, ServiceInfo, ServicePort

# Istio's protocol names (pkg/config/protocol), as a port name prefix or appProtocol selects them.
PROTOCOLS = {
    "tcp": "TCP",
    "udp": "UDP",
    "grpc": "GRPC",
    "grpc-web": "GRPC-Web",
    "http": "HTTP",
    "http_proxy": "HTTP_PROXY",
    "http2": "HTTP2",
    "https": "HTTPS",
    "tls": "TLS",
    "mongo": "Mongo",
    "redis": "Redis",
    "mysql": "MySQL",
}
HTTP_PROTOCOLS = frozenset({"HTTP", "HTTP2", "GRPC", "GRPC-Web", "HTTP_PROXY"})
WELL_KNOWN_TCP_PORTS = frozenset({25, 53, 3306, 27017})  # SMTP, DNS, MySQL, MongoDB: TCP without a name
UNSUPPORTED = "Unsupported"


def port_protocol(port: ServicePort) -> str:
    """The protocol Istio gives a Service port (``kube.ConvertProtocol``); ``Unsupported`` means unnamed: Istio
    then treats it as opaque TCP (outbound sniffing aside), with no HTTP routing, retries or tracing."""
    if port.protocol.upper() == "UDP":
        return "UDP"
    name = port.app_protocol or port.name
    if port.app_protocol:
        special = {"kubernetes.io/h2c": "HTTP2", "kubernetes.io/ws": "HTTP", "kubernetes.io/wss": "HTTPS"}
        if name in special:
            return special[name]
    if name[:8].lower() == "grpc-web":
        return "GRPC-Web"
    prefix = name.split("-", 1)[0].lower()
    found = PROTOCOLS.get(prefix)
    if found is None:
        return "TCP" if port.port in WELL_KNOWN_TCP_PORTS else UNSUPPORTED
    return found


def fqdn(host: str, namespace: str, domain: str) -> str:
    """Istio's ``ResolveShortnameToFQDN``: a name without a dot is ``<name>.<namespace>.svc.<domain>``."""
    if not host or host == "*" or "." in host or _is_ip(host):
        return host
    return f"{host}.{namespace}.svc.{domain}" if namespace else host


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def host_matches(pattern: str, host: str) -> bool:
    """Does the (possibly wildcard) ``pattern`` cover ``host``? ``*.a.com`` covers ``b.a.com`` and ``*.b.a.com``."""
    if pattern == host or pattern == "*":
        return True
    if pattern.startswith("*"):
        return host.endswith(pattern[1:])  # also a narrower wildcard: "*.b.a.com" ends with ".a.com"
    return False


def kube_service_of(host: str, domain: str) -> tuple[str, str] | None:
    """(namespace, name) when ``host`` is a Kubernetes Service FQDN ``<name>.<namespace>.svc.<domain>``."""
    suffix = f".svc.{domain}"
    if not host.endswith(suffix):
        return None
    parts = host[: -len(suffix)].split(".")
    if len(parts) != 2 or not all(parts):
        return None
    return parts[1], parts[0]


def host_namespace(host: str, domain: str) -> str | None:
    """The namespace a Kubernetes host names: ``r.ns.svc.<domain>`` and ``*.ns.svc.<domain>``."""
    suffix = f".svc.{domain}"
    if not host.endswith(suffix):
        return None
    parts = host[: -len(suffix)].split(".")
    return parts[1] if len(parts) == 2 and parts[0] and parts[1] else None


def visible(export_to: Sequence[str], owner_namespace: str, client_namespace: str, default: Sequence[str]) -> bool:
    """Whether an object in ``owner_namespace`` with ``export_to`` applies to clients in ``client_namespace``."""
    targets = export_to or default
    for target in targets:
        if target == "*" or target == client_namespace:
            return True
        if target == "." and owner_namespace == client_namespace:
            return True
    return False


def labels_match(selector: Labels | Iterable[tuple[str, str]], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector)


@dataclass(frozen=True)
class DRMatch:
    """The DestinationRules that apply to one (client namespace, host): all from one namespace, merged."""

    namespace: str
    rules: tuple[DestinationRuleInfo, ...]

    @property
    def subsets(self) -> set[str]:
        return {s.name for dr in self.rules for s in dr.subsets}


class DestinationRuleIndex:
    """DestinationRules by namespace, looked up as istiod does for a client namespace and a host."""

    def __init__(
        self, rules: Iterable[DestinationRuleInfo], domain: str, root_namespace: str, default_export: Sequence[str]
    ) -> None:
        self.root = root_namespace
        self.default_export = tuple(default_export)
        self.by_namespace: dict[str, list[tuple[str, DestinationRuleInfo]]] = defaultdict(list)
        for dr in rules:
            if dr.host and dr.workload_selector is None:
                self.by_namespace[dr.meta.namespace].append((fqdn(dr.host, dr.meta.namespace, domain), dr))

    def _match(self, namespace: str, client: str, host: str) -> DRMatch | None:
        candidates = [
            (pattern, dr)
            for pattern, dr in self.by_namespace.get(namespace, ())
            if visible(dr.export_to, namespace, client, self.default_export) and host_matches(pattern, host)
        ]
        if not candidates:
            return None
        exact = [dr for pattern, dr in candidates if pattern == host]
        if exact:
            return DRMatch(namespace, tuple(exact))
        best = max(len(pattern) for pattern, _ in candidates)  # the most specific wildcard
        return DRMatch(namespace, tuple(dr for pattern, dr in candidates if len(pattern) == best))

    def lookup(self, client_namespace: str, host: str, service_namespace: str | None) -> DRMatch | None:
        found = self._match(client_namespace, client_namespace, host)
        if found is None and service_namespace and service_namespace != client_namespace:
            found = self._match(service_namespace, client_namespace, host)
        if found is None and self.root not in (client_namespace, service_namespace):
            found = self._match(self.root, client_namespace, host)
        return found


def _has(ids: tuple[int, ...], i: int) -> bool:
    """Whether sorted ``ids`` holds ``i`` (binary search)."""
    at = bisect_left(ids, i)
    return at < len(ids) and ids[at] == i


REGION, ZONE, SUBZONE = "topology.kubernetes.io/region", "topology.kubernetes.io/zone", "topology.istio.io/subzone"
CLUSTER, HOSTNAME, NETWORK = "topology.istio.io/cluster", "kubernetes.io/hostname", "topology.istio.io/network"
# labels istiod sets on every endpoint over the pod's own (AugmentLabels)
TOPOLOGY_LABELS = frozenset({REGION, ZONE, SUBZONE, CLUSTER, HOSTNAME})
LOCALITY_POD_LABELS = ("topology.istio.io/locality", "istio-locality")  # istiod's order (GetLocalityLabel)


def pod_locality(pod: PodInfo, nodes: dict[str, str]) -> str:
    """The pod's locality label (dots for slashes, as Kubernetes labels allow no slash), else its node's."""
    labels = dict(pod.labels)
    for key in LOCALITY_POD_LABELS:
        if key in labels:
            value = labels[key]
            return value if "/" in value else value.replace(".", "/")
    return nodes.get(pod.node, "")


class PodIndex:
    """Running pods by namespace, with an inverted label index so that selectors are set intersections.

    The index lives as long as its snapshot and has an entry per distinct label: tens of thousands with 50,000
    pods. Each entry is a tuple of positions (in increasing order), which the garbage collector stops tracking;
    sets it would scan at every full collection, while the loop waits."""

    def __init__(self, pods: Iterable[PodInfo], nodes: Iterable[NodeInfo] = ()) -> None:
        self.localities = {n.name: n.locality for n in nodes if n.locality}
        self.pods: list[PodInfo] = [p for p in pods if not p.deleting and p.phase not in ("Succeeded", "Failed")]
        by_label: dict[tuple[str, str, str], list[int]] = defaultdict(list)
        by_namespace: dict[str, list[int]] = defaultdict(list)
        all_namespaces: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i, pod in enumerate(self.pods):
            by_namespace[pod.namespace].append(i)
            for key, value in pod.labels:  # distinct keys: a position is added once per entry
                by_label[(pod.namespace, key, value)].append(i)
                all_namespaces[(key, value)].append(i)
        self._by_label = {k: tuple(v) for k, v in by_label.items()}
        self._by_namespace = {k: tuple(v) for k, v in by_namespace.items()}
        self._all_namespaces = {k: tuple(v) for k, v in all_namespaces.items()}

    def select_ids(self, namespace: str | None, selector: Iterable[tuple[str, str]]) -> list[int]:
        """Positions in ``pods`` of the pods of ``namespace`` (every namespace: None) whose labels include
        ``selector`` (empty: all of them), in order."""
        empty: tuple[int, ...] = ()
        sets = [
            self._by_label.get((namespace, k, v), empty)
            if namespace is not None
            else self._all_namespaces.get((k, v), empty)
            for k, v in selector
        ]
        if not sets:
            return list(self._by_namespace.get(namespace, ())) if namespace is not None else list(range(len(self.pods)))
        sets.sort(key=len)
        first, rest = sets[0], sets[1:]
        return [i for i in first if all(_has(ids, i) for ids in rest)]

    def select(self, namespace: str | None, selector: Iterable[tuple[str, str]]) -> list[PodInfo]:
        return [self.pods[i] for i in self.select_ids(namespace, selector)]

    def namespaces(self) -> set[str]:
        return set(self._by_namespace)

    def topology(self, pod: PodInfo, cluster_id: str) -> dict[str, str]:
        """The labels istiod sets on the pod's endpoints over the pod's own (empty values are not set)."""
        region, _, rest = pod_locality(pod, self.localities).partition("/")
        zone, _, subzone = rest.partition("/")
        subzone = subzone.split("/")[0]
        values = {REGION: region, ZONE: zone, SUBZONE: subzone, CLUSTER: cluster_id, HOSTNAME: pod.node}
        return {k: v for k, v in values.items() if v}

    def endpoint_labels(self, pod: PodInfo, cluster_id: str) -> dict[str, str]:
        """What a DestinationRule subset's labels are matched against: the endpoint's labels."""
        return {**dict(pod.labels), **self.topology(pod, cluster_id)}

    def select_endpoints(
        self,
        namespace: str | None,
        selector: Iterable[tuple[str, str]],
        subset: Iterable[tuple[str, str]],
        cluster_id: str,
    ) -> list[PodInfo]:
        """Pods ``selector`` picks by their own labels whose endpoints' labels include ``subset``."""
        subset = tuple(subset)
        plain = [(k, v) for k, v in subset if k not in TOPOLOGY_LABELS]
        topology = [(k, v) for k, v in subset if k in TOPOLOGY_LABELS]
        chosen = self.select(namespace, (*selector, *plain))
        if not topology:
            return chosen
        return [p for p in chosen if labels_match(topology, self.endpoint_labels(p, cluster_id))]


def service_pods(pods: PodIndex, service: ServiceInfo) -> list[PodInfo]:
    """The pods a Service selects (a Service without a selector selects none: its endpoints are manual)."""
    return pods.select(service.namespace, service.selector) if service.selector else []


class ServiceIndex:
    """Kubernetes Services by FQDN and by namespace."""

    def __init__(self, services: Iterable[ServiceInfo], domain: str) -> None:
        self.domain = domain
        self.by_host: dict[str, ServiceInfo] = {}
        self.by_namespace: dict[str, list[ServiceInfo]] = defaultdict(list)
        for svc in services:
            self.by_host[f"{svc.name}.{svc.namespace}.svc.{domain}"] = svc
            self.by_namespace[svc.namespace].append(svc)

    def matching(self, host: str) -> list[ServiceInfo]:
        """Services an (optionally wildcard) host covers."""
        if "*" not in host:
            svc = self.by_host.get(host)
            return [svc] if svc is not None else []
        namespace = host_namespace(host, self.domain)
        pool = (
            self.by_namespace.get(namespace, []) if namespace else [s for ss in self.by_namespace.values() for s in ss]
        )
        return [s for s in pool if host_matches(host, f"{s.name}.{s.namespace}.svc.{self.domain}")]


@dataclass(frozen=True)
class MTLSMode:
    mode: str  # STRICT, PERMISSIVE, DISABLE
    source: str  # the PeerAuthentication that decided it, "namespace/name", or "default"


class PeerAuthentications:
    """Effective mTLS mode of a workload port, as istiod composes PeerAuthentications."""

    def __init__(self, policies: Iterable[PeerAuthenticationInfo], root_namespace: str) -> None:
        self.root = root_namespace
        ordered = sorted(policies, key=lambda p: (p.meta.created or 0.0, p.meta.namespace, p.meta.name))
        self.namespace_wide: dict[str, PeerAuthenticationInfo] = {}
        self.workload: dict[str, list[PeerAuthenticationInfo]] = defaultdict(list)
        for policy in ordered:
            if policy.selector is None:
                self.namespace_wide.setdefault(policy.meta.namespace, policy)  # the oldest wins
            else:
                self.workload[policy.meta.namespace].append(policy)

    @cached_property
    def mesh(self) -> PeerAuthenticationInfo | None:
        return self.namespace_wide.get(self.root)

    def mode(self, pod: PodInfo, target_port: int | None) -> MTLSMode:
        result = MTLSMode("PERMISSIVE", "default")
        layers = [self.mesh, self.namespace_wide.get(pod.namespace) if pod.namespace != self.root else None]
        labels = dict(pod.labels)
        layers.append(
            next((p for p in self.workload.get(pod.namespace, ()) if labels_match(p.selector or (), labels)), None)
        )
        for policy in layers:
            if policy is None:
                continue
            where = f"{policy.meta.namespace}/{policy.meta.name}"
            if policy.mode != "UNSET":
                result = MTLSMode(policy.mode, where)
            if policy.selector is not None and target_port is not None:
                port_mode = dict(policy.port_modes).get(target_port)
                if port_mode and port_mode != "UNSET":
                    result = MTLSMode(port_mode, f"{where} (port {target_port})")
        return result
