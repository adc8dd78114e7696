"""Alert severity and `for`: one source of truth, addressable per alert name, shared by rules and findings."""

from __future__ import annotations

import pytest
import yaml

from exporter.alerting import alert_ref, override_errors
from exporter.checks.control_plane import check_istiod_restarts
from exporter.cli import main
from exporter.generate.rules import render_rules_file
from tests.scenarios.kube import istiod_pod, snap
from tests.unit.helpers import settings

NOW = 1_700_000_000.0


def rule(rules_text: str, name: str) -> dict:
    return next(r for g in yaml.safe_load(rules_text)["groups"] for r in g["rules"] if r.get("alert") == name)


def test_override_by_alert_name_reaches_the_rule_and_the_finding():
    s = settings(alerts={"MeshHealthIstiodOOMKilled": {"severity": "info", "for": "3m"}})
    rules = render_rules_file(s)
    assert rule(rules, "MeshHealthIstiodOOMKilled")["labels"]["severity"] == "info"
    assert rule(rules, "MeshHealthIstiodOOMKilled")["for"] == "3m"
    assert rule(rules, "MeshHealthIstiodRestarting")["labels"]["severity"] == "warning"  # the other CP02 alert
    [oom] = check_istiod_restarts(snap(pods=[istiod_pod(NOW, 1, oom_ago=60)]), s, NOW).findings
    assert oom.severity.label == "info"
    [restart] = check_istiod_restarts(snap(pods=[istiod_pod(NOW, 1)]), s, NOW).findings
    assert restart.severity.label == "warning"


def test_per_check_override_is_for_single_alert_checks_only(tmp_path, capsys):
    assert override_errors(settings(checks={"CP09": {"alert_severity": "info"}})) == []
    [error] = override_errors(settings(checks={"CP02": {"alert_severity": "info"}}))
    assert "MeshHealthIstiodRestarting, MeshHealthIstiodOOMKilled" in error and "alerts.<name>" in error
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"checks": {"CP02": {"alert_severity": "info"}}}))
    assert main(["generate", "--config", str(config), "--output-dir", str(tmp_path)]) == 2
    assert "checks.CP02" in capsys.readouterr().err


def test_unknown_alert_name_is_a_configuration_error():
    [error] = override_errors(settings(alerts={"MeshHealthIstiodOOMKiled": {"severity": "info"}}))
    assert error.startswith("alerts.MeshHealthIstiodOOMKiled: no such alert")


def test_a_misspelt_alert_handle_fails_at_import_time():
    with pytest.raises(LookupError, match="no alert MeshHealthIstiodOOMKiled under CP02"):
        alert_ref("CP02", "MeshHealthIstiodOOMKiled")
    with pytest.raises(LookupError):
        alert_ref("CP01", "MeshHealthIstiodOOMKilled")  # exists, but under another ID
