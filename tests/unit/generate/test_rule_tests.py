"""The promtool tests' series: shipped scenario data, placed on a test's timeline, with the labels the configured
selectors and cluster label need."""

from __future__ import annotations

import re

import pytest

from exporter.config import Settings
from exporter.generate.alerts import duration_seconds, effective_alerts
from exporter.generate.rule_tests import CLUSTER, RuleTestError, scenario_case, scoped_key
from exporter.generate.scenario_series import (
    SCENARIO_SERIES,
    Sample,
    ScenarioSeries,
    _samples_from_json,
    load_scenario_series,
    samples_to_json,
)
from tests.scenarios import all_scenarios
from tests.scenarios.rule_only import SCENARIOS as RULE_ONLY
from tests.scenarios.series import render


def test_shipped_scenario_series_are_what_the_scenarios_give():
    assert SCENARIO_SERIES.read_text() == render(), "run `make generate` and commit"


def test_every_scenario_is_shipped_once():
    shipped = [s.id for s in load_scenario_series()]
    assert sorted(shipped) == sorted([s.id for s in all_scenarios()] + [s.id for s in RULE_ONLY])


def test_clock_bound_samples_are_stored_relative_to_the_clock():
    expiring = next(s for s in load_scenario_series() if s.id == "CP11-root-cert-expiring")
    [(_key, sample)] = [(k, v) for k, v in expiring.unhealthy.items() if k[0].endswith("expiry_timestamp_seconds")]
    assert sample.clock == 1 and sample.value == 20 * 86400  # expires 20 days after any now
    assert sample.start(1000.0) == (20 * 86400 + 1000.0, 0.0)


def test_samples_round_trip_through_json_with_nan_and_counters():
    phase = {("m", (("a", "1"),)): Sample(float("nan"), 0, 0.0), ("c_total", ()): Sample(4.0, 0, 60.0),
             ("t", ()): Sample(-5.0, -1, 0.0)}  # fmt: skip
    rows = samples_to_json(phase)
    assert rows[0] == {"name": "c_total", "labels": {}, "value": "4.0", "per_minute": "60.0"}
    assert rows[2] == {"name": "t", "labels": {}, "value": "-5.0", "clock": -1}
    back = _samples_from_json(rows)
    assert back[("c_total", ())] == phase[("c_total", ())] and back[("t", ())] == phase[("t", ())]
    assert back[("m", (("a", "1"),))].value != back[("m", (("a", "1"),))].value  # NaN survives


def key(name: str, **labels: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return name, tuple(sorted(labels.items()))


def test_each_family_gets_its_own_selector_and_every_series_the_cluster_label():
    settings = Settings(metric_selector='job="mesh",env=~"prod|staging"', istio_metric_selector='job=~".*envoy-stats"',
                        jaeger_metric_selector='job="jaeger-collector"', cluster_label="k8s_cluster")  # fmt: skip
    ours = dict(scoped_key(key("meshhealth_finding", check="DP01"), settings)[1])
    assert ours == {"check": "DP01", "job": "mesh", "env": "prod", "k8s_cluster": CLUSTER}
    istio = dict(scoped_key(key("istio_requests_total", job="kubernetes-pods"), settings)[1])
    assert re.fullmatch(".*envoy-stats", istio["job"]) and istio["k8s_cluster"] == CLUSTER
    for name in ("jaeger_collector_queue_length", "otelcol_exporter_queue_size"):
        assert dict(scoped_key(key(name, job="jaeger"), settings)[1])["job"] == "jaeger-collector"
    other = dict(scoped_key(key("up", job="x"), settings)[1])
    assert other == {"job": "x", "k8s_cluster": CLUSTER}


def test_a_label_the_selector_already_accepts_is_kept_and_a_forbidden_one_dropped():
    settings = Settings(istio_metric_selector='job=~"kubernetes-.*",reporter!="source",team!~"a|b"', cluster_label="")
    scoped = dict(scoped_key(key("istio_requests_total", job="kubernetes-pods", reporter="source", team="b"),
                             settings)[1])  # fmt: skip
    assert scoped == {"job": "kubernetes-pods"}


@pytest.mark.parametrize(
    ("pattern", "example"),
    [("prod", "prod"), ("prod|staging", "prod"), ("prod-.*", "prod-"), ("(eu|us)-.+", None), (".+-envoy", "x-envoy"),
     ("a\\.b", "a.b"), ("[0-9]+", None)],
)  # fmt: skip
def test_regex_examples_match_their_pattern_or_are_refused(pattern, example):
    settings = Settings(metric_selector=f'env=~"{pattern.replace(chr(92), chr(92) * 2)}"', cluster_label="")
    if example is None:
        with pytest.raises(RuleTestError, match="metric_selector"):
            scoped_key(key("meshhealth_x"), settings)
    else:
        value = dict(scoped_key(key("meshhealth_x"), settings)[1])["env"]
        assert value == example and re.fullmatch(pattern, value)


def scenario() -> ScenarioSeries:
    k = ("meshhealth_root_cert_expiry_timestamp_seconds", (("istiod", "a"),))
    return ScenarioSeries("CP11", "CP11-x", {k: Sample(400 * 86400, 1, 0)}, {k: Sample(3 * 86400, 1, 0)})


def test_case_timeline_follows_the_configured_for():
    settings = Settings(alerts={"MeshHealthRootCertExpiring/critical": {"for": "45m"}})
    warning = next(a for a in effective_alerts(settings) if a.alert.name == "MeshHealthRootCertExpiring"
               and a.severity.label == "warning")  # fmt: skip
    longest = max(45, int(duration_seconds(warning.for_) // 60))
    change, end = max(30, longest + 5), max(30, longest + 5) + longest + 5
    case = scenario_case(scenario(), settings)
    assert case is not None
    times = {(c["eval_time"], c.get("_quiet_severity")) for c in case["alert_rule_test"]}
    assert (f"{change - 1}m", None) in times  # healthy: nothing yet
    assert (f"{change + 45 - 1}m", "critical") in times  # one minute before the critical variant's for
    assert (f"{change + 45 + 2}m", None) in times  # after it
    [series] = case["input_series"]
    assert series["values"].endswith(f"{float(3 * 86400 + end * 60)!r}+0.0x{end - change}")  # on this test's clock


def test_a_failure_mode_with_every_alert_disabled_has_no_test():
    off = {"alerts": {"MeshHealthRootCertExpiring/critical": {"enabled": False},
                      "MeshHealthRootCertExpiring/warning": {"enabled": False}}}  # fmt: skip
    assert scenario_case(scenario(), Settings(**off)) is None
