"""PromQL as Prometheus parses it (promql-parser, the Rust port of Prometheus' parser), for tests that check the
generated rules and panels: every node of an expression and the series it selects."""

from __future__ import annotations

import re
from collections.abc import Iterator
from string import Template

import promql_parser as pp

# what Grafana puts in for "All" of the dashboards' variables
_VARIABLES = re.compile(r"\$(cluster|job|instance|namespace)\b")


def nodes(node: object) -> Iterator[object]:
    yield node
    for child in ("expr", "lhs", "rhs"):
        if (sub := getattr(node, child, None)) is not None and not isinstance(sub, str):
            yield from nodes(sub)
    for arg in getattr(node, "args", None) or ():
        yield from nodes(arg)
    if isinstance(node, pp.MatrixSelector):
        yield node.vector_selector


def parse(expr: str, fill_variables: bool = True) -> object:
    """``expr`` with catalogue thresholds (``${name}``) filled in, and dashboard variables unless told not to
    (inside label matchers they parse either way), parsed."""
    filled = Template(expr).safe_substitute({k: "1" for k in re.findall(r"\$\{(\w+)\}", expr)})
    return pp.parse(_VARIABLES.sub(".*", filled) if fill_variables else filled)


def selectors(expr: str, fill_variables: bool = True) -> list[pp.VectorSelector]:
    return [n for n in nodes(parse(expr, fill_variables)) if isinstance(n, pp.VectorSelector)]


def metric_names(expr: str) -> set[str]:
    """Names of the series an expression selects (not label values that look like names)."""
    return {vs.name for vs in selectors(expr)}
