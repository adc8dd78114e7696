import pytest

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
