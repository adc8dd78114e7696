"""MH02: every istiod replica's state as the exporter sees it."""

from __future__ import annotations

import dataclasses

from exporter.checks.exporter_health import check_istiod_replicas
from exporter.sources.errors import SourceError
from exporter.sources.istiod.snapshot import Replica
from tests.unit.helpers import settings
from tests.unit.sources.istiod.test_source import entry_1_23, snap_of

METRICS = """# TYPE istio_build gauge
istio_build{component="pilot",tag="1.29.2"} 1
# TYPE sidecar_injection_requests_total counter
sidecar_injection_requests_total 7
# TYPE sidecar_injection_failure_total counter
sidecar_injection_failure_total 2
"""


def test_mh02_samples_of_readable_unreadable_and_metricless_replicas():
    snap = snap_of({"istiod-a": [entry_1_23("a.ns"), entry_1_23("b.ns")], "istiod-b": [], "istiod-c": []},
                   metrics=METRICS)  # fmt: skip
    a, b, c = snap.replicas
    b = dataclasses.replace(b, error=SourceError("forbidden", "istiod istiod-b: HTTP 403 " + "x" * 300))
    c = dataclasses.replace(c, metrics=None)
    url = dataclasses.replace(c, replica=Replica("http://10.0.0.9:15014", "", "", "http://10.0.0.9:15014"),
                              error=SourceError("timeout", "timed out"))  # fmt: skip
    result = check_istiod_replicas(dataclasses.replace(snap, replicas=(a, b, c, url)), settings(), 1000.0)
    samples = {(x.metric, x.labels): x.value for x in result.samples}
    ns_rev = (("namespace", "istio-system"), ("revision", "default"))
    assert samples == {
        ("meshhealth_istiod_replica_up", (("istiod", "istiod-a"), *ns_rev)): 1.0,
        ("meshhealth_istiod_connected_proxies", (("istiod", "istiod-a"),)): 2.0,
        ("meshhealth_istiod_info", (("istiod", "istiod-a"), *ns_rev, ("version", "1.29.2"))): 1.0,
        ("meshhealth_istiod_sidecar_injection_requests", (("istiod", "istiod-a"),)): 7.0,
        ("meshhealth_istiod_sidecar_injection_failures", (("istiod", "istiod-a"),)): 2.0,
        ("meshhealth_istiod_replica_up", (("istiod", "istiod-b"), *ns_rev)): 0.0,
        ("meshhealth_istiod_replica_error_info", (("istiod", "istiod-b"), ("reason", "forbidden"),
                                                  ("error", ("istiod istiod-b: HTTP 403 " + "x" * 300)[:200]))): 1.0,
        ("meshhealth_istiod_replica_up", (("istiod", "istiod-c"), *ns_rev)): 1.0,
        ("meshhealth_istiod_connected_proxies", (("istiod", "istiod-c"),)): 0.0,
        ("meshhealth_istiod_replica_up", (("istiod", "http://10.0.0.9:15014"), ("namespace", ""), ("revision", ""))): 0.0,
        ("meshhealth_istiod_replica_error_info", (("istiod", "http://10.0.0.9:15014"), ("reason", "timeout"),
                                                  ("error", "timed out"))): 1.0,
    }  # fmt: skip
    assert [(f.check, f.severity.label, f.namespace, f.kind, f.name, f.message[:25]) for f in result.findings] == [
        ("MH02", "warning", "istio-system", "Pod", "istiod-b", "istiod istiod-b: HTTP 403"),
        ("MH02", "warning", "", "IstiodURL", "http://10.0.0.9:15014", "timed out"),
    ]  # fmt: skip
