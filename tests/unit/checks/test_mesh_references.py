"""CF15-CF19 on the Bookinfo corpus with one change at a time: references and selectors that name nothing."""

from __future__ import annotations

from typing import Any

import pytest

from exporter.checks import mesh_references as cf
from exporter.config import Settings
from exporter.model import Severity
from exporter.sources.kube.snapshot import KubeSnapshot
from tests.scenarios import config as corpus

NOW = 1_800_000_000.0
world = corpus.changed
obj = corpus.obj
BOOKINFO_VS = ("VirtualService", "bookinfo", "bookinfo")


def found(check, snapshot: KubeSnapshot) -> list[tuple[str, str, str, str]]:
    return [(f.namespace, f.kind, f.name, f.message) for f in check(snapshot, Settings(), NOW).findings]


def names(check, snapshot: KubeSnapshot) -> list[str]:
    return [f"{kind} {ns}/{name}" for ns, kind, name, _ in found(check, snapshot)]


def counts(check, snapshot: KubeSnapshot) -> dict[str, float]:
    return {dict(s.labels)["namespace"]: s.value for s in check(snapshot, Settings(), NOW).samples}


def vs(name: str = "bookinfo", namespace: str = "bookinfo", **spec: Any) -> dict[str, Any]:
    spec.setdefault("http", [{"route": [{"destination": {"host": "productpage", "port": {"number": 9080}}}]}])
    return obj("VirtualService", namespace, name, spec)


def gateway(name: str, namespace: str = "bookinfo", hosts: list[str] | None = None, port: int = 8080,
            selector: dict[str, str] | None = None, **meta: Any) -> dict[str, Any]:  # fmt: skip
    server = {"port": {"number": port, "name": "http", "protocol": "HTTP"}, "hosts": hosts or ["*"]}
    spec = {"selector": {"istio": "ingressgateway"} if selector is None else selector, "servers": [server]}
    return obj("Gateway", namespace, name, spec, metadata=meta)


def pod(name: str, namespace: str, labels: dict[str, str], sidecar: bool = True, **meta: Any) -> dict[str, Any]:
    containers = [{"name": "app", "image": "app"}] + ([{"name": "istio-proxy", "image": "proxy"}] if sidecar else [])
    return obj("Pod", namespace, name, {"nodeName": "node-1", "containers": containers},
               metadata={"labels": labels, **meta}, status={"phase": "Running"})  # fmt: skip


def test_the_base_corpus_is_healthy_for_every_reference_check():
    for check in cf.CHECKS:
        result = check.run(corpus.snapshot(), Settings(), NOW)
        assert result.findings == [] and result.samples == [], check.id


# --- CF15 ---


def test_cf15_a_short_gateway_name_is_looked_up_in_the_virtualservices_namespace():
    snap = world(vs(hosts=["*"], gateways=["public"]), gateway("public", "istio-system"))
    [(ns, kind, name, message)] = found(cf.check_unbound_virtual_services, snap)
    assert (ns, kind, name) == ("bookinfo", "VirtualService", "bookinfo")
    assert message == (
        "spec.gateways[0]=public: Gateway bookinfo/public does not exist; no gateway routes this VirtualService "
        "(IST0101)"
    )
    assert counts(cf.check_unbound_virtual_services, snap) == {"bookinfo": 1}
    assert cf.check_unbound_virtual_services(snap, Settings(), NOW).findings[0].severity == Severity.WARNING


@pytest.mark.parametrize(
    "name", ["istio-system/public", "public.istio-system", "public.istio-system.svc.cluster.local"]
)
def test_cf15_namespaced_and_legacy_gateway_names_resolve_to_the_gateways_namespace(name):
    snap = world(vs(hosts=["*"], gateways=[name]), gateway("public", "istio-system"))
    assert found(cf.check_unbound_virtual_services, snap) == []


def test_cf15_dot_slash_and_mesh_are_the_virtualservices_own():
    assert (
        found(cf.check_unbound_virtual_services, world(vs(hosts=["*"], gateways=["./bookinfo-gateway", "mesh"]))) == []
    )
    [(*_, message)] = found(cf.check_unbound_virtual_services, world(vs(hosts=["*"], gateways=["mesh", "./nope"])))
    assert message.startswith("spec.gateways[1]=./nope: Gateway bookinfo/nope does not exist")


def test_cf15_a_gateway_exposing_none_of_the_hosts_is_ist0132_naming_what_it_has():
    snap = world(gateway("bookinfo-gateway", hosts=["bookinfo.example.com", "*.shop.example.com"]),
                 vs(hosts=["www.bookinfo.example.com"], gateways=["bookinfo-gateway"]))  # fmt: skip
    [(*_, message)] = found(cf.check_unbound_virtual_services, snap)
    assert message == (
        "spec.gateways[0]=bookinfo-gateway: Gateway bookinfo/bookinfo-gateway exposes none of spec.hosts "
        "(www.bookinfo.example.com) to namespace bookinfo (it has *.shop.example.com, bookinfo.example.com): requests "
        "for them there get 404 NR (IST0132)"
    )


@pytest.mark.parametrize(
    ("gateway_hosts", "vs_hosts", "bound"),
    [
        (["*.example.com"], ["a.example.com"], True),
        (["a.example.com"], ["*.example.com"], True),
        (["*.b.example.com"], ["*.example.com"], True),
        (["*.example.com"], ["example.com"], False),
        (["bookinfo/a.example.com"], ["a.example.com"], True),
        (["other/a.example.com"], ["a.example.com"], False),
        (["*/a.example.com"], ["a.example.com"], True),
        (["./a.example.com"], ["a.example.com"], False),  # the Gateway is in istio-system
        (["istio-system/*"], ["a.example.com"], False),
        (["productpage.bookinfo.svc.cluster.local"], ["productpage"], True),
    ],
)
def test_cf15_gateway_hosts_bind_by_overlap_and_by_namespace(gateway_hosts, vs_hosts, bound):
    snap = world(gateway("public", "istio-system", hosts=gateway_hosts),
                 vs(hosts=vs_hosts, gateways=["istio-system/public"]))  # fmt: skip
    assert (found(cf.check_unbound_virtual_services, snap) == []) == bound


def test_cf15_dot_slash_hosts_bind_virtualservices_of_the_gateways_namespace():
    snap = world(gateway("own", hosts=["./a.example.com"]), vs(hosts=["a.example.com"], gateways=["own"]))
    assert found(cf.check_unbound_virtual_services, snap) == []


def test_cf15_each_gateway_entry_is_judged_and_a_virtualservice_without_hosts_is_not():
    snap = world(vs(hosts=["*"], gateways=["a", "bookinfo-gateway", "b"]), vs("hostless", gateways=["c"]))
    messages = [m for *_, m in found(cf.check_unbound_virtual_services, snap)]
    assert [m.split(":")[0] for m in messages] == ["spec.gateways[0]=a", "spec.gateways[2]=b", "spec.gateways[0]=c"]


# --- CF16 ---


def test_cf16_a_selector_no_pod_has_is_ist0101():
    snap = world(gateway("bookinfo-gateway", selector={"istio": "ingress-gateway"}))
    [(ns, kind, name, message)] = found(cf.check_unreachable_gateways, snap)
    assert (ns, kind, name) == ("bookinfo", "Gateway", "bookinfo-gateway")
    assert message == (
        "spec.selector istio=ingress-gateway matches no running gateway pod: no proxy serves this Gateway (IST0101)"
    )
    assert counts(cf.check_unreachable_gateways, snap) == {"bookinfo": 1}


def test_cf16_an_empty_selector_needs_a_gateway_pod_somewhere():
    empty = gateway("everywhere", selector={})
    assert found(cf.check_unreachable_gateways, world(empty)) == []
    gone = (("Pod", "istio-system", "istio-ingressgateway-5d9c8b7f6-k2x4q"),
            ("Pod", "istio-system", "istio-ingressgateway-5d9c8b7f6-m7r2t"))  # fmt: skip
    messages = {name: m for *_, name, m in found(cf.check_unreachable_gateways, world(empty, drop=gone))}
    assert messages["everywhere"].startswith("the empty spec.selector matches no running gateway pod")
    assert messages["bookinfo-gateway"].startswith("spec.selector istio=ingressgateway matches no running gateway pod")


def test_cf16_pods_that_finished_select_nothing():
    done = pod("job", "bookinfo", {"app": "batch"}, status={"phase": "Succeeded"})
    done["status"] = {"phase": "Succeeded"}
    snap = world(done, gateway("batch", selector={"app": "batch"}))
    assert names(cf.check_unreachable_gateways, snap) == ["Gateway bookinfo/batch"]


@pytest.mark.parametrize(("port", "reachable"), [(8080, True), (8443, True), (80, True), (443, True), (9443, False)])
def test_cf16_a_server_port_must_be_a_port_or_target_port_of_the_gateways_service(port, reachable):
    snap = world(gateway("g", port=port))
    [*messages] = [m for *_, m in found(cf.check_unreachable_gateways, snap)]
    assert (messages == []) == reachable
    if not reachable:
        assert messages == [
            f"spec.servers[0].port.number={port} is no port or target port of a Service of the gateway pods (they "
            "expose 80, 443, 8080, 8443): clients cannot reach this server (IST0162)"
        ]


def test_cf16_only_tcp_ports_of_services_selecting_the_pods_in_their_namespace_count():
    udp = obj("Service", "istio-system", "dns", {"selector": {"istio": "ingressgateway"},
              "ports": [{"name": "dns", "port": 9443, "protocol": "UDP"}]})  # fmt: skip
    elsewhere = obj("Service", "bookinfo", "gw-copy", {"selector": {"istio": "ingressgateway"},
                    "ports": [{"name": "https", "port": 9443}]})  # fmt: skip
    other = obj("Service", "istio-system", "other", {"selector": {"istio": "egressgateway"},
                "ports": [{"name": "https", "port": 9443}]})  # fmt: skip
    named = obj("Service", "istio-system", "named", {"selector": {"istio": "ingressgateway"},
                "ports": [{"name": "https", "port": 9443, "targetPort": "https-alt"}]})  # fmt: skip
    assert len(found(cf.check_unreachable_gateways, world(udp, elsewhere, other, gateway("g", port=9443)))) == 1
    assert found(cf.check_unreachable_gateways, world(named, gateway("g", port=9443))) == []
    [(*_, message)] = found(cf.check_unreachable_gateways, world(named, gateway("g", port=8444)))
    assert "(they expose 80, 443, 8080, 8443, 9443)" in message


def test_cf16_every_unreachable_server_is_named():
    spec = {"selector": {"istio": "ingressgateway"}, "servers": [
        {"port": {"number": 9001, "name": "a", "protocol": "HTTP"}, "hosts": ["*"]},
        {"port": {"number": 8080, "name": "b", "protocol": "HTTP"}, "hosts": ["*"]},
        {"port": {"number": 9002, "name": "c", "protocol": "HTTP"}, "hosts": ["*"]}]}  # fmt: skip
    messages = [m for *_, m in found(cf.check_unreachable_gateways, world(obj("Gateway", "bookinfo", "g", spec)))]
    assert [m.split(" is ")[0] for m in messages] == [
        "spec.servers[0].port.number=9001",
        "spec.servers[2].port.number=9002",
    ]


# --- CF17 ---


def sidecar(name: str, labels: dict[str, str] | None, namespace: str = "bookinfo", **meta: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"egress": [{"hosts": ["./*"]}]}
    if labels is not None:
        spec["workloadSelector"] = {"labels": labels}
    return obj("Sidecar", namespace, name, spec, metadata=meta)


def policy(name: str, namespace: str = "bookinfo", labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    if labels is not None:
        spec["selector"] = {"matchLabels": labels}
    return obj("AuthorizationPolicy", namespace, name, spec)


def telemetry(name: str, labels: dict[str, str] | None, namespace: str = "bookinfo", **meta: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"accessLogging": [{"providers": [{"name": "envoy"}]}]}
    if labels is not None:
        spec["selector"] = {"matchLabels": labels}
    return obj("Telemetry", namespace, name, spec, metadata=meta)


def test_cf17_a_sidecar_selecting_no_pod_of_its_namespace_is_ist0101():
    snap = world(sidecar("ratings", {"app": "rating"}), sidecar("istio", {"istio": "ingressgateway"}))
    assert found(cf.check_unmatched_selectors, snap) == [
        ("bookinfo", "Sidecar", "istio", "spec.workloadSelector.labels istio=ingressgateway selects no running pod in "
         "namespace bookinfo: this Sidecar applies to no workload (IST0101)"),
        ("bookinfo", "Sidecar", "ratings", "spec.workloadSelector.labels app=rating selects no running pod in "
         "namespace bookinfo: this Sidecar applies to no workload (IST0101)"),
    ]  # fmt: skip
    assert counts(cf.check_unmatched_selectors, snap) == {"bookinfo": 2}


def test_cf17_a_telemetry_selecting_no_pod_is_ist0101_and_selector_less_ones_are_fine():
    snap = world(telemetry("t", {"app": "reviews", "version": "v9"}), telemetry("all", None))
    [(*_, name, message)] = found(cf.check_unmatched_selectors, snap)
    assert name == "t" and message.startswith("spec.selector.matchLabels app=reviews,version=v9 selects no running pod")


def test_cf17_an_authorization_policy_selecting_no_mesh_workload_is_ist0127():
    plain = pod("legacy", "bookinfo", {"app": "legacy"}, sidecar=False)
    ambient = pod("amb", "bookinfo", {"app": "amb"}, sidecar=False,
                  annotations={"ambient.istio.io/redirection": "enabled"})  # fmt: skip
    snap = world(
        plain, ambient, policy("a", labels={"app": "legacy"}, action="DENY"), policy("b", labels={"app": "amb"})
    )
    assert found(cf.check_unmatched_selectors, snap) == [
        ("bookinfo", "AuthorizationPolicy", "a", "spec.selector.matchLabels app=legacy selects no mesh workload in "
         "namespace bookinfo: its DENY rules apply nowhere (IST0127)"),
    ]  # fmt: skip


def test_cf17_root_namespace_policies_select_across_the_mesh_and_without_selector_apply_to_all():
    snap = world(policy("mesh-wide", "istio-system"), policy("reviews", "istio-system", labels={"app": "reviews"}))
    assert found(cf.check_unmatched_selectors, snap) == []
    [(*_, message)] = found(cf.check_unmatched_selectors, world(policy("x", "istio-system", labels={"app": "nope"})))
    assert (
        message
        == "spec.selector.matchLabels app=nope selects no mesh workload in the mesh: its ALLOW rules apply nowhere (IST0127)"
    )


def test_cf17_a_namespace_wide_policy_needs_a_mesh_workload_in_its_namespace():
    empty = obj("Namespace", "", "empty")
    snap = world(empty, pod("plain", "empty", {"app": "x"}, sidecar=False), policy("deny-all", "empty"))
    [(ns, _, name, message)] = found(cf.check_unmatched_selectors, snap)
    assert (ns, name) == ("empty", "deny-all")
    assert (
        message
        == "this namespace-wide policy has no mesh workload in namespace empty: its ALLOW rules apply nowhere (IST0127)"
    )
    assert found(cf.check_unmatched_selectors, world(policy("ns-wide"))) == []


def test_cf17_policies_attached_by_target_ref_are_not_judged_by_workloads():
    targeted = policy("waypoint", labels={"app": "nope"}, targetRefs=[{"kind": "Gateway", "name": "waypoint"}])
    single = policy("single", targetRef={"kind": "Service", "name": "reviews"})
    assert found(cf.check_unmatched_selectors, world(targeted, single)) == []


@pytest.mark.parametrize(
    ("pattern", "exists"),
    [("*", True), ("istio-*", True), ("*-system", True), ("ISTIO-SYSTEM", True), ("istio-sytem", False),
     ("book*x", False), ("*info", True), ("bookinf", False)],
)  # fmt: skip
def test_cf17_policy_source_namespaces_must_name_a_namespace(pattern, exists):
    rules = [{"from": [{"source": {"principals": ["x"]}}, {"source": {"notNamespaces": ["bookinfo", pattern]}}]}]
    snap = world(policy("p", labels={"app": "productpage"}, rules=rules))
    messages = [m for *_, m in found(cf.check_unmatched_selectors, snap)]
    expected = [] if exists else [
        f"spec.rules[0].from[1].source.notNamespaces[1]={pattern}: no namespace {pattern} exists (IST0101)"
    ]  # fmt: skip
    assert messages == expected


# --- CF18 ---


def test_cf18_a_destination_host_that_is_nothing_is_ist0101():
    snap = world(vs("details", hosts=["details"], http=[{"route": [{"destination": {"host": "detials"}}]}]))
    [(ns, kind, name, message)] = found(cf.check_unknown_destinations, snap)
    assert (ns, kind, name) == ("bookinfo", "VirtualService", "details")
    assert message == (
        "spec.http[0].route[0].destination.host=detials: detials.bookinfo.svc.cluster.local is no Service or "
        "ServiceEntry host visible in namespace bookinfo; requests get 503 NC (IST0101)"
    )
    assert counts(cf.check_unknown_destinations, snap) == {"bookinfo": 1}


def test_cf18_a_port_the_host_lacks_and_a_mirror_to_nothing():
    http = [{"route": [{"destination": {"host": "productpage", "port": {"number": 9090}}}],
             "mirror": {"host": "shadow"}, "mirrors": [{"destination": {"host": "ratings"}}]}]  # fmt: skip
    messages = sorted(m for *_, m in found(cf.check_unknown_destinations, world(vs(hosts=["*"], http=http))))
    assert messages == sorted(
        [
            "spec.http[0].route[0].destination.host=productpage: productpage.bookinfo.svc.cluster.local has no port 9090 "
            "(it has 9080); requests get 503 NC (IST0101)",
            "spec.http[0].mirror.host=shadow: shadow.bookinfo.svc.cluster.local is no Service or ServiceEntry host "
            "visible in namespace bookinfo; mirrored requests are dropped (IST0101)",
        ]
    )


def entry(name: str, hosts: list[str], namespace: str = "bookinfo", **spec: Any) -> dict[str, Any]:
    spec.setdefault("ports", [{"number": 443, "name": "tls", "protocol": "TLS"}])
    return obj("ServiceEntry", namespace, name, {"hosts": hosts, "resolution": "DNS", **spec})


def tcp_to(host: str, port: int | None = None) -> dict[str, Any]:
    dest: dict[str, Any] = {"host": host, **({"port": {"number": port}} if port else {})}
    return vs("egress", hosts=[host], tcp=[{"route": [{"destination": dest}]}], http=[])


@pytest.mark.parametrize(
    ("objects", "host", "port", "known"),
    [
        ([entry("api", ["api.example.com"])], "api.example.com", 443, True),
        ([entry("api", ["api.example.com"])], "api.example.com", 8443, False),
        ([entry("api", ["*.example.com"])], "api.example.com", 443, True),
        ([entry("api", ["*.example.com"])], "example.com", None, False),
        ([entry("api", ["api.example.com"], "other", exportTo=["."])], "api.example.com", None, False),
        ([entry("api", ["api.example.com"], "other", exportTo=["bookinfo"])], "api.example.com", None, True),
        ([entry("api", ["*.example.com"], "other", exportTo=["."])], "api.example.com", None, False),
        ([entry("db", ["db"], "other")], "db.other.svc.cluster.local", None, True),
        ([obj("Service", "other", "hidden", {"ports": [{"name": "tcp", "port": 5432}]},
              metadata={"annotations": {"networking.istio.io/exportTo": "."}})],
         "hidden.other.svc.cluster.local", None, False),
        ([obj("Service", "other", "shared", {"ports": [{"name": "tcp", "port": 5432}]})],
         "shared.other.svc.cluster.local", 5432, True),
    ],
)  # fmt: skip
def test_cf18_services_and_service_entries_are_looked_up_as_the_virtualservices_namespace_sees_them(
    objects, host, port, known
):
    snap = world(*objects, tcp_to(host, port))
    result = found(cf.check_unknown_destinations, snap)
    assert (result == []) == known, result
    if not known:
        assert result[0][3].startswith(f"spec.tcp[0].route[0].destination.host={host}:")


def test_cf18_a_service_entry_beside_a_service_adds_its_ports():
    snap = world(entry("pp", ["productpage.bookinfo.svc.cluster.local"], ports=[{"number": 9443, "name": "x"}]),
                 tcp_to("productpage", 9443))  # fmt: skip
    assert found(cf.check_unknown_destinations, snap) == []


# --- CF19 ---


def test_cf19_two_sidecars_without_selector_both_named_with_the_one_istiod_applies():
    snap = world(sidecar("b-lockdown", None, creationTimestamp="2026-03-01T00:00:00Z"))
    expected = (
        "2 Sidecars of namespace bookinfo have no selector (default, b-lockdown): istiod applies only the oldest, "
        "default (IST0111)"
    )
    assert found(cf.check_overlapping_resources, snap) == [
        ("bookinfo", "Sidecar", "b-lockdown", expected),
        ("bookinfo", "Sidecar", "default", expected),
    ]
    assert counts(cf.check_overlapping_resources, snap) == {"bookinfo": 2}


def test_cf19_sidecars_selecting_the_same_pod_are_ist0110_and_the_oldest_wins():
    older = sidecar("z-old", {"app": "reviews"}, creationTimestamp="2025-01-01T00:00:00Z")
    newer = sidecar("a-new", {"version": "v2"}, creationTimestamp="2026-01-01T00:00:00Z")
    other = sidecar("ratings", {"app": "ratings"})
    messages = {name: m for _, _, name, m in found(cf.check_overlapping_resources, world(older, newer, other))}
    assert set(messages) == {"z-old", "a-new"}
    assert messages["a-new"] == (
        "Sidecars z-old, a-new select the same pod reviews-v2-5c757d5846-2kq7n: istiod applies only the oldest, z-old "
        "(IST0110)"
    )


def test_cf19_a_selector_sidecar_beside_the_namespace_default_is_no_overlap():
    assert found(cf.check_overlapping_resources, world(sidecar("reviews", {"app": "reviews"}))) == []


def test_cf19_ambient_pods_and_other_namespaces_do_not_overlap():
    ambient = pod(
        "amb", "bookinfo", {"app": "amb"}, sidecar=False, annotations={"ambient.istio.io/redirection": "enabled"}
    )
    snap = world(ambient, sidecar("a", {"app": "amb"}), sidecar("b", {"app": "amb"}),
                 sidecar("c", None, "istio-system"))  # fmt: skip
    assert found(cf.check_overlapping_resources, snap) == []


def test_cf19_telemetries_are_merged_so_the_newest_wins_and_two_namespace_wide_ones_are_ist0160():
    snap = world(telemetry("logs", {"app": "reviews"}, creationTimestamp="2026-01-01T00:00:00Z"),
                 telemetry("debug", {"version": "v2"}, creationTimestamp="2026-02-01T00:00:00Z"),
                 telemetry("ns-a", None), telemetry("ns-b", None))  # fmt: skip
    messages = {name: m for _, _, name, m in found(cf.check_overlapping_resources, snap)}
    assert messages["debug"] == (
        "Telemetries logs, debug select the same pod reviews-v2-5c757d5846-2kq7n: istiod merges them oldest first, so "
        "where they set the same field the newest, debug, wins (IST0159)"
    )
    assert messages["ns-b"] == (
        "2 Telemetries of namespace bookinfo have no selector (ns-a, ns-b): istiod applies only the oldest, ns-a "
        "(IST0160)"
    )
    assert set(messages) == {"logs", "debug", "ns-a", "ns-b"}


def test_cf19_each_group_of_pods_is_reported_once():
    a = sidecar("a", {"app": "reviews"}, creationTimestamp="2025-01-01T00:00:00Z")
    b = sidecar("b", {"app": "reviews"}, creationTimestamp="2026-01-01T00:00:00Z")
    assert len(found(cf.check_overlapping_resources, world(a, b))) == 2  # three reviews pods, one message each


# --- CF20 ---


def mesh_vs(name: str, hosts: list[str], namespace: str = "bookinfo", created: str = "", **spec: Any) -> dict[str, Any]:
    item = vs(name, namespace, hosts=hosts, **spec)
    if created:
        item["metadata"]["creationTimestamp"] = created
    return item


def test_cf20_two_mesh_virtualservices_for_one_host_name_each_other_and_the_one_kept():
    snap = world(mesh_vs("reviews-canary", ["reviews.bookinfo.svc.cluster.local"], created="2026-04-01T00:00:00Z"))
    messages = {name: m for _, _, name, m in found(cf.check_duplicate_mesh_hosts, snap)}
    assert messages == {
        "reviews": "spec.hosts reviews.bookinfo.svc.cluster.local is also defined for the same clients by "
        "bookinfo/reviews-canary: sidecars keep the routes of the oldest, bookinfo/reviews (pilot_vservice_dup_domain, "
        "IST0109)",
        "reviews-canary": "spec.hosts reviews.bookinfo.svc.cluster.local is also defined for the same clients by "
        "bookinfo/reviews: sidecars keep the routes of the oldest, bookinfo/reviews (pilot_vservice_dup_domain, "
        "IST0109)",
    }
    assert counts(cf.check_duplicate_mesh_hosts, snap) == {"bookinfo": 2}


@pytest.mark.parametrize(
    ("a", "b", "duplicate"),
    [
        ({"exportTo": ["."]}, {"exportTo": ["."], "namespace": "other"}, False),
        ({"exportTo": ["."]}, {"exportTo": ["bookinfo"], "namespace": "other"}, True),
        ({"exportTo": ["."]}, {"namespace": "other"}, True),
        ({"exportTo": ["x"]}, {"exportTo": ["y"], "namespace": "other"}, False),
        ({"gateways": ["bookinfo-gateway"]}, {}, False),
        ({"gateways": ["bookinfo-gateway", "mesh"]}, {}, True),
    ],
)
def test_cf20_only_mesh_virtualservices_visible_to_common_clients_collide(a, b, duplicate):
    first = mesh_vs("a", ["ratings.bookinfo.svc.cluster.local"], a.pop("namespace", "bookinfo"), **a)
    second = mesh_vs("b", ["ratings.bookinfo.svc.cluster.local"], b.pop("namespace", "bookinfo"), **b)
    snap = world(first, second, drop=(("VirtualService", "bookinfo", "ratings"),))
    assert (found(cf.check_duplicate_mesh_hosts, snap) != []) == duplicate


def test_cf20_short_hosts_resolve_in_their_own_namespace():
    same = mesh_vs("ratings-2", ["ratings"], "other")  # ratings.other: another host
    assert found(cf.check_duplicate_mesh_hosts, world(same)) == []
    full = mesh_vs("ratings-2", ["ratings.bookinfo.svc.cluster.local"], "other")
    assert names(cf.check_duplicate_mesh_hosts, world(full)) == ["VirtualService bookinfo/ratings",
                                                                 "VirtualService other/ratings-2"]  # fmt: skip


# --- CF21 ---


def rule(name: str, tls: dict[str, Any], port: int | None = None, **spec: Any) -> dict[str, Any]:
    policy = {"portLevelSettings": [{"port": {"number": port}, "tls": tls}]} if port else {"tls": tls}
    return obj("DestinationRule", "bookinfo", name, {"host": "api.example.com", "trafficPolicy": policy, **spec})


def test_cf21_simple_without_ca_is_ist0128_and_port_level_mutual_ist0129():
    snap = world(rule("a", {"mode": "SIMPLE"}), rule("b", {"mode": "MUTUAL", "clientCertificate": "/c"}, port=5432))
    assert found(cf.check_unverified_tls, snap) == [
        ("bookinfo", "DestinationRule", "a", "spec.trafficPolicy.tls.mode=SIMPLE toward api.example.com without "
         "spec.trafficPolicy.tls.caCertificates: the server is verified only against the system roots, and not at all "
         "by proxies without VERIFY_CERTIFICATE_AT_CLIENT (IST0128)"),
        ("bookinfo", "DestinationRule", "b", "spec.trafficPolicy.portLevelSettings[0].tls.mode=MUTUAL toward "
         "api.example.com without spec.trafficPolicy.portLevelSettings[0].tls.caCertificates: the server is verified "
         "only against the system roots, and not at all by proxies without VERIFY_CERTIFICATE_AT_CLIENT (IST0129)"),
    ]  # fmt: skip
    assert counts(cf.check_unverified_tls, snap) == {"bookinfo": 2}


@pytest.mark.parametrize(
    ("tls", "selector", "reported"),
    [
        ({"mode": "SIMPLE", "caCertificates": "/etc/ca.pem"}, None, False),
        ({"mode": "ISTIO_MUTUAL"}, None, False),
        ({"mode": "DISABLE"}, None, False),
        ({"mode": "SIMPLE", "credentialName": "ca"}, None, True),
        ({"mode": "SIMPLE", "credentialName": "ca"}, {"matchLabels": {"istio": "egressgateway"}}, False),
        ({"mode": "SIMPLE", "caCertificates": "/etc/ca.pem", "insecureSkipVerify": True}, None, True),
        ({"mode": "simple"}, None, True),
    ],
)
def test_cf21_a_ca_or_a_gateway_credential_verifies_and_insecure_skip_verify_never_does(tls, selector, reported):
    spec = {"workloadSelector": selector} if selector else {}
    result = found(cf.check_unverified_tls, world(rule("a", tls, **spec)))
    assert (result != []) == reported
    if tls.get("insecureSkipVerify"):
        assert result[0][3] == "spec.trafficPolicy.tls.insecureSkipVerify=true: proxies accept any server certificate"


def test_cf21_subset_tls_is_judged_too():
    spec = {"host": "api.example.com", "subsets": [{"name": "v1", "labels": {"v": "1"},
            "trafficPolicy": {"tls": {"mode": "SIMPLE"}}}]}  # fmt: skip
    [(*_, message)] = found(cf.check_unverified_tls, world(obj("DestinationRule", "bookinfo", "s", spec)))
    assert message.startswith("spec.subsets[0].trafficPolicy.tls.mode=SIMPLE toward api.example.com without")
