import json
import re
from pathlib import Path

import pytest
import yaml

from exporter.catalog import CATALOG, METRICS
from exporter.catalog.external import EXTERNAL_METRICS
from exporter.catalog.model import exposed_name
from exporter.checks import ALL_CHECKS
from exporter.config import ChecksSettings, ConfigError, load_settings
from exporter.generate import generated_files, write_all
from exporter.generate.alerts import effective_alerts

ROOT = Path(__file__).resolve().parents[3]


def exposed_names() -> set[str]:
    return {exposed_name(m) for m in METRICS.values()}


def metric_tokens(promql: str) -> set[str]:
    without_matchers = re.sub(r"\{[^}]*\}", "", promql)
    return set(re.findall(r"\bmeshhealth_[a-z0-9_]+", without_matchers))


@pytest.fixture
def clean_env(monkeypatch):
    import os

    for key in list(os.environ):
        if key.startswith("MESHHEALTH_"):
            monkeypatch.delenv(key)


def test_committed_files_match_the_catalogue(clean_env):
    expected = generated_files(load_settings())
    stale = [rel for rel, text in expected.items() if not (ROOT / rel).exists() or (ROOT / rel).read_text() != text]
    assert stale == [], f"run `make generate` and commit: {stale}"
    for folder, pattern in (("grafana_dashboards", "*.json"),):
        on_disk = {str(p.relative_to(ROOT)) for p in (ROOT / folder).glob(pattern)}
        assert on_disk <= set(expected), f"leftover generated files: {on_disk - set(expected)}"


def test_every_alert_and_panel_names_only_emitted_metrics():
    names = exposed_names()
    for fm in CATALOG:
        exprs = [a.expr for a in fm.alerts] + [q.expr for p in fm.panels for q in p.queries]
        for expr in exprs:
            unknown = metric_tokens(expr) - names
            assert not unknown, f"{fm.id}: {expr} uses metrics nobody emits: {unknown}"


def test_rule_only_alerts_name_real_external_metrics():
    """Alerts on other software's metrics may only use names read from that software's source."""
    for fm in CATALOG:
        for alert in fm.alerts:
            without_matchers = re.sub(r"\{[^}]*\}", "", re.sub(r"\[[^]]*\]", "", alert.expr))
            tokens = set(re.findall(r"\b(?:jaeger|pilot|istio|envoy|citadel|otelcol)_[a-z0-9_]+", without_matchers))
            unknown = tokens - set(EXTERNAL_METRICS)
            assert not unknown, f"{alert.name}: {unknown} are not in catalog/external.py"


def test_every_check_has_a_complete_catalogue_entry_and_settings():
    ids = {fm.id for fm in CATALOG}
    for check in ALL_CHECKS:
        assert check.id in ids
    for fm in CATALOG:
        assert fm.alerts and fm.panels, fm.id
        for a in fm.alerts:  # our metric, or (rule-only) a metric of the real system listed in catalog/external.py
            assert metric_tokens(a.expr) or any(m in a.expr for m in EXTERNAL_METRICS), a.name
        assert fm.runbook.diagnosis.strip() and fm.runbook.mitigation.strip(), fm.id
        assert fm.id in ChecksSettings.model_fields, f"{fm.id} has no settings section"


def test_alert_conventions():
    alerts = effective_alerts(load_settings())
    variants = [(a.alert.name, a.severity.label) for a in alerts]
    assert len(variants) == len(set(variants))  # a name repeats only for the severities of a graded alert
    shared = {name for name, _ in variants if [n for n, _ in variants].count(name) > 1}
    assert shared == {a.alert.name for a in alerts if a.alert.graded}
    assert len({a.failure_mode.id for a in alerts if a.alert.name in shared}) == len(shared)  # one ID each
    for a in effective_alerts(load_settings()):
        assert a.runbook_url.endswith("#" + a.failure_mode.id.lower())
        assert a.severity.label in ("critical", "warning", "info")


def test_runbook_has_an_anchor_per_id():
    text = generated_files(load_settings())["docs/runbooks.md"]
    for fm in CATALOG:
        assert f'<a id="{fm.id.lower()}"></a>' in text


def test_dashboards_have_stable_uids_and_unique_panel_ids():
    for name, text in generated_files(load_settings()).items():
        if not (name.startswith("grafana_dashboards/") and name.endswith(".json")):
            continue
        dashboard = json.loads(text)
        assert dashboard["uid"] == Path(name).stem
        ids = [p["id"] for p in dashboard["panels"]]
        assert len(ids) == len(set(ids)) and 0 not in ids
        for panel in dashboard["panels"]:
            if panel["type"] != "row":
                assert panel["datasource"]["uid"] == "${datasource}"
                assert all(t["expr"] and t["refId"] for t in panel["targets"])


def test_overrides_change_rules_and_disable_alerts(tmp_path):
    settings = load_settings(
        None,
        {
            "checks": {
                "NS01": {"terminating_threshold_seconds": 3600, "alert_for": "10m", "alert_severity": "critical"},
                "CP01": {"enabled": False},
            },
            "runbook_base_url": "https://wiki.example/runbooks",
        },
    )
    write_all(settings, tmp_path, project_tree=False)
    rules = yaml.safe_load((tmp_path / "alert_rules/rules.yaml").read_text())
    alerts = {r["alert"]: r for g in rules["groups"] for r in g["rules"]}
    assert "MeshHealthIstiodNotReady" not in alerts
    ns01 = alerts["MeshHealthNamespaceStuckTerminating"]
    assert ns01["expr"] == "meshhealth_namespace_terminating_seconds > 3600"
    assert ns01["for"] == "10m" and ns01["labels"]["severity"] == "critical"
    assert ns01["annotations"]["runbook_url"] == "https://wiki.example/runbooks#ns01"
    assert not (tmp_path / "alert_rules/tests").exists()
    prometheus_rule = yaml.safe_load((tmp_path / "alert_rules/prometheusrule.yaml").read_text())
    assert prometheus_rule["kind"] == "PrometheusRule"
    assert prometheus_rule["spec"]["groups"] == rules["groups"]


def test_prometheus_rule_namespace_and_labels_for_a_rule_selector(tmp_path):
    settings = load_settings(None, {"prometheus_rule": {"namespace": "monitoring", "labels": {
        "release": "kube-prometheus-stack", "example.com/team": "mesh", "app.kubernetes.io/name": "mine"}}})  # fmt: skip
    write_all(settings, tmp_path, project_tree=False)
    rule = yaml.safe_load((tmp_path / "alert_rules/prometheusrule.yaml").read_text())
    assert rule["metadata"]["namespace"] == "monitoring"
    assert rule["metadata"]["labels"] == {"app.kubernetes.io/name": "mine", "app.kubernetes.io/part-of": "mesh-health-exporter",
                                          "release": "kube-prometheus-stack", "example.com/team": "mesh"}  # fmt: skip
    default = yaml.safe_load((tmp_path / "alert_rules/rules.yaml").read_text())
    assert rule["spec"]["groups"] == default["groups"]


@pytest.mark.parametrize("section", [{"namespace": "Monitoring"}, {"namespace": "a_b"}, {"labels": {"release": "a b"}},
                                     {"labels": {"-x": "1"}}, {"labels": {"x": "-"}}])  # fmt: skip
def test_prometheus_rule_settings_reject_what_kubernetes_would(section):
    with pytest.raises(ConfigError, match="prometheus_rule"):
        load_settings(None, {"prometheus_rule": section})


def test_every_alert_shorter_than_the_mixins_15m_says_why():
    from exporter.catalog.for_reasons import FOR_REASONS, MIXIN_FOR_SECONDS
    from exporter.generate.alerts import duration_seconds

    alerts = {a.key: a for fm in CATALOG for a in fm.alerts}
    short = {name for name, a in alerts.items() if duration_seconds(a.for_) < MIXIN_FOR_SECONDS}
    assert short - set(FOR_REASONS) == set(), "alerts waiting less than 15m without a reason"
    assert set(FOR_REASONS) - short == set(), "reasons for alerts that do not wait less than 15m (or no longer exist)"
    for name, reason in FOR_REASONS.items():
        assert len(reason) > 30 and not reason.endswith("."), name
    runbooks = Path("docs/runbooks.md").read_text()
    assert "Why `for: 1m`: " + FOR_REASONS["MeshHealthProxyStale"] in runbooks
