"""Audit the installed Python distributions against PyPI's vulnerability data, with what this network serves.

pip-audit asks https://api.osv.dev (not resolvable here) or PyPI's per-release JSON
(https://pypi.org/pypi/<name>/<version>/json: 404 through this network's PyPI). PyPI's per-project JSON
(https://pypi.org/pypi/<name>/json) is served: it carries the known vulnerabilities (OSV records, with the
versions that fix them) of the project's latest release, and for every release whether it was yanked.

So each installed distribution is either audited (it is the latest release: its vulnerabilities are those
listed; a yanked release counts as a finding) or not covered (an older release: only its yanked flag is known).
Prints one line per finding and the coverage; exits 1 on a finding, 2 when PyPI cannot be read at all.

Run: make audit
"""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import distributions
from typing import Any

PYPI = "https://pypi.org/pypi/{name}/json"


@dataclass
class Audit:
    findings: list[str] = field(default_factory=list)
    audited: list[str] = field(default_factory=list)
    not_covered: list[str] = field(default_factory=list)  # "name installed (latest x)"
    unreadable: list[str] = field(default_factory=list)


def audit_one(name: str, installed: str, project: dict[str, Any], result: Audit) -> None:
    latest = str(project.get("info", {}).get("version", ""))
    files = project.get("releases", {}).get(installed) or []
    yanked = [f.get("yanked_reason") or "no reason given" for f in files if f.get("yanked")]
    if yanked:
        result.findings.append(f"{name} {installed}: yanked on PyPI ({yanked[0]})")
    if installed != latest:
        result.not_covered.append(f"{name} {installed} (latest {latest})")
        return
    result.audited.append(f"{name} {installed}")
    for vuln in project.get("vulnerabilities") or []:
        if vuln.get("withdrawn"):
            continue
        fixed = ", ".join(vuln.get("fixed_in") or []) or "no fixed release"
        ids = ", ".join([vuln.get("id", "?"), *(vuln.get("aliases") or [])])
        result.findings.append(
            f"{name} {installed}: {ids} (fixed in {fixed}): {vuln.get('summary') or vuln.get('details', '')[:120]}"
        )


def fetch_project(name: str) -> dict[str, Any]:
    with urllib.request.urlopen(PYPI.format(name=name), timeout=30) as resp:
        data: dict[str, Any] = json.load(resp)
    return data


def audit(installed: dict[str, str], fetch: Callable[[str], dict[str, Any]] = fetch_project) -> Audit:
    result = Audit()
    for name, version in sorted(installed.items()):
        try:
            project = fetch(name)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            result.unreadable.append(f"{name}: {exc}")
            continue
        audit_one(name, version, project, result)
    return result


def main() -> int:
    installed = {d.metadata["Name"].lower(): d.version for d in distributions() if d.metadata["Name"]}
    installed.pop("mesh-health-exporter", None)  # this project, not on PyPI
    result = audit(installed)
    for line in result.findings:
        print(f"FINDING {line}")
    for line in result.unreadable:
        print(f"unreadable {line}")
    print(f"audited {len(result.audited)} of {len(installed)} distributions (installed = latest release); "
          f"not covered (older releases, only yanked checked): {', '.join(result.not_covered) or 'none'}")  # fmt: skip
    if len(result.unreadable) == len(installed):
        return 2
    return 1 if result.findings else 0


if __name__ == "__main__":
    sys.exit(main())
