"""The loop-lag monitor: the overshoot of a fixed sleep, the longest of a recent window."""

from __future__ import annotations

import asyncio
import time

from exporter.loop_lag import LoopLag


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_longest_overshoot_within_the_window():
    clock = Clock()
    lag = LoopLag(interval=0.25, window=60.0, clock=clock)
    assert lag.longest() == 0.0
    lag.record(100.0, 100.25)  # on time
    lag.record(100.25, 101.75)  # 1.25 s late
    lag.record(101.75, 102.1)  # 0.1 s late
    clock.now = 102.1
    assert lag.longest() == 1.25
    clock.now = 161.8  # the 1.25 s stall is older than the window; the 0.1 s one is not
    assert abs(lag.longest() - 0.1) < 1e-9
    clock.now = 200.0
    assert lag.longest() == 0.0


def test_early_wakeups_count_as_no_lag_and_old_entries_are_dropped():
    lag = LoopLag(interval=1.0, window=10.0, clock=Clock())
    lag.record(100.0, 100.5)
    assert lag.longest() == 0.0
    for i in range(100):
        lag.record(100.0 + i, 101.0 + i)
    assert len(lag._lags) <= 11


async def test_a_blocked_loop_is_measured():
    lag = LoopLag(interval=0.05)
    task = asyncio.create_task(lag.run())
    await asyncio.sleep(0.12)
    time.sleep(0.5)  # noqa: ASYNC251 (the point: something holds the loop)
    await asyncio.sleep(0.12)
    task.cancel()
    assert lag.longest() >= 0.4


async def test_the_exporter_serves_its_loop_lag():
    from exporter.app import Exporter
    from tests.unit.helpers import settings

    exporter = Exporter(settings(sources={"kubernetes": {"enabled": False}}, istio={"istiod_urls": []}))
    exporter.start()
    try:
        await asyncio.sleep(0.3)
        time.sleep(0.6)  # noqa: ASYNC251 (the point: something holds the loop)
        await asyncio.sleep(0.3)
        exporter.update()
        body = exporter.rendered.text.decode()
    finally:
        await exporter.stop()
    [line] = [x for x in body.splitlines() if x.startswith("meshhealth_event_loop_lag_seconds ")]
    assert float(line.split()[1]) >= 0.3
