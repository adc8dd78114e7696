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
