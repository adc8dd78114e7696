"""Projections of Istio's configuration objects: only the fields the configuration checks (CF01-CF21) read.

Every field is read defensively: a wrongly typed field reads as absent, so a malformed object can make a
check report less, never crash it. Field paths are kept (``spec.http[0].route[1]``) so findings can name them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from exporter.timestamps import parse_time

Labels = tuple[tuple[str, str], ...]


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _l(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _s(value: Any) -> str:
    return sys.intern(value) if isinstance(value, str) else ""


def _n(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _strs(value: Any) -> tuple[str, ...]:
    return tuple(_s(v) for v in _l(value) if isinstance(v, str))


def _labels(value: Any) -> Labels:
    return tuple(sorted((_s(k), _s(v)) for k, v in _d(value).items() if isinstance(v, str)))


@dataclass(frozen=True, slots=True)
class Meta:
    namespace: str
    name: str
    created: float | None
    labels: Labels


def _meta(obj: dict[str, Any]) -> Meta:
    meta = _d(obj.get("metadata"))
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError("metadata.name is missing")
    return Meta(_s(meta.get("namespace")), name, parse_time(meta.get("creationTimestamp")), _labels(meta.get("labels")))


# --- DestinationRule ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TLSSetting:
    path: str  # e.g. spec.trafficPolicy.portLevelSettings[0].tls.mode
    mode: str  # DISABLE, SIMPLE, MUTUAL, ISTIO_MUTUAL
    port: int  # 0: every port
    ca_certificates: bool = False  # tls.caCertificates is set
    credential_name: bool = False  # tls.credentialName is set
    skip_verify: bool = False  # tls.insecureSkipVerify is true


@dataclass(frozen=True, slots=True)
class Subset:
    index: int
    name: str
    labels: Labels
    tls: tuple[TLSSetting, ...]


@dataclass(frozen=True, slots=True)
class DestinationRuleInfo:
    meta: Meta
    host: str
    export_to: tuple[str, ...]
    subsets: tuple[Subset, ...]
    tls: tuple[TLSSetting, ...]  # top-level and port-level settings
    workload_selector: Labels | None  # a DR with a workloadSelector applies to those client workloads only


def _tls_setting(tls: dict[str, Any], path: str, port: int) -> TLSSetting:
    return TLSSetting(
        path,
        _s(tls.get("mode")).upper(),
        port,
        ca_certificates=bool(_s(tls.get("caCertificates"))),
        credential_name=bool(_s(tls.get("credentialName"))),
        skip_verify=tls.get("insecureSkipVerify") is True,
    )


def _tls(policy: Any, path: str) -> list[TLSSetting]:
    policy = _d(policy)
    out = []
    tls = _d(policy.get("tls"))
    if _s(tls.get("mode")):
        out.append(_tls_setting(tls, f"{path}.tls.mode", 0))
    for i, port_setting in enumerate(_l(policy.get("portLevelSettings"))):
        port_setting = _d(port_setting)
        tls = _d(port_setting.get("tls"))
        number = _n(_d(port_setting.get("port")).get("number"))
        if _s(tls.get("mode")) and number:
            out.append(_tls_setting(tls, f"{path}.portLevelSettings[{i}].tls.mode", number))
    return out


def project_destination_rule(obj: dict[str, Any]) -> DestinationRuleInfo:
    spec = _d(obj.get("spec"))
    subsets = tuple(
        Subset(
            i,
            _s(s.get("name")),
            _labels(s.get("labels")),
            tuple(_tls(s.get("trafficPolicy"), f"spec.subsets[{i}].trafficPolicy")),
        )
        for i, s in enumerate(_d(s) for s in _l(spec.get("subsets")))
    )
    selector = spec.get("workloadSelector")
    return DestinationRuleInfo(
        meta=_meta(obj),
        host=_s(spec.get("host")),
        export_to=_strs(spec.get("exportTo")),
        subsets=subsets,
        tls=tuple(_tls(spec.get("trafficPolicy"), "spec.trafficPolicy")),
        workload_selector=_labels(_d(selector).get("matchLabels")) if isinstance(selector, dict) else None,
    )


# --- VirtualService ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RouteDestination:
    path: str  # spec.http[0].route[1].destination
    host: str
    subset: str
    port: int


@dataclass(frozen=True, slots=True)
class HTTPRoute:
    path: str  # spec.http[0]
    fault: bool
    retries: bool  # retries with attempts > 0
    timeout: str


@dataclass(frozen=True, slots=True)
class VirtualServiceInfo:
    meta: Meta
    hosts: tuple[str, ...]
    gateways: tuple[str, ...]
    export_to: tuple[str, ...]
    destinations: tuple[RouteDestination, ...]
    http: tuple[HTTPRoute, ...]


def _destination(value: Any, path: str) -> RouteDestination | None:
    dest = _d(value)
    host = _s(dest.get("host"))
    if not host:
        return None
    return RouteDestination(path, host, _s(dest.get("subset")), _n(_d(dest.get("port")).get("number")))


def project_virtual_service(obj: dict[str, Any]) -> VirtualServiceInfo:
    spec = _d(obj.get("spec"))
    destinations: list[RouteDestination | None] = []
    http: list[HTTPRoute] = []
    for kind in ("http", "tls", "tcp"):
        for i, route in enumerate(_d(r) for r in _l(spec.get(kind))):
            for j, weighted in enumerate(_l(route.get("route"))):
                destinations.append(
                    _destination(_d(weighted).get("destination"), f"spec.{kind}[{i}].route[{j}].destination")
                )
            if kind != "http":
                continue
            destinations.append(_destination(route.get("mirror"), f"spec.http[{i}].mirror"))
            for j, mirror in enumerate(_l(route.get("mirrors"))):
                destinations.append(
                    _destination(_d(mirror).get("destination"), f"spec.http[{i}].mirrors[{j}].destination")
                )
            retries = route.get("retries")
            http.append(
                HTTPRoute(
                    path=f"spec.http[{i}]",
                    fault=bool(_d(route.get("fault"))),
                    retries=isinstance(retries, dict) and _n(retries.get("attempts")) > 0,
                    timeout=_s(route.get("timeout")),
                )
            )
    return VirtualServiceInfo(
        meta=_meta(obj),
        hosts=_strs(spec.get("hosts")),
        gateways=_strs(spec.get("gateways")),
        export_to=_strs(spec.get("exportTo")),
        destinations=tuple(d for d in destinations if d is not None),
        http=tuple(http),
    )


# --- Gateway -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GatewayServer:
    index: int
    port: int
    protocol: str
    bind: str
    hosts: tuple[str, ...]
    tls: bool  # the server has a tls block (what istiod keys SNI duplicates on)
    port_name: str = ""
    tls_mode: str = ""  # tls.mode (SIMPLE when the block sets none), "" without a tls block


@dataclass(frozen=True, slots=True)
class GatewayInfo:
    meta: Meta
    selector: Labels
    servers: tuple[GatewayServer, ...]


def project_gateway(obj: dict[str, Any]) -> GatewayInfo:
    spec = _d(obj.get("spec"))
    servers = []
    for i, server in enumerate(_d(s) for s in _l(spec.get("servers"))):
        port = _d(server.get("port"))
        servers.append(
            GatewayServer(
                index=i,
                port=_n(port.get("number")),
                protocol=_s(port.get("protocol")).upper(),
                bind=_s(server.get("bind")),
                hosts=_strs(server.get("hosts")),
                tls=isinstance(server.get("tls"), dict),
                port_name=_s(port.get("name")),
                tls_mode=(_s(_d(server.get("tls")).get("mode")).upper() or "SIMPLE")
                if isinstance(server.get("tls"), dict)
                else "",
            )
        )
    return GatewayInfo(meta=_meta(obj), selector=_labels(spec.get("selector")), servers=tuple(servers))


# --- ServiceEntry ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServiceEntryPort:
    index: int
    number: int
    protocol: str
    name: str


@dataclass(frozen=True, slots=True)
class ServiceEntryInfo:
    meta: Meta
    hosts: tuple[str, ...]
    addresses: tuple[str, ...]
    allocated: bool  # status.addresses set by istiod's IP auto-allocation
    ports: tuple[ServiceEntryPort, ...]
    resolution: str
    export_to: tuple[str, ...]
    workload_selector: Labels | None


def project_service_entry(obj: dict[str, Any]) -> ServiceEntryInfo:
    spec = _d(obj.get("spec"))
    ports = tuple(
        ServiceEntryPort(i, _n(p.get("number")), _s(p.get("protocol")).upper(), _s(p.get("name")))
        for i, p in enumerate(_d(p) for p in _l(spec.get("ports")))
    )
    selector = spec.get("workloadSelector")
    return ServiceEntryInfo(
        meta=_meta(obj),
        hosts=_strs(spec.get("hosts")),
        addresses=_strs(spec.get("addresses")),
        allocated=bool(_l(_d(obj.get("status")).get("addresses"))),
        ports=ports,
        resolution=_s(spec.get("resolution")).upper() or "NONE",
        export_to=_strs(spec.get("exportTo")),
        workload_selector=_labels(_d(selector).get("labels")) if isinstance(selector, dict) else None,
    )


# --- PeerAuthentication ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PeerAuthenticationInfo:
    meta: Meta
    selector: Labels | None  # None: namespace-wide (mesh-wide in the root namespace)
    mode: str  # UNSET, DISABLE, PERMISSIVE, STRICT
    port_modes: tuple[tuple[int, str], ...]  # portLevelMtls: (target port, mode)


def project_peer_authentication(obj: dict[str, Any]) -> PeerAuthenticationInfo:
    spec = _d(obj.get("spec"))
    selector = spec.get("selector")
    match = _labels(_d(selector).get("matchLabels")) if isinstance(selector, dict) else ()
    port_modes = []
    for port, setting in _d(spec.get("portLevelMtls")).items():
        mode = _s(_d(setting).get("mode")).upper()
        if str(port).isdigit() and mode:
            port_modes.append((int(port), mode))
    return PeerAuthenticationInfo(
        meta=_meta(obj),
        selector=match or None,
        mode=_s(_d(spec.get("mtls")).get("mode")).upper() or "UNSET",
        port_modes=tuple(sorted(port_modes)),
    )


# --- Telemetry ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TelemetryInfo:
    meta: Meta
    selector: Labels | None
    sampling: tuple[tuple[str, float], ...]  # (field path, randomSamplingPercentage)


def project_telemetry(obj: dict[str, Any]) -> TelemetryInfo:
    spec = _d(obj.get("spec"))
    selector = spec.get("selector")
    sampling = []
    for i, tracing in enumerate(_d(t) for t in _l(spec.get("tracing"))):
        value = tracing.get("randomSamplingPercentage")
        if isinstance(value, int | float) and not isinstance(value, bool):
            sampling.append((f"spec.tracing[{i}].randomSamplingPercentage", float(value)))
    return TelemetryInfo(
        meta=_meta(obj),
        selector=_labels(_d(selector).get("matchLabels")) or None if isinstance(selector, dict) else None,
        sampling=tuple(sampling),
    )


# --- Sidecar -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SidecarInfo:
    meta: Meta
    selector: Labels | None  # workloadSelector.labels; None (or empty): every workload of the namespace


def project_sidecar(obj: dict[str, Any]) -> SidecarInfo:
    spec = _d(obj.get("spec"))
    selector = _labels(_d(spec.get("workloadSelector")).get("labels"))
    return SidecarInfo(meta=_meta(obj), selector=selector or None)


# --- AuthorizationPolicy -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuthorizationPolicyInfo:
    meta: Meta
    selector: Labels | None  # selector.matchLabels; None: every workload of the namespace (the mesh: root)
    targeted: bool  # spec.targetRef(s): bound to a Gateway or Service (waypoints), not to workloads by labels
    action: str
    source_namespaces: tuple[tuple[str, str], ...]  # (field path, namespaces/notNamespaces entry)


def project_authorization_policy(obj: dict[str, Any]) -> AuthorizationPolicyInfo:
    spec = _d(obj.get("spec"))
    selector = spec.get("selector")
    namespaces = []
    for i, rule in enumerate(_d(x) for x in _l(spec.get("rules"))):
        for j, source in enumerate(_d(_d(f).get("source")) for f in _l(rule.get("from"))):
            for field in ("namespaces", "notNamespaces"):
                for k, ns in enumerate(_l(source.get(field))):
                    if isinstance(ns, str):
                        namespaces.append((f"spec.rules[{i}].from[{j}].source.{field}[{k}]", _s(ns)))
    return AuthorizationPolicyInfo(
        meta=_meta(obj),
        selector=_labels(_d(selector).get("matchLabels")) or None if isinstance(selector, dict) else None,
        targeted=bool(_d(spec.get("targetRef")) or _l(spec.get("targetRefs"))),
        action=_s(spec.get("action")).upper() or "ALLOW",
        source_namespaces=tuple(namespaces),
    )
