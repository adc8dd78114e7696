"""The Kubernetes resources the checks declare: namespaced where only the control plane matters."""

from __future__ import annotations

from exporter.checks import resources as r
from exporter.sources.kube import projections as p
from tests.unit.helpers import settings


def test_control_plane_resources_follow_the_configured_namespaces():
    s = settings(istio={"control_plane_namespaces": ["istio-system", "istio-canary"]})
    hpas, configmaps = r.control_plane_hpas(s), r.istio_configmaps(s)
    assert (hpas.key, hpas.group, hpas.plural, hpas.project, hpas.namespaces) == (
        "control_plane_hpas", "autoscaling", "horizontalpodautoscalers", p.project_hpa, ("istio-system", "istio-canary"))  # fmt: skip
    assert (configmaps.key, configmaps.group, configmaps.plural, configmaps.project, configmaps.namespaces) == (
        "istio_configmaps", "", "configmaps", p.project_istio_configmap, ("istio-system", "istio-canary"))  # fmt: skip
    assert hpas.label_selector is None and configmaps.field_selector is None


def test_cluster_wide_resources_and_warning_events_only():
    assert r.WARNING_EVENTS.field_selector == "type=Warning" and r.WARNING_EVENTS.namespaces is None
    assert {x.key for x in (r.PODS, r.NAMESPACES, r.DEPLOYMENTS, r.CRDS)} == {
        "pods",
        "namespaces",
        "deployments",
        "crds",
    }
