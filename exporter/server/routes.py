"""aiohttp application: every handler serves state the refresher prepared; none does I/O upstream."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from aiohttp import web
from aiohttp.typedefs import Middleware

from exporter.config import Settings
from exporter.metrics.rendered import OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE, RenderedMetrics
from exporter.server.webconfig import BasicAuth, WebConfig

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Served(Protocol):
    """What the handlers serve: the refresher's latest state (``RefresherProcess``)."""

    @property
    def settings(self) -> Settings: ...

    def unhealthy(self) -> str:
        """Why nothing served can be trusted (the refresher stopped answering or exited); "" when all is well."""
        ...

    def metrics(self) -> RenderedMetrics | None:
        """The latest rendered metrics; None before the first ones."""
        ...

    def waiting(self) -> list[str]:
        """What has not been refreshed once yet; ready when empty."""
        ...

    async def status_page(self) -> str:
        """The status page's HTML; raises TimeoutError when it takes too long to make."""
        ...


SERVED_KEY = web.AppKey("served", Served)


def _unavailable(reason: str) -> web.Response:
    return web.Response(status=503, text=reason + "\n")


def _wants_openmetrics(accept: str) -> bool:
    return "application/openmetrics-text" in accept


def _wants_gzip(accept_encoding: str) -> bool:
    for part in accept_encoding.split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() == "gzip":
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


async def metrics(request: web.Request) -> web.Response:
    served = request.app[SERVED_KEY]
    problem = served.unhealthy()
    rendered = served.metrics()
    if problem or rendered is None:
        return _unavailable(problem or "no metrics yet: the first refresh has not finished")
    openmetrics = _wants_openmetrics(request.headers.get("Accept", ""))
    gzipped = _wants_gzip(request.headers.get("Accept-Encoding", ""))
    body = rendered.body(openmetrics, gzipped)
    headers = {"Content-Type": OPENMETRICS_CONTENT_TYPE if openmetrics else TEXT_CONTENT_TYPE}
    headers["Vary"] = "Accept, Accept-Encoding"
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    return web.Response(body=body, headers=headers)


async def healthz(request: web.Request) -> web.Response:
    problem = request.app[SERVED_KEY].unhealthy()
    return _unavailable(problem) if problem else web.Response(text="ok\n")


async def readyz(request: web.Request) -> web.Response:
    served = request.app[SERVED_KEY]
    problem = served.unhealthy()
    if problem:
        return _unavailable(problem)
    waiting = served.waiting()
    if waiting:
        return _unavailable("waiting for first refresh of: " + ", ".join(waiting))
    return web.Response(text="ready\n")


async def status_page(request: web.Request) -> web.Response:
    served = request.app[SERVED_KEY]
    problem = served.unhealthy()
    if problem:
        return _unavailable(problem)
    try:
        html = await served.status_page()
    except TimeoutError:
        return _unavailable("the status page took too long to make; try again")
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


def make_app(served: Served, web_config: WebConfig) -> web.Application:
    middlewares: list[Middleware] = []
    auth = BasicAuth(web_config.basic_auth_users)
    if auth.enabled:
        middlewares.append(_auth_middleware(auth))
    app = web.Application(middlewares=middlewares)
    app[SERVED_KEY] = served
    extra_headers = dict(web_config.http_server_config.headers)
    if extra_headers:

        async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
            response.headers.update(extra_headers)

        app.on_response_prepare.append(add_headers)
    app.router.add_get(served.settings.telemetry_path, metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/", status_page)
    return app
