"""What the webhook TLS probe hands to the checks (WH03): handshake results per webhook endpoint."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EndpointResult:
    address: str
    not_after: float | None
    error: str


@dataclass(frozen=True)
class TLSProbe:
    kind: str
    configuration: str
    namespace: str
    service: str
    failure_policy: str
    server_name: str
    endpoints: tuple[EndpointResult, ...]


@dataclass(frozen=True)
class WebhookTLSSnapshot:
    results: tuple[TLSProbe, ...]
