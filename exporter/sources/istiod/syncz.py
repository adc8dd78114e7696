"""Parse /debug/syncz of any Istio version (1.6 ... current) and classify each proxy's xDS types.

A proxy that reads as it did at the previous poll is the previous poll's object (``previous``): the 20,000
objects of a replica are then long-lived, not new at every poll, and the garbage collector's full
collections (which cost ~60 ms at that size and hold the GIL) are not triggered by each refresh.

Status per type: ``lastError`` set -> ERROR (a NACK); ``sent == ""`` -> NOT_SENT; ``sent == acked``
-> SYNCED; otherwise STALE (including ``acked == ""``: never acknowledged).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from exporter.timestamps import parse_time

SYNCED, STALE, NOT_SENT, ERROR = "SYNCED", "STALE", "NOT_SENT", "ERROR"
STATUSES = (SYNCED, STALE, NOT_SENT, ERROR)

TYPE_URLS = {
    "type.googleapis.com/envoy.config.cluster.v3.Cluster": "CDS",
    "type.googleapis.com/envoy.config.listener.v3.Listener": "LDS",
    "type.googleapis.com/envoy.config.route.v3.RouteConfiguration": "RDS",
    "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment": "EDS",
    "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig": "ECDS",
}
LEGACY_FIELDS = (("cluster", "CDS"), ("listener", "LDS"), ("route", "RDS"), ("endpoint", "EDS"))


class TypeStatus(NamedTuple):
    type: str
    status: str
    error: str
    sent_time: float | None = None  # 1.23+: when the last update was sent
    sent: str = ""  # nonces, kept for STALE types only: a STALE type is confirmed when the same nonce
    acked: str = ""  # is still unacknowledged at the next poll; acked "" means never acknowledged


class ProxySync(NamedTuple):
    proxy: str  # "<pod>.<namespace>" for sidecars and gateways
    cluster_id: str
    proxy_type: str
    istio_version: str
    types: tuple[TypeStatus, ...]

    @property
    def worst(self) -> str:
        found = {t.status for t in self.types}
        for status in (ERROR, STALE, NOT_SENT):
            if status in found:
                return status
        return SYNCED

    def pod_key(self) -> tuple[str, str] | None:
        """(namespace, pod) from the proxy ID ``pod.namespace``."""
        name, sep, namespace = self.proxy.rpartition(".")
        return (namespace, name) if sep and name and namespace else None


class Shared:
    """What the proxies of one document share: identical statuses without error (SYNCED, the common case; 20,000
    proxies x 4 types) and identical sets of them (every proxy whose types are all SYNCED). The garbage collector
    then has one object to scan per proxy, not two."""

    def __init__(self) -> None:
        self.statuses: dict[tuple[str, str], TypeStatus] = {}
        self.sets: dict[tuple[TypeStatus, ...], tuple[TypeStatus, ...]] = {}

    def status(self, name: str, state: str) -> TypeStatus:
        found = self.statuses.get((name, state))
        if found is None:
            found = self.statuses[(name, state)] = TypeStatus(name, state, "")
        return found

    def types(self, types: tuple[TypeStatus, ...]) -> tuple[TypeStatus, ...]:
        return self.sets.setdefault(types, types)


def classify(sent: str, acked: str, error: str = "") -> str:
    if error:
        return ERROR
    if not sent:
        return NOT_SENT
    if sent == acked:
        return SYNCED
    return STALE


def _s(value: Any) -> str:
    return value if isinstance(value, str) else ""


def parse_entry(entry: dict[str, Any], shared: Shared) -> ProxySync:
    resources = entry.get("resources")
    types: list[TypeStatus] = []
    if isinstance(resources, dict) and resources:  # 1.23+: per type URL, with lastError
        for url, status in sorted(resources.items()):
            if not isinstance(status, dict):
                continue
            name = TYPE_URLS.get(url, url.rsplit(".", 1)[-1])
            error = _s(status.get("lastError"))
            state = classify(_s(status.get("sent")), _s(status.get("acked")), error)
            if state == STALE:  # only a STALE type needs its send time and nonces
                sent, acked = _s(status.get("sent")), _s(status.get("acked"))
                types.append(TypeStatus(name, state, error, parse_time(status.get("sentTime")), sent, acked))
            elif error:
                types.append(TypeStatus(name, state, error))
            else:
                types.append(shared.status(name, state))
    else:  # 1.6 ... 1.22: flat *_sent / *_acked fields (extensionconfig_* from 1.14)
        fields = list(LEGACY_FIELDS)
        if "extensionconfig_sent" in entry or "extensionconfig_acked" in entry:
            fields.append(("extensionconfig", "ECDS"))
        for prefix, name in fields:
            sent, acked = _s(entry.get(f"{prefix}_sent")), _s(entry.get(f"{prefix}_acked"))
            state = classify(sent, acked)
            types.append(
                TypeStatus(name, state, "", None, sent, acked) if state == STALE else shared.status(name, state)
            )
    return ProxySync(
        proxy=_s(entry.get("proxy")),
        cluster_id=_s(entry.get("cluster_id")),
        proxy_type=_s(entry.get("proxy_type")) or "sidecar",
        istio_version=_s(entry.get("istio_version")),
        types=shared.types(tuple(types)),
    )


# A proxy as plain tuples of strings: what crosses from the parser process (pickled by C code alone) and what
# ``adopt`` turns back into ProxySync, keeping the previous poll's objects for unchanged proxies.
PlainType = tuple[str, str, str, float | None, str, str]
PlainProxy = tuple[str, str, str, str, tuple[PlainType, ...]]


def to_plain(proxies: tuple[ProxySync, ...]) -> tuple[PlainProxy, ...]:
    plain: dict[int, PlainType] = {}  # a shared TypeStatus stays one object (pickle sends it once)

    def one(t: TypeStatus) -> PlainType:
        found = plain.get(id(t))
        if found is None:
            found = plain[id(t)] = (t.type, t.status, t.error, t.sent_time, t.sent, t.acked)
        return found

    return tuple((p.proxy, p.cluster_id, p.proxy_type, p.istio_version, tuple(map(one, p.types))) for p in proxies)


def adopt(rows: tuple[PlainProxy, ...], previous: Mapping[str, ProxySync] | None = None) -> tuple[ProxySync, ...]:
    """ProxySync from plain tuples; a proxy equal to its ``previous`` entry is that same object."""
    known = previous or {}
    shared: dict[PlainType, TypeStatus] = {}
    sets: dict[tuple[PlainType, ...], tuple[TypeStatus, ...]] = {}
    out: list[ProxySync] = []
    for row in rows:
        old = known.get(row[0])
        if old is not None and old == row:  # a named tuple equals the plain tuple of its fields
            out.append(old)
            continue
        types = sets.get(row[4])
        if types is None:
            types = sets[row[4]] = tuple(shared.get(t) or shared.setdefault(t, TypeStatus(*t)) for t in row[4])
        out.append(ProxySync(row[0], row[1], row[2], row[3], types))
    return tuple(out)


def parse_syncz(data: Any, previous: Mapping[str, ProxySync] | None = None) -> tuple[ProxySync, ...]:
    """The proxies of one replica; raises ValueError when the document is not a syncz list. ``previous``: the
    replica's proxies at the previous poll, by proxy ID; an unchanged proxy is given as that same object."""
    if data is None:
        return ()
    if not isinstance(data, list):
        raise ValueError("syncz is not a JSON list")
    shared = Shared()
    proxies = tuple(parse_entry(e, shared) for e in data if isinstance(e, dict) and isinstance(e.get("proxy"), str))
    if previous:
        proxies = tuple(old if (old := previous.get(p.proxy)) == p else p for p in proxies)
    if data and not proxies:  # entries of a shape we do not know: unknown, not "no proxies"
        raise ValueError(f"none of the {len(data)} syncz entries names a proxy: an unknown syncz format")
    return proxies
