"""The generated rule files, their unit tests and a real /metrics body, checked by the real promtool."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
import yaml

from exporter.config import load_settings
from exporter.generate.rule_tests import rule_test_files
from tests.support import ROOT

pytestmark = pytest.mark.integration

TEST_FILES = sorted((ROOT / "alert_rules" / "tests").glob("*.yaml"))

UNREACHABLE_KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
users: [{name: u, user: {token: t}}]
"""


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(args, input=stdin, capture_output=True, timeout=120, check=False)


def test_plain_rules_file_is_valid(promtool):
    proc = run(promtool, "check", "rules", str(ROOT / "alert_rules" / "rules.yaml"))
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()


def test_prometheusrule_groups_are_valid(promtool, tmp_path):
    resource = yaml.safe_load((ROOT / "alert_rules" / "prometheusrule.yaml").read_text())
    assert resource["apiVersion"] == "monitoring.coreos.com/v1"
    extracted = tmp_path / "from-prometheusrule.yaml"
    extracted.write_text(yaml.safe_dump({"groups": resource["spec"]["groups"]}))
    proc = run(promtool, "check", "rules", str(extracted))
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()


def test_committed_rule_tests_are_what_the_scenarios_give(promtool, tmp_path):
    """alert_rules/tests is generated from the scenario series (make generate); a change to a scenario, a rule
    or a template must be reviewed there."""
    files = rule_test_files(load_settings(), promtool)
    on_disk = {p.name: p.read_text() for p in TEST_FILES}
    assert sorted(on_disk) == sorted(files), "run `make generate` and commit"
    stale = [name for name, text in files.items() if on_disk[name] != text]
    assert stale == [], f"run `make generate` and commit: {stale}"


def test_there_is_a_rule_test_file_per_section():
    assert {p.stem for p in TEST_FILES} >= {"control-plane", "lifecycle", "exporter"}


@pytest.mark.parametrize("test_file", TEST_FILES, ids=lambda p: p.name)
def test_alert_unit_tests_pass(promtool, test_file: Path):
    proc = subprocess.run(
        [promtool, "test", "rules", test_file.name], cwd=test_file.parent, capture_output=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()


def test_promtool_detects_a_broken_expectation(promtool, tmp_path):
    """The generated tests can fail: flip one expected label and promtool must reject it."""
    source = (ROOT / "alert_rules" / "tests" / "lifecycle.yaml").read_text()
    broken = source.replace("namespace: istio-system", "namespace: kube-system")
    assert broken != source
    (tmp_path / "rules.yaml").write_text((ROOT / "alert_rules" / "rules.yaml").read_text())
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "broken.yaml").write_text(broken)
    proc = subprocess.run([promtool, "test", "rules", "broken.yaml"], cwd=tests, capture_output=True, check=False)
    assert proc.returncode != 0


@pytest.fixture
def unreachable_kubeconfig(tmp_path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(UNREACHABLE_KUBECONFIG)
    return path


def test_metrics_body_of_running_exporter_passes_promtool(promtool, exporter_factory, unreachable_kubeconfig):
    running = exporter_factory(["--kubeconfig", str(unreachable_kubeconfig)])
    deadline = time.monotonic() + 20
    while running.get("/readyz")[0] != 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    # /readyz turns 200 when every source was tried; the render that follows runs in a worker thread
    down = b'meshhealth_source_up{source="kubernetes",source_instance="https://127.0.0.1:1"} 0.0'
    status, _, body = running.get("/metrics")
    while down not in body and time.monotonic() < deadline + 10:
        time.sleep(0.1)
        status, _, body = running.get("/metrics")
    assert status == 200
    assert down in body
    assert b"meshhealth_check_up" in body
    proc = run(promtool, "check", "metrics", stdin=body)
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()


def test_serve_stops_cleanly_on_sigterm(exporter_factory, unreachable_kubeconfig):
    running = exporter_factory(["--kubeconfig", str(unreachable_kubeconfig)])
    running.process.terminate()
    try:
        code = running.process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pytest.fail("serve did not stop within 5 s of SIGTERM")
    stderr = running.process.stderr.read()
    assert code == 0, stderr
    assert "Traceback" not in stderr
    assert "shutting down" in stderr
