"""What the Kubernetes source hands to the checks: projected objects by resource key (no I/O here)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class KubeSnapshot:
    """Projected objects by resource key (as named in the ResourceSpecs)."""

    objects: Mapping[str, tuple[Any, ...]]
    failed: Mapping[str, str] = field(default_factory=dict)  # resource key -> why it could not be read
    probes: Mapping[str, str] = field(default_factory=dict)  # "host:port" -> "" (connected) or why not (CF11)
    _derived: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def get(self, key: str) -> tuple[Any, ...]:
        return self.objects.get(key, ())

    def unreadable(self, keys: Iterable[str]) -> dict[str, str]:
        """Which of ``keys`` could not be read, and why (a check needing one of them is not evaluated)."""
        return {k: self.failed[k] for k in keys if k in self.failed}

    def derived(self, key: str, build: Callable[[KubeSnapshot], T]) -> T:
        """An index built from this snapshot once and shared by the checks that read it (lives as long as it)."""
        if key not in self._derived:
            self._derived[key] = build(self)
        value: T = self._derived[key]
        return value
