"""docs/runbooks.md: one anchor per failure-mode ID, linked from every alert's runbook_url."""

from __future__ import annotations

import re

import jinja2

from exporter.catalog import CATALOG
from exporter.catalog.for_reasons import FOR_REASONS
from exporter.catalog.model import exposed_name
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
    entries = []
    for fm in CATALOG:
        if not settings.checks.for_id(fm.id).enabled:
            continue
        own = [a for a in alerts if a.failure_mode.id == fm.id]
        names = [exposed_name(m) for m in fm.metrics]
        names += sorted({t for a in own for t in re.findall(r"\bmeshhealth_[a-z0-9_]+", a.expr)} - set(names))
        entries.append({"fm": fm, "alerts": own, "metrics": names})
    return _ENV.get_template("runbooks.md.j2").render(entries=entries, for_reasons=FOR_REASONS)
