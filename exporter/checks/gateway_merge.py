"""Which Gateway servers istiod drops when it merges the Gateways of one gateway workload (CF08).

istiod merges every Gateway that applies to a gateway proxy, oldest first, server by server
(``mergeGateways`` in ``pilot/pkg/model/gateway.go``), and skips a server it cannot place beside the ones it
already has, counting ``pilot_total_rejected_configs``:

- a server with a ``tls`` block naming a host another TLS server on the port already has, on the same bind;
- a server on a port that already has a plain-text server on the same bind, unless both are HTTP
  (``canMergeProtocols``: HTTP merges with HTTP; TCP with anything, HTTP with TCP or HTTPS, do not);
- an HTTPS server whose route name (port, port name, Gateway) another HTTPS server on the port already uses.

Ports are taken as written: the Service port translation of the legacy selector is not modelled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from exporter.sources.kube.istio_projections import GatewayInfo, GatewayServer

HTTP = frozenset({"HTTP", "HTTP2", "HTTP_PROXY", "GRPC", "GRPC-WEB"})
PASSTHROUGH = frozenset({"PASSTHROUGH", "AUTO_PASSTHROUGH"})


@dataclass(frozen=True)
class Placed:
    gateway: GatewayInfo
    server: GatewayServer

    @property
    def where(self) -> str:
        return f"Gateway {self.gateway.meta.namespace}/{self.gateway.meta.name} spec.servers[{self.server.index}]"


@dataclass(frozen=True)
class Dropped:
    """A server istiod skips, why, and the server already in its place."""

    gateway: GatewayInfo
    server: GatewayServer
    kind: str  # "tls-host", "protocol" or "route-name"
    keeper: Placed
    host: str = ""  # the duplicate host (kind "tls-host")


def is_http(server: GatewayServer) -> bool:
    """HTTP, or HTTPS terminated at the gateway (``gateway.IsHTTPServer``)."""
    return server.protocol in HTTP or (server.protocol == "HTTPS" and server.tls_mode not in PASSTHROUGH)


def is_tls(server: GatewayServer) -> bool:
    """A tls block on a non-HTTP protocol (``gateway.IsTLSServer``)."""
    return server.tls and server.protocol not in HTTP


def can_merge(new: str, existing: str) -> bool:
    """``canMergeProtocols(new, existing)``: only HTTP joins an HTTP server."""
    return (new in HTTP or new == existing) and existing in HTTP


def route_name(gw: GatewayInfo, server: GatewayServer) -> str:
    """``gatewayRDSRouteName``: HTTP servers share ``http.<port>``, each terminated HTTPS server has its own."""
    bind = f".{server.bind}" if server.bind else ""
    if server.protocol in HTTP:
        return f"http.{server.port}{bind}"
    if server.protocol == "HTTPS" and server.tls_mode not in PASSTHROUGH:
        return f"https.{server.port}.{server.port_name}.{gw.meta.name}.{gw.meta.namespace}{bind}"
    return ""


@dataclass
class _Merge:
    ports: set[int] = field(default_factory=set)
    plain: dict[int, Placed] = field(default_factory=dict)  # the first plain-text server of a port
    tls_hosts: dict[int, dict[str, Placed]] = field(default_factory=dict)
    routes: dict[str, Placed] = field(default_factory=dict)
    dropped: list[Dropped] = field(default_factory=list)

    def drop(self, placed: Placed, kind: str, keeper: Placed, host: str = "") -> None:
        self.dropped.append(Dropped(placed.gateway, placed.server, kind, keeper, host))

    def add(self, placed: Placed) -> None:
        server, port = placed.server, placed.server.port
        if server.tls:
            known = self.tls_hosts.setdefault(port, {})
            duplicate = next((h for h in server.hosts if h in known and known[h].server.bind == server.bind), None)
            if duplicate is not None:
                self.drop(placed, "tls-host", known[duplicate], duplicate)
                return
            for host in server.hosts:
                known[host] = placed
        route = route_name(placed.gateway, server)
        if port not in self.ports:
            self.ports.add(port)
            if not is_tls(server):
                self.plain[port] = placed
            if is_http(server):
                self.routes[route] = placed
            return
        current = self.plain.get(port)
        if current is not None:
            if current.server.bind == server.bind and not can_merge(server.protocol, current.server.protocol):
                self.drop(placed, "protocol", current)
            return  # merged with it, or a listener of its own on another bind
        if not is_tls(server):
            self.plain[port] = placed
            if is_http(server):
                self.routes[route] = placed
            return
        if is_http(server):
            if route in self.routes:
                self.drop(placed, "route-name", self.routes[route])
                return
            self.routes[route] = placed


def dropped_servers(gateways: Iterable[GatewayInfo]) -> list[Dropped]:
    """The servers istiod skips when it merges ``gateways`` (in istiod's order: oldest first) for one proxy."""
    merge = _Merge()
    for gw in gateways:
        for server in gw.servers:
            if server.port:
                merge.add(Placed(gw, server))
    return merge.dropped
