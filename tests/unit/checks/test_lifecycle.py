from exporter.checks.lifecycle import (
    NAMESPACES,
    check_expected_in_mesh,
    check_namespace_terminating,
    check_required_crds,
)
from exporter.sources.kube.projections import (
    Condition,
    CRDInfo,
    NamespaceInfo,
    PodInfo,
    parse_time,
    project_crd,
    project_namespace,
)
from tests.unit.helpers import kube_object, settings, snapshot, uninjected

DELETED_AT = parse_time("2020-12-16T09:00:00Z")
assert DELETED_AT is not None


def run(namespaces, now, **overrides):
    return check_namespace_terminating(snapshot(**{NAMESPACES: namespaces}), settings(**overrides), now)


def terminating():
    return project_namespace(kube_object("namespace-istio-system-terminating"))


def active(name):
    return project_namespace({"metadata": {"name": name}, "status": {"phase": "Active"}})


def metric(result, name):
    return {tuple(v for _, v in s.labels): s.value for s in result.samples if s.metric == name}


def test_ns01_stuck_namespace_names_what_blocks_it():
    result = run([terminating(), active("default")], DELETED_AT + 3600)
    assert metric(result, "meshhealth_namespaces_terminating") == {(): 1}
    assert metric(result, "meshhealth_namespace_terminating_seconds") == {("istio-system",): 3600}
    assert metric(result, "meshhealth_namespace_terminating_condition") == {
        ("istio-system", "NamespaceContentRemaining"): 1,
        ("istio-system", "NamespaceFinalizersRemaining"): 1,
    }
    [finding] = result.findings
    assert (finding.check, finding.kind, finding.name, finding.severity.label) == (
        "NS01",
        "Namespace",
        "istio-system",
        "warning",
    )
    assert finding.message.startswith("Terminating for 1h;")
    assert "kiali.io/finalizer in 1 resource instances" in finding.message
    assert "kialis.kiali.io has 1 resource instances" in finding.message
    assert "namespace finalizers: kubernetes" in finding.message
    assert "DiscoveryFailure" not in finding.message  # False conditions are not reported


def test_below_threshold_exports_age_without_finding():
    result = run([terminating()], DELETED_AT + 899)
    assert result.findings == []
    assert metric(result, "meshhealth_namespace_terminating_seconds") == {("istio-system",): 899}


def test_ns01_threshold_is_configurable():
    result = run([terminating()], DELETED_AT + 120, checks={"NS01": {"terminating_threshold_seconds": 60}})
    assert len(result.findings) == 1


def test_healthy_cluster_keeps_count_at_zero():
    result = run([active("default"), active("istio-system")], DELETED_AT)
    assert result.findings == []
    assert metric(result, "meshhealth_namespaces_terminating") == {(): 0}
    assert metric(result, "meshhealth_namespace_terminating_seconds") == {}


def test_clock_skew_never_gives_negative_age():
    result = run([terminating()], DELETED_AT - 50)
    assert metric(result, "meshhealth_namespace_terminating_seconds") == {("istio-system",): 0}


def test_ns03_expected_in_mesh():
    now = parse_time("2024-03-02T12:00:00Z")
    assert now is not None
    nginx = uninjected(name="ingress-nginx-controller-7d4db76476-p6b8m", namespace="ingress-nginx",
                       metadata={"labels": {"app.kubernetes.io/name": "ingress-nginx", "pod-template-hash": "7d4db76476"},
                                 "ownerReferences": [{"kind": "ReplicaSet", "controller": True,
                                                      "name": "ingress-nginx-controller-7d4db76476"}]})  # fmt: skip
    s = settings(checks={"NS03": {"expected_in_mesh": [{"name": "ingress-nginx",
                                                        "selector": "app.kubernetes.io/name=ingress-nginx"}]}})  # fmt: skip
    [finding] = check_expected_in_mesh(snapshot(pods=[nginx, uninjected()]), s, now).findings
    assert (finding.kind, finding.name) == ("Deployment", "ingress-nginx-controller")
    assert check_expected_in_mesh(snapshot(pods=[nginx]), settings(), now).findings == []


def test_ns02_required_crds():
    crds = [
        project_crd({"metadata": {"name": "virtualservices.networking.istio.io"},
                     "status": {"conditions": [{"type": "Established", "status": "True"}]}}),
        project_crd({"metadata": {"name": "gateways.networking.istio.io"},
                     "status": {"conditions": [{"type": "Established", "status": "False"}]}}),
    ]  # fmt: skip
    s = settings(checks={"NS02": {"required_crds": ["virtualservices.networking.istio.io",
                                                    "gateways.networking.istio.io", "applications.app.k8s.io"]}})  # fmt: skip
    result = check_required_crds(snapshot(crds=crds), s, 0.0)
    assert {f.name: f.message for f in result.findings} == {
        "gateways.networking.istio.io": "required CRD not established",
        "applications.app.k8s.io": "required CRD not installed",
    }


def _ns(name, phase="Terminating", deleted=None, conditions=(), finalizers=()):
    return NamespaceInfo(name, phase, (), deleted, tuple(finalizers), tuple(conditions))


def test_ns01_samples_blocking_conditions_and_the_threshold():
    now = 10_000.0
    stuck = _ns("kiali-operator", deleted=now - 600, finalizers=["kubernetes"], conditions=[
        Condition("NamespaceContentRemaining", "True", "SomeResourcesRemain", "kialis.kiali.io has 1 resource"),
        Condition("NamespaceFinalizersRemaining", "True", "", ""),
        Condition("NamespaceDeletionDiscoveryFailure", "False", "", "ok"),
        Condition("Other", "True", "", "x")])  # fmt: skip
    young = _ns("young", deleted=now - 599)
    undated = _ns("undated")
    active = _ns("active", phase="Active")
    result = check_namespace_terminating(snapshot(**{NAMESPACES: [young, stuck, active, undated]}),
                                         settings(checks={"NS01": {"terminating_threshold_seconds": 600}}), now)  # fmt: skip
    assert {(x.metric, x.labels): x.value for x in result.samples} == {
        ("meshhealth_namespaces_terminating", ()): 3.0,
        ("meshhealth_namespace_terminating_seconds", (("namespace", "kiali-operator"),)): 600.0,
        ("meshhealth_namespace_terminating_seconds", (("namespace", "young"),)): 599.0,
        ("meshhealth_namespace_terminating_seconds", (("namespace", "undated"),)): 0.0,
        ("meshhealth_namespace_terminating_condition", (("namespace", "kiali-operator"),
                                                        ("condition", "NamespaceContentRemaining"))): 1.0,
        ("meshhealth_namespace_terminating_condition", (("namespace", "kiali-operator"),
                                                        ("condition", "NamespaceFinalizersRemaining"))): 1.0,
    }  # fmt: skip
    [f] = result.findings
    assert (f.check, f.severity.label, f.namespace, f.kind, f.name) == (
        "NS01",
        "warning",
        "",
        "Namespace",
        "kiali-operator",
    )
    assert f.message == ("Terminating for 10m; NamespaceContentRemaining: kialis.kiali.io has 1 resource; "
                         "NamespaceFinalizersRemaining; namespace finalizers: kubernetes")  # fmt: skip


def test_ns02_samples_per_missing_crd_and_the_count():
    crds = [CRDInfo("a.example.com", True), CRDInfo("b.example.com", False)]
    s = settings(
        checks={"NS02": {"required_crds": ["a.example.com", "b.example.com", "c.example.com", "c.example.com"]}}
    )
    result = check_required_crds(snapshot(crds=crds), s, 0.0)
    assert {(x.metric, x.labels): x.value for x in result.samples} == {
        ("meshhealth_crd_missing", (("crd", "b.example.com"),)): 1.0,
        ("meshhealth_crd_missing", (("crd", "c.example.com"),)): 1.0,
        ("meshhealth_crds_missing", ()): 2.0,
    }
    assert [(f.severity.label, f.kind, f.name) for f in result.findings] == [
        ("warning", "CustomResourceDefinition", "b.example.com"), ("warning", "CustomResourceDefinition", "c.example.com")]  # fmt: skip


def test_ns03_components_by_namespace_prefix_and_selector_counted_per_namespace():
    def pod(name, namespace="ingress", labels=(("app", "nginx"),), sidecar=False, phase="Running", deleting=False):
        containers = ("nginx", "istio-proxy") if sidecar else ("nginx",)
        return PodInfo(namespace, name, labels, (), "ReplicaSet", name.rsplit("-", 1)[0], "n", "", False, 0.0,
                       deleting, phase, containers, (), (), (), 30)  # fmt: skip

    pods = [pod("nginx-a-1"), pod("nginx-a-2"), pod("nginx-b-1", namespace="edge"), pod("nginx-c-1", sidecar=True),
            pod("nginx-d-1", phase="Succeeded"), pod("nginx-e-1", deleting=True), pod("other-1"),
            pod("nginx-f-1", labels=(("app", "x"),)), pod("nginx-g-1", namespace="elsewhere")]  # fmt: skip
    s = settings(checks={"NS03": {"expected_in_mesh": [
        {"name": "ingress-nginx", "namespaces": ["ingress", "edge"], "selector": "app=nginx", "name_prefix": "nginx-"}]}})  # fmt: skip
    result = check_expected_in_mesh(snapshot(pods=pods), s, 0.0)
    assert [(f.severity.label, f.namespace, f.kind, f.name, f.message) for f in result.findings] == [
        ("warning", "edge", "ReplicaSet", "nginx-b", "ingress-nginx: 1 pod without istio-proxy"),
        ("warning", "ingress", "ReplicaSet", "nginx-a", "ingress-nginx: 2 pods without istio-proxy"),
    ]  # fmt: skip
    assert {x.labels: x.value for x in result.samples} == {
        (("namespace", "edge"), ("component", "ingress-nginx")): 1.0,
        (("namespace", "ingress"), ("component", "ingress-nginx")): 2.0,
    }


def test_ns01_every_finalizer_listed():
    ns = _ns("x", deleted=0.0, finalizers=["kubernetes", "example.com/a"])
    [f] = check_namespace_terminating(snapshot(**{NAMESPACES: [ns]}), settings(), 10_000.0).findings
    assert f.message.endswith("; namespace finalizers: kubernetes, example.com/a")


def test_ns03_failed_and_skipped_pods_first_then_counted_workloads():
    def pod(name, phase="Running", sidecar=False):
        containers = ("nginx", "istio-proxy") if sidecar else ("nginx",)
        return PodInfo("ingress", name, (("app", "nginx"),), (), "ReplicaSet", name.rsplit("-", 1)[0], "n", "",
                       False, 0.0, False, phase, containers, (), (), (), 30)  # fmt: skip

    pods = [pod("nginx-f-1", phase="Failed"), pod("nginx-s-1", sidecar=True), pod("other-1"), pod("nginx-a-1"),
            pod("nginx-b-1")]  # fmt: skip
    s = settings(checks={"NS03": {"expected_in_mesh": [{"name": "ingress-nginx", "selector": "app=nginx",
                                                        "name_prefix": "nginx-"}]}})  # fmt: skip
    result = check_expected_in_mesh(snapshot(pods=pods), s, 0.0)
    assert [f.name for f in result.findings] == ["nginx-a", "nginx-b"]
    assert [x.value for x in result.samples] == [2.0]


def test_ns03_a_pod_of_another_namespace_does_not_end_the_scan():
    def pod(name, namespace):
        return PodInfo(namespace, name, (("app", "nginx"),), (), "ReplicaSet", name.rsplit("-", 1)[0], "n", "",
                       False, 0.0, False, "Running", ("nginx",), (), (), (), 30)  # fmt: skip

    s = settings(
        checks={"NS03": {"expected_in_mesh": [{"name": "gw", "namespaces": ["ingress"], "selector": "app=nginx"}]}}
    )
    result = check_expected_in_mesh(snapshot(pods=[pod("nginx-o-1", "other"), pod("nginx-a-1", "ingress")]), s, 0.0)
    assert [f.name for f in result.findings] == ["nginx-a"]
