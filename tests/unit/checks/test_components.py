"""Unit tests of the component readiness checks (TR08, TM07)."""

from __future__ import annotations

from exporter.checks.components import CHECKS as COMPONENT_CHECKS
from exporter.sources.kube.projections import project_statefulset
from tests.unit.checks.test_control_plane import NOW, values
from tests.unit.helpers import settings, snapshot


def test_tr08_components_matched_by_namespace_selector_and_prefix():
    es = project_statefulset(
        {
            "metadata": {"name": "elasticsearch-logging-data", "namespace": "kubesphere-logging-system"},
            "spec": {"replicas": 3},
            "status": {"readyReplicas": 1},
        }
    )
    other = project_statefulset(
        {"metadata": {"name": "elasticsearch-logging-data", "namespace": "default"}, "spec": {"replicas": 3}}
    )
    tr08 = next(c for c in COMPONENT_CHECKS if c.id == "TR08")
    result = tr08.run(snapshot(statefulsets=[es, other]), settings(), NOW)
    [finding] = result.findings
    assert (finding.check, finding.kind, finding.namespace) == ("TR08", "StatefulSet", "kubesphere-logging-system")
    assert finding.message == "elasticsearch-data: 1/3 replicas ready"
    assert values(result, "meshhealth_component_workloads")[("TR08", "jaeger-collector")] == 0


def test_tm07_required_component_missing_is_a_finding():
    s = settings(checks={"TM07": {"components": [{"name": "kiali", "selector": "app=kiali", "required": True}]}})
    tm07 = next(c for c in COMPONENT_CHECKS if c.id == "TM07")
    [finding] = tm07.run(snapshot(), s, NOW).findings
    assert finding.name == "kiali" and "no workload matches" in finding.message


def test_tr08_matching_by_kind_namespace_prefix_and_selector():
    from exporter.checks.components import matching_workloads
    from exporter.config import ComponentSettings
    from exporter.sources.kube.projections import WorkloadInfo

    def w(kind, ns, name, labels=(("app", "es"),)):
        return WorkloadInfo(kind, ns, name, labels, 1, 1, 1, 1, 1, 1, ())

    deployments = [w("Deployment", "logging", "es-query"), w("Deployment", "other", "es-query")]
    statefulsets = [w("StatefulSet", "logging", "es-data"), w("StatefulSet", "logging", "kibana"),
                    w("StatefulSet", "logging", "es-x", labels=(("app", "y"),))]  # fmt: skip
    snap = snapshot(deployments=deployments, statefulsets=statefulsets)
    both = ComponentSettings(name="es", namespaces=["logging"], selector="app=es", name_prefix="es-")
    assert [(x.kind, x.name) for x in matching_workloads(snap, both)] == [("Deployment", "es-query"),
                                                                          ("StatefulSet", "es-data")]  # fmt: skip
    sts = ComponentSettings(name="es", kinds=["StatefulSet"], selector="app=es")
    assert [(x.namespace, x.name) for x in matching_workloads(snap, sts)] == [
        ("logging", "es-data"),
        ("logging", "kibana"),
    ]
    anywhere = ComponentSettings(name="es", kinds=["Deployment"], name_prefix="es-")
    assert [x.namespace for x in matching_workloads(snap, anywhere)] == ["logging", "other"]


def test_tm07_required_component_in_named_namespaces():
    s = settings(checks={"TM07": {"components": [
        {"name": "kiali", "namespaces": ["istio-system", "kiali"], "selector": "app=kiali", "required": True},
        {"name": "prometheus", "selector": "app=prometheus"}]}})  # fmt: skip
    tm07 = next(c for c in COMPONENT_CHECKS if c.id == "TM07")
    result = tm07.run(snapshot(), s, NOW)
    assert [(f.check, f.severity.label, f.namespace, f.kind, f.name, f.message) for f in result.findings] == [
        ("TM07", "warning", "istio-system,kiali", "Workload", "kiali",
         "kiali: no workload matches (selector app=kiali, istio-system,kiali)")]  # fmt: skip
    assert {(x.metric, x.labels): x.value for x in result.samples} == {
        ("meshhealth_component_workloads", (("check", "TM07"), ("component", "kiali"))): 0.0,
        ("meshhealth_component_missing", (("check", "TM07"), ("component", "kiali"))): 1.0,
        ("meshhealth_component_workloads", (("check", "TM07"), ("component", "prometheus"))): 0.0,
    }
    no_selector = settings(checks={"TM07": {"components": [{"name": "kiali", "required": True}]}})
    [f] = tm07.run(snapshot(), no_selector, NOW).findings
    assert f.message == "kiali: no workload matches (selector -, any namespace)" and f.namespace == ""


def test_tr08_workloads_sorted_by_namespace_kind_and_name():
    from exporter.checks.components import matching_workloads
    from exporter.config import ComponentSettings
    from exporter.sources.kube.projections import WorkloadInfo

    def w(kind, ns, name):
        return WorkloadInfo(kind, ns, name, (), 1, 1, 1, 1, 1, 1, ())

    snap = snapshot(deployments=[w("Deployment", "b", "z"), w("Deployment", "a", "y")],
                    statefulsets=[w("StatefulSet", "a", "x")])  # fmt: skip
    found = matching_workloads(snap, ComponentSettings(name="all"))
    assert [(x.namespace, x.kind, x.name) for x in found] == [("a", "Deployment", "y"), ("a", "StatefulSet", "x"),
                                                                ("b", "Deployment", "z")]  # fmt: skip
