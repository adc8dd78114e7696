"""Loopback upstreams that can be made to fail on demand, for the fault matrix: a Kubernetes API server answering
every list with nothing and holding every watch open, istiod replicas, Elasticsearch clusters. Each runs in a
background thread with its own event loop; ``fault`` switches what every request gets."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.support import drip

FIXTURES = Path(__file__).resolve().parent / "unit" / "fixtures"

# every fault the matrix applies to each upstream, and the reasons a source may give for it
FAULTS: dict[str, set[str]] = {
    "refused": {"connection"},
    "blackhole": {"timeout"},
    "drip": {"timeout"},
    "401": {"unauthorized"},
    "403": {"forbidden"},
    "404": {"not_found"},
    "500": {"http_error"},
    "503": {"http_error"},
    "not_json": {"invalid_response"},
    "truncated_json": {"invalid_response"},
    "wrong_shape": {"invalid_response"},
    "huge": {"too_large"},
}
HUGE_BYTES = 50 * 1024 * 1024
# a kubeconfig for the loopback API server (plain HTTP, a token nobody checks)
KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "{url}"}}}}]
contexts: [{{name: c, context: {{cluster: c, user: u}}}}]
current-context: c
users: [{{name: u, user: {{token: t}}}}]
"""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Upstream:
    """One loopback HTTP server; ``set_fault(name)`` / ``set_fault(None)`` from any thread."""

    def __init__(self, handler: Handler) -> None:
        self.fault: str | None = None
        self._handler = handler
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self.port = 0
        self._call(self._start())
        self.url = f"http://127.0.0.1:{self.port}"

    def _call(self, coro: Awaitable[Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(30)  # type: ignore[arg-type]

    async def _start(self) -> None:
        app = web.Application(middlewares=[self._middleware], client_max_size=1024)
        app.router.add_route("*", "/{tail:.*}", self._handler)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        await self._listen()

    async def _listen(self) -> None:
        assert self._runner is not None
        self._site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await self._site.start()
        self.port = self._site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def set_fault(self, fault: str | None) -> None:
        if fault == "refused":
            assert self._site is not None
            self._call(self._site.stop())
        elif self.fault == "refused":
            self._call(self._listen())
        self.fault = fault

    def stop(self) -> None:
        if self._runner is not None:
            self._call(self._runner.cleanup())
        self._loop.call_soon_threadsafe(self._loop.stop)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        fault = self.fault
        if fault is None:
            return await handler(request)
        if fault == "refused":  # a keep-alive connection from before: the server is gone, it goes too
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=503)  # never sent: the connection is gone
        if fault == "blackhole":
            await asyncio.sleep(3600)
        if fault == "drip":
            return await drip(request)
        if fault.isdigit():
            return web.json_response({"kind": "Status", "message": f"injected {fault}"}, status=int(fault))
        if fault == "not_json":
            return web.Response(text="<html><body>502 Bad Gateway (proxy)</body></html>", content_type="text/html")
        if fault == "truncated_json":
            return web.Response(body=b'{"items": [{"metadata": {"name": "a"', content_type="application/json")
        if fault == "wrong_shape":
            return web.Response(body=b'[1, "two", {"three": null}]', content_type="application/json")
        if fault == "huge":
            resp = web.StreamResponse()  # no Content-Length: the limit must be found while reading
            await resp.prepare(request)
            block = b" " * (1024 * 1024)
            await resp.write(b'{"pad": "')
            for _ in range(HUGE_BYTES // len(block)):
                await resp.write(block)
            await resp.write(b'"}')
            return resp
        raise AssertionError(fault)


# --- Kubernetes: every list empty, every watch held open ------------------------------------------------------

CLUSTER_SCOPED = {"namespaces", "nodes", "customresourcedefinitions", "validatingwebhookconfigurations",
                  "mutatingwebhookconfigurations"}  # fmt: skip
PLURALS = ["pods", "namespaces", "nodes", "services", "events", "configmaps", "deployments", "statefulsets",
           "endpointslices", "horizontalpodautoscalers", "customresourcedefinitions",
           "validatingwebhookconfigurations", "mutatingwebhookconfigurations", "destinationrules", "virtualservices",
           "gateways", "serviceentries", "peerauthentications", "telemetries", "sidecars"]  # fmt: skip


async def kube_api(request: web.Request) -> web.StreamResponse:
    path = request.path
    if path == "/version":
        return web.json_response({"major": "1", "minor": "34", "gitVersion": "v1.34.4"})
    parts = path.strip("/").split("/")
    if parts[:1] == ["apis"] and len(parts) == 2:
        return web.json_response({"kind": "APIGroup", "name": parts[1], "preferredVersion": {"version": "v1"},
                                  "versions": [{"version": "v1"}]})  # fmt: skip
    if (parts[:1] == ["api"] and len(parts) == 2) or (parts[:1] == ["apis"] and len(parts) == 3):
        return web.json_response({"kind": "APIResourceList", "resources": [
            {"name": p, "namespaced": p not in CLUSTER_SCOPED} for p in PLURALS]})  # fmt: skip
    if request.query.get("watch") in ("1", "true"):
        resp = web.StreamResponse()
        await resp.prepare(request)
        await asyncio.sleep(3600)
        return resp
    return web.json_response({"kind": "List", "items": [], "metadata": {"resourceVersion": "1"}})


# --- istiod: syncz of one synced proxy, a few pilot metrics, an empty push status ------------------------------

SYNCZ = json.dumps([{
    "proxy": "web-0.shop", "proxy_type": "sidecar", "istio_version": "1.29.2",
    "cluster_sent": "n1", "cluster_acked": "n1", "listener_sent": "n1", "listener_acked": "n1",
    "route_sent": "n1", "route_acked": "n1", "endpoint_sent": "n1", "endpoint_acked": "n1",
}])  # fmt: skip
PILOT_METRICS = """# TYPE istio_build gauge
istio_build{component="pilot",tag="1.29.2"} 1
# TYPE pilot_xds gauge
pilot_xds{version="1.29.2"} 1
"""


async def istiod_api(request: web.Request) -> web.StreamResponse:
    if request.path == "/debug/syncz":
        return web.Response(text=SYNCZ, content_type="application/json")
    if request.path == "/metrics":
        return web.Response(text=PILOT_METRICS, content_type="text/plain")
    if request.path == "/debug/push_status":
        return web.json_response({})
    return web.Response(status=404)


# --- Elasticsearch: a green cluster without Jaeger indices ---------------------------------------------------


def _es_fixture(name: str) -> Any:
    return json.loads((FIXTURES / "elasticsearch" / name).read_text())


async def es_api(request: web.Request) -> web.StreamResponse:
    path = request.path
    answers = {
        "/": "clusterinfo-7.13.1.json",
        "/_health_report/disk": "healthreport-8.7.0.json",
        "/_cluster/health": "clusterhealth-7.13.1.json",
        "/_nodes/stats/fs": "nodestats-7.13.1.json",
        "/_cluster/settings": "settings-8.9.1-watermark.json",
    }
    if path in answers:
        return web.json_response(_es_fixture(answers[path]))
    if path.startswith("/_alias/"):
        return web.json_response({}, status=404)
    if path.startswith("/_cat/indices/") or path.endswith("/_settings/index.blocks.*"):
        return web.json_response([] if path.startswith("/_cat") else {})
    if path.endswith("/_search"):
        return web.json_response({"hits": {"total": 0}, "aggregations": {"newest": {"value": None}}})
    return web.json_response({"error": "no handler"}, status=404)
