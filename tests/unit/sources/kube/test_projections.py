import dataclasses
import json
import os
from pathlib import Path

import pytest

from exporter.sources.kube import projections as p
from exporter.sources.kube.projections import parse_time, project_deployment, project_namespace
from tests.unit.helpers import tracked_reachable


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


INJECTED_POD = Path(__file__).parents[2] / "fixtures" / "kube" / "pod-reviews-v1-injected.json"


def _replica(workload: int, i: int, restarts: int = 0) -> dict:
    """A pod of workload ``workload`` (its own app container name); ``restarts`` > 0: restarted at its own time."""
    obj = json.loads(INJECTED_POD.read_text())
    obj["metadata"]["name"] = f"app-{workload}-{i}"
    obj["spec"]["containers"][0]["name"] = obj["status"]["containerStatuses"][1]["name"] = f"app-{workload}"
    if restarts:
        obj["status"]["containerStatuses"][1]["restartCount"] = restarts
        finished = f"2024-03-02T10:{i // 60 % 60:02d}:{i % 60:02d}Z"
        obj["status"]["containerStatuses"][1]["lastState"] = {"terminated": {"reason": "Error", "finishedAt": finished}}
    return obj


def test_replicas_in_the_same_state_share_their_container_states_and_probes():
    a, b = p.project_pod(_replica(1, 1)), p.project_pod(_replica(1, 2))
    assert a.states is b.states and a.probes is b.probes and a.probes
    other = p.project_pod(_replica(2, 1))
    assert other.probes is a.probes  # the same probes, whatever the container's name
    assert other.states != a.states and {s.name for s in other.states} >= {"app-2", "istio-proxy"}
    restarted = p.project_pod(_replica(1, 3, restarts=4))
    app = next(s for s in restarted.states if s.name == "app-1")
    assert (app.restarts, app.last_reason, app.last_finished) == (4, "Error", parse_time("2024-03-02T10:00:03Z"))
    assert next(s for s in a.states if s.name == "app-1").restarts == 0  # sharing changed nothing already made
    again = p.project_pod(_replica(1, 3, restarts=4))
    assert again.states is restarted.states


def test_the_sharing_tables_are_bounded_and_what_they_dropped_stays_valid(monkeypatch):
    monkeypatch.setattr(p, "SHARED_OBJECTS", 4)
    monkeypatch.setattr(p, "_shared_states", p._Shared())
    pods = [p.project_pod(_replica(w, 0)) for w in range(10)]
    assert len(p._shared_states._table) <= 4
    assert [next(s.name for s in pod.states if not s.init and s.name != "istio-proxy") for pod in pods] == [
        f"app-{w}" for w in range(10)
    ]
    assert p.project_pod(_replica(9, 1)).states is pods[9].states  # still in the table


def test_a_cache_of_pods_gives_the_collector_about_one_object_per_pod():
    """Full garbage collections scan every tracked object while the loop waits: 1,000 pods of 100 workloads,
    one in ten restarted, must not hold the 7 tracked objects per pod of unshared states and probes."""
    pods = tuple(p.project_pod(_replica(i % 100, i, restarts=i % 10 == 0)) for i in range(1_000))
    # each pod, plus per workload its app container's state and its states tuple, plus per restarted pod the same
    assert tracked_reachable(pods) <= 1 + 1_000 + 2 * 100 + 2 * 100 + 5
