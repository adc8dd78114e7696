"""Metric handles: a sample is made through the metric's declaration, with exactly its labels."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from mypy import api as mypy_api

from exporter.catalog import METRICS, labels
from exporter.catalog.data_plane import PODS_WITHOUT_SIDECAR, WORKLOADS_WITHOUT_SIDECAR
from exporter.catalog.model import MetricSpec, exposed_name


def test_sample_orders_labels_as_declared_and_stringifies_values():
    sample = PODS_WITHOUT_SIDECAR.sample(3, reason="not_restarted", namespace="bookinfo")
    assert sample.metric == "meshhealth_pods_without_sidecar"
    assert sample.labels == (("namespace", "bookinfo"), ("reason", "not_restarted"))
    assert sample.value == 3.0 and isinstance(sample.value, float)
    assert WORKLOADS_WITHOUT_SIDECAR.sample(2).labels == ()


@pytest.mark.parametrize(
    "given",
    [{"namespace": "bookinfo"}, {"namespace": "a", "reason": "b", "pod": "c"}, {"namespce": "a", "reason": "b"}],
)
def test_wrong_labels_are_an_error_where_the_sample_is_made(given):
    with pytest.raises(ValueError, match="meshhealth_pods_without_sidecar: labels"):
        PODS_WITHOUT_SIDECAR.sample(1, **given)


def test_labels_come_from_the_signature():
    spec = MetricSpec("meshhealth_x", "help", labels.es_cluster_node_level, type="counter")
    assert spec.labels == ("es_cluster", "node", "level")
    assert exposed_name(spec) == "meshhealth_x_total"
    with pytest.raises(ValueError, match="meshhealth_ prefix"):
        MetricSpec("pilot_x", "help", labels.none)


def test_every_label_set_is_used():
    used = {m.labels for m in METRICS.values()}
    declared = {
        tuple(fn.__code__.co_varnames[: fn.__code__.co_kwonlyargcount])
        for name, fn in vars(labels).items()
        if callable(fn) and not name.startswith("_") and fn.__module__ == labels.__name__
    }
    assert declared - used == set()


def test_a_misspelt_or_missing_label_is_a_type_error(tmp_path: Path):
    """mypy (strict, as in make lint) rejects a check that spells a label wrong or forgets one."""
    code = tmp_path / "wrong.py"
    code.write_text(
        textwrap.dedent(
            """
            from exporter.catalog.data_plane import PODS_WITHOUT_SIDECAR

            PODS_WITHOUT_SIDECAR.sample(1, namespace="a", reason="b")
            PODS_WITHOUT_SIDECAR.sample(1, namespce="a", reason="b")
            PODS_WITHOUT_SIDECAR.sample(1, namespace="a")
            """
        )
    )
    out, _, status = mypy_api.run(["--strict", "--no-incremental", "--follow-imports=silent", str(code)])
    assert status == 1
    errors = [line.split(": error: ")[1] for line in out.splitlines() if ": error: " in line]
    assert len(errors) == 2, out
    assert 'Unexpected keyword argument "namespce"' in errors[0]
    assert 'Missing named argument "reason"' in errors[1]
