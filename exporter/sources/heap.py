"""Hand the freed part of the C heap back to the system.

A body read in chunks of up to a few hundred KiB is held in the heap until it is joined or refused; freed, those
chunks leave holes that glibc keeps for later (it returns only a free top of the heap). The largest body buffered so
far then stays in the RSS for good: a refused 50 MB istiod answer (limit 16 MiB) left the exporter 40 MiB larger
(bench/SOAK.md, the step after the first round of faults). ``malloc_trim`` gives back every free page, in the
holes too. The call lets go of the GIL (ctypes), so it costs the loop nothing when made from a worker thread.
``read_bounded`` calls it after every body of 1 MiB or more, however the read ends (joined, too large, over the
source's budget, timed out or cancelled).
"""

from __future__ import annotations

import contextlib
import ctypes


def give_back_memory() -> None:
    """Return the heap's free pages to the system (nothing to do when the C library is not glibc)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
