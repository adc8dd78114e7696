"""Which selectors of a rule select nothing while all is well, for Cloudflare pint's ``promql/series`` check.

pint (online) asks Prometheus whether every selector of a rule returns series and reports one that does not.
Many of our metrics exist only while a problem exists (``meshhealth_finding``, a stale proxy's age, a
missing component): that is what keeps the series count growing with problems, not with pods. For each such
selector the rules carry ``# pint disable promql/series(<selector>)``, as pint documents. A selector is
problem-only when no healthy scenario of any failure mode (``generate/data/scenario_series.json``) has a
series it matches. Jaeger's rules read both generations' names (v1 ``jaeger_collector_*``, v2 ``otelcol_*``);
only one runs, so those names are disabled too. A few relayed series are absent on a healthy mesh although
the scenarios have them (``ABSENT_WHILE_HEALTHY``, found by the pint end-to-end test on the real istiod).
"""

from __future__ import annotations

import re
from functools import cache

from exporter.generate.scenario_series import load_scenario_series

_SELECTOR = re.compile(r"\b(meshhealth_[a-zA-Z0-9_]+|jaeger_collector_[a-zA-Z0-9_]+|otelcol_[a-zA-Z0-9_]+)(\{[^}]*\})?")
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?')
GENERATIONS = ("jaeger_collector_", "otelcol_")
# relayed from upstream series that a healthy component does not have yet (seen on the testbed's real istiod)
ABSENT_WHILE_HEALTHY = {
    "meshhealth_istiod_rejected_configs_total": "istiod creates pilot_total_rejected_configs at its first rejection",
    "meshhealth_istiod_convergence_p99_seconds": "only after pushes in the last refresh interval; a quiet mesh has "
    "none",
}


@cache
def _healthy_series() -> tuple[tuple[str, frozenset[tuple[str, str]]], ...]:
    return tuple((name, frozenset(labels)) for s in load_scenario_series() for (name, labels) in s.healthy)


def _matches(labels: dict[str, str], matchers: str) -> bool:
    for name, op, value in _MATCHER.findall(matchers):
        have = labels.get(name, "")
        ok = {"=": have == value, "!=": have != value, "=~": re.fullmatch(value, have) is not None,
              "!~": re.fullmatch(value, have) is None}[op]  # fmt: skip
        if not ok:
            return False
    return True


def present_while_healthy(name: str, matchers: str = "") -> bool:
    return any(n == name and _matches(dict(labels), matchers) for n, labels in _healthy_series())


def problem_only_selectors(expr: str) -> list[str]:
    """The selectors of ``expr`` (catalogue form, before a user's selectors are added) that pint's promql/series
    would find empty on a healthy mesh, as ``name`` or ``name{matchers}`` for a pint disable comment."""
    found = _SELECTOR.findall(expr)
    both_generations = all(any(n.startswith(g) for n, _ in found) for g in GENERATIONS)
    out: list[str] = []
    for name, braces in found:
        if name.startswith(GENERATIONS):
            quiet = both_generations
        else:
            quiet = name in ABSENT_WHILE_HEALTHY or not present_while_healthy(name, braces.strip("{}"))
        selector = f"{name}{braces}" if braces and not name.startswith(GENERATIONS) else name
        if quiet and selector not in out:
            out.append(selector)
    return out
