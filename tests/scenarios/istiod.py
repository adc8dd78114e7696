"""istiod scenarios: DP01-DP03, CP03-CP08, CP10, CP11, MH02 (syncz, pilot metrics and push status)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from exporter.sources.errors import SourceError
from exporter.sources.istiod.metrics import parse_metrics
from exporter.sources.istiod.snapshot import IstiodSnapshot, Replica, ReplicaData, SidecarPod
from exporter.sources.istiod.syncz import parse_syncz
from tests.scenarios import Scenario

CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
LDS = "type.googleapis.com/envoy.config.listener.v3.Listener"
RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"


def proxy(name: str, *, eds_acked: str = "e1", lds_error: str = "", version: str = "1.29.2") -> dict[str, Any]:
    def res(sent: str, acked: str, error: str = "") -> dict[str, str]:
        return {"sent": sent, "acked": acked, "sentTime": "1970-01-01T00:00:00Z", "lastError": error}

    return {"cluster_id": "Kubernetes", "proxy": name, "proxy_type": "sidecar", "istio_version": version,
            "resources": {CDS: res("c1", "c1"), LDS: res("l1", "l1", lds_error), RDS: res("r1", "r1"),
                          EDS: res("e1", eds_acked)}}  # fmt: skip


BASE_METRICS = """# TYPE istio_build gauge
istio_build{component="pilot",tag="1.29.2"} 1
# TYPE pilot_total_xds_rejects counter
pilot_total_xds_rejects{type="lds"} %(rejects)s
# TYPE sidecar_injection_failure_total counter
sidecar_injection_failure_total 0
"""


def replica(name: str = "istiod-a", proxies: Sequence[dict[str, Any]] = (), *, metrics: str = "", rejects: int = 0,
            push: dict[str, Any] | None = None, rejected: tuple[tuple[str, str, float], ...] = (),
            convergence: tuple[tuple[float, float], ...] = (), error: SourceError | None = None) -> ReplicaData:  # fmt: skip
    r = Replica(name, "istio-system", "default", f"http://{name}:15014")
    if error is not None:
        return ReplicaData(r, error=error)
    text = BASE_METRICS % {"rejects": rejects} + metrics
    return ReplicaData(r, None, parse_syncz(list(proxies)), parse_metrics(text), "", push or {},
                       convergence_delta=convergence, rejected_delta=rejected)  # fmt: skip


def istiod(now: float, *replicas: ReplicaData, stale_since: dict[tuple[str, str, str], float] | None = None,
           sidecars: Sequence[SidecarPod] = ()) -> IstiodSnapshot:  # fmt: skip
    return IstiodSnapshot(tuple(replicas) or (replica(),), stale_since or {}, tuple(sidecars), now)


STALE_KEY = ("istiod-a", "web-1.shop", "EDS")
SIDECARS = (("shop", "web-1", 0.0), ("shop", "web-2", 0.0))
PUSH_NO_INSTANCES = {"pilot_eds_no_instances": {"outbound|9080|v1-bug|reviews.bookinfo.svc.cluster.local": {}}}
CONFLICT = "# TYPE {0} gauge\n{0} {1}\n"
REJECTED = '# TYPE pilot_total_rejected_configs counter\npilot_total_rejected_configs{{name="bookinfo/gw-2",type="gateway"}} {0}\n'
ROOT_CERT = "# TYPE citadel_server_root_cert_expiry_timestamp gauge\ncitadel_server_root_cert_expiry_timestamp {0}\n"
BUCKETS_FAST = ((0.1, 100.0), (1.0, 100.0), (float("inf"), 100.0))
BUCKETS_SLOW = ((0.1, 10.0), (1.0, 20.0), (30.0, 100.0), (float("inf"), 100.0))


def stale(now: float) -> IstiodSnapshot:
    return istiod(now, replica(proxies=[proxy("web-1.shop", eds_acked="e0")]), stale_since={STALE_KEY: now - 600})


SCENARIOS = [
    Scenario("DP01", "stale", lambda n: istiod(n, replica(proxies=[proxy("web-1.shop")])), stale),
    Scenario("CP03", "nack", lambda n: istiod(n, replica(proxies=[proxy("web-1.shop")])),
             lambda n: istiod(n, replica(proxies=[proxy("web-1.shop", lds_error="Error adding/updating listener")],
                                         rejects=1))),
    Scenario("DP02", "disconnected",
             lambda n: istiod(n, replica(proxies=[proxy("web-1.shop"), proxy("web-2.shop")]), sidecars=SIDECARS),
             lambda n: istiod(n, replica(proxies=[proxy("web-1.shop")]), sidecars=SIDECARS)),
    Scenario("DP03", "version-skew", lambda n: istiod(n, replica(proxies=[proxy("web-1.shop", version="1.28.1")])),
             lambda n: istiod(n, replica(proxies=[proxy("web-1.shop", version="1.24.3")]))),
    Scenario("MH02", "replica-unreadable", lambda n: istiod(n, replica("istiod-a"), replica("istiod-b")),
             lambda n: istiod(n, replica("istiod-a"), replica("istiod-b", error=SourceError(
                 "forbidden", "istiod istiod-b: /debug/syncz answered HTTP 403")))),
    Scenario("CP04", "gateway-rejected", lambda n: istiod(n, replica(metrics=REJECTED.format(3))),
             lambda n: istiod(n, replica(metrics=REJECTED.format(5), rejected=(("gateway", "bookinfo/gw-2", 2.0),)))),
    Scenario("CP05", "subset-without-pods",
             lambda n: istiod(n, replica(metrics=CONFLICT.format("pilot_eds_no_instances", 0))),
             lambda n: istiod(n, replica(metrics=CONFLICT.format("pilot_eds_no_instances", 1),
                                         push=PUSH_NO_INSTANCES))),
    Scenario("CP06", "inbound-conflict",
             lambda n: istiod(n, replica(metrics=CONFLICT.format("pilot_conflict_inbound_listener", 0))),
             lambda n: istiod(n, replica(metrics=CONFLICT.format("pilot_conflict_inbound_listener", 2)))),
    Scenario("CP07", "outbound-conflict",
             lambda n: istiod(n, replica(metrics=CONFLICT.format("pilot_conflict_outbound_listener_tcp_over_current_tcp", 0))),
             lambda n: istiod(n, replica(metrics=CONFLICT.format("pilot_conflict_outbound_listener_tcp_over_current_tcp", 1)))),
    Scenario("CP08", "slow-convergence", lambda n: istiod(n, replica(convergence=BUCKETS_FAST)),
             lambda n: istiod(n, replica(convergence=BUCKETS_SLOW))),
    Scenario("CP10", "duplicate-clusters",
             lambda n: istiod(n, replica(metrics=CONFLICT.format("pilot_duplicate_envoy_clusters", 0))),
             lambda n: istiod(n, replica(metrics=CONFLICT.format("pilot_duplicate_envoy_clusters", 3)))),
    Scenario("CP11", "root-cert-expiring", lambda n: istiod(n, replica(metrics=ROOT_CERT.format(n + 400 * 86400))),
             lambda n: istiod(n, replica(metrics=ROOT_CERT.format(n + 20 * 86400)))),
    Scenario("CP11", "root-cert-expiring-soon",
             lambda n: istiod(n, replica(metrics=ROOT_CERT.format(n + 400 * 86400))),
             lambda n: istiod(n, replica(metrics=ROOT_CERT.format(n + 3 * 86400)))),
]  # fmt: skip
