"""What the Elasticsearch source hands to the checks: one ClusterData per configured cluster (no I/O here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from exporter.sources.elasticsearch.parse import ClusterSettings, JaegerIndex, NodeDisk
from exporter.sources.errors import SourceError


@dataclass(frozen=True)
class ClusterData:
    name: str
    url: str
    error: SourceError | None = None
    version: str = ""
    distribution: str = "elasticsearch"
    health: dict[str, Any] = field(default_factory=dict)
    disks: tuple[NodeDisk, ...] = ()
    settings: ClusterSettings | None = None
    blocks: dict[str, tuple[str, ...]] = field(default_factory=dict)
    indices: tuple[JaegerIndex, ...] = ()
    write_alias_target: str | None = None  # rollover: the index behind <prefix>-jaeger-span-write
    write_index: str | None = None  # the span index the freshness query ran on
    newest_span: float | None = None  # seconds
    freshness_error: str = ""  # the freshness query failed: TR05 cannot judge this cluster
    disk_report: dict[str, Any] = field(default_factory=dict)  # _health_report disk indicator (ES >= 8.7)
    requests: int = 0
    rollover: bool = False
    date_separator: str = "-"
    hourly: bool = False
    prefix: str = ""


@dataclass(frozen=True)
class ElasticsearchSnapshot:
    clusters: tuple[ClusterData, ...]
    taken_at: float
