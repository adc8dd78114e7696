"""The HTML status page: sources, checks and findings by severity with runbook links."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import jinja2

from exporter import __version__
from exporter.catalog import BY_ID
from exporter.evaluate import CheckOutcome, all_findings
from exporter.model import Severity, SourceView

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("exporter.server", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    undefined=jinja2.StrictUndefined,
)


def _when(ts: float | None) -> str:
    if ts is None:
        return "never"
    ago = max(0, int(time.time() - ts))
    return f"{datetime.fromtimestamp(ts, UTC).strftime('%Y-%m-%d %H:%M:%S')} UTC ({ago}s ago)"


def render_status_page(
    sources: list[SourceView], outcomes: list[CheckOutcome], updated_at: float | None, runbook_base: str
) -> str:
    source_rows: list[dict[str, Any]] = [
        {
            "name": s.name,
            "instance": s.instance,
            "up": s.up,
            "attempted": s.attempted,
            "last_success_text": _when(s.last_success),
            "duration_text": f"{s.duration:.3f}s" if s.duration is not None else "",
            "error_reason": s.error_reason,
            "error": s.error,
        }
        for s in sources
    ]
    checks = [
        {
            "id": o.check,
            "title": BY_ID[o.check].title,
            "up": o.up,
            "error": o.error,
            "count": len(o.result.findings),
            "runbook": f"{runbook_base}#{BY_ID[o.check].anchor}",
        }
        for o in sorted(outcomes, key=lambda o: o.check)
    ]
    findings = all_findings(outcomes)
    by_severity = [
        (sev.label, [f for f in findings if f.severity == sev])
        for sev in sorted(Severity, reverse=True)
        if any(f.severity == sev for f in findings)
    ]
    return _ENV.get_template("status.html.j2").render(
        version=__version__,
        updated_at=_when(updated_at) if updated_at else "",
        sources=source_rows,
        checks=checks,
        findings_by_severity=by_severity,
        runbook_base=runbook_base,
    )
