"""Everything generated from the catalogue: rule files and their promtool tests, dashboards, runbooks, config
docs, the chart's data.

The promtool tests are written from the scenario series shipped in ``generate/data`` (``rule_tests``); they
need promtool, which evaluates each scenario once to record the alerts it fires."""

from __future__ import annotations

import json
from pathlib import Path

from exporter.config import Settings, load_settings
from exporter.generate.config_reference import render_config_reference
from exporter.generate.dashboard_lint import render_lint_config
from exporter.generate.dashboards import render_dashboards
from exporter.generate.helm_data import helm_files
from exporter.generate.rule_tests import rule_test_files
from exporter.generate.rules import render_prometheus_rule, render_rules_file
from exporter.generate.runbooks import render_runbooks
from exporter.report_schema import json_schema


def generated_files(settings: Settings, project_tree: bool = True, promtool: str | None = None) -> dict[str, str]:
    """Relative path → content of every generated file; the rules' promtool tests when ``promtool`` is given."""
    files = {
        "alert_rules/rules.yaml": render_rules_file(settings),
        "alert_rules/prometheusrule.yaml": render_prometheus_rule(settings),
        "docs/runbooks.md": render_runbooks(settings),
        "docs/configuration.md": render_config_reference(),
        "docs/check-output.schema.json": json.dumps(json_schema(), indent=2, sort_keys=True) + "\n",
    }
    dashboards = render_dashboards(settings)
    files.update({f"grafana_dashboards/{name}": text for name, text in dashboards.items()})
    files["grafana_dashboards/.lint"] = render_lint_config(dashboards)
    if promtool is not None:
        tests = rule_test_files(settings, promtool)
        files.update({f"alert_rules/tests/{name}": text for name, text in tests.items()})
    if project_tree:  # the project's own tree: the chart's data starts from the defaults
        files.update(helm_files(load_settings(), dashboards))
    return files


def write_all(settings: Settings, root: Path, project_tree: bool = True, promtool: str | None = None) -> list[Path]:
    files = generated_files(settings, project_tree, promtool)
    tests_dir = root / "alert_rules" / "tests"
    if promtool is not None and tests_dir.is_dir():  # a section without tests now (its alerts disabled)
        for old in tests_dir.glob("*.yaml"):
            if f"alert_rules/tests/{old.name}" not in files:
                old.unlink()
    written = []
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
