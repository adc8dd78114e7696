"""Interpreter settings for a long-running exporter whose worker threads parse and check while the loop serves.

- GIL switch interval: a thread that wants the GIL waits up to this long for the holder to let go, and the loop
  wants it back after every socket call. At the default 5 ms a scrape during a refresh waits tens of ms; at
  0.2 ms /metrics p99 during refreshes of 2 x 20,000 proxies drops ~3x (bench/REPORT.md).
- Garbage collector: a full collection scans every tracked object and holds the GIL, so the loop, for its whole
  length: ~200 ms with 50,000 pods and 20,000 proxies cached. The caches are long-lived and hold no cycles, so
  full collections are made rare (the third threshold: one per 1,000 middle-generation collections instead of
  10) and the objects made at startup (modules, classes, the app) are frozen out of every scan. Young
  collections stay frequent and short; cyclic garbage that reaches the old generation waits longer to be freed.
"""

from __future__ import annotations

import gc
import sys

SWITCH_INTERVAL_SECONDS = 0.0002
GC_THRESHOLDS = (10_000, 10, 1_000)


def tune_for_serving() -> None:
    """Call once the app is built and before the sources start."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
