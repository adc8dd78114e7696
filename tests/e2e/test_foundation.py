"""CP01 and NS01 end to end on a real kube-apiserver and namespace controller:
healthy baseline -> inject the failure -> finding and metric -> repair -> finding clears."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from exporter.config import load_settings
from exporter.rbac import rbac_rules
from testbed.kube import ApiError, KubeCluster
from tests.e2e.helpers import config_file, ensure_namespace, findings, run_check
from tests.support import metric_values, wait_for

pytestmark = pytest.mark.e2e

DEPLOYMENTS = "/apis/apps/v1/namespaces/istio-system/deployments"


def istiod_deployment(name: str, revision: str, replicas: int) -> dict[str, Any]:
    labels = {"app": "istiod", "istio.io/rev": revision}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "istio-system", "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "discovery", "image": "docker.io/istio/pilot:1.29.2"}]},
            },
        },
    }


def set_ready(kube: KubeCluster, name: str, ready: int, desired: int) -> None:
    """Write the status the deployment controller and kubelets would report."""
    status = {"observedGeneration": 1, "replicas": desired, "updatedReplicas": desired,
              "readyReplicas": ready, "availableReplicas": ready}  # fmt: skip
    kube.admin.merge_patch(f"{DEPLOYMENTS}/{name}/status", {"status": status})


@pytest.fixture
def istiod(kube: KubeCluster):  # type: ignore[no-untyped-def]
    ensure_namespace(kube, "istio-system")
    kube.admin.apply(DEPLOYMENTS, istiod_deployment("istiod-1-6-10", "1-6-10", 2))
    set_ready(kube, "istiod-1-6-10", 2, 2)
    yield "istiod-1-6-10"
    kube.admin.delete(f"{DEPLOYMENTS}/istiod-1-6-10")


def test_cp01_check_command(kube: KubeCluster, istiod: str, tmp_path: Path) -> None:
    config = config_file(tmp_path)
    code, report, stderr = run_check(kube.kubeconfig, config)
    assert code == 0, (report, stderr)
    assert {s["name"]: s["up"] for s in report["sources"]} == {"kubernetes": True, "webhook_tls": True}
    assert findings(report, "CP01") == []

    set_ready(kube, istiod, 1, 2)
    code, report, _ = run_check(kube.kubeconfig, config)
    assert code == 1
    [finding] = findings(report, "CP01")
    assert finding["severity"] == "critical"
    assert (finding["namespace"], finding["kind"], finding["name"]) == ("istio-system", "Deployment", istiod)
    assert "1/2 replicas ready (revision 1-6-10)" in finding["message"]

    set_ready(kube, istiod, 2, 2)
    code, report, _ = run_check(kube.kubeconfig, config)
    assert code == 0 and findings(report, "CP01") == []


def test_cp01_serve_follows_changes_through_the_watch(kube: KubeCluster, istiod: str, tmp_path: Path,
                                                       exporter_factory) -> None:  # fmt: skip
    running = exporter_factory(["--kubeconfig", str(kube.kubeconfig), "--config", str(config_file(tmp_path))])
    key = (("deployment", istiod), ("namespace", "istio-system"), ("revision", "1-6-10"))

    def ready_value() -> float | None:
        return metric_values(running.get("/metrics")[2], "meshhealth_istiod_replicas_ready").get(key)

    wait_for(lambda: ready_value() == 2.0, what="ready replicas 2")
    assert running.get("/readyz")[0] == 200
    set_ready(kube, istiod, 0, 2)
    wait_for(lambda: ready_value() == 0.0, what="ready replicas 0 after the status change")
    body = running.get("/metrics")[2]
    [(labels, value)] = [
        (labels, v) for labels, v in metric_values(body, "meshhealth_finding").items() if ("check", "CP01") in labels
    ]
    assert ("name", istiod) in labels and ("severity", "critical") in labels and value == 1.0
    assert "1-6-10" in running.get("/")[2].decode()
    set_ready(kube, istiod, 2, 2)
    wait_for(lambda: ready_value() == 2.0, what="recovery")
    assert metric_values(running.get("/metrics")[2], "meshhealth_check_findings")[(("check", "CP01"),)] == 0.0


KIALI_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "kialis.kiali.io"},
    "spec": {
        "group": "kiali.io",
        "names": {"kind": "Kiali", "listKind": "KialiList", "plural": "kialis", "singular": "kiali"},
        "scope": "Namespaced",
        "versions": [
            {
                "name": "v1alpha1",
                "served": True,
                "storage": True,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
            }
        ],
    },
}


def test_ns01_namespace_held_by_kiali_finalizer(kube: KubeCluster, tmp_path: Path) -> None:
    config = config_file(tmp_path)
    kube.admin.apply("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", KIALI_CRD)
    wait_for(
        lambda: any(
            c["type"] == "Established" and c["status"] == "True"
            for c in kube.admin.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/kialis.kiali.io")
            .get("status", {}).get("conditions", [])
        ),
        what="CRD established",
    )  # fmt: skip
    ensure_namespace(kube, "kiali-operator")
    kialis = "/apis/kiali.io/v1alpha1/namespaces/kiali-operator/kialis"
    wait_for(lambda: _creatable(kube, kialis), what="kialis served")
    kube.admin.merge_patch(f"{kialis}/kiali", {"metadata": {"finalizers": ["kiali.io/finalizer"]}})

    _, report, _ = run_check(kube.kubeconfig, config)
    assert findings(report, "NS01") == []

    kube.admin.delete("/api/v1/namespaces/kiali-operator")

    def stuck() -> list[dict[str, str]]:
        return findings(run_check(kube.kubeconfig, config)[1], "NS01")

    [finding] = wait_for(lambda: [f for f in stuck() if "kiali.io/finalizer" in f["message"]], seconds=60,
                         what="NS01 finding naming the Kiali finalizer")  # fmt: skip
    assert finding["name"] == "kiali-operator" and finding["severity"] == "warning"
    assert "NamespaceFinalizersRemaining" in finding["message"]

    kube.admin.merge_patch(f"{kialis}/kiali", {"metadata": {"finalizers": []}})
    wait_for(lambda: not _exists(kube, "/api/v1/namespaces/kiali-operator"), seconds=60, what="namespace deleted")
    _, report, _ = run_check(kube.kubeconfig, config)
    assert findings(report, "NS01") == []


def _creatable(kube: KubeCluster, kialis: str) -> bool:
    try:
        kube.admin.create(kialis, {"apiVersion": "kiali.io/v1alpha1", "kind": "Kiali", "metadata": {"name": "kiali"}})
    except ApiError as err:
        return err.status == 409
    return True


def _exists(kube: KubeCluster, path: str) -> bool:
    try:
        kube.admin.get(path)
    except ApiError as err:
        if err.status == 404:
            return False
        raise
    return True


def test_read_only_service_account_is_enough_and_missing_rights_are_reported(kube: KubeCluster, tmp_path: Path) -> None:
    """The RBAC derived from the enabled checks (get/list/watch, Roles where a check reads one namespace)
    is all the exporter needs on a real API server; a service account without it gets a clear error."""
    config = config_file(tmp_path)
    ensure_namespace(kube, "monitoring")
    cluster_rules, namespace_rules = rbac_rules(load_settings(config))
    assert all(rule["verbs"] == ["get", "list", "watch"] for rule in cluster_rules)
    assert not any("secrets" in rule["resources"] for rule in cluster_rules)
    subject = [{"kind": "ServiceAccount", "name": "mesh-health-exporter", "namespace": "monitoring"}]
    rbac = "/apis/rbac.authorization.k8s.io/v1"
    kube.admin.apply(
        f"{rbac}/clusterroles",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "meshhealth-e2e"},
            "rules": cluster_rules,
        },
    )
    kube.admin.apply(
        f"{rbac}/clusterrolebindings",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "meshhealth-e2e"},
            "subjects": subject,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "meshhealth-e2e"},
        },
    )
    for namespace, rules in namespace_rules.items():
        ensure_namespace(kube, namespace)
        kube.admin.apply(
            f"{rbac}/namespaces/{namespace}/roles",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": "meshhealth-e2e", "namespace": namespace},
                "rules": rules,
            },
        )
        kube.admin.apply(
            f"{rbac}/namespaces/{namespace}/rolebindings",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "meshhealth-e2e", "namespace": namespace},
                "subjects": subject,
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "meshhealth-e2e"},
            },
        )
    reader = kube.write_kubeconfig(
        tmp_path / "reader", token=kube.service_account_token("monitoring", "mesh-health-exporter")
    )
    code, report, stderr = run_check(reader, config)
    assert code in (0, 1), stderr
    assert all(source["up"] for source in report["sources"]), report["sources"]

    nobody = kube.write_kubeconfig(tmp_path / "nobody", token=kube.service_account_token("monitoring", "nobody"))
    code, report, stderr = run_check(nobody, config)
    assert code == 2
    assert "forbidden" in stderr and "system:serviceaccount:monitoring:nobody" in stderr
    assert "Traceback" not in stderr
