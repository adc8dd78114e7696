"""The refresher: a child process that runs every source, check and render, and publishes what to serve.

The process serving HTTP does nothing else. Refreshing 2 x 20,000 proxies every second reads 64 MB/s, adopts
the parsed proxies, runs the checks and renders /metrics: in the serving process, a scrape waited for that work
at every GIL switch and every full collection, and /metrics p99 at one scraper was 1-4x a static server's. Here
the refresher sends the rendered bodies (tens of KB) after each update, and a heartbeat every
``HEARTBEAT_SECONDS`` from its event loop; the serving process keeps the latest and answers from it.

Messages, one pipe, both ways (pickled tuples):

- to the server: ``("state", Published)``, ``("heartbeat",)``, ``("status", request id, html)``;
- to the refresher: ``("status", request id)`` (render the status page), ``("stop",)``.

The refresher ends on ``stop`` or when the pipe closes (the server is gone).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from exporter.app import Exporter
from exporter.config import Settings
from exporter.logs import setup_logging
from exporter.server.published import Published
from exporter.server.runtime import tune_for_serving
from exporter.server.status_page import render_status_page

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 2.0
STOP_SECONDS = 1.0


def published(exporter: Exporter) -> Published:
    return Published(exporter.rendered.text, exporter.rendered.openmetrics, tuple(exporter.waiting()))


def status_page_of(exporter: Exporter) -> Callable[[], str]:
    """Called on the loop: what the status page shows now; the call returned renders it, in any thread."""
    return functools.partial(
        render_status_page,
        exporter.sources(),
        exporter.outcomes,
        exporter.updated_at,
        exporter.settings.runbook_base_url,
        exporter.first_seen,
        exporter.settings.telemetry_path,
    )


class Outbox:
    """Sends messages in order, from a worker thread (a pipe write blocks while the server is behind); of the
    states not sent yet only the latest is sent."""

    def __init__(self, conn: Connection, closed: asyncio.Event) -> None:
        self._conn = conn
        self._closed = closed
        self._queue: asyncio.Queue[tuple[Any, ...] | None] = asyncio.Queue()
        self._state: Published | None = None

    def state(self, state: Published) -> None:
        if self._state is None:
            self._queue.put_nowait(None)  # stands for the latest state when its turn comes
        self._state = state

    def put(self, message: tuple[Any, ...]) -> None:
        self._queue.put_nowait(message)

    async def run(self) -> None:
        while True:
            message = await self._queue.get()
            if message is None:
                message, self._state = ("state", self._state), None
            try:
                await asyncio.to_thread(self._conn.send, message)
            except (OSError, ValueError):  # the server is gone
                self._closed.set()
                return


def _read(conn: Connection, loop: asyncio.AbstractEventLoop, inbox: asyncio.Queue[tuple[Any, ...] | None]) -> None:
    """Reader thread: every request from the server into ``inbox``; None once the pipe is closed."""
    while True:
        try:
            message: tuple[Any, ...] | None = conn.recv()
        except (EOFError, OSError):
            message = None
        try:
            loop.call_soon_threadsafe(inbox.put_nowait, message)
        except RuntimeError:  # the loop is closed: the refresher has ended
            return
        if message is None:
            return


async def _heartbeat(outbox: Outbox) -> None:
    while True:
        outbox.put(("heartbeat",))
        await asyncio.sleep(HEARTBEAT_SECONDS)


async def refresh(settings: Settings, conn: Connection) -> None:
    """Run the exporter's sources and checks until the server says stop or goes away."""
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[tuple[Any, ...] | None] = asyncio.Queue()
    closed = asyncio.Event()
    outbox = Outbox(conn, closed)
    exporter = Exporter(settings, on_update=lambda: outbox.state(published(exporter)))
    threading.Thread(target=_read, args=(conn, loop, inbox), name="refresher inbox", daemon=True).start()
    tune_for_serving()
    log.info(
        "refreshing %d checks from sources: %s",
        len(exporter.checks),
        ", ".join(s.source.name for s in exporter.states) or "none",
    )
    exporter.start()
    outbox.state(published(exporter))
    tasks = [loop.create_task(outbox.run(), name="outbox"), loop.create_task(_heartbeat(outbox), name="heartbeat")]
    gone = loop.create_task(closed.wait())
    try:
        while True:
            get = loop.create_task(inbox.get())
            await asyncio.wait([get, gone], return_when=asyncio.FIRST_COMPLETED)
            if not get.done():
                get.cancel()
                break
            message = get.result()
            if message is None or message[0] == "stop":
                break
            if message[0] == "status":
                html = await asyncio.to_thread(status_page_of(exporter))
                outbox.put(("status", message[1], html))
    finally:
        for task in (*tasks, gone):
            task.cancel()
        try:
            await asyncio.wait_for(exporter.stop(), timeout=STOP_SECONDS)
        except TimeoutError:
            log.warning("sources did not close within %gs", STOP_SECONDS)


def run(settings: Settings, conn: Connection) -> None:
    """The refresher process's entry point."""
    # Ctrl-C in a terminal, or a stop of the whole process group (systemd, killpg), reaches the refresher too: the
    # server stops it through the pipe, and exits non-zero when the refresher ends without being asked to
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    setup_logging(settings.log_level, settings.log_format)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(refresh(settings, conn))
    conn.close()
