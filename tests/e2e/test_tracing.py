"""TR01-TR06 and TR09 end to end on real Elasticsearch 7.10.2 and OpenSearch 2.19.1 with real Jaeger v1 collectors (no
prefix and the KubeSphere `logstash` prefix) and a real Jaeger v2 (prefix `v2`), spans sent with the OpenTelemetry SDK
over OTLP/HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from exporter.catalog import BY_ID
from testbed.monitoring import Alertmanager, Prometheus
from testbed.processes import ComponentError, log_tail
from testbed.tracing import Elasticsearch, JaegerCollector, JaegerV2
from tests.e2e.helpers import by_label, findings, hung
from tests.e2e.test_alert_pipeline import Receiver
from tests.support import metric_values, wait_for

pytestmark = pytest.mark.e2e


class Tracing:
    def __init__(self, es: Elasticsearch, plain: JaegerCollector, kubesphere: JaegerCollector, v2: JaegerV2) -> None:
        self.es, self.plain, self.kubesphere, self.v2 = es, plain, kubesphere, v2

    def config(self, path: Path, alerts: dict[str, Any] | None = None, **checks: Any) -> Path:
        path.write_text(json.dumps({
            "alerts": alerts or {},
            "sources": {"kubernetes": {"enabled": False}, "elasticsearch": {"interval_seconds": 1}},
            "elasticsearch": {"clusters": [
                {"name": "plain", "urls": [self.es.url]},
                {"name": "kubesphere", "urls": [self.es.url], "jaeger": {"prefix": "logstash"}},
                {"name": "v2", "urls": [self.es.url], "jaeger": {"prefix": "v2"}},
            ]},
            "checks": checks,
        }))  # fmt: skip
        return path

    def check(self, tmp_path: Path, check_id: str, **checks: Any) -> list[dict[str, str]]:
        proc = subprocess.run(
            [sys.executable, "-m", "exporter", "check", "--output", "json", "--config",
             str(self.config(tmp_path / "tracing.json", **checks))],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert proc.returncode in (0, 1), proc.stderr
        report = json.loads(proc.stdout)
        assert all(s["up"] for s in report["sources"]), report["sources"]
        return findings(report, check_id)

    def span_docs(self, index_pattern: str) -> int:
        try:
            self.es.request("POST", f"/{index_pattern}/_refresh?ignore_unavailable=true")
            return int(self.es.request("GET", f"/{index_pattern}/_count?ignore_unavailable=true")["count"])
        except RuntimeError:  # a shard that is still starting answers 503
            return 0


TODAY = datetime.now(UTC).strftime("%Y-%m-%d")


@pytest.fixture(scope="module", params=["elasticsearch", "opensearch"])
def tracing(request: pytest.FixtureRequest) -> Iterator[Tracing]:
    started: list[Any] = []
    try:
        es = Elasticsearch(flavour=request.param).start()
        started.append(es)
        plain = JaegerCollector(es).start()
        started.append(plain)
        kubesphere = JaegerCollector(es, prefix="logstash").start()
        started.append(kubesphere)
        v2 = JaegerV2(es, prefix="v2").start()
        started.append(v2)
    except ComponentError as err:
        for component in reversed(started):
            component.stop()
        pytest.fail(str(err), pytrace=False)
    t = Tracing(es, plain, kubesphere, v2)
    try:
        for collector in (plain, kubesphere, v2):
            collector.send_spans("web")
        wait_for(lambda: all(t.span_docs(f"{p}jaeger-span-{TODAY}") > 0 for p in ("", "logstash-", "v2-")),
                 60, "spans stored in every layout")  # fmt: skip
        yield t
    finally:
        for component in reversed(started):
            component.stop()


def test_healthy_baseline_in_every_layout(tracing: Tracing, tmp_path: Path) -> None:
    for check_id in ("TR01", "TR02", "TR03", "TR04", "TR05", "TR06", "TR07"):
        assert tracing.check(tmp_path, check_id) == [], check_id


def test_tr05_spans_stop_and_tr04_index_missing(tracing: Tracing, tmp_path: Path) -> None:
    tracing.kubesphere.send_spans("web")
    time.sleep(4)
    [stale] = wait_for(lambda: [f for f in tracing.check(tmp_path, "TR05", TR05={"max_span_age_seconds": 3})
                                if f["namespace"] == "kubesphere"], 30, "TR05")  # fmt: skip
    assert stale["name"] == f"logstash-jaeger-span-{TODAY}" and "spans stopped arriving" in stale["message"]

    tracing.es.request("DELETE", f"/logstash-jaeger-span-{TODAY}")
    [missing] = [
        f for f in tracing.check(tmp_path, "TR04", TR04={"grace_seconds": 0}) if f["namespace"] == "kubesphere"
    ]
    assert missing["name"] == f"logstash-jaeger-span-{TODAY}"
    tracing.kubesphere.send_spans("web")  # the collector creates today's index again
    wait_for(lambda: tracing.span_docs(f"logstash-jaeger-span-{TODAY}") > 0, 60, "index recreated")
    assert tracing.check(tmp_path, "TR04", TR04={"grace_seconds": 0}) == []
    assert [f for f in tracing.check(tmp_path, "TR05", TR05={"max_span_age_seconds": 60})
            if f["namespace"] == "kubesphere"] == []  # fmt: skip


def test_tr05_jaeger_v2_spans_stop_and_resume(tracing: Tracing, tmp_path: Path) -> None:
    limit = 8  # above the time from a span's start to the check's query (pipeline, index refresh, process start)

    def v2_stale() -> list[dict[str, str]]:
        return [f for f in tracing.check(tmp_path, "TR05", TR05={"max_span_age_seconds": limit})
                if f["namespace"] == "v2"]  # fmt: skip

    tracing.v2.send_spans("web")
    time.sleep(limit + 1)
    [stale] = wait_for(v2_stale, 30, "TR05 on v2's indices")
    assert stale["name"] == f"v2-jaeger-span-{TODAY}" and "spans stopped arriving" in stale["message"]

    def fresh_after_sending() -> bool:
        # every span sent so far is older than the limit: only spans sent now can clear the finding
        tracing.v2.send_spans("web")
        return v2_stale() == []

    wait_for(fresh_after_sending, 60, "v2 fresh again")


def metric_names(text: str) -> set[str]:
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")}


def test_tr09_reads_metrics_the_real_collectors_expose(tracing: Tracing) -> None:
    """Every metric TR09's rules name is exposed by the running Jaeger v1 collector or Jaeger v2."""
    from tests.unit.catalog.test_catalog import metric_names as rule_metrics

    v1, v2 = metric_names(tracing.plain.metrics()), metric_names(tracing.v2.metrics())
    named = {m for a in BY_ID["TR09"].alerts for m in rule_metrics(a.expr)}
    assert named - (v1 | v2) == set()
    assert {m for m in named if m.startswith("otelcol_")} <= v2 and {
        m for m in named if m.startswith("jaeger_collector_")
    } <= v1
    assert "jaeger_storage_bulk_index_errors_total" in v1 & v2


def test_tr06_indices_older_than_retention(tracing: Tracing, tmp_path: Path) -> None:
    time.sleep(2)
    old = tracing.check(tmp_path, "TR06", TR06={"retention_days": 1 / 86400})  # one second
    assert {f["namespace"] for f in old} == {"plain", "kubesphere", "v2"}
    assert all("older than" in f["message"] for f in old)
    assert tracing.check(tmp_path, "TR06") == []  # the default 7 days


def test_tr01_red_cluster(tracing: Tracing, tmp_path: Path) -> None:
    tracing.es.request("PUT", "/unplaceable?wait_for_active_shards=0", {"settings": {
        "number_of_replicas": 0, "index.routing.allocation.require._name": "nowhere"}})  # fmt: skip
    red = wait_for(lambda: tracing.check(tmp_path, "TR01"), 30, "TR01")
    assert {f["severity"] for f in red} == {"critical"} and "cluster red" in red[0]["message"]
    tracing.es.request("DELETE", "/unplaceable")
    wait_for(lambda: tracing.check(tmp_path, "TR01") == [], 30, "green again")


def test_tr02_tr03_flood_stage_read_only_alerts_and_recovery(
    tracing: Tracing, tmp_path: Path, exporter_factory
) -> None:
    fast = {"for": "2s"}
    alerts = {
        "MeshHealthElasticsearchDiskWatermark/critical": fast,
        "MeshHealthElasticsearchDiskWatermark/warning": fast,
        "MeshHealthJaegerBulkIndexErrors": fast,
    }
    config = tracing.config(tmp_path / "pipeline.json", alerts, TR03={"alert_for": "2s"})
    subprocess.run([sys.executable, "-m", "exporter", "generate", "--config", str(config), "--output-dir", str(tmp_path),
                    "--skip-rule-tests"],
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    running = exporter_factory(["--config", str(config)])
    receiver = Receiver()
    alertmanager = Alertmanager(tmp_path / "am", receiver.url).start()
    collectors = {f"127.0.0.1:{tracing.plain.admin}": "v1", f"127.0.0.1:{tracing.v2.metrics_port}": "v2"}
    prometheus = Prometheus(tmp_path / "prom", tmp_path / "alert_rules" / "rules.yaml",
                            running.url.removeprefix("http://"), f"127.0.0.1:{alertmanager.port}",
                            extra_jobs={"jaeger": list(collectors)}).start()  # fmt: skip
    try:

        def firing(name: str, severity: str | None = None) -> list[dict[str, Any]]:
            return [a for a in prometheus.alerts() if a["labels"]["alertname"] == name and a["state"] == "firing"
                    and severity in (None, a["labels"]["severity"])]  # fmt: skip

        time.sleep(3)
        assert firing("MeshHealthJaegerIndicesReadOnly") == [] and firing("MeshHealthElasticsearchDiskWatermark") == []
        # absolute free-byte watermarks larger than the disk: the node is past flood stage at once
        tracing.es.set_watermarks("100pb", "100pb", "100pb")
        index = f"jaeger-span-{TODAY}"
        wait_for(lambda: index in tracing.es.request("GET", f"/{index}/_settings/index.blocks.*"
                                                     "?flat_settings=true&allow_no_indices=true") and
                 tracing.es.request("GET", f"/{index}/_settings?flat_settings=true")[index]["settings"]
                 .get("index.blocks.read_only_allow_delete") == "true", 60, "Elasticsearch blocks the index")  # fmt: skip
        before = tracing.span_docs(index)
        tracing.plain.send_spans("checkout", count=3)
        tracing.v2.send_spans("checkout", count=3)
        time.sleep(3)
        assert tracing.span_docs(index) == before  # the collector's writes fail

        def bulk_errors() -> set[str]:
            return {collectors[a["labels"]["instance"]] for a in firing("MeshHealthJaegerBulkIndexErrors")}

        # both Jaeger versions count the failed bulk writes (TR09), each on its own metrics endpoint
        wait_for(lambda: bulk_errors() == {"v1", "v2"}, 90, "bulk-index-error alert for v1 and v2")

        def write_rejected() -> bool:
            collector_log = log_tail(tracing.plain.process.log_path, 400)
            return any(s in collector_log for s in ("cluster_block_exception", "read-only", "FORBIDDEN/12"))

        wait_for(write_rejected, 60, "the collector logs Elasticsearch's rejection")

        [ro] = wait_for(lambda: [a for a in firing("MeshHealthJaegerIndicesReadOnly")
                                 if a["labels"]["es_cluster"] == "plain" and a["labels"]["family"] == "span"],
                        90, "read-only alert firing")  # fmt: skip
        assert ro["labels"]["severity"] == "critical"
        # past both watermarks: both variants fire; Alertmanager's stock inhibit rule (equal: namespace,
        # alertname) lets only the critical one through
        wait_for(lambda: firing("MeshHealthElasticsearchDiskWatermark", "critical"), 60, "flood-stage alert firing")
        wait_for(lambda: firing("MeshHealthElasticsearchDiskWatermark", "warning"), 60, "high-watermark alert firing")

        def disk_alerts() -> dict[str, dict[str, Any]]:
            return {a["labels"]["severity"]: a["status"] for a in alertmanager.alerts()
                    if a["labels"]["alertname"] == "MeshHealthElasticsearchDiskWatermark"}  # fmt: skip

        statuses = wait_for(lambda: (d := disk_alerts()).get("warning", {}).get("inhibitedBy") and d, 60,
                            "warning inhibited by the critical variant")  # fmt: skip
        assert statuses["critical"]["state"] == "active" and statuses["warning"]["state"] == "suppressed"
        wait_for(lambda: receiver.alerts("MeshHealthJaegerIndicesReadOnly", "firing"), 60, "Alertmanager notified")

        tracing.es.set_watermarks(None, None, None)  # restore; 7.4+ releases the block below the high watermark
        wait_for(lambda: tracing.es.request("GET", f"/{index}/_settings?flat_settings=true")[index]["settings"]
                 .get("index.blocks.read_only_allow_delete") is None, 120, "block released")  # fmt: skip
        wait_for(lambda: firing("MeshHealthJaegerIndicesReadOnly") == [], 60, "read-only alert resolved")
        wait_for(lambda: receiver.alerts("MeshHealthJaegerIndicesReadOnly", "resolved"), 90, "resolved notification")
        tracing.plain.send_spans("checkout", count=3)
        wait_for(lambda: tracing.span_docs(index) > before, 60, "spans stored again")
    finally:
        prometheus.stop()
        alertmanager.stop()
        receiver.server.shutdown()


def test_a_real_elasticsearch_that_hangs_is_down_with_a_reason_then_recovers(
    tracing: Tracing, tmp_path: Path, exporter_factory
) -> None:
    """Fault matrix on the real component: the Elasticsearch/OpenSearch process stopped (a black hole). Every cluster
    on it is down with reason timeout, the source too (no cluster answered), the tracing checks are withdrawn
    (not evaluated, never healthy), /metrics answers at once; all of it comes back when the process resumes."""
    config = tracing.config(tmp_path / "hang.json")
    data = json.loads(config.read_text())
    data["sources"]["elasticsearch"].update({"timeout_seconds": 3, "stale_after_seconds": 6})
    config.write_text(json.dumps(data))
    running = exporter_factory(["--config", str(config)])

    def read(name: str, label: str) -> dict[str, float]:
        return by_label(running.get("/metrics")[2], name, label)

    def healthy() -> bool:
        return read("meshhealth_es_cluster_up", "es_cluster") == {"plain": 1, "kubesphere": 1, "v2": 1} and (
            read("meshhealth_check_up", "check").get("TR02") == 1
        )

    wait_for(healthy, 90, "every cluster read")
    assert tracing.es.process.process is not None
    with hung(tracing.es.process.process.pid):
        wait_for(lambda: read("meshhealth_source_up", "source").get("elasticsearch") == 0, 60, "the hang seen")
        wait_for(lambda: read("meshhealth_check_up", "check").get("TR02") == 0, 30, "TR02 withdrawn")
        started = time.monotonic()
        body = running.get("/metrics")[2]
        assert time.monotonic() - started < 1.0
        reasons = {dict(k)["reason"] for k in metric_values(body, "meshhealth_source_error_info")
                   if dict(k)["source"] == "elasticsearch"}  # fmt: skip
        assert reasons == {"timeout"}
        assert set(by_label(body, "meshhealth_es_cluster_up", "es_cluster").values()) <= {0.0}
    wait_for(healthy, 120, "recovered after Elasticsearch resumed")
