import dataclasses
import json
import os
from pathlib import Path

import pytest

from exporter.sources.kube import projections as p
from exporter.sources.kube.projections import parse_time, project_deployment, project_namespace


@pytest.mark.parametrize(
    "obj",
    [
        {"metadata": {"name": "x"}},
        {"metadata": {"name": "x"}, "spec": None, "status": None},
        {"metadata": {"name": "x", "labels": None}, "status": {"conditions": [None, "junk", {}]}},
        {"metadata": {"name": "x"}, "spec": {"replicas": "3"}, "status": {"readyReplicas": True}},
    ],
)
def test_partial_objects_project_with_safe_defaults(obj):
    d = project_deployment(obj)
    assert d.name == "x" and d.desired in (1,) and d.ready == 0
    ns = project_namespace(obj)
    assert ns.name == "x" and ns.phase == "" and ns.deletion_timestamp is None


def test_object_without_name_is_rejected():
    with pytest.raises(KeyError):
        project_deployment({"metadata": {}})


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2020-12-16T09:00:00Z", 1608109200.0), ("2020-12-16T09:00:00+01:00", 1608105600.0), ("soon", None), (None, None)],
)
def test_parse_time(text, expected):
    assert parse_time(text) == expected


PROJECTORS = {
    "Service": p.project_service,
    "Event": p.project_event,
    "Node": p.project_node,
    "Pod": p.project_pod,
    "HorizontalPodAutoscaler": p.project_hpa,
    "MutatingWebhookConfiguration": p.project_mutating_webhooks,
    "ValidatingWebhookConfiguration": p.project_validating_webhooks,
    "EndpointSlice": p.project_endpointslice,
    "CustomResourceDefinition": p.project_crd,
    "ConfigMap": p.project_istio_configmap,
    "Namespace": p.project_namespace,
    "Deployment": p.project_deployment,
    "StatefulSet": p.project_statefulset,
}
CORPUS_DIR = Path(__file__).parents[2] / "fixtures" / "kube"
CORPUS = json.loads((CORPUS_DIR / "corpus.json").read_text())


def _plain(value):
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def test_every_projection_is_in_the_corpus():
    assert {c["kind"] for c in CORPUS} == set(PROJECTORS)


@pytest.mark.parametrize("entry", CORPUS, ids=lambda c: f"{c['kind']}-{c['case']}")
def test_projection_keeps_exactly_the_expected_fields(entry):
    """Each corpus object (API shapes, plus missing and wrongly typed fields) projected, compared field by field
    with fixtures/kube/projected/<kind>-<case>.json; rewrite with UPDATE_EXPECTED=1 and review the diff."""
    got = _plain(PROJECTORS[entry["kind"]](entry["object"]))
    path = CORPUS_DIR / "projected" / f"{entry['kind']}-{entry['case']}.json"
    if os.environ.get("UPDATE_EXPECTED"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    assert got == json.loads(path.read_text())
