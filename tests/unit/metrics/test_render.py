import gzip

import pytest
from prometheus_client.parser import text_string_to_metric_families

from exporter.evaluate import CheckOutcome
from exporter.metrics.render import build_families, render
from exporter.model import CheckResult, Finding, Sample, Severity, SourceView


def parse(body: bytes):
    return {
        s.name: s
        for fam in text_string_to_metric_families(body.decode())
        for s in fam.samples
        if s.name.startswith("meshhealth_")
    }


def samples(body: bytes, name: str):
    return [
        (s.labels, s.value)
        for fam in text_string_to_metric_families(body.decode())
        for s in fam.samples
        if s.name == name
    ]


def source(up=True, **kw):
    base = dict(
        name="kubernetes",
        instance="https://k8s:443",
        up=up,
        attempted=True,
        last_success=1000.0,
        duration=0.25,
        errors={},
    )
    base.update(kw)
    return SourceView(**base)


def finding(name, severity=Severity.WARNING):
    return Finding("NS01", severity, "", "Namespace", name, "stuck")


def test_findings_are_capped_and_suppressed_counted():
    result = CheckResult(findings=[finding(f"ns{i}") for i in range(5)] + [finding("z", Severity.CRITICAL)])
    body = render(build_families([source()], [CheckOutcome("NS01", True, result)], max_findings_per_check=3)).text
    per = samples(body, "meshhealth_finding")
    assert len(per) == 3
    assert per[0][0]["name"] == "z" and per[0][0]["severity"] == "critical"  # the most severe are kept
    assert samples(body, "meshhealth_check_findings") == [({"check": "NS01"}, 6.0)]
    assert samples(body, "meshhealth_findings_suppressed") == [({"check": "NS01"}, 3.0)]


def test_healthy_check_reports_zero_not_absence():
    body = render(build_families([source()], [CheckOutcome("NS01", True, CheckResult())], 100)).text
    assert samples(body, "meshhealth_check_findings") == [({"check": "NS01"}, 0.0)]
    assert samples(body, "meshhealth_check_up") == [({"check": "NS01"}, 1.0)]


def test_mh01_check_without_fresh_data_withdraws_its_metrics_and_the_source_says_why():
    stale = CheckOutcome("NS01", False, CheckResult(samples=[Sample.of("meshhealth_namespaces_terminating", 0)]))
    body = render(build_families([source(up=False, error="boom", error_reason="timeout")], [stale], 100)).text
    assert samples(body, "meshhealth_check_up") == [({"check": "NS01"}, 0.0)]
    assert samples(body, "meshhealth_check_findings") == []
    assert samples(body, "meshhealth_namespaces_terminating") == []
    assert samples(body, "meshhealth_source_up") == [
        ({"source": "kubernetes", "source_instance": "https://k8s:443"}, 0.0)
    ]
    [(labels, _)] = samples(body, "meshhealth_source_error_info")
    assert labels["reason"] == "timeout" and labels["error"] == "boom"


def test_source_self_metrics_and_build_info():
    src = source(errors={"timeout": 2, "forbidden": 1})
    body = render(build_families([src], [], 100)).text
    assert samples(body, "meshhealth_source_last_success_timestamp_seconds")[0][1] == 1000.0
    assert samples(body, "meshhealth_source_refresh_duration_seconds")[0][1] == 0.25
    errors = {s[0]["reason"]: s[1] for s in samples(body, "meshhealth_source_errors_total")}
    assert errors == {"timeout": 2.0, "forbidden": 1.0}
    [(labels, value)] = samples(body, "meshhealth_build_info")
    assert value == 1.0 and labels["version"]


def test_samples_must_use_catalogue_labels():
    bad = CheckOutcome(
        "NS01", True, CheckResult(samples=[Sample.of("meshhealth_namespace_terminating_seconds", 1, ns="x")])
    )
    with pytest.raises(ValueError, match="differ from the catalogue"):
        build_families([], [bad], 100)


def test_both_formats_and_gzip_are_encoded_once():
    rendered = render(build_families([source()], [], 100))
    assert rendered.openmetrics.endswith(b"# EOF\n")
    assert b"# EOF" not in rendered.text
    gz = rendered.body(openmetrics=False, gzipped=True)
    assert gzip.decompress(gz) == rendered.text
    assert rendered.body(openmetrics=False, gzipped=True) is gz
