"""The Elasticsearch parsers on the recorded responses and on odd rows, compared value by value."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from exporter.sources.elasticsearch.parse import (
    ClusterSettings,
    JaegerIndex,
    free_bytes_threshold,
    index_pattern,
    least_available_paths,
    parse_blocks,
    parse_cat_indices,
    parse_index,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "elasticsearch"
GIB = 1024**3


def fixture(name):
    return json.loads((FIXTURES / name).read_text())


def test_tr02_least_available_path_per_data_node_of_recorded_node_stats():
    for name in ("nodestats-6.8.8.json", "nodestats-7.13.1.json"):
        stats = fixture(name)
        disks = least_available_paths(stats)
        assert disks, name
        for d in disks:
            node = next(n for n in stats["nodes"].values() if n["name"] == d.node)
            paths = node["fs"]["data"]
            assert d.available == min(p.get("available_in_bytes", p.get("free_in_bytes")) for p in paths)
            assert d.total == next(p["total_in_bytes"] for p in paths if p["path"] == d.path)
        assert [d.node for d in disks] == sorted(d.node for d in disks)


def test_tr02_node_roles_paths_and_odd_values():
    stats = {"nodes": {
        "a": {"name": "data-1", "roles": ["data_hot", "ingest"], "fs": {"data": [
            {"path": "/d1", "total_in_bytes": 100, "available_in_bytes": 40},
            {"path": "/d2", "total_in_bytes": 100, "available_in_bytes": 30, "free_in_bytes": 90}]}},
        "b": {"roles": ["master"], "fs": {"data": [{"path": "/m", "total_in_bytes": 1, "available_in_bytes": 0}]}},
        "c": {"fs": {"data": [{"total_in_bytes": 10.5, "free_in_bytes": 2}, "junk", {"total_in_bytes": "1"}]}},
        "d": {"name": "empty", "fs": {"data": "nope"}},
        "e": "junk",
        "f": {"name": "no-fs", "roles": ["data"]},
    }}  # fmt: skip
    disks = least_available_paths(stats)
    assert [(d.node, d.path, d.total, d.available) for d in disks] == [
        ("c", "", 10.5, 2), ("data-1", "/d2", 100, 30)]  # fmt: skip
    assert least_available_paths({"nodes": ["x"]}) == [] and least_available_paths({}) == []


@pytest.mark.parametrize(
    ("name", "prefix", "sep", "expected"),
    [
        ("jaeger-span-2026-11-21", "", "-", ("span", datetime(2026, 11, 21, tzinfo=UTC))),
        ("jaeger-service-2026.11.21", "", ".", ("service", datetime(2026, 11, 21, tzinfo=UTC))),
        ("prod-jaeger-dependencies-2026-11-21-07", "prod", "-", ("dependencies", datetime(2026, 11, 21, 7, tzinfo=UTC))),
        ("jaeger-sampling-2026-11-21", "", "-", ("sampling", datetime(2026, 11, 21, tzinfo=UTC))),
        ("jaeger-span-000001", "", "-", ("span", None)),
        ("jaeger-span-2026-13-01", "", "-", ("span", None)),
        ("jaeger-span-10000-01-01", "", "-", ("span", datetime.max.replace(tzinfo=UTC))),
        ("jaeger-span-2026.11.21", "", "-", ("span", None)),
        ("jaeger-span", "", "-", None),
        ("jaeger-other-2026-11-21", "", "-", None),
        ("prod-jaeger-span-2026-11-21", "", "-", None),
        ("jaeger-span-2026-11-21", "prod", "-", None),
    ],
)  # fmt: skip
def test_tr04_tr06_index_names(name, prefix, sep, expected):
    assert parse_index(name, prefix, sep) == expected


def test_index_pattern():
    assert index_pattern("") == "jaeger-*" and index_pattern("prod") == "prod-jaeger-*"


def test_tr05_tr06_cat_indices_rows():
    rows = [
        {"index": "jaeger-span-2026-11-21", "creation.date": "1795219200123", "docs.count": "12", "store.size": "4096",
         "status": "open"},
        {"index": "jaeger-service-2026-11-20", "docs.count": None, "store.size": "x"},
        {"index": "kibana_1", "docs.count": "1"},
        {"index": "jaeger-span-000002", "creation.date": 1795219200000, "status": "close"},
        "junk", {"docs.count": "3"},
    ]  # fmt: skip
    assert parse_cat_indices(rows, "", "-") == [
        JaegerIndex("jaeger-service-2026-11-20", "service", datetime(2026, 11, 20, tzinfo=UTC), None, 0, 0, ""),
        JaegerIndex("jaeger-span-000002", "span", None, 1795219200.0, 0, 0, "close"),
        JaegerIndex("jaeger-span-2026-11-21", "span", datetime(2026, 11, 21, tzinfo=UTC), 1795219200.123, 12, 4096,
                    "open"),
    ]  # fmt: skip
    assert parse_cat_indices({"index": "x"}, "", "-") == []


def test_tr03_blocks_of_recorded_settings_and_odd_bodies():
    recorded = parse_blocks(fixture("indices_settings-6.5.4.json"))
    assert recorded and all(b == ("index.blocks.read_only_allow_delete",) for b in recorded.values())
    odd = parse_blocks({
        "a": {"settings": {"index": {"blocks": {"read_only": "TRUE", "write": "true", "read_only_allow_delete": "false"}}}},
        "b": {"settings": {"index.blocks.write": "false"}},
        "c": None, "d": "junk",
    })  # fmt: skip
    assert odd == {"a": ("index.blocks.read_only", "index.blocks.write")}
    assert parse_blocks(None) == {} and parse_blocks(["x"]) == {}


@pytest.mark.parametrize(
    ("document", "level", "total", "expected"),
    [
        ({"defaults": {"cluster.routing.allocation.disk.watermark.high": "90%"}}, "high", 100 * GIB, 10 * GIB),
        ({"persistent": {"cluster.routing.allocation.disk.watermark.high": "0.85"}}, "high", 100 * GIB, 15 * GIB),
        ({"persistent": {"cluster.routing.allocation.disk.watermark.high": " 500mb "}}, "high", 100 * GIB,
         500 * 1024**2),
        ({"persistent": {"cluster.routing.allocation.disk.watermark.low": "2gb"}}, "low", 100 * GIB, 2 * GIB),
        ({"persistent": {"cluster.routing.allocation.disk.watermark.low": "1"}}, "low", 100 * GIB, 0),
        ({"persistent": {"cluster.routing.allocation.disk.watermark.low": "nonsense"}}, "low", 100 * GIB, None),
        ({"defaults": {"cluster.routing.allocation.disk.watermark.flood_stage": "95%",
                       "cluster.routing.allocation.disk.watermark.flood_stage.max_headroom": "100gb"}},
         "flood_stage", 10 * 1024 * GIB, 100 * GIB),
        ({"persistent": {"cluster.routing.allocation.disk.watermark.flood_stage": "95%"},
          "defaults": {"cluster.routing.allocation.disk.watermark.flood_stage.max_headroom": "100gb"}},
         "flood_stage", 10 * 1024 * GIB, 512 * GIB),
        ({"persistent": {"cluster.routing.allocation.disk.watermark.flood_stage": "95%",
                         "cluster.routing.allocation.disk.watermark.flood_stage.max_headroom": "-1"}},
         "flood_stage", 10 * 1024 * GIB, 512 * GIB),
        ({"transient": {"cluster.routing.allocation.disk.watermark.high": "80%"},
          "persistent": {"cluster.routing.allocation.disk.watermark.high": "90%"}}, "high", 100 * GIB, 20 * GIB),
        ({}, "high", 100 * GIB, None),
    ],
)  # fmt: skip
def test_tr02_free_bytes_thresholds(document, level, total, expected):
    assert free_bytes_threshold(ClusterSettings.parse(document), level, total) == expected


@pytest.mark.parametrize(
    ("value", "enabled"), [(None, True), ("true", True), ("false", False), ("False", False), ("no", True)]
)
def test_tr02_threshold_enabled_setting(value, enabled):
    key = "cluster.routing.allocation.disk.threshold_enabled"
    document = {"persistent": {key: value}} if value is not None else {}
    assert ClusterSettings.parse(document).enabled() is enabled


def test_tr02_settings_values_of_lists_are_joined():
    from exporter.sources.elasticsearch.parse import flatten

    assert flatten({"a": {"b": ["x", 1]}, "c.d": "e"}) == {"a.b": "x,1", "c.d": "e"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("2048", 2048), ("2", 2), ("1", 0), ("0.5", 50 * GIB)],
)
def test_tr02_bare_numbers_above_one_are_bytes(raw, expected):
    document = {"persistent": {"cluster.routing.allocation.disk.watermark.low": raw}}
    assert free_bytes_threshold(ClusterSettings.parse(document), "low", 100 * GIB) == expected


def test_tr02_zero_headroom_is_applied():
    document = {"persistent": {"cluster.routing.allocation.disk.watermark.flood_stage.max_headroom": "0b"},
                "defaults": {"cluster.routing.allocation.disk.watermark.flood_stage": "95%"}}  # fmt: skip
    assert free_bytes_threshold(ClusterSettings.parse(document), "flood_stage", 100 * GIB) == 0


def test_tr02_junk_nodes_and_paths_first_and_paths_need_both_numbers():
    stats = {"nodes": {"0": "junk", "a": {"name": "n", "fs": {"data": [
        "junk", {"path": "/x", "total_in_bytes": 100}, {"path": "/y", "available_in_bytes": 5},
        {"path": "/z", "total_in_bytes": 100, "available_in_bytes": 50}]}}}}  # fmt: skip
    assert [(d.path, d.available) for d in least_available_paths(stats)] == [("/z", 50)]


def test_tr07_year_9999_with_an_impossible_day_is_undated():
    assert parse_index("jaeger-span-9999-13-01", "", "-") == ("span", None)


def test_tr05_cat_indices_of_no_answer_and_junk_rows_first():
    assert parse_cat_indices(None, "", "-") == []
    rows = ["junk", {"index": None}, {"index": "jaeger-span-2026-11-21"}]
    assert [i.name for i in parse_cat_indices(rows, "", "-")] == ["jaeger-span-2026-11-21"]


def test_a_watermark_ratio_outside_zero_to_one_is_no_threshold():
    """Found by the fuzz suite: -1.37e298 overflowed the float conversion and took the refresh down."""
    from exporter.sources.elasticsearch.parse import ClusterSettings, free_bytes_threshold

    for raw in ("-1.369139083211604e+298", "-5%", "150%"):
        document = {"persistent": {}, "defaults": {"cluster.routing.allocation.disk.watermark.low": raw}}
        assert free_bytes_threshold(ClusterSettings.parse(document), "low", 13130098738.0) is None
