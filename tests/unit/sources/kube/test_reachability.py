"""CF11's TCP probe against real loopback sockets: open, refused, silent, and the wiring through the source."""

from __future__ import annotations

import asyncio
import socket

from exporter.sources.kube.projections import project_istio_configmap
from exporter.sources.kube.reachability import MAX_ADDRESSES, connect, probe_tracing_backends


def mesh_cm(text: str, name: str = "istio"):
    return project_istio_configmap({"metadata": {"name": name, "namespace": "istio-system"}, "data": {"mesh": text}})


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_open_refused_and_malformed_addresses():
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        assert await connect(f"127.0.0.1:{port}", 2) == ""
        assert await connect(f"127.0.0.1:{closed_port()}", 2) == "connection refused"
        assert await connect("no-such-host.invalid:9411", 2) == "cannot resolve no-such-host.invalid"
        assert await connect("zipkin/tracing:9411", 2) == "not host:port"
    finally:
        server.close()
        await server.wait_closed()


async def test_a_silent_address_is_bounded_by_the_timeout():
    # 192.0.2.1 (TEST-NET-1) is never routed: the connect hangs (or fails at once where no route exists)
    loop = asyncio.get_running_loop()
    start = loop.time()
    outcome = await connect("192.0.2.1:9411", 0.2)
    assert outcome != "" and loop.time() - start < 2


async def test_probe_reads_every_readable_mesh_config_once_per_address():
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    refused = closed_port()
    text = (f"defaultConfig: {{tracing: {{zipkin: {{address: '127.0.0.1:{port}'}}}}}}\n"
            f"extensionProviders: [{{name: otel, opentelemetry: {{service: 127.0.0.1, port: {refused}}}}}]\n")  # fmt: skip
    try:
        probes = await probe_tracing_backends(
            [mesh_cm(text), mesh_cm(text, "istio-canary"), mesh_cm("{", "istio-x")], 2
        )
    finally:
        server.close()
        await server.wait_closed()
    assert set(probes) == {f"127.0.0.1:{port}", f"127.0.0.1:{refused}"}
    assert probes == {f"127.0.0.1:{port}": "", f"127.0.0.1:{refused}": "connection refused"}


async def test_at_most_max_addresses_are_probed():
    providers = ", ".join(f"{{name: p{i}, zipkin: {{service: 127.0.0.1, port: {closed_port()}}}}}" for i in range(30))
    probes = await probe_tracing_backends([mesh_cm(f"extensionProviders: [{providers}]")], 1)
    assert len(probes) == MAX_ADDRESSES
