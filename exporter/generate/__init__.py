"""Everything generated from the catalogue: rule files, dashboards, runbooks, config docs, the chart's data.

The promtool tests of the default rules (alert_rules/tests) are made from the test scenarios by
``python -m tests.scenarios.rule_tests`` (``make generate`` runs both)."""

from __future__ import annotations

import json
from pathlib import Path

from exporter.config import Settings, load_settings
from exporter.generate.config_reference import render_config_reference
from exporter.generate.dashboards import render_dashboards
from exporter.generate.helm_data import helm_files
from exporter.generate.rules import render_prometheus_rule, render_rules_file
from exporter.generate.runbooks import render_runbooks
from exporter.report_schema import json_schema


def generated_files(settings: Settings, project_tree: bool = True) -> dict[str, str]:
    """Relative path → content of every generated file."""
    files = {
        "alert_rules/rules.yaml": render_rules_file(settings),
        "alert_rules/prometheusrule.yaml": render_prometheus_rule(settings),
        "docs/runbooks.md": render_runbooks(settings),
        "docs/configuration.md": render_config_reference(),
        "docs/check-output.schema.json": json.dumps(json_schema(), indent=2, sort_keys=True) + "\n",
    }
    dashboards = render_dashboards(settings)
    files.update({f"grafana_dashboards/{name}": text for name, text in dashboards.items()})
    if project_tree:  # the project's own tree: the chart's data starts from the defaults
        files.update(helm_files(load_settings(), dashboards))
    return files


def write_all(settings: Settings, root: Path, project_tree: bool = True) -> list[Path]:
    written = []
    for rel, text in generated_files(settings, project_tree).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
