import json
from pathlib import Path

import jsonschema
import pytest

from exporter.evaluate import CheckOutcome
from exporter.model import CheckResult, Finding, Severity, SourceView
from exporter.report import exit_code, report_json, report_table


def src(up=True, error=""):
    return SourceView("kubernetes", "https://k8s", up, True, 1.0, 0.1, {}, "timeout" if error else "", error)


def outcome(*findings, up=True, error=""):
    return CheckOutcome("CP01", up, CheckResult(findings=list(findings)), error)


CRIT = Finding("CP01", Severity.CRITICAL, "istio-system", "Deployment", "istiod", "0/1 replicas ready")
INFO = Finding("CP01", Severity.INFO, "default", "Service", "web", "no protocol prefix")


def test_json_shape():
    data = json.loads(report_json([src()], [outcome(INFO, CRIT)]))
    assert data["findings"][0] == {
        "check": "CP01",
        "severity": "critical",
        "namespace": "istio-system",
        "kind": "Deployment",
        "name": "istiod",
        "message": "0/1 replicas ready",
    }
    assert [f["severity"] for f in data["findings"]] == ["critical", "info"]
    assert data["sources"] == [{"name": "kubernetes", "instance": "https://k8s", "up": True, "error": None,
                                "reason": None}]  # fmt: skip
    assert data["schema_version"] == 1 and data["status"] == "findings"


SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "check-output.schema.json").read_text())


def test_not_evaluated_checks_are_in_the_json_and_valid_against_the_schema():
    outcomes = [outcome(), CheckOutcome("DP02", False, error="needs the Kubernetes pod cache")]
    data = json.loads(report_json([src()], outcomes, {"CP01": "kubernetes", "DP02": "istiod"}))
    jsonschema.validate(data, SCHEMA)
    assert data["checks"] == [
        {"id": "CP01", "source": "kubernetes", "up": True, "error": None, "findings": 0},
        {"id": "DP02", "source": "istiod", "up": False, "error": "needs the Kubernetes pod cache", "findings": 0},
    ]
    assert data["status"] == "incomplete"  # no finding, but not an all-clear
    down = json.loads(report_json([src(up=False, error="timed out")], [outcome()]))
    jsonschema.validate(down, SCHEMA)
    assert down["status"] == "incomplete" and down["sources"][0]["reason"] == "timeout"
    healthy = json.loads(report_json([src()], [outcome()]))
    jsonschema.validate(healthy, SCHEMA)
    assert healthy["status"] == "healthy"


def test_schema_rejects_what_the_report_never_writes():
    data = json.loads(report_json([src()], [outcome(CRIT)]))
    for broken in ({**data, "schema_version": 2}, {k: v for k, v in data.items() if k != "checks"},
                   {**data, "findings": [{**data["findings"][0], "severity": "fatal"}]}):  # fmt: skip
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, SCHEMA)


def test_table_groups_by_severity_and_lists_sources():
    text = report_table(
        [src(up=False, error="timed out")], [outcome(CRIT), CheckOutcome("NS01", False, error="no fresh data")]
    )
    assert text.index("CRITICAL (1)") < text.index("WARNING (0)") < text.index("INFO (0)")
    assert "istio-system" in text and "0/1 replicas ready" in text
    assert "NOT EVALUATED" in text and "no fresh data" in text
    assert "kubernetes" in text and "down" in text and "timed out" in text


def test_exit_codes():
    assert exit_code([src()], [outcome()], Severity.WARNING) == 0
    assert exit_code([src()], [outcome(INFO)], Severity.WARNING) == 0
    assert exit_code([src()], [outcome(INFO)], Severity.INFO) == 1
    assert exit_code([src()], [outcome(CRIT)], Severity.CRITICAL) == 1
    assert exit_code([src()], [outcome(CRIT)], None) == 0
    assert exit_code([src(up=False, error="x")], [outcome()], Severity.WARNING) == 2
    assert exit_code([src(up=False, error="x")], [outcome(CRIT)], Severity.WARNING) == 1
    not_evaluated = CheckOutcome("DP02", False, error="needs the Kubernetes pod cache")
    assert exit_code([src()], [outcome(), not_evaluated], Severity.WARNING) == 2  # no unfounded all-clear
    assert exit_code([src()], [outcome(CRIT), not_evaluated], Severity.WARNING) == 1
