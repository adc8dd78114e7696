"""The chart's RBAC on a real API server: the rendered ServiceAccount, ClusterRole/Role and config are
all the exporter needs for every enabled check (no 403), and its token cannot read Secrets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from testbed.kube import ApiError, KubeClient, KubeCluster
from tests.e2e.helpers import ensure_namespace, run_check
from tests.helm.test_chart import of_kind, render

pytestmark = pytest.mark.e2e
RBAC = "/apis/rbac.authorization.k8s.io/v1"
PATHS = {
    "ServiceAccount": "/api/v1/namespaces/{ns}/serviceaccounts",
    "ClusterRole": f"{RBAC}/clusterroles",
    "ClusterRoleBinding": f"{RBAC}/clusterrolebindings",
    "Role": f"{RBAC}/namespaces/{{ns}}/roles",
    "RoleBinding": f"{RBAC}/namespaces/{{ns}}/rolebindings",
}


def apply(kube: KubeCluster, obj: dict[str, Any]) -> None:
    namespace = obj["metadata"].get("namespace", "")
    if namespace:
        ensure_namespace(kube, namespace)
    kube.admin.apply(PATHS[obj["kind"]].format(ns=namespace), obj)


def test_chart_rbac_is_enough_for_every_enabled_check_and_refuses_secrets(kube: KubeCluster, tmp_path: Path) -> None:
    values = {"config": {"sources": {"istiod": {"enabled": False}, "kubernetes": {"timeout_seconds": 20}}}}
    objects = render(values, namespace="istio-system")
    for obj in objects:
        if obj["kind"] in PATHS:
            apply(kube, obj)
    [config_map] = of_kind(objects, "ConfigMap")
    config = tmp_path / "config.json"
    config.write_text(json.dumps(yaml.safe_load(config_map["data"]["config.yaml"]) or {}))
    [account] = of_kind(objects, "ServiceAccount")
    token = kube.service_account_token("istio-system", account["metadata"]["name"])
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig", token=token)

    code, report, stderr = run_check(kubeconfig, config)
    assert code in (0, 1), stderr
    assert report["sources"] and all(s["up"] for s in report["sources"]), report["sources"]
    assert all(c["up"] for c in report["checks"]), [c for c in report["checks"] if not c["up"]]
    assert "forbidden" not in stderr.lower()

    reader = KubeClient(kube.server, kube.pki / "ca.crt", token=token)
    with pytest.raises(ApiError) as denied:
        reader.get("/api/v1/namespaces/istio-system/secrets")
    assert denied.value.status == 403
    with pytest.raises(ApiError) as write:
        reader.create("/api/v1/namespaces/istio-system/configmaps", {"metadata": {"name": "x"}, "data": {}})
    assert write.value.status == 403
