from exporter.checks.base import CheckDef
from exporter.evaluate import all_findings, evaluate
from exporter.model import CheckResult, Finding, Sample, Severity
from tests.unit.helpers import settings


def crashing(snapshot, s, now):
    raise ZeroDivisionError("boom")


def one_finding(snapshot, s, now):
    return CheckResult(findings=[Finding("NS01", Severity.WARNING, "", "Namespace", "x", "m")])


def no_resources(s):
    return []


def test_a_crashing_check_is_down_and_others_still_run():
    checks = [
        CheckDef("CP01", "kubernetes", no_resources, crashing),
        CheckDef("NS01", "kubernetes", no_resources, one_finding),
    ]
    outcomes = evaluate(checks, {"kubernetes": object()}, settings(), 0.0)
    assert [(o.check, o.up) for o in outcomes] == [("CP01", False), ("NS01", True)]
    assert "ZeroDivisionError: boom" in outcomes[0].error
    assert [f.name for f in all_findings(outcomes)] == ["x"]


def test_check_without_fresh_data_is_not_evaluated():
    checks = [CheckDef("NS01", "kubernetes", no_resources, one_finding)]
    [outcome] = evaluate(checks, {"kubernetes": None}, settings(), 0.0)
    assert not outcome.up and outcome.result.findings == []
    assert outcome.error == "no fresh data from source kubernetes"


def undeclared(snapshot, s, now):
    return CheckResult(
        samples=[Sample.of("meshhealth_not_in_the_catalogue", 1), Sample.of("meshhealth_namespaces_terminating", 1)]
    )


def test_a_check_emitting_undeclared_metrics_is_down_and_nothing_reaches_the_renderer():
    from exporter.metrics.render import build_families

    checks = [
        CheckDef("NS01", "kubernetes", no_resources, undeclared),
        CheckDef("CP01", "kubernetes", no_resources, one_finding),
    ]
    outcomes = evaluate(checks, {"kubernetes": object()}, settings(), 0.0)
    assert not outcomes[0].up and "meshhealth_not_in_the_catalogue" in outcomes[0].error
    assert outcomes[1].up
    build_families([], outcomes, 100)  # renders without raising
