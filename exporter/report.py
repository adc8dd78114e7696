"""The ``check`` command's report: a table grouped by severity, or JSON."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from exporter.evaluate import CheckOutcome, all_findings
from exporter.model import Finding, Severity, SourceView
from exporter.report_schema import CheckDoc, CheckReport, FindingDoc, SourceDoc


def report_json(
    sources: Sequence[SourceView], outcomes: Sequence[CheckOutcome], check_sources: Mapping[str, str] | None = None
) -> str:
    """The stable document described by docs/check-output.schema.json (exporter.report_schema)."""
    findings = all_findings(outcomes)
    incomplete = any(not s.up for s in sources) or any(not o.up for o in outcomes)
    report = CheckReport(
        status="findings" if findings else "incomplete" if incomplete else "healthy",
        findings=[FindingDoc.model_validate(f.as_dict()) for f in findings],
        checks=[
            CheckDoc(
                id=o.check,
                source=(check_sources or {}).get(o.check, ""),
                up=o.up,
                error=o.error or None,
                findings=len(o.result.findings),
            )
            for o in outcomes
        ],
        sources=[
            SourceDoc(name=s.name, instance=s.instance, up=s.up, error=s.error or None, reason=s.error_reason or None)
            for s in sources
        ],
    )
    return json.dumps(report.model_dump(mode="json"), indent=2)


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    out = []
    for row in rows:
        cells = [c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)]
        out.append("  " + "  ".join([*cells, row[-1]]).rstrip())
    return out


def report_table(sources: Sequence[SourceView], outcomes: Sequence[CheckOutcome]) -> str:
    findings = all_findings(outcomes)
    lines: list[str] = []
    for sev in sorted(Severity, reverse=True):
        group: list[Finding] = [f for f in findings if f.severity == sev]
        lines.append(f"{sev.label.upper()} ({len(group)})")
        if group:
            header = ["CHECK", "NAMESPACE", "KIND", "NAME", "MESSAGE"]
            lines += _table([header] + [[f.check, f.namespace or "-", f.kind, f.name, f.message] for f in group])
        lines.append("")
    not_run = [o for o in outcomes if not o.up]
    if not_run:
        lines.append("NOT EVALUATED")
        lines += _table([["CHECK", "REASON"]] + [[o.check, o.error] for o in not_run])
        lines.append("")
    lines.append("SOURCES")
    rows = [["SOURCE", "INSTANCE", "STATE", "ERROR"]]
    rows += [[s.name, s.instance or "-", "up" if s.up else "down", s.error] for s in sources]
    lines += _table(rows)
    return "\n".join(lines) + "\n"


def exit_code(sources: Sequence[SourceView], outcomes: Sequence[CheckOutcome], fail_on: Severity | None) -> int:
    """1 when a finding at or above ``fail_on`` exists; else 2 when a source was down or a check could not
    be evaluated (the all-clear would be unfounded); else 0."""
    if fail_on is not None and any(f.severity >= fail_on for f in all_findings(outcomes)):
        return 1
    if any(not s.up for s in sources) or any(not o.up for o in outcomes):
        return 2
    return 0
