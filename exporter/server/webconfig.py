"""TLS and basic auth from a Prometheus exporter-toolkit web config file (``--web.config.file``).

Supported keys: ``tls_server_config`` (cert_file, key_file, client_auth_type, client_ca_file,
min_version, max_version), ``http_server_config.headers`` and ``basic_auth_users`` (bcrypt hashes).
Unknown keys are rejected rather than silently ignored.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import ssl
from pathlib import Path
from typing import Literal

import bcrypt
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from exporter.config import ConfigError, format_validation_error, read_config_file

ClientAuth = Literal[
    "NoClientCert",
    "RequestClientCert",
    "RequireAnyClientCert",
    "VerifyClientCertIfGiven",
    "RequireAndVerifyClientCert",
]
TLSVersion = Literal["TLS10", "TLS11", "TLS12", "TLS13"]
_VERSIONS = {
    "TLS10": ssl.TLSVersion.TLSv1,
    "TLS11": ssl.TLSVersion.TLSv1_1,
    "TLS12": ssl.TLSVersion.TLSv1_2,
    "TLS13": ssl.TLSVersion.TLSv1_3,
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TLSServerConfig(_Strict):
    cert_file: Path
    key_file: Path
    client_auth_type: ClientAuth = "NoClientCert"
    client_ca_file: Path | None = None
    min_version: TLSVersion = "TLS12"
    max_version: TLSVersion = "TLS13"


class HTTPServerConfig(_Strict):
    headers: dict[str, str] = Field(default_factory=dict)
    http2: bool = True  # accepted for compatibility; aiohttp serves HTTP/1.1


class WebConfig(_Strict):
    tls_server_config: TLSServerConfig | None = None
    http_server_config: HTTPServerConfig = Field(default_factory=HTTPServerConfig)
    basic_auth_users: dict[str, str] = Field(default_factory=dict)

    def ssl_context(self) -> ssl.SSLContext | None:
        tls = self.tls_server_config
        if tls is None:
            return None
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = _VERSIONS[tls.min_version]
        ctx.maximum_version = _VERSIONS[tls.max_version]
        try:
            ctx.load_cert_chain(tls.cert_file, tls.key_file)
            if tls.client_ca_file:
                ctx.load_verify_locations(tls.client_ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(f"web config tls_server_config: {exc}") from None
        needs_ca = tls.client_auth_type in ("VerifyClientCertIfGiven", "RequireAndVerifyClientCert")
        if needs_ca and tls.client_ca_file is None:
            raise ConfigError(f"web config: client_auth_type {tls.client_auth_type} needs client_ca_file")
        if tls.client_auth_type == "RequireAndVerifyClientCert":
            ctx.verify_mode = ssl.CERT_REQUIRED
        elif tls.client_auth_type != "NoClientCert":
            if tls.client_auth_type in ("RequestClientCert", "RequireAnyClientCert"):
                raise ConfigError(
                    f"web config: client_auth_type {tls.client_auth_type} (unverified client certificates) "
                    "is not supported; use VerifyClientCertIfGiven or RequireAndVerifyClientCert"
                )
            ctx.verify_mode = ssl.CERT_OPTIONAL
        return ctx


def load_web_config(path: Path | None) -> WebConfig:
    if path is None:
        return WebConfig()
    data = read_config_file(path)
    try:
        config = WebConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"web config {path}: " + format_validation_error(exc)) from None
    for user, hashed in config.basic_auth_users.items():
        if not hashed.startswith(("$2a$", "$2b$", "$2y$")):
            raise ConfigError(f"web config {path}: basic_auth_users.{user}: not a bcrypt hash")
    config.ssl_context()  # fail at start-up, not on the first connection
    return config


class BasicAuth:
    """Checks Authorization headers against bcrypt hashes, remembering recent successes (bcrypt is slow)."""

    def __init__(self, users: dict[str, str]) -> None:
        self._users = {u: h.encode() for u, h in users.items()}
        self._ok: set[bytes] = set()
        # an unknown user is checked against a hash of the same cost, so timing does not tell users apart
        cost = next((h[4:6] for h in self._users.values() if h[:4] in (b"$2a$", b"$2b$", b"$2y$")), b"10")
        self._decoy = bcrypt.hashpw(b"decoy", bcrypt.gensalt(rounds=int(cost))) if self._users else b""

    @property
    def enabled(self) -> bool:
        return bool(self._users)

    async def check(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        hashed = self._users.get(user)
        if hashed is None:
            await asyncio.to_thread(bcrypt.checkpw, password.encode(), self._decoy)
            return False
        token = hashlib.sha256(user.encode() + b"\0" + password.encode() + b"\0" + hashed).digest()
        if any(hmac.compare_digest(token, ok) for ok in self._ok):
            return True
        if not await asyncio.to_thread(bcrypt.checkpw, password.encode(), hashed):
            return False
        if len(self._ok) > 64:
            self._ok.clear()
        self._ok.add(token)
        return True
