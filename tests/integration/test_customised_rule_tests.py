"""`generate --config` with every knob set writes promtool tests of the customised rules, and promtool passes
them: selectors, cluster label, PrometheusRule labels, a disabled alert, severity and `for` overrides."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from exporter.cli import main
from exporter.config import load_settings
from exporter.generate import rule_tests
from exporter.generate.rule_tests import RuleTestError, rule_test_files
from exporter.generate.scenario_series import load_scenario_series

pytestmark = pytest.mark.integration

CONFIG = {
    "metric_selector": 'job="mesh-health",env=~"prod|staging"',
    "istio_metric_selector": 'job=~".*envoy-stats"',
    "jaeger_metric_selector": 'job="jaeger-collector"',
    "cluster_label": "k8s_cluster",
    "prometheus_rule": {"namespace": "monitoring", "labels": {"release": "kube-prometheus-stack"}},
    "alerts": {
        "MeshHealthGatewayMissing": {"enabled": False},
        "MeshHealthIstiodNotReady": {"severity": "warning", "for": "20m"},
        "MeshHealthElasticsearchDiskWatermark/critical": {"for": "2m"},
    },
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory, promtool) -> Path:
    out = tmp_path_factory.mktemp("customised")
    config = out / "config.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    assert main(["generate", "--config", str(config), "--output-dir", str(out), "--promtool", promtool]) == 0
    return out


def all_tests(generated: Path) -> list[dict[str, Any]]:
    return [t for f in sorted((generated / "alert_rules" / "tests").glob("*.yaml"))
            for t in yaml.safe_load(f.read_text())["tests"]]  # fmt: skip


def test_promtool_passes_the_customised_tests(generated, promtool):
    files = sorted((generated / "alert_rules" / "tests").glob("*.yaml"))
    assert len(files) >= 9
    proc = subprocess.run([promtool, "test", "rules", *[f.name for f in files]], cwd=files[0].parent,
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_series_carry_the_selectors_and_the_cluster_label(generated):
    for test in all_tests(generated):
        for s in test["input_series"]:
            name = s["series"].split("{")[0]
            assert 'k8s_cluster="test-cluster"' in s["series"], s
            if name.startswith("meshhealth_"):
                assert 'job="mesh-health"' in s["series"] and 'env="prod"' in s["series"], s
            elif name.startswith("istio_"):
                job = re.search(r'job="([^"]*)"', s["series"])
                assert job and job[1].endswith("envoy-stats"), s
            elif name.startswith(("jaeger_", "otelcol_")):
                assert 'job="jaeger-collector"' in s["series"], s


def expected(generated: Path, alertname: str) -> list[tuple[str, dict[str, str]]]:
    return [(c["eval_time"], e["exp_labels"]) for t in all_tests(generated) for c in t["alert_rule_test"]
            if c["alertname"] == alertname for e in c["exp_alerts"]]  # fmt: skip


def test_overrides_reach_the_tests(generated):
    assert not any(c["alertname"] == "MeshHealthGatewayMissing" for t in all_tests(generated)
                   for c in t["alert_rule_test"])  # fmt: skip
    ready = expected(generated, "MeshHealthIstiodNotReady")
    assert ready and all(labels["severity"] == "warning" for _, labels in ready)
    assert {time for time, _ in ready} == {"52m"}  # change at 30m, for 20m, checked 2m after
    silent = [c["eval_time"] for t in all_tests(generated) for c in t["alert_rule_test"]
              if c["alertname"] == "MeshHealthIstiodNotReady" and not c["exp_alerts"]]  # fmt: skip
    assert "49m" in silent  # one minute before the configured for
    disk = expected(generated, "MeshHealthElasticsearchDiskWatermark")
    assert {labels["severity"] for _, labels in disk} == {"warning", "critical"}


def test_alerts_keep_the_cluster_label(generated):
    every = [(t["name"], c["alertname"], e["exp_labels"]) for t in all_tests(generated) for c in t["alert_rule_test"]
             for e in c["exp_alerts"]]  # fmt: skip
    assert len(every) > 80
    lost = sorted({name for _, name, labels in every if labels.get("k8s_cluster") != "test-cluster"})
    assert lost == ["MeshHealthExporterAbsent"]  # absent() has only the selector's equality labels


def test_prometheusrule_and_rules_use_the_knobs(generated):
    resource = yaml.safe_load((generated / "alert_rules" / "prometheusrule.yaml").read_text())
    assert resource["metadata"]["namespace"] == "monitoring"
    assert resource["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    rules = (generated / "alert_rules" / "rules.yaml").read_text()
    assert 'job=\\"mesh-health\\"' in rules and "k8s_cluster" in rules


def test_series_without_the_selectors_labels_stop_the_generation(promtool, monkeypatch):
    """The recorded tests can fail: series that miss the selector's labels fire nothing, and generation says
    which scenario."""
    settings = load_settings(None, {"metric_selector": 'job="mesh-health"'})
    monkeypatch.setattr(rule_tests, "scoped_key", lambda key, _settings: key)
    one = [s for s in load_scenario_series() if s.id == "CP01-istiod-not-ready"]
    assert one
    with pytest.raises(RuleTestError, match="CP01-istiod-not-ready: no alert of CP01 fires"):
        rule_test_files(settings, promtool, one)


def test_generate_without_promtool_says_so(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("{}")
    assert main(["generate", "--config", str(config), "--output-dir", str(tmp_path), "--promtool",
                 str(tmp_path / "missing")]) == 2  # fmt: skip
    assert "promtool" in capsys.readouterr().err
    assert not (tmp_path / "alert_rules" / "rules.yaml").exists()  # nothing half-written
    assert main(["generate", "--config", str(config), "--output-dir", str(tmp_path), "--skip-rule-tests"]) == 0
    assert (tmp_path / "alert_rules" / "rules.yaml").exists()
    assert not (tmp_path / "alert_rules" / "tests").exists()
