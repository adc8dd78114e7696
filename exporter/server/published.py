"""What the refresher process sends the serving process after each update."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Published:
    """Both exposition formats of the latest update, and the sources not refreshed once yet."""

    text: bytes
    openmetrics: bytes
    waiting: tuple[str, ...]
