"""docs/runbooks.md: one anchor per failure-mode ID, linked from every alert's runbook_url."""

from __future__ import annotations

import jinja2

from exporter.catalog import CATALOG
from exporter.config import Settings
from exporter.generate.alerts import effective_alerts

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("exporter.generate", "templates"),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
    autoescape=False,  # noqa: S701 (Markdown output)
)


def render_runbooks(settings: Settings) -> str:
    alerts = effective_alerts(settings)
    entries = [
        {"fm": fm, "alerts": [a for a in alerts if a.failure_mode.id == fm.id]}
        for fm in CATALOG
        if settings.checks.for_id(fm.id).enabled
    ]
    return _ENV.get_template("runbooks.md.j2").render(entries=entries)
