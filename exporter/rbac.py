"""Least-privilege RBAC derived from the resources the enabled checks read (get/list/watch only).

Cluster-wide resources become ClusterRole rules; resources read only in some namespaces (ConfigMaps
and HPAs of the control plane) become Role rules in those namespaces. Secrets are never read.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from exporter.app import active_checks
from exporter.config import Settings
from exporter.sources.kube.source import merge_specs

READ_VERBS = ["get", "list", "watch"]


def _rules(pairs: set[tuple[str, str]]) -> list[dict[str, Any]]:
    by_group: dict[str, list[str]] = defaultdict(list)
    for group, plural in sorted(pairs):
        by_group[group].append(plural)
    return [{"apiGroups": [g], "resources": sorted(r), "verbs": READ_VERBS} for g, r in sorted(by_group.items())]


def rbac_rules(settings: Settings) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """(ClusterRole rules, {namespace: Role rules}) for the enabled checks."""
    specs = merge_specs([spec for c in active_checks(settings) for spec in c.resources(settings)])
    cluster: set[tuple[str, str]] = set()
    namespaced: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for spec in specs:
        if spec.plural == "secrets":
            raise ValueError("checks must not read Secrets")
        if spec.namespaces:
            for ns in spec.namespaces:
                namespaced[ns].add((spec.group, spec.plural))
        else:
            cluster.add((spec.group, spec.plural))
    return _rules(cluster), {ns: _rules(pairs - cluster) for ns, pairs in sorted(namespaced.items()) if pairs - cluster}
