"""/debug/syncz of every Istio shape parsed field by field (tests/unit/fixtures/istiod/syncz-*.json)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from exporter.sources.istiod.syncz import ProxySync, adopt, parse_syncz, to_plain
from tests.unit.helpers import tracked_reachable
from tests.unit.sources.istiod.test_source import SYNCZ_1_6, SYNCZ_1_14, SYNCZ_1_18, entry_1_23

FIXTURES = Path(__file__).parents[2] / "fixtures" / "istiod"
CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
ECDS = "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig"

DOCUMENTS = {
    "1.6-eds-stale": json.loads(SYNCZ_1_6),
    "1.14-extensionconfig-never-acked": SYNCZ_1_14,
    "1.18-router": SYNCZ_1_18,
    "1.23-synced-error-stale": [
        entry_1_23("reviews-v1-5b5d6494f4-7xk2p.bookinfo"),
        entry_1_23("ratings-v1-7d9f8c-q2w3e.bookinfo", lds_error="Error adding/updating listener(s): bad filter"),
        entry_1_23("details-v1-6758dd9d8d-dhxqs.bookinfo", eds_sent="e9", eds_acked="e8"),
        entry_1_23("web-0.shop", eds_sent="e9", eds_acked=""),
    ],
    "1.23-odd-entries": [
        {"proxy": "gw.istio-system", "proxy_type": "router", "istio_version": 129,
         "resources": {ECDS: {"sent": "x1", "acked": "x1"}, "type.example.com/custom.v1.Thing": {"sent": "t", "acked": ""},
                       CDS: "junk", "type.googleapis.com/envoy.config.listener.v3.Listener": {"lastError": 3, "sent": "l"}}},
        {"proxy": "no-namespace", "cluster_id": "remote", "resources": {}, "listener_sent": "", "cluster_sent": 7},
        {"proxy": ".ns", "resources": None},
        {"proxy": "pod.", "extensionconfig_acked": "z"},
        {"proxy": 5},
        "junk",
    ],
}  # fmt: skip


def _plain(proxy: ProxySync) -> dict[str, object]:
    out: dict[str, object] = proxy._asdict()
    out["types"] = [t._asdict() for t in proxy.types]
    out["worst"] = proxy.worst
    out["pod_key"] = proxy.pod_key()
    return out


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_syncz_parsed_field_by_field(name):
    got = json.loads(json.dumps([_plain(p) for p in parse_syncz(DOCUMENTS[name])]))
    path = FIXTURES / f"syncz-{name}.json"
    if os.environ.get("UPDATE_EXPECTED"):
        path.write_text(json.dumps({"document": DOCUMENTS[name], "parsed": got}, indent=1, sort_keys=True) + "\n")
    assert got == json.loads(path.read_text())["parsed"]


def test_identical_statuses_are_shared_and_stale_ones_keep_their_nonces():
    proxies = parse_syncz(DOCUMENTS["1.23-synced-error-stale"])
    synced = [t for p in proxies for t in p.types if t.type == "CDS"]
    assert all(t is synced[0] for t in synced)
    [stale] = [t for t in proxies[2].types if t.type == "EDS"]
    assert (stale.status, stale.sent, stale.acked, stale.sent_time) == ("STALE", "e9", "e8", 1795255201.0)


def test_dp02_pod_key_splits_at_the_last_dot_and_type_urls_without_dots():
    [p] = parse_syncz([{"proxy": "web.v2-7d9f.shop", "resources": {"custom": {"sent": "a", "acked": "a"}}}])
    assert p.pod_key() == ("shop", "web.v2-7d9f")
    assert [t.type for t in p.types] == ["custom"]


def test_unchanged_proxies_are_the_previous_polls_objects():
    """20,000 proxies polled every few seconds: the unchanged ones are kept, not replaced by equal new objects
    (new objects at every poll keep triggering the collector's full collections)."""
    doc = [
        {"proxy": "a.shop", "resources": {"type.googleapis.com/envoy.config.cluster.v3.Cluster": {"sent": "1", "acked": "1"}}},
        {"proxy": "b.shop", "resources": {"type.googleapis.com/envoy.config.cluster.v3.Cluster": {"sent": "2", "acked": "1"}}},
    ]  # fmt: skip
    first = parse_syncz(doc)
    previous = {p.proxy: p for p in first}
    doc[1]["resources"]["type.googleapis.com/envoy.config.cluster.v3.Cluster"]["acked"] = "2"
    doc.append({"proxy": "c.shop", "istio_version": "1.24.0"})
    second = parse_syncz(doc, previous)
    assert second == parse_syncz(doc)
    assert second[0] is first[0]
    assert second[1] is not first[1] and second[1].worst == "SYNCED" and first[1].worst == "STALE"
    assert [p.proxy for p in second] == ["a.shop", "b.shop", "c.shop"]


@pytest.mark.parametrize(
    "entry", [entry_1_23, lambda proxy: {k: v for k, v in entry_1_23(proxy).items() if k != "resources"}]
)
def test_proxies_in_the_same_state_share_one_tuple_of_statuses(entry):
    """20,000 proxies: one object each for the collector to scan, not two (its own tuple of statuses)."""
    doc = [entry(f"web-{i}.shop") for i in range(200)] + [entry_1_23("stale.shop", eds_acked="e1")]
    proxies = parse_syncz(doc)
    assert all(p.types is proxies[0].types for p in proxies[:200])
    assert proxies[200].types != proxies[0].types and proxies[200].worst == "STALE"
    adopted = adopt(to_plain(proxies))
    assert adopted == proxies
    assert all(p.types is adopted[0].types for p in adopted[:200]) and adopted[200].types is not adopted[0].types
    for parsed in (proxies, adopted):
        assert tracked_reachable(parsed) <= 1 + 201 + 2 + 2 + 4  # + 2 tuples + the 4 types' shared statuses
