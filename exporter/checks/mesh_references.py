"""Istio configuration that names something that is not there (catalogue section C, CF15-CF21).

Gateways that VirtualServices bind to, the workloads selectors pick, the hosts routes send to: each finding names
the object and the field, with the ``istioctl analyze`` code of the same mistake.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from exporter.catalog.mesh_references import (
    CF15_UNBOUND_VIRTUAL_SERVICES,
    CF16_UNREACHABLE_GATEWAYS,
    CF17_UNMATCHED_SELECTORS,
    CF18_UNKNOWN_DESTINATIONS,
    CF19_OVERLAPPING_RESOURCES,
    CF20_DUPLICATE_MESH_HOSTS,
    CF21_UNVERIFIED_TLS,
)
from exporter.checks import resources as r
from exporter.checks.base import CheckDef, alert_severity
from exporter.checks.istio_model import PodIndex, fqdn, host_matches, visible
from exporter.checks.mesh_config import (
    default_export,
    finish,
    is_gateway_pod,
    pod_index,
    root_namespace,
    selector_text,
)
from exporter.config import Settings
from exporter.model import CheckResult, Finding
from exporter.sources.kube.istio_projections import GatewayInfo, Labels, Meta, ServiceEntryInfo
from exporter.sources.kube.projections import PodInfo, ServiceInfo
from exporter.sources.kube.snapshot import KubeSnapshot

AMBIENT_REDIRECTION = "ambient.istio.io/redirection"


def hosts_overlap(a: str, b: str) -> bool:
    """Istio's ``host.Name.Matches``: two (possibly wildcard) hosts with a name in common."""
    return host_matches(a, b) or host_matches(b, a)


# --- CF15 VirtualService bound to a missing Gateway or to none of its hosts -----------------------------------


def gateway_key(name: str, namespace: str) -> str:
    """istiod's ``resolveGatewayName``: ``name`` (the referrer's namespace), ``ns/name``, ``./name``, or the
    legacy ``name.ns[.svc.<domain>]``, as ``ns/name``."""
    if "/" in name:
        ns, _, short = name.partition("/")
        return f"{namespace}/{short}" if ns == "." else name
    if "." not in name:
        return f"{namespace}/{name}"
    short, _, rest = name.partition(".")
    return f"{rest.split('.')[0]}/{short}"


def exposed_hosts(gateway: GatewayInfo, namespace: str) -> list[str]:
    """The hosts the Gateway's servers expose to VirtualServices of ``namespace`` (``ns/host`` only to ``ns``,
    ``./host`` to the Gateway's namespace, ``*/host`` and ``host`` to every namespace)."""
    out = []
    for server in gateway.servers:
        for entry in server.hosts:
            scope, slash, host = entry.rpartition("/")
            local = gateway.meta.namespace if scope == "." else scope
            if not slash or local in ("*", namespace):
                out.append(host)
    return out


def check_unbound_virtual_services(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """CF15: a VirtualService's ``spec.gateways`` entry names no Gateway, or a Gateway exposing none of its hosts."""
    severity = alert_severity(settings, "CF15")
    domain = settings.istio.cluster_domain
    gateways = {f"{g.meta.namespace}/{g.meta.name}": g for g in snapshot.get(r.GATEWAYS.key)}
    findings = []
    for vs in snapshot.get(r.VIRTUAL_SERVICES.key):
        namespace = vs.meta.namespace
        for i, name in enumerate(vs.gateways):
            if name == "mesh" or not name:
                continue
            key = gateway_key(name, namespace)
            gateway = gateways.get(key)
            where = f"spec.gateways[{i}]={name}"
            if gateway is None:
                message = f"{where}: Gateway {key} does not exist; no gateway routes this VirtualService (IST0101)"
            else:
                offered = exposed_hosts(gateway, namespace)
                wanted = [h for host in vs.hosts for h in {host, fqdn(host, namespace, domain)}]
                if not wanted or any(hosts_overlap(g, h) for g in offered for h in wanted):
                    continue
                have = ", ".join(sorted(set(offered))) or "none"
                message = (
                    f"{where}: Gateway {key} exposes none of spec.hosts ({', '.join(vs.hosts)}) to namespace "
                    f"{namespace} (it has {have}): requests for them there get 404 NR (IST0132)"
                )
            findings.append(Finding("CF15", severity, namespace, "VirtualService", vs.meta.name, message))
    return finish(CF15_UNBOUND_VIRTUAL_SERVICES, findings)


# --- CF16 Gateway that selects no pod or listens on a port its Service does not expose ------------------------


def _service_ports(services: Iterable[ServiceInfo], pods: Sequence[PodInfo]) -> set[int]:
    """Ports and target ports of the TCP ports of the Services selecting any of ``pods`` (a Service selects pods of
    its own namespace). A named target port counts as the Service port."""
    out: set[int] = set()
    by_namespace: dict[str, list[dict[str, str]]] = defaultdict(list)
    for pod in pods:
        by_namespace[pod.namespace].append(dict(pod.labels))
    for svc in services:
        if not svc.selector or svc.namespace not in by_namespace:
            continue
        if not any(all(labels.get(k) == v for k, v in svc.selector) for labels in by_namespace[svc.namespace]):
            continue
        for port in svc.ports:
            if port.protocol.upper() in ("", "TCP"):
                out.add(port.port)
                if port.target_port.isdigit():
                    out.add(int(port.target_port))
    return out


def check_unreachable_gateways(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """CF16: a Gateway whose selector matches no running pod, or whose server port is neither port nor target port
    of a TCP port of any Service selecting its pods."""
    severity = alert_severity(settings, "CF16")
    pods = pod_index(snapshot)
    services = snapshot.get(r.SERVICES.key)
    ports_of: dict[Labels, set[int]] = {}
    findings = []
    for gw in snapshot.get(r.GATEWAYS.key):
        chosen = pods.select(None, gw.selector) if gw.selector else [p for p in pods.pods if is_gateway_pod(p)]
        if not chosen:
            what = f"spec.selector {selector_text(gw.selector)}" if gw.selector else "the empty spec.selector"
            message = f"{what} matches no running gateway pod: no proxy serves this Gateway (IST0101)"
            findings.append(Finding("CF16", severity, gw.meta.namespace, "Gateway", gw.meta.name, message))
            continue
        if gw.selector not in ports_of:
            ports_of[gw.selector] = _service_ports(services, chosen)
        offered = ports_of[gw.selector]
        for server in gw.servers:
            if not server.port or server.port in offered:
                continue
            have = ", ".join(map(str, sorted(offered))) or "none"
            message = (
                f"spec.servers[{server.index}].port.number={server.port} is no port or target port of a Service of "
                f"the gateway pods (they expose {have}): clients cannot reach this server (IST0162)"
            )
            findings.append(Finding("CF16", severity, gw.meta.namespace, "Gateway", gw.meta.name, message))
    return finish(CF16_UNREACHABLE_GATEWAYS, findings)


# --- CF17 Sidecar, AuthorizationPolicy or Telemetry that applies to no workload ------------------------------


def in_mesh(pod: PodInfo) -> bool:
    """A workload istiod configures: a sidecar, or ambient redirection."""
    return pod.has_sidecar or pod.annotation(AMBIENT_REDIRECTION) == "enabled"


def namespace_matches(pattern: str, namespace: str) -> bool:
    """An AuthorizationPolicy ``namespaces`` entry: ``*``, ``prefix*``, ``*suffix`` or a name."""
    if pattern == "*":
        return True
    if pattern.startswith("*"):
        return namespace.endswith(pattern[1:])
    if pattern.endswith("*"):
        return namespace.startswith(pattern[:-1])
    return pattern.lower() == namespace.lower()


def _selects_nothing(kind: str, meta: Meta, field: str, selector: Labels, pods: PodIndex) -> str | None:
    if pods.select(meta.namespace, selector):
        return None
    return (
        f"{field} {selector_text(selector)} selects no running pod in namespace {meta.namespace}: this {kind} applies "
        "to no workload (IST0101)"
    )


def check_unmatched_selectors(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """CF17: a Sidecar or Telemetry whose selector matches no running pod of its namespace; an AuthorizationPolicy
    that applies to no mesh workload (selector, or namespace-wide in a namespace without one; mesh-wide in the root
    namespace) or whose rules name a namespace that does not exist."""
    severity = alert_severity(settings, "CF17")
    pods = pod_index(snapshot)
    root = root_namespace(snapshot, settings)
    findings = []

    def add(meta: Meta, kind: str, message: str) -> None:
        findings.append(Finding("CF17", severity, meta.namespace, kind, meta.name, message))

    for sidecar in snapshot.get(r.SIDECARS.key):
        if sidecar.selector:
            why = _selects_nothing("Sidecar", sidecar.meta, "spec.workloadSelector.labels", sidecar.selector, pods)
            if why:
                add(sidecar.meta, "Sidecar", why)
    for telemetry in snapshot.get(r.TELEMETRIES.key):
        if telemetry.selector:
            why = _selects_nothing("Telemetry", telemetry.meta, "spec.selector.matchLabels", telemetry.selector, pods)
            if why:
                add(telemetry.meta, "Telemetry", why)

    namespaces = [ns.name for ns in snapshot.get(r.NAMESPACES.key)]
    for policy in snapshot.get(r.AUTHORIZATION_POLICIES.key):
        meta = policy.meta
        if not policy.targeted:
            mesh_wide = meta.namespace == root
            scope = None if mesh_wide else meta.namespace
            if policy.selector or not mesh_wide:
                chosen = pods.select(scope, policy.selector or ())
                if not any(in_mesh(p) for p in chosen):
                    where = "the mesh" if mesh_wide else f"namespace {meta.namespace}"
                    what = (
                        f"spec.selector.matchLabels {selector_text(policy.selector)} selects"
                        if policy.selector
                        else "this namespace-wide policy has"
                    )
                    what += f" no mesh workload in {where}"
                    add(meta, "AuthorizationPolicy", f"{what}: its {policy.action} rules apply nowhere (IST0127)")
        for field, pattern in policy.source_namespaces:
            if not any(namespace_matches(pattern, ns) for ns in namespaces):
                message = f"{field}={pattern}: no namespace {pattern} exists (IST0101)"
                add(meta, "AuthorizationPolicy", message)
    return finish(CF17_UNMATCHED_SELECTORS, findings)


# --- CF18 VirtualService routes to an unknown host or port -----------------------------------------------------


class _Hosts:
    """Route destinations resolved as istiod resolves them in the VirtualService's namespace: Kubernetes Services and
    ServiceEntry hosts exported there (exact hosts, then wildcard ServiceEntry hosts)."""

    def __init__(self, snapshot: KubeSnapshot, domain: str) -> None:
        self.services = {f"{s.name}.{s.namespace}.svc.{domain}": s for s in snapshot.get(r.SERVICES.key)}
        self.entries: dict[str, list[ServiceEntryInfo]] = defaultdict(list)
        self.wildcards: list[tuple[str, ServiceEntryInfo]] = []
        for se in snapshot.get(r.SERVICE_ENTRIES.key):
            for host in se.hosts:
                if host.startswith("*"):
                    self.wildcards.append((host, se))
                else:
                    self.entries[fqdn(host, se.meta.namespace, domain)].append(se)
        self.service_export = default_export(snapshot, "Service")
        self.entry_export = default_export(snapshot, "ServiceEntry")
        self._seen: dict[tuple[str, str], set[int] | None] = {}

    def ports(self, host: str, namespace: str) -> set[int] | None:
        """The ports of what ``host`` names for clients in ``namespace`` (None: nothing)."""
        key = (host, namespace)
        if key not in self._seen:
            self._seen[key] = self._ports(host, namespace)
        return self._seen[key]

    def _ports(self, host: str, namespace: str) -> set[int] | None:
        found: set[int] | None = None
        svc = self.services.get(host)
        if svc is not None and visible(svc.export_to, svc.namespace, namespace, self.service_export):
            found = {p.port for p in svc.ports}
        entries = [se for se in self.entries.get(host, ()) if self._visible(se, namespace)]
        if not entries and found is None:
            entries = [se for h, se in self.wildcards if host_matches(h, host) and self._visible(se, namespace)]
        for se in entries:
            found = (found or set()) | {p.number for p in se.ports}
        return found

    def _visible(self, se: ServiceEntryInfo, namespace: str) -> bool:
        return visible(se.export_to, se.meta.namespace, namespace, self.entry_export)


def check_unknown_destinations(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """CF18: a route or mirror destination whose host is no Service or ServiceEntry host visible in the
    VirtualService's namespace, or whose port that host does not declare."""
    severity = alert_severity(settings, "CF18")
    domain = settings.istio.cluster_domain
    hosts = _Hosts(snapshot, domain)
    findings = []
    for vs in snapshot.get(r.VIRTUAL_SERVICES.key):
        namespace = vs.meta.namespace
        for dest in vs.destinations:
            host = fqdn(dest.host, namespace, domain)
            ports = hosts.ports(host, namespace)
            if ports is None:
                why = f"{host} is no Service or ServiceEntry host visible in namespace {namespace}"
            elif dest.port and dest.port not in ports:
                have = ", ".join(map(str, sorted(ports))) or "none"
                why = f"{host} has no port {dest.port} (it has {have})"
            else:
                continue
            what = "mirrored requests are dropped" if "mirror" in dest.path else "requests get 503 NC"
            message = f"{dest.path}.host={dest.host}: {why}; {what} (IST0101)"
            findings.append(Finding("CF18", severity, namespace, "VirtualService", vs.meta.name, message))
    return finish(CF18_UNKNOWN_DESTINATIONS, findings)


# --- CF19 several Sidecars or Telemetries for one workload ------------------------------------------------------


def _oldest(metas: Iterable[Meta]) -> list[Meta]:
    return sorted(metas, key=lambda m: (m.created or 0.0, m.name))


PLURALS = {"Sidecar": "Sidecars", "Telemetry": "Telemetries"}
# What istiod does with several objects of a kind for one pod: Sidecars (sorted by creation time) are applied
# first match only; workload Telemetries are all merged oldest first; of the namespace-wide ones only the oldest.
ON_SHARED_POD = {
    "Sidecar": "istiod applies only the oldest, {first}",
    "Telemetry": "istiod merges them oldest first, so where they set the same field the newest, {last}, wins",
}


def _overlaps(
    kind: str, objects: Sequence[tuple[Meta, Labels | None]], pods: PodIndex, codes: tuple[str, str]
) -> list[tuple[Meta, str]]:
    """(object, message) for objects of one kind that share a pod, or share a namespace without a selector."""
    selected: dict[int, list[Meta]] = defaultdict(list)
    selectorless: dict[str, list[Meta]] = defaultdict(list)
    for meta, selector in objects:
        if selector:
            for i in pods.select_ids(meta.namespace, selector):
                if pods.pods[i].annotation(AMBIENT_REDIRECTION) != "enabled":
                    selected[i].append(meta)
        else:
            selectorless[meta.namespace].append(meta)
    out = []
    reported: set[tuple[str, ...]] = set()
    for i, metas in selected.items():
        group = tuple(m.name for m in _oldest(metas))
        if len(metas) < 2 or group in reported:
            continue
        reported.add(group)
        effect = ON_SHARED_POD[kind].format(first=group[0], last=group[-1])
        for meta in metas:
            message = (
                f"{PLURALS[kind]} {', '.join(group)} select the same pod {pods.pods[i].name}: {effect} ({codes[0]})"
            )
            out.append((meta, message))
    for namespace, metas in selectorless.items():
        if len(metas) < 2:
            continue
        group = tuple(m.name for m in _oldest(metas))
        for meta in metas:
            message = (
                f"{len(group)} {PLURALS[kind]} of namespace {namespace} have no selector ({', '.join(group)}): istiod "
                f"applies only the oldest, {group[0]} ({codes[1]})"
            )
            out.append((meta, message))
    return out


def check_overlapping_resources(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """CF19: Sidecars (or Telemetries) of a namespace that select the same pod, or several without a selector."""
    severity = alert_severity(settings, "CF19")
    pods = pod_index(snapshot)
    sidecars = [(s.meta, s.selector) for s in snapshot.get(r.SIDECARS.key)]
    telemetries = [(t.meta, t.selector) for t in snapshot.get(r.TELEMETRIES.key)]
    findings = [
        Finding("CF19", severity, meta.namespace, kind, meta.name, message)
        for kind, objects, codes in (
            ("Sidecar", sidecars, ("IST0110", "IST0111")),
            ("Telemetry", telemetries, ("IST0159", "IST0160")),
        )
        for meta, message in _overlaps(kind, objects, pods, codes)
    ]
    return finish(CF19_OVERLAPPING_RESOURCES, findings)


# --- CF20 several VirtualServices for one host of the mesh ------------------------------------------------------


def _export_scope(export_to: Sequence[str], namespace: str) -> frozenset[str]:
    """The client namespaces an exportTo list reaches ("*": all)."""
    if "*" in export_to:
        return frozenset({"*"})
    return frozenset(namespace if e == "." else e for e in export_to)


def check_duplicate_mesh_hosts(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """CF20: VirtualServices bound to the mesh gateway that define the same host (resolved in their namespace) for
    a common client namespace; istiod keeps the oldest one's routes for that host."""
    severity = alert_severity(settings, "CF20")
    domain = settings.istio.cluster_domain
    default = default_export(snapshot, "VirtualService")
    by_host: dict[str, list[tuple[Meta, frozenset[str]]]] = defaultdict(list)
    for vs in snapshot.get(r.VIRTUAL_SERVICES.key):
        if vs.gateways and "mesh" not in vs.gateways:
            continue
        scope = _export_scope(vs.export_to or default, vs.meta.namespace)
        for host in dict.fromkeys(fqdn(h, vs.meta.namespace, domain) for h in vs.hosts):
            by_host[host].append((vs.meta, scope))
    findings = []
    for host, entries in by_host.items():
        if len(entries) < 2:
            continue
        for meta, scope in entries:
            others = [m for m, s in entries if m is not meta and ("*" in scope or "*" in s or not scope.isdisjoint(s))]
            if not others:
                continue
            group = _oldest([meta, *others])
            also = ", ".join(f"{m.namespace}/{m.name}" for m in _oldest(others))
            message = (
                f"spec.hosts {host} is also defined for the same clients by {also}: sidecars keep the routes of the "
                f"oldest, {group[0].namespace}/{group[0].name} (pilot_vservice_dup_domain, IST0109)"
            )
            findings.append(Finding("CF20", severity, meta.namespace, "VirtualService", meta.name, message))
    return finish(CF20_DUPLICATE_MESH_HOSTS, findings)


# --- CF21 DestinationRule originating TLS without verifying the server --------------------------------------------


def check_unverified_tls(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """CF21: a SIMPLE or MUTUAL tls block without caCertificates (a credentialName counts on a DestinationRule with a
    workloadSelector), or with insecureSkipVerify."""
    severity = alert_severity(settings, "CF21")
    findings = []
    for dr in snapshot.get(r.DESTINATION_RULES.key):
        settings_of = [*dr.tls, *(t for subset in dr.subsets for t in subset.tls)]
        for tls in settings_of:
            if tls.mode not in ("SIMPLE", "MUTUAL"):
                continue
            block = tls.path.removesuffix(".mode")
            if tls.skip_verify:
                why = f"{block}.insecureSkipVerify=true: proxies accept any server certificate"
            elif tls.ca_certificates or (tls.credential_name and dr.workload_selector is not None):
                continue
            else:
                code = "IST0129" if tls.port else "IST0128"
                why = (
                    f"{tls.path}={tls.mode} toward {dr.host} without {block}.caCertificates: the server is verified "
                    f"only against the system roots, and not at all by proxies without VERIFY_CERTIFICATE_AT_CLIENT "
                    f"({code})"
                )
            findings.append(Finding("CF21", severity, dr.meta.namespace, "DestinationRule", dr.meta.name, why))
    return finish(CF21_UNVERIFIED_TLS, findings)


_CM = r.istio_configmaps
CHECKS = (
    CheckDef("CF15", "kubernetes", lambda s: [r.VIRTUAL_SERVICES, r.GATEWAYS], check_unbound_virtual_services),
    CheckDef("CF16", "kubernetes", lambda s: [r.GATEWAYS, r.PODS, r.SERVICES], check_unreachable_gateways),
    CheckDef("CF17", "kubernetes",
             lambda s: [r.SIDECARS, r.TELEMETRIES, r.AUTHORIZATION_POLICIES, r.PODS, r.NAMESPACES, _CM(s)],
             check_unmatched_selectors),
    CheckDef("CF18", "kubernetes", lambda s: [r.VIRTUAL_SERVICES, r.SERVICES, r.SERVICE_ENTRIES, _CM(s)],
             check_unknown_destinations),
    CheckDef("CF19", "kubernetes", lambda s: [r.SIDECARS, r.TELEMETRIES, r.PODS], check_overlapping_resources),
    CheckDef("CF20", "kubernetes", lambda s: [r.VIRTUAL_SERVICES, _CM(s)], check_duplicate_mesh_hosts),
    CheckDef("CF21", "kubernetes", lambda s: [r.DESTINATION_RULES], check_unverified_tls),
)  # fmt: skip
