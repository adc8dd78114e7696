"""Refresh each source on its own interval, with a timeout, jitter and exponential backoff.

One source failing or hanging never delays another: each has its own task, and a refresh that
exceeds its timeout is cancelled and counted as ``reason="timeout"``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from exporter.config import SourceSettings
from exporter.model import SourceView
from exporter.sources.errors import SourceError

log = logging.getLogger(__name__)


class Source(Protocol):
    name: str
    instance: str

    async def refresh(self) -> Any: ...

    async def close(self) -> None: ...


@dataclass
class SourceState:
    source: Source
    settings: SourceSettings
    attempted: bool = False
    up: bool = False
    data: Any = None
    last_success: float | None = None
    duration: float | None = None
    failures: int = 0
    error: SourceError | None = None
    errors: Counter[str] = field(default_factory=Counter)
    after: SourceState | None = None  # refresh only once this source has made its first attempt
    first_attempt: asyncio.Event = field(default_factory=asyncio.Event)

    def fresh_data(self, now: float) -> Any | None:
        """The last good data, unless it is older than the source's stale_after."""
        if self.last_success is None or now - self.last_success > self.settings.stale_after():
            return None
        return self.data

    def view(self) -> SourceView:
        return SourceView(
            name=self.source.name,
            instance=self.source.instance,
            up=self.up,
            attempted=self.attempted,
            last_success=self.last_success,
            duration=self.duration,
            errors=dict(self.errors),
            error_reason=self.error.reason if self.error else "",
            error=self.error.message if self.error else "",
            resources=tuple(stats()) if callable(stats := getattr(self.source, "resource_stats", None)) else (),
        )


async def refresh_once(state: SourceState, clock: Callable[[], float] = time.time) -> None:
    """Refresh one source and record the outcome in ``state``; never raises (except cancellation)."""
    timeout = state.settings.timeout_seconds
    started = time.monotonic()
    error: SourceError | None = None
    try:
        data = await asyncio.wait_for(state.source.refresh(), timeout)
    except TimeoutError:
        error = SourceError("timeout", f"refresh took longer than {timeout:g}s")
    except SourceError as exc:
        error = exc
    except Exception as exc:
        log.exception("source %s: unexpected error", state.source.name)
        error = SourceError("internal", f"{type(exc).__name__}: {exc}")
    state.duration = time.monotonic() - started
    state.attempted = True
    state.first_attempt.set()
    if error is None:
        state.up, state.data, state.error, state.failures = True, data, None, 0
        state.last_success = clock()
        return
    state.up, state.error = False, error
    state.failures += 1
    state.errors[error.reason] += 1
    log.warning("source %s %s: %s (%s)", state.source.name, state.source.instance, error.message, error.reason)


def next_delay(settings: SourceSettings, failures: int, rng: random.Random) -> float:
    """The interval when healthy; after failures, interval × 2^(failures-1), capped; both jittered."""
    base = settings.interval_seconds
    if failures:
        base = min(base * 2 ** (failures - 1), max(settings.max_backoff_seconds, base))
    return base * rng.uniform(1 - settings.jitter, 1 + settings.jitter)


class Scheduler:
    def __init__(self, states: Sequence[SourceState], on_update: Callable[[], None]) -> None:
        self.states = list(states)
        self._on_update = on_update
        self._tasks: list[asyncio.Task[None]] = []
        self._rng = random.Random()  # noqa: S311 (jitter, not security)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._loop(s), name=f"refresh {s.source.name}") for s in self.states]

    async def _loop(self, state: SourceState) -> None:
        if state.after is not None:
            await state.after.first_attempt.wait()
        while True:
            await refresh_once(state)
            self._on_update()
            await asyncio.sleep(next_delay(state.settings, state.failures, self._rng))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await asyncio.gather(*(s.source.close() for s in self.states), return_exceptions=True)
