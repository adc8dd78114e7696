"""TLS handshakes with the endpoints behind Istio's webhooks, as the API server would make them.

The targets come from the Kubernetes cache (webhook configurations, Services, EndpointSlices); each
handshake verifies the serving certificate against the webhook's ``caBundle`` for the name
``<service>.<namespace>.svc``. No admission request is sent.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from exporter.config import Settings
from exporter.sources.errors import SourceError
from exporter.sources.webhook_tls_snapshot import EndpointResult, TLSProbe, WebhookTLSSnapshot

HANDSHAKE_TIMEOUT = 5.0
MAX_CONCURRENT = 10


@dataclass(frozen=True)
class TLSTarget:
    kind: str
    configuration: str
    namespace: str
    service: str
    failure_policy: str
    ca_bundle: str
    addresses: tuple[tuple[str, int], ...]


def tls_targets(snapshot: Any, settings: Settings) -> list[TLSTarget]:
    """Pure: which endpoints to probe for each Istio webhook Service (bounded per Service)."""
    pattern = re.compile(settings.istio.webhook_name_pattern)
    services = {(s.namespace, s.name): s for s in snapshot.get("services")}
    slices: dict[tuple[str, str], list[Any]] = {}
    for es in snapshot.get("endpointslices"):
        slices.setdefault((es.namespace, es.service), []).append(es)
    limit = settings.checks.WH03.max_endpoints_per_service
    seen: dict[tuple[str, str, str, str], TLSTarget] = {}
    for key in ("validating_webhooks", "mutating_webhooks"):
        for config in snapshot.get(key):
            for hook in config:
                if not hook.service_name or not (pattern.search(hook.configuration) or pattern.search(hook.name)):
                    continue
                target_key = (hook.kind, hook.configuration, hook.service_namespace, hook.service_name)
                service = services.get((hook.service_namespace, hook.service_name))
                if target_key in seen or service is None:
                    continue
                port = next((p for p in service.ports if p.port == hook.service_port), None)
                if port is None:
                    continue
                addresses: list[tuple[str, int]] = []
                for es in slices.get((hook.service_namespace, hook.service_name), []):
                    number = next((n for name, n in es.ports if name == port.name), None)
                    if number is None and port.target_port.isdigit():
                        number = int(port.target_port)
                    if number:
                        addresses += [(a, number) for a in es.ready_addresses]
                seen[target_key] = TLSTarget(
                    hook.kind,
                    hook.configuration,
                    hook.service_namespace,
                    hook.service_name,
                    hook.failure_policy,
                    hook.ca_bundle,
                    tuple(sorted(addresses)[:limit]),
                )
    return [t for t in seen.values() if t.addresses]


def _context(ca_bundle: str) -> ssl.SSLContext:
    if not ca_bundle:
        return ssl.create_default_context()  # the API server falls back to system roots too
    try:
        pem = base64.b64decode(ca_bundle, validate=True).decode()
        return ssl.create_default_context(cadata=pem)
    except (binascii.Error, UnicodeDecodeError, ssl.SSLError, ValueError) as exc:
        raise ValueError(f"caBundle is not a valid base64 PEM certificate bundle: {exc}") from None


def _not_after(cert: dict[str, Any] | None) -> float | None:
    text = (cert or {}).get("notAfter")
    if not isinstance(text, str):
        return None
    return datetime.strptime(text, "%b %d %H:%M:%S %Y %Z").replace(tzinfo=UTC).timestamp()


async def handshake(host: str, port: int, server_name: str, ca_bundle: str) -> EndpointResult:
    address = f"{host}:{port}"
    try:
        context = _context(ca_bundle)
    except ValueError as exc:
        return EndpointResult(address, None, str(exc))
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=context, server_hostname=server_name), HANDSHAKE_TIMEOUT
        )
    except ssl.SSLCertVerificationError as exc:
        return EndpointResult(address, None, f"certificate rejected: {exc.verify_message or exc.reason}")
    except TimeoutError:
        return EndpointResult(address, None, f"no TLS handshake within {HANDSHAKE_TIMEOUT:g}s")
    except (ssl.SSLError, OSError) as exc:
        return EndpointResult(address, None, f"cannot connect: {exc.strerror or exc}")
    try:
        cert = writer.get_extra_info("peercert")
        return EndpointResult(address, _not_after(cert), "")
    finally:
        writer.close()
        with contextlib.suppress(TimeoutError, OSError, ssl.SSLError):
            await asyncio.wait_for(writer.wait_closed(), 1.0)


class WebhookTLSSource:
    name = "webhook_tls"

    def __init__(self, settings: Settings, kube_data: Callable[[], Any | None]) -> None:
        self._settings = settings
        self._kube_data = kube_data
        self.instance = "kubernetes"

    async def refresh(self) -> WebhookTLSSnapshot:
        snapshot = self._kube_data()
        if snapshot is None:
            raise SourceError("not_found", "no fresh Kubernetes data to find webhook endpoints in")
        semaphore = asyncio.Semaphore(MAX_CONCURRENT)

        async def probe(target: TLSTarget) -> TLSProbe:
            server_name = f"{target.service}.{target.namespace}.svc"

            async def one(host: str, port: int) -> EndpointResult:
                async with semaphore:
                    return await handshake(host, port, server_name, target.ca_bundle)

            results = await asyncio.gather(*(one(h, p) for h, p in target.addresses))
            return TLSProbe(target.kind, target.configuration, target.namespace, target.service,
                            target.failure_policy, server_name, tuple(results))  # fmt: skip

        probes = await asyncio.gather(*(probe(t) for t in tls_targets(snapshot, self._settings)))
        return WebhookTLSSnapshot(tuple(probes))

    async def close(self) -> None:
        return None
