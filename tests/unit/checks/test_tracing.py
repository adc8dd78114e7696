"""Unit tests of the tracing-storage checks (TR01-TR07) on Elasticsearch snapshots."""

from __future__ import annotations

import pytest

from exporter.checks.tracing import _gib, check_blocked_indices, check_disk_watermarks
from exporter.sources.elasticsearch.parse import ClusterSettings, NodeDisk
from tests.scenarios.tracing import GIB, disk, es, index
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
