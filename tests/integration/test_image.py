"""The Containerfile builds (Debian base from debootstrap, buildah with vfs and chroot isolation) into an
image that runs the exporter as a non-root user and carries no pip or compiler."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_image_builds_and_runs_the_exporter():
    proc = subprocess.run(["bash", str(ROOT / "testbed" / "image.sh")], capture_output=True, text=True, timeout=1800,
                          check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
    [version] = [line for line in lines if line.startswith("mesh-health-exporter 0.1.0 ")]
    assert f"(revision {head.stdout.strip()[:12]}, python 3." in version
    assert any(line.startswith("usage: mesh-health-exporter check") for line in lines)
    assert "65532" in lines and "no pip, no compiler" in lines
