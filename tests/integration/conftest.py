"""Fixtures for tests that run real binaries: promtool and the exporter itself."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.support import ROOT, RunningExporter, start_exporter

__all__ = ["ROOT"]


@pytest.fixture(scope="session")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool not found: install Debian's prometheus package (`make test` does)")
    return path


@pytest.fixture
def exporter_factory() -> Iterator[object]:
    started: list[RunningExporter] = []

    def factory(args: list[str], env: dict[str, str] | None = None) -> RunningExporter:
        running = start_exporter(args, env)
        started.append(running)
        return running

    yield factory
    for running in started:
        if running.process.poll() is None:
            running.process.kill()
            running.process.wait()
