"""Duration strings: Prometheus (``1h30m``) and Go/protobuf (``1.5s``, ``500ms``) forms."""

from __future__ import annotations

import re

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800,
          "y": 31536000}  # fmt: skip
_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w|y)")


def parse_duration(text: str) -> float | None:
    """Seconds, or None when ``text`` is not a duration."""
    text = text.strip()
    if not text:
        return None
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * _UNITS[u] for n, u in parts)
