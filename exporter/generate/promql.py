"""Rewrites of the catalogue's PromQL for a user's Prometheus: label matchers per metric family and a cluster
label kept through every aggregation and vector match.

The Helm chart applies the same regular expressions (RE2 has ``\\b`` but no look-ahead, so none is used), which
is why the catalogue writes every aggregation and match with an explicit ``by (…)`` / ``on (…)`` list (``by ()``
where nothing is kept): a rewrite only has to widen those lists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# metric-name prefixes whose selectors are configurable: ours, Istio's, and Jaeger's (v1 jaeger_*, v2 also the
# OpenTelemetry Collector's otelcol_*, which only Jaeger's rules use)
FAMILIES = ("meshhealth_", "istio_", "jaeger_", "otelcol_")

_GROUPING_EMPTY = re.compile(r"\b(by|on) \(\)")
_GROUPING = re.compile(r"\b(by|on) \(([^)])")


def with_selector(expr: str, selector: str, prefix: str = "meshhealth_") -> str:
    """``expr`` with ``selector`` added to every metric whose name starts with ``prefix``."""
    return _add_matchers(expr, selector, rf"{re.escape(prefix)}[a-zA-Z0-9_]+")


def with_selector_on(expr: str, selector: str, names: Iterable[str]) -> str:
    """``expr`` with ``selector`` added to every metric named in ``names`` (exactly)."""
    # the look-ahead makes a name that is a prefix of another (x, x_total) match only itself, in any order
    alternatives = "|".join(sorted(re.escape(n) for n in names))
    return _add_matchers(expr, selector, rf"(?:{alternatives})(?![a-zA-Z0-9_])") if alternatives else expr


def _add_matchers(expr: str, selector: str, name: str) -> str:
    if not selector:
        return expr
    pattern = re.compile(rf"\b({name})(\{{)?")
    return pattern.sub(lambda m: f"{m[1]}{{{selector}," if m[2] else f"{m[1]}{{{selector}}}", expr)


def keep_label(expr: str, label: str) -> str:
    """``expr`` with ``label`` added to every ``by (…)`` and ``on (…)`` list, so no aggregation or vector match
    merges series of different clusters (kubernetes-mixin's ``clusterLabel``)."""
    if not label:
        return expr
    expr = _GROUPING.sub(rf"\1 ({label}, \2", expr)
    return _GROUPING_EMPTY.sub(rf"\1 ({label})", expr)


@dataclass(frozen=True)
class Scope:
    """Where the generated queries run: one selector per family and the cluster label."""

    meshhealth: str = ""
    istio: str = ""
    jaeger: str = ""
    cluster_label: str = ""

    def apply(self, expr: str) -> str:
        selectors = {
            "meshhealth_": self.meshhealth,
            "istio_": self.istio,
            "jaeger_": self.jaeger,
            "otelcol_": self.jaeger,
        }
        for prefix in FAMILIES:
            expr = with_selector(expr, selectors[prefix], prefix)
        return keep_label(expr, self.cluster_label)
