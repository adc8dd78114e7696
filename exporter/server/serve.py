"""Run the exporter until SIGTERM/SIGINT, then stop within a few seconds.

This process serves HTTP and nothing else; the refresher process (``refresher``) runs the sources and checks and
sends it what to serve. It exits with an error when the refresher exits on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from aiohttp import web

from exporter.config import Settings
from exporter.server.refresher_process import RefresherExited, RefresherProcess
from exporter.server.routes import make_app
from exporter.server.webconfig import WebConfig

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 3.0


async def serve(settings: Settings, web_config: WebConfig, stop: asyncio.Event | None = None) -> None:
    endpoints = settings.listen_endpoints()
    ssl_context = web_config.ssl_context()
    refresher = RefresherProcess(settings)
    runner = web.AppRunner(
        make_app(refresher, web_config), handle_signals=False, access_log=None, shutdown_timeout=SHUTDOWN_GRACE_SECONDS
    )
    await runner.setup()
    for host, port in endpoints:
        site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise OSError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    scheme = "https" if ssl_context else "http"
    log.info(
        "listening on %s", ", ".join(f"{scheme}://{host}:{port}{settings.telemetry_path}" for host, port in endpoints)
    )
    refresher.start()
    stopped, exited = loop.create_task(stop.wait()), loop.create_task(refresher.exited.wait())
    try:
        await asyncio.wait([stopped, exited], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        exited.cancel()
        log.info("shutting down")
        await refresher.stop()
        await runner.cleanup()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
    if refresher.exited.is_set():
        raise RefresherExited(refresher.unhealthy())
