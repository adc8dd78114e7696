"""Pure parsing of Elasticsearch answers (6.8 ... 9.x, OpenSearch 1.x/2.x): settings, disks, indices, blocks."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

WATERMARK = "cluster.routing.allocation.disk.watermark"
LEVELS = ("low", "high", "flood_stage")
# 8.x defaults for max_headroom (used only when the watermark itself is not set explicitly)
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|tb|pb)?\s*$", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3, "tb": 1024**4, "pb": 1024**5}


def flatten(settings: Any, prefix: str = "") -> dict[str, str]:
    """Nested or flat settings (or a mix: keys with dots inside objects) as flat dotted keys."""
    out: dict[str, str] = {}
    if not isinstance(settings, Mapping):
        return out
    for key, value in settings.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            out.update(flatten(value, path))
        elif isinstance(value, list):
            out[path] = ",".join(str(v) for v in value)
        elif value is not None:
            out[path] = str(value)
    return out


@dataclass(frozen=True)
class ClusterSettings:
    effective: dict[str, str]  # transient > persistent > defaults
    explicit: frozenset[str]  # keys set in transient or persistent

    @staticmethod
    def parse(document: Mapping[str, Any]) -> ClusterSettings:
        defaults = flatten(document.get("defaults"))
        persistent = flatten(document.get("persistent"))
        transient = flatten(document.get("transient"))
        return ClusterSettings({**defaults, **persistent, **transient}, frozenset(persistent) | frozenset(transient))

    def enabled(self) -> bool:
        return self.effective.get("cluster.routing.allocation.disk.threshold_enabled", "true").lower() != "false"


def _size(text: str) -> float | None:
    found = _SIZE.match(text)
    if not found:
        return None
    return float(found.group(1)) * _UNITS[(found.group(2) or "b").lower()]


def free_bytes_threshold(settings: ClusterSettings, level: str, total: float) -> float | None:
    """Free bytes below which ``level`` is reached on a disk of ``total`` bytes.

    Percentages and ratios mean used space (85% -> 15 % of the disk must stay free); byte values mean free
    space. On 8.x a percentage is capped by ``<level>.max_headroom`` when that is set explicitly, or when
    the watermark itself is a default (then the default headroom applies)."""
    raw = settings.effective.get(f"{WATERMARK}.{level}")
    if raw is None:
        return None
    raw = raw.strip()
    ratio: Fraction | None = None
    try:  # exact arithmetic: 90% of 100 GiB leaves exactly 10 GiB, not 9.999...
        if raw.endswith("%"):
            ratio = Fraction(raw[:-1].strip()) / 100
        elif Fraction(raw) <= 1:
            ratio = Fraction(raw)
    except (ValueError, ZeroDivisionError):  # a byte value ("100gb"), or text Elasticsearch itself would reject
        ratio = None
    if ratio is None:
        return _size(raw)
    if not 0 <= ratio <= 1:  # a negative ratio or a percentage over 100: Elasticsearch rejects it, so do we
        return None
    free = float(Fraction(total) * (1 - ratio))
    headroom_key = f"{WATERMARK}.{level}.max_headroom"
    headroom_raw = settings.effective.get(headroom_key)
    if headroom_raw and (headroom_key in settings.explicit or f"{WATERMARK}.{level}" not in settings.explicit):
        headroom = _size(headroom_raw)
        if headroom is not None and headroom >= 0:
            free = min(free, headroom)
    return free


@dataclass(frozen=True)
class NodeDisk:
    node: str
    path: str
    total: float
    available: float


def least_available_paths(nodes_stats: Mapping[str, Any]) -> list[NodeDisk]:
    """Per data node, the data path with the least available bytes (the one Elasticsearch judges by)."""
    out = []
    nodes = nodes_stats.get("nodes")
    for node_id, node in nodes.items() if isinstance(nodes, Mapping) else ():
        if not isinstance(node, Mapping):
            continue
        roles = node.get("roles")
        if isinstance(roles, list) and not any(str(r).startswith("data") for r in roles):
            continue
        disks = []
        fs = node.get("fs")
        paths = fs.get("data") if isinstance(fs, Mapping) else None
        for data in paths if isinstance(paths, list) else ():
            if not isinstance(data, Mapping):
                continue
            total = data.get("total_in_bytes")
            available = data.get("available_in_bytes", data.get("free_in_bytes"))
            if isinstance(total, int | float) and isinstance(available, int | float):
                disks.append(NodeDisk(str(node.get("name") or node_id), str(data.get("path") or ""), total, available))
        if disks:
            out.append(min(disks, key=lambda d: d.available))
    return sorted(out, key=lambda d: d.node)


@dataclass(frozen=True)
class JaegerIndex:
    name: str
    family: str  # span, service, dependencies, sampling
    date: datetime | None  # from the name (UTC); None for rollover indices
    created: float | None  # creation.date (seconds)
    docs: int
    size: int
    status: str


def index_pattern(prefix: str) -> str:
    return f"{prefix}-jaeger-*" if prefix else "jaeger-*"


def parse_index(name: str, prefix: str, separator: str) -> tuple[str, datetime | None] | None:
    """(family, date) of a Jaeger index name with this prefix, or None when it is not one."""
    expected = f"{prefix}-jaeger-" if prefix else "jaeger-"
    if not name.startswith(expected):
        return None
    family, _, rest = name[len(expected) :].partition("-")
    if family not in ("span", "service", "dependencies", "sampling") or not rest:
        return None
    sep = re.escape(separator)
    found = re.fullmatch(rf"(\d{{4,5}}){sep}(\d{{2}}){sep}(\d{{2}})(?:-(\d{{2}}))?", rest)
    if not found:
        return family, None  # rollover (-000001) or another suffix
    year, month, day = (int(g) for g in found.groups()[:3])
    hour = int(found.group(4)) if found.group(4) else 0
    try:
        return family, datetime(year, month, day, hour, tzinfo=UTC)
    except ValueError:
        return family, datetime.max.replace(tzinfo=UTC) if year > 9999 else None


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def parse_cat_indices(rows: Any, prefix: str, separator: str) -> list[JaegerIndex]:
    out = []
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, Mapping):
            continue
        parsed = parse_index(str(row.get("index") or ""), prefix, separator)
        if parsed is None:
            continue
        created = row.get("creation.date")
        out.append(
            JaegerIndex(
                name=str(row["index"]),
                family=parsed[0],
                date=parsed[1],
                created=_int(created) / 1000 if created is not None else None,
                docs=_int(row.get("docs.count")),
                size=_int(row.get("store.size")),
                status=str(row.get("status") or ""),
            )
        )
    return sorted(out, key=lambda i: i.name)


BLOCKS = ("index.blocks.read_only_allow_delete", "index.blocks.read_only", "index.blocks.write")


def parse_blocks(document: Any) -> dict[str, tuple[str, ...]]:
    """{index: blocks set to true}; indices without blocks are absent from the answer anyway."""
    out: dict[str, tuple[str, ...]] = {}
    for index, body in (document or {}).items() if isinstance(document, Mapping) else ():
        settings = flatten((body or {}).get("settings") if isinstance(body, Mapping) else {})
        blocked = tuple(b for b in BLOCKS if settings.get(b, "").lower() == "true")
        if blocked:
            out[str(index)] = blocked
    return out
