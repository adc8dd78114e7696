"""Timestamps as the Kubernetes API and istiod write them (RFC 3339), as Unix seconds."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def parse_time(value: Any) -> float | None:
    """RFC 3339 timestamp as Unix seconds, or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
