"""Run a check's scenario through promtool: its rendered samples become the alert rules' input series."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

from exporter.checks import ALL_CHECKS
from exporter.config import Settings
from exporter.durations import parse_duration
from exporter.evaluate import CheckOutcome, evaluate
from exporter.generate.rules import render_rules_file
from exporter.generate.scenario_series import number, series_name
from exporter.metrics.render import build_families, render
from exporter.model import Finding
from tests.scenarios import Scenario

HEALTHY_MINUTES = 30
CHECKS = {c.id: c for c in ALL_CHECKS}

Key = tuple[str, tuple[tuple[str, str], ...]]

# The world outside the check under test is healthy: the exporter is scraped and the mesh serves traffic, so
# alerts on the absence of a series (MeshHealthExporterAbsent, TM01) stay quiet unless a scenario is about them.
BUILD_INFO: Key = ("meshhealth_build_info", (("python_version", "3.11.2"), ("version", "1.0.0")))
# series -> (first value, increase per minute)
BACKGROUND_SERIES = {
    'meshhealth_build_info{python_version="3.11.2",version="1.0.0"}': (1, 0),
    'istio_requests_total{destination_service="reviews.bookinfo.svc.cluster.local",job="kubernetes-pods",'
    'reporter="destination",response_code="200",response_flags="-"}': (0, 600),
}


def rendered_samples(outcome: CheckOutcome, settings: Settings) -> dict[Key, float]:
    """The samples of exactly this check, as /metrics serves them (no source or process metrics)."""
    families = build_families([], [outcome], settings.findings.max_series_per_check)
    return parse_body(render(families, process_metrics=False).text.decode())


def parse_body(body: str) -> dict[Key, float]:
    """Series of a /metrics body (without *_created and build info) and their values."""
    out: dict[Key, float] = {}
    for family in text_string_to_metric_families(body):
        for s in family.samples:
            if s.name.endswith("_created") or s.name.startswith("meshhealth_build"):
                continue
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _values(healthy: float | None, unhealthy: float | None, until: int) -> str:
    h = f"_x{HEALTHY_MINUTES}" if healthy is None else f"{number(healthy)}x{HEALTHY_MINUTES - 1}"
    steps = until - HEALTHY_MINUTES
    u = f"_x{steps + 1}" if unhealthy is None else f"{number(unhealthy)}x{steps}"
    return f"{h} {u}"


@dataclass
class Run:
    findings: list[Finding]
    fired: dict[str, list[dict[str, str]]]  # alertname -> label sets
    output: str


def alert_fors(rules: str) -> dict[str, int]:
    """Alert name -> `for` in minutes (the longest of a graded alert's variants), from a rendered rules file."""
    out: dict[str, int] = {}
    for group in yaml.safe_load(rules)["groups"]:
        for rule in group["rules"]:
            if "alert" in rule:
                minutes = int((parse_duration(rule.get("for", "0m")) or 0) // 60)
                out[rule["alert"]] = max(out.get(rule["alert"], 0), minutes)
    return out


_BLOCK = re.compile(r"alertname: (\w+), time: [^\n]*\n\s*exp:\[.*?\],?\s*\n\s*got:\[(.*?)\n\s*\]", re.S)
_LABELS = re.compile(r"Labels:\{(.*?)\}\n")
_PAIR = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_fired(output: str) -> dict[str, list[dict[str, str]]]:
    fired: dict[str, list[dict[str, str]]] = {}
    for name, got in _BLOCK.findall(output):
        for labels in _LABELS.findall(got):
            fired.setdefault(name, []).append({k: json.loads(f'"{v}"') for k, v in _PAIR.findall(labels)})
    return fired


def run_scenario(scenario: Scenario, settings: Settings, workdir: Path, promtool: str, unhealthy: bool) -> Run:
    """Healthy data for HEALTHY_MINUTES, then (if ``unhealthy``) the unhealthy data until every alert had the
    time to fire; each alert is evaluated `for` + 2 minutes after the change. Returns what fired."""
    rules = render_rules_file(settings)
    fors = alert_fors(rules)
    until = HEALTHY_MINUTES + max(fors.values()) + 5
    now = until * 60.0
    check = CHECKS[scenario.check]
    [before] = evaluate([check], {check.source: scenario.healthy(now)}, settings, now)
    [after] = evaluate([check], {check.source: (scenario.unhealthy if unhealthy else scenario.healthy)(now)},
                       settings, now)  # fmt: skip
    assert before.up and after.up, (before.error, after.error)
    first, second = rendered_samples(before, settings), rendered_samples(after, settings)
    series = [{"series": series_name(k), "values": _values(first.get(k), second.get(k), until)}
              for k in sorted(set(first) | set(second))]  # fmt: skip
    series += [
        {"series": name, "values": f"{start}+{step}x{until}"} for name, (start, step) in BACKGROUND_SERIES.items()
    ]
    tests = [{"eval_time": f"{min(HEALTHY_MINUTES + f + 2, until)}m", "alertname": name, "exp_alerts": []}
             for name, f in sorted(fors.items())]  # fmt: skip
    (workdir / "rules.yaml").write_text(rules)
    test_file = workdir / "test.yaml"
    test_file.write_text(yaml.safe_dump({
        "rule_files": ["rules.yaml"], "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": series, "alert_rule_test": tests}],
    }))  # fmt: skip
    proc = subprocess.run([promtool, "test", "rules", test_file.name], cwd=workdir, capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    output = proc.stdout + proc.stderr
    fired = parse_fired(output)
    if proc.returncode != 0 and not fired:
        raise AssertionError(f"promtool failed without firing alerts:\n{output}")
    return Run(after.result.findings, fired, output)
