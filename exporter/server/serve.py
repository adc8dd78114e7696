"""Run the exporter until SIGTERM/SIGINT, then stop within a few seconds."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from aiohttp import web

from exporter.app import Exporter
from exporter.config import Settings
from exporter.server.routes import make_app
from exporter.server.runtime import tune_for_serving
from exporter.server.webconfig import WebConfig

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 3.0


async def serve(settings: Settings, web_config: WebConfig, stop: asyncio.Event | None = None) -> None:
    endpoints = settings.listen_endpoints()
    ssl_context = web_config.ssl_context()
    exporter = Exporter(settings)
    runner = web.AppRunner(
        make_app(exporter, web_config), handle_signals=False, access_log=None, shutdown_timeout=SHUTDOWN_GRACE_SECONDS
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
        "listening on %s (%d checks, sources: %s)",
        ", ".join(f"{scheme}://{host}:{port}{settings.telemetry_path}" for host, port in endpoints),
        len(exporter.checks),
        ", ".join(s.source.name for s in exporter.states) or "none",
    )
    tune_for_serving()
    exporter.start()
    try:
        await stop.wait()
    finally:
        log.info("shutting down")
        try:
            await asyncio.wait_for(exporter.stop(), timeout=1.0)
        except TimeoutError:
            log.warning("sources did not close within 1s")
        await runner.cleanup()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
