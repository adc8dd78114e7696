"""Prometheus and Alertmanager from Debian's packages, on loopback, configured for fast evaluation."""

from __future__ import annotations

import json
import shutil
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from testbed.processes import ManagedProcess, free_port


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


class Alertmanager:
    def __init__(self, workdir: Path, webhook_url: str) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {
            "route": {"receiver": "webhook", "group_by": ["alertname"], "group_wait": "1s", "group_interval": "1s",
                      "repeat_interval": "1h"},
            "receivers": [{"name": "webhook", "webhook_configs": [{"url": webhook_url, "send_resolved": True}]}],
            # kube-prometheus-stack's stock rule: a critical alert silences the warning of the same name
            "inhibit_rules": [{"source_matchers": ["severity = critical"],
                               "target_matchers": ["severity =~ warning|info"], "equal": ["namespace", "alertname"]}],
        }  # fmt: skip
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "alertmanager.yml").write_text(yaml.safe_dump(config))
        binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager") or "prometheus-alertmanager"
        self.process = ManagedProcess(
            "alertmanager",
            [binary, f"--config.file={workdir / 'alertmanager.yml'}", f"--storage.path={workdir / 'am-data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="],
            workdir,
        )  # fmt: skip

    def start(self) -> Alertmanager:
        self.process.start()
        self.process.wait_until(lambda: _ready(self.url), 60, "ready")
        return self

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts as Alertmanager holds them, with ``status.state`` (active, suppressed) and ``inhibitedBy``."""
        return list(_get(f"{self.url}/api/v2/alerts"))

    def stop(self) -> None:
        self.process.stop()


class Prometheus:
    def __init__(self, workdir: Path, rules: Path, target: str, alertmanager: str,
                 extra_jobs: dict[str, list[str]] | None = None) -> None:  # fmt: skip
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(rules)],
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
            "scrape_configs": [{"job_name": "meshhealth", "static_configs": [{"targets": [target]}]}]
            + [{"job_name": job, "static_configs": [{"targets": hosts}]} for job, hosts in (extra_jobs or {}).items()],
        }  # fmt: skip
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.process = ManagedProcess(
            "prometheus",
            [shutil.which("prometheus") or "prometheus", f"--config.file={workdir / 'prometheus.yml'}",
             f"--storage.tsdb.path={workdir / 'tsdb'}", f"--web.listen-address=127.0.0.1:{self.port}"],
            workdir,
        )  # fmt: skip

    def start(self) -> Prometheus:
        self.process.start()
        self.process.wait_until(lambda: _ready(self.url), 60, "ready")
        return self

    def alerts(self) -> list[dict[str, Any]]:
        return list(_get(f"{self.url}/api/v1/alerts")["data"]["alerts"])

    def rule_groups(self) -> list[dict[str, Any]]:
        return list(_get(f"{self.url}/api/v1/rules")["data"]["groups"])

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result vector."""
        return list(_get(f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}")["data"]["result"])

    def stop(self) -> None:
        self.process.stop()


def _ready(url: str) -> bool:
    with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as resp:
        return bool(resp.status == 200)
