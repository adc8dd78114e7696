"""Pause the cyclic garbage collector while a large document is decoded.

Decoding istiod's syncz of 20,000 proxies allocates some 300,000 dicts and lists that stay referenced until the
parse ends, so the collector runs over and over on objects it cannot free, and every few parses a full
collection (60-80 ms at that size) holds the GIL: the event loop serving /metrics waits for it. Decoded JSON holds
no reference cycles, so reference counting frees it all once the parse is done; the collector is off only for the
parse. Parses in several threads share one pause: the collector is back on when the last one ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
