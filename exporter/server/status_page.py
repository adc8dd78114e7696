"""The HTML status page: sources, checks and findings by severity with runbook links."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import jinja2

from exporter import __version__
from exporter.build import revision
from exporter.catalog import BY_ID
from exporter.evaluate import CheckOutcome, FindingKey, all_findings, finding_key
from exporter.model import Severity, SourceView
from exporter.server.next_steps import next_step

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


COLLAPSE_AFTER = 3  # more findings of one check than this are one expandable row


def _since(first_seen: float | None) -> str:
    if first_seen is None:
        return ""
    return f"{datetime.fromtimestamp(first_seen, UTC).strftime('%Y-%m-%d %H:%M')} UTC"


def render_status_page(
    sources: list[SourceView],
    outcomes: list[CheckOutcome],
    updated_at: float | None,
    runbook_base: str,
    first_seen: Mapping[FindingKey, float] | None = None,
    telemetry_path: str = "/metrics",
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
            "next_step": "" if s.up else next_step(s),
        }
        for s in sources
    ]
    down = [row for row in source_rows if not row["up"]]
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
    seen = first_seen or {}
    by_severity = []
    for sev in sorted(Severity, reverse=True):
        groups: dict[str, list[dict[str, str]]] = {}
        for f in findings:
            if f.severity == sev:
                row = {**f.as_dict(), "since": _since(seen.get(finding_key(f)))}
                groups.setdefault(f.check, []).append(row)
        if groups:
            by_severity.append(
                (sev.label, [(check, rows, len(rows) > COLLAPSE_AFTER) for check, rows in groups.items()])
            )
    not_evaluated = [c for c in checks if not c["up"]]
    banner = ""
    if down or not_evaluated:
        parts = []
        if down:
            parts.append(f"{len(down)} of {len(source_rows)} sources down")
        if not_evaluated:
            parts.append(f"{len(not_evaluated)} of {len(checks)} checks not evaluated")
        banner = "Not monitoring: " + ", ".join(parts) + ". A missing finding below does not mean healthy."
    return _ENV.get_template("status.html.j2").render(
        version=f"{__version__} ({revision()})",
        telemetry_path=telemetry_path,
        updated_at=_when(updated_at) if updated_at else "",
        sources=source_rows,
        checks=checks,
        findings_by_severity=by_severity,
        runbook_base=runbook_base,
        banner=banner,
        down=down,
        not_evaluated=not_evaluated,
        mh01_runbook=f"{runbook_base}#mh01",
    )
