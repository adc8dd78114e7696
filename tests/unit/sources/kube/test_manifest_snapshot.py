import pytest

from exporter.checks import resources as r
from exporter.config import Settings
from exporter.sources.kube.manifest_snapshot import object_key, overlay, project_manifests, resource_plural
from exporter.sources.kube.resources import ResourceSpec
from exporter.sources.kube.snapshot import KubeSnapshot
from exporter.sources.manifests import Manifest

SPECS = [r.DESTINATION_RULES, r.GATEWAYS, r.SERVICES, r.NAMESPACES, r.NODES, r.istio_configmaps(Settings())]


def manifest(api_version: str, kind: str, name: str, namespace: str | None = None, **rest) -> Manifest:
    meta = {"name": name, **({"namespace": namespace} if namespace is not None else {})}
    return Manifest("m.yaml", f"document 1 ({kind} {name})", {"apiVersion": api_version, "kind": kind,
                                                               "metadata": meta, **rest})  # fmt: skip


def dr(name: str, namespace: str | None = "bookinfo", version: str = "v1", host: str = "reviews") -> Manifest:
    return manifest(f"networking.istio.io/{version}", "DestinationRule", name, namespace, spec={"host": host})


@pytest.mark.parametrize(
    ("kind", "plural"),
    [
        ("Gateway", "gateways"), ("Telemetry", "telemetries"), ("ServiceEntry", "serviceentries"),
        ("Ingress", "ingresses"), ("EndpointSlice", "endpointslices"), ("Endpoints", "endpoints"),
        ("AuthorizationPolicy", "authorizationpolicies"), ("Pod", "pods"), ("ConfigMap", "configmaps"),
        ("PeerAuthentication", "peerauthentications"), ("CustomResourceDefinition", "customresourcedefinitions"),
    ],
)  # fmt: skip
def test_kinds_map_to_the_resources_kubernetes_serves_them_as(kind, plural):
    assert resource_plural(kind) == plural


def test_every_resource_the_checks_read_is_reachable_from_its_kind():
    kinds = {"deployments": "Deployment", "statefulsets": "StatefulSet", "pods": "Pod", "namespaces": "Namespace",
             "nodes": "Node", "services": "Service", "endpointslices": "EndpointSlice", "events": "Event",
             "validatingwebhookconfigurations": "ValidatingWebhookConfiguration",
             "mutatingwebhookconfigurations": "MutatingWebhookConfiguration",
             "customresourcedefinitions": "CustomResourceDefinition", "horizontalpodautoscalers":
             "HorizontalPodAutoscaler", "configmaps": "ConfigMap", "destinationrules": "DestinationRule",
             "virtualservices": "VirtualService", "gateways": "Gateway", "serviceentries": "ServiceEntry",
             "peerauthentications": "PeerAuthentication", "telemetries": "Telemetry", "sidecars": "Sidecar",
             "authorizationpolicies": "AuthorizationPolicy"}  # fmt: skip
    specs = [v for v in vars(r).values() if isinstance(v, ResourceSpec)]
    specs += [r.control_plane_hpas(Settings()), r.istio_configmaps(Settings())]
    for spec in specs:
        assert resource_plural(kinds[spec.plural]) == spec.plural


def test_objects_are_projected_at_any_served_version_and_get_the_default_namespace():
    files = project_manifests([dr("a", None, "v1alpha3"), dr("b", "other", "v1beta1")], SPECS, "team")
    assert [object_key(d) for d in files.snapshot.get("destinationrules")] == [("team", "a"), ("other", "b")]
    assert files.errors == () and not files.unread


def test_cluster_scoped_objects_keep_no_namespace():
    ns = manifest("v1", "Namespace", "bookinfo", labels={})
    node = manifest("v1", "Node", "n1", "ignored")
    files = project_manifests([ns, node], SPECS, "team")
    assert [n.name for n in files.snapshot.get("namespaces")] == ["bookinfo"]
    assert [n.name for n in files.snapshot.get("nodes")] == ["n1"]


def test_objects_no_resource_reads_are_counted_by_kind():
    other_group = manifest("gateway.networking.k8s.io/v1", "Gateway", "gw", "bookinfo")
    deployment = manifest("apps/v1", "Deployment", "d", "bookinfo")
    # the mesh config is read in the control-plane namespaces only, as the Kubernetes source watches it
    elsewhere = manifest("v1", "ConfigMap", "istio", "bookinfo", data={"mesh": ""})
    control_plane = manifest("v1", "ConfigMap", "istio", "istio-system", data={"mesh": ""})
    files = project_manifests([other_group, deployment, elsewhere, control_plane], SPECS)
    assert files.unread == {"Gateway": 1, "Deployment": 1, "ConfigMap": 1}
    assert [object_key(c) for c in files.snapshot.get("istio_configmaps")] == [("istio-system", "istio")]
    assert files.snapshot.get("gateways") == ()


def test_resource_selectors_apply_to_files_as_to_the_cluster():
    labelled = ResourceSpec("labelled", "", "services", lambda o: o["metadata"]["name"], label_selector="app=x")
    warnings = ResourceSpec("warnings", "", "events", lambda o: o["metadata"]["name"], field_selector="type=Warning")
    objs = [
        manifest("v1", "Service", "yes", "n"),
        manifest("v1", "Service", "no", "n"),
        manifest("v1", "Event", "w", "n", type="Warning"),
        manifest("v1", "Event", "normal", "n", type="Normal"),
        manifest("v1", "Event", "none", "n"),
    ]
    objs[0].body["metadata"]["labels"] = {"app": "x"}
    files = project_manifests(objs, [labelled, warnings])
    assert files.snapshot.get("labelled") == ("yes",) and files.snapshot.get("warnings") == ("w",)
    assert files.unread == {"Service": 1, "Event": 2}


def test_an_object_defined_twice_is_a_problem_and_the_later_one_is_checked():
    first, second = dr("reviews", host="reviews"), dr("reviews", host="ratings")
    files = project_manifests([first, second], SPECS)
    [error] = files.errors
    assert error.message.startswith("defined again (first at m.yaml: document 1 (DestinationRule reviews))")
    [kept] = files.snapshot.get("destinationrules")
    assert kept.host == "ratings"


def test_the_same_name_in_another_namespace_or_kind_is_no_duplicate():
    files = project_manifests([dr("x"), dr("x", "other"), manifest("networking.istio.io/v1", "Gateway", "x",
                                                                    "bookinfo", spec={})], SPECS)  # fmt: skip
    assert files.errors == () and len(files.snapshot.get("destinationrules")) == 2


def test_an_object_its_projection_cannot_read_is_a_problem_and_the_rest_is_kept():
    def fragile(obj):
        if obj["metadata"]["name"] == "bad":
            raise ValueError("spec.ports is not a list")
        return obj["metadata"]["name"]

    spec = ResourceSpec("fragile", "", "services", fragile)
    files = project_manifests([manifest("v1", "Service", "bad", "n"), manifest("v1", "Service", "ok", "n")], [spec])
    assert [str(e) for e in files.errors] == [
        "document 1 (Service bad): cannot be read as Service: ValueError: spec.ports is not a list"
    ]
    assert files.snapshot.get("fragile") == ("ok",)


def test_resources_no_file_provided_are_named():
    files = project_manifests([dr("a")], SPECS)
    assert files.absent == ("gateways", "istio_configmaps", "namespaces", "nodes", "services")
    assert set(files.snapshot.objects) == {s.key for s in SPECS}


def test_files_replace_the_clusters_objects_of_the_same_name_and_keep_the_rest():
    cluster = project_manifests([dr("reviews", host="reviews"), dr("ratings", host="ratings")], SPECS).snapshot
    cluster = KubeSnapshot(cluster.objects, failed={"pods": "forbidden"}, probes={"a:1": ""})
    files = project_manifests([dr("reviews", host="reviews-v2"), dr("details", host="details")], SPECS).snapshot
    merged = overlay(cluster, files, 1_900_000_000.0)
    assert sorted((object_key(d), d.host) for d in merged.get("destinationrules")) == [
        (("bookinfo", "details"), "details"), (("bookinfo", "ratings"), "ratings"),
        (("bookinfo", "reviews"), "reviews-v2"),
    ]  # fmt: skip
    assert merged.failed == {"pods": "forbidden"} and merged.probes == {"a:1": ""}


def test_applied_objects_keep_the_clusters_creation_time_and_new_ones_are_created_when_applied():
    def gateway(name, created=None):
        gw = manifest("networking.istio.io/v1", "Gateway", name, "bookinfo", spec={})
        if created:
            gw.body["metadata"]["creationTimestamp"] = created
        return gw

    cluster = project_manifests([gateway("existing", "2025-01-01T00:00:00Z")], SPECS).snapshot
    # an export (kubectl get -o yaml) carries timestamps: the API server keeps an existing object's own and
    # gives a new object the time it is created
    files = project_manifests([gateway("existing", "2020-01-01T00:00:00Z"), gateway("new", "2020-01-01T00:00:00Z"),
                               gateway("plain")], SPECS).snapshot  # fmt: skip
    merged = overlay(cluster, files, 1_900_000_000.0)
    assert {g.meta.name: g.meta.created for g in merged.get("gateways")} == {
        "existing": 1_735_689_600.0, "new": 1_900_000_000.0, "plain": 1_900_000_000.0,
    }  # fmt: skip
    [pod] = overlay(KubeSnapshot({}), project_manifests([manifest("v1", "Pod", "p", "n")], [r.PODS]).snapshot,
                    5.0).get("pods")  # fmt: skip
    assert pod.created == 5.0
