"""Istio's mesh configuration (ConfigMap ``istio`` or ``istio-<revision>``, key ``mesh``), parsed with its defaults.

Only the fields the configuration checks read. An unparsable document is kept with its error, so checks can
say why they could not judge it rather than judge Istio's defaults.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import yaml

from exporter.sources.kube.projections import ConfigMapInfo


@dataclass(frozen=True)
class ExtensionProvider:
    name: str
    kind: str  # zipkin, opentelemetry, skywalking, datadog, lightstep, envoyOtelAls, ...
    service: str
    port: int


@dataclass(frozen=True)
class MeshConfig:
    namespace: str  # where the ConfigMap lives (istiod's namespace)
    configmap: str
    revision: str
    error: str = ""  # why the document could not be read; the other fields are then defaults
    root_namespace: str = ""
    enable_auto_mtls: bool = True
    discovery_address: str = ""  # "" when not set: istiod.<namespace>.svc:15012
    zipkin_address: str = ""
    sampling: float | None = None  # defaultConfig.tracing.sampling; None when not set (Istio's default is 1 %)
    proxy_metadata: tuple[tuple[str, str], ...] = ()
    extension_providers: tuple[ExtensionProvider, ...] = ()
    default_export_to: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())

    def metadata(self, key: str) -> str | None:
        return dict(self.proxy_metadata).get(key)

    @property
    def effective_discovery_address(self) -> str:
        if self.discovery_address:
            return self.discovery_address
        service = "istiod" if self.revision == "default" else f"istiod-{self.revision}"
        return f"{service}.{self.namespace}.svc:15012"

    def export_to(self, kind: str) -> tuple[str, ...]:
        """Mesh-wide default ``exportTo`` of ``kind`` (Service, VirtualService, DestinationRule): ``*`` unless set."""
        return dict(self.default_export_to).get(kind) or ("*",)


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    """A scalar as YAML wrote it (``15012`` or ``true`` become text); mappings and lists are not text."""
    if value is None or isinstance(value, dict | list):
        return ""
    return str(value)


def _port(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def revision_of(configmap: str) -> str | None:
    """``istio`` is the default revision's mesh config, ``istio-<rev>`` a revision's; other names are not."""
    if configmap == "istio":
        return "default"
    if configmap.startswith("istio-") and not configmap.startswith(("istio-sidecar-injector", "istio-ca-root-cert")):
        return configmap.removeprefix("istio-")
    return None


@lru_cache(maxsize=64)
def parse_mesh_config(namespace: str, configmap: str, revision: str, text: str) -> MeshConfig:
    base = MeshConfig(namespace=namespace, configmap=configmap, revision=revision, root_namespace=namespace)
    try:
        doc = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        return MeshConfig(namespace, configmap, revision, error=f"mesh config is not YAML: {exc}".splitlines()[0])
    if not isinstance(doc, dict):
        return MeshConfig(namespace, configmap, revision, error="mesh config is not a YAML mapping")
    default_config = _d(doc.get("defaultConfig"))
    tracing = _d(default_config.get("tracing"))
    sampling = tracing.get("sampling")
    providers = []
    listed = doc.get("extensionProviders")
    for provider in (_d(p) for p in (listed if isinstance(listed, list) else [])):
        name = provider.get("name")
        for kind, body in provider.items():
            if kind != "name" and isinstance(body, dict) and isinstance(body.get("service"), str):
                providers.append(ExtensionProvider(str(name or ""), kind, body["service"], _port(body.get("port"))))
    metadata = _d(default_config.get("proxyMetadata"))
    exports = []
    for kind in ("Service", "VirtualService", "DestinationRule"):
        value = doc.get(f"default{kind}ExportTo")
        if isinstance(value, list) and value:
            exports.append((kind, tuple(str(v) for v in value)))
    auto = doc.get("enableAutoMtls")
    return MeshConfig(
        namespace=namespace,
        configmap=configmap,
        revision=revision,
        root_namespace=_text(doc.get("rootNamespace")) or base.root_namespace,
        enable_auto_mtls=auto if isinstance(auto, bool) else True,
        discovery_address=_text(default_config.get("discoveryAddress")),
        zipkin_address=_text(_d(tracing.get("zipkin")).get("address")),
        sampling=float(sampling) if isinstance(sampling, int | float) and not isinstance(sampling, bool) else None,
        proxy_metadata=tuple(sorted((str(k), str(v)) for k, v in metadata.items())),
        extension_providers=tuple(providers),
        default_export_to=tuple(exports),
    )


def mesh_configs(configmaps: Iterable[ConfigMapInfo]) -> list[MeshConfig]:
    """The mesh config of every revision found in ``configmaps`` (those with a ``mesh`` key), sorted."""
    out = []
    for cm in configmaps:
        revision = revision_of(cm.name)
        text = cm.get("mesh")
        if revision is not None and text is not None:
            out.append(parse_mesh_config(cm.namespace, cm.name, revision, text))
    return sorted(out, key=lambda m: (m.namespace, m.configmap))


@dataclass(frozen=True)
class Address:
    host: str
    port: int


def parse_address(value: str) -> Address | None:
    """``host:port`` with a DNS name or IP host; None when it is not one."""
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536 or not host:
        return None
    if any(c in host for c in "/ @?#") or host.startswith(".") or host.endswith(".") or ".." in host:
        return None
    return Address(host, int(port))


TRACING_PROVIDERS = frozenset({"zipkin", "opentelemetry", "skywalking", "datadog", "lightstep", "stackdriver"})


def tracing_addresses(mesh: MeshConfig) -> list[tuple[str, str]]:
    """(field, host:port) of every tracing backend the mesh config names."""
    out = []
    if mesh.zipkin_address:
        out.append(("defaultConfig.tracing.zipkin.address", mesh.zipkin_address))
    for i, provider in enumerate(mesh.extension_providers):
        if provider.kind in TRACING_PROVIDERS:
            host = provider.service.split("/", 1)[-1] or provider.service  # "namespace/host" form
            out.append((f"extensionProviders[{provider.name or i}].{provider.kind}", f"{host}:{provider.port}"))
    return out
