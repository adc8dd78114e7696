"""Our configuration checks against the real ``istioctl analyze`` (built from the testbed's pinned Istio), offline.

Each corpus file set (``tests/corpus/istio-config``: Bookinfo plus one mistake) goes to ``istioctl analyze
--use-kube=false`` and to our checks (see ``tests/agreement.py``). Offline, istioctl skips the analyzers that
need Kubernetes objects (Services, Pods); their codes are compared against a real API server in
``tests/e2e/test_istioctl_agreement.py``. ``check --files`` is given the file istioctl reads.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from testbed.istio import ISTIOCTL_BIN
from tests.agreement import KNOWN_DIFFERENCES, all_file_sets, compare, istioctl, ours, ours_on_files

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def istioctl_binary() -> Path:
    assert ISTIOCTL_BIN.exists(), f"{ISTIOCTL_BIN} missing: run `bash testbed/build.sh istiod`"
    return ISTIOCTL_BIN


@pytest.mark.parametrize("file_set", all_file_sets())
def test_offline_istioctl_analyze_agrees_on_every_shared_code(file_set, tmp_path, istioctl_binary):
    theirs, skipped = istioctl(file_set, tmp_path, "--use-kube=false")
    assert "virtualservice.DestinationRuleAnalyzer" not in skipped and "serviceentry.Analyzer" not in skipped
    compare(file_set, theirs, skipped, KNOWN_DIFFERENCES)


@pytest.mark.parametrize("file_set", all_file_sets())
def test_check_files_agrees_with_istioctl_analyze_on_the_same_file(file_set, tmp_path, istioctl_binary):
    """``check --files`` reads the very file ``istioctl analyze -f`` reads and finds what the checks find."""
    theirs, skipped = istioctl(file_set, tmp_path, "--use-kube=false")
    found = ours_on_files(tmp_path / "objects.yaml")
    assert found == ours(file_set)
    compare(file_set, theirs, skipped, KNOWN_DIFFERENCES, found)
