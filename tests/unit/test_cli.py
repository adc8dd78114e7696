import json
import platform
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from exporter.app import CONFIGURATION_CHECKS
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


CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "istio-config"


def kubectl_list(*docs: dict) -> str:
    """Objects as ``kubectl get -o yaml`` writes them: one List document."""
    return yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": list(docs), "metadata": {}})


def corpus_docs(*names: str) -> list[dict]:
    from tests.scenarios import config as corpus

    return corpus.documents(*names)


def test_check_files_reports_what_a_list_holds_and_exits_1(tmp_path, capsys):
    # CF08's TCP-beside-HTTP conflict, written as `kubectl get gateways -o yaml` would
    listed = tmp_path / "gateways.yaml"
    listed.write_text(kubectl_list(*(d for d in corpus_docs("cf08-tcp-beside-http") if d["kind"] == "Gateway")))
    rest = tmp_path / "rest.yaml"
    rest.write_text(yaml.safe_dump_all([d for d in corpus_docs("cf08-tcp-beside-http") if d["kind"] != "Gateway"]))
    assert main(["check", "--files", str(listed), str(rest)]) == 1
    out = capsys.readouterr().out
    assert "CF08   bookinfo   Gateway  mysql-gateway" in out
    assert f"manifests  {listed}" in out


def test_check_files_on_a_healthy_mesh_exits_0(capsys):
    assert main(["check", "--files", str(CORPUS / "base.yaml")]) == 0
    out = capsys.readouterr().out
    assert "WARNING (0)" in out and "CRITICAL (0)" in out


def test_check_files_names_each_bad_document_and_keeps_every_finding(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: [\n---\n- not an object\n")
    good = tmp_path / "mesh.yaml"
    good.write_text(yaml.safe_dump_all(corpus_docs("cf02-subset-v1-bug")))
    assert main(["check", "-f", str(bad), str(good), "--fail-on", "never", "--output", "json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "findings" and {f["check"] for f in report["findings"]} >= {"CF02"}
    [bad_file, good_file] = report["sources"]
    assert (bad_file["instance"], bad_file["up"], good_file["up"]) == (str(bad), False, True)
    assert "document 1 (line 1): not YAML: line " in bad_file["error"]
    assert "document 2 (line 5): not a Kubernetes object (a YAML list)" in bad_file["error"]


def test_check_files_without_findings_but_a_bad_file_is_no_all_clear(tmp_path, capsys):
    assert main(["check", "--files", str(CORPUS / "base.yaml"), str(tmp_path / "missing.yaml")]) == 2
    out = capsys.readouterr().out
    assert f"manifests  {tmp_path / 'missing.yaml'}" in out and "no such file or directory" in out


def test_check_files_reads_stdin_and_says_what_it_did_not_read(monkeypatch, capsys):
    import io

    docs = [*corpus_docs(), {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}}]
    docs = [d for d in docs if d["kind"] not in ("Pod", "Node")]
    monkeypatch.setattr(sys, "stdin", io.StringIO(yaml.safe_dump_all(docs)))
    code = main(["check", "--files", "-", "--fail-on", "never"])
    captured = capsys.readouterr()
    assert code == 0
    assert "not read, no configuration check reads these: Deployment (1)" in captured.err
    assert "the files hold no nodes, pods: the checks see none" in captured.err


def test_check_files_gives_unnamespaced_objects_the_namespace_option(tmp_path, capsys):
    docs = corpus_docs("cf02-subset-v1-bug")
    for d in docs:
        if d["kind"] == "VirtualService" and d["metadata"]["name"] == "reviews":
            del d["metadata"]["namespace"]
    path = tmp_path / "objects.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    main(["check", "--files", str(path), "--output", "json", "-n", "bookinfo"])
    in_bookinfo = json.loads(capsys.readouterr().out)["findings"]
    main(["check", "--files", str(path), "--output", "json"])
    in_default = json.loads(capsys.readouterr().out)["findings"]
    assert ("CF02", "bookinfo", "reviews") in {(f["check"], f["namespace"], f["name"]) for f in in_bookinfo}
    assert ("CF02", "default", "reviews") in {(f["check"], f["namespace"], f["name"]) for f in in_default}


def test_check_files_with_an_unreachable_cluster_evaluates_nothing(unreachable_kubeconfig, capsys):
    code = main(["check", "--files", str(CORPUS / "base.yaml"), "--use-kube", "--kubeconfig",
                 str(unreachable_kubeconfig), "--output", "json"])  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert code == 2 and report["status"] == "incomplete"
    assert {c["id"] for c in report["checks"] if not c["up"]} == CONFIGURATION_CHECKS
    assert [s["name"] for s in report["sources"] if not s["up"]] == ["kubernetes"]


def test_use_kube_needs_files(capsys):
    assert main(["check", "--use-kube"]) == 2
    assert "--use-kube needs --files" in capsys.readouterr().err


def test_check_files_with_configuration_checks_disabled_exits_2(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"checks": {c: {"enabled": False} for c in CONFIGURATION_CHECKS}}))
    assert main(["check", "--config", str(config), "--files", str(CORPUS / "base.yaml")]) == 2
    assert "no configuration check (CF01-CF21) is enabled" in capsys.readouterr().err
