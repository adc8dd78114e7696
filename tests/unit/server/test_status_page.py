"""The status page never looks healthy while it cannot see; findings say since when; repeats collapse."""

from __future__ import annotations

from exporter.evaluate import CheckOutcome, finding_key, track_first_seen
from exporter.model import CheckResult, Finding, Severity, SourceView
from exporter.server.status_page import render_status_page

BASE = "https://runbooks.example/runbooks.md"


def source(name: str, up: bool, reason: str = "", error: str = "") -> SourceView:
    return SourceView(name, f"{name}-instance", up, True, 1.0 if up else None, 0.1, {}, reason, error)


def crd(name: str) -> Finding:
    return Finding("NS02", Severity.WARNING, "", "CustomResourceDefinition", name, "required CRD not installed")


def test_every_source_down_is_a_banner_not_no_findings():
    sources = [
        source("kubernetes", False, "forbidden", "pods is forbidden"),
        source("istiod", False, "forbidden", "HTTP 403"),
        source("elasticsearch", False, "connection", "cannot connect to es:9200: Connection refused"),
        source("webhook_tls", True),
    ]
    outcomes = [CheckOutcome("CP01", False, error="no fresh data from source kubernetes")]
    page = render_status_page(sources, outcomes, 100.0, BASE)
    assert "Not monitoring: 3 of 4 sources down, 1 of 1 checks not evaluated" in page
    assert page.index("Not monitoring") < page.index("<h2>Findings</h2>")
    assert "No findings.</p>" not in page
    assert "DEBUG_ENDPOINT_AUTH_ALLOWED_NAMESPACES" in page  # istiod 403: the namespace restriction
    assert "read-only RBAC" in page  # kubernetes 403
    assert "elasticsearch.clusters[].urls" in page
    assert f"{BASE}#mh01" in page and f"{BASE}#cp01" in page


def test_all_clear_only_when_everything_is_seen():
    page = render_status_page([source("kubernetes", True)], [CheckOutcome("CP01", True)], 100.0, BASE)
    assert "Not monitoring" not in page and "No findings.</p>" in page


def test_findings_show_since_when_and_many_rows_of_one_check_collapse():
    findings = [crd(f"crd-{i}.networking.istio.io") for i in range(13)]
    outcome = CheckOutcome("NS02", True, CheckResult(findings=findings))
    first = track_first_seen({}, [outcome], 1_700_000_000.0)
    later = track_first_seen(first, [outcome], 1_700_000_600.0)
    assert later[finding_key(findings[0])] == 1_700_000_000.0
    page = render_status_page([source("kubernetes", True)], [outcome], 100.0, BASE, later)
    assert page.count("<details>") == 1 and "13 findings, e.g." in page
    assert "2023-11-14 22:13 UTC" in page  # first seen, not the last refresh
    single = CheckOutcome("NS02", True, CheckResult(findings=findings[:2]))
    assert "<details>" not in render_status_page([source("kubernetes", True)], [single], 100.0, BASE)


def test_first_seen_is_kept_while_a_check_is_blind_and_dropped_when_fixed():
    finding = crd("x")
    seen = track_first_seen({}, [CheckOutcome("NS02", True, CheckResult(findings=[finding]))], 10.0)
    blind = track_first_seen(seen, [CheckOutcome("NS02", False, error="no fresh data")], 20.0)
    assert blind == seen
    assert track_first_seen(blind, [CheckOutcome("NS02", True)], 30.0) == {}
