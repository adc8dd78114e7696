"""Configuration: one YAML file, overridden by MESHHEALTH_* environment variables, overridden by flags.

Precedence (highest first): command-line flags, environment variables, the YAML file, defaults.
Nested environment variables use ``__``: ``MESHHEALTH_SOURCES__KUBERNETES__INTERVAL_SECONDS=60``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

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


def _check_budget(budget: int, largest: int) -> None:
    if budget < largest:
        raise ValueError(f"memory_budget_bytes ({budget}) is below max_response_bytes ({largest}): the largest "
                         "answer could never be read")  # fmt: skip


Duration = Annotated[str, AfterValidator(_prometheus_duration)]
LabelSelector = Annotated[str, AfterValidator(_label_selector)]
SeverityName = Literal["critical", "warning", "info"]
_MATCHER = r'\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(=|!=|=~|!~)\s*"(?:[^"\\]|\\.)*"\s*'
_MATCHERS = re.compile(rf"{_MATCHER}(,{_MATCHER})*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


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
    memory_budget_bytes: int = Field(
        512 * 1024 * 1024,
        gt=0,
        description="answers of every list and watch held at once, together (at least max_response_bytes); past "
        "it a request fails with reason too_large instead of the process growing",
    )

    @model_validator(mode="after")
    def _budget_fits_one_answer(self) -> KubernetesSettings:
        _check_budget(self.memory_budget_bytes, self.max_response_bytes)
        return self


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


class JaegerIndexSettings(_Section):
    """How Jaeger names its indices in this cluster."""

    prefix: str = Field("", description="index prefix without the dash, e.g. logstash (KubeSphere)")
    date_separator: str = Field("-", description="separator inside the date: - gives 2020-12-15, . gives 2020.12.15")
    hourly: bool = Field(False, description="hourly indices (-HH after the date)")
    rollover: bool = Field(False, description="rollover mode: spans go through the alias <prefix>-jaeger-span-write")

    def base(self, family: str) -> str:
        return f"{self.prefix}-jaeger-{family}" if self.prefix else f"jaeger-{family}"


class ElasticsearchClusterSettings(_Section):
    """One Elasticsearch or OpenSearch cluster holding Jaeger's spans."""

    name: str = Field(description="cluster name (metric label)")
    urls: list[str] = Field(min_length=1, description="base URLs, tried in order")
    username: str | None = Field(None, description="basic-auth user")
    password_file: Path | None = Field(None, description="file with the basic-auth password")
    password_env: str | None = Field(None, description="environment variable with the basic-auth password")
    api_key_file: Path | None = Field(None, description="file with an API key (sent as ApiKey)")
    bearer_token_file: Path | None = Field(None, description="file with a bearer token")
    ca_file: Path | None = Field(None, description="CA bundle to verify the cluster's certificate")
    insecure_skip_verify: bool = Field(False, description="do not verify TLS (not recommended)")
    jaeger: JaegerIndexSettings = Field(default_factory=JaegerIndexSettings)


class ElasticsearchSettings(_Section):
    clusters: list[ElasticsearchClusterSettings] = Field(
        default_factory=list, description="clusters to watch; none: the Elasticsearch source is off"
    )
    max_response_bytes: int = Field(64 * 1024 * 1024, gt=0, description="largest answer accepted")
    memory_budget_bytes: int = Field(
        128 * 1024 * 1024,
        gt=0,
        description="answers of every cluster held at once, together (at least max_response_bytes)",
    )

    @model_validator(mode="after")
    def _budget_fits_one_answer(self) -> ElasticsearchSettings:
        _check_budget(self.memory_budget_bytes, self.max_response_bytes)
        return self


class SourcesSettings(_Section):
    kubernetes: SourceSettings = Field(default_factory=SourceSettings)
    istiod: SourceSettings = Field(
        default_factory=SourceSettings, description="syncz, metrics and push status of every istiod replica"
    )
    elasticsearch: SourceSettings = Field(
        default_factory=lambda: SourceSettings(interval_seconds=60, timeout_seconds=30),
        description="health, disk, blocks and Jaeger indices of every configured cluster",
    )
    webhook_tls: SourceSettings = Field(
        default_factory=lambda: SourceSettings(interval_seconds=60, timeout_seconds=20),
        description="TLS handshakes with Istio's webhook endpoints (WH03)",
    )
    proxy_stats: SourceSettings = Field(
        default_factory=lambda: SourceSettings(enabled=False, interval_seconds=60, timeout_seconds=20),
        description="GET a rotating sample of sidecars' :15090/stats/prometheus (TM02; off by default: the "
        "exporter must reach pod IPs)",
    )


class IstioSettings(_Section):
    """Where the Istio control plane runs."""

    control_plane_namespaces: list[str] = Field(
        default_factory=lambda: ["istio-system"], min_length=1, description="namespaces holding istiod"
    )
    istiod_selector: LabelSelector = Field("app=istiod", description="label selector of istiod Deployments and pods")
    monitoring_port: int = Field(15014, gt=0, lt=65536, description="istiod port serving /metrics and /debug")
    istiod_urls: list[str] = Field(
        default_factory=list,
        description="extra istiod base URLs (outside the cluster or through a port-forward), e.g. http://127.0.0.1:15014",
    )
    debug_token_file: Path | None = Field(
        None,
        description="bearer token for istiod's debug endpoints (default: the pod's service-account token if present)",
    )
    max_response_bytes: int = Field(
        128 * 1024 * 1024, gt=0, description="largest syncz/metrics/push_status answer accepted from one replica"
    )
    memory_budget_bytes: int = Field(
        256 * 1024 * 1024,
        gt=0,
        description="answers of every replica held at once, together, until parsed (at least max_response_bytes)",
    )

    parser_processes: int = Field(
        4,
        ge=1,
        le=64,
        description=(
            "`serve` parses each replica's syncz and /metrics in a child process of its own (~35 MiB each when "
            "idle), so a body one replica's parse chokes on never makes another wait; past this many replicas, "
            "replicas share the processes"
        ),
    )

    @model_validator(mode="after")
    def _budget_fits_one_answer(self) -> IstioSettings:
        _check_budget(self.memory_budget_bytes, self.max_response_bytes)
        return self

    stale_confirm_seconds: float = Field(
        5.0,
        gt=0,
        le=300,
        description=(
            "`check` only: istiod before 1.23 reports no send time, so a STALE proxy is confirmed by a second "
            "poll this many seconds later (the same nonce still unacknowledged)"
        ),
    )
    cluster_domain: str = Field(
        "cluster.local",
        min_length=1,
        description="the cluster's DNS domain (Service hosts are <name>.<namespace>.svc.<domain>)",
    )
    cluster_id: str = Field(
        "Kubernetes",
        min_length=1,
        description=(
            "istiod's cluster ID (its CLUSTER_ID, default Kubernetes): the topology.istio.io/cluster label istiod "
            "gives every endpoint, which DestinationRule subsets may select"
        ),
    )
    webhook_name_pattern: str = Field(
        "istio|sidecar-injector",
        description="regular expression; webhook configurations whose name or webhook names match are Istio's",
    )

    @field_validator("webhook_name_pattern")
    @classmethod
    def _valid_regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        return value


class CheckSettings(_Section):
    """Knobs every check has."""

    enabled: bool = Field(True, description="run the check and generate its alert")
    alert_for: Duration | None = Field(
        None, description="override the `for` of the check's alert (checks with one alert; else use `alerts`)"
    )
    alert_severity: SeverityName | None = Field(
        None,
        description="override the severity of the check's alert and its findings (checks with one alert; "
        "else use `alerts`)",
    )


class AlertOverride(_Section):
    """Per alert name: its severity (also the severity of the findings it fires for) and its `for`."""

    enabled: bool = Field(True, description="generate this alert (the check still reports its findings)")
    severity: SeverityName | None = Field(None, description="alert and finding severity")
    for_: Duration | None = Field(None, alias="for", description="the alert's `for` duration")


WorkloadKind = Literal["Deployment", "StatefulSet"]


def _all_workload_kinds() -> list[WorkloadKind]:
    return ["Deployment", "StatefulSet"]


class ComponentSettings(_Section):
    """A workload that must be ready: Deployments/StatefulSets matched by namespace, selector and name prefix."""

    name: str = Field(description="component name (metric label)")
    kinds: list[WorkloadKind] = Field(default_factory=_all_workload_kinds, description="workload kinds to match")
    namespaces: list[str] = Field(default_factory=list, description="namespaces to look in (empty: all)")
    selector: LabelSelector = Field("", description="label selector of the workloads")
    name_prefix: str = Field("", description="workload names must start with this")
    required: bool = Field(False, description="report a finding when no workload matches")


class ComponentCheckSettings(CheckSettings):
    components: list[ComponentSettings] = Field(default_factory=list, description="workloads to watch")


class CP01Settings(ComponentCheckSettings):
    components: list[ComponentSettings] = Field(
        default_factory=lambda: [
            ComponentSettings(name="istio-ingressgateway", kinds=["Deployment"], selector="istio=ingressgateway"),
            ComponentSettings(name="istio-egressgateway", kinds=["Deployment"], selector="istio=egressgateway"),
        ],
        description="gateways and other control-plane workloads besides istiod",
    )


class CP02Settings(CheckSettings):
    oom_recent_seconds: float = Field(3600.0, gt=0, description="an OOMKill this recent is reported")


class EventCheckSettings(CheckSettings):
    event_window_seconds: float = Field(900.0, gt=0, description="only events seen this recently count")


class DP04Settings(CheckSettings):
    ignored_namespaces: list[str] = Field(
        default_factory=lambda: ["kube-system", "kube-public"],
        description="namespaces the injector never injects into",
    )
    grace_seconds: float = Field(60.0, ge=0, description="pods younger than this are not reported yet")


class DP06Settings(CheckSettings):
    min_pods_per_node: int = Field(2, ge=1, description="alert when this many pods on one node crash-loop")


class DP08Settings(CheckSettings):
    default_drain_seconds: float = Field(5.0, gt=0, description="the proxy's drain when nothing configures it")
    ratio: float = Field(3.0, ge=1, description="report when the grace period exceeds drain × ratio")
    default_grace_seconds: int = Field(
        30, ge=0, description="grace periods at or below this are Kubernetes' default and not reported"
    )


class WH03Settings(CheckSettings):
    cert_expiry_warning_days: float = Field(14.0, gt=0, description="warn when the webhook certificate expires sooner")
    max_endpoints_per_service: int = Field(3, ge=1, description="TLS handshakes per webhook Service and refresh")


class NS02Settings(CheckSettings):
    required_crds: list[str] = Field(
        default_factory=lambda: [
            "authorizationpolicies.security.istio.io",
            "destinationrules.networking.istio.io",
            "envoyfilters.networking.istio.io",
            "gateways.networking.istio.io",
            "peerauthentications.security.istio.io",
            "requestauthentications.security.istio.io",
            "serviceentries.networking.istio.io",
            "sidecars.networking.istio.io",
            "telemetries.telemetry.istio.io",
            "virtualservices.networking.istio.io",
            "wasmplugins.extensions.istio.io",
            "workloadentries.networking.istio.io",
            "workloadgroups.networking.istio.io",
        ],
        description="CRDs that must exist and be established (add e.g. applications.app.k8s.io)",
    )


class NS03Settings(CheckSettings):
    expected_in_mesh: list[ComponentSettings] = Field(
        default_factory=list,
        description="pods that must run with a sidecar, e.g. {name: ingress-nginx, "
        "selector: app.kubernetes.io/name=ingress-nginx}",
    )


class TR08Settings(ComponentCheckSettings):
    components: list[ComponentSettings] = Field(
        default_factory=lambda: [
            ComponentSettings(name="jaeger-collector", selector="app.kubernetes.io/name=jaeger-collector"),
            ComponentSettings(name="jaeger-query", selector="app.kubernetes.io/name=jaeger-query"),
            ComponentSettings(
                name="elasticsearch-data",
                kinds=["StatefulSet"],
                namespaces=["kubesphere-logging-system"],
                name_prefix="elasticsearch-logging-data",
            ),
        ],
        description="Jaeger and its Elasticsearch (defaults: Jaeger operator labels, KubeSphere names)",
    )


class TM02Settings(CheckSettings):
    sample_size: int = Field(
        20, ge=1, le=500, description="sidecars probed per refresh; the sample rotates through every injected pod"
    )
    port: int = Field(15090, gt=0, lt=65536, description="port of the sidecar's Prometheus stats endpoint")
    path: str = Field("/stats/prometheus", pattern=r"^/[^\s?#]*$", description="path of the stats endpoint")
    probe_timeout_seconds: float = Field(2.0, gt=0, le=30, description="timeout of one probe")
    max_body_bytes: int = Field(
        65536, ge=1024, le=16 * 1024 * 1024, description="most bytes read of an answer (its first metric names)"
    )


class TM07Settings(ComponentCheckSettings):
    components: list[ComponentSettings] = Field(
        default_factory=lambda: [
            ComponentSettings(name="kiali", kinds=["Deployment"], selector="app.kubernetes.io/name=kiali"),
            ComponentSettings(name="prometheus", selector="app.kubernetes.io/name=prometheus"),
        ],
        description="Kiali and Prometheus",
    )


class DP01Settings(CheckSettings):
    stale_threshold_seconds: float = Field(300.0, gt=0, description="a proxy STALE longer than this is reported")


class DP02Settings(CheckSettings):
    grace_seconds: float = Field(120.0, ge=0, description="pods younger than this are not called disconnected")


class DP03Settings(CheckSettings):
    max_minor_skew: int = Field(1, ge=0, description="supported minor versions between proxies and istiod")


class CP08Settings(CheckSettings):
    convergence_p99_seconds: float = Field(5.0, gt=0, description="p99 push convergence time that is too slow")


class CP11Settings(CheckSettings):
    warning_days: float = Field(30.0, gt=0, description="warn when the root certificate expires sooner")
    critical_days: float = Field(7.0, gt=0, description="page when the root certificate expires sooner")


class TR04Settings(CheckSettings):
    grace_seconds: float = Field(1800.0, ge=0, description="after UTC midnight, wait this long for today's index")


class TR05Settings(CheckSettings):
    max_span_age_seconds: float = Field(900.0, gt=0, description="newest span older than this: spans stopped")


class TR06Settings(CheckSettings):
    retention_days: float = Field(7.0, gt=0, description="indices created longer ago should have been deleted")


class TR07Settings(CheckSettings):
    future_days: float = Field(2.0, ge=0, description="index dates further in the future are implausible")
    past_days: float = Field(3650.0, gt=0, description="index dates further in the past are implausible")


class TR09Settings(CheckSettings):
    drop_ratio: float = Field(0.01, gt=0, le=1, description="alert when this share of received spans is dropped")
    queue_fill_ratio: float = Field(0.8, gt=0, le=1, description="alert when the collector queue is this full")


class TrafficSettings(CheckSettings):
    ratio: float = Field(
        0.05, gt=0, le=1, description="alert when this share of a service's requests shows the symptom"
    )
    min_requests_per_second: float = Field(
        1.0,
        ge=0,
        description="only services with more requests per second than this (one failure at night does not page)",
    )


class NS01Settings(CheckSettings):
    terminating_threshold_seconds: float = Field(
        900.0, gt=0, description="a namespace Terminating longer than this is stuck"
    )


class CF11Settings(CheckSettings):
    tcp_probe: bool = Field(
        False,
        description="also open a TCP connection to each tracing backend address (from the exporter's network, "
        "which may differ from the proxies')",
    )
    probe_timeout_seconds: float = Field(1.0, gt=0, le=30, description="TCP connect timeout of the probe")


class CF13Settings(CheckSettings):
    gateway_selector: LabelSelector = Field(
        "istio=ingressgateway", description="label selector of ingress gateway pods (their Services are checked)"
    )


class CF14Settings(CheckSettings):
    max_sampling_percent: float = Field(
        100.0, gt=0, le=100, description="report tracing sampling at or above this percentage"
    )


class ChecksSettings(_Section):
    """Per failure-mode ID: enable/disable, alert overrides and thresholds."""

    CP01: CP01Settings = Field(default_factory=CP01Settings)
    CP02: CP02Settings = Field(default_factory=CP02Settings)
    CP03: CheckSettings = Field(default_factory=CheckSettings)
    CP04: CheckSettings = Field(default_factory=CheckSettings)
    CP05: CheckSettings = Field(default_factory=CheckSettings)
    CP06: CheckSettings = Field(default_factory=CheckSettings)
    CP07: CheckSettings = Field(default_factory=CheckSettings)
    CP08: CP08Settings = Field(default_factory=CP08Settings)
    CP09: CheckSettings = Field(default_factory=CheckSettings)
    CP10: CheckSettings = Field(default_factory=CheckSettings)
    CP11: CP11Settings = Field(default_factory=CP11Settings)
    CP12: EventCheckSettings = Field(default_factory=EventCheckSettings)
    DP01: DP01Settings = Field(default_factory=DP01Settings)
    DP02: DP02Settings = Field(default_factory=DP02Settings)
    DP03: DP03Settings = Field(default_factory=DP03Settings)
    DP04: DP04Settings = Field(default_factory=DP04Settings)
    DP05: EventCheckSettings = Field(default_factory=EventCheckSettings)
    DP06: DP06Settings = Field(default_factory=DP06Settings)
    DP07: EventCheckSettings = Field(default_factory=EventCheckSettings)
    DP08: DP08Settings = Field(default_factory=DP08Settings)
    WH01: CheckSettings = Field(default_factory=CheckSettings)
    WH02: CheckSettings = Field(default_factory=CheckSettings)
    WH03: WH03Settings = Field(default_factory=WH03Settings)
    WH04: CheckSettings = Field(default_factory=CheckSettings)
    WH05: CheckSettings = Field(default_factory=CheckSettings)
    NS01: NS01Settings = Field(default_factory=NS01Settings)
    NS02: NS02Settings = Field(default_factory=NS02Settings)
    NS03: NS03Settings = Field(default_factory=NS03Settings)
    TR01: CheckSettings = Field(default_factory=CheckSettings)
    TR02: CheckSettings = Field(default_factory=CheckSettings)
    TR03: CheckSettings = Field(default_factory=CheckSettings)
    TR04: TR04Settings = Field(default_factory=TR04Settings)
    TR05: TR05Settings = Field(default_factory=TR05Settings)
    TR06: TR06Settings = Field(default_factory=TR06Settings)
    TR07: TR07Settings = Field(default_factory=TR07Settings)
    TR08: TR08Settings = Field(default_factory=TR08Settings)
    TR09: TR09Settings = Field(default_factory=TR09Settings)
    TM01: CheckSettings = Field(
        default_factory=CheckSettings, description="no istio_requests_total while proxies are connected"
    )
    TM02: TM02Settings = Field(
        default_factory=TM02Settings,
        description="sidecar stats endpoints; runs only with sources.proxy_stats.enabled (off by default)",
    )
    TM03: TrafficSettings = Field(default_factory=TrafficSettings, description="503 UH ratio")
    TM04: TrafficSettings = Field(default_factory=TrafficSettings, description="NR ratio")
    TM05: TrafficSettings = Field(default_factory=TrafficSettings, description="UF/URX/UC ratio")
    TM06: TrafficSettings = Field(default_factory=lambda: TrafficSettings(ratio=0.01), description="UPE ratio")
    TM07: TM07Settings = Field(default_factory=TM07Settings)
    CF01: CheckSettings = Field(default_factory=CheckSettings)
    CF02: CheckSettings = Field(default_factory=CheckSettings)
    CF03: CheckSettings = Field(default_factory=CheckSettings)
    CF04: CheckSettings = Field(default_factory=CheckSettings)
    CF05: CheckSettings = Field(default_factory=CheckSettings)
    CF06: CheckSettings = Field(default_factory=CheckSettings)
    CF07: CheckSettings = Field(default_factory=CheckSettings)
    CF08: CheckSettings = Field(default_factory=CheckSettings)
    CF09: CheckSettings = Field(default_factory=CheckSettings)
    CF10: CheckSettings = Field(default_factory=CheckSettings)
    CF11: CF11Settings = Field(default_factory=CF11Settings)
    CF12: CheckSettings = Field(default_factory=CheckSettings)
    CF13: CF13Settings = Field(default_factory=CF13Settings)
    CF14: CF14Settings = Field(default_factory=CF14Settings)
    CF15: CheckSettings = Field(default_factory=CheckSettings)
    CF16: CheckSettings = Field(default_factory=CheckSettings)
    CF17: CheckSettings = Field(default_factory=CheckSettings)
    CF18: CheckSettings = Field(default_factory=CheckSettings)
    CF19: CheckSettings = Field(default_factory=CheckSettings)
    CF20: CheckSettings = Field(default_factory=CheckSettings)
    CF21: CheckSettings = Field(default_factory=CheckSettings)
    MH01: CheckSettings = Field(default_factory=CheckSettings, description="the exporter's own source health")
    MH02: CheckSettings = Field(default_factory=CheckSettings, description="istiod replicas the exporter cannot read")

    def for_id(self, check_id: str) -> CheckSettings:
        value = getattr(self, check_id, None)
        if not isinstance(value, CheckSettings):
            raise KeyError(check_id)
        return value


class FindingsSettings(_Section):
    max_series_per_check: int = Field(
        100, ge=0, description="most meshhealth_finding series per check; the rest are counted as suppressed"
    )
    per_proxy_series: bool = Field(
        False,
        description="export meshhealth_xds_proxy_status for every proxy and type (one series each; off by default)",
    )


# Kubernetes label keys (optional DNS-subdomain prefix, then a name) and values
_K8S_LABEL_KEY = re.compile(r"([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_K8S_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")
_K8S_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


class PrometheusRuleSettings(_Section):
    namespace: str = Field("", description="metadata.namespace of the generated PrometheusRule (empty: none)")
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="extra metadata.labels of the generated PrometheusRule, e.g. {release: kube-prometheus-stack} "
        "for kube-prometheus-stack's default ruleSelector",
    )

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        if value and not _K8S_NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not a Kubernetes namespace name")
        return value

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: dict[str, str]) -> dict[str, str]:
        for key, label in value.items():
            if not _K8S_LABEL_KEY.fullmatch(key) or not _K8S_LABEL_VALUE.fullmatch(label):
                raise ValueError(f"{key}={label!r} is not a valid Kubernetes label")
        return value


class Settings(BaseSettings):
    """Everything the exporter can be told."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", case_sensitive=False
    )

    listen_address: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["0.0.0.0:9745"],
        description="host:port the HTTP server listens on; several as a list (or comma-separated in the "
        "environment), as repeated --web.listen-address",
    )
    telemetry_path: str = Field("/metrics", description="path under which the metrics are served")
    web_config_file: Path | None = Field(
        None, description="exporter-toolkit web config file: TLS and basic auth (format below)"
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field("info", description="log level")
    log_format: Literal["text", "json"] = Field("text", description="log line format")
    refresher_silence_seconds: float = Field(
        30.0,
        ge=5,
        le=3600,
        description="serve: when the refresher process sends nothing (not even its 2 s heartbeat) this long, every "
        "endpoint answers 503, /healthz included",
    )
    runbook_base_url: str = Field(
        "https://github.com/mesh-health-exporter/mesh-health-exporter/blob/main/docs/runbooks.md",
        description="runbook_url of alerts and links on the status page point here, with #<id>",
    )
    metric_selector: str = Field(
        "",
        description="label matchers added to every meshhealth_* metric in the generated rules, e.g. "
        'job="mesh-health-exporter" when several exporters or environments share one Prometheus',
    )
    istio_metric_selector: str = Field(
        "",
        description="label matchers added to every istio_* metric (Istio's standard metrics) in the generated "
        'rules, e.g. job="envoy-stats" or job=~".*envoy-stats" for the PodMonitor of the Istio addons',
    )
    jaeger_metric_selector: str = Field(
        "",
        description="label matchers added to every metric of Jaeger's rules (v1 jaeger_*, v2 jaeger_* and the "
        'OpenTelemetry Collector\'s otelcol_*) in the generated rules, e.g. job="jaeger-collector"',
    )
    cluster_label: str = Field(
        "cluster",
        description="label that tells clusters apart in a shared Prometheus (external label or relabeling); every "
        "aggregation and vector match of the generated rules and panels keeps it, and dashboards get a variable "
        "for it (empty: none)",
    )
    kubernetes: KubernetesSettings = Field(default_factory=KubernetesSettings)
    sources: SourcesSettings = Field(default_factory=SourcesSettings)
    istio: IstioSettings = Field(default_factory=IstioSettings)
    checks: ChecksSettings = Field(default_factory=ChecksSettings)
    alerts: dict[str, AlertOverride] = Field(
        default_factory=dict,
        description="per alert name (e.g. MeshHealthIstiodOOMKilled), or name/severity for each variant of a graded "
        "alert (e.g. MeshHealthRootCertExpiring/critical): `enabled`, `severity` and `for`; the severity is also "
        "that of the findings the alert fires for",
    )
    findings: FindingsSettings = Field(default_factory=FindingsSettings)
    prometheus_rule: PrometheusRuleSettings = Field(default_factory=PrometheusRuleSettings)
    elasticsearch: ElasticsearchSettings = Field(default_factory=ElasticsearchSettings)

    @field_validator("metric_selector", "istio_metric_selector", "jaeger_metric_selector")
    @classmethod
    def _label_matchers(cls, value: str) -> str:
        value = value.strip()
        if value and not _MATCHERS.fullmatch(value):
            raise ValueError('not PromQL label matchers (e.g. job="mesh-health-exporter",cluster=~"prod-.*")')
        return value

    @field_validator("listen_address", mode="before")
    @classmethod
    def _addresses(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("listen_address")
    @classmethod
    def _valid_addresses(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one host:port")
        for address in value:
            _host_port(address)
        return value

    @field_validator("telemetry_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/") or value in ("/", "/healthz", "/readyz") or any(c in value for c in "?#{} "):
            raise ValueError(f"{value!r}: a path such as /metrics (not /, /healthz or /readyz)")
        return value

    @field_validator("cluster_label")
    @classmethod
    def _label_name(cls, value: str) -> str:
        if value and not _LABEL_NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not a Prometheus label name")
        return value

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

    def listen_endpoints(self) -> list[tuple[str, int]]:
        return [_host_port(address) for address in self.listen_address]


def _host_port(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{address!r} is not host:port")
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


def missing_files(settings: Settings) -> list[str]:
    """Credential and CA files that do not exist: found at startup of serve/check, not at the first refresh
    (``generate`` renders rules for other machines and does not need them)."""
    out = []
    for i, cluster in enumerate(settings.elasticsearch.clusters):
        for name in ("password_file", "api_key_file", "bearer_token_file", "ca_file"):
            path = getattr(cluster, name)
            if path is not None and not Path(path).is_file():
                out.append(f"elasticsearch.clusters.{i}.{name}: {path} does not exist or is not a file")
    token = settings.istio.debug_token_file
    if token is not None and not Path(token).is_file():
        out.append(f"istio.debug_token_file: {token} does not exist or is not a file")
    return out


def load_settings(config_file: Path | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    """Build the settings; raise ConfigError with a message naming the field and the reason."""
    _FileSource.data = read_config_file(config_file) if config_file else {}
    try:
        settings = Settings(**(overrides or {}))
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from None
    finally:
        _FileSource.data = {}
    return settings
