"""Alert severity and `for`: one source of truth, addressable per alert name, shared by rules and findings."""

from __future__ import annotations

import pytest
import yaml

from exporter.alerting import alert_ref, override_errors
from exporter.checks.control_plane import check_istiod_restarts
from exporter.checks.pilot import check_root_cert
from exporter.cli import main
from exporter.generate.rules import render_rules_file
from tests.scenarios.istiod import ROOT_CERT, istiod, replica
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


GRADED = {
    "MeshHealthRootCertExpiring": "CP11",
    "MeshHealthElasticsearchClusterHealth": "TR01",
    "MeshHealthElasticsearchDiskWatermark": "TR02",
    "MeshHealthIstioInitFailing": "DP06",
}


def rules_named(rules_text: str, name: str) -> dict[str, dict]:
    return {r["labels"]["severity"]: r for g in yaml.safe_load(rules_text)["groups"] for r in g["rules"]
            if r.get("alert") == name}  # fmt: skip


@pytest.mark.parametrize("name", GRADED)
def test_graded_alerts_share_one_name_so_alertmanager_can_inhibit_the_warning(name):
    variants = rules_named(render_rules_file(settings()), name)
    assert set(variants) == {"warning", "critical"}
    assert {v["annotations"]["check"] for v in variants.values()} == {GRADED[name]}
    assert variants["warning"]["expr"] != variants["critical"]["expr"]


def test_each_variant_of_a_graded_alert_is_overridden_by_its_own_key():
    s = settings(alerts={"MeshHealthRootCertExpiring/critical": {"for": "30m", "severity": "warning"},
                         "MeshHealthRootCertExpiring/warning": {"severity": "info"}})  # fmt: skip
    assert override_errors(s) == []
    variants = rules_named(render_rules_file(s), "MeshHealthRootCertExpiring")
    assert variants["warning"]["for"] == "30m" and "< 7 * 86400" in variants["warning"]["expr"]
    assert variants["info"]["for"] == "1h" and "< 30 * 86400" in variants["info"]["expr"]
    soon = istiod(NOW, replica(metrics=ROOT_CERT.format(NOW + 3 * 86400)))
    [finding] = check_root_cert(soon, s, NOW).findings
    assert finding.severity.label == "warning"  # the overridden severity of the variant that fires for it


def test_a_graded_alert_is_not_overridden_by_its_bare_name():
    [error] = override_errors(settings(alerts={"MeshHealthElasticsearchDiskWatermark": {"for": "1m"}}))
    assert error.startswith("alerts.MeshHealthElasticsearchDiskWatermark: graded by severity")
    assert "alerts.MeshHealthElasticsearchDiskWatermark/critical" in error
    assert "alerts.MeshHealthElasticsearchDiskWatermark/warning" in error


def test_variants_may_not_end_with_one_severity():
    [error] = override_errors(settings(alerts={"MeshHealthIstioInitFailing/warning": {"severity": "critical"}}))
    assert "MeshHealthIstioInitFailing" in error and "share a severity" in error


def test_catalogue_requires_graded_variants_to_differ_in_severity():
    from exporter.catalog.model import Alert, FailureMode, Runbook
    from exporter.model import Severity

    def alert(severity: Severity, graded: bool) -> Alert:
        return Alert("MeshHealthX", "x > 0", "5m", severity, "S.", "d", graded=graded)

    def mode(*alerts: Alert) -> FailureMode:
        return FailureMode("XX01", "t", "s", (), alerts, (), Runbook("m", "i", "d", "m"))

    assert mode(alert(Severity.WARNING, True), alert(Severity.CRITICAL, True)).alerts[0].key == "MeshHealthX/warning"
    with pytest.raises(ValueError, match="graded"):
        mode(alert(Severity.WARNING, False), alert(Severity.CRITICAL, False))
    with pytest.raises(ValueError, match="graded"):
        mode(alert(Severity.WARNING, True), alert(Severity.WARNING, True))
    with pytest.raises(ValueError, match="graded"):
        mode(alert(Severity.WARNING, True))
