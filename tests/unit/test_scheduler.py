import asyncio
import random

import pytest

from exporter.config import SourceSettings
from exporter.scheduler import Scheduler, SourceState, next_delay, refresh_once
from exporter.sources.errors import SourceError


class ScriptedSource:
    """Returns or raises the next item of its script on each refresh; 'hang' never returns."""

    def __init__(self, name, script):
        self.name = name
        self.instance = f"{name}:1"
        self.script = list(script)
        self.calls = 0
        self.closed = False

    async def refresh(self):
        self.calls += 1
        item = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if item == "hang":
            await asyncio.Event().wait()
        if isinstance(item, BaseException):
            raise item
        return item

    async def close(self):
        self.closed = True


def state(source, **kw):
    params = dict(interval_seconds=0.01, timeout_seconds=0.05, jitter=0, max_backoff_seconds=0.02)
    params.update(kw)
    return SourceState(source, SourceSettings(**params))


async def test_success_records_data_and_time():
    s = state(ScriptedSource("a", [{"x": 1}]))
    await refresh_once(s, clock=lambda: 123.0)
    assert (s.up, s.data, s.last_success, s.attempted, s.failures) == (True, {"x": 1}, 123.0, True, 0)


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        (SourceError("forbidden", "GET /api: HTTP 403"), "forbidden"),
        ("hang", "timeout"),
        (ValueError("garbage"), "internal"),
    ],
)
async def test_failures_are_counted_by_reason_and_keep_last_data(item, reason):
    s = state(ScriptedSource("a", [{"x": 1}, item]))
    await refresh_once(s, clock=lambda: 100.0)
    await refresh_once(s, clock=lambda: 200.0)
    assert not s.up
    assert s.error is not None and s.error.reason == reason
    assert s.errors == {reason: 1}
    assert s.data == {"x": 1} and s.last_success == 100.0
    assert s.view().error_reason == reason


def test_stale_data_is_withdrawn():
    s = state(ScriptedSource("a", [1]), interval_seconds=10)
    s.data, s.last_success = {"x": 1}, 1000.0
    assert s.fresh_data(1000.0 + 50) == {"x": 1}
    assert s.fresh_data(1000.0 + 51) is None  # 5 intervals


def test_backoff_grows_and_is_capped_and_jittered():
    settings = SourceSettings(interval_seconds=30, max_backoff_seconds=300, jitter=0)
    rng = random.Random(1)
    assert [next_delay(settings, n, rng) for n in range(7)] == [30, 30, 60, 120, 240, 300, 300]
    jittered = SourceSettings(interval_seconds=30, jitter=0.1)
    delays = {next_delay(jittered, 0, rng) for _ in range(50)}
    assert len(delays) > 40 and all(27 <= d <= 33 for d in delays)


async def test_a_hanging_source_does_not_delay_another():
    slow = ScriptedSource("slow", ["hang"])
    fast = ScriptedSource("fast", [{"ok": True}])
    updates = []
    scheduler = Scheduler([state(slow, timeout_seconds=5), state(fast)], lambda: updates.append(1))
    scheduler.start()
    for _ in range(200):
        await asyncio.sleep(0.01)
        if fast.calls >= 5:
            break
    await scheduler.stop()
    assert fast.calls >= 5 and slow.calls == 1
    assert slow.closed and fast.closed
    assert len(updates) >= 5


async def test_dependent_source_waits_for_the_first_attempt_of_its_dependency():
    order = []

    class Recording(ScriptedSource):
        async def refresh(self):
            order.append(self.name)
            if self.name == "kube":
                await asyncio.sleep(0.1)
            return await super().refresh()

    kube = state(Recording("kube", [{"ok": 1}]))
    tls = state(Recording("tls", [{"ok": 1}]))
    tls.after = kube
    scheduler = Scheduler([tls, kube], lambda: None)
    scheduler.start()
    for _ in range(100):
        await asyncio.sleep(0.01)
        if tls.attempted:
            break
    await scheduler.stop()
    assert order[:2] == ["kube", "tls"] and kube.attempted
