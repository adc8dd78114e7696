import json

from exporter.evaluate import CheckOutcome
from exporter.metrics.render import SourceView
from exporter.model import CheckResult, Finding, Severity
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
    assert data["sources"] == [{"name": "kubernetes", "up": True, "error": None}]


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
