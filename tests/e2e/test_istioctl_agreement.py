"""Our configuration checks against ``istioctl analyze`` reading a real API server.

Offline, istioctl skips its analyzers that need Services and Pods; here every corpus file set is applied to a
kube-apiserver of its own (the mesh's testbed cluster is left alone) and istioctl analyzes the live objects,
so IST0118, IST0145, IST0150, IST0173 and IST0174 are compared too (see ``tests/agreement.py``).
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from exporter.app import CONFIGURATION_CHECKS
from exporter.cli import main
from exporter.sources.kube.manifest_snapshot import resource_plural
from testbed.kube import KubeCluster
from tests.agreement import ANALYZER_CODES, KNOWN_DIFFERENCES, all_file_sets, compare, istioctl
from tests.e2e.helpers import running_cluster
from tests.scenarios import config as corpus

pytestmark = pytest.mark.e2e


def collection(doc: dict[str, Any]) -> str:
    kind, api = doc["kind"], doc["apiVersion"]
    plural = resource_plural(kind)
    prefix = f"/api/{api}" if "/" not in api else f"/apis/{api}"
    namespace = (doc.get("metadata") or {}).get("namespace")
    return f"{prefix}/namespaces/{namespace}/{plural}" if namespace else f"{prefix}/{plural}"


class LiveCorpus:
    """Keeps the cluster's objects equal to one file set at a time (namespaces and pods are only ever added)."""

    def __init__(self, cluster: KubeCluster) -> None:
        self.cluster = cluster
        self.applied: dict[str, dict[str, Any]] = {}

    def show(self, file_set: str) -> None:
        docs = corpus.documents(None if file_set == "base" else file_set)
        wanted = {f"{collection(d)}/{d['metadata']['name']}": d for d in docs}
        for path, doc in self.applied.items():
            if path not in wanted and doc["kind"] not in ("Namespace", "Pod"):
                self.cluster.admin.delete(path)
        for kind in ("Namespace", "Node"):  # before what lives in them
            for doc in (d for d in docs if d["kind"] == kind):
                self.cluster.admin.apply(collection(doc), doc)
        for doc in (d for d in docs if d["kind"] not in ("Namespace", "Node")):
            doc = {**doc, "metadata": {k: v for k, v in doc["metadata"].items() if k != "creationTimestamp"}}
            self.cluster.admin.apply(collection(doc), {k: v for k, v in doc.items() if k != "status"})
        self.applied = wanted


@pytest.fixture(scope="module")
def live() -> Iterator[LiveCorpus]:
    for cluster in running_cluster():
        yield LiveCorpus(cluster)


@pytest.mark.parametrize("file_set", all_file_sets())
def test_istioctl_analyze_on_a_live_cluster_agrees_on_every_shared_code(file_set: str, live: LiveCorpus,
                                                                         tmp_path: Path) -> None:  # fmt: skip
    live.show(file_set)
    theirs, skipped = istioctl(file_set, tmp_path, f"--kubeconfig={live.cluster.kubeconfig}")
    assert not skipped & set(ANALYZER_CODES), skipped
    compare(file_set, theirs, skipped, KNOWN_DIFFERENCES)


# Sources besides the API server stay off: the configuration checks are what is compared.
KUBE_ONLY = {"sources": {name: {"enabled": False} for name in ("istiod", "webhook_tls", "proxy_stats")}}


def config_findings(args: list[str], tmp_path: Path) -> set[tuple[str, str, str, str, str]]:
    config = tmp_path / "kube-only.yaml"
    config.write_text(yaml.safe_dump(KUBE_ONLY))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["check", "--config", str(config), "--output", "json", "--fail-on", "never", *args])
    findings = json.loads(out.getvalue())["findings"]
    return {(f["check"], f["namespace"], f["kind"], f["name"], f["message"]) for f in findings if f["check"] in
            CONFIGURATION_CHECKS}  # fmt: skip


def additive(file_set: str) -> bool:
    """A file set that only adds or replaces objects (files cannot delete what the cluster holds)."""
    return corpus.DELETE not in (corpus.CORPUS / f"{file_set}.yaml").read_text()


@pytest.mark.parametrize("file_set", [f for f in all_file_sets() if f != "base" and additive(f)])
def test_check_files_over_the_cluster_finds_what_applying_the_files_would(file_set: str, live: LiveCorpus,
                                                                           tmp_path: Path) -> None:  # fmt: skip
    """``check --files change.yaml --use-kube`` before the change is applied equals ``check`` after it."""
    kubeconfig = ["--kubeconfig", str(live.cluster.kubeconfig)]
    live.show("base")
    before = config_findings(["--files", str(corpus.CORPUS / f"{file_set}.yaml"), "--use-kube", *kubeconfig], tmp_path)
    live.show(file_set)
    after = config_findings(kubeconfig, tmp_path)
    assert bool(after) == file_set.startswith("cf"), after  # a mistake has findings once applied, a healthy set none
    assert before == after
