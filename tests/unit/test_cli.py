import json
import platform
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from exporter.build import revision
from exporter.cli import main
from exporter.config import ChecksSettings
from tests.support import RunningExporter, free_port, start_exporter, wait_for

UNREACHABLE = """apiVersion: v1
kind: Config
clusters:
- cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}
  name: c
contexts:
- context: {cluster: c, user: u}
  name: c
current-context: c
users:
- name: u
  user: {token: very-secret-token}
"""


@pytest.fixture
def unreachable_kubeconfig(tmp_path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(UNREACHABLE)
    return path


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "exporter", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_check_against_unreachable_cluster_exits_2_with_one_line(unreachable_kubeconfig):
    proc = run_cli("check", "--kubeconfig", str(unreachable_kubeconfig))
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "cannot check: no source reachable" in lines[0] and "127.0.0.1:1" in lines[0]
    assert "Traceback" not in proc.stderr and "very-secret-token" not in proc.stderr


def test_serve_logs_never_show_the_token(unreachable_kubeconfig):
    running = start_exporter(["--kubeconfig", str(unreachable_kubeconfig), "--log-level", "debug"])
    try:
        wait_for(lambda: running.get("/readyz")[0] == 200, what="first refresh attempt")
    finally:
        running.process.terminate()
        _, err = running.process.communicate(timeout=10)
    assert "very-secret-token" not in err
    assert "127.0.0.1:1" in err  # it did try


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "--config", "/nonexistent.yaml"], "config file /nonexistent.yaml"),
        (["serve", "--listen-address", "nonsense"], "listen_address"),
        (["serve", "--web.config.file", "/nonexistent-web.yaml"], "config file /nonexistent-web.yaml"),
    ],
)
def test_bad_configuration_exits_2(capsys, args, message):
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_check_with_everything_disabled_exits_2(capsys, tmp_path):
    config = tmp_path / "all-disabled.yaml"
    config.write_text(
        yaml.safe_dump({"checks": {check_id: {"enabled": False} for check_id in ChecksSettings.model_fields}})
    )
    code = main(["check", "--config", str(config)])
    assert code == 2
    assert "no check is enabled" in capsys.readouterr().err


@pytest.mark.parametrize("command", [[], ["serve"], ["check"], ["generate"]])
def test_version_on_every_command_names_the_revision(command):
    proc = run_cli(*command, "--version")
    assert proc.returncode == 0
    assert proc.stdout == f"mesh-health-exporter 0.1.0 (revision {revision()}, python {platform.python_version()})\n"


@pytest.mark.parametrize("command", ["serve", "check", "generate"])
def test_command_help_describes_it_with_defaults(command):
    proc = run_cli(command, "--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    assert {"serve": "SIGTERM", "check": "Exit 0", "generate": "promtool"}[command] in text
    assert "--log.level" in text and "--log-level" in text
    assert "default 0.0.0.0:9745" in text if command == "serve" else "(default: " in text, text


def test_exporter_toolkit_flags_listen_twice_on_a_custom_path():
    second = free_port()
    flags = ["--web.telemetry-path", "/probe/metrics", "--log.level", "debug", "--log.format", "json"]
    running = start_exporter(["--web.listen-address", f"127.0.0.1:{second}", *flags], metrics_path="/probe/metrics")
    try:
        other = RunningExporter(running.process, f"http://127.0.0.1:{second}")
        for server in (running, other):
            status, _, body = server.get("/probe/metrics")
            assert status == 200 and b"meshhealth_build_info{" in body
            assert server.get("/metrics")[0] == 404
        assert b'href="/probe/metrics"' in running.get("/")[2]
        assert f'revision="{revision()}"'.encode() in running.get("/probe/metrics")[2]
    finally:
        running.process.terminate()
        _, err = running.process.communicate(timeout=10)
    [listening] = [m for m in map(json.loads, err.splitlines()) if m["msg"].startswith("listening on ")]
    assert f"http://127.0.0.1:{second}/probe/metrics" in listening["msg"]
