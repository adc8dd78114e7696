"""CF01-CF14 on the Bookinfo corpus with one change at a time: what each check reports, and where it stops."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from exporter.checks import configuration
from exporter.checks import mesh_config as cf
from exporter.config import Settings
from exporter.model import NotEvaluated, Severity
from exporter.sources.kube.snapshot import KubeSnapshot
from tests.scenarios import config as corpus

NOW = 1_800_000_000.0


world = corpus.changed
doc = corpus.obj


def mesh(text: str) -> dict[str, Any]:
    return doc("ConfigMap", "istio-system", "istio", data={"mesh": text})


def run(check, snapshot: KubeSnapshot, settings: Settings | None = None):
    return check(snapshot, settings or Settings(), NOW)


def found(check, snapshot: KubeSnapshot, settings: Settings | None = None) -> list[tuple[str, str, str, str]]:
    return [(f.namespace, f.kind, f.name, f.message) for f in run(check, snapshot, settings).findings]


def counts(check, snapshot: KubeSnapshot) -> dict[str, float]:
    return {dict(s.labels)["namespace"]: s.value for s in run(check, snapshot).samples}


def dr(name: str, host: str, namespace: str = "bookinfo", **spec: Any) -> dict[str, Any]:
    return doc("DestinationRule", namespace, name, {"host": host, **spec})


def vs(name: str, namespace: str = "bookinfo", **spec: Any) -> dict[str, Any]:
    return doc("VirtualService", namespace, name, spec)


def svc(name: str, namespace: str = "bookinfo", labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return doc("Service", namespace, name, spec, metadata={"labels": labels or {}})


def test_the_base_corpus_is_healthy_for_every_configuration_check():
    for check in configuration.CHECKS:
        result = check.run(corpus.snapshot(), Settings(), NOW)
        assert result.findings == [] and result.samples == [], check.id


# --- CF01 ---


def test_cf01_disable_toward_mesh_wide_strict_is_kia0208_and_counted_per_namespace():
    snap = world(dr("ratings", "ratings", trafficPolicy={"tls": {"mode": "DISABLE"}}))
    [(ns, kind, name, message)] = found(cf.check_tls_conflicts, snap)
    assert (ns, kind, name) == ("bookinfo", "DestinationRule", "ratings")
    assert message.startswith("spec.trafficPolicy.tls.mode=DISABLE toward ratings.bookinfo:9080, whose pods are STRICT")
    assert "(istio-system/default)" in message and message.endswith("(KIA0208)")
    assert counts(cf.check_tls_conflicts, snap) == {"bookinfo": 1}
    assert run(cf.check_tls_conflicts, snap).findings[0].severity == Severity.WARNING


def test_cf01_namespace_strict_is_kia0207_and_permissive_is_fine():
    strict = doc("PeerAuthentication", "bookinfo", "default", {"mtls": {"mode": "STRICT"}})
    rule = dr("ratings", "ratings", trafficPolicy={"tls": {"mode": "DISABLE"}})
    [(*_, message)] = found(cf.check_tls_conflicts, world(strict, rule))
    assert "(bookinfo/default)" in message and message.endswith("(KIA0207)")
    permissive = doc("PeerAuthentication", "bookinfo", "default", {"mtls": {"mode": "PERMISSIVE"}})
    assert found(cf.check_tls_conflicts, world(permissive, rule)) == []


@pytest.mark.parametrize(("client", "server", "conflict"), [
    ("DISABLE", "STRICT", True), ("SIMPLE", "STRICT", True), ("MUTUAL", "STRICT", True),
    ("ISTIO_MUTUAL", "STRICT", False), ("ISTIO_MUTUAL", "DISABLE", True), ("DISABLE", "DISABLE", False),
    ("ISTIO_MUTUAL", "PERMISSIVE", False), ("DISABLE", "PERMISSIVE", False), ("SIMPLE", "DISABLE", False),
])  # fmt: skip
def test_cf01_every_mode_pair(client, server, conflict):
    policy = doc("PeerAuthentication", "istio-system", "default", {"mtls": {"mode": server}})
    snap = world(policy, dr("ratings", "ratings", trafficPolicy={"tls": {"mode": client}}))
    findings = [f for f in found(cf.check_tls_conflicts, snap) if f[2] == "ratings"]
    assert bool(findings) is conflict
    if conflict:
        assert findings[0][3].endswith("(KIA0208)") is (client == "DISABLE")


def test_cf01_port_level_settings_judge_their_port_and_the_workload_port_policy():
    rule = dr(
        "reviews",
        "reviews",
        trafficPolicy={"portLevelSettings": [{"port": {"number": 9080}, "tls": {"mode": "DISABLE"}}]},
    )
    [(*_, message)] = found(cf.check_tls_conflicts, world(rule))
    assert message.startswith("spec.trafficPolicy.portLevelSettings[0].tls.mode=DISABLE toward reviews.bookinfo:9080")
    other_port = dr(
        "reviews",
        "reviews",
        trafficPolicy={"portLevelSettings": [{"port": {"number": 9999}, "tls": {"mode": "DISABLE"}}]},
    )
    found_other = found(cf.check_tls_conflicts, world(other_port))
    assert len(found_other) == 1 and "reviews.bookinfo:9999" in found_other[0][3]  # no such Service port: all pods
    relaxed = doc("PeerAuthentication", "bookinfo", "reviews", {"selector": {"matchLabels": {"app": "reviews"}},
                  "mtls": {"mode": "STRICT"}, "portLevelMtls": {"9080": {"mode": "PERMISSIVE"}}})  # fmt: skip
    assert found(cf.check_tls_conflicts, world(rule, relaxed)) == []


def test_cf01_subset_settings_apply_to_the_subset_pods_only():
    rule = dr("reviews", "reviews", subsets=[
        {"name": "v1", "labels": {"version": "v1"}, "trafficPolicy": {"tls": {"mode": "DISABLE"}}},
        {"name": "gone", "labels": {"version": "v9"}, "trafficPolicy": {"tls": {"mode": "DISABLE"}}},
    ])  # fmt: skip
    [(*_, message)] = found(cf.check_tls_conflicts, world(rule))
    assert message.startswith("spec.subsets[0].trafficPolicy.tls.mode=DISABLE toward reviews.bookinfo:9080")


def test_cf01_rules_for_hosts_without_pods_or_services_are_not_judged():
    assert found(cf.check_tls_conflicts, world(dr("x", "unknown", trafficPolicy={"tls": {"mode": "DISABLE"}}))) == []
    empty = svc("empty", selector={"app": "none"}, ports=[{"name": "http", "port": 80}])
    assert (
        found(cf.check_tls_conflicts, world(empty, dr("e", "empty", trafficPolicy={"tls": {"mode": "DISABLE"}}))) == []
    )
    assert found(cf.check_tls_conflicts, world(dr("nohost", "", trafficPolicy={"tls": {"mode": "DISABLE"}}))) == []


def test_cf01_wildcard_rule_covers_every_service_of_the_namespace():
    rule = dr("all", "*.bookinfo.svc.cluster.local", trafficPolicy={"tls": {"mode": "DISABLE"}})
    assert len(found(cf.check_tls_conflicts, world(rule))) == 1  # one finding per rule and setting


def test_cf01_auto_mtls_off_reports_strict_services_without_istio_mutual():
    snap = world(variant="cf01-auto-mtls-off")
    assert [(f[1], f[2]) for f in found(cf.check_tls_conflicts, snap)] == [("Service", "details")]
    assert "enableAutoMtls is false in istio-system/istio" in found(cf.check_tls_conflicts, snap)[0][3]
    permissive = doc("PeerAuthentication", "istio-system", "default", {"mtls": {"mode": "PERMISSIVE"}})
    assert found(cf.check_tls_conflicts, world(permissive, variant="cf01-auto-mtls-off")) == []


# --- CF02 ---


def test_cf02_subset_missing_from_the_applicable_rule():
    snap = world(variant="cf02-subset-v1-bug")
    [(ns, kind, name, message)] = found(cf.check_undefined_subsets, snap)
    assert (ns, kind, name) == ("bookinfo", "VirtualService", "reviews")
    assert message == ("spec.http[0].route[0].destination.subset=v1-bug: DestinationRule bookinfo/reviews defines "
                       "subsets v1, v2, v3, not v1-bug; requests get 503 NR (IST0101, KIA1107)")  # fmt: skip
    assert counts(cf.check_undefined_subsets, snap) == {"bookinfo": 1}


def test_cf02_no_rule_at_all_names_every_route():
    findings = found(cf.check_undefined_subsets, world(variant="cf02-dr-deleted"))
    assert [f[3].split(":")[0] for f in findings] == [
        "spec.http[0].route[0].destination.subset=v2", "spec.http[1].route[0].destination.subset=v1",
        "spec.http[1].route[1].destination.subset=v3"]  # fmt: skip
    assert "no DestinationRule for reviews.bookinfo.svc.cluster.local applies in namespace bookinfo" in findings[0][3]


def test_cf02_mirrors_and_tcp_routes_are_checked():
    route = vs("mirror", hosts=["ratings"], http=[{"route": [{"destination": {"host": "ratings"}}],
               "mirror": {"host": "ratings", "subset": "m1"}, "mirrors": [{"destination": {"host": "ratings", "subset": "m2"}}]}],
               tcp=[{"route": [{"destination": {"host": "ratings", "subset": "t1"}}]}],
               tls=[{"route": [{"destination": {"host": "ratings", "subset": "v1"}}]}])  # fmt: skip
    paths = sorted(f[3].split("=")[0] for f in found(cf.check_undefined_subsets, world(route)))
    assert paths == ["spec.http[0].mirror.subset", "spec.http[0].mirrors[0].destination.subset",
                     "spec.tcp[0].route[0].destination.subset"]  # fmt: skip


def test_cf02_root_namespace_and_other_namespace_rules():
    route = vs("cross", namespace="frontend", hosts=["reviews.bookinfo.svc.cluster.local"],
               http=[{"route": [{"destination": {"host": "reviews.bookinfo.svc.cluster.local", "subset": "v2"}}]}])  # fmt: skip
    assert found(cf.check_undefined_subsets, world(route)) == []  # from the service's namespace
    private = dr("reviews", "reviews", exportTo=["."], subsets=[{"name": "v2", "labels": {"version": "v2"}}])
    assert [f[2] for f in found(cf.check_undefined_subsets, world(route, private)) if f[0] == "frontend"] == ["cross"]
    root = dr("reviews-root", "reviews.bookinfo.svc.cluster.local", namespace="istio-system",
              subsets=[{"name": "v2", "labels": {"version": "v2"}}])  # fmt: skip
    assert [f for f in found(cf.check_undefined_subsets, world(route, private, root)) if f[0] == "frontend"] == []


def test_cf02_service_entry_hosts_find_rules_in_the_entry_namespace():
    entry = doc(
        "ServiceEntry", "egress", "api", {"hosts": ["api.example.com"], "ports": [{"number": 443, "protocol": "TLS"}]}
    )
    rule = dr("api", "api.example.com", namespace="egress", subsets=[{"name": "blue", "labels": {"v": "b"}}])
    route = vs(
        "api",
        hosts=["api.example.com"],
        tls=[{"route": [{"destination": {"host": "api.example.com", "subset": "blue"}}]}],
    )
    assert found(cf.check_undefined_subsets, world(entry, rule, route)) == []
    assert len(found(cf.check_undefined_subsets, world(rule, route))) == 1  # no entry: the rule's namespace is unknown


# --- CF03 ---


def test_cf03_subset_labels_matching_no_pod():
    [(ns, kind, name, message)] = found(cf.check_empty_subsets, world(variant="cf03-subset-v1-bug"))
    assert (ns, kind, name) == ("bookinfo", "DestinationRule", "reviews")
    assert message.startswith("spec.subsets[2] v3 (version=v3-bug) selects none of the pods of reviews.bookinfo")
    assert message.endswith("(IST0173, KIA0203)")


def test_cf03_unknown_host():
    [(*_, message)] = found(cf.check_empty_subsets, world(variant="cf03-unknown-host"))
    assert (
        message
        == "spec.host=ratingz: ratingz.bookinfo.svc.cluster.local is no Service or ServiceEntry (IST0174, KIA0202)"
    )


def test_cf03_pods_of_another_service_or_finished_pods_do_not_count():
    rule = dr(
        "ratings", "ratings", subsets=[{"name": "v2", "labels": {"version": "v2"}}]
    )  # reviews has v2, ratings not
    assert len(found(cf.check_empty_subsets, world(rule))) == 1
    done = doc("Pod", "bookinfo", "ratings-v2-done", {"containers": [{"name": "ratings"}]}, status={"phase": "Succeeded"},
               metadata={"labels": {"app": "ratings", "version": "v2"}})  # fmt: skip
    assert len(found(cf.check_empty_subsets, world(rule, done))) == 1
    pending = doc("Pod", "bookinfo", "ratings-v2-new", {"containers": [{"name": "ratings"}]}, status={"phase": "Pending"},
                  metadata={"labels": {"app": "ratings", "version": "v2"}})  # fmt: skip
    assert found(cf.check_empty_subsets, world(rule, pending)) == []


def test_cf03_skips_what_labels_cannot_decide():
    wildcard = dr("all", "*.bookinfo.svc.cluster.local", subsets=[{"name": "x", "labels": {"version": "none"}}])
    no_labels = dr("ratings", "ratings", subsets=[{"name": "all"}])
    manual = svc("manual", ports=[{"name": "http", "port": 80}])  # no selector: manual endpoints
    manual_rule = dr("manual", "manual", subsets=[{"name": "x", "labels": {"version": "none"}}])
    static = doc("ServiceEntry", "bookinfo", "ext", {"hosts": ["ext.example.com"]})
    static_rule = dr("ext", "ext.example.com", subsets=[{"name": "x", "labels": {"version": "none"}}])
    assert found(cf.check_empty_subsets, world(wildcard, no_labels, manual, manual_rule, static, static_rule)) == []


def test_cf03_service_entry_with_workload_selector():
    entry = doc(
        "ServiceEntry", "bookinfo", "vm", {"hosts": ["vm.internal"], "workloadSelector": {"labels": {"app": "ratings"}}}
    )
    good = dr("vm", "vm.internal", subsets=[{"name": "v1", "labels": {"version": "v1"}}])
    bad = dr("vm", "vm.internal", subsets=[{"name": "v7", "labels": {"version": "v7"}}])
    assert found(cf.check_empty_subsets, world(entry, good)) == []
    assert len(found(cf.check_empty_subsets, world(entry, bad))) == 1


def node(name: str, **labels: str) -> dict[str, Any]:
    return doc("Node", "", name, metadata={"labels": labels})


WEST_EAST = (node("node-1", **{"topology.kubernetes.io/region": "us-west", "topology.kubernetes.io/zone": "a"}),
             node("node-2", **{"failure-domain.beta.kubernetes.io/region": "us-east"}))  # fmt: skip


def empty_subsets(*subsets: dict[str, str], settings: Settings | None = None, extra: tuple[Any, ...] = ()) -> list[str]:
    """Names of the reviews subsets CF03 reports, with node-1 in us-west/a and node-2 in us-east (legacy label);
    reviews v1 runs on node-1, v2 on node-2."""
    rule = dr("reviews", "reviews", subsets=[{"name": f"s{i}", "labels": labels} for i, labels in enumerate(subsets)])
    messages = [f[3] for f in found(cf.check_empty_subsets, world(rule, *WEST_EAST, *extra), settings)]
    return [m.split(" ")[1] for m in messages]


def test_cf03_subsets_select_by_the_topology_labels_istiod_gives_endpoints():
    assert (
        empty_subsets(
            {"topology.kubernetes.io/region": "us-west"},
            {"topology.kubernetes.io/region": "us-east", "version": "v2"},
            {"topology.kubernetes.io/zone": "a"},
            {"kubernetes.io/hostname": "node-2"},
            {"topology.istio.io/cluster": "Kubernetes", "version": "v1"},
        )
        == []
    )
    assert empty_subsets(
        {"topology.kubernetes.io/region": "us-east", "version": "v1"},
        {"topology.kubernetes.io/region": "eu-north"},
        {"topology.istio.io/subzone": "rack-1"},
        {"kubernetes.io/hostname": "node-3"},
    ) == ["s0", "s1", "s2", "s3"]
    other_cluster = Settings(istio={"cluster_id": "east"})
    assert empty_subsets({"topology.istio.io/cluster": "Kubernetes"}, settings=other_cluster) == ["s0"]
    assert empty_subsets({"topology.istio.io/cluster": "east"}, settings=other_cluster) == []


def test_cf03_a_pod_locality_label_overrides_the_node_and_own_topology_labels_do_not_count():
    relabelled = doc("Pod", "bookinfo", "reviews-v9-1", {"nodeName": "node-1", "containers": [{"name": "reviews"}]},
                     status={"phase": "Running"}, metadata={"labels": {
                         "app": "reviews", "version": "v9", "istio-locality": "eu-north.z1.rack-9",
                         "kubernetes.io/hostname": "elsewhere", "topology.kubernetes.io/region": "moon"}})  # fmt: skip
    assert empty_subsets({"version": "v9", "topology.istio.io/subzone": "rack-9"}, extra=(relabelled,)) == []
    assert empty_subsets({"version": "v9", "topology.kubernetes.io/zone": "z1"}, extra=(relabelled,)) == []
    assert empty_subsets(
        {"version": "v9", "topology.kubernetes.io/region": "moon"},
        {"version": "v9", "kubernetes.io/hostname": "elsewhere"},
        {"version": "v9", "topology.kubernetes.io/region": "us-west"},
        extra=(relabelled,),
    ) == ["s0", "s1", "s2"]


def test_cf03_network_subsets_are_judged_only_when_a_pod_carries_the_label():
    assert empty_subsets({"topology.istio.io/network": "net-2"}) == []  # mesh networks decide; not read here
    labelled = doc("Pod", "bookinfo", "reviews-v3-1", {"nodeName": "node-1", "containers": [{"name": "reviews"}]},
                   status={"phase": "Running"},
                   metadata={"labels": {"app": "reviews", "version": "v3", "topology.istio.io/network": "net-1"}})  # fmt: skip
    assert empty_subsets({"topology.istio.io/network": "net-1"}, extra=(labelled,)) == []


def test_cf01_subset_tls_reaches_the_pods_a_topology_subset_selects():
    plain = doc("PeerAuthentication", "bookinfo", "reviews-v2-plain",
                {"selector": {"matchLabels": {"app": "reviews", "version": "v2"}}, "mtls": {"mode": "DISABLE"}})  # fmt: skip
    east = {"name": "east", "labels": {"topology.kubernetes.io/region": "us-east"},
            "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}}}  # fmt: skip
    west = {**east, "name": "west", "labels": {"topology.kubernetes.io/region": "us-west"}}
    [(*_, message)] = found(cf.check_tls_conflicts, world(dr("reviews", "reviews", subsets=[east]), plain, *WEST_EAST))
    assert "whose pods are DISABLE (bookinfo/reviews-v2-plain)" in message
    assert found(cf.check_tls_conflicts, world(dr("reviews", "reviews", subsets=[west]), plain, *WEST_EAST)) == []


# --- CF04 ---


def test_cf04_unnamed_port_in_a_mesh_namespace():
    [(ns, kind, name, message)] = found(cf.check_unnamed_ports, world(variant="cf04-port-web"))
    assert (ns, kind, name) == ("bookinfo", "Service", "details")
    assert (
        message
        == "spec.ports[0].name=web (port 9080) names no protocol: Istio treats it as plain TCP (IST0118, KIA0601)"
    )
    assert run(cf.check_unnamed_ports, world(variant="cf04-port-web")).findings[0].severity == Severity.INFO


def test_cf04_app_protocol_and_unnamed_ports():
    bad_app = svc("a", selector={"app": "a"}, ports=[{"name": "http", "port": 80, "appProtocol": "web"}])
    unnamed = svc("b", selector={"app": "b"}, ports=[{"port": 8081}])
    messages = sorted(f[3] for f in found(cf.check_unnamed_ports, world(bad_app, unnamed)))
    assert messages[0].startswith("spec.ports[0].appProtocol=web (port 80)") and messages[0].endswith(
        "(IST0118, KIA0602)"
    )
    assert messages[1].startswith("spec.ports[0].name=(none) (port 8081)")


def exported(name: str, namespace: str, to: str | None, **spec: Any) -> dict[str, Any]:
    """A Service with the exportTo annotation (None: without it)."""
    service = svc(name, namespace=namespace, **spec)
    if to is not None:
        service["metadata"]["annotations"] = {"networking.istio.io/exportTo": to}
    return service


def test_cf04_and_cf12_judge_the_services_mesh_workloads_reach_whatever_their_namespace():
    web = {"ports": [{"name": "web", "port": 80}]}
    tcp = {"type": "ExternalName", "externalName": "db.example.com", "ports": [{"name": "tcp", "port": 5432}]}
    for check, spec in ((cf.check_unnamed_ports, web), (cf.check_externalname_tcp, tcp)):
        services = [exported(f"s{i}", "legacy", to, **spec) for i, to in enumerate(
            (None, "*", "bookinfo", " legacy, bookinfo", ".", "~", "legacy", "other"))]  # fmt: skip
        assert [f[2] for f in found(check, world(*services))] == ["s0", "s1", "s2", "s3"], check
        assert [f[2] for f in found(check, world(exported("own", "bookinfo", ".", **spec)))] == ["own"], check
        # the mesh-wide default: Services without the annotation are visible in their own namespace only
        private = mesh("defaultServiceExportTo: ['.']\n")
        assert [f[2] for f in found(check, world(*services, private))] == ["s1", "s2", "s3"], check
        # no namespace of the mesh, no client: nothing is reached
        outside = tuple(k for k in map(corpus._key, corpus.documents()) if k[0] in ("Pod", "Namespace"))
        assert found(check, world(*services, drop=outside)) == [], check


def test_cf04_leaves_out_unreached_services_istio_services_and_external_names():
    outside = exported("x", "legacy", ".", ports=[{"name": "web", "port": 80}])
    istio = svc("y", labels={"istio": "ingressgateway"}, ports=[{"name": "web", "port": 80}])
    helm = svc("z", labels={"release": "istio"}, ports=[{"name": "web", "port": 80}])
    managed = svc(
        "w", labels={"gateway.istio.io/managed": "istio.io-mesh-controller"}, ports=[{"name": "web", "port": 80}]
    )
    external = svc("e", type="ExternalName", externalName="db.example.com", ports=[{"name": "web", "port": 80}])
    assert found(cf.check_unnamed_ports, world(outside, istio, helm, managed, external)) == []


def test_cf04_mesh_namespaces_come_from_labels_or_sidecars():
    revision = doc("Namespace", "", "rev", metadata={"labels": {"istio.io/rev": "canary"}})
    disabled = doc(
        "Namespace", "", "off", metadata={"labels": {"istio.io/rev": "canary", "istio-injection": "disabled"}}
    )
    sidecar_ns = doc(
        "Pod", "sc", "p", {"containers": [{"name": "app"}, {"name": "istio-proxy"}]}, status={"phase": "Running"}
    )
    services = [exported("s", ns, ".", ports=[{"name": "web", "port": 80}]) for ns in ("rev", "off", "sc")]
    assert sorted(f[0] for f in found(cf.check_unnamed_ports, world(revision, disabled, sidecar_ns, *services))) == [
        "rev",
        "sc",
    ]


# --- CF05 ---


def test_cf05_same_target_port_two_protocols():
    [(ns, kind, name, message)] = found(cf.check_protocol_conflicts, world(variant="cf05-protocol-conflict"))
    assert (ns, kind, name) == ("bookinfo", "Service", "reviews-tcp")
    assert "target port 9080" in message and "HTTP in reviews:9080; TCP in reviews-tcp:9081" in message


def test_cf05_same_protocol_other_ports_udp_and_external_names_are_fine():
    same = svc(
        "reviews-http", selector={"app": "reviews"}, ports=[{"name": "http-alt", "port": 80, "targetPort": 9080}]
    )
    other = svc("reviews-admin", selector={"app": "reviews"}, ports=[{"name": "tcp-admin", "port": 9090}])
    udp = svc("reviews-udp", selector={"app": "reviews"}, ports=[{"name": "x", "port": 9080, "protocol": "UDP"}])
    assert found(cf.check_protocol_conflicts, world(same, other, udp)) == []
    unnamed = svc("reviews-raw", selector={"app": "reviews"}, ports=[{"port": 9081, "targetPort": 9080}])
    [(*_, message)] = found(cf.check_protocol_conflicts, world(unnamed))
    assert "HTTP in reviews:9080; auto-detected in reviews-raw:9081" in message


# --- CF06 ---


def test_cf06_rule_outside_host_and_root_namespace():
    [(ns, kind, name, message)] = found(cf.check_misplaced_rules, world(variant="cf06-dr-misplaced"))
    assert (ns, kind, name) == ("testing", "DestinationRule", "ratings-outlier")
    assert "applies only to clients in testing" in message and "then bookinfo, then istio-system" in message


def test_cf06_root_namespace_host_namespace_unknown_hosts_and_workload_rules_are_fine():
    root = dr("r", "ratings.bookinfo.svc.cluster.local", namespace="istio-system")
    external = dr("e", "api.example.com", namespace="testing")
    scoped = dr(
        "s", "ratings.bookinfo.svc.cluster.local", namespace="testing", workloadSelector={"matchLabels": {"a": "b"}}
    )
    assert found(cf.check_misplaced_rules, world(root, external, scoped)) == []
    entry = doc("ServiceEntry", "egress", "api", {"hosts": ["api.example.com"]})
    assert [f[2] for f in found(cf.check_misplaced_rules, world(entry, external))] == ["e"]


# --- CF07 ---


@pytest.mark.parametrize(("route", "expected"), [
    ({"fault": {"abort": {"httpStatus": 500}}, "retries": {"attempts": 3}}, "with retries:"),
    ({"fault": {"abort": {"httpStatus": 500}}, "timeout": "2s"}, "with timeout 2s:"),
    ({"fault": {"abort": {"httpStatus": 500}}, "retries": {"attempts": 0}}, None),
    ({"fault": {}, "retries": {"attempts": 3}}, None),
    ({"retries": {"attempts": 3}, "timeout": "1s"}, None),
])  # fmt: skip
def test_cf07_fault_with_retries_or_timeout(route, expected):
    snap = world(vs("ratings", hosts=["ratings"], http=[{**route, "route": [{"destination": {"host": "ratings"}}]}]))
    findings = found(cf.check_fault_with_retries, snap)
    assert [expected in f[3] for f in findings] == ([True] if expected else [])


# --- CF08 ---


def gw(
    name: str, servers: list[dict[str, Any]], created: str, selector: dict[str, str] | None = None
) -> dict[str, Any]:
    selector = {"istio": "ingressgateway"} if selector is None else selector
    return doc("Gateway", "bookinfo", name, {"selector": selector, "servers": servers},
               metadata={"creationTimestamp": created})  # fmt: skip


def tls_server(host: str, port: int = 8443, bind: str | None = None, tls: bool = True) -> dict[str, Any]:
    server: dict[str, Any] = {"port": {"number": port, "name": "https", "protocol": "HTTPS"}, "hosts": [host]}
    if tls:
        server["tls"] = {"mode": "SIMPLE", "credentialName": "c"}
    if bind:
        server["bind"] = bind
    return server


def test_cf08_the_newer_gateway_is_reported():
    [(ns, kind, name, message)] = found(cf.check_gateway_conflicts, world(variant="cf08-two-gateways-tls"))
    assert (ns, kind, name) == ("bookinfo", "Gateway", "bookinfo-tls-copy")
    assert message.startswith("spec.servers[0] port 8443 host bookinfo.example.com is already served with TLS by Gateway "
                              "bookinfo/bookinfo-tls spec.servers[0]")  # fmt: skip
    old = gw("z-old", [tls_server("a.example.com")], "2025-01-01T00:00:00Z")
    new = gw("a-new", [tls_server("a.example.com")], "2026-01-01T00:00:00Z")
    assert [f[2] for f in found(cf.check_gateway_conflicts, world(old, new))] == ["a-new"]


def test_cf08_different_port_bind_host_or_plain_servers_do_not_conflict():
    first = gw("a", [tls_server("a.example.com")], "2025-01-01T00:00:00Z")
    for second in (
        gw("b", [tls_server("a.example.com", port=9443)], "2026-01-01T00:00:00Z"),
        gw("b", [tls_server("a.example.com", bind="10.0.0.1")], "2026-01-01T00:00:00Z"),
        gw("b", [tls_server("b.example.com")], "2026-01-01T00:00:00Z"),
        gw("b", [tls_server("a.example.com", tls=False)], "2026-01-01T00:00:00Z"),
        gw("b", [tls_server("*/a.example.com")], "2026-01-01T00:00:00Z"),  # istiod compares host strings
        gw("b", [tls_server("a.example.com")], "2026-01-01T00:00:00Z", selector={"istio": "egressgateway"}),
    ):
        assert found(cf.check_gateway_conflicts, world(first, second)) == [], second


def test_cf08_gateways_without_pods_conflict_when_their_selectors_are_equal():
    a = gw("a", [tls_server("a.example.com")], "2025-01-01T00:00:00Z", selector={"istio": "edge"})
    b = gw("b", [tls_server("a.example.com")], "2026-01-01T00:00:00Z", selector={"istio": "edge"})
    assert [f[2] for f in found(cf.check_gateway_conflicts, world(a, b))] == ["b"]


def test_cf08_one_gateway_with_a_duplicate_tls_host_of_its_own_loses_the_second_server():
    same = gw("a", [tls_server("a.example.com"), tls_server("a.example.com")], "2025-01-01T00:00:00Z")
    [(*_, name, message)] = found(cf.check_gateway_conflicts, world(same))
    assert name == "a" and message.startswith(
        "spec.servers[1] port 8443 host a.example.com is already served with TLS by Gateway bookinfo/a spec.servers[0]"
    )


def server(protocol: str, port: int = 9090, host: str = "*", name: str = "", **extra: Any) -> dict[str, Any]:
    return {"port": {"number": port, "name": name or protocol.lower(), "protocol": protocol}, "hosts": [host], **extra}


def dropped(*gateways: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(Gateway, message) of CF08 for Gateways created a day apart, in the given order."""
    docs = [gw(f"g{i}", servers, f"2025-01-0{i + 1}T00:00:00Z") for i, servers in enumerate(gateways)]
    return [(f[2], f[3]) for f in found(cf.check_gateway_conflicts, world(*docs))]


def test_cf08_protocols_istiod_cannot_merge_on_one_port_drop_the_newer_server():
    for first, second in (("TCP", "HTTP"), ("HTTP", "TCP"), ("TCP", "TCP"), ("HTTP", "MONGO"), ("GRPC", "TLS")):
        [(name, message)] = dropped([server(first, host="a.example.com")], [server(second, host="b.example.com")])
        assert name == "g1", (first, second)
        assert message == (
            f"spec.servers[0] port 9090: {second} cannot share the port with the {first} server Gateway bookinfo/g0's "
            "spec.servers[0] (istiod merges HTTP with HTTP only): istiod drops this server "
            "(pilot_total_rejected_configs) and its hosts fail (IST0145)"
        )


def test_cf08_http_with_http_merges_and_other_binds_or_ports_are_listeners_of_their_own():
    assert dropped([server("HTTP")], [server("HTTP2")], [server("GRPC", host="x")]) == []
    assert dropped([server("TCP")], [server("HTTP", bind="10.0.0.1")]) == []
    assert dropped([server("TCP")], [server("HTTP", port=9091)]) == []
    # a TLS server first leaves the port without a plain-text server: istiod then keeps a plain one beside it
    tls = server("HTTPS", tls={"mode": "SIMPLE", "credentialName": "c"})
    assert dropped([tls], [server("TCP")]) == []


def test_cf08_https_beside_plain_http_and_a_reused_https_route_name():
    terminated = {"tls": {"mode": "SIMPLE", "credentialName": "c"}}
    [(name, message)] = dropped([server("HTTP")], [server("HTTPS", host="a.example.com", **terminated)])
    assert name == "g1" and "HTTPS cannot share the port with the HTTP server" in message
    twice = [server("HTTPS", host="a", name="web", **terminated), server("HTTPS", host="b", name="web", **terminated)]
    [(name, message)] = dropped(twice)
    assert name == "g0" and message.startswith(
        "spec.servers[1] port 9090: HTTPS port name web is already used by this Gateway's spec.servers[0]"
    )
    passthrough = {"tls": {"mode": "PASSTHROUGH"}}
    apart = [server("HTTPS", host="a", name="web", **passthrough), server("HTTPS", host="b", name="web", **passthrough)]
    assert dropped(apart) == []  # passthrough servers are told apart by SNI, not by route


def test_cf08_a_server_without_port_number_is_left_to_validation():
    assert dropped([{"hosts": ["*"]}], [server("TCP", port=0)]) == []


# --- CF09 ---


def entry(**spec: Any) -> dict[str, Any]:
    base = {"hosts": ["db.example.com"], "ports": [{"number": 5432, "name": "tcp", "protocol": "TCP"}]}
    return doc("ServiceEntry", "bookinfo", "db", {**base, **spec})


def test_cf09_tcp_entry_without_address():
    [(ns, kind, name, message)] = found(cf.check_entries_without_address, world(variant="cf09-serviceentry-tcp"))
    assert (ns, kind, name) == ("bookinfo", "ServiceEntry", "orders-db")
    assert (
        message.startswith("spec.ports[0] 5432/TCP with no spec.addresses and DNS capture is off")
        and "(IST0134)" in message
    )


def test_cf09_addresses_allocation_http_ports_and_dns_auto_allocation_are_fine():
    assert found(cf.check_entries_without_address, world(entry(addresses=["10.1.2.3"]))) == []
    allocated = {**entry(), "status": {"addresses": [{"value": "240.240.0.1"}]}}
    assert found(cf.check_entries_without_address, world(allocated)) == []
    http = entry(ports=[{"number": 80, "name": "http", "protocol": "HTTP"}])
    assert found(cf.check_entries_without_address, world(http)) == []
    unset = entry(ports=[{"number": 5432, "name": "pg"}])
    assert len(found(cf.check_entries_without_address, world(unset))) == 1
    capture = "defaultConfig:\n  proxyMetadata:\n    ISTIO_META_DNS_CAPTURE: 'true'\n"
    [(*_, message)] = found(cf.check_entries_without_address, world(entry(), mesh(capture)))
    assert "DNS capture is on without address auto-allocation" in message
    for key in ("ISTIO_META_DNS_AUTO_ALLOCATE", "PILOT_ENABLE_IP_AUTOALLOCATE"):
        both = capture + f"    {key}: 'true'\n"
        assert found(cf.check_entries_without_address, world(entry(), mesh(both))) == []
    allocate_only = "defaultConfig:\n  proxyMetadata:\n    ISTIO_META_DNS_AUTO_ALLOCATE: 'true'\n"
    assert len(found(cf.check_entries_without_address, world(entry(), mesh(allocate_only)))) == 1


# --- CF10 ---


def test_cf10_bad_discovery_address():
    [(ns, kind, name, message)] = found(cf.check_discovery_address, world(variant="cf10-discovery-address"))
    assert (ns, kind, name) == ("istio-system", "ConfigMap", "istio")
    assert message == ("defaultConfig.discoveryAddress=istiod/istio-system.svc:15012: is not host:port; proxies get no "
                       "configuration from istiod")  # fmt: skip
    assert (
        run(cf.check_discovery_address, world(variant="cf10-discovery-address")).findings[0].severity
        == Severity.CRITICAL
    )


@pytest.mark.parametrize(("address", "why"), [
    ("istiod.istio-system.svc:15012", None),
    ("istiod.istio-system:15012", None),
    ("istiod.istio-system.svc.cluster.local:15012", None),
    ("istiod.istio-system.svc:15013", "Service istio-system/istiod has no port 15013 (it has 15010, 15012, 443, 15014)"),
    ("istiod-canary.istio-system.svc:15012", "Service istio-system/istiod-canary does not exist"),
    ("istiod.istio-system.svc", "is not host:port"),
    ("istiod.istio-system.svc:0", "is not host:port"),
    ("istiod.istio-system.svc:70000", "is not host:port"),
    (":15012", "is not host:port"),
    ("istiod..svc:15012", "is not host:port"),
    ("10.96.0.10:15012", None),  # an IP: not judged
    ("istiod.example.com:15012", None),  # outside the cluster: not judged
])  # fmt: skip
def test_cf10_address_forms(address, why):
    findings = found(cf.check_discovery_address, world(mesh(f"defaultConfig:\n  discoveryAddress: {address}\n")))
    assert [f[3].split(": ", 1)[1].split(";")[0] for f in findings] == ([why] if why else [])


def test_cf10_default_address_and_revisions():
    assert found(cf.check_discovery_address, world(mesh("enableAutoMtls: true\n"))) == []
    no_istiod = world(mesh("enableAutoMtls: true\n"), drop=(("Service", "istio-system", "istiod"),))
    assert "defaultConfig.discoveryAddress=istiod.istio-system.svc:15012: Service istio-system/istiod does not exist" in (
        found(cf.check_discovery_address, no_istiod)[0][3])  # fmt: skip
    canary = doc("ConfigMap", "istio-system", "istio-canary", data={"mesh": "rootNamespace: istio-system\n"})
    assert [f[2] for f in found(cf.check_discovery_address, world(canary))] == ["istio-canary"]  # istiod-canary missing


def test_cf10_unreadable_mesh_config_is_a_finding():
    [(*_, message)] = found(cf.check_discovery_address, world(mesh("defaultConfig: [unclosed\n")))
    assert message.startswith("mesh config is not YAML")
    assert found(cf.check_discovery_address, world(mesh("- a list\n")))[0][3] == "mesh config is not a YAML mapping"


# --- CF11 ---


def test_cf11_missing_backend_service():
    [(ns, kind, name, message)] = found(cf.check_tracing_backends, world(variant="cf11-zipkin-missing"))
    assert (ns, kind, name) == ("istio-system", "ConfigMap", "istio")
    assert message == ("defaultConfig.tracing.zipkin.address=zipkin.tracing.svc:9411: Service tracing/zipkin does not "
                       "exist; proxies send no traces there")  # fmt: skip


def test_cf11_extension_providers_ports_endpoints_and_external_hosts():
    providers = """extensionProviders:
- name: otel
  opentelemetry: {service: otel-collector.istio-system.svc.cluster.local, port: 4318}
- name: sky
  skywalking: {service: istio-system/zipkin.istio-system.svc.cluster.local, port: 9411}
- name: saas
  datadog: {service: trace.example.com, port: 8126}
- name: logs
  envoyFileAccessLog: {path: /dev/stdout}
"""
    messages = [f[3] for f in found(cf.check_tracing_backends, world(mesh(providers)))]
    assert messages == ["extensionProviders[otel].opentelemetry=otel-collector.istio-system.svc.cluster.local:4318: "
                        "Service istio-system/otel-collector has no port 4318 (it has 4317); proxies send no traces there"]  # fmt: skip
    no_endpoints = world(drop=(("EndpointSlice", "istio-system", "zipkin-1"),))
    assert "Service istio-system/zipkin has no ready endpoints" in found(cf.check_tracing_backends, no_endpoints)[0][3]


def test_cf11_tcp_probe_results_count_only_when_the_probe_is_on():
    snap = world(probes={"zipkin.istio-system.svc:9411": "connection refused"})
    assert found(cf.check_tracing_backends, snap) == []
    settings = Settings.model_validate({"checks": {"CF11": {"tcp_probe": True}}})
    [(*_, message)] = found(cf.check_tracing_backends, snap, settings)
    assert "TCP connect failed: connection refused" in message
    ok = world(probes={"zipkin.istio-system.svc:9411": ""})
    assert found(cf.check_tracing_backends, ok, settings) == []


def test_cf11_and_cf14_are_not_evaluated_when_no_mesh_config_can_be_read():
    broken = world(mesh("{"))
    for check in (cf.check_tracing_backends, cf.check_full_sampling):
        with pytest.raises(NotEvaluated, match="mesh config is not YAML"):
            run(check, broken)


# --- CF12 ---


def test_cf12_external_name_tcp():
    [(ns, kind, name, message)] = found(cf.check_externalname_tcp, world(variant="cf12-externalname-tcp"))
    assert (ns, kind, name) == ("bookinfo", "Service", "mysqldb")
    assert message.startswith("spec.ports[0] (tcp 3306) is TCP toward mysql.example.com") and message.endswith(
        "(IST0150)"
    )


def test_cf12_http_tls_ports_and_unreached_services_are_fine():
    http = svc("api", type="ExternalName", externalName="api.example.com", ports=[{"name": "http", "port": 80}])
    legacy = exported("db", "legacy", ".", type="ExternalName", externalName="db.example.com", ports=[{"port": 5432}])
    no_ports = svc("x", type="ExternalName", externalName="x.example.com")
    # HTTPS and TLS share the wildcard listener by SNI, as istioctl's IST0150 has it
    https = svc("pay", type="ExternalName", externalName="pay.example.com",
                ports=[{"name": "https", "port": 443}, {"name": "tls-pg", "port": 5433}, {"port": 8443, "appProtocol": "tls"}])  # fmt: skip
    assert found(cf.check_externalname_tcp, world(http, legacy, no_ports, https)) == []
    for port in ({"name": "tcp-db", "port": 5432}, {"name": "mysql", "port": 3306}, {"name": "db", "port": 5432}):
        named = svc("db", type="ExternalName", externalName="db.example.com", ports=[port])
        assert len(found(cf.check_externalname_tcp, world(named))) == 1, port
    second = svc("mixed", type="ExternalName", externalName="m.example.com",
                 ports=[{"name": "http", "port": 80}, {"name": "mongo", "port": 27017}])  # fmt: skip
    assert found(cf.check_externalname_tcp, world(second))[0][3].startswith("spec.ports[1] (mongo 27017)")


# --- CF13 ---


def test_cf13_local_policy_with_uncovered_nodes():
    [(ns, kind, name, message)] = found(cf.check_local_traffic_gateways, world(variant="cf13-local-gateway"))
    assert (ns, kind, name) == ("istio-system", "Service", "istio-ingressgateway")
    assert "gateway pods on 2 nodes of 3: clients on the other 1 (e.g. node-3)" in message


def test_cf13_covered_nodes_cluster_policy_and_other_services_are_fine():
    local = next(d for d in corpus.documents("cf13-local-gateway") if d["metadata"]["name"] == "istio-ingressgateway")
    assert found(cf.check_local_traffic_gateways, world(local)) == []  # two nodes, two gateway pods
    cluster = copy.deepcopy(local)
    cluster["spec"]["externalTrafficPolicy"] = "Cluster"
    node = doc("Node", "", "node-3")
    assert found(cf.check_local_traffic_gateways, world(cluster, node)) == []
    app = svc("web", type="LoadBalancer", externalTrafficPolicy="Local", selector={"app": "productpage"},
              ports=[{"name": "http", "port": 80}])  # fmt: skip
    assert found(cf.check_local_traffic_gateways, world(app, node)) == []
    settings = Settings.model_validate({"checks": {"CF13": {"gateway_selector": "app=productpage"}}})
    assert len(found(cf.check_local_traffic_gateways, world(app, node), settings)) == 1


# --- CF14 ---


def test_cf14_full_sampling_in_mesh_config_and_telemetry():
    findings = found(cf.check_full_sampling, world(variant="cf14-full-sampling"))
    assert [(f[1], f[2]) for f in findings] == [("ConfigMap", "istio"), ("Telemetry", "mesh-default")]
    assert findings[0][3] == "defaultConfig.tracing.sampling=100: every proxy traces 100 % of requests"


def test_cf14_threshold_is_inclusive_and_configurable():
    at = world(mesh("defaultConfig:\n  tracing:\n    sampling: 50\n"))
    assert found(cf.check_full_sampling, at) == []
    settings = Settings.model_validate({"checks": {"CF14": {"max_sampling_percent": 50}}})
    assert len(found(cf.check_full_sampling, at, settings)) == 1
    below = world(mesh("defaultConfig:\n  tracing:\n    sampling: 49.9\n"))
    assert found(cf.check_full_sampling, below, settings) == []
    scoped = doc("Telemetry", "bookinfo", "t", {"selector": {"matchLabels": {"app": "reviews"}},
                 "tracing": [{"randomSamplingPercentage": 50}]})  # fmt: skip
    [(*_, message)] = found(cf.check_full_sampling, world(scoped), settings)
    assert message == "spec.tracing[0].randomSamplingPercentage=50: the selected workloads traces 50 % of requests"


# --- where several objects meet: order, merging, mesh-config defaults and revisions ---


def pod_doc(name: str, namespace: str, labels: dict[str, str], node: str = "node-1", gateway: bool = False):
    containers = [{"name": "istio-proxy"}] if gateway else [{"name": "app"}, {"name": "istio-proxy"}]
    return doc("Pod", namespace, name, {"nodeName": node, "containers": containers}, status={"phase": "Running"},
               metadata={"labels": labels})  # fmt: skip


def test_root_namespace_comes_from_the_default_revisions_readable_mesh_config():
    misplaced = dr("r", "ratings.bookinfo.svc.cluster.local", namespace="testing")
    canary = doc("ConfigMap", "istio-system", "istio-canary", data={"mesh": "rootNamespace: canary-root\n"})
    default = mesh("rootNamespace: mesh-root\n")
    [(*_, message)] = found(cf.check_misplaced_rules, world(misplaced, canary, default))
    assert "then bookinfo, then mesh-root," in message
    broken = mesh("rootNamespace: [\n")
    [(*_, message)] = found(cf.check_misplaced_rules, world(misplaced, canary, broken))
    assert "then bookinfo, then canary-root," in message
    assert (
        found(
            cf.check_misplaced_rules,
            world(dr("r", "ratings.bookinfo.svc.cluster.local", namespace="mesh-root"), default),
        )
        == []
    )


def test_mesh_wide_default_export_of_destination_rules_is_honoured():
    route = vs("cross", namespace="frontend", hosts=["reviews.bookinfo.svc.cluster.local"],
               http=[{"route": [{"destination": {"host": "reviews.bookinfo.svc.cluster.local", "subset": "v2"}}]}])  # fmt: skip
    private = mesh("defaultDestinationRuleExportTo: ['.']\n")
    assert [f[2] for f in found(cf.check_undefined_subsets, world(route, private)) if f[0] == "frontend"] == ["cross"]
    assert [f for f in found(cf.check_undefined_subsets, world(route)) if f[0] == "frontend"] == []
    no_mesh = world(route, drop=(("ConfigMap", "istio-system", "istio"),))
    assert [f for f in found(cf.check_undefined_subsets, no_mesh) if f[0] == "frontend"] == []
    local = dr("reviews-local", "reviews.bookinfo.svc.cluster.local", namespace="frontend", exportTo=["."],
               subsets=[{"name": "v2", "labels": {"version": "v2"}}])  # fmt: skip
    assert [f for f in found(cf.check_undefined_subsets, world(route, local, private)) if f[0] == "frontend"] == []


def test_cf02_messages_name_every_merged_rule_and_rules_without_subsets():
    extra = dr(
        "reviews-extra", "reviews.bookinfo.svc.cluster.local", subsets=[{"name": "v9", "labels": {"version": "v9"}}]
    )
    route = vs("reviews", hosts=["reviews"], http=[{"route": [{"destination": {"host": "reviews", "subset": "v7"}}]}])
    [(*_, message)] = found(cf.check_undefined_subsets, world(extra, route))
    assert "DestinationRule bookinfo/reviews, bookinfo/reviews-extra defines subsets v1, v2, v3, v9, not v7" in message
    bare = dr("reviews", "reviews")
    [(*_, message)] = found(cf.check_undefined_subsets, world(bare, route))
    assert "DestinationRule bookinfo/reviews defines subsets none, not v7" in message


def test_cf01_later_pods_rules_and_services_are_still_judged():
    lenient = doc("PeerAuthentication", "bookinfo", "reviews-v1", {"selector": {"matchLabels": {"version": "v1"}},
                  "mtls": {"mode": "PERMISSIVE"}})  # fmt: skip
    rule = dr("reviews", "reviews", trafficPolicy={"tls": {"mode": "SIMPLE"}})
    nohost = dr("a-nohost", "", trafficPolicy={"tls": {"mode": "DISABLE"}})
    [(*_, message)] = found(cf.check_tls_conflicts, world(lenient, nohost, rule))
    assert message == ("spec.trafficPolicy.tls.mode=SIMPLE toward reviews.bookinfo:9080, whose pods are STRICT "
                       "(istio-system/default): requests fail with 503 UF/UC")  # fmt: skip
    portless = svc("portless", selector={"app": "ratings"})
    [(*_, message)] = found(
        cf.check_tls_conflicts, world(portless, dr("p", "portless", trafficPolicy={"tls": {"mode": "DISABLE"}}))
    )
    assert message.startswith("spec.trafficPolicy.tls.mode=DISABLE toward portless.bookinfo, whose pods")
    named = svc("named", selector={"app": "ratings"}, ports=[{"name": "http", "port": 80, "targetPort": "http-web"}])
    rule = dr("n", "named", trafficPolicy={"portLevelSettings": [{"port": {"number": 80}, "tls": {"mode": "DISABLE"}}]})
    assert len(found(cf.check_tls_conflicts, world(named, rule))) == 1  # a named target port cannot crash the check


def test_cf01_selectorless_and_other_namespace_services_select_no_pods():
    manual = svc("manual", ports=[{"name": "http", "port": 9080}])
    elsewhere = svc("ratings", namespace="other", selector={"app": "ratings"}, ports=[{"name": "http", "port": 9080}])
    rules = [dr("m", "manual", trafficPolicy={"tls": {"mode": "DISABLE"}}),
             dr("o", "ratings.other.svc.cluster.local", trafficPolicy={"tls": {"mode": "DISABLE"}})]  # fmt: skip
    assert found(cf.check_tls_conflicts, world(manual, elsewhere, *rules)) == []


def test_cf01_auto_mtls_off_judges_every_service_and_honours_root_and_private_rules():
    auto_off = mesh("enableAutoMtls: false\nrootNamespace: istio-system\n")
    plain_reviews = dr("reviews", "reviews", subsets=[{"name": "v1", "labels": {"version": "v1"}}])
    first = svc("a-first", labels={"istio": "pilot"}, selector={"app": "reviews"}, ports=[{"name": "http", "port": 1}])
    empty = svc("a-empty", selector={"app": "nothing"}, ports=[{"name": "http", "port": 1}])
    names = [f[2] for f in found(cf.check_tls_conflicts, world(auto_off, plain_reviews, first, empty))]
    assert names == ["reviews"]  # details, productpage, ratings have ISTIO_MUTUAL; a-first and a-empty are skipped
    root_rule = dr("reviews-root", "reviews.bookinfo.svc.cluster.local", namespace="istio-system",
                   trafficPolicy={"tls": {"mode": "ISTIO_MUTUAL"}})  # fmt: skip
    no_local = world(auto_off, root_rule, drop=(("DestinationRule", "bookinfo", "reviews"),))
    assert "reviews" not in [f[2] for f in found(cf.check_tls_conflicts, no_local)]
    hidden = mesh("enableAutoMtls: false\ndefaultDestinationRuleExportTo: ['.']\n")
    hidden_root = world(hidden, root_rule, drop=(("DestinationRule", "bookinfo", "reviews"),))
    assert "reviews" in [f[2] for f in found(cf.check_tls_conflicts, hidden_root)]
    private_local = dr("reviews", "reviews", exportTo=["."], trafficPolicy={"tls": {"mode": "ISTIO_MUTUAL"}})
    assert "reviews" not in [f[2] for f in found(cf.check_tls_conflicts, world(auto_off, private_local))]


def test_service_entry_hosts_short_names_and_the_first_namespace_of_a_shared_host():
    z = doc("ServiceEntry", "z-egress", "api", {"hosts": ["api.example.com"]})
    a = doc("ServiceEntry", "a-egress", "api", {"hosts": ["api.example.com"]})
    rule = dr("api", "api.example.com", namespace="a-egress")
    assert found(cf.check_misplaced_rules, world(z, a, rule)) == []  # owned by a-egress (first by namespace)
    short = doc(
        "ServiceEntry", "bookinfo", "vm", {"hosts": ["legacy"], "workloadSelector": {"labels": {"app": "ratings"}}}
    )
    assert (
        found(
            cf.check_empty_subsets,
            world(short, dr("legacy", "legacy", subsets=[{"name": "v1", "labels": {"version": "v1"}}])),
        )
        == []
    )


def test_cf03_every_rule_and_subset_is_judged_and_only_in_the_services_namespace():
    wildcard = dr("a-all", "*.bookinfo.svc.cluster.local")
    unknown = [dr("b-x", "x"), dr("b-y", "y")]
    manual = svc("manual", ports=[{"name": "http", "port": 80}])
    manual_rule = dr("c-manual", "manual", subsets=[{"name": "x", "labels": {"version": "none"}}])
    two = dr(
        "ratings", "ratings", subsets=[{"name": "all"}, {"name": "bad", "labels": {"version": "v9", "track": "x"}}]
    )
    findings = found(cf.check_empty_subsets, world(wildcard, *unknown, manual, manual_rule, two))
    assert [f[2] for f in findings] == ["b-x", "b-y", "ratings"]
    assert "spec.subsets[1] bad (track=x,version=v9) selects none" in findings[2][3]
    other = doc("Pod", "other", "ratings-v9", {"containers": [{"name": "ratings"}]}, status={"phase": "Running"},
                metadata={"labels": {"app": "ratings", "version": "v9", "track": "x"}})  # fmt: skip
    assert [f[2] for f in found(cf.check_empty_subsets, world(two, other))] == ["ratings"]


def test_cf04_injection_label_alone_and_every_port_of_a_service():
    enabled = doc("Namespace", "", "inj", metadata={"labels": {"istio-injection": "enabled"}})
    ports = svc("s", namespace="inj", ports=[{"name": "http", "port": 80}, {"name": "web", "port": 81}])
    assert [f[3].split(" ")[0] for f in found(cf.check_unnamed_ports, world(enabled, ports))] == [
        "spec.ports[1].name=web"
    ]


def test_cf05_groups_order_udp_and_service_kinds():
    no_selector = svc("a-manual", ports=[{"name": "tcp", "port": 9080}])
    external = svc("a-ext", type="ExternalName", externalName="x.example.com", selector={"app": "reviews"},
                   ports=[{"name": "tcp", "port": 9080}])  # fmt: skip
    other_ns = svc("reviews-tcp", namespace="other", selector={"app": "reviews"}, ports=[{"name": "tcp", "port": 9080}])
    assert found(cf.check_protocol_conflicts, world(no_selector, external, other_ns)) == []
    udp_first = svc("reviews-tcp", selector={"app": "reviews"},
                    ports=[{"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "tcp", "port": 9081, "targetPort": 9080}])  # fmt: skip
    alt = svc("reviews-alt", selector={"app": "reviews"}, ports=[{"name": "http-alt", "port": 80, "targetPort": 9080}])
    ratings_tcp = svc("ratings-tcp", selector={"app": "ratings"}, ports=[{"name": "tcp", "port": 9080}])
    findings = found(cf.check_protocol_conflicts, world(external, udp_first, alt, ratings_tcp))
    assert [f[2] for f in findings] == ["ratings-tcp", "reviews-tcp"]
    assert "HTTP in reviews:9080, reviews-alt:80; TCP in reviews-tcp:9081" in findings[1][3]
    fine_first = svc(
        "reviews-admin",
        selector={"app": "reviews"},
        ports=[{"name": "tcp-admin", "port": 1, "targetPort": 1}, {"name": "tcp", "port": 9081, "targetPort": 9080}],
    )
    assert len(found(cf.check_protocol_conflicts, world(fine_first))) == 1


def test_cf06_and_cf07_judge_objects_after_a_skipped_one():
    scoped = dr(
        "a-scoped",
        "ratings.bookinfo.svc.cluster.local",
        namespace="testing",
        workloadSelector={"matchLabels": {"a": "b"}},
    )
    misplaced = dr("b-misplaced", "ratings.bookinfo.svc.cluster.local", namespace="testing")
    assert [f[2] for f in found(cf.check_misplaced_rules, world(scoped, misplaced))] == ["b-misplaced"]
    route = vs("ratings", hosts=["ratings"], http=[{"route": [{"destination": {"host": "ratings"}}]},
               {"fault": {"abort": {"httpStatus": 500}}, "timeout": "1s", "route": [{"destination": {"host": "ratings"}}]}])  # fmt: skip
    assert [f[3].split(".fault")[0] for f in found(cf.check_fault_with_retries, world(route))] == ["spec.http[1]"]


def test_cf08_selectors_that_pick_the_same_pods_and_servers_after_skipped_ones():
    by_app = gw("a", [tls_server("a.example.com")], "2025-01-01T00:00:00Z", selector={"app": "istio-ingressgateway"})
    by_istio = gw("b", [tls_server("a.example.com")], "2026-01-01T00:00:00Z")
    assert [f[2] for f in found(cf.check_gateway_conflicts, world(by_app, by_istio))] == ["b"]
    everyone = gw("c", [tls_server("a.example.com")], "2026-01-01T00:00:00Z", selector={})
    everyone["spec"].pop("selector")
    assert [f[2] for f in found(cf.check_gateway_conflicts, world(by_app, everyone))] == [
        "c"
    ]  # an empty selector: every gateway
    no_gateway_pods = world(by_app, everyone, drop=(("Pod", "istio-system", "istio-ingressgateway-5d9c8b7f6-k2x4q"),
                                                    ("Pod", "istio-system", "istio-ingressgateway-5d9c8b7f6-m7r2t")))  # fmt: skip
    assert found(cf.check_gateway_conflicts, no_gateway_pods) == []  # not the same selector, no pod: nothing applied
    later = gw("d", [tls_server("x.example.com", tls=False), tls_server("z.example.com"), tls_server("z.example.com"),
                     tls_server("a.example.com")], "2026-01-01T00:00:00Z")  # fmt: skip
    # server 0 (HTTPS without tls) is the port's plain-text server: the TLS servers after it cannot join it
    messages = [f[3] for f in found(cf.check_gateway_conflicts, world(by_app, later))]
    assert [m.split(" port")[0] for m in messages] == ["spec.servers[1]", "spec.servers[2]", "spec.servers[3]"]
    assert "HTTPS cannot share the port with the HTTPS server this Gateway's spec.servers[0]" in messages[0]
    assert "host z.example.com is already served with TLS by Gateway bookinfo/d spec.servers[1]" in messages[1]
    assert "host a.example.com is already served with TLS by Gateway bookinfo/a spec.servers[0]" in messages[2]


def test_cf09_entries_after_fine_ones():
    fine = doc("ServiceEntry", "bookinfo", "a-fine", {"hosts": ["f.example.com"], "addresses": ["10.0.0.1"],
               "ports": [{"number": 5432, "protocol": "TCP"}]})  # fmt: skip
    web = doc(
        "ServiceEntry", "bookinfo", "b-web", {"hosts": ["w.example.com"], "ports": [{"number": 80, "protocol": "HTTP"}]}
    )
    capture = mesh("defaultConfig:\n  proxyMetadata:\n    ISTIO_META_DNS_CAPTURE: 'true'\n")
    [(*_, message)] = found(cf.check_entries_without_address, world(fine, web, entry(), capture))
    assert message.startswith("spec.ports[0] 5432/TCP with no spec.addresses and DNS capture is on without address "
                              "auto-allocation: proxies")  # fmt: skip


def test_cf10_every_mesh_config_and_every_address_form():
    broken = mesh("a: [\n")
    canary = doc("ConfigMap", "istio-system", "istio-canary", data={"mesh": "defaultConfig: {discoveryAddress: x}\n"})
    findings = run(cf.check_discovery_address, world(broken, canary)).findings
    assert [(f.check, f.severity, f.namespace, f.kind, f.name) for f in findings] == [
        ("CF10", Severity.CRITICAL, "istio-system", "ConfigMap", "istio"),
        ("CF10", Severity.CRITICAL, "istio-system", "ConfigMap", "istio-canary")]  # fmt: skip
    for address, why in [("istiod-x.istio-system:15012", "Service istio-system/istiod-x does not exist"),
                         ("istiod-x.istio-system.svc.cluster.local:15012", "Service istio-system/istiod-x does not exist")]:  # fmt: skip
        [(*_, message)] = found(
            cf.check_discovery_address, world(mesh(f"defaultConfig: {{discoveryAddress: '{address}'}}\n"))
        )
        assert why in message
    portless = svc(
        "istiod", namespace="istio-system", labels={"app": "istiod", "istio": "pilot"}, selector={"app": "istiod"}
    )
    [(*_, message)] = found(cf.check_discovery_address, world(portless))
    assert "Service istio-system/istiod has no port 15012 (it has none)" in message


def test_cf11_every_config_and_address_and_all_endpoint_slices():
    broken = mesh("a: [\n")
    canary = doc(
        "ConfigMap",
        "istio-system",
        "istio-canary",
        data={"mesh": "defaultConfig: {tracing: {zipkin: {address: 'zipkin.tracing:9411'}}}\n"},
    )
    [(*_, name, _)] = found(cf.check_tracing_backends, world(broken, canary))
    assert name == "istio-canary"
    with pytest.raises(NotEvaluated, match=r"istio-system/istio: mesh config is not YAML.*; istio-system/istio-canary"):
        run(
            cf.check_tracing_backends,
            world(broken, doc("ConfigMap", "istio-system", "istio-canary", data={"mesh": "["})),
        )
    two = mesh("defaultConfig: {tracing: {zipkin: {address: 'zipkin.istio-system.svc:9411'}}}\n"
               "extensionProviders: [{name: bad, zipkin: {service: 'zipkin/', port: 9411}}]\n")  # fmt: skip
    [(*_, message)] = found(cf.check_tracing_backends, world(two))
    assert message == "extensionProviders[bad].zipkin=zipkin/:9411: is not host:port; proxies send no traces there"
    empty_slice = doc("EndpointSlice", "istio-system", "zipkin-2", metadata={"labels": {"kubernetes.io/service-name": "zipkin"}},
                      addressType="IPv4", endpoints=[])  # fmt: skip
    assert found(cf.check_tracing_backends, world(empty_slice)) == []  # another slice still has a ready endpoint


def test_cf12_and_cf13_objects_after_skipped_ones_and_message_defaults():
    http = svc("a-http", type="ExternalName", externalName="api.example.com", ports=[{"name": "http", "port": 80}])
    bare = svc("b-bare", type="ExternalName", ports=[{"port": 5432}])
    [(*_, message)] = found(cf.check_externalname_tcp, world(http, bare))
    assert message.startswith("spec.ports[0] ((unnamed) 5432) is TCP toward (no externalName): proxies")
    local = next(d for d in corpus.documents("cf13-local-gateway") if d["metadata"]["name"] == "istio-ingressgateway")
    node_port = copy.deepcopy(local)
    node_port["spec"]["type"] = "NodePort"
    assert len(found(cf.check_local_traffic_gateways, world(node_port, doc("Node", "", "node-3")))) == 1
    internal_pod = pod_doc("internal-gw-1", "istio-system", {"istio": "ingressgateway", "gw": "internal"}, gateway=True)
    internal = svc("z-internal", namespace="istio-system", type="LoadBalancer", externalTrafficPolicy="Local",
                   selector={"gw": "internal"}, ports=[{"name": "https", "port": 443}])  # fmt: skip
    app = svc("a-app", namespace="istio-system", type="LoadBalancer", externalTrafficPolicy="Local",
              selector={"app": "zipkin"}, ports=[{"name": "http", "port": 80}])  # fmt: skip
    findings = found(cf.check_local_traffic_gateways, world(app, local, internal_pod, internal))
    assert [f[2] for f in findings] == ["z-internal"]  # the main gateway Service covers both nodes


def _in_domain(value: Any, domain: str) -> Any:
    if isinstance(value, str):
        return value.replace("cluster.local", domain)
    if isinstance(value, list):
        return [_in_domain(v, domain) for v in value]
    if isinstance(value, dict):
        return {k: _in_domain(v, domain) for k, v in value.items()}
    return value


@pytest.mark.parametrize("variant", [None, *corpus.variants()])
def test_every_check_reaches_the_same_conclusion_in_another_cluster_domain(variant):
    docs = corpus.documents(variant)
    short = doc("ServiceEntry", "bookinfo", "vm", {"hosts": ["legacy"], "workloadSelector": {"labels": {"app": "x"}}})
    routed = vs("legacy", hosts=["legacy"], http=[{"route": [{"destination": {"host": "legacy", "subset": "v1"}}]}])
    elsewhere = dr("reviews-far", "reviews", namespace="testing", subsets=[{"name": "v1", "labels": {"version": "v1"}}])
    extra = [short, routed, elsewhere]
    domain = "corp.internal"
    settings = Settings.model_validate({"istio": {"cluster_domain": domain}})
    for check in cf.CHECKS:
        default = check.run(world(*extra, variant=variant), Settings(), NOW).findings
        moved = check.run(world(*_in_domain([*docs, *extra], domain), variant=variant), settings, NOW).findings
        expected = [(f.namespace, f.kind, f.name, f.message.replace("cluster.local", domain)) for f in default]
        assert [(f.namespace, f.kind, f.name, f.message) for f in moved] == expected, (check.id, variant)


def test_cf01_a_rule_without_host_does_not_stop_the_ones_after_it():
    hostless = doc("DestinationRule", "bookinfo", "a-nohost", {"trafficPolicy": {"tls": {"mode": "DISABLE"}}})
    bad = dr("z-ratings", "ratings", trafficPolicy={"tls": {"mode": "DISABLE"}})
    assert [f[2] for f in found(cf.check_tls_conflicts, world(hostless, bad))] == ["z-ratings"]


def test_cf03_a_rule_for_endpoints_without_labels_does_not_stop_the_ones_after_it():
    manual = svc("manual", ports=[{"name": "http", "port": 80}])
    manual_rule = dr("a-manual", "manual", subsets=[{"name": "x", "labels": {"version": "none"}}])
    bad = dr("z-ratings", "ratings", subsets=[{"name": "bad", "labels": {"version": "v9"}}])
    assert [f[2] for f in found(cf.check_empty_subsets, world(manual, manual_rule, bad))] == ["z-ratings"]


def test_cf08_an_empty_selector_means_gateway_pods_not_application_pods():
    everywhere = gw("a", [tls_server("a.example.com")], "2025-01-01T00:00:00Z", selector={})
    app = gw("b", [tls_server("a.example.com")], "2026-01-01T00:00:00Z", selector={"app": "productpage"})
    assert found(cf.check_gateway_conflicts, world(everywhere, app)) == []
    named = gw("b", [tls_server("a.example.com")], "2026-01-01T00:00:00Z", selector={"istio": "ingressgateway"})
    assert [f[2] for f in found(cf.check_gateway_conflicts, world(everywhere, named))] == ["b"]


def test_cf13_local_services_without_selector_are_not_judged():
    node = doc("Node", "", "node-3")
    manual = svc("edge", namespace="istio-system", labels={"istio": "ingressgateway"}, type="LoadBalancer",
                 externalTrafficPolicy="Local", ports=[{"name": "https", "port": 443}])  # fmt: skip
    assert found(cf.check_local_traffic_gateways, world(manual, node)) == []
    internal = svc("edge", namespace="istio-system", labels={"istio": "ingressgateway"}, type="ClusterIP",
                   externalTrafficPolicy="Local", selector={"istio": "ingressgateway"},
                   ports=[{"name": "https", "port": 443}])  # fmt: skip
    assert found(cf.check_local_traffic_gateways, world(internal, node)) == []  # only node ports are local


def test_short_service_entry_and_rule_hosts_resolve_in_a_custom_cluster_domain():
    settings = Settings.model_validate({"istio": {"cluster_domain": "corp.internal"}})
    entry = doc("ServiceEntry", "vm", "legacy", {"hosts": ["legacy"], "workloadSelector": {"labels": {"app": "x"}}})
    rule = dr("legacy", "legacy", namespace="vm", subsets=[{"name": "v1", "labels": {"version": "v1"}}])
    route = vs("to-legacy", hosts=["legacy.vm.svc.corp.internal"],
               http=[{"route": [{"destination": {"host": "legacy.vm.svc.corp.internal", "subset": "v1"}}]}])  # fmt: skip
    assert found(cf.check_undefined_subsets, world(entry, rule, route), settings) == []
    assert found(cf.check_misplaced_rules, world(entry, rule, route), settings) == []
    # the entry in vm owns legacy.vm.svc.<domain>: a rule for it elsewhere is misplaced, however it names the host
    elsewhere = dr("legacy", "legacy.vm.svc.corp.internal", namespace="testing")
    assert [f[:3] for f in found(cf.check_misplaced_rules, world(entry, elsewhere), settings)] == [
        ("testing", "DestinationRule", "legacy")
    ]
