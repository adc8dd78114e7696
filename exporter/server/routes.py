"""aiohttp application: every handler serves state that background tasks prepared; none does I/O."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from exporter.app import Exporter
from exporter.metrics.render import OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE
from exporter.server.status_page import render_status_page
from exporter.server.webconfig import BasicAuth, WebConfig

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
EXPORTER_KEY = web.AppKey("exporter", Exporter)


def _wants_openmetrics(accept: str) -> bool:
    return "application/openmetrics-text" in accept


def _wants_gzip(accept_encoding: str) -> bool:
    for part in accept_encoding.split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() == "gzip":
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


async def metrics(request: web.Request) -> web.Response:
    exporter = request.app[EXPORTER_KEY]
    openmetrics = _wants_openmetrics(request.headers.get("Accept", ""))
    gzipped = _wants_gzip(request.headers.get("Accept-Encoding", ""))
    body = exporter.rendered.body(openmetrics, gzipped)
    headers = {"Content-Type": OPENMETRICS_CONTENT_TYPE if openmetrics else TEXT_CONTENT_TYPE}
    headers["Vary"] = "Accept, Accept-Encoding"
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    return web.Response(body=body, headers=headers)


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


async def readyz(request: web.Request) -> web.Response:
    exporter = request.app[EXPORTER_KEY]
    if exporter.ready:
        return web.Response(text="ready\n")
    waiting = [s.source.name for s in exporter.states if not s.attempted]
    return web.Response(status=503, text="waiting for first refresh of: " + ", ".join(waiting) + "\n")


async def status_page(request: web.Request) -> web.Response:
    exporter = request.app[EXPORTER_KEY]
    html = render_status_page(
        exporter.sources(),
        exporter.outcomes,
        exporter.updated_at,
        exporter.settings.runbook_base_url,
        exporter.first_seen,
        exporter.settings.telemetry_path,
    )
    return web.Response(text=html, content_type="text/html")


def _auth_middleware(auth: BasicAuth) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not await auth.check(request.headers.get("Authorization")):
            return web.Response(
                status=401, text="Unauthorized\n", headers={"WWW-Authenticate": 'Basic realm="mesh-health-exporter"'}
            )
        return await handler(request)

    return middleware


def make_app(exporter: Exporter, web_config: WebConfig) -> web.Application:
    middlewares: list[Middleware] = []
    auth = BasicAuth(web_config.basic_auth_users)
    if auth.enabled:
        middlewares.append(_auth_middleware(auth))
    app = web.Application(middlewares=middlewares)
    app[EXPORTER_KEY] = exporter
    extra_headers = dict(web_config.http_server_config.headers)
    if extra_headers:

        async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
            response.headers.update(extra_headers)

        app.on_response_prepare.append(add_headers)
    app.router.add_get(exporter.settings.telemetry_path, metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/", status_page)
    return app
