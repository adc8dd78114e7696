"""Session fixtures that start real testbed components; a component that fails to start fails the
test with the tail of its log (never a skip)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testbed.istio import install_istio_crds
from testbed.kube import KubeCluster
from testbed.processes import ComponentError
from tests.support import RunningExporter, start_exporter


@pytest.fixture(scope="session")
def kube() -> Iterator[KubeCluster]:
    cluster = KubeCluster()
    try:
        cluster.start()
        install_istio_crds(cluster)
    except ComponentError as err:
        cluster.stop()
        pytest.fail(str(err), pytrace=False)
    yield cluster
    cluster.stop()


@pytest.fixture
def exporter_factory() -> Iterator[object]:
    started: list[RunningExporter] = []

    def factory(args: list[str]) -> RunningExporter:
        running = start_exporter(args)
        started.append(running)
        return running

    yield factory
    for running in started:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait()
