"""Prometheus rule files and promtool unit tests, rendered with jinja2."""

from __future__ import annotations

import json
from typing import Any

import jinja2

from exporter.config import Settings
from exporter.generate.alerts import by_section, effective_alerts, slug
from exporter.generate.series_presence import problem_only_selectors

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


_RULE_LABELS = {"app.kubernetes.io/name": "mesh-health-exporter", "app.kubernetes.io/part-of": "mesh-health-exporter"}


def _groups(settings: Settings) -> list[dict[str, Any]]:
    return [
        {
            "name": f"meshhealth.{slug(section)}",
            "alerts": [(a, problem_only_selectors(a.alert.expr)) for a in alerts],
        }
        for section, alerts in by_section(effective_alerts(settings)).items()
    ]


def render_rules_file(settings: Settings) -> str:
    return _ENV.get_template("rules.yaml.j2").render(groups=_groups(settings))


def render_prometheus_rule(settings: Settings) -> str:
    return _ENV.get_template("prometheusrule.yaml.j2").render(
        groups=_groups(settings),
        namespace=settings.prometheus_rule.namespace,
        labels=sorted((_RULE_LABELS | settings.prometheus_rule.labels).items()),
    )
