"""``json.loads`` for large top-level arrays that other threads can interrupt.

``json.loads`` is one C call: it holds the GIL for the whole document (about 55 ms for istiod's syncz of 20,000
proxies), so a parse in a worker thread still stalls the event loop that serves /metrics. Here a top-level
array is decoded one element per ``raw_decode`` call: the interpreter may switch threads between elements, so
the loop waits at most one switch interval (5 ms). Anything that is not an array is decoded in one call.
The result, and whether a document is rejected, are those of ``json.loads``.
"""

from __future__ import annotations

import json
import re
from typing import Any

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def loads_interruptible(body: bytes | str) -> Any:
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    i = _WS.match(text, 0).end()  # type: ignore[union-attr]
    if not text.startswith("[", i):
        return json.loads(text)
    out: list[Any] = []
    i = _WS.match(text, i + 1).end()  # type: ignore[union-attr]
    if text.startswith("]", i):
        i += 1
    else:
        while True:
            value, i = _DECODER.raw_decode(text, i)
            out.append(value)
            i = _WS.match(text, i).end()  # type: ignore[union-attr]
            if text.startswith(",", i):
                i = _WS.match(text, i + 1).end()  # type: ignore[union-attr]
                continue
            if text.startswith("]", i):
                i += 1
                break
            raise json.JSONDecodeError("Expecting ',' delimiter", text, i)
    end = _WS.match(text, i).end()  # type: ignore[union-attr]
    if end != len(text):
        raise json.JSONDecodeError("Extra data", text, end)
    return out
