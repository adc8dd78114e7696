"""Fixtures shared by every test package."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support import RunningExporter, start_exporter


@pytest.fixture
def exporter_factory() -> Iterator[Callable[[list[str]], RunningExporter]]:
    """Start `mesh-health-exporter serve` as a real process; killed at the end of the test."""
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
