"""CF11's optional TCP probe: can the exporter open a connection to each tracing backend the mesh config names?

Off by default (``checks.CF11.tcp_probe``): the exporter's network may differ from the proxies'. At most
``MAX_ADDRESSES`` distinct addresses per refresh, all probed concurrently, each bounded by the timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterable

from exporter.sources.kube.meshconfig import mesh_configs, parse_address, tracing_addresses
from exporter.sources.kube.projections import ConfigMapInfo

MAX_ADDRESSES = 20


async def connect(value: str, seconds: float) -> str:
    """ "" when a TCP connection to ``host:port`` opened within ``timeout``, else why not."""
    address = parse_address(value)
    if address is None:
        return "not host:port"
    try:
        async with asyncio.timeout(seconds):
            _, writer = await asyncio.open_connection(address.host, address.port)
    except TimeoutError:
        return f"no connection within {seconds:g}s"
    except ConnectionRefusedError:
        return "connection refused"
    except socket.gaierror:
        return f"cannot resolve {address.host}"
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return ""


async def probe_tracing_backends(configmaps: Iterable[ConfigMapInfo], seconds: float) -> dict[str, str]:
    """``host:port`` -> "" or the connect error, for the tracing backends of every readable mesh config."""
    addresses = sorted(
        {value for mesh in mesh_configs(configmaps) if not mesh.error for _, value in tracing_addresses(mesh)}
    )[:MAX_ADDRESSES]
    results = await asyncio.gather(*(connect(a, seconds) for a in addresses))
    return dict(zip(addresses, results, strict=True))
