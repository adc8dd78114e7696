"""Unit tests of the tracing-storage checks (TR01-TR07) on Elasticsearch snapshots."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from exporter.checks.tracing import (
    _gib,
    check_blocked_indices,
    check_cluster_health,
    check_disk_watermarks,
    check_retention,
    check_span_freshness,
    check_write_index,
    implausible,
    index_age,
)
from exporter.model import NotEvaluated
from exporter.sources.elasticsearch.parse import ClusterSettings, JaegerIndex, NodeDisk
from tests.scenarios.tracing import GIB, cluster, disk, es, index
from tests.unit.helpers import settings

NOW = 6 * 86400.0


def test_tr03_blocked_indices_counted_by_family_and_block_with_one_finding_per_index():
    today, service, other = index(NOW, 0).name, index(NOW, 0, "service").name, "kibana-1"
    blocks = {
        today: ("index.blocks.read_only_allow_delete",),
        service: ("index.blocks.read_only", "index.blocks.write"),
        other: ("index.blocks.write",),
    }
    result = check_blocked_indices(es(NOW, blocks=blocks), settings(), NOW)
    counts = {dict(x.labels)["family"] + "/" + dict(x.labels)["block"]: x.value for x in result.samples}
    assert {k: v for k, v in counts.items() if v} == {
        "span/read_only_allow_delete": 1, "service/read_only": 1, "service/write": 1}  # fmt: skip
    assert len(counts) == 9  # every family x block, zero included: the alert's series always exist
    assert {dict(x.labels)["es_cluster"] for x in result.samples} == {"tracing"}
    findings = {f.name: (f.check, f.severity.label, f.namespace, f.kind, f.message) for f in result.findings}
    assert findings[today] == ("TR03", "critical", "tracing", "Index",
                               "index.blocks.read_only_allow_delete = true: the collector's writes fail (cleared "
                               "automatically below the high watermark since 7.4; remove it by hand before)")  # fmt: skip
    assert findings[service][4] == "index.blocks.read_only, index.blocks.write = true: the collector's writes fail"
    assert set(findings) == {today, service, other}  # an index of another family is still named


def test_tr03_findings_capped_but_counts_complete():
    indices = tuple(index(NOW, d) for d in range(7))
    blocks = {i.name: ("index.blocks.write",) for i in indices}
    s = settings(findings={"max_series_per_check": 3})
    result = check_blocked_indices(es(NOW, indices=indices, blocks=blocks), s, NOW)
    assert len(result.findings) == 3
    counts = {dict(x.labels)["family"] + "/" + dict(x.labels)["block"]: x.value for x in result.samples}
    assert counts["span/write"] == 7 and counts["span/read_only"] == 0


def _tr02(**changes):
    result = check_disk_watermarks(es(NOW, **changes), settings(), NOW)
    samples = {(x.metric, dict(x.labels).get("level", "")): x.value for x in result.samples}
    return result, samples


def test_tr02_samples_of_a_node_below_every_watermark():
    result, samples = _tr02(disks=disk(50))
    assert result.findings == []
    node = {x.labels for x in result.samples}
    assert node == {(("es_cluster", "tracing"), ("node", "es-data-0"))} | {
        (("es_cluster", "tracing"), ("node", "es-data-0"), ("level", lv)) for lv in ("low", "high", "flood_stage")
    }
    assert samples == {
        ("meshhealth_es_disk_available_bytes", ""): 50 * GIB,
        ("meshhealth_es_disk_total_bytes", ""): 100 * GIB,
        ("meshhealth_es_disk_used_ratio", ""): 0.5,
        ("meshhealth_es_disk_watermark_free_bytes", "low"): pytest.approx(15 * GIB),
        ("meshhealth_es_disk_watermark_free_bytes", "high"): pytest.approx(10 * GIB),
        ("meshhealth_es_disk_watermark_free_bytes", "flood_stage"): pytest.approx(5 * GIB),
        ("meshhealth_es_disk_flood_stage_distance_bytes", ""): pytest.approx(45 * GIB),
    }


@pytest.mark.parametrize(
    ("available_gib", "severity", "level"),
    [(4.99, "critical", "flood_stage"), (5, "warning", "high"), (9.99, "warning", "high"), (10, None, None)],
)
def test_tr02_watermark_reached_below_the_threshold_as_elasticsearch_judges(available_gib, severity, level):
    result, _ = _tr02(disks=disk(available_gib))
    if severity is None:
        assert result.findings == []
        return
    [finding] = result.findings
    assert (finding.check, finding.severity.label, finding.namespace, finding.kind, finding.name) == (
        "TR02", severity, "tracing", "ElasticsearchNode", "es-data-0")  # fmt: skip
    needs = {"flood_stage": "5.0 GiB", "high": "10.0 GiB"}[level]
    assert f"of 100.0 GiB on /usr/share/elasticsearch/data: {level} watermark reached (needs {needs} free); " in (
        finding.message
    )
    effect = "read-only" if level == "flood_stage" else "no new shards are allocated here and shards move away"
    assert effect in finding.message and "_health_report" not in finding.message


def test_tr02_health_report_symptom_is_added_and_alone_it_is_a_finding():
    report = {"status": "red", "symptom": "2 indices are not allowed to be updated."}
    result, samples = _tr02(disks=disk(3), disk_report=report)
    assert samples[("meshhealth_es_health_report_disk_status", "")] == 1
    assert [x.labels for x in result.samples if x.metric == "meshhealth_es_health_report_disk_status"] == [
        (("es_cluster", "tracing"), ("status", "red"))
    ]
    [finding] = result.findings
    assert finding.message.endswith("; _health_report: 2 indices are not allowed to be updated.")
    for status, severity in (("red", "critical"), ("yellow", "warning")):
        only, _ = _tr02(disks=(), disk_report={"status": status, "symptom": "disk"})
        [f] = only.findings
        assert (f.kind, f.name, f.severity.label, f.message) == (
            "ElasticsearchCluster", "tracing", severity, f"_health_report disk indicator {status}: disk")  # fmt: skip
    green, _ = _tr02(disks=(), disk_report={"status": "green"})
    assert green.findings == []
    unknown, samples = _tr02(disks=(), disk_report={"symptom": "?"})
    assert unknown.findings == [] and [x.labels[1] for x in unknown.samples] == [("status", "unknown")]


def test_tr02_disabled_thresholds_and_unknown_totals():
    off = ClusterSettings.parse({"persistent": {"cluster.routing.allocation.disk.threshold_enabled": "FALSE"}})
    result, _ = _tr02(disks=disk(1), settings=off)
    assert result.findings == [] and result.samples == []
    zero = (NodeDisk("es-data-0", "/data", 0, 0),)
    result, samples = _tr02(disks=zero)
    assert ("meshhealth_es_disk_used_ratio", "") not in samples
    assert samples[("meshhealth_es_disk_total_bytes", "")] == 0


@pytest.mark.parametrize(
    ("n", "text"),
    [(0, "0 B"), (1023, "1023 B"), (1024**2, "1.0 MiB"), (1.5 * 1024**3, "1.5 GiB"), (1024**4 - 1, "1024.0 GiB"),
     (2 * 1024**4, "2.0 TiB"), (3 * 1024**5, "3.0 PiB"), (-2 * 1024**3, "-2.0 GiB")],
)  # fmt: skip
def test_tr02_sizes_in_binary_units(n, text):
    assert _gib(n) == text


MIDNIGHT = datetime(2026, 11, 21, tzinfo=UTC).timestamp()


def _index(name, family="span", date=None, created=None):
    return JaegerIndex(name, family, date, created, 10, 100, "open")


@pytest.mark.parametrize(("seconds_after_midnight", "present"), [(0, True), (1799, True), (1800, False), (7200, False)])
def test_tr04_today_missing_only_after_the_grace_period(seconds_after_midnight, present):
    now = MIDNIGHT + seconds_after_midnight
    yesterday = _index("jaeger-span-2026-11-20", date=datetime(2026, 11, 20, tzinfo=UTC))
    result = check_write_index(es(now, indices=(yesterday,)), settings(), now)
    assert [(x.labels, x.value) for x in result.samples] == [((("es_cluster", "tracing"),), 1.0 if present else 0.0)]
    if present:
        assert result.findings == []
    else:
        [f] = result.findings
        assert (f.check, f.severity.label, f.namespace, f.kind, f.name) == (
            "TR04", "critical", "tracing", "Index", "jaeger-span-2026-11-21")  # fmt: skip
        assert f.message == ("jaeger-span-2026-11-21 does not exist: spans of this period have nowhere to go "
                             "(or nothing writes them)")  # fmt: skip


def test_tr04_prefix_separator_hourly_and_rollover():
    now = MIDNIGHT + 5 * 3600 + 1900
    hourly = es(now, prefix="prod", date_separator=".", hourly=True, indices=())
    [f] = check_write_index(hourly, settings(), now).findings
    assert f.name == "prod-jaeger-span-2026.11.21-05"
    present = es(now, prefix="prod", date_separator=".", hourly=True,
                 indices=(_index("prod-jaeger-span-2026.11.21-05"),))  # fmt: skip
    assert check_write_index(present, settings(), now).findings == []
    in_grace = es(MIDNIGHT + 5 * 3600 + 60, hourly=True, indices=())
    assert check_write_index(in_grace, settings(), MIDNIGHT + 5 * 3600 + 60).findings == []
    rollover = es(now, rollover=True, prefix="prod", write_alias_target=None)
    [f] = check_write_index(rollover, settings(), now).findings
    assert f.name == "alias prod-jaeger-span-write"
    assert check_write_index(es(now, rollover=True, write_alias_target=None), settings(), now).findings[0].name == (
        "alias jaeger-span-write"
    )
    assert check_write_index(es(now, rollover=True, write_alias_target="jaeger-span-000003"), settings(), now
                             ).findings == []  # fmt: skip


def test_tr05_age_threshold_and_skipped_clusters():
    now = MIDNIGHT + 7200
    for age, found in ((900, False), (901, True)):
        result = check_span_freshness(es(now, newest_span=now - age, write_index="jaeger-span-2026-11-21"),
                                      settings(), now)  # fmt: skip
        assert [(x.labels, x.value) for x in result.samples] == [((("es_cluster", "tracing"),), float(age))]
        assert bool(result.findings) is found
    [f] = check_span_freshness(es(now, newest_span=now - 7200, write_index="w"), settings(), now).findings
    assert (f.kind, f.name, f.message) == ("Index", "w", "newest span in w is 2h old: spans stopped arriving")
    future = check_span_freshness(es(now, newest_span=now + 60, write_index="w"), settings(), now)
    assert future.samples[0].value == 0.0
    assert check_span_freshness(es(now, newest_span=None), settings(), now).samples == []
    assert check_span_freshness(es(now, write_index=None), settings(), now).samples == []
    with pytest.raises(NotEvaluated, match="tracing: search failed"):
        check_span_freshness(es(now, freshness_error="search failed"), settings(), now)


def test_tr06_index_age_by_name_date_else_creation():
    now = MIDNIGHT
    assert index_age(_index("a", date=datetime(2026, 11, 20, tzinfo=UTC)), now) == 86400
    assert index_age(_index("a", date=datetime(2026, 11, 22, tzinfo=UTC)), now) == 0.0
    assert index_age(_index("a", date=datetime.max.replace(tzinfo=UTC)), now) == 0.0
    assert index_age(_index("a", created=now - 10), now) == 10
    assert index_age(_index("a", created=now + 10), now) == 0.0
    assert index_age(_index("a"), now) is None


def test_tr06_over_retention_per_family_and_the_oldest_named():
    now = MIDNIGHT
    day = 86400
    indices = (
        _index("jaeger-span-2026-11-10", date=datetime(2026, 11, 10, tzinfo=UTC)),
        _index("jaeger-service-2026-11-01", "service", date=datetime(2026, 11, 1, tzinfo=UTC)),
        _index("jaeger-span-000001", created=now - 30 * day),
        _index("jaeger-span-2026-11-14", date=datetime(2026, 11, 14, tzinfo=UTC)),
        _index("jaeger-span-1999-01-01", date=datetime(1999, 1, 1, tzinfo=UTC)),
    )
    result = check_retention(es(now, indices=indices), settings(), now)
    counts = {dict(x.labels).get("family"): x.value for x in result.samples}
    assert counts == {None: 30 * day, "span": 2, "service": 1, "dependencies": 0}
    [f] = result.findings
    assert (f.check, f.namespace, f.kind, f.name) == ("TR06", "tracing", "Index", "jaeger-span-000001")
    assert f.message == ("3 Jaeger indices older than 7 days (oldest jaeger-span-000001, 30d): the index cleaner "
                         "is not running or not matching")  # fmt: skip
    longer = check_retention(es(now, indices=indices), settings(checks={"TR06": {"retention_days": 20.5}}), now)
    assert [f.message.split(" (")[0] for f in longer.findings] == ["1 Jaeger index older than 20.5 days"]


@pytest.mark.parametrize(
    ("date", "bad"),
    [(datetime(2026, 11, 23, tzinfo=UTC), False), (datetime(2026, 11, 23, 0, 1, tzinfo=UTC), True),
     (datetime(2016, 11, 24, tzinfo=UTC), False), (datetime(2016, 11, 22, tzinfo=UTC), True), (None, False)],
)  # fmt: skip
def test_tr07_implausible_beyond_the_configured_days(date, bad):
    assert implausible(_index("x", date=date), datetime(2026, 11, 21, tzinfo=UTC), settings()) is bad


def test_tr01_status_unknown_and_unassigned_shards_of_an_odd_answer():
    result = check_cluster_health(es(NOW, health={"status": None, "unassigned_shards": "3"}), settings(), NOW)
    assert result.findings == []
    values = {(x.metric, dict(x.labels).get("status", "")): x.value for x in result.samples}
    assert values[("meshhealth_es_unassigned_shards", "")] == 0
    assert [values[("meshhealth_es_cluster_status", s)] for s in ("green", "yellow", "red")] == [0, 0, 0]


def test_tr02_disabled_cluster_does_not_hide_the_next_one_and_report_findings_are_exact():
    off = ClusterSettings.parse({"persistent": {"cluster.routing.allocation.disk.threshold_enabled": "false"}})
    snap = dataclasses.replace(es(NOW), clusters=(cluster(NOW, name="off", settings=off),
                                                  cluster(NOW, name="on", disks=disk(3))))  # fmt: skip
    [f] = check_disk_watermarks(snap, settings(), NOW).findings
    assert f.namespace == "on"
    only_report = check_disk_watermarks(es(NOW, disks=(), disk_report={"status": "red"}), settings(), NOW)
    [g] = only_report.findings
    assert (g.check, g.namespace, g.kind, g.name, g.message) == (
        "TR02", "tracing", "ElasticsearchCluster", "tracing", "_health_report disk indicator red: ")  # fmt: skip
    [h] = check_disk_watermarks(es(NOW, disks=disk(3), disk_report={"status": "red", "symptom": "s"}), settings(),
                                NOW).findings  # fmt: skip
    assert h.message.startswith("3.0 GiB available of 100.0 GiB") and h.message.endswith("; _health_report: s")


def test_tr03_blocked_index_outside_the_jaeger_families_is_named_but_not_counted():
    result = check_blocked_indices(es(NOW, blocks={"kibana_1": ("index.blocks.write",)}), settings(), NOW)
    assert [f.name for f in result.findings] == ["kibana_1"]
    assert {x.value for x in result.samples} == {0.0} and len(result.samples) == 9
    counted = check_blocked_indices(es(NOW, blocks={index(NOW, 0).name: ("a.b.read_only",)}), settings(), NOW)
    assert {dict(x.labels)["block"]: x.value for x in counted.samples if dict(x.labels)["family"] == "span"}[
        "read_only"
    ] == 1


def test_tr04_today_in_another_time_zone_and_grace_to_the_second(monkeypatch):
    import time

    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        now = MIDNIGHT + 23 * 3600  # 23:00 UTC is already the next day in Tokyo
        [f] = check_write_index(es(now, indices=()), settings(), now).findings
        assert f.name == "jaeger-span-2026-11-21"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    hour = MIDNIGHT + 5 * 3600
    s = settings(checks={"TR04": {"grace_seconds": 1830.25}})
    for offset, present in ((1830.5, False), (1830.0, True)):
        result = check_write_index(es(hour + offset, hourly=True, indices=()), s, hour + offset)
        assert result.samples[0].value == (1.0 if present else 0.0), offset
    day = settings(checks={"TR04": {"grace_seconds": 1830.25}})
    assert check_write_index(es(MIDNIGHT + 1830.5, indices=()), day, MIDNIGHT + 1830.5).samples[0].value == 0.0


def test_tr05_a_cluster_without_spans_does_not_hide_the_next_and_errors_are_joined():
    snap = dataclasses.replace(es(NOW), clusters=(cluster(NOW, name="a", newest_span=None),
                                                  cluster(NOW, name="b", newest_span=NOW - 5000)))  # fmt: skip
    assert [f.namespace for f in check_span_freshness(snap, settings(), NOW).findings] == ["b"]
    blind = dataclasses.replace(es(NOW), clusters=(cluster(NOW, name="a", freshness_error="x"),
                                                   cluster(NOW, name="b", freshness_error="y")))  # fmt: skip
    with pytest.raises(NotEvaluated, match=r"^a: x; b: y$"):
        check_span_freshness(blind, settings(), NOW)


def test_tr06_retention_in_whole_days_and_no_indices():
    now = MIDNIGHT
    old = _index("jaeger-span-000001", created=now - 7 * 86400 - 5)
    result = check_retention(es(now, indices=(old,)), settings(), now)
    assert [f.name for f in result.findings] == ["jaeger-span-000001"]
    empty = check_retention(es(now, indices=()), settings(), now)
    assert empty.findings == [] and empty.samples[0].value == 0.0
    undated = check_retention(es(now, indices=(_index("jaeger-span-000009"),)), settings(), now)
    assert undated.findings == [] and undated.samples[0].value == 0.0
    far = _index("jaeger-span-9999-01-01", date=datetime(9999, 1, 1, tzinfo=UTC))
    assert index_age(far, now) == 0.0
    near = _index("jaeger-span-9998-01-01", date=datetime(9998, 1, 1, tzinfo=UTC))
    assert index_age(near, 1e12) > 0


def test_tr07_past_bound_is_exclusive():
    moment = datetime(2026, 11, 21, tzinfo=UTC)
    s = settings(checks={"TR07": {"past_days": 10}})
    assert implausible(_index("x", date=datetime(2026, 11, 11, tzinfo=UTC)), moment, s) is False


def test_tr04_grace_counts_from_utc_midnight_in_any_local_time_zone(monkeypatch):
    import time

    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        now = MIDNIGHT + 600  # 09:10 in Tokyo: still within the grace after UTC midnight
        result = check_write_index(es(now, indices=()), settings(), now)
        assert result.samples[0].value == 1.0 and result.findings == []
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    hour = MIDNIGHT + 5 * 3600
    s = settings(checks={"TR04": {"grace_seconds": 1830.25}})
    assert check_write_index(es(hour + 1830.25, hourly=True, indices=()), s, hour + 1830.25).samples[0].value == 0.0


def test_tr06_indices_without_an_age_never_count_even_with_a_tiny_retention():
    s = settings(checks={"TR06": {"retention_days": 0.00001}})
    result = check_retention(es(MIDNIGHT, indices=(_index("jaeger-span-000009"),)), s, MIDNIGHT)
    assert result.findings == []
