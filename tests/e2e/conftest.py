"""Session fixtures that start real testbed components; a component that fails to start fails the
test with the tail of its log (never a skip)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from testbed.istio import (
    Istiod,
    Sidecars,
    create_running_pod,
    create_service,
    prepare_control_plane,
)
from testbed.kube import KubeCluster
from testbed.processes import ComponentError
from tests.e2e.helpers import Mesh, running_cluster
from tests.support import wait_for


@pytest.fixture(scope="session")
def kube() -> Iterator[KubeCluster]:
    yield from running_cluster()


@pytest.fixture(scope="session")
def mesh(kube: KubeCluster) -> Iterator[Mesh]:
    prepare_control_plane(kube)
    kube.admin.apply(
        "/api/v1/namespaces",
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "shop", "labels": {"istio-injection": "enabled"}},
        },
    )
    started: list[Any] = []
    try:
        a = Istiod(kube, "istiod-a").start()
        started.append(a)
        b = Istiod(kube, "istiod-b").start()
        started.append(b)
        pods = []
        for i in range(4):
            ip = f"10.10.0.{i + 10}"
            create_running_pod(kube, "shop", f"web-{i}", ip, {"app": "web", "version": "v1"})
            pods.append({"name": f"web-{i}", "namespace": "shop", "ip": ip, "xds": (a if i < 2 else b).xds_address})
        create_service(kube, "shop", "web", 8080, [p["ip"] for p in pods], {"app": "web"})
        gateway_labels = {"istio": "ingressgateway", "app": "istio-ingressgateway"}
        create_running_pod(kube, "istio-system", "istio-ingressgateway-0", "10.10.1.10", gateway_labels)
        pods.append({"name": "istio-ingressgateway-0", "namespace": "istio-system", "ip": "10.10.1.10",
                     "xds": a.xds_address, "type": "router", "labels": gateway_labels})  # fmt: skip
        sidecars = Sidecars(kube, pods).start()
        started.append(sidecars)
    except ComponentError as err:
        for component in reversed(started):
            component.stop()
        pytest.fail(str(err), pytrace=False)
    m = Mesh(kube, a, b, sidecars)
    try:
        yield from _ready(m)
    finally:
        for component in reversed(started):
            component.stop()


def _ready(m: Mesh) -> Iterator[Mesh]:
    a, b = m.a, m.b
    wait_for(
        lambda: len(a.get_json("/debug/syncz")) == 3 and len(b.get_json("/debug/syncz")) == 2, 60, "proxies connected"
    )
    wait_for(m.synced, 60, "all proxies SYNCED")
    yield m
