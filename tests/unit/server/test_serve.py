import asyncio
import gc
import multiprocessing
import os
import platform
import signal
import sys
import time

import aiohttp
import pytest

from exporter.server import refresher, runtime
from exporter.server.refresher_process import RefresherExited
from exporter.server.runtime import GC_THRESHOLDS, SWITCH_INTERVAL_SECONDS
from exporter.server.serve import serve
from exporter.server.webconfig import WebConfig
from tests.support import free_port, refresher_pid, start_exporter
from tests.unit.helpers import settings

DISABLED = {s: {"enabled": False} for s in ("kubernetes", "istiod", "elasticsearch")}


async def test_the_refresher_tunes_its_interpreter_publishes_answers_and_stops(monkeypatch):
    """The refresher parses and checks in worker threads: its loop must get the GIL back quickly, and the collector
    must not rescan the modules and classes, and must rarely rescan the caches, in full collections. It publishes
    a state at once and then heartbeats, renders the status page on request, and ends on stop."""
    tuned: list[bool] = []
    monkeypatch.setattr(runtime, "tune_malloc", lambda: tuned.append(True) or True)
    monkeypatch.setattr(refresher, "HEARTBEAT_SECONDS", 0.05)
    before, thresholds = sys.getswitchinterval(), gc.get_threshold()
    ours, theirs = multiprocessing.Pipe()
    task = asyncio.get_running_loop().create_task(refresher.refresh(settings(sources=DISABLED), theirs))
    try:
        kind, state = await asyncio.to_thread(ours.recv)
        assert kind == "state" and b"meshhealth_build_info" in state.text and state.openmetrics.endswith(b"# EOF\n")
        assert state.waiting == ()  # no source enabled: nothing to wait for
        seen = {"interval": sys.getswitchinterval(), "frozen": gc.get_freeze_count(), "thresholds": gc.get_threshold()}
        assert await asyncio.to_thread(ours.recv) == ("heartbeat",)
        ours.send(("status", 7))
        while (answer := await asyncio.to_thread(ours.recv))[0] != "status":
            assert answer == ("heartbeat",)
        assert answer[1] == 7 and "<!doctype html>" in answer[2]
        ours.send(("stop",))
        await asyncio.wait_for(task, 5)
    finally:
        task.cancel()
        sys.setswitchinterval(before)
        gc.set_threshold(*thresholds)
        gc.unfreeze()
    assert abs(seen["interval"] - SWITCH_INTERVAL_SECONDS) < 1e-6 and before > SWITCH_INTERVAL_SECONDS
    assert seen["frozen"] > 1000
    assert tuned == [True]
    assert seen["thresholds"] == GC_THRESHOLDS and GC_THRESHOLDS[2] > thresholds[2]


async def test_the_refresher_ends_when_the_server_is_gone(monkeypatch):
    monkeypatch.setattr(refresher, "tune_for_serving", lambda: None)
    ours, theirs = multiprocessing.Pipe()
    task = asyncio.get_running_loop().create_task(refresher.refresh(settings(sources=DISABLED), theirs))
    assert (await asyncio.to_thread(ours.recv))[0] == "state"
    ours.close()
    await asyncio.wait_for(task, 5)


async def _get(session: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with session.get(url) as answer:
        return answer.status, await answer.text()


async def _until(predicate, seconds: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := await predicate():
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what} not within {seconds:g}s")


def _refresher_pid() -> int:
    [child] = [p for p in multiprocessing.active_children() if p.name == "mesh-health-exporter refresher"]
    assert child.pid is not None
    return child.pid


async def test_the_server_serves_what_the_refresher_process_sends_and_stops_it():
    port = free_port()
    stop = asyncio.Event()
    server = asyncio.get_running_loop().create_task(
        serve(settings(listen_address=[f"127.0.0.1:{port}"], sources=DISABLED), WebConfig(), stop)
    )
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:

        async def served() -> bool:
            try:
                status, body = await _get(session, url + "/metrics")
            except aiohttp.ClientConnectionError:
                return False
            return status == 200 and "meshhealth_build_info" in body

        await _until(served, 30, "metrics from the refresher process")
        pid = _refresher_pid()
        assert pid != os.getpid()
        assert (await _get(session, url + "/readyz"))[0] == 200
        status, page = await _get(session, url + "/")
        assert status == 200 and "<!doctype html>" in page
    stop.set()
    await asyncio.wait_for(server, 10)
    assert not [p for p in multiprocessing.active_children() if p.name == "mesh-health-exporter refresher"]


@pytest.mark.skipif(platform.system() != "Linux", reason="SIGSTOP/SIGKILL of a child process")
async def test_a_silent_refresher_turns_every_endpoint_503_and_an_exited_one_stops_the_server():
    """A hung refresher (stopped: no state, no heartbeat) must not leave its last metrics served as current; once it
    answers again the server serves again. A refresher that exits stops the server with the exit code."""
    port = free_port()
    config = settings(listen_address=[f"127.0.0.1:{port}"], sources=DISABLED, refresher_silence_seconds=5)
    server = asyncio.get_running_loop().create_task(serve(config, WebConfig()))
    url = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:

        async def status(path: str) -> int:
            try:
                return (await _get(session, url + path))[0]
            except aiohttp.ClientConnectionError:
                return 0

        await _until(lambda: _is(status("/metrics"), 200), 30, "metrics from the refresher process")
        pid = _refresher_pid()
        os.kill(pid, signal.SIGSTOP)
        try:
            await _until(lambda: _is(status("/healthz"), 503), 15, "/healthz 503 while the refresher is stopped")
            for path in ("/metrics", "/readyz", "/"):
                answer, text = await _get(session, url + path)
                assert answer == 503 and "the refresher process has sent nothing for" in text, path
        finally:
            os.kill(pid, signal.SIGCONT)
        await _until(lambda: _is(status("/metrics"), 200), 10, "metrics again once the refresher answers")
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(RefresherExited, match="exit code -9"):
            await asyncio.wait_for(server, 10)


async def _is(answer, expected: int) -> bool:  # type: ignore[no-untyped-def]
    return await answer == expected


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_glibc_takes_the_malloc_settings():
    assert runtime.tune_malloc() is True


@pytest.mark.skipif(platform.system() != "Linux", reason="/proc")
def test_a_sigterm_to_the_whole_group_leaves_the_refreshers_stop_to_the_server(tmp_path):
    """systemd and killpg send SIGTERM to every process of the group: the refresher must leave its stop to the
    server, or the server sees it exit unasked and fails."""
    config = tmp_path / "config.json"
    config.write_text('{"sources": {"kubernetes": {"enabled": false}, "istiod": {"enabled": false}}}')
    running = start_exporter(["--config", str(config)], log=tmp_path / "log")
    try:
        child = refresher_pid(running.process.pid)
        assert child is not None
        os.kill(child, signal.SIGTERM)
        time.sleep(0.5)  # the refresher's signal arrives first (had it ended, the server would fail meanwhile)
        running.process.send_signal(signal.SIGTERM)
        assert running.process.wait(10) == 0, (tmp_path / "log").read_text()[-2000:]
    finally:
        if running.process.poll() is None:
            running.process.kill()


def test_the_serving_process_imports_none_of_the_refreshers_modules():
    """The server holds no sources, checks or their clients: its memory is the HTTP server's (~50 MiB), not ~95."""
    import subprocess

    probe = (
        "import sys, exporter.cli, exporter.server.serve\n"
        "heavy = ('kubernetes_asyncio', 'exporter.app', 'exporter.checks', 'exporter.sources', 'jinja2')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    found = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    assert found.stdout.strip() == "[]"
