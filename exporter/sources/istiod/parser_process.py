"""Parse istiod's syncz and /metrics in a child process, so that the serving process's GIL stays free and a
parse whose time is up can be stopped.

Decoding istiod's syncz of 20,000 proxies (32 MB) and classifying every proxy costs ~200 ms of CPU per replica
and poll. In a worker thread that is 200 ms of GIL the event loop serving /metrics competes for: with a few
replicas polled often, scrapes wait. Here the body goes to a child process over a pipe, the child decodes and
parses it and sends back the proxies as plain tuples, and ``adopt`` turns them into ProxySync, keeping the
previous poll's objects for unchanged proxies. The tuples come in batches of ``BATCH_ROWS``: unpickling is one C
call that holds the GIL throughout, ~8 ms for 20,000 proxies in one message, ~0.4 ms per batch, and between
batches the loop gets the GIL back.

istiod's /metrics is parsed there too: prometheus_client's text parser is pure Python (a 52 MB body takes ~20 s),
and in a thread nothing could stop it once the replica's time was up. The child sends back only the samples the
checks read.

One body at a time. A parse that is cancelled (the replica's time is up) kills the child: a pathological body
cannot keep a core busy after its poll has given up, and the next parse starts a new child. A child that dies
(out of memory, killed) fails that parse with reason ``internal``; the next parse starts a new one.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import signal
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from exporter.sources.errors import SourceError
from exporter.sources.heap import give_back_memory
from exporter.sources.istiod.metrics import IstiodMetrics, parse_metrics
from exporter.sources.istiod.syncz import PlainProxy, parse_syncz, to_plain

BATCH_ROWS = 1_000


def parse_plain(body: bytes) -> tuple[PlainProxy, ...]:
    """What the child runs; errors are re-raised as small exceptions (a JSONDecodeError or a UnicodeDecodeError
    carries the whole document, which would be pickled back)."""
    try:
        return to_plain(parse_syncz(json.loads(body.decode("utf-8"))))
    except json.JSONDecodeError as exc:
        raise json.JSONDecodeError(exc.msg, "", exc.pos) from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 ({exc.reason} at byte {exc.start})") from None


def _answer(kind: str, body: bytes) -> tuple[tuple[str, Any], tuple[PlainProxy, ...]]:
    """The reply to send first, and the syncz rows to send after it in batches."""
    try:
        if kind == "metrics":
            return ("ok", parse_metrics(body.decode("utf-8", "replace")).samples), ()
        rows = parse_plain(body)
        return ("rows", len(rows)), rows
    except json.JSONDecodeError as exc:
        return ("json", (exc.msg, exc.pos)), ()
    except ValueError as exc:
        return ("value", str(exc)), ()
    except Exception as exc:  # a parser bug: this parse fails, the child goes on
        return ("bug", f"{type(exc).__name__}: {exc}"), ()


def _child(conn: Connection) -> None:
    # Ctrl-C in a terminal reaches the whole process group: the exporter shuts down and closes the pipe
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            kind = conn.recv()
            body = conn.recv_bytes()
        except (EOFError, OSError):  # the exporter is gone
            return
        reply, rows = _answer(kind, body)
        del body
        conn.send(reply)
        for start in range(0, len(rows), BATCH_ROWS):
            conn.send(rows[start : start + BATCH_ROWS])
        del rows, reply
        give_back_memory()  # the freed heap of the parse (glibc keeps it otherwise: ~80 MiB after 32 MB)


def _receive(conn: Connection) -> tuple[str, Any]:
    """The child's answer: an error, a value, or ("rows", rows) with the rows of every batch (one unpickling per
    batch)."""
    kind, value = conn.recv()
    if kind != "rows":
        return kind, value
    rows: list[PlainProxy] = []
    while len(rows) < value:
        rows += conn.recv()
    return kind, tuple(rows)


def _result(answer: str, value: Any) -> Any:
    """The child's answer as the parse in this process gives it: a value, or the same exception."""
    if answer == "json":
        msg, pos = value
        raise json.JSONDecodeError(msg, "", pos)
    if answer == "value":
        raise ValueError(value)
    if answer == "bug":
        raise SourceError("internal", f"the istiod parser failed: {value}")
    return value


def _send(conn: Connection, kind: str, body: bytes) -> None:
    conn.send(kind)
    conn.send_bytes(body)


class ParserProcess:
    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self.started = 0  # children started so far

    def _start(self) -> Connection:
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        process = ctx.Process(target=_child, args=(child,), name="istiod parser", daemon=True)
        process.start()
        child.close()
        self._process, self._conn = process, parent
        self.started += 1
        return parent

    def _stop(self) -> int | None:
        """Kill the child (if any); its exit code."""
        process, conn = self._process, self._conn
        self._process = self._conn = None
        code = None
        if process is not None:  # first the child: a thread blocked reading its answer then gets EOF
            if process.is_alive():
                process.kill()
            process.join(5)
            code = process.exitcode
        if conn is not None:
            conn.close()
        return code

    async def _ask(self, kind: str, body: bytes) -> Any:
        """The child's value for ``body``; raises json.JSONDecodeError or ValueError like the parse in this
        process, SourceError (internal) when the child dies or the parser fails."""
        async with self._lock:
            conn = self._conn if self._process is not None and self._process.is_alive() else None
            if conn is None:
                self._stop()
                conn = await asyncio.to_thread(self._start)
            try:
                await asyncio.to_thread(_send, conn, kind, body)
                answer, value = await asyncio.to_thread(_receive, conn)
            except (EOFError, OSError):
                code = await asyncio.to_thread(self._stop)
                raise SourceError("internal", f"the istiod parser process exited (exit code {code})") from None
            except BaseException:  # cancelled: the replica's time is up; do not leave the child parsing
                await asyncio.shield(asyncio.to_thread(self._stop))
                raise
        return _result(answer, value)

    async def parse_syncz(self, body: bytes) -> tuple[PlainProxy, ...]:
        """The proxies of a syncz body, as plain tuples for ``adopt``."""
        return await self._ask("syncz", body)  # type: ignore[no-any-return]

    async def parse_metrics(self, body: bytes) -> IstiodMetrics:
        """istiod's /metrics as ``parse_metrics`` gives it (ValueError: not Prometheus text)."""
        return IstiodMetrics(await self._ask("metrics", body))

    async def close(self) -> None:
        async with self._lock:
            await asyncio.to_thread(self._stop)
