"""Istio configuration objects projected to the fields the CF checks read, with field paths; wrong types read as absent."""

from __future__ import annotations

import pytest

from exporter.sources.kube import istio_projections as ip


def test_destination_rule_keeps_host_subsets_and_every_tls_setting_with_its_path():
    rule = ip.project_destination_rule({
        "metadata": {"name": "reviews", "namespace": "bookinfo", "creationTimestamp": "2026-01-01T00:00:00Z",
                     "labels": {"team": "a"}},
        "spec": {"host": "reviews", "exportTo": [".", 3], "workloadSelector": {"matchLabels": {"app": "x"}},
                 "trafficPolicy": {"tls": {"mode": "istio_mutual"}, "portLevelSettings": [
                     {"port": {"number": 9080}, "tls": {"mode": "DISABLE"}}, {"port": {}, "tls": {"mode": "SIMPLE"}},
                     {"port": {"number": 1}}]},
                 "subsets": [{"name": "v1", "labels": {"version": "v1", "n": 1}, "trafficPolicy": {"tls": {"mode": "MUTUAL"}}},
                             "junk", {"labels": {"version": "v2"}}]},
    })  # fmt: skip
    assert (rule.meta.namespace, rule.meta.name, rule.meta.created, rule.meta.labels) == (
        "bookinfo", "reviews", 1767225600.0, (("team", "a"),))  # fmt: skip
    assert (rule.host, rule.export_to, rule.workload_selector) == ("reviews", (".",), (("app", "x"),))
    assert rule.tls == (
        ip.TLSSetting("spec.trafficPolicy.tls.mode", "ISTIO_MUTUAL", 0),
        ip.TLSSetting("spec.trafficPolicy.portLevelSettings[0].tls.mode", "DISABLE", 9080),
    )
    assert rule.subsets[0] == ip.Subset(
        0, "v1", (("version", "v1"),), (ip.TLSSetting("spec.subsets[0].trafficPolicy.tls.mode", "MUTUAL", 0),)
    )
    assert [(s.index, s.name, s.labels) for s in rule.subsets[1:]] == [(1, "", ()), (2, "", (("version", "v2"),))]


def test_virtual_service_keeps_every_destination_path_and_route_policies():
    vs = ip.project_virtual_service({
        "metadata": {"name": "r", "namespace": "b"},
        "spec": {"hosts": ["r"], "gateways": ["mesh"], "exportTo": ["*"],
                 "http": [{"route": [{"destination": {"host": "r", "subset": "v1", "port": {"number": 9080}}},
                                     {"destination": {"subset": "nohost"}}, "junk"],
                           "mirror": {"host": "m"}, "mirrors": [{"destination": {"host": "n", "subset": "s"}}],
                           "fault": {"abort": {}}, "retries": {"attempts": 2}, "timeout": "3s"},
                          {"retries": {"attempts": True}, "fault": {}}],
                 "tcp": [{"route": [{"destination": {"host": "t"}}]}], "tls": [{"route": [{"destination": {"host": "s"}}]}]},
    })  # fmt: skip
    assert [(d.path, d.host, d.subset, d.port) for d in vs.destinations] == [
        ("spec.http[0].route[0].destination", "r", "v1", 9080),
        ("spec.http[0].mirror", "m", "", 0),
        ("spec.http[0].mirrors[0].destination", "n", "s", 0),
        ("spec.tls[0].route[0].destination", "s", "", 0),
        ("spec.tcp[0].route[0].destination", "t", "", 0),
    ]
    assert vs.http == (ip.HTTPRoute("spec.http[0]", True, True, "3s"), ip.HTTPRoute("spec.http[1]", False, False, ""))
    assert (vs.hosts, vs.gateways, vs.export_to) == (("r",), ("mesh",), ("*",))


def test_gateway_service_entry_peer_authentication_and_telemetry():
    gw = ip.project_gateway({"metadata": {"name": "g", "namespace": "n"}, "spec": {"selector": {"istio": "ingress"}, "servers": [
        {"port": {"number": 443, "protocol": "https", "name": "web"}, "hosts": ["a"], "tls": {"mode": "passthrough"},
         "bind": "1.2.3.4"},
        {"port": "x", "hosts": "a", "tls": "yes"},
        {"port": {"number": 444, "protocol": "TLS"}, "hosts": ["b"], "tls": {}}]}})  # fmt: skip
    assert gw.selector == (("istio", "ingress"),)
    assert gw.servers == (
        ip.GatewayServer(0, 443, "HTTPS", "1.2.3.4", ("a",), True, "web", "PASSTHROUGH"),
        ip.GatewayServer(1, 0, "", "", (), False, "", ""),
        ip.GatewayServer(2, 444, "TLS", "", ("b",), True, "", "SIMPLE"),
    )
    se = ip.project_service_entry({"metadata": {"name": "s", "namespace": "n"}, "status": {"addresses": [{"value": "240.0.0.1"}]},
        "spec": {"hosts": ["db"], "ports": [{"number": 5432, "protocol": "tcp", "name": "pg"}], "resolution": "dns",
                 "workloadSelector": {"labels": {"app": "db"}}}})  # fmt: skip
    assert (se.hosts, se.addresses, se.allocated, se.resolution, se.workload_selector) == (
        ("db",),
        (),
        True,
        "DNS",
        (("app", "db"),),
    )
    assert se.ports == (ip.ServiceEntryPort(0, 5432, "TCP", "pg"),)
    assert ip.project_service_entry({"metadata": {"name": "s"}, "spec": {}}).resolution == "NONE"
    pa = ip.project_peer_authentication({"metadata": {"name": "p", "namespace": "n"}, "spec": {
        "selector": {"matchLabels": {"app": "a"}}, "mtls": {"mode": "strict"},
        "portLevelMtls": {"8080": {"mode": "disable"}, "http": {"mode": "STRICT"}, "9090": {}}}})  # fmt: skip
    assert (pa.selector, pa.mode, pa.port_modes) == ((("app", "a"),), "STRICT", ((8080, "DISABLE"),))
    empty = ip.project_peer_authentication({"metadata": {"name": "p"}, "spec": {"selector": {}}})
    assert (empty.selector, empty.mode) == (None, "UNSET")
    tel = ip.project_telemetry({"metadata": {"name": "t"}, "spec": {"tracing": [
        {"randomSamplingPercentage": 100}, {"randomSamplingPercentage": "100"}, {"randomSamplingPercentage": True},
        {"randomSamplingPercentage": 2.5}]}})  # fmt: skip
    assert (tel.selector, tel.sampling) == (
        None,
        (("spec.tracing[0].randomSamplingPercentage", 100.0), ("spec.tracing[3].randomSamplingPercentage", 2.5)),
    )
    assert ip.project_telemetry(
        {"metadata": {"name": "t"}, "spec": {"selector": {"matchLabels": {"a": "b"}}}}
    ).selector == (("a", "b"),)


def test_sidecar_keeps_its_workload_selector_and_an_empty_one_means_the_namespace():
    meta = {"name": "s", "namespace": "ns"}
    assert ip.project_sidecar({"metadata": meta, "spec": {"workloadSelector": {"labels": {"app": "a", "v": "1"}}}}
                              ).selector == (("app", "a"), ("v", "1"))  # fmt: skip
    assert ip.project_sidecar({"metadata": meta, "spec": {"workloadSelector": {"labels": {}}}}).selector is None
    assert ip.project_sidecar({"metadata": meta, "spec": {"workloadSelector": "x"}}).selector is None


def test_authorization_policy_keeps_selector_action_target_refs_and_every_source_namespace_path():
    spec = {
        "selector": {"matchLabels": {"app": "a"}},
        "action": "deny",
        "rules": [
            {"from": [{"source": {"namespaces": ["x", 5]}}, "junk", {"source": {"notNamespaces": ["y"]}}]},
            {"to": [{"operation": {"methods": ["GET"]}}]},
            {"from": [{"source": {"namespaces": ["z"], "notNamespaces": ["w"]}}]},
        ],
    }
    policy = ip.project_authorization_policy({"metadata": {"name": "p", "namespace": "ns"}, "spec": spec})
    assert (policy.selector, policy.action, policy.targeted) == ((("app", "a"),), "DENY", False)
    assert policy.source_namespaces == (
        ("spec.rules[0].from[0].source.namespaces[0]", "x"),
        ("spec.rules[0].from[2].source.notNamespaces[0]", "y"),
        ("spec.rules[2].from[0].source.namespaces[0]", "z"),
        ("spec.rules[2].from[0].source.notNamespaces[0]", "w"),
    )
    bare = ip.project_authorization_policy({"metadata": {"name": "p"}, "spec": {"selector": {"matchLabels": {}}}})
    assert (bare.selector, bare.action, bare.targeted, bare.source_namespaces) == (None, "ALLOW", False, ())
    for ref in ({"targetRef": {"kind": "Gateway", "name": "w"}}, {"targetRefs": [{"kind": "Service", "name": "s"}]}):
        assert ip.project_authorization_policy({"metadata": {"name": "p"}, "spec": ref}).targeted


@pytest.mark.parametrize("project", [ip.project_destination_rule, ip.project_virtual_service, ip.project_gateway,
                                     ip.project_service_entry, ip.project_peer_authentication, ip.project_telemetry,
                                     ip.project_sidecar, ip.project_authorization_policy])  # fmt: skip
@pytest.mark.parametrize(
    "obj", [{}, {"metadata": {}}, {"metadata": {"name": ""}}, {"metadata": {"name": 5}}, {"metadata": []}]
)
def test_an_object_without_a_name_is_rejected(project, obj):
    with pytest.raises(ValueError, match=r"metadata\.name"):
        project(obj)


@pytest.mark.parametrize("project", [ip.project_destination_rule, ip.project_virtual_service, ip.project_gateway,
                                     ip.project_service_entry, ip.project_peer_authentication, ip.project_telemetry,
                                     ip.project_sidecar, ip.project_authorization_policy])  # fmt: skip
@pytest.mark.parametrize(
    "spec", [None, [], "x", 1, {"hosts": 5, "host": [], "servers": {}, "subsets": "a", "tracing": 1}]
)
def test_wrongly_typed_specs_read_as_empty(project, spec):
    assert project({"metadata": {"name": "n", "namespace": "ns"}, "spec": spec}).meta.name == "n"
