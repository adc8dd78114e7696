"""The serving process's side of the refresher: starts it, keeps what it published, asks it for status pages.

A refresher that exits, or sends nothing (not even its heartbeat) for ``refresher_silence_seconds``, makes every
endpoint answer 503 with the reason, /healthz included: the last metrics it sent are not served as current. An
exit also stops the server (``exited``), which then exits non-zero so that the container is restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from exporter.config import Settings
from exporter.metrics.rendered import RenderedMetrics
from exporter.server.published import Published

log = logging.getLogger(__name__)

STATUS_PAGE_SECONDS = 10.0
STOP_SECONDS = 3.0


def _run_refresher(settings: Settings, conn: Connection) -> None:
    """The refresher process's target: this module is all the serving process imports of it (the refresher's
    modules, its sources, checks and their libraries, are imported in the refresher only)."""
    from exporter.server import refresher

    refresher.run(settings, conn)


class RefresherExited(Exception):
    """The refresher process ended while the server was running."""


class RefresherProcess:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.exited = asyncio.Event()
        self._rendered: RenderedMetrics | None = None
        self._waiting: tuple[str, ...] = ("every source (the refresher is starting)",)
        self._heard = time.monotonic()
        self._gone = ""
        self._stopping = False
        self._pages: dict[int, asyncio.Future[str]] = {}
        self._ids = itertools.count()
        self._send_lock = threading.Lock()
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None

    def start(self) -> None:
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        # not a daemon: it starts the parser processes (and ``stop``, always called, ends it)
        process = ctx.Process(target=_run_refresher, args=(self.settings, child), name="mesh-health-exporter refresher")
        process.start()
        child.close()
        self._process, self._conn, self._heard = process, parent, time.monotonic()
        loop = asyncio.get_running_loop()
        threading.Thread(target=self._read, args=(parent, loop), name="refresher reader", daemon=True).start()

    def _read(self, conn: Connection, loop: asyncio.AbstractEventLoop) -> None:
        """Reader thread: every message onto the loop; at the end of the pipe, ``_ended``."""
        while True:
            try:
                message: tuple[Any, ...] = conn.recv()
            except (EOFError, OSError):
                break
            try:
                loop.call_soon_threadsafe(self._received, message)
            except RuntimeError:  # the loop is closed: the server has ended
                return
        try:
            loop.call_soon_threadsafe(self._ended)
        except RuntimeError:
            return

    def _received(self, message: tuple[Any, ...]) -> None:
        self._heard = time.monotonic()
        kind = message[0]
        if kind == "state":
            state: Published = message[1]
            self._rendered = RenderedMetrics(state.text, state.openmetrics)
            self._waiting = state.waiting
        elif kind == "status":
            page = self._pages.pop(message[1], None)
            if page is not None and not page.done():
                page.set_result(message[2])

    def _ended(self) -> None:
        if self._stopping:
            return
        process = self._process
        if process is not None:
            process.join(1.0)
        code = process.exitcode if process is not None else None
        self._gone = f"the refresher process exited (exit code {code})"
        log.error("%s; stopping", self._gone)
        self.exited.set()

    def unhealthy(self) -> str:
        if self._gone:
            return self._gone
        silent = time.monotonic() - self._heard
        limit = self.settings.refresher_silence_seconds
        if silent > limit:
            return f"the refresher process has sent nothing for {silent:.0f}s (limit {limit:g}s)"
        return ""

    def metrics(self) -> RenderedMetrics | None:
        return self._rendered

    def waiting(self) -> list[str]:
        return list(self._waiting)

    def _send(self, message: tuple[Any, ...]) -> None:
        conn = self._conn
        if conn is None:
            raise OSError("the refresher is not running")
        with self._send_lock:
            conn.send(message)

    async def status_page(self) -> str:
        request = next(self._ids)
        page = self._pages[request] = asyncio.get_running_loop().create_future()
        try:
            await asyncio.to_thread(self._send, ("status", request))
            return await asyncio.wait_for(page, STATUS_PAGE_SECONDS)
        except OSError:
            raise TimeoutError from None
        finally:
            self._pages.pop(request, None)

    async def stop(self) -> None:
        """Ask the refresher to stop; kill it if it has not within ``STOP_SECONDS``."""
        self._stopping = True
        process, conn = self._process, self._conn
        if process is None or conn is None:
            return
        with contextlib.suppress(OSError, ValueError, TimeoutError):
            await asyncio.wait_for(asyncio.to_thread(self._send, ("stop",)), STOP_SECONDS)
        await asyncio.to_thread(process.join, STOP_SECONDS)
        if process.is_alive():
            log.warning("the refresher did not stop within %gs; killing it", STOP_SECONDS)
            process.kill()
            await asyncio.to_thread(process.join, STOP_SECONDS)
        conn.close()
