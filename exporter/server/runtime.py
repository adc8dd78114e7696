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

import contextlib
import ctypes
import gc
import sys

SWITCH_INTERVAL_SECONDS = 0.0002
GC_THRESHOLDS = (10_000, 10, 1_000)
# glibc's mallopt parameters (malloc.h)
M_MMAP_THRESHOLD, M_ARENA_MAX = -3, -8
MMAP_THRESHOLD_BYTES = 1 << 20
ARENA_MAX = 2


def tune_malloc() -> bool:
    """glibc: answers over 1 MiB (bodies, their joined copies) always get their own mapping, returned to the
    system when freed (by default the threshold rises to the largest block freed so far, up to 32 MiB, and later
    blocks of that size stay in the heap); and at most two heaps (by default up to 8 per core, one per worker
    thread that allocates, each keeping its own free memory). False when the C library is not glibc."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(libc.mallopt(M_ARENA_MAX, ARENA_MAX))
    return False


def tune_for_serving() -> None:
    """Call once the app is built and before the sources start."""
    tune_malloc()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
