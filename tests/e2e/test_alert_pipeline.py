"""The whole chain on real software: a real STALE proxy on a real istiod -> the exporter -> Prometheus
evaluating rules rendered by `generate --config` -> Alertmanager -> a webhook receiver; then recovery."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from testbed.monitoring import Alertmanager, Prometheus
from testbed.processes import ComponentError, free_port
from tests.e2e.helpers import Mesh
from tests.support import wait_for

pytestmark = pytest.mark.e2e


class Receiver:
    """Alertmanager's webhook receiver: records every notification."""

    def __init__(self) -> None:
        self.notifications: list[dict[str, Any]] = []
        received = self.notifications

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def alerts(self, name: str, status: str) -> list[dict[str, Any]]:
        return [a for n in self.notifications for a in n["alerts"]
                if a["labels"].get("alertname") == name and a["status"] == status]  # fmt: skip


@pytest.fixture
def pipeline(mesh: Mesh, tmp_path: Path, exporter_factory) -> Iterator[tuple[Prometheus, Receiver, Any]]:
    config = tmp_path / "pipeline.json"
    config.write_text(json.dumps({
        "istio": {"istiod_urls": [mesh.a.monitoring_url, mesh.b.monitoring_url]},
        "sources": {"istiod": {"interval_seconds": 1}, "kubernetes": {"interval_seconds": 1}},
        "checks": {"DP01": {"stale_threshold_seconds": 2, "alert_for": "3s"}},
    }))  # fmt: skip
    # the operator's path to custom thresholds: render the rules with the same configuration
    subprocess.run([sys.executable, "-m", "exporter", "generate", "--config", str(config), "--output-dir", str(tmp_path),
                    "--skip-rule-tests"],
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    rules = tmp_path / "alert_rules" / "rules.yaml"
    assert "meshhealth_xds_proxy_stale_seconds > 2" in rules.read_text()
    running = exporter_factory(["--kubeconfig", str(mesh.kube.kubeconfig), "--config", str(config)])
    receiver = Receiver()
    started: list[Any] = []
    try:
        alertmanager = Alertmanager(tmp_path / "am", receiver.url).start()
        started.append(alertmanager)
        prometheus = Prometheus(tmp_path / "prom", rules, running.url.removeprefix("http://"),
                                f"127.0.0.1:{alertmanager.port}").start()  # fmt: skip
        started.append(prometheus)
    except ComponentError as err:
        for component in reversed(started):
            component.stop()
        pytest.fail(str(err), pytrace=False)
    yield prometheus, receiver, running
    for component in reversed(started):
        component.stop()
    receiver.server.shutdown()


def test_stale_proxy_fires_in_prometheus_reaches_alertmanager_and_resolves(mesh: Mesh, pipeline) -> None:
    prometheus, receiver, _ = pipeline
    names = {r["name"] for g in prometheus.rule_groups() for r in g["rules"]}
    assert {"MeshHealthProxyStale", "MeshHealthIstiodNotReady", "MeshHealthSourceDown"} <= names

    def firing() -> list[dict[str, Any]]:
        return [a for a in prometheus.alerts() if a["labels"]["alertname"] == "MeshHealthProxyStale"
                and a["state"] == "firing"]  # fmt: skip

    wait_for(lambda: prometheus.alerts() is not None and mesh.synced(), 30, "healthy baseline")
    assert firing() == []
    mesh.sidecars.command("stop-ack", pod="web-0.shop", type="EDS")
    mesh.push()
    [alert] = wait_for(firing, 90, "MeshHealthProxyStale firing in Prometheus")
    assert alert["labels"]["proxy"] == "web-0.shop" and alert["labels"]["type"] == "EDS"
    assert alert["labels"]["severity"] == "warning" and alert["annotations"]["runbook_url"].endswith("#dp01")
    [notified] = wait_for(lambda: receiver.alerts("MeshHealthProxyStale", "firing"), 60, "Alertmanager notification")
    assert notified["labels"]["proxy"] == "web-0.shop"

    mesh.sidecars.command("resume", pod="web-0.shop")
    wait_for(mesh.synced, 60, "resynced")
    wait_for(lambda: firing() == [], 60, "alert inactive in Prometheus")
    wait_for(lambda: receiver.alerts("MeshHealthProxyStale", "resolved"), 90, "resolved notification")


def _pint_disabled(rules_text: str) -> dict[str, list[str]]:
    """alert name -> the selectors its `# pint disable promql/series(...)` comments name."""
    out: dict[str, list[str]] = {}
    for block in re.split(r"\n\s*- alert: ", rules_text)[1:]:
        name = block.split("\n", 1)[0].strip()
        out.setdefault(name, []).extend(re.findall(r"# pint disable promql/series\((.*)\)\n", block))
    return out


def _covered(vs: Any, comments: list[str]) -> bool:
    """pint's rule: a comment covers a selector of its name whose matchers include all of the comment's."""
    have = {(m.name, m.value) for m in vs.matchers.matchers}
    for comment in comments:
        name, _, matchers = comment.partition("{")
        if name == vs.name and set(re.findall(r'(\w+)=~?"([^"]*)"', matchers)) <= have:
            return True
    return False


# series a healthy mesh has that this testbed lacks: istiod runs as processes (no Deployment or pods), no
# gateway, telemetry or tracing component is configured, and the webhook TLS probe is off
NOT_IN_TESTBED = {
    "meshhealth_istiod_replicas_ready", "meshhealth_istiod_replicas_desired", "meshhealth_istiod_container_restarts_total",
    "meshhealth_istiod_oomkilled", "meshhealth_component_replicas_ready", "meshhealth_component_replicas_desired",
    "meshhealth_component_missing", "meshhealth_webhook_cert_expiry_timestamp_seconds",
}  # fmt: skip


def test_every_selector_pint_would_query_has_series_or_a_disable_comment(mesh: Mesh, pipeline, tmp_path) -> None:
    """pint's online promql/series on the healthy testbed, asked of the real Prometheus: each meshhealth_*
    selector of a rule whose check runs here returns series, unless the rule disables it for pint (a series that
    exists only while a problem exists)."""
    from tests.promql import selectors

    prometheus, _, _ = pipeline
    wait_for(lambda: mesh.synced() and prometheus.query('meshhealth_check_up{check="DP01"} == 1'), 60, "baseline")
    rules_text = (tmp_path / "alert_rules" / "rules.yaml").read_text()
    disabled = _pint_disabled(rules_text)
    running = {r["metric"]["check"] for r in prometheus.query("meshhealth_check_up == 1")}
    assert {"DP01", "CP01", "CP03"} <= running
    empty, asked = [], 0
    for group in prometheus.rule_groups():
        for rule in group["rules"]:
            if rule["annotations"].get("check") not in running:
                continue
            for vs in selectors(rule["query"]):
                if not vs.name.startswith("meshhealth_") or _covered(vs, disabled[rule["name"]]):
                    continue
                if vs.name in NOT_IN_TESTBED:
                    continue
                asked += 1
                if not prometheus.query(f"count({vs})"):
                    empty.append((rule["name"], str(vs)))
    assert asked >= 8
    from exporter.generate.series_presence import present_while_healthy

    assert all(present_while_healthy(name) for name in NOT_IN_TESTBED)  # the scenarios' healthy mesh has them
    assert empty == [], f"selectors pint would report as never present (disable them or emit the series): {empty}"
