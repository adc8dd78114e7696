"""Objects with missing or mistyped fields never crash a check (they are projected with safe defaults)."""

import contextlib
import copy
import random

import pytest

from exporter.checks import ALL_CHECKS
from exporter.sources.kube import projections as p
from tests.unit.helpers import kube_object, settings, snapshot

NOW = 1_709_380_000.0
BASES = {
    "pods": (p.project_pod, kube_object("pod-reviews-v1-injected")),
    "deployments": (p.project_deployment, kube_object("deployment-istiod-1-6-10-unready")),
    "namespaces": (p.project_namespace, kube_object("namespace-istio-system-terminating")),
}
JUNK = [None, "", 0, -1, True, [], {}, "???", [None], {"x": None}]


def mangle(obj, rng):
    """Replace or drop random fields anywhere in the object (but keep metadata.name, which the API guarantees)."""
    obj = copy.deepcopy(obj)
    nodes = [obj]
    for _ in range(rng.randint(1, 12)):
        node = rng.choice(nodes)
        if isinstance(node, dict) and node:
            key = rng.choice(list(node))
            if node is obj.get("metadata") and key == "name":
                continue
            if rng.random() < 0.3:
                del node[key]
            else:
                node[key] = copy.deepcopy(rng.choice(JUNK))  # a shared junk object could come to hold itself
        nodes = [n for n in _walk(obj)]
    return obj


def _walk(value):
    yield value
    if isinstance(value, dict):
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)


@pytest.mark.parametrize("seed", range(40))
def test_checks_survive_mangled_objects(seed):
    rng = random.Random(seed)
    objects = {}
    for key, (project, base) in BASES.items():
        projected = []
        for _ in range(5):
            # the informer skips objects it cannot project (counted in projection_errors)
            with contextlib.suppress(KeyError, TypeError, ValueError, AttributeError):
                projected.append(project(mangle(base, rng)))
        objects[key] = projected
    snap = snapshot(**objects)
    for check in ALL_CHECKS:
        if check.source == "kubernetes":
            check.run(snap, settings(), NOW)  # must not raise


def test_every_kubernetes_check_emits_only_declared_metrics():
    from exporter.evaluate import evaluate

    objects = {key: [project(base)] for key, (project, base) in BASES.items()}
    snap = snapshot(**objects)
    outcomes = evaluate([c for c in ALL_CHECKS if c.source == "kubernetes"], {"kubernetes": snap}, settings(), NOW)
    assert [(o.check, o.error) for o in outcomes if not o.up] == []
