"""Bounded HTTP reads shared by the sources."""

from __future__ import annotations

import asyncio
import json

import aiohttp

from exporter.sources.heap import give_back_memory

# Joining the chunks of a body this large copies megabytes: CPython's bytes.join lets go of the GIL while it copies
# more than 1 MiB, so in a worker thread the loop keeps serving (a 32 MB syncz took 10-30 ms to join on the loop).
JOIN_OFF_LOOP_BYTES = 1 << 20


def join_chunks(chunks: list[bytes]) -> bytes:
    return b"".join(chunks)


def join_and_give_back(chunks: list[bytes]) -> bytes:
    """The body of a large answer; its chunks are freed and their pages handed back (see ``heap``)."""
    body = join_chunks(chunks)
    chunks.clear()
    give_back_memory()
    return body


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


class BudgetExhausted(Exception):
    """The answers a source holds at once would exceed its memory budget."""

    def __init__(self, budget: MemoryBudget) -> None:
        super().__init__(
            f"the {budget.name} source's memory budget ({budget.limit:,} bytes for all answers in flight, "
            f"{budget.setting}) is used up"
        )


class MemoryBudget:
    """Bytes of answers one source holds at once, across every request it has in flight: one budget per source,
    not one limit per response, so concurrent large answers cannot multiply the memory the exporter takes."""

    def __init__(self, name: str, limit: int, setting: str) -> None:
        self.name = name
        self.limit = limit
        self.setting = setting
        self.held = 0
        self.peak = 0

    def reserve(self) -> Reservation:
        return Reservation(self)

    def _take(self, size: int) -> None:
        if self.held + size > self.limit:
            raise BudgetExhausted(self)
        self.held += size
        self.peak = max(self.peak, self.held)

    def _give(self, size: int) -> None:
        self.held -= size


class Reservation:
    """What one answer holds of its source's budget; given back as a whole when the ``with`` block ends."""

    def __init__(self, budget: MemoryBudget) -> None:
        self.budget = budget
        self.size = 0

    def take(self, size: int) -> None:
        self.budget._take(size)
        self.size += size

    def give(self, size: int) -> None:
        size = min(size, self.size)
        self.budget._give(size)
        self.size -= size

    def __enter__(self) -> Reservation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.give(self.size)


async def read_bounded(resp: aiohttp.ClientResponse, limit: int, held: Reservation | None = None) -> bytes | None:
    """The whole body, or None as soon as it exceeds ``limit`` bytes (the rest is not read). With ``held``, every
    chunk is taken from the source's budget first (BudgetExhausted when it is used up)."""
    if resp.content_length is not None and resp.content_length > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    body: bytes | None = None
    try:
        async for chunk in resp.content.iter_any():
            size += len(chunk)
            if size > limit:
                return None
            if held is not None:
                held.take(len(chunk))
            chunks.append(chunk)
        if held is not None:
            held.take(size)  # the joined copy, while the chunks still exist
        if size < JOIN_OFF_LOOP_BYTES:
            body = join_chunks(chunks)
        else:
            body = await asyncio.to_thread(join_and_give_back, chunks)
        if held is not None:
            held.give(size)
        return body
    finally:
        if body is None and size >= JOIN_OFF_LOOP_BYTES:  # too large, over budget, timed out, cancelled, cut off
            chunks.clear()
            # not awaited: this may run while the task is being cancelled
            asyncio.get_running_loop().run_in_executor(None, give_back_memory)
