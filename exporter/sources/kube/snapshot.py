"""What the Kubernetes source hands to the checks: projected objects by resource key (no I/O here)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class KubeSnapshot:
    """Projected objects by resource key (as named in the ResourceSpecs)."""

    objects: Mapping[str, tuple[Any, ...]]

    def get(self, key: str) -> tuple[Any, ...]:
        return self.objects.get(key, ())
