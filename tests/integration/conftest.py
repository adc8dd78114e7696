"""Fixtures for tests that run real binaries: promtool and the exporter itself."""

from __future__ import annotations

import shutil

import pytest

from tests.support import ROOT

__all__ = ["ROOT"]


@pytest.fixture(scope="session")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool not found: install Debian's prometheus package (`make test` does)")
    return path
