"""Equality-based label selectors (``app=istiod,istio.io/rev!=canary,!legacy``) evaluated in checks."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def matches(selector: str, labels: Mapping[str, str] | Iterable[tuple[str, str]]) -> bool:
    """True when every term holds; the empty selector matches everything."""
    have = dict(labels)
    for raw in selector.split(","):
        term = raw.strip()
        if not term:
            continue
        if "!=" in term:
            key, _, value = term.partition("!=")
            if have.get(key.strip()) == value.strip():
                return False
        elif "=" in term:
            key, _, value = term.replace("==", "=").partition("=")
            if have.get(key.strip()) != value.strip():
                return False
        elif term.startswith("!"):
            if term[1:].strip() in have:
                return False
        elif term not in have:
            return False
    return True
