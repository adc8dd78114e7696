"""Istio's resolution rules: host names, exportTo, DestinationRule lookup order, PeerAuthentication layers."""

from __future__ import annotations

import pytest

from exporter.checks.istio_model import (
    UNSUPPORTED,
    DestinationRuleIndex,
    PeerAuthentications,
    PodIndex,
    ServiceIndex,
    fqdn,
    host_matches,
    host_namespace,
    kube_service_of,
    port_protocol,
    visible,
)
from exporter.sources.kube.istio_projections import project_destination_rule, project_peer_authentication
from exporter.sources.kube.projections import ServicePort, project_pod, project_service
from tests.unit.helpers import tracked_reachable

D = "cluster.local"


def port(name: str = "", number: int = 9080, protocol: str = "TCP", app: str = "") -> ServicePort:
    return ServicePort(name, number, str(number), protocol, app)


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        (port("http"), "HTTP"),
        (port("http-web"), "HTTP"),
        (port("HTTP2"), "HTTP2"),
        (port("grpc-web"), "GRPC-Web"),
        (port("grpc-webby"), "GRPC-Web"),  # Istio checks the "grpc-web" prefix before splitting on "-"
        (port("grpc"), "GRPC"),
        (port("tcp-db"), "TCP"),
        (port("tls"), "TLS"),
        (port("https"), "HTTPS"),
        (port("mongo"), "Mongo"),
        (port("redis"), "Redis"),
        (port("mysql"), "MySQL"),
        (port("http_proxy"), "HTTP_PROXY"),
        (port("web"), UNSUPPORTED),
        (port(""), UNSUPPORTED),
        (port("", 3306), "TCP"),  # well-known ports
        (port("", 25), "TCP"),
        (port("", 53), "TCP"),
        (port("", 27017), "TCP"),
        (port("web", 8080, "UDP"), "UDP"),
        (port("web", app="http"), "HTTP"),
        (port("http", app="web"), UNSUPPORTED),  # appProtocol wins over the name
        (port("x", app="kubernetes.io/h2c"), "HTTP2"),
        (port("x", app="kubernetes.io/ws"), "HTTP"),
        (port("x", app="kubernetes.io/wss"), "HTTPS"),
        (port("kubernetes.io/h2c"), UNSUPPORTED),  # only as appProtocol
    ],
)
def test_port_protocol_follows_istio_convert_protocol(p, expected):
    assert port_protocol(p) == expected


@pytest.mark.parametrize(
    ("host", "namespace", "expected"),
    [
        ("reviews", "bookinfo", "reviews.bookinfo.svc.cluster.local"),
        ("reviews.bookinfo", "default", "reviews.bookinfo"),  # a dot: taken as written, as Istio does
        ("reviews.bookinfo.svc.cluster.local", "x", "reviews.bookinfo.svc.cluster.local"),
        ("*", "bookinfo", "*"),
        ("*.example.com", "bookinfo", "*.example.com"),
        ("10.0.0.1", "bookinfo", "10.0.0.1"),
        ("::1", "bookinfo", "::1"),
        ("", "bookinfo", ""),
        ("reviews", "", "reviews"),
    ],
)
def test_fqdn_resolves_short_names_only(host, namespace, expected):
    assert fqdn(host, namespace, D) == expected


@pytest.mark.parametrize(
    ("pattern", "host", "expected"),
    [
        ("a.b.c", "a.b.c", True),
        ("*", "anything", True),
        ("*.b.c", "a.b.c", True),
        ("*.b.c", "x.a.b.c", True),
        ("*.b.c", "*.a.b.c", True),
        ("*.b.c", "b.c", False),
        ("*.b.c", "a.b.d", False),
        ("a.b.c", "x.b.c", False),
        ("a.b.c", "*.b.c", False),
    ],
)
def test_host_matches(pattern, host, expected):
    assert host_matches(pattern, host) is expected


def test_kube_hosts():
    assert kube_service_of("r.ns.svc.cluster.local", D) == ("ns", "r")
    assert kube_service_of("r.ns.svc.other.local", D) is None
    assert kube_service_of("a.r.ns.svc.cluster.local", D) is None
    assert kube_service_of(".ns.svc.cluster.local", D) is None
    assert host_namespace("*.ns.svc.cluster.local", D) == "ns"
    assert host_namespace("r.ns.svc.cluster.local", D) == "ns"
    assert host_namespace("r.svc.cluster.local", D) is None
    assert host_namespace("example.com", D) is None


@pytest.mark.parametrize(
    ("export", "owner", "client", "expected"),
    [
        ((), "a", "b", True),  # default "*"
        (("*",), "a", "b", True),
        ((".",), "a", "a", True),
        ((".",), "a", "b", False),
        (("b",), "a", "b", True),
        (("c",), "a", "b", False),
        (("~",), "a", "a", False),
    ],
)
def test_export_to(export, owner, client, expected):
    assert visible(export, owner, client, ("*",)) is expected


def test_export_to_falls_back_to_the_mesh_default():
    assert not visible((), "a", "b", (".",))
    assert visible((), "a", "a", (".",))


def dr(name: str, namespace: str, host: str, subsets=(), export=None, selector=None):
    spec = {"host": host, "subsets": [{"name": s, "labels": {"version": s}} for s in subsets]}
    if export is not None:
        spec["exportTo"] = export
    if selector is not None:
        spec["workloadSelector"] = {"matchLabels": selector}
    return project_destination_rule({"metadata": {"name": name, "namespace": namespace}, "spec": spec})


def test_destination_rule_lookup_prefers_client_then_service_then_root_namespace():
    host = "reviews.shop.svc.cluster.local"
    rules = [
        dr("client", "frontend", host, ["c"]),
        dr("service", "shop", "reviews", ["s"]),
        dr("root", "istio-system", host, ["r"]),
    ]
    index = DestinationRuleIndex(rules, D, "istio-system", ("*",))
    assert index.lookup("frontend", host, "shop").rules[0].meta.name == "client"
    assert index.lookup("other", host, "shop").rules[0].meta.name == "service"
    assert index.lookup("shop", host, "shop").rules[0].meta.name == "service"
    index = DestinationRuleIndex(rules[2:], D, "istio-system", ("*",))
    assert index.lookup("other", host, "shop").namespace == "istio-system"
    assert DestinationRuleIndex(rules[:1], D, "istio-system", ("*",)).lookup("other", host, "shop") is None


def test_destination_rule_lookup_respects_export_to_and_skips_workload_selectors():
    host = "reviews.shop.svc.cluster.local"
    private = dr("private", "shop", "reviews", ["p"], export=["."])
    index = DestinationRuleIndex([private], D, "istio-system", ("*",))
    assert index.lookup("frontend", host, "shop") is None
    assert index.lookup("shop", host, "shop") is not None
    hidden = dr("hidden", "shop", "reviews", ["h"], export=["~"])
    assert DestinationRuleIndex([hidden], D, "istio-system", ("*",)).lookup("shop", host, "shop") is None
    exported = dr("exported", "shop", "reviews", ["e"], export=["frontend"])
    assert DestinationRuleIndex([exported], D, "istio-system", ("*",)).lookup("frontend", host, "shop") is not None
    scoped = dr("scoped", "shop", "reviews", ["w"], selector={"app": "x"})
    assert DestinationRuleIndex([scoped], D, "istio-system", ("*",)).lookup("shop", host, "shop") is None


def test_destination_rule_lookup_takes_the_most_specific_host_and_merges_equal_ones():
    host = "reviews.shop.svc.cluster.local"
    rules = [
        dr("all", "shop", "*", ["any"]),
        dr("ns", "shop", "*.shop.svc.cluster.local", ["ns"]),
        dr("exact-a", "shop", "reviews", ["a"]),
        dr("exact-b", "shop", host, ["b"]),
    ]
    index = DestinationRuleIndex(rules, D, "istio-system", ("*",))
    assert index.lookup("shop", host, "shop").subsets == {"a", "b"}
    index = DestinationRuleIndex(rules[:2], D, "istio-system", ("*",))
    assert index.lookup("shop", host, "shop").subsets == {"ns"}
    index = DestinationRuleIndex(rules[:1], D, "istio-system", ("*",))
    assert index.lookup("shop", host, "shop").subsets == {"any"}


def pod(name: str, namespace: str, labels: dict[str, str], phase: str = "Running", deleting: bool = False):
    meta = {"name": name, "namespace": namespace, "labels": labels}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return project_pod({"metadata": meta, "spec": {"containers": [{"name": "app"}]}, "status": {"phase": phase}})


def test_pod_index_selects_by_every_label_and_skips_finished_pods():
    pods = PodIndex([
        pod("a", "shop", {"app": "web", "version": "v1"}),
        pod("b", "shop", {"app": "web", "version": "v2"}),
        pod("c", "other", {"app": "web", "version": "v1"}),
        pod("d", "shop", {"app": "web", "version": "v1"}, phase="Succeeded"),
        pod("e", "shop", {"app": "web", "version": "v1"}, phase="Failed"),
        pod("f", "shop", {"app": "web", "version": "v1"}, deleting=True),
    ])  # fmt: skip
    assert [p.name for p in pods.select("shop", [("app", "web"), ("version", "v1")])] == ["a"]
    assert [p.name for p in pods.select("shop", [("app", "web")])] == ["a", "b"]
    assert [p.name for p in pods.select(None, [("version", "v1")])] == ["a", "c"]
    assert [p.name for p in pods.select("shop", [])] == ["a", "b"]
    assert [p.name for p in pods.select(None, [])] == ["a", "b", "c"]
    assert pods.select("shop", [("app", "db")]) == []
    assert pods.namespaces() == {"shop", "other"}


def test_service_index_matches_exact_and_wildcard_hosts():
    svcs = [project_service({"metadata": {"name": n, "namespace": ns}, "spec": {}}) for n, ns in
            [("a", "x"), ("b", "x"), ("a", "y")]]  # fmt: skip
    index = ServiceIndex(svcs, D)
    assert [s.namespace for s in index.matching("a.y.svc.cluster.local")] == ["y"]
    assert index.matching("c.y.svc.cluster.local") == []
    assert sorted(s.name for s in index.matching("*.x.svc.cluster.local")) == ["a", "b"]
    assert len(index.matching("*.svc.cluster.local")) == 3
    assert index.matching("*.example.com") == []


def pa(name: str, namespace: str, mode: str | None, selector=None, ports=None, created="2026-01-01T00:00:00Z"):
    spec = {}
    if mode is not None:
        spec["mtls"] = {"mode": mode}
    if selector is not None:
        spec["selector"] = {"matchLabels": selector}
    if ports is not None:
        spec["portLevelMtls"] = {str(k): {"mode": v} for k, v in ports.items()}
    meta = {"name": name, "namespace": namespace, "creationTimestamp": created}
    return project_peer_authentication({"metadata": meta, "spec": spec})


def test_peer_authentication_layers_compose_as_istiod_does():
    web = pod("w", "shop", {"app": "web"})
    assert PeerAuthentications([], "istio-system").mode(web, 8080).mode == "PERMISSIVE"
    mesh = pa("default", "istio-system", "STRICT")
    layers = PeerAuthentications([mesh], "istio-system")
    assert (layers.mode(web, None).mode, layers.mode(web, None).source) == ("STRICT", "istio-system/default")
    ns = pa("default", "shop", "UNSET")
    assert PeerAuthentications([mesh, ns], "istio-system").mode(web, None).mode == "STRICT"  # UNSET inherits
    ns = pa("default", "shop", "PERMISSIVE")
    assert PeerAuthentications([mesh, ns], "istio-system").mode(web, None).source == "shop/default"
    workload = pa("web", "shop", "DISABLE", selector={"app": "web"}, ports={8080: "STRICT"})
    layers = PeerAuthentications([mesh, ns, workload], "istio-system")
    assert layers.mode(web, None).mode == "DISABLE"
    assert layers.mode(web, 9090).mode == "DISABLE"
    assert (layers.mode(web, 8080).mode, layers.mode(web, 8080).source) == ("STRICT", "shop/web (port 8080)")
    other = pod("o", "shop", {"app": "other"})
    assert layers.mode(other, 8080).mode == "PERMISSIVE"


def test_oldest_namespace_policy_wins_and_root_namespace_pods_use_the_mesh_policy():
    old = pa("old", "shop", "STRICT", created="2026-01-01T00:00:00Z")
    new = pa("new", "shop", "DISABLE", created="2026-02-01T00:00:00Z")
    assert PeerAuthentications([new, old], "istio-system").mode(pod("w", "shop", {}), None).source == "shop/old"
    mesh = pa("default", "istio-system", "STRICT")
    root_pod = pod("g", "istio-system", {})
    assert PeerAuthentications([mesh], "istio-system").mode(root_pod, None).mode == "STRICT"
    port_only_namespace = pa("ns", "shop", None, ports={8080: "DISABLE"})  # portLevelMtls needs a selector
    assert (
        PeerAuthentications([port_only_namespace], "istio-system").mode(pod("w", "shop", {}), 8080).mode == "PERMISSIVE"
    )


def test_edges_of_names_indexes_and_layers():
    assert port_protocol(port("http-web-x")) == "HTTP"
    assert host_namespace(".ns.svc.cluster.local", D) is None and host_namespace("r..svc.cluster.local", D) is None
    pods = PodIndex([pod("a", "shop", {"app": "web"})])
    assert pods.select("empty", []) == [] and pods.select("empty", [("app", "web")]) == []
    assert ServiceIndex([], D).matching("*.empty.svc.cluster.local") == []
    # an exact host beats a wildcard of the same length
    same_length = [dr("w", "x", "*.x.svc.cluster.local", ["w"]), dr("e", "x", "a.x.svc.cluster.local", ["e"])]
    index = DestinationRuleIndex(same_length, D, "root", ("*",))
    assert index.lookup("x", "a.x.svc.cluster.local", "x").subsets == {"e"}
    root_wildcard = DestinationRuleIndex(
        [dr("r", "root", "*.x.svc.cluster.local", ["r"], export=["frontend"])], D, "root", ("*",)
    )
    assert root_wildcard.lookup("frontend", "a.x.svc.cluster.local", "x").namespace == "root"
    assert root_wildcard.lookup("other", "a.x.svc.cluster.local", "x") is None
    web = pod("w", "shop", {"app": "web"})
    assert PeerAuthentications([], "istio-system").mode(web, None).source == "default"
    unset_port = pa("web", "shop", "STRICT", selector={"app": "web"}, ports={8080: "UNSET"})
    assert PeerAuthentications([unset_port], "istio-system").mode(web, 8080) == PeerAuthentications(
        [unset_port], "istio-system").mode(web, None)  # fmt: skip


def test_pod_index_keeps_a_pod_only_when_every_label_of_the_selector_matches():
    pods = PodIndex([
        pod("a", "shop", {"app": "web", "version": "v1"}),
        pod("b", "shop", {"app": "web", "version": "v2"}),
        pod("c", "shop", {"app": "db", "version": "v1"}),
        pod("d", "shop", {"app": "web", "version": "v1"}),
    ])  # fmt: skip
    assert [p.name for p in pods.select("shop", [("app", "web"), ("version", "v1")])] == ["a", "d"]
    assert [p.name for p in pods.select("shop", [("version", "v1"), ("app", "db")])] == ["c"]
    assert pods.select("shop", [("app", "db"), ("version", "v2")]) == []
    assert pods.select("shop", [("app", "web"), ("version", "v3")]) == []


def test_pod_index_adds_no_object_for_the_collector_to_scan_beyond_its_pods():
    pods = [pod(f"p{i}", f"ns{i % 10}", {"app": f"a{i % 50}", "version": f"v{i % 3}"}) for i in range(1_000)]
    alone = tracked_reachable(pods)
    index = PodIndex(pods)
    assert tracked_reachable(index) <= alone + 5  # the index, its list and three dicts; not one entry per label


def test_endpoint_labels_are_the_pod_labels_with_istiods_topology_over_them():
    from exporter.sources.kube.projections import project_node

    def placed(labels: dict[str, str], node: str = "n1"):
        meta = {"name": "p", "namespace": "shop", "labels": labels}
        return project_pod({"metadata": meta, "spec": {"nodeName": node, "containers": [{"name": "app"}]},
                            "status": {"phase": "Running"}})  # fmt: skip

    nodes = [project_node({"metadata": {"name": "n1", "labels": {"topology.kubernetes.io/region": "r1",
                                                                  "topology.kubernetes.io/zone": "z1"}}})]  # fmt: skip
    index = PodIndex([], nodes)
    assert index.endpoint_labels(placed({"app": "web", "kubernetes.io/hostname": "mine"}), "c1") == {
        "app": "web", "kubernetes.io/hostname": "n1", "topology.kubernetes.io/region": "r1",
        "topology.kubernetes.io/zone": "z1", "topology.istio.io/cluster": "c1",
    }  # fmt: skip
    # a locality label wins over the node: dots stand for slashes unless the value has slashes itself
    for labels, expected in (
        ({"istio-locality": "r2.z2.s2"}, ("r2", "z2", "s2")),
        ({"istio-locality": "r2/z.2"}, ("r2", "z.2", None)),
        ({"topology.istio.io/locality": "r3", "istio-locality": "r2.z2"}, ("r3", None, None)),
        ({"istio-locality": "a.b.c.d"}, ("a", "b", "c")),
    ):
        got = index.endpoint_labels(placed(labels), "c1")
        keys = ("topology.kubernetes.io/region", "topology.kubernetes.io/zone", "topology.istio.io/subzone")
        assert tuple(got.get(k) for k in keys) == expected, labels
    unscheduled = index.endpoint_labels(placed({"kubernetes.io/hostname": "mine"}, node=""), "c1")
    assert unscheduled == {"kubernetes.io/hostname": "mine", "topology.istio.io/cluster": "c1"}
