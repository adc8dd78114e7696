"""Unit tests of the tracing-storage checks (TR01-TR07) on Elasticsearch snapshots."""

from __future__ import annotations

from exporter.checks.tracing import check_blocked_indices
from tests.scenarios.tracing import es, index
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
