"""Projections: full Kubernetes objects in, the few fields the checks read out (immutable)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Generic, TypeVar

from exporter.timestamps import parse_time


def _str_map(value: Any) -> tuple[tuple[str, str], ...]:
    """Sorted (key, value) pairs; keys and values are interned: across 50,000 pods they repeat a lot."""
    if not isinstance(value, dict):
        return ()
    return tuple(sorted((sys.intern(str(k)), sys.intern(str(v))) for k, v in value.items()))


def _i(value: Any) -> str:
    return sys.intern(str(value or ""))


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


@dataclass(frozen=True, slots=True)
class Condition:
    type: str
    status: str
    reason: str
    message: str


def _conditions(status: dict[str, Any]) -> tuple[Condition, ...]:
    out = []
    for c in status.get("conditions") or []:
        if isinstance(c, dict):
            out.append(
                Condition(
                    str(c.get("type") or ""),
                    str(c.get("status") or ""),
                    str(c.get("reason") or ""),
                    str(c.get("message") or ""),
                )
            )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class NamespaceInfo:
    name: str
    phase: str
    labels: tuple[tuple[str, str], ...]
    deletion_timestamp: float | None
    finalizers: tuple[str, ...]  # spec.finalizers (e.g. kubernetes) and metadata.finalizers
    conditions: tuple[Condition, ...]

    def label(self, key: str) -> str | None:
        return dict(self.labels).get(key)


def project_namespace(obj: dict[str, Any]) -> NamespaceInfo:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    finalizers = [str(f) for f in (spec.get("finalizers") or []) + (meta.get("finalizers") or [])]
    return NamespaceInfo(
        name=str(meta["name"]),
        phase=str(status.get("phase") or ""),
        labels=_str_map(meta.get("labels")),
        deletion_timestamp=parse_time(meta.get("deletionTimestamp")),
        finalizers=tuple(dict.fromkeys(finalizers)),
        conditions=_conditions(status),
    )


@dataclass(frozen=True, slots=True)
class WorkloadInfo:
    """A Deployment or StatefulSet: how many replicas it wants and how many are ready."""

    kind: str
    namespace: str
    name: str
    labels: tuple[tuple[str, str], ...]
    desired: int
    ready: int
    available: int
    updated: int
    generation: int
    observed_generation: int
    conditions: tuple[Condition, ...]

    def label(self, key: str) -> str | None:
        return dict(self.labels).get(key)


def _project_workload(kind: str, obj: dict[str, Any]) -> WorkloadInfo:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    replicas = spec.get("replicas")
    return WorkloadInfo(
        kind=kind,
        namespace=str(meta.get("namespace") or ""),
        name=str(meta["name"]),
        labels=_str_map(meta.get("labels")),
        desired=_int(replicas, 1),  # the API server defaults spec.replicas to 1
        ready=_int(status.get("readyReplicas")),
        available=_int(status.get("availableReplicas")),
        updated=_int(status.get("updatedReplicas")),
        generation=_int(meta.get("generation")),
        observed_generation=_int(status.get("observedGeneration")),
        conditions=_conditions(status),
    )


def project_deployment(obj: dict[str, Any]) -> WorkloadInfo:
    return _project_workload("Deployment", obj)


def project_statefulset(obj: dict[str, Any]) -> WorkloadInfo:
    return _project_workload("StatefulSet", obj)


# Pod annotations and labels the checks read; everything else is dropped.
POD_ANNOTATIONS = (
    "sidecar.istio.io/inject",
    "sidecar.istio.io/rewriteAppHTTPProbers",
    "proxy.istio.io/config",
    "prometheus.io/scrape",
    "ambient.istio.io/redirection",
)


@dataclass(frozen=True, slots=True)
class Probe:
    kind: str  # liveness, readiness, startup
    handler: str  # httpGet, tcpSocket, grpc, exec
    port: str


@dataclass(frozen=True, slots=True)
class ContainerState:
    name: str
    init: bool
    ready: bool
    running: bool
    restarts: int
    waiting_reason: str
    terminated_reason: str
    terminated_exit_code: int | None
    last_reason: str
    last_exit_code: int | None
    last_finished: float | None
    last_message: str


@dataclass(frozen=True, slots=True)
class PodInfo:
    namespace: str
    name: str
    labels: tuple[tuple[str, str], ...]
    annotations: tuple[tuple[str, str], ...]
    owner_kind: str
    owner_name: str
    node: str
    ip: str
    host_network: bool
    created: float | None
    deleting: bool
    phase: str
    containers: tuple[str, ...]
    init_containers: tuple[tuple[str, str], ...]  # (name, restartPolicy)
    probes: tuple[Probe, ...]
    states: tuple[ContainerState, ...]
    grace_period: int

    def label(self, key: str) -> str | None:
        return dict(self.labels).get(key)

    def annotation(self, key: str) -> str | None:
        return dict(self.annotations).get(key)

    @property
    def has_sidecar(self) -> bool:
        """An istio-proxy container, or the native-sidecar form (init container, restartPolicy Always)."""
        return "istio-proxy" in self.containers or ("istio-proxy", "Always") in self.init_containers

    @property
    def sidecar_running(self) -> bool:
        return any(s.name == "istio-proxy" and s.running for s in self.states)

    @property
    def workload(self) -> tuple[str, str]:
        """(kind, name) of the controller: a ReplicaSet's pods count as its Deployment's."""
        if self.owner_kind == "ReplicaSet":
            pod_hash = self.label("pod-template-hash")
            if pod_hash and self.owner_name.endswith("-" + pod_hash):
                return "Deployment", self.owner_name[: -len(pod_hash) - 1]
        if self.owner_kind == "Job":
            return "Job", self.owner_name
        if self.owner_kind:
            return self.owner_kind, self.owner_name
        return "Pod", self.name


# The replicas of a workload have the same probes and, while healthy, containers in the same state, so pods share
# these immutable objects: with 50,000 pods the cache holds thousands of them rather than 200,000. Less memory, and
# fewer objects for each full garbage collection to scan while the loop waits (bench_loop_stall). Each table is
# bounded; an object made before a table was emptied stays valid, equal ones made later are just not shared with it.
SHARED_OBJECTS = 8_192
_T = TypeVar("_T")


class _Shared(Generic[_T]):
    """One object per distinct value (the tables key on the value itself: a key tuple holding objects the
    collector tracks would be one more object per entry for it to scan)."""

    def __init__(self) -> None:
        self._table: dict[_T, _T] = {}

    def __call__(self, value: _T) -> _T:
        found = self._table.get(value)
        if found is None:
            if len(self._table) >= SHARED_OBJECTS:
                self._table.clear()
            found = self._table[value] = value
        return found


# Arguments of atomic types only, so the caches' key tuples are not tracked by the collector either.
_shared_probe = lru_cache(maxsize=SHARED_OBJECTS)(Probe)
_shared_state = lru_cache(maxsize=SHARED_OBJECTS)(ContainerState)
_shared_probes: _Shared[tuple[Probe, ...]] = _Shared()
_shared_states: _Shared[tuple[ContainerState, ...]] = _Shared()


def _probes(container: dict[str, Any]) -> list[Probe]:
    out = []
    for kind in ("liveness", "readiness", "startup"):
        probe = container.get(f"{kind}Probe")
        if not isinstance(probe, dict):
            continue
        for handler in ("httpGet", "tcpSocket", "grpc", "exec"):
            if isinstance(probe.get(handler), dict):
                out.append(_shared_probe(kind, handler, _i(probe[handler].get("port", ""))))
                break
    return out


def _state(status: dict[str, Any], init: bool) -> ContainerState:
    state = status.get("state") or {}
    last = (status.get("lastState") or {}).get("terminated") or {}
    terminated = state.get("terminated") or {}
    exit_code = terminated.get("exitCode")
    last_code = last.get("exitCode")
    return _shared_state(
        name=_i(status.get("name")),
        init=init,
        ready=status.get("ready") is True,
        running=isinstance(state.get("running"), dict),
        restarts=_int(status.get("restartCount")),
        waiting_reason=_i((state.get("waiting") or {}).get("reason")),
        terminated_reason=_i(terminated.get("reason")),
        terminated_exit_code=exit_code if isinstance(exit_code, int) else None,
        last_reason=_i(last.get("reason")),
        last_exit_code=last_code if isinstance(last_code, int) else None,
        last_finished=parse_time(last.get("finishedAt")),
        last_message=str(last.get("message") or "")[:300],
    )


def project_pod(obj: dict[str, Any]) -> PodInfo:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    owners = [o for o in meta.get("ownerReferences") or [] if isinstance(o, dict)]
    owner = next((o for o in owners if o.get("controller")), owners[0] if owners else {})
    annotations = meta.get("annotations") or {}
    containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
    inits = [c for c in spec.get("initContainers") or [] if isinstance(c, dict)]
    states = [_state(s, False) for s in status.get("containerStatuses") or [] if isinstance(s, dict)]
    states += [_state(s, True) for s in status.get("initContainerStatuses") or [] if isinstance(s, dict)]
    grace = spec.get("terminationGracePeriodSeconds")
    return PodInfo(
        namespace=_i(meta.get("namespace")),
        name=str(meta["name"]),
        labels=_str_map(meta.get("labels")),
        annotations=_str_map({k: v for k, v in annotations.items() if k in POD_ANNOTATIONS})
        if isinstance(annotations, dict)
        else (),
        owner_kind=_i(owner.get("kind")),
        owner_name=_i(owner.get("name")),
        node=_i(spec.get("nodeName")),
        ip=str(status.get("podIP") or ""),
        host_network=spec.get("hostNetwork") is True,
        created=parse_time(meta.get("creationTimestamp")),
        deleting=bool(meta.get("deletionTimestamp")),
        phase=_i(status.get("phase")),
        containers=tuple(_i(c.get("name")) for c in containers),
        init_containers=tuple((_i(c.get("name")), _i(c.get("restartPolicy"))) for c in inits),
        probes=_shared_probes(tuple(p for c in containers if c.get("name") != "istio-proxy" for p in _probes(c))),
        states=_shared_states(tuple(states)),
        grace_period=_int(grace, 30),
    )


@dataclass(frozen=True, slots=True)
class HPAInfo:
    namespace: str
    name: str
    target_kind: str
    target_name: str
    target_api_version: str


def project_hpa(obj: dict[str, Any]) -> HPAInfo:
    meta = obj.get("metadata") or {}
    ref = (obj.get("spec") or {}).get("scaleTargetRef") or {}
    return HPAInfo(
        namespace=str(meta.get("namespace") or ""),
        name=str(meta["name"]),
        target_kind=str(ref.get("kind") or ""),
        target_name=str(ref.get("name") or ""),
        target_api_version=str(ref.get("apiVersion") or ""),
    )


@dataclass(frozen=True, slots=True)
class EventInfo:
    namespace: str
    object_kind: str
    object_name: str
    reason: str
    message: str
    count: int
    last_seen: float | None


def project_event(obj: dict[str, Any]) -> EventInfo:
    meta = obj.get("metadata") or {}
    involved = obj.get("involvedObject") or obj.get("regarding") or {}
    series = obj.get("series") or {}
    last = (
        parse_time(obj.get("lastTimestamp"))
        or parse_time(series.get("lastObservedTime"))
        or parse_time(obj.get("eventTime"))
        or parse_time(meta.get("creationTimestamp"))
    )
    count = _int(obj.get("count")) or _int(series.get("count")) or 1
    return EventInfo(
        namespace=str(meta.get("namespace") or involved.get("namespace") or ""),
        object_kind=str(involved.get("kind") or ""),
        object_name=str(involved.get("name") or ""),
        reason=str(obj.get("reason") or ""),
        message=str(obj.get("message") or obj.get("note") or "")[:500],
        count=count,
        last_seen=last,
    )


@dataclass(frozen=True, slots=True)
class WebhookInfo:
    configuration: str
    kind: str  # validating or mutating
    name: str
    failure_policy: str
    service_namespace: str
    service_name: str
    service_port: int
    url: str
    ca_bundle: str  # base64 PEM, as in the object


def _project_webhooks(kind: str, obj: dict[str, Any]) -> tuple[WebhookInfo, ...]:
    meta = obj.get("metadata") or {}
    out = []
    for hook in obj.get("webhooks") or []:
        if not isinstance(hook, dict):
            continue
        client = hook.get("clientConfig") or {}
        service = client.get("service") or {}
        out.append(
            WebhookInfo(
                configuration=str(meta["name"]),
                kind=kind,
                name=str(hook.get("name") or ""),
                failure_policy=str(hook.get("failurePolicy") or "Fail"),
                service_namespace=str(service.get("namespace") or ""),
                service_name=str(service.get("name") or ""),
                service_port=_int(service.get("port"), 443),
                url=str(client.get("url") or ""),
                ca_bundle=str(client.get("caBundle") or ""),
            )
        )
    return tuple(out)


def project_validating_webhooks(obj: dict[str, Any]) -> tuple[WebhookInfo, ...]:
    return _project_webhooks("validating", obj)


def project_mutating_webhooks(obj: dict[str, Any]) -> tuple[WebhookInfo, ...]:
    return _project_webhooks("mutating", obj)


@dataclass(frozen=True, slots=True)
class ServicePort:
    name: str
    port: int
    target_port: str
    protocol: str
    app_protocol: str


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    namespace: str
    name: str
    labels: tuple[tuple[str, str], ...]
    type: str
    selector: tuple[tuple[str, str], ...]
    ports: tuple[ServicePort, ...]
    external_name: str
    external_traffic_policy: str
    export_to: tuple[str, ...] = ()  # annotation networking.istio.io/exportTo; () is the mesh default


def _export_to(annotations: Any) -> tuple[str, ...]:
    value = annotations.get("networking.istio.io/exportTo") if isinstance(annotations, dict) else None
    if not isinstance(value, str):
        return ()
    return tuple(sys.intern(t.strip()) for t in value.split(",") if t.strip())


def project_service(obj: dict[str, Any]) -> ServiceInfo:
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    ports = tuple(
        ServicePort(
            name=str(p.get("name") or ""),
            port=_int(p.get("port")),
            target_port=str(p.get("targetPort") if p.get("targetPort") is not None else p.get("port", "")),
            protocol=str(p.get("protocol") or "TCP"),
            app_protocol=str(p.get("appProtocol") or ""),
        )
        for p in spec.get("ports") or []
        if isinstance(p, dict)
    )
    return ServiceInfo(
        namespace=str(meta.get("namespace") or ""),
        name=str(meta["name"]),
        labels=_str_map(meta.get("labels")),
        type=str(spec.get("type") or "ClusterIP"),
        selector=_str_map(spec.get("selector")),
        ports=ports,
        external_name=str(spec.get("externalName") or ""),
        external_traffic_policy=str(spec.get("externalTrafficPolicy") or ""),
        export_to=_export_to(meta.get("annotations")),
    )


@dataclass(frozen=True, slots=True)
class EndpointSliceInfo:
    namespace: str
    name: str
    service: str
    ports: tuple[tuple[str, int], ...]  # (name, port)
    ready_addresses: tuple[str, ...]
    not_ready: int


def project_endpointslice(obj: dict[str, Any]) -> EndpointSliceInfo:
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    ready: list[str] = []
    not_ready = 0
    for ep in obj.get("endpoints") or []:
        if not isinstance(ep, dict):
            continue
        conditions = ep.get("conditions") or {}
        addresses = [str(a) for a in ep.get("addresses") or []]
        if conditions.get("ready") is False:  # unset means ready
            not_ready += len(addresses)
        else:
            ready.extend(addresses)
    ports = tuple(
        (str(p.get("name") or ""), _int(p.get("port"))) for p in obj.get("ports") or [] if isinstance(p, dict)
    )
    return EndpointSliceInfo(
        namespace=str(meta.get("namespace") or ""),
        name=str(meta["name"]),
        service=str(labels.get("kubernetes.io/service-name") or "") if isinstance(labels, dict) else "",
        ports=ports,
        ready_addresses=tuple(ready),
        not_ready=not_ready,
    )


@dataclass(frozen=True, slots=True)
class NodeInfo:
    name: str
    kernel: str
    os_image: str
    container_runtime: str
    locality: str = ""  # "region/zone/subzone" from the node's topology labels, as istiod reads them; "" if none


# (GA label, legacy label) of each locality part, in istiod's order (getPodLocality)
LOCALITY_LABELS = (
    ("topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region"),
    ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone"),
    ("topology.istio.io/subzone", ""),
)


def node_locality(labels: dict[str, Any]) -> str:
    """istiod's locality of a node's pods: region/zone/subzone from the GA label, else the legacy one."""
    parts = []
    for ga, legacy in LOCALITY_LABELS:
        value = labels.get(ga) or (labels.get(legacy) if legacy else "")
        parts.append(value if isinstance(value, str) else "")
    return "/".join(parts) if any(parts) else ""


def project_node(obj: dict[str, Any]) -> NodeInfo:
    meta = obj.get("metadata") or {}
    info = (obj.get("status") or {}).get("nodeInfo") or {}
    labels = meta.get("labels")
    return NodeInfo(
        name=str(meta["name"]),
        kernel=str(info.get("kernelVersion") or ""),
        os_image=str(info.get("osImage") or ""),
        container_runtime=str(info.get("containerRuntimeVersion") or ""),
        locality=sys.intern(node_locality(labels)) if isinstance(labels, dict) else "",
    )


@dataclass(frozen=True, slots=True)
class CRDInfo:
    name: str
    established: bool


def project_crd(obj: dict[str, Any]) -> CRDInfo:
    meta = obj.get("metadata") or {}
    conditions = (obj.get("status") or {}).get("conditions") or []
    established = any(
        isinstance(c, dict) and c.get("type") == "Established" and c.get("status") == "True" for c in conditions
    )
    return CRDInfo(name=str(meta["name"]), established=established)


@dataclass(frozen=True, slots=True)
class ConfigMapInfo:
    namespace: str
    name: str
    data: tuple[tuple[str, str], ...]  # kept only for Istio's own ConfigMaps

    def get(self, key: str) -> str | None:
        return dict(self.data).get(key)


def project_istio_configmap(obj: dict[str, Any]) -> ConfigMapInfo:
    """Keeps the data of the mesh and injector ConfigMaps (``istio``, ``istio-<rev>``,
    ``istio-sidecar-injector*``); other ConfigMaps are reduced to their names."""
    meta = obj.get("metadata") or {}
    name = str(meta["name"])
    keep = name == "istio" or name.startswith(("istio-sidecar-injector", "istio-"))
    data = obj.get("data") if keep else None
    return ConfigMapInfo(str(meta.get("namespace") or ""), name, _str_map(data))
