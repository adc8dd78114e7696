"""What the Kubernetes source hands to the checks: projected objects by resource key (no I/O here)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class KubeSnapshot:
    """Projected objects by resource key (as named in the ResourceSpecs)."""

    objects: Mapping[str, tuple[Any, ...]]
    failed: Mapping[str, str] = field(default_factory=dict)  # resource key -> why it could not be read
    probes: Mapping[str, str] = field(default_factory=dict)  # "host:port" -> "" (connected) or why not (CF11)

    def get(self, key: str) -> tuple[Any, ...]:
        return self.objects.get(key, ())

    def unreadable(self, keys: Iterable[str]) -> dict[str, str]:
        """Which of ``keys`` could not be read, and why (a check needing one of them is not evaluated)."""
        return {k: self.failed[k] for k in keys if k in self.failed}
