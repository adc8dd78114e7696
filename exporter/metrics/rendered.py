"""A rendered /metrics body in both exposition formats: what the serving process holds and serves.

Kept apart from the renderer so that the serving process imports neither the checks nor the catalogue."""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field

from prometheus_client.openmetrics import exposition as om_exposition

# The classic text format every Prometheus version parses (our names need no UTF-8 escaping).
TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OPENMETRICS_CONTENT_TYPE = om_exposition.CONTENT_TYPE_LATEST


@dataclass
class RenderedMetrics:
    """Both exposition formats, encoded once; gzip variants are made on first request and kept."""

    text: bytes
    openmetrics: bytes
    _gzipped: dict[str, bytes] = field(default_factory=dict)

    def body(self, openmetrics: bool, gzipped: bool) -> bytes:
        key = ("om" if openmetrics else "text") + ("+gz" if gzipped else "")
        plain = self.openmetrics if openmetrics else self.text
        if not gzipped:
            return plain
        cached = self._gzipped.get(key)
        if cached is None:
            cached = self._gzipped[key] = gzip.compress(plain, compresslevel=6)
        return cached
