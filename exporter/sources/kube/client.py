"""Raw JSON access to the Kubernetes API through kubernetes_asyncio's configured client."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from kubernetes_asyncio import client as k8s_client
from kubernetes_asyncio import config as k8s_config

from exporter.config import KubernetesSettings
from exporter.sources.errors import SourceError, reason_for_status
from exporter.sources.http import BudgetExhausted, MemoryBudget, describe_client_error, read_bounded

_SA_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


def _status_message(body: bytes, status: int) -> str:
    """The message of a Kubernetes Status object, or a short excerpt of the body."""
    try:
        data = json.loads(body)
        if isinstance(data, dict) and isinstance(data.get("message"), str):
            return f"HTTP {status}: {data['message']}"
    except ValueError:
        pass
    excerpt = body[:200].decode("utf-8", "replace").strip()
    return f"HTTP {status}: {excerpt}" if excerpt else f"HTTP {status}"


def _kubeconfig_path(settings: KubernetesSettings) -> str:
    """The kubeconfig to load: the setting, else the first $KUBECONFIG entry, else ~/.kube/config."""
    path = str(settings.kubeconfig or os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or "~/.kube/config")
    if not Path(path).expanduser().is_file():
        raise SourceError("config", f"kubeconfig {path} does not exist")
    return str(Path(path).expanduser())


class KubeHttp:
    """GET requests returning parsed JSON or streamed lines; every failure is a SourceError."""

    def __init__(self, api: Any, settings: KubernetesSettings) -> None:
        self._api = api
        self._settings = settings
        self.host: str = str(api.configuration.host)
        self.budget = MemoryBudget("kubernetes", settings.memory_budget_bytes, "kubernetes.memory_budget_bytes")

    @classmethod
    async def connect(cls, settings: KubernetesSettings) -> KubeHttp:
        configuration = k8s_client.Configuration()
        mode = settings.mode
        if mode == "auto":
            in_cluster = "KUBERNETES_SERVICE_HOST" in os.environ and _SA_TOKEN.exists()  # noqa: ASYNC240
            mode = "in_cluster" if in_cluster else "kubeconfig"
        try:
            if mode == "in_cluster":
                k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            else:
                path = _kubeconfig_path(settings)
                await k8s_config.load_kube_config(
                    config_file=path,
                    context=settings.context,
                    client_configuration=configuration,
                    persist_config=False,
                )
        except (k8s_config.ConfigException, OSError, ValueError, TypeError) as exc:
            raise SourceError("config", f"cannot load Kubernetes credentials ({mode}): {exc}") from None
        return cls(k8s_client.ApiClient(configuration), settings)

    async def close(self) -> None:
        await self._api.close()

    @asynccontextmanager
    async def _get(
        self, path: str, params: dict[str, str] | None, client_timeout: aiohttp.ClientTimeout
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        try:
            resp = await self._api.call_api(
                path,
                "GET",
                query_params=list((params or {}).items()),
                header_params={"Accept": "application/json"},
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=client_timeout,
            )
        except TimeoutError:
            raise SourceError("timeout", f"GET {path}: no answer in time") from None
        except aiohttp.ClientError as exc:
            raise SourceError("connection", f"GET {self.host}{path}: {describe_client_error(exc)}") from None
        try:
            if resp.status >= 400:
                body = await resp.content.read(4096)
                raise SourceError(
                    reason_for_status(resp.status), f"GET {path}: {_status_message(body, resp.status)}", resp.status
                )
            yield resp
        finally:
            resp.release()

    async def get_json(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        limit = self._settings.max_response_bytes
        timeout = aiohttp.ClientTimeout(total=self._settings.request_timeout_seconds)
        with self.budget.reserve() as held:  # the body is given back once parsed
            try:
                async with self._get(path, params, timeout) as resp:
                    body = await read_bounded(resp, limit, held)
            except TimeoutError:
                raise SourceError("timeout", f"GET {path}: no complete answer in time") from None
            except aiohttp.ClientError as exc:
                raise SourceError("connection", f"GET {path}: {describe_client_error(exc)}") from None
            except BudgetExhausted as exc:
                raise SourceError("too_large", f"GET {path}: {exc}") from None
            if body is None:
                raise SourceError("too_large", f"GET {path}: answer larger than {limit} bytes")
            try:
                data = json.loads(body)
            except ValueError:
                raise SourceError("invalid_response", f"GET {path}: answer is not JSON") from None
            del body
        if not isinstance(data, dict):
            raise SourceError("invalid_response", f"GET {path}: answer is not a JSON object")
        return data

    async def stream_json_lines(self, path: str, params: dict[str, str]) -> AsyncIterator[dict[str, Any]]:
        """Yield the JSON objects of a watch stream, one per line, until the server closes it."""
        limit = self._settings.max_response_bytes
        read_timeout = float(params.get("timeoutSeconds", 300)) + 30
        timeout = aiohttp.ClientTimeout(
            total=None, connect=self._settings.request_timeout_seconds, sock_read=read_timeout
        )
        try:
            with self.budget.reserve() as held:
                async with self._get(path, params, timeout) as resp:
                    # a bytearray grows in place and each byte is searched once: linear in the event size
                    buffer = bytearray()
                    scanned = 0
                    async for chunk in resp.content.iter_any():
                        held.take(len(chunk))
                        buffer += chunk
                        start = 0
                        while (newline := buffer.find(b"\n", scanned)) >= 0:
                            line = buffer[start:newline]
                            start = scanned = newline + 1
                            if line.strip():
                                yield _parse_event(path, line)
                        if start:
                            del buffer[:start]
                            held.give(start)
                        scanned = len(buffer)
                        if len(buffer) > limit:
                            raise SourceError("too_large", f"watch {path}: event larger than {limit} bytes")
                    if bytes(buffer).strip():
                        yield _parse_event(path, bytes(buffer))
        except BudgetExhausted as exc:
            raise SourceError("too_large", f"watch {path}: {exc}") from None
        except TimeoutError:
            raise SourceError("timeout", f"watch {path}: no data in {read_timeout:.0f}s") from None
        except aiohttp.ClientError as exc:
            raise SourceError("connection", f"watch {path}: {describe_client_error(exc)}") from None


def _parse_event(path: str, line: bytes | bytearray) -> dict[str, Any]:
    try:
        event = json.loads(line)
    except ValueError:
        raise SourceError("invalid_response", f"watch {path}: event is not JSON") from None
    if not isinstance(event, dict):
        raise SourceError("invalid_response", f"watch {path}: event is not a JSON object")
    return event
