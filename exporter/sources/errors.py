"""The one error type sources raise: a bounded ``reason`` (a metric label) and a human message."""

from __future__ import annotations

REASONS = (
    "timeout",
    "connection",
    "unauthorized",
    "forbidden",
    "not_found",
    "http_error",
    "invalid_response",
    "too_large",
    "config",
    "internal",
)


class SourceError(Exception):
    def __init__(self, reason: str, message: str, status: int | None = None) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown source error reason {reason!r}")
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.status = status  # the HTTP status when the server answered with an error

    def __str__(self) -> str:
        return self.message


def reason_for_status(status: int) -> str:
    if status == 401:
        return "unauthorized"
    if status == 403:
        return "forbidden"
    if status == 404:
        return "not_found"
    return "http_error"
