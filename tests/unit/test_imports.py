"""Every module imports on its own, in a fresh interpreter (no reliance on the import order of app.py)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import exporter

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(exporter.__path__, "exporter.") if not m.name.endswith("__main__")
)


def test_modules_found():
    assert {"exporter.evaluate", "exporter.scheduler", "exporter.sources.istiod.source"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_module_imports_alone(module):
    proc = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
