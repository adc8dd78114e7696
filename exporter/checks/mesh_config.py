"""Istio configuration mistakes (catalogue section C): CF01-CF14, each finding naming the offending field.

Where ``istioctl analyze`` or Kiali report the same mistake, the finding carries their message code.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from exporter.catalog.mesh_config import (
    CF01_CONFLICTS,
    CF02_UNDEFINED_SUBSETS,
    CF03_EMPTY_SUBSETS,
    CF04_UNNAMED_PORTS,
    CF05_PROTOCOL_CONFLICTS,
    CF06_MISPLACED_RULES,
    CF07_FAULT_WITH_RETRIES,
    CF08_GATEWAY_CONFLICTS,
    CF09_ENTRIES_WITHOUT_ADDRESS,
    CF10_BAD_DISCOVERY_ADDRESS,
    CF11_TRACING_UNREACHABLE,
    CF12_EXTERNALNAME_TCP,
    CF13_LOCAL_TRAFFIC_GATEWAYS,
    CF14_FULL_SAMPLING,
)
from exporter.catalog.model import MetricSpec
from exporter.checks import resources as r
from exporter.checks.base import CheckDef, alert_severity, plural
from exporter.checks.gateway_merge import Dropped, dropped_servers
from exporter.checks.istio_model import (
    HTTP_PROTOCOLS,
    NETWORK,
    UNSUPPORTED,
    DestinationRuleIndex,
    PeerAuthentications,
    PodIndex,
    ServiceIndex,
    fqdn,
    host_namespace,
    kube_service_of,
    labels_match,
    port_protocol,
    service_pods,
)
from exporter.config import Settings
from exporter.model import CheckResult, Finding, NotEvaluated
from exporter.selectors import matches
from exporter.sources.kube.istio_projections import (
    DestinationRuleInfo,
    GatewayInfo,
    ServiceEntryInfo,
    TLSSetting,
)
from exporter.sources.kube.meshconfig import MeshConfig, mesh_configs, parse_address, tracing_addresses
from exporter.sources.kube.projections import PodInfo, ServiceInfo
from exporter.sources.kube.snapshot import KubeSnapshot

Check = Callable[[KubeSnapshot, Settings, float], CheckResult]


# --- shared context ----------------------------------------------------------------------------------------


def meshes(snapshot: KubeSnapshot) -> list[MeshConfig]:
    return mesh_configs(snapshot.get("istio_configmaps"))


def root_namespace(snapshot: KubeSnapshot, settings: Settings) -> str:
    """The mesh config's rootNamespace (the default revision's first), else the first control-plane namespace."""
    found = [m for m in meshes(snapshot) if not m.error]
    found.sort(key=lambda m: m.revision != "default")
    return found[0].root_namespace if found else settings.istio.control_plane_namespaces[0]


def default_export(snapshot: KubeSnapshot, kind: str) -> tuple[str, ...]:
    found = [m for m in meshes(snapshot) if not m.error]
    return found[0].export_to(kind) if found else ("*",)


def pod_index(snapshot: KubeSnapshot) -> PodIndex:
    return snapshot.derived("pod_index", lambda snap: PodIndex(snap.get(r.PODS.key), snap.get(r.NODES.key)))


def mesh_namespaces(snapshot: KubeSnapshot, pods: PodIndex) -> set[str]:
    """Namespaces with injection enabled (label or revision) or with at least one pod that has a sidecar."""
    out = {p.namespace for p in pods.pods if p.has_sidecar}
    for ns in snapshot.get(r.NAMESPACES.key):
        labels = dict(ns.labels)
        if labels.get("istio-injection") == "enabled" or (
            "istio.io/rev" in labels and labels.get("istio-injection") != "disabled"
        ):
            out.add(ns.name)
    return out


def mesh_reachable(snapshot: KubeSnapshot, pods: PodIndex) -> list[ServiceInfo]:
    """Services a workload of the mesh can call: istiod gives every sidecar the Services exported to its namespace
    (the ``networking.istio.io/exportTo`` annotation, else the mesh's defaultServiceExportTo), whatever the
    Service's own namespace. Sidecar resources that narrow a proxy's egress hosts are not read here."""
    clients = mesh_namespaces(snapshot, pods)
    if not clients:
        return []
    default = default_export(snapshot, "Service")
    out = []
    for svc in snapshot.get(r.SERVICES.key):
        targets = svc.export_to or default
        if "*" in targets or ("." in targets and svc.namespace in clients) or not clients.isdisjoint(targets):
            out.append(svc)
    return out


def is_control_plane(labels: Iterable[tuple[str, str]]) -> bool:
    """Istio's own objects (label ``istio``, or ``release=istio``) are left out, as istioctl does."""
    have = dict(labels)
    return "istio" in have or have.get("release") == "istio" or "gateway.istio.io/managed" in have


def _count(metric: MetricSpec[Any], findings: list[Finding], result: CheckResult) -> None:
    """Per namespace with findings: how many (no series for namespaces without one)."""
    for namespace, count in sorted(Counter(f.namespace for f in findings).items()):
        result.samples.append(metric.sample(count, namespace=namespace))


def finish(metric: MetricSpec[Any], findings: list[Finding]) -> CheckResult:
    result = CheckResult()
    unique = sorted(set(findings), key=lambda f: (f.namespace, f.kind, f.name, f.message))
    result.findings.extend(unique)
    _count(metric, unique, result)
    return result


def selector_text(labels: Iterable[tuple[str, str]]) -> str:
    return ",".join(f"{k}={v}" for k, v in labels) or "(none)"


# --- CF01 DestinationRule TLS vs PeerAuthentication --------------------------------------------------------


def _conflict(dr_mode: str, server_mode: str) -> bool:
    if server_mode == "STRICT":
        return dr_mode in ("DISABLE", "SIMPLE", "MUTUAL")
    return server_mode == "DISABLE" and dr_mode == "ISTIO_MUTUAL"


def _target_port(service: ServiceInfo, port: int) -> int | None:
    for p in service.ports:
        if p.port == port:
            return int(p.target_port) if p.target_port.isdigit() else None
    return None


def check_tls_conflicts(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """CF01: a DestinationRule's TLS mode the server side rejects (DISABLE/SIMPLE/MUTUAL toward STRICT,
    ISTIO_MUTUAL toward DISABLE), and STRICT workloads that get plain text because auto mTLS is off."""
    severity = alert_severity(settings, "CF01")
    domain, cluster = settings.istio.cluster_domain, settings.istio.cluster_id
    root = root_namespace(snapshot, settings)
    policies = PeerAuthentications(snapshot.get(r.PEER_AUTHENTICATIONS.key), root)
    services = ServiceIndex(snapshot.get(r.SERVICES.key), domain)
    pods = pod_index(snapshot)
    findings: list[Finding] = []

    def judge(dr: DestinationRuleInfo, setting: TLSSetting, targets: list[tuple[ServiceInfo, list[PodInfo]]]) -> None:
        for service, selected in targets:
            ports = [setting.port] if setting.port else [p.port for p in service.ports] or [0]
            for port in ports:
                target = _target_port(service, port) if port else None
                for pod in selected:
                    mode = policies.mode(pod, target)
                    if not _conflict(setting.mode, mode.mode):
                        continue
                    code = ""
                    if setting.mode == "DISABLE" and mode.mode == "STRICT":
                        code = " (KIA0208)" if mode.source.startswith(f"{root}/") else " (KIA0207)"
                    message = (
                        f"{setting.path}={setting.mode} toward {service.name}.{service.namespace}"
                        f"{f':{port}' if port else ''}, whose pods are {mode.mode} ({mode.source}): "
                        f"requests fail with 503 UF/UC{code}"
                    )
                    findings.append(
                        Finding("CF01", severity, dr.meta.namespace, "DestinationRule", dr.meta.name, message)
                    )
                    return

    for dr in snapshot.get(r.DESTINATION_RULES.key):
        if not dr.host:
            continue
        host = fqdn(dr.host, dr.meta.namespace, domain)
        matched = services.matching(host)
        targets = [(svc, service_pods(pods, svc)) for svc in matched]
        for setting in dr.tls:
            judge(dr, setting, targets)
        for subset in dr.subsets:
            subset_targets = [
                (svc, [p for p in selected if labels_match(subset.labels, pods.endpoint_labels(p, cluster))])
                for svc, selected in targets
            ]
            for setting in subset.tls:
                judge(dr, setting, subset_targets)

    no_auto = [m for m in meshes(snapshot) if not m.error and not m.enable_auto_mtls]
    if no_auto:
        rules = DestinationRuleIndex(
            snapshot.get(r.DESTINATION_RULES.key), domain, root, default_export(snapshot, "DestinationRule")
        )
        for svc in sorted(snapshot.get(r.SERVICES.key), key=lambda s: (s.namespace, s.name)):
            if is_control_plane(svc.labels):
                continue  # gateways and istiod: their listeners are not governed by PeerAuthentication
            selected = service_pods(pods, svc)
            strict = next((p for p in selected if policies.mode(p, None).mode == "STRICT"), None)
            if strict is None:
                continue
            host = f"{svc.name}.{svc.namespace}.svc.{domain}"
            match = rules.lookup(svc.namespace, host, svc.namespace)
            if match is not None and any(s.mode == "ISTIO_MUTUAL" for dr in match.rules for s in dr.tls):
                continue
            message = (
                f"enableAutoMtls is false in {no_auto[0].namespace}/{no_auto[0].configmap} and no DestinationRule sets "
                f"ISTIO_MUTUAL for {host}, whose pods are STRICT ({policies.mode(strict, None).source}): clients send "
                "plain text and are rejected"
            )
            findings.append(Finding("CF01", severity, svc.namespace, "Service", svc.name, message))
    return finish(CF01_CONFLICTS, findings)


# --- CF02 VirtualService subset without DestinationRule ----------------------------------------------------


def check_undefined_subsets(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """CF02: a VirtualService routes to a subset that no DestinationRule visible to it defines."""
    severity = alert_severity(settings, "CF02")
    domain = settings.istio.cluster_domain
    root = root_namespace(snapshot, settings)
    rules = DestinationRuleIndex(
        snapshot.get(r.DESTINATION_RULES.key), domain, root, default_export(snapshot, "DestinationRule")
    )
    entries = _entry_namespaces(snapshot.get(r.SERVICE_ENTRIES.key), domain)
    findings = []
    for vs in snapshot.get(r.VIRTUAL_SERVICES.key):
        for dest in vs.destinations:
            if not dest.subset:
                continue
            host = fqdn(dest.host, vs.meta.namespace, domain)
            service_ns = host_namespace(host, domain) or entries.get(host)
            match = rules.lookup(vs.meta.namespace, host, service_ns)
            if match is None:
                why = f"no DestinationRule for {host} applies in namespace {vs.meta.namespace}"
            elif dest.subset not in match.subsets:
                names = ", ".join(f"{dr.meta.namespace}/{dr.meta.name}" for dr in match.rules)
                defined = ", ".join(sorted(match.subsets)) or "none"
                why = f"DestinationRule {names} defines subsets {defined}, not {dest.subset}"
            else:
                continue
            message = f"{dest.path}.subset={dest.subset}: {why}; requests get 503 NR (IST0101, KIA1107)"
            findings.append(Finding("CF02", severity, vs.meta.namespace, "VirtualService", vs.meta.name, message))
    return finish(CF02_UNDEFINED_SUBSETS, findings)


def _entry_namespaces(entries: Iterable[ServiceEntryInfo], domain: str) -> dict[str, str]:
    """ServiceEntry host -> its namespace (the first, by namespace and name)."""
    out: dict[str, str] = {}
    for se in sorted(entries, key=lambda e: (e.meta.namespace, e.meta.name)):
        for host in se.hosts:
            out.setdefault(fqdn(host, se.meta.namespace, domain), se.meta.namespace)
    return out


# --- CF03 DestinationRule subset selecting no pods ---------------------------------------------------------


def check_empty_subsets(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """CF03: a DestinationRule subset whose labels match no running pod of the host's Service (the subset's labels
    matched against the endpoint's labels: the pod's with istiod's topology labels over them), or a
    DestinationRule whose host is no Service or ServiceEntry."""
    severity = alert_severity(settings, "CF03")
    domain, cluster = settings.istio.cluster_domain, settings.istio.cluster_id
    services = ServiceIndex(snapshot.get(r.SERVICES.key), domain)
    pods = pod_index(snapshot)
    entries: dict[str, list[ServiceEntryInfo]] = defaultdict(list)
    for se in snapshot.get(r.SERVICE_ENTRIES.key):
        for h in se.hosts:
            entries[fqdn(h, se.meta.namespace, domain)].append(se)
    findings = []
    for dr in snapshot.get(r.DESTINATION_RULES.key):
        if not dr.host or "*" in dr.host:
            continue
        host = fqdn(dr.host, dr.meta.namespace, domain)
        matched = services.matching(host)
        if not matched and host not in entries:
            message = f"spec.host={dr.host}: {host} is no Service or ServiceEntry (IST0174, KIA0202)"
            findings.append(Finding("CF03", severity, dr.meta.namespace, "DestinationRule", dr.meta.name, message))
            continue
        targets: list[tuple[str, Iterable[tuple[str, str]]]] = [
            (s.namespace, s.selector) for s in matched if s.selector
        ]
        targets += [(se.meta.namespace, se.workload_selector) for se in entries.get(host, ()) if se.workload_selector]
        if not targets:
            continue  # endpoints not chosen by labels (manual endpoints, static ServiceEntry): nothing to match
        for subset in dr.subsets:
            if not subset.labels:
                continue
            if any(pods.select_endpoints(ns, selector, subset.labels, cluster) for ns, selector in targets):
                continue
            if any(k == NETWORK for k, _ in subset.labels):
                continue  # a pod without the label gets its network from mesh networks, which are not read here
            message = (
                f"spec.subsets[{subset.index}] {subset.name} ({selector_text(subset.labels)}) selects none of the "
                f"pods of {host}: requests to it get 503 UH, istiod counts pilot_eds_no_instances (IST0173, KIA0203)"
            )
            findings.append(Finding("CF03", severity, dr.meta.namespace, "DestinationRule", dr.meta.name, message))
    return finish(CF03_EMPTY_SUBSETS, findings)


# --- CF04 Service port without protocol --------------------------------------------------------------------


def check_unnamed_ports(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """CF04: ports of Services the mesh reaches whose name and appProtocol give Istio no protocol."""
    severity = alert_severity(settings, "CF04")
    findings = []
    for svc in mesh_reachable(snapshot, pod_index(snapshot)):
        if svc.type == "ExternalName" or is_control_plane(svc.labels):
            continue
        for i, port in enumerate(svc.ports):
            if port_protocol(port) != UNSUPPORTED:
                continue
            field = (
                f"spec.ports[{i}].appProtocol={port.app_protocol}"
                if port.app_protocol
                else f"spec.ports[{i}].name={port.name or '(none)'}"
            )
            code = "IST0118, KIA0602" if port.app_protocol else "IST0118, KIA0601"
            message = f"{field} (port {port.port}) names no protocol: Istio treats it as plain TCP ({code})"
            findings.append(Finding("CF04", severity, svc.namespace, "Service", svc.name, message))
    return finish(CF04_UNNAMED_PORTS, findings)


# --- CF05 same target port, different protocols ------------------------------------------------------------


def check_protocol_conflicts(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """CF05: Services selecting the same pods declare one target port with different protocols (CP06's cause)."""
    severity = alert_severity(settings, "CF05")
    pods = pod_index(snapshot)
    first: dict[int, ServiceInfo] = {}  # pod position -> the first Service selecting it
    shared: dict[int, list[ServiceInfo]] = {}  # pods selected by several Services (few: no list per pod)
    for svc in snapshot.get(r.SERVICES.key):
        if svc.type == "ExternalName" or not svc.selector:
            continue
        for i in pods.select_ids(svc.namespace, svc.selector):
            if i in first:
                shared.setdefault(i, [first[i]]).append(svc)
            else:
                first[i] = svc
    findings = []
    seen: set[tuple[str, ...]] = set()
    for i, svcs in shared.items():
        group = tuple(sorted(f"{s.namespace}/{s.name}" for s in svcs))
        if group in seen:
            continue
        seen.add(group)
        pod = pods.pods[i]
        ports: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for svc in sorted(svcs, key=lambda s: s.name):
            for port in svc.ports:
                if port.protocol.upper() == "UDP":
                    continue
                protocol = port_protocol(port)
                protocol = "auto-detected" if protocol == UNSUPPORTED else protocol
                ports[port.target_port][protocol].append(f"{svc.name}:{port.port}")
        kind, name = pod.workload
        for target, protocols in sorted(ports.items()):
            if len(protocols) < 2:
                continue
            parts = "; ".join(f"{proto} in {', '.join(where)}" for proto, where in sorted(protocols.items()))
            last = sorted(w.split(":")[0] for ws in protocols.values() for w in ws)[-1]
            message = (
                f"target port {target} of {kind} {name} is {parts}: istiod builds one inbound listener per port "
                "and counts pilot_conflict_inbound_listener"
            )
            findings.append(Finding("CF05", severity, pod.namespace, "Service", last, message))
    return finish(CF05_PROTOCOL_CONFLICTS, findings)


# --- CF06 DestinationRule in a namespace where it cannot apply ---------------------------------------------


def check_misplaced_rules(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """CF06: a DestinationRule outside its host's namespace and the root namespace applies only to clients in its
    own namespace."""
    severity = alert_severity(settings, "CF06")
    domain = settings.istio.cluster_domain
    root = root_namespace(snapshot, settings)
    entries = _entry_namespaces(snapshot.get(r.SERVICE_ENTRIES.key), domain)
    findings = []
    for dr in snapshot.get(r.DESTINATION_RULES.key):
        if not dr.host or dr.workload_selector is not None:
            continue
        host = fqdn(dr.host, dr.meta.namespace, domain)
        owner = host_namespace(host, domain) or entries.get(host)
        if owner is None or dr.meta.namespace in (owner, root):
            continue
        message = (
            f"spec.host={dr.host} is in namespace {owner}: istiod looks for DestinationRules in the client's "
            f"namespace, then {owner}, then {root}, so this one applies only to clients in {dr.meta.namespace}"
        )
        findings.append(Finding("CF06", severity, dr.meta.namespace, "DestinationRule", dr.meta.name, message))
    return finish(CF06_MISPLACED_RULES, findings)


# --- CF07 fault injection with retries/timeouts ------------------------------------------------------------


def check_fault_with_retries(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """CF07: an HTTP route combining fault injection with retries or a timeout."""
    severity = alert_severity(settings, "CF07")
    findings = []
    for vs in snapshot.get(r.VIRTUAL_SERVICES.key):
        for route in vs.http:
            if not route.fault or not (route.retries or route.timeout):
                continue
            also = " and ".join(
                x
                for x in ("retries" if route.retries else "", f"timeout {route.timeout}" if route.timeout else "")
                if x
            )
            message = f"{route.path}.fault is set together with {also}: Istio does not support both on one route"
            findings.append(Finding("CF07", severity, vs.meta.namespace, "VirtualService", vs.meta.name, message))
    return finish(CF07_FAULT_WITH_RETRIES, findings)


# --- CF08 Gateway servers istiod drops when it merges the Gateways of one workload ---------------------------


def is_gateway_pod(pod: PodInfo) -> bool:
    """A gateway runs the proxy as its only container (a sidecar runs beside the application)."""
    return pod.containers == ("istio-proxy",)


def _gateway_order(gw: GatewayInfo) -> tuple[float, str, str]:
    return (gw.meta.created or 0.0, gw.meta.name, gw.meta.namespace)


def _dropped_message(dropped: Dropped) -> str:
    server, keeper = dropped.server, dropped.keeper
    what = f"spec.servers[{server.index}] port {server.port}"
    if dropped.kind == "tls-host":
        return (
            f"{what} host {dropped.host} is already served with TLS by {keeper.where}: istiod drops this server "
            "(pilot_total_rejected_configs) and its hosts fail (IST0145, KIA0301)"
        )
    same = "this Gateway's" if keeper.gateway is dropped.gateway else keeper.where.split(" spec.")[0] + "'s"
    if dropped.kind == "protocol":
        bind = f" on bind {server.bind}" if server.bind else ""
        why = (
            f"{server.protocol or '(no protocol)'} cannot share the port{bind} with the "
            f"{keeper.server.protocol or '(no protocol)'} server {same} spec.servers[{keeper.server.index}] "
            "(istiod merges HTTP with HTTP only)"
        )
    else:
        name = server.port_name or "(none)"
        why = f"HTTPS port name {name} is already used by {same} spec.servers[{keeper.server.index}]"
    return f"{what}: {why}: istiod drops this server (pilot_total_rejected_configs) and its hosts fail (IST0145)"


def check_gateway_conflicts(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """CF08: a server of a Gateway that istiod drops when it merges the Gateways applied to the same gateway pods
    (oldest first): a TLS host another TLS server already has on the port, a protocol it cannot merge with the
    port's plain-text server (TCP beside HTTP, two TCP servers, HTTPS beside HTTP), a reused HTTPS route name."""
    severity = alert_severity(settings, "CF08")
    gateways = sorted(snapshot.get(r.GATEWAYS.key), key=_gateway_order)
    pods = pod_index(snapshot)
    groups: dict[str, list[GatewayInfo]] = {}
    for gw in gateways:
        # an empty selector applies the Gateway to every gateway workload (pods running only istio-proxy)
        chosen = pods.select(None, gw.selector) if gw.selector else [p for p in pods.pods if is_gateway_pod(p)]
        keys = {f"{p.namespace}/{p.name}" for p in chosen} or {"selector:" + selector_text(gw.selector)}
        for key in keys:
            groups.setdefault(key, []).append(gw)
    by_members: dict[tuple[str, ...], list[GatewayInfo]] = {}
    for members in groups.values():
        by_members.setdefault(tuple(f"{g.meta.namespace}/{g.meta.name}" for g in members), members)
    findings = []
    for members in by_members.values():
        for dropped in dropped_servers(members):
            gw = dropped.gateway
            findings.append(
                Finding("CF08", severity, gw.meta.namespace, "Gateway", gw.meta.name, _dropped_message(dropped))
            )
    return finish(CF08_GATEWAY_CONFLICTS, findings)


# --- CF09 ServiceEntry without addresses -------------------------------------------------------------------


def check_entries_without_address(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """CF09: a ServiceEntry with TCP ports, no addresses and no allocated address, unless DNS capture with address
    auto-allocation gives it one."""
    severity = alert_severity(settings, "CF09")
    configs = [m for m in meshes(snapshot) if not m.error]
    capture = bool(configs) and all(m.metadata("ISTIO_META_DNS_CAPTURE") == "true" for m in configs)
    allocate = capture and all(
        "true" in (m.metadata("ISTIO_META_DNS_AUTO_ALLOCATE"), m.metadata("PILOT_ENABLE_IP_AUTOALLOCATE"))
        for m in configs
    )
    findings = []
    for se in snapshot.get(r.SERVICE_ENTRIES.key):
        if se.addresses or se.allocated or allocate:
            continue
        tcp = [p for p in se.ports if p.protocol in ("", "TCP")]
        if not tcp:
            continue
        state = "DNS capture is on without address auto-allocation" if capture else "DNS capture is off"
        message = (
            f"spec.ports[{tcp[0].index}] {tcp[0].number}/TCP with no spec.addresses and {state}: proxies match this "
            "entry's TCP traffic by port alone, so it may have no effect or catch other traffic (IST0134)"
        )
        findings.append(Finding("CF09", severity, se.meta.namespace, "ServiceEntry", se.meta.name, message))
    return finish(CF09_ENTRIES_WITHOUT_ADDRESS, findings)


# --- CF10 / CF11 addresses in the mesh config --------------------------------------------------------------


def cluster_service(host: str, domain: str) -> tuple[str, str] | None:
    """(namespace, name) for in-cluster forms ``name.ns``, ``name.ns.svc`` and ``name.ns.svc.<domain>``."""
    found = kube_service_of(host, domain)
    if found is not None:
        return found
    parts = host.split(".")
    if (len(parts) == 3 and parts[2] == "svc") or (len(parts) == 2 and not parts[1].isdigit()):
        return parts[1], parts[0]
    return None


def _service_port(services: dict[tuple[str, str], ServiceInfo], where: tuple[str, str], port: int) -> str | None:
    """Why ``where``:``port`` is not a Service port, or None when it is."""
    svc = services.get(where)
    if svc is None:
        return f"Service {where[0]}/{where[1]} does not exist"
    if not any(p.port == port for p in svc.ports):
        have = ", ".join(str(p.port) for p in svc.ports) or "none"
        return f"Service {where[0]}/{where[1]} has no port {port} (it has {have})"
    return None


def _mesh_config_state(snapshot: KubeSnapshot) -> list[MeshConfig]:
    configs = meshes(snapshot)
    broken = [m for m in configs if m.error]
    if broken and len(broken) == len(configs):
        raise NotEvaluated("; ".join(f"{m.namespace}/{m.configmap}: {m.error}" for m in broken))
    return configs


def check_discovery_address(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """CF10: ``defaultConfig.discoveryAddress`` must be ``host:port`` naming an existing Service port."""
    severity = alert_severity(settings, "CF10")
    services = {(s.namespace, s.name): s for s in snapshot.get(r.SERVICES.key)}
    findings = []
    for mesh in meshes(snapshot):  # an unreadable mesh config is a finding here, not a blind spot
        if mesh.error:
            findings.append(Finding("CF10", severity, mesh.namespace, "ConfigMap", mesh.configmap, mesh.error))
            continue
        value = mesh.effective_discovery_address
        address = parse_address(value)
        why: str | None
        if address is None:
            why = "is not host:port"
        else:
            where = cluster_service(address.host, settings.istio.cluster_domain)
            why = _service_port(services, where, address.port) if where else None
        if why is None:
            continue
        message = f"defaultConfig.discoveryAddress={value}: {why}; proxies get no configuration from istiod"
        findings.append(Finding("CF10", severity, mesh.namespace, "ConfigMap", mesh.configmap, message))
    return finish(CF10_BAD_DISCOVERY_ADDRESS, findings)


def check_tracing_backends(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """CF11: each tracing backend in the mesh config is a Service port with ready endpoints (and, when the TCP
    probe is on, accepts a connection)."""
    severity = alert_severity(settings, "CF11")
    services = {(s.namespace, s.name): s for s in snapshot.get(r.SERVICES.key)}
    ready: Counter[tuple[str, str]] = Counter()
    for es in snapshot.get(r.ENDPOINTSLICES.key):
        ready[(es.namespace, es.service)] += len(es.ready_addresses)
    probes = snapshot.probes
    findings = []
    for mesh in _mesh_config_state(snapshot):
        if mesh.error:
            continue
        for field, value in tracing_addresses(mesh):
            address = parse_address(value)
            why: str | None = None
            if address is None:
                why = "is not host:port"
            else:
                where = cluster_service(address.host, settings.istio.cluster_domain)
                if where is not None:
                    why = _service_port(services, where, address.port)
                    if why is None and ready[where] == 0:
                        why = f"Service {where[0]}/{where[1]} has no ready endpoints"
                if why is None and settings.checks.CF11.tcp_probe:
                    outcome = probes.get(value)
                    if outcome:
                        why = f"TCP connect failed: {outcome}"
            if why is None:
                continue
            message = f"{field}={value}: {why}; proxies send no traces there"
            findings.append(Finding("CF11", severity, mesh.namespace, "ConfigMap", mesh.configmap, message))
    return finish(CF11_TRACING_UNREACHABLE, findings)


# --- CF12 ExternalName Service for TCP ---------------------------------------------------------------------


# Sidecars tell apart the ExternalName Services on one wildcard listener by Host (HTTP) or by SNI (HTTPS, TLS).
BY_NAME_PROTOCOLS = HTTP_PROTOCOLS | {"HTTPS", "TLS"}


def check_externalname_tcp(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """CF12: an ExternalName Service the mesh reaches with a port that sidecars route by port alone: not HTTP
    (routed by Host) and not HTTPS or TLS (routed by SNI)."""
    severity = alert_severity(settings, "CF12")
    findings = []
    for svc in mesh_reachable(snapshot, pod_index(snapshot)):
        if svc.type != "ExternalName":
            continue
        tcp = [(i, p) for i, p in enumerate(svc.ports) if port_protocol(p) not in BY_NAME_PROTOCOLS]
        if not tcp:
            continue
        i, port = tcp[0]
        label = f"{port.name or '(unnamed)'} {port.port}"
        message = (
            f"spec.ports[{i}] ({label}) is TCP toward {svc.external_name or '(no externalName)'}: proxies route TCP "
            "by port, so requests can reach another database on the same port (IST0150)"
        )
        findings.append(Finding("CF12", severity, svc.namespace, "Service", svc.name, message))
    return finish(CF12_EXTERNALNAME_TCP, findings)


# --- CF13 gateway Service with externalTrafficPolicy Local -------------------------------------------------


def check_local_traffic_gateways(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """CF13: an ingress gateway Service with ``externalTrafficPolicy: Local`` while some nodes run no gateway pod."""
    severity = alert_severity(settings, "CF13")
    selector = settings.checks.CF13.gateway_selector
    pods = pod_index(snapshot)
    nodes = {n.name for n in snapshot.get(r.NODES.key)}
    findings = []
    for svc in snapshot.get(r.SERVICES.key):
        if svc.external_traffic_policy != "Local" or svc.type not in ("LoadBalancer", "NodePort") or not svc.selector:
            continue
        gateway_pods = [p for p in service_pods(pods, svc) if matches(selector, p.labels)]
        if not gateway_pods:
            continue
        with_pods = {p.node for p in gateway_pods if p.node}
        without = sorted(nodes - with_pods)
        if not without:
            continue
        message = (
            f"spec.externalTrafficPolicy=Local with gateway pods on {plural(len(with_pods & nodes), 'node')} of "
            f"{len(nodes)}: clients on the other {len(without)} (e.g. {without[0]}) cannot reach the load-balancer "
            "address"
        )
        findings.append(Finding("CF13", severity, svc.namespace, "Service", svc.name, message))
    return finish(CF13_LOCAL_TRAFFIC_GATEWAYS, findings)


# --- CF14 full tracing sampling ----------------------------------------------------------------------------


def check_full_sampling(snapshot: KubeSnapshot, settings: Settings, now: float) -> CheckResult:
    """CF14: tracing sampling at or above the threshold, in the mesh config or a Telemetry resource."""
    severity = alert_severity(settings, "CF14")
    limit = settings.checks.CF14.max_sampling_percent
    findings = []
    for mesh in _mesh_config_state(snapshot):
        if not mesh.error and mesh.sampling is not None and mesh.sampling >= limit:
            message = (
                f"defaultConfig.tracing.sampling={mesh.sampling:g}: every proxy traces {mesh.sampling:g} % of requests"
            )
            findings.append(Finding("CF14", severity, mesh.namespace, "ConfigMap", mesh.configmap, message))
    for telemetry in snapshot.get(r.TELEMETRIES.key):
        for field, value in telemetry.sampling:
            if value >= limit:
                scope = "the selected workloads" if telemetry.selector else "every workload in scope"
                message = f"{field}={value:g}: {scope} traces {value:g} % of requests"
                findings.append(
                    Finding("CF14", severity, telemetry.meta.namespace, "Telemetry", telemetry.meta.name, message)
                )
    return finish(CF14_FULL_SAMPLING, findings)


_CM = r.istio_configmaps
CHECKS = (
    CheckDef("CF01", "kubernetes",
             lambda s: [r.DESTINATION_RULES, r.PEER_AUTHENTICATIONS, r.SERVICES, r.PODS, r.NODES, _CM(s)],
             check_tls_conflicts),
    CheckDef("CF02", "kubernetes", lambda s: [r.VIRTUAL_SERVICES, r.DESTINATION_RULES, r.SERVICE_ENTRIES, _CM(s)],
             check_undefined_subsets),
    CheckDef("CF03", "kubernetes", lambda s: [r.DESTINATION_RULES, r.SERVICES, r.SERVICE_ENTRIES, r.PODS, r.NODES],
             check_empty_subsets),
    CheckDef("CF04", "kubernetes", lambda s: [r.SERVICES, r.NAMESPACES, r.PODS, _CM(s)], check_unnamed_ports),
    CheckDef("CF05", "kubernetes", lambda s: [r.SERVICES, r.PODS], check_protocol_conflicts),
    CheckDef("CF06", "kubernetes", lambda s: [r.DESTINATION_RULES, r.SERVICE_ENTRIES, _CM(s)], check_misplaced_rules),
    CheckDef("CF07", "kubernetes", lambda s: [r.VIRTUAL_SERVICES], check_fault_with_retries),
    CheckDef("CF08", "kubernetes", lambda s: [r.GATEWAYS, r.PODS], check_gateway_conflicts),
    CheckDef("CF09", "kubernetes", lambda s: [r.SERVICE_ENTRIES, _CM(s)], check_entries_without_address),
    CheckDef("CF10", "kubernetes", lambda s: [r.SERVICES, _CM(s)], check_discovery_address),
    CheckDef("CF11", "kubernetes", lambda s: [r.SERVICES, r.ENDPOINTSLICES, _CM(s)], check_tracing_backends),
    CheckDef("CF12", "kubernetes", lambda s: [r.SERVICES, r.NAMESPACES, r.PODS, _CM(s)], check_externalname_tcp),
    CheckDef("CF13", "kubernetes", lambda s: [r.SERVICES, r.PODS, r.NODES], check_local_traffic_gateways),
    CheckDef("CF14", "kubernetes", lambda s: [r.TELEMETRIES, _CM(s)], check_full_sampling),
)  # fmt: skip
