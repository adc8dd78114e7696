"""promtool unit tests of the rules as configured, written from the shipped scenario series.

``generate/data/scenario_series.json`` holds, for every failure-mode scenario, the series Prometheus scrapes
while the mesh is healthy and while it is not (the checks' /metrics samples, or Istio's and Jaeger's own
series for rule-only alerts). A sample tied to the clock is stored as ``value + now`` or ``value - now``
(``clock`` +1 / -1), so it is placed on any test's timeline. For the configured rules, each scenario becomes
one test: the healthy series long enough that a wrongly true alert would have fired, then the unhealthy
ones; every alert of that failure mode is expected silent at the end of the healthy phase and one minute
before its ``for`` expires, and after it exactly what promtool evaluates (recorded once, then pinned). The
series carry labels that satisfy the configured selectors and a cluster label, so a selector or a grouping
that loses them shows up as an alert that never fires — which stops the generation with the scenario named.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from exporter.catalog import BY_ID
from exporter.config import Settings, load_settings
from exporter.durations import parse_duration
from exporter.generate.alerts import duration_seconds, effective_alerts, slug
from exporter.generate.rules import render_rules_file
from exporter.generate.scenario_series import Key, ScenarioSeries, load_scenario_series, number, series_name

CLUSTER = "test-cluster"  # value of the cluster label on every test series
QUIET = "_quiet_severity"  # internal: the variant that must not have fired at that time


class RuleTestError(Exception):
    """The configured rules cannot be tested (a selector no sample can satisfy, an alert that never fires)."""


class _NothingFires(RuleTestError):
    """A scenario fires none of its failure mode's alerts."""


# --- labels that satisfy the configured selectors ---------------------------------------------------------

_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?')


def _matchers(selector: str) -> list[tuple[str, str, str]]:
    return [(m[1], m[2], json.loads(f'"{m[3]}"')) for m in _MATCHER.finditer(selector)]


def _regex_example(pattern: str) -> str | None:
    """A value that ``pattern`` (anchored, as PromQL anchors it) matches: the pattern itself when it is a
    literal, else the first alternative with its wildcards filled."""
    candidates = []
    for alternative in pattern.split("|"):
        filled = re.sub(r"\.\*|\.\+|\.\?", lambda m: "" if m[0] != ".+" else "x", alternative.strip("()"))
        candidates += [filled, filled.replace("\\", "")]
    candidates.append(pattern.replace("\\", ""))
    for candidate in candidates:
        try:
            if re.fullmatch(pattern, candidate):
                return candidate
        except re.error:
            return None
    return None


def _apply_selector(labels: dict[str, str], selector: str, family: str) -> None:
    for name, op, value in _matchers(selector):
        have = labels.get(name, "")
        if op == "=":
            labels[name] = value
        elif op == "!=" and have == value:
            labels.pop(name, None)
        elif op == "=~" and not re.fullmatch(value, have):
            example = _regex_example(value)
            if example is None:
                raise RuleTestError(
                    f"no test series can carry a value of {name} matching {value!r} ({family} selector); "
                    "use a simpler regular expression or pass --skip-rule-tests"
                )
            labels[name] = example
        elif op == "!~" and re.fullmatch(value, have):
            labels.pop(name, None)


def scoped_key(key: Key, settings: Settings) -> Key:
    """``key`` with labels the configured selector of its family needs, and the cluster label."""
    name, pairs = key
    labels = dict(pairs)
    if name.startswith("meshhealth_"):
        _apply_selector(labels, settings.metric_selector, "metric_selector")
    elif name.startswith("istio_"):
        _apply_selector(labels, settings.istio_metric_selector, "istio_metric_selector")
    elif name.startswith(("jaeger_", "otelcol_")):
        _apply_selector(labels, settings.jaeger_metric_selector, "jaeger_metric_selector")
    if settings.cluster_label:
        labels[settings.cluster_label] = CLUSTER
    return name, tuple(sorted(labels.items()))


# --- one promtool test per scenario ------------------------------------------------------------------------


def _values(healthy: tuple[float, float] | None, unhealthy: tuple[float, float] | None, change: int, end: int) -> str:
    """promtool's expanding notation: absent ('_'), a staleness marker where a series stops, or start+step per
    minute, healthy then unhealthy."""
    out = []
    if healthy is None:
        out.append(f"_x{change}")
    else:
        out.append(f"{number(healthy[0])}+{number(healthy[1])}x{change - 1}")
    if unhealthy is None and healthy is not None:
        out.append(f"stale _x{end - change}")  # the exporter stopped emitting it: Prometheus marks it stale at once
    elif unhealthy is None:
        out.append(f"_x{end - change + 1}")
    else:
        growing = healthy is not None and unhealthy[1] > 0  # a counter goes on from where it was
        start = healthy[0] + healthy[1] * change if growing and healthy is not None else unhealthy[0]
        out.append(f"{number(start)}+{number(unhealthy[1])}x{end - change}")
    return " ".join(out)


def scenario_case(scenario: ScenarioSeries, settings: Settings) -> dict[str, Any] | None:
    """The promtool test of one scenario under ``settings`` (None when all its alerts are disabled)."""
    alerts = [a for a in effective_alerts(settings) if a.failure_mode.id == scenario.check]
    if not alerts:
        return None
    variants: dict[str, list[tuple[int, str]]] = {}  # graded alerts share a name: one entry per severity
    for a in alerts:
        variants.setdefault(a.alert.name, []).append((int(duration_seconds(a.for_) // 60), a.severity.label))
    longest = max(minutes for v in variants.values() for minutes, _ in v)
    change = max(30, longest + 5)  # a wrongly true alert has fired by the end of the healthy phase
    end = change + longest + 5
    now = end * 60.0
    healthy = {scoped_key(k, settings): s.start(now) for k, s in scenario.healthy.items()}
    unhealthy = {scoped_key(k, settings): s.start(now) for k, s in scenario.unhealthy.items()}
    series = [{"series": series_name(k), "values": _values(healthy.get(k), unhealthy.get(k), change, end)}
              for k in sorted(set(healthy) | set(unhealthy))]  # fmt: skip
    checks: list[dict[str, Any]] = []
    for name, graded in sorted(variants.items()):
        checks.append({"eval_time": f"{change - 1}m", "alertname": name, "exp_alerts": []})
        for minutes, severity in sorted(graded):
            if minutes >= 1:
                before = f"{change + minutes - 1}m"
                if len(graded) == 1:
                    checks.append({"eval_time": before, "alertname": name, "exp_alerts": []})
                else:  # a variant with a shorter `for` may fire by now; this one must not
                    checks.append({"eval_time": before, "alertname": name, "exp_alerts": None, QUIET: severity})
            checks.append({"eval_time": f"{change + minutes + 2}m", "alertname": name, "exp_alerts": None})
    return {"name": scenario.id, "interval": "1m", "input_series": series, "alert_rule_test": checks}


_GOT = re.compile(r"alertname: (\w+), time: (\w+), \n\s*exp:\[.*?\],?\s*\n\s*got:\[(.*?)\n\s*\]", re.S)
_LABELS = re.compile(r"Labels:\{(.*?)\}\n")
_ANNOTATIONS = re.compile(r"Annotations:\{(.*?)\},?\n")
_PAIR = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_fired_with_annotations(output: str) -> dict[tuple[str, str], list[tuple[dict[str, str], dict[str, str]]]]:
    """(alertname, eval_time) -> [(labels, annotations)] of every failed expectation in promtool's output."""
    fired: dict[tuple[str, str], list[tuple[dict[str, str], dict[str, str]]]] = {}
    for name, time, got in _GOT.findall(output):
        labels = [{k: json.loads(f'"{v}"') for k, v in _PAIR.findall(x)} for x in _LABELS.findall(got)]
        notes = [{k: json.loads(f'"{v}"') for k, v in _PAIR.findall(x)} for x in _ANNOTATIONS.findall(got + "\n")]
        minutes = int((parse_duration(time) or 0) // 60)  # promtool prints 1h17m for 77m
        fired[(name, f"{minutes}m")] = list(zip(labels, notes, strict=True))
    return fired


def _record(case: dict[str, Any], rules: str, promtool: str) -> dict[str, Any]:
    """Fill the expected alerts after ``for`` with what promtool evaluates (run once with none expected)."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "rules.yaml").write_text(rules)
        draft = [{**{k: v for k, v in c.items() if k != QUIET}, "exp_alerts": c["exp_alerts"] or []}
                 for c in case["alert_rule_test"]]  # fmt: skip
        (work / "test.yaml").write_text(yaml.safe_dump({"rule_files": ["rules.yaml"], "evaluation_interval": "1m",
                                                        "tests": [{**case, "alert_rule_test": draft}]}))  # fmt: skip
        # the user's own promtool (--promtool or PATH), given a file this function wrote
        proc = subprocess.run([promtool, "test", "rules", "test.yaml"], cwd=work, capture_output=True,  # noqa: S603
                              text=True, timeout=120, check=False)  # fmt: skip
    output = proc.stdout + proc.stderr
    if proc.returncode != 0 and "FAILED" not in output:
        raise RuleTestError(f"{case['name']}: promtool test rules failed:\n{output}")
    fired = parse_fired_with_annotations(output)
    out = []
    for c in case["alert_rule_test"]:
        if c["exp_alerts"] is None:
            got = fired.get((c["alertname"], c["eval_time"]), [])
            quiet = c.get(QUIET)
            if any(labels.get("severity") == quiet for labels, _ in got):
                raise RuleTestError(f"{case['name']}: {c['alertname']} ({quiet}) fires at {c['eval_time']}, before "
                                    "its for")  # fmt: skip
            c = {k: v for k, v in c.items() if k != QUIET}
            c["exp_alerts"] = [{"exp_labels": labels, "exp_annotations": notes} for labels, notes in got]
        elif (c["alertname"], c["eval_time"]) in fired:
            raise RuleTestError(f"{case['name']}: {c['alertname']} fires at {c['eval_time']}, where it must not")
        out.append(c)
    if not any(c["exp_alerts"] for c in out):
        raise _NothingFires(f"{case['name']}: no alert of {case['name'][:4]} fires:\n{output}")
    return {**case, "alert_rule_test": out}


def rule_test_files(settings: Settings, promtool: str, scenarios: list[ScenarioSeries] | None = None) -> dict[str, str]:
    """File name -> promtool test file of the configured rules (``rule_files: [../rules.yaml]``), one per
    catalogue section. Raises RuleTestError when an enabled alert fires in no scenario."""
    rules = render_rules_file(settings)
    enabled = {(a.alert.name, a.severity.label) for a in effective_alerts(settings)}
    defaults = effective_alerts(load_settings(None, {}))
    disabled = {a.failure_mode.id for a in defaults if (a.alert.name, a.severity.label) not in enabled}
    by_section: dict[str, list[dict[str, Any]]] = {}
    for scenario in scenarios if scenarios is not None else load_scenario_series():
        case = scenario_case(scenario, settings)
        if case is None:
            continue
        try:
            recorded = _record(case, rules, promtool)
        except _NothingFires:
            if scenario.check not in disabled:
                raise
            continue  # the scenario of an alert that is disabled; every enabled one must fire elsewhere (below)
        by_section.setdefault(slug(BY_ID[scenario.check].section), []).append(recorded)
    fired = {(c["alertname"], e["exp_labels"]["severity"]) for cases in by_section.values() for t in cases
             for c in t["alert_rule_test"] for e in c["exp_alerts"] or ()}  # fmt: skip
    silent = sorted(enabled - fired)
    if silent:
        raise RuleTestError(f"no scenario fires {silent}")
    header = (
        "# Generated by `mesh-health-exporter generate` from the scenario series of every failure mode. Do not "
        "edit.\n# promtool test rules alert_rules/tests/*.yaml\n"
    )
    files = {}
    for section, cases in sorted(by_section.items()):
        doc = {"rule_files": ["../rules.yaml"], "evaluation_interval": "1m", "tests": cases}
        files[f"{section}.yaml"] = header + yaml.safe_dump(doc, sort_keys=False, width=120, allow_unicode=True)
    return files
