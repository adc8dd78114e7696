"""Fixtures for tests that run real binaries: promtool and the exporter itself."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool not found: install Debian's prometheus package (`make test` does)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningExporter:
    process: subprocess.Popen[str]
    url: str

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        req = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()


def start_exporter(args: list[str], env: dict[str, str] | None = None) -> RunningExporter:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "exporter", "serve", "--listen-address", f"127.0.0.1:{port}", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    running = RunningExporter(process, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"exporter exited {process.returncode}: {process.stderr.read()[-2000:]}")
        try:
            if running.get("/healthz")[0] == 200:
                return running
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("exporter did not answer /healthz within 30s")


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
