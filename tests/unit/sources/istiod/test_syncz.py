"""/debug/syncz of every Istio shape parsed field by field (tests/unit/fixtures/istiod/syncz-*.json)."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from exporter.sources.istiod.syncz import ProxySync, parse_syncz
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
    out = dataclasses.asdict(proxy)
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
