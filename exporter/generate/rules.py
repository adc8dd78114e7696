"""Prometheus rule files and promtool unit tests, rendered with jinja2."""

from __future__ import annotations

import json
from typing import Any

import jinja2

from exporter.config import Settings
from exporter.generate.alerts import by_section, duration_seconds, effective_alerts, slug

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("exporter.generate", "templates"),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
    autoescape=False,  # noqa: S701 (YAML output; every string goes through the q filter)
)
# JSON strings are valid YAML double-quoted scalars: safe for any PromQL or template text.
_ENV.filters["q"] = lambda value: json.dumps(str(value), ensure_ascii=False)


def _groups(settings: Settings) -> list[dict[str, Any]]:
    return [
        {"name": f"meshhealth.{slug(section)}", "alerts": alerts}
        for section, alerts in by_section(effective_alerts(settings)).items()
    ]


def render_rules_file(settings: Settings) -> str:
    return _ENV.get_template("rules.yaml.j2").render(groups=_groups(settings))


def render_prometheus_rule(settings: Settings) -> str:
    return _ENV.get_template("prometheusrule.yaml.j2").render(groups=_groups(settings))


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}m"


def render_rule_tests(settings: Settings) -> dict[str, str]:
    """One promtool test file per section: each alert fires on its failure, not before ``for``, and
    never on the healthy scenario."""
    files = {}
    for section, alerts in by_section(effective_alerts(settings)).items():
        cases = []
        for a in alerts:
            t = a.alert.test
            start = t.true_from * 60
            hold = duration_seconds(a.for_)
            labels = {**t.labels, "alertname": a.alert.name, "severity": a.severity.label}
            annotations = {**a.annotations, "description": t.description}
            cases.append(
                {
                    "alert": a,
                    "test": t,
                    "silent_at": _minutes(start + hold - 60) if hold >= 60 else None,
                    "fires_at": _minutes(start + hold + 60),
                    "labels": dict(sorted(labels.items())),
                    "annotations": dict(sorted(annotations.items())),
                }
            )
        files[f"{slug(section)}.yaml"] = _ENV.get_template("rules_test.yaml.j2").render(section=section, cases=cases)
    return files
