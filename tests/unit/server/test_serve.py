import asyncio
import gc
import platform
import sys

import pytest

from exporter.server import runtime
from exporter.server.runtime import GC_THRESHOLDS, SWITCH_INTERVAL_SECONDS
from exporter.server.serve import serve
from exporter.server.webconfig import WebConfig
from tests.unit.helpers import settings


async def test_serving_freezes_startup_objects_and_shortens_the_gil_switch_interval(monkeypatch):
    """Workers parse and check while the loop serves /metrics: the loop must get the GIL back quickly, and the
    collector must not rescan the modules and classes, and must rarely rescan the caches, in full collections."""
    disabled = {"enabled": False}
    config = settings(
        listen_address=["127.0.0.1:0"], sources={s: disabled for s in ("kubernetes", "istiod", "elasticsearch")}
    )
    tuned: list[bool] = []
    monkeypatch.setattr(runtime, "tune_malloc", lambda: tuned.append(True) or True)
    before, thresholds = sys.getswitchinterval(), gc.get_threshold()
    stop = asyncio.Event()
    seen: dict[str, float] = {}

    async def look_then_stop() -> None:
        await asyncio.sleep(0.2)
        seen["interval"], seen["frozen"] = sys.getswitchinterval(), gc.get_freeze_count()
        seen["thresholds"] = gc.get_threshold()
        stop.set()

    try:
        await asyncio.gather(serve(config, WebConfig(), stop), look_then_stop())
    finally:
        sys.setswitchinterval(before)
        gc.set_threshold(*thresholds)
        gc.unfreeze()
    assert abs(seen["interval"] - SWITCH_INTERVAL_SECONDS) < 1e-6 and before > SWITCH_INTERVAL_SECONDS
    assert seen["frozen"] > 1000
    assert tuned == [True]
    assert seen["thresholds"] == GC_THRESHOLDS and GC_THRESHOLDS[2] > thresholds[2]


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_glibc_takes_the_malloc_settings():
    assert runtime.tune_malloc() is True
