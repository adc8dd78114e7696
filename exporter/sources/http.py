"""Bounded HTTP reads shared by the sources."""

from __future__ import annotations

import json

import aiohttp


def describe_bad_json(body: bytes, exc: json.JSONDecodeError) -> str:
    """A body that is not JSON, in words: cut off (truncated by a proxy or a limit), or something else."""
    size = f"{len(body):,} bytes"
    if not body.strip():
        return "an empty body instead of JSON"
    cut_off = "Unterminated" in exc.msg or exc.pos >= len(body.rstrip()) - 1
    if cut_off and body.lstrip()[:1] in (b"[", b"{"):
        return f"{size} of JSON that ends early: the answer was cut off (a proxy, a timeout or a size limit)"
    start = body[:60].decode("utf-8", "replace").strip()
    if start.startswith("<"):
        return f"HTML instead of JSON ({size}, starts with {start[:40]!r}): the URL reaches something else"
    return f"{size} that are not JSON ({exc.msg} at byte {exc.pos}, starts with {start[:40]!r})"


def describe_client_error(exc: aiohttp.ClientError) -> str:
    """What went wrong talking to a server, in words (aiohttp's own text shows SSLContext reprs)."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"TLS certificate of {exc.host}:{exc.port} not trusted: {exc.certificate_error}"
    if isinstance(exc, aiohttp.ClientConnectorSSLError):
        return f"TLS handshake with {exc.host}:{exc.port} failed: {exc.os_error}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        why = exc.os_error.strerror or str(exc.os_error) or type(exc.os_error).__name__
        return f"cannot connect to {exc.host}:{exc.port}: {why}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection before answering"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return f"the answer was cut off: {exc}"
    if isinstance(exc, aiohttp.InvalidURL):
        return f"invalid URL {exc.url}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


async def read_bounded(resp: aiohttp.ClientResponse, limit: int) -> bytes | None:
    """The whole body, or None as soon as it exceeds ``limit`` bytes (the rest is not read)."""
    if resp.content_length is not None and resp.content_length > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_any():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
