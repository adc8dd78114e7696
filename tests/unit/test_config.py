from pathlib import Path

import pytest

from exporter.config import ConfigError, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_defaults_are_usable():
    s = load_settings()
    assert s.listen_endpoints() == [("0.0.0.0", 9745)]
    assert s.telemetry_path == "/metrics" and s.cluster_label == "cluster"
    assert s.istio.control_plane_namespaces == ["istio-system"]
    assert s.sources.kubernetes.stale_after() == 150
    assert s.checks.NS01.terminating_threshold_seconds == 900


def test_yaml_then_env_then_flags(tmp_path, monkeypatch):
    path = write(
        tmp_path,
        "listen_address: 127.0.0.1:1000\n"
        "sources: {kubernetes: {interval_seconds: 10, timeout_seconds: 5}}\n"
        "checks: {NS01: {terminating_threshold_seconds: 60}}\n",
    )
    monkeypatch.setenv("MESHHEALTH_SOURCES__KUBERNETES__INTERVAL_SECONDS", "20")
    monkeypatch.setenv("MESHHEALTH_LISTEN_ADDRESS", "127.0.0.1:2000")
    s = load_settings(path, {"listen_address": "127.0.0.1:3000"})
    assert s.listen_address == ["127.0.0.1:3000"]  # flag beats env
    assert s.sources.kubernetes.interval_seconds == 20  # env beats file
    assert s.sources.kubernetes.timeout_seconds == 5  # file beats default, siblings kept
    assert s.checks.NS01.terminating_threshold_seconds == 60


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "sources: {kubernetes: {interval_seconds: -1}}",
            "sources.kubernetes.interval_seconds: Input should be greater than 0",
        ),
        ("sources: {kubernetes: {intervall_seconds: 5}}", "sources.kubernetes.intervall_seconds: unknown option"),
        (
            "checks: {CP01: {alert_for: five minutes}}",
            "checks.CP01.alert_for: Value error, 'five minutes' is not a Prometheus duration",
        ),
        (
            "checks: {CP01: {alert_severity: page}}",
            "checks.CP01.alert_severity: Input should be 'critical', 'warning' or 'info'",
        ),
        ("istio: {istiod_selector: 'app in (a,b)'}", "istio.istiod_selector"),
        ("istio: {control_plane_namespaces: []}", "istio.control_plane_namespaces"),
        ("listen_address: nowhere", "listen_address: Value error, 'nowhere' is not host:port"),
        ("listen_address: ['127.0.0.1:1', 'x:99999']", "'x:99999' is not host:port"),
        ("listen_address: []", "listen_address: Value error, at least one host:port"),
        ("telemetry_path: metrics", "telemetry_path"),
        ("telemetry_path: /healthz", "telemetry_path"),
        ("cluster_label: k8s-cluster", "cluster_label: Value error, 'k8s-cluster' is not a Prometheus label name"),
        ("istio_metric_selector: job=envoy", "istio_metric_selector: Value error, not PromQL label matchers"),
        ("jaeger_metric_selector: '{job=\"j\"}'", "jaeger_metric_selector"),
        ("- a list", "the top level must be a mapping"),
        ("a: [unclosed", "line 1: not valid YAML"),
    ],
)
def test_invalid_config_names_field_and_reason(tmp_path, text, expected):
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, text))
    assert expected in str(err.value)


def test_listen_addresses_from_file_env_and_flags(tmp_path, monkeypatch):
    path = write(tmp_path, "listen_address: ['127.0.0.1:1000', '[::1]:1001']\n")
    assert load_settings(path).listen_endpoints() == [("127.0.0.1", 1000), ("::1", 1001)]
    monkeypatch.setenv("MESHHEALTH_LISTEN_ADDRESS", "127.0.0.1:2000, :2001")
    assert load_settings(path).listen_endpoints() == [("127.0.0.1", 2000), ("0.0.0.0", 2001)]
    flags = load_settings(path, {"listen_address": ["127.0.0.1:3000", "127.0.0.2:3001"]})
    assert flags.listen_endpoints() == [("127.0.0.1", 3000), ("127.0.0.2", 3001)]


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="No such file"):
        load_settings(tmp_path / "absent.yaml")


def test_invalid_env_names_variable_path(monkeypatch):
    monkeypatch.setenv("MESHHEALTH_FINDINGS__MAX_SERIES_PER_CHECK", "many")
    with pytest.raises(ConfigError, match=r"findings\.max_series_per_check"):
        load_settings()


def test_empty_file_means_defaults(tmp_path):
    assert load_settings(write(tmp_path, "")).log_level == "info"
