"""How late the event loop runs what is due: a task that sleeps a fixed interval and measures the overshoot.

A lag of seconds means something held the loop (a large body parsed on it, a slow check): scrapes of /metrics
wait that long too. The longest lag of a recent window is exported, so a stall between two scrapes shows.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable


class LoopLag:
    def __init__(
        self, interval: float = 0.25, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval = interval
        self.window = window
        self._clock = clock
        self._lags: deque[tuple[float, float]] = deque()  # (when measured, lag) within the window

    def record(self, started: float, ended: float) -> None:
        """One sleep of ``interval`` that began at ``started`` and resumed at ``ended``."""
        self._lags.append((ended, max(0.0, ended - started - self.interval)))
        while self._lags and self._lags[0][0] < ended - self.window:
            self._lags.popleft()

    def longest(self) -> float:
        """The longest lag measured in the last ``window`` seconds (0 before the first measurement)."""
        now = self._clock()
        return max((lag for when, lag in self._lags if when >= now - self.window), default=0.0)

    async def run(self) -> None:
        while True:
            started = self._clock()
            await asyncio.sleep(self.interval)
            self.record(started, self._clock())
