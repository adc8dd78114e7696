"""The Helm chart, rendered with real Helm (helm-python-sdk embeds Helm v4): lint, schema, Kubernetes and
prometheus-operator schemas, and agreement with the exporter's own derivations (rules and RBAC)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import helm_python as helm
import jsonschema
import kubernetes_validate
import pytest
import yaml

from exporter.config import load_settings
from exporter.generate.rules import render_prometheus_rule
from exporter.rbac import rbac_rules
from testbed.processes import run_step

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "mesh-health-exporter"
VALUE_SETS = {"defaults": {}} | {p.stem: yaml.safe_load(p.read_text()) for p in sorted((CHART / "ci").glob("*.yaml"))}
KUBERNETES_VERSION = "1.34.0"
PROMETHEUS_OPERATOR = "v0.85.0"  # CRD schemas from the Go module proxy


def render(values: dict[str, Any], namespace: str = "istio-system") -> list[dict[str, Any]]:
    with helm.Chart.load(str(CHART)) as chart:
        manifests = chart.render(values, name="meshhealth", namespace=namespace)
    return [
        doc
        for name, text in sorted(manifests.items())
        if name.endswith(".yaml")
        for doc in yaml.safe_load_all(text)
        if doc
    ]


def of_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def settings_for(values: dict[str, Any]):
    config = json.dumps(values.get("config") or {})
    path = ROOT / ".pytest-chart-config.json"
    path.write_text(config)
    try:
        return load_settings(path)
    finally:
        path.unlink()


@pytest.mark.parametrize("name", VALUE_SETS)
def test_renders_and_lints_clean(name):
    objects = render(VALUE_SETS[name])
    assert {"Deployment", "Service", "ServiceAccount", "ConfigMap", "ClusterRole"} <= {o["kind"] for o in objects}
    result = helm.lint(str(CHART), VALUE_SETS[name], strict=True, namespace="istio-system")
    assert result["errors"] == [] and [m for m in result["messages"] if m["severity"] > 1] == [], result


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"config": {"checks": {"DP01": {"stale_threshold_seconds": "soon"}}}}, "stale_threshold_seconds"),
        ({"config": {"istio": {"istiod_urls": "http://istiod:15014"}}}, "istiod_urls"),
        ({"config": {"no_such_option": 1}}, "no_such_option"),
        ({"image": {"pullPolicy": "Sometimes"}}, "pullPolicy"),
        ({"replicaCount": 3}, "replicaCount"),
        ({"image": {"digest": "latest"}}, "digest"),
    ],
)
def test_schema_rejects_invalid_values(values, complaint):
    with helm.Chart.load(str(CHART)) as chart, pytest.raises(helm.HelmError) as err:
        chart.validate_schema(values)
    assert complaint in str(err.value)


@pytest.mark.parametrize("name", VALUE_SETS)
def test_objects_validate_against_kubernetes_schemas(name):
    for obj in render(VALUE_SETS[name]):
        if obj["apiVersion"].startswith("monitoring.coreos.com/"):
            continue
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


@pytest.fixture(scope="module")
def operator_crds() -> dict[str, dict[str, Any]]:
    env = {**os.environ, "GOFLAGS": "-mod=mod"}
    out = run_step(["go", "mod", "download", "-json", f"github.com/prometheus-operator/prometheus-operator@{PROMETHEUS_OPERATOR}"],
                   env=env, timeout=600)  # fmt: skip
    crds = Path(json.loads(out)["Dir"]) / "example" / "prometheus-operator-crd"
    schemas = {}
    for kind, file in (("ServiceMonitor", "servicemonitors"), ("PrometheusRule", "prometheusrules")):
        crd = yaml.safe_load((crds / f"monitoring.coreos.com_{file}.yaml").read_text())
        [version] = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
        schemas[kind] = version["schema"]["openAPIV3Schema"]
    return schemas


def test_operator_objects_validate_against_the_crds(operator_crds):
    objects = render(VALUE_SETS["full-values"])
    # OpenAPI v3 schemas; their Go patterns (e.g. a mid-pattern "(?i)") are not all Python regexes, so the
    # schema itself is not meta-validated
    for kind, schema in operator_crds.items():
        [obj] = of_kind(objects, kind)
        jsonschema.Draft7Validator(schema).validate(obj)
    broken = of_kind(objects, "ServiceMonitor")[0]
    broken["spec"]["endpoints"][0]["scheme"] = "gopher"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(operator_crds["ServiceMonitor"]).validate(broken)


@pytest.mark.parametrize("name", [n for n, v in VALUE_SETS.items() if (v.get("prometheusRule") or {}).get("enabled")])
def test_prometheus_rule_equals_generate_for_the_same_settings(name):
    values = VALUE_SETS[name]
    [rule] = of_kind(render(values), "PrometheusRule")
    expected = yaml.safe_load(render_prometheus_rule(settings_for(values)))
    assert rule["spec"]["groups"] == expected["spec"]["groups"]


def test_prometheus_rule_follows_overrides():
    values = {"prometheusRule": {"enabled": True}, "config": {
        "checks": {"DP01": {"stale_threshold_seconds": 42, "alert_for": "7m"}, "NS02": {"enabled": False}},
        "alerts": {"MeshHealthIstiodOOMKilled": {"severity": "info"}, "MeshHealthIstiodRestarting": {"enabled": False}}}}  # fmt: skip
    [rule] = of_kind(render(values), "PrometheusRule")
    rules = {r["alert"]: r for g in rule["spec"]["groups"] for r in g["rules"]}
    assert rules["MeshHealthProxyStale"]["expr"] == "meshhealth_xds_proxy_stale_seconds > 42"
    assert rules["MeshHealthProxyStale"]["for"] == "7m"
    assert rules["MeshHealthIstiodOOMKilled"]["labels"]["severity"] == "info"
    assert "MeshHealthCRDMissing" not in rules and "MeshHealthIstiodRestarting" not in rules
    assert rule["spec"]["groups"] == yaml.safe_load(render_prometheus_rule(settings_for(values)))["spec"]["groups"]


def test_metric_selector_reaches_every_own_metric():
    values = VALUE_SETS["full-values"]
    [rule] = of_kind(render(values), "PrometheusRule")
    exprs = [r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]]
    own = [e for e in exprs if "meshhealth_" in e]
    assert own and all('job="mesh-health-exporter",env=~"prod-.*$"' in e for e in own)
    assert 'meshhealth_xds_proxy_stale_seconds{job="mesh-health-exporter",env=~"prod-.*$"} > 600' in exprs


def test_service_monitor_scrapes_the_configured_telemetry_path():
    [monitor] = of_kind(render(VALUE_SETS["full-values"]), "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["path"] == "/probe/metrics"
    [default] = of_kind(render({"serviceMonitor": {"enabled": True}}), "ServiceMonitor")
    assert default["spec"]["endpoints"][0]["path"] == "/metrics"


def normalized(rules: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {(g, r, v) for rule in rules for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]}


@pytest.mark.parametrize("name", VALUE_SETS)
def test_rbac_grants_exactly_what_the_enabled_checks_read(name):
    values = VALUE_SETS[name]
    objects = render(values)
    cluster_expected, namespaced_expected = rbac_rules(settings_for(values))
    cluster = of_kind(objects, "ClusterRole")
    assert normalized(cluster[0]["rules"] if cluster else []) == normalized(cluster_expected)
    roles = {r["metadata"]["namespace"]: normalized(r["rules"]) for r in of_kind(objects, "Role")}
    assert roles == {ns: normalized(rules) for ns, rules in namespaced_expected.items()}
    granted = [v for o in cluster + of_kind(objects, "Role") for r in o["rules"] for v in r["verbs"]]
    assert set(granted) == {"get", "list", "watch"}
    assert not any("secrets" in r["resources"] for o in cluster + of_kind(objects, "Role") for r in o["rules"])


def test_pod_is_locked_down_and_configured_from_values():
    [deployment] = of_kind(render(VALUE_SETS["full-values"]), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert (
        pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    )
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] and not sc["allowPrivilegeEscalation"] and sc["capabilities"]["drop"] == ["ALL"]
    assert container["image"].endswith("@sha256:" + "0123456789abcdef" * 4)
    assert container["livenessProbe"]["httpGet"]["scheme"] == "HTTPS"
    assert "--web.config.file=/etc/mesh-health-exporter/web/web-config.yml" in container["args"]
    assert {v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v} == {"meshhealth-web", "es-monitor"}
    assert "helm.sh/chart" not in deployment["spec"]["selector"]["matchLabels"]
    assert "resources" not in of_kind(render({}), "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]


def test_namespace_override_moves_every_namespaced_object():
    objects = render({"namespaceOverride": "istio-system"}, namespace="monitoring")
    namespaced = [o for o in objects if o["kind"] not in ("ClusterRole", "ClusterRoleBinding")]
    assert {o["metadata"]["namespace"] for o in namespaced} == {"istio-system"}
    [binding] = of_kind(objects, "ClusterRoleBinding")
    assert binding["subjects"][0]["namespace"] == "istio-system"


def test_notes_explain_the_debug_endpoint_namespace():
    with helm.Chart.load(str(CHART)) as chart:
        inside = chart.render({}, name="m", namespace="istio-system")
        outside = chart.render({}, name="m", namespace="monitoring")
    notes = "mesh-health-exporter/templates/NOTES.txt"
    assert "DEBUG_ENDPOINT_AUTH_ALLOWED_NAMESPACES" not in inside[notes]
    assert "DEBUG_ENDPOINT_AUTH_ALLOWED_NAMESPACES" in outside[notes] and '"monitoring"' in outside[notes]


def test_dashboards_for_the_grafana_sidecar():
    maps = [
        o
        for o in of_kind(render(VALUE_SETS["full-values"]), "ConfigMap")
        if "grafana_dashboard" in o["metadata"]["labels"]
    ]
    assert len(maps) == len(list((ROOT / "grafana_dashboards").glob("*.json")))
    for cm in maps:
        [(name, text)] = cm["data"].items()
        assert json.loads(text) == json.loads((ROOT / "grafana_dashboards" / name).read_text())
        assert cm["metadata"]["annotations"]["grafana_folder"] == "Istio mesh health"


def test_rendered_rules_pass_promtool(tmp_path):
    import shutil
    import subprocess

    promtool = shutil.which("promtool")
    assert promtool, "promtool is installed by make test (Debian's prometheus package)"
    [rule] = of_kind(render(VALUE_SETS["full-values"]), "PrometheusRule")
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    proc = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
