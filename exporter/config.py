"""Configuration: one YAML file, overridden by MESHHEALTH_* environment variables, overridden by flags.

Precedence (highest first): command-line flags, environment variables, the YAML file, defaults.
Nested environment variables use ``__``: ``MESHHEALTH_SOURCES__KUBERNETES__INTERVAL_SECONDS=60``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

ENV_PREFIX = "MESHHEALTH_"

_DURATION = re.compile(r"^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$")
_LABEL_SELECTOR_TERM = re.compile(r"^!?[A-Za-z0-9_./-]+((=|==|!=)[A-Za-z0-9_.-]*)?$")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the field and the reason."""


def _prometheus_duration(value: str) -> str:
    if not value or not _DURATION.match(value):
        raise ValueError(f"{value!r} is not a Prometheus duration such as 30s, 5m or 1h30m")
    return value


def _label_selector(value: str) -> str:
    terms = [t.strip() for t in value.split(",") if t.strip()]
    for term in terms:
        if not _LABEL_SELECTOR_TERM.match(term):
            raise ValueError(f"{term!r} is not an equality-based label selector term such as app=istiod")
    return ",".join(terms)


Duration = Annotated[str, AfterValidator(_prometheus_duration)]
LabelSelector = Annotated[str, AfterValidator(_label_selector)]
SeverityName = Literal["critical", "warning", "info"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class KubernetesSettings(_Section):
    """How to reach the Kubernetes API."""

    mode: Literal["auto", "in_cluster", "kubeconfig"] = Field(
        "auto", description="auto: in-cluster service account if present, else kubeconfig"
    )
    kubeconfig: Path | None = Field(None, description="kubeconfig path (default: $KUBECONFIG or ~/.kube/config)")
    context: str | None = Field(None, description="kubeconfig context (default: current context)")
    request_timeout_seconds: float = Field(30.0, gt=0, description="timeout of one list request")
    watch_timeout_seconds: int = Field(
        290, gt=0, le=3600, description="server-side timeout of one watch before it is renewed"
    )
    page_size: int = Field(500, gt=0, le=10000, description="objects per list page")
    max_response_bytes: int = Field(256 * 1024 * 1024, gt=0, description="largest list page or watch event accepted")


class SourceSettings(_Section):
    """Refresh schedule of one source."""

    enabled: bool = Field(True, description="probe this source")
    interval_seconds: float = Field(30.0, gt=0, description="time between refreshes")
    timeout_seconds: float = Field(20.0, gt=0, description="a refresh taking longer fails with reason timeout")
    max_backoff_seconds: float = Field(300.0, gt=0, description="longest wait between refreshes after failures")
    jitter: float = Field(0.1, ge=0, le=0.5, description="random spread of the interval (fraction)")
    stale_after_seconds: float | None = Field(
        None,
        gt=0,
        description="after this long without a successful refresh the source's derived metrics are "
        "withdrawn (default: 5 intervals)",
    )

    def stale_after(self) -> float:
        return self.stale_after_seconds or 5 * self.interval_seconds


class SourcesSettings(_Section):
    kubernetes: SourceSettings = Field(default_factory=SourceSettings)


class IstioSettings(_Section):
    """Where the Istio control plane runs."""

    control_plane_namespaces: list[str] = Field(
        default_factory=lambda: ["istio-system"], min_length=1, description="namespaces holding istiod"
    )
    istiod_selector: LabelSelector = Field("app=istiod", description="label selector of istiod Deployments")


class CheckSettings(_Section):
    """Knobs every check has."""

    enabled: bool = Field(True, description="run the check and generate its alert")
    alert_for: Duration | None = Field(None, description="override the alert's `for` duration")
    alert_severity: SeverityName | None = Field(None, description="override the alert's severity")


class CP01Settings(CheckSettings):
    pass


class NS01Settings(CheckSettings):
    terminating_threshold_seconds: float = Field(
        900.0, gt=0, description="a namespace Terminating longer than this is stuck"
    )


class ChecksSettings(_Section):
    """Per failure-mode ID: enable/disable, alert overrides and thresholds."""

    CP01: CP01Settings = Field(default_factory=CP01Settings)
    NS01: NS01Settings = Field(default_factory=NS01Settings)
    MH01: CheckSettings = Field(default_factory=CheckSettings, description="the exporter's own source health")

    def for_id(self, check_id: str) -> CheckSettings:
        value = getattr(self, check_id, None)
        if not isinstance(value, CheckSettings):
            raise KeyError(check_id)
        return value


class FindingsSettings(_Section):
    max_series_per_check: int = Field(
        100, ge=0, description="most meshhealth_finding series per check; the rest are counted as suppressed"
    )


class Settings(BaseSettings):
    """Everything the exporter can be told."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", case_sensitive=False
    )

    listen_address: str = Field("0.0.0.0:9745", description="host:port of the HTTP server")
    web_config_file: Path | None = Field(
        None, description="exporter-toolkit web config file: TLS and basic auth (format below)"
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field("info", description="log level")
    log_format: Literal["text", "json"] = Field("text", description="log line format")
    runbook_base_url: str = Field(
        "https://github.com/mesh-health-exporter/mesh-health-exporter/blob/main/docs/runbooks.md",
        description="runbook_url of alerts and links on the status page point here, with #<id>",
    )
    kubernetes: KubernetesSettings = Field(default_factory=KubernetesSettings)
    sources: SourcesSettings = Field(default_factory=SourcesSettings)
    istio: IstioSettings = Field(default_factory=IstioSettings)
    checks: ChecksSettings = Field(default_factory=ChecksSettings)
    findings: FindingsSettings = Field(default_factory=FindingsSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _FileSource(settings_cls))

    def listen_host_port(self) -> tuple[str, int]:
        host, sep, port = self.listen_address.rpartition(":")
        if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ConfigError(f"listen_address: {self.listen_address!r} is not host:port")
        return host.strip("[]") or "0.0.0.0", int(port)  # noqa: S104


class _FileSource(PydanticBaseSettingsSource):
    """The YAML file's values, below environment variables and flags."""

    data: dict[str, Any] = {}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.data)


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"config file {path}: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"config file {path}{where}: not valid YAML") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: the top level must be a mapping")
    return data


def format_validation_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown option"
        parts.append(f"{loc}: {msg}")
    return "invalid configuration: " + "; ".join(parts)


def load_settings(config_file: Path | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Build the settings; raise ConfigError with a message naming the field and the reason."""
    _FileSource.data = read_config_file(config_file) if config_file else {}
    try:
        settings = Settings(**(overrides or {}))
        settings.listen_host_port()
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from None
    finally:
        _FileSource.data = {}
    return settings
