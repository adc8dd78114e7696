"""Helpers shared by integration and e2e tests: run the exporter as a real process and read it."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]


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


def start_exporter(
    args: list[str], env: dict[str, str] | None = None, log: Path | None = None, metrics_path: str = "/metrics"
) -> RunningExporter:
    """``log``: a file for the process' output. Without it the output goes to a pipe nobody reads while it runs:
    fine for short runs, but a process that logs more than the pipe holds (64 KiB) blocks on its next log line."""
    port = free_port()
    out = log.open("w") if log is not None else subprocess.PIPE
    process = subprocess.Popen(
        [sys.executable, "-m", "exporter", "serve", "--listen-address", f"127.0.0.1:{port}", *args],
        stdout=out,
        stderr=out if log is not None else subprocess.PIPE,
        text=True,
        env=env,
    )
    running = RunningExporter(process, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stderr.read() if process.stderr else (log.read_text() if log else "")
            raise AssertionError(f"exporter exited {process.returncode}: {output[-2000:]}")
        try:  # /metrics answers 503 until the refresher process has sent its first state
            if running.get("/healthz")[0] == 200 and running.get(metrics_path)[0] != 503:
                return running
        except OSError:
            pass
        time.sleep(0.1)
    process.kill()
    raise AssertionError("exporter did not serve /metrics within 30s")


def metric_values(body: bytes, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Samples of one metric as {sorted label pairs: value}."""
    out = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name == name:
                out[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def wait_for(predicate, seconds: float = 30.0, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"{what} not reached within {seconds:.0f}s (last value: {last!r})")


async def drip(request: web.Request) -> web.StreamResponse:
    """An aiohttp handler that sends its headers at once, then one byte every 0.1 s for a minute: no single read
    ever times out, only a deadline on the whole answer ends it."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    try:
        for _ in range(600):
            await response.write(b" ")
            await asyncio.sleep(0.1)
    except ConnectionResetError:  # the client gave up on the drip, as it should: nothing to log
        pass
    return response


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the exporter, its refresher and the refresher's parser processes)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rpartition(")")[2].split()[1])
    tree, frontier = [pid], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        tree += children
        frontier = children
    return tree


def refresher_pid(pid: int) -> int | None:
    """The exporter's refresher process: the child of ``pid`` started by multiprocessing's spawn (the parser
    processes are the refresher's children; multiprocessing's resource tracker is not spawned that way)."""
    for member in process_tree(pid):
        try:
            stat = Path(f"/proc/{member}/stat").read_text()
            cmdline = Path(f"/proc/{member}/cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid and b"spawn_main" in cmdline:
            return member
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far (its own, not its children's)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_status(pid: int) -> dict[str, float]:
    """Summed over ``pid`` and its descendants: VmRSS and VmHWM (each process' peak) in MiB, Threads, open fds."""
    total = {"VmRSS": 0.0, "VmHWM": 0.0, "Threads": 0.0, "fds": 0.0}
    for member in process_tree(pid):
        try:
            status = Path(f"/proc/{member}/status").read_text()
            total["fds"] += len(list(Path(f"/proc/{member}/fd").iterdir()))
        except OSError:  # gone meanwhile
            continue
        for line in status.splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                total[key] += int(value.split()[0]) / 1024
            elif key == "Threads":
                total[key] += int(value)
    return total


def process_rss_mib(pid: int) -> float:
    """VmRSS of ``pid`` alone, in MiB (0 when it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    return next((int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmRSS:")), 0.0)


def tree_memory_mib(pid: int) -> tuple[float, float]:
    """(RSS, sum of each process' peak RSS) of ``pid`` and its descendants, in MiB."""
    status = tree_status(pid)
    return status["VmRSS"], status["VmHWM"]
