"""Our configuration checks and the real ``istioctl analyze`` on the same corpus file set: what to compare.

For every message code both can produce (the codes of the analyzers istioctl ran) we must report the same
objects; every difference is listed in ``KNOWN_DIFFERENCES`` with its reason, and an entry that stops being a
difference fails too.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

from exporter.checks.configuration import CHECKS
from exporter.cli import main
from exporter.config import Settings
from exporter.model import NotEvaluated
from testbed.istio import ISTIOCTL_BIN
from tests.scenarios import config as corpus

# istioctl's analyzers and the message codes of theirs that one of our checks also reports. IST0101
# (ReferencedResourceNotFound) is told apart by what is not found: "IST0101/<what>".
ANALYZER_CODES = {
    "virtualservice.DestinationRuleAnalyzer": {"IST0101/subset"},
    "virtualservice.GatewayAnalyzer": {"IST0101/gateway", "IST0132"},
    "virtualservice.DestinationHostAnalyzer": {"IST0101/host"},
    "gateway.IngressGatewayPortAnalyzer": {"IST0101/selector", "IST0162"},
    "sidecar.SelectorAnalyzer": {"IST0101/selector", "IST0110", "IST0111"},
    "telemetry.SelectorAnalyzer": {"IST0101/selector", "IST0159"},
    "telemetry.DefaultSelectorAnalyzer": {"IST0160"},
    "auth.AuthorizationPoliciesAnalyzer": {"IST0101/namespace", "IST0127"},
    "virtualservice.ConflictingMeshGatewayHostsAnalyzer": {"IST0109"},
    "destinationrule.CaCertificateAnalyzer": {"IST0128", "IST0129"},
    "destinationrule.SubsetSelectPodAnalyzer": {"IST0173", "IST0174"},
    "service.PortNameAnalyzer": {"IST0118", "IST0150"},
    "gateway.ConflictingGatewayAnalyzer": {"IST0145"},
    "serviceentry.Analyzer": {"IST0134"},
}
SHARED_CODES = set().union(*ANALYZER_CODES.values())

# (file set, code, object, who reports it) -> why only one side does. Checked both ways: an entry that stops
# being a difference fails too.
KNOWN_DIFFERENCES = {
    ("healthy-wildcard-dr", "IST0101/subset", "VirtualService bookinfo/details", "istioctl"): (
        "istioctl compares DestinationRule hosts as plain names, so the wildcard DestinationRule "
        "*.bookinfo.svc.cluster.local that istiod applies to details does not count; its subset v1 exists"
    ),
    ("healthy-wildcard-dr", "IST0174", "DestinationRule bookinfo/bookinfo-default", "istioctl"): (
        "istioctl looks the wildcard host up as one Service and finds none; istiod applies a wildcard host to every "
        "Service it covers (here the four Bookinfo Services), so CF03 has nothing to report"
    ),
    ("cf02-dr-in-other-namespace", "IST0101/subset", "VirtualService bookinfo/reviews", "ours"): (
        "subset v4 is defined only in namespace testing; istiod looks up DestinationRules in the client's "
        "namespace, the host's namespace and the root namespace, istioctl in every namespace"
    ),
    ("cf08-two-gateways-tls", "IST0145", "Gateway bookinfo/bookinfo-tls", "istioctl"): (
        "istioctl names both Gateways of a conflict; istiod keeps the older Gateway's server and drops the newer "
        "one's, so CF08 names the one whose hosts fail (bookinfo-tls-copy)"
    ),
    ("healthy-http-gateways-merge", "IST0145", "Gateway bookinfo/bookinfo-gateway", "istioctl"): (
        "the duplicate hosts are plain HTTP, which istiod merges into one route (canMergeProtocols: HTTP with HTTP; "
        "no rejected config); CF08 reports the servers istiod drops"
    ),
    ("healthy-http-gateways-merge", "IST0145", "Gateway bookinfo/bookinfo-http-copy", "istioctl"): (
        "as above: plain-HTTP duplicates are merged by istiod"
    ),
    ("cf08-tcp-beside-http", "IST0145", "Gateway bookinfo/mysql-gateway", "ours"): (
        "istioctl compares hosts only, and mysql.example.com is not bookinfo-gateway's *; istiod merges a port's "
        "servers by protocol first and cannot merge TCP with the HTTP server already on 8080 (same bind), so it "
        "drops the newer TCP server whatever its hosts (pilot_total_rejected_configs)"
    ),
    ("healthy-topology-subsets", "IST0173", "DestinationRule bookinfo/ratings", "istioctl"): (
        "istioctl augments pod labels with an empty cluster ID, so subset this-cluster "
        "(topology.istio.io/cluster: Kubernetes) selects nothing there; istiod labels every endpoint with its "
        "cluster ID (Kubernetes unless CLUSTER_ID says otherwise). Its region, zone and hostname subsets both "
        "sides match from the nodes' labels"
    ),
    ("cf15-gateway-in-other-namespace", "IST0132", "VirtualService bookinfo/bookinfo", "istioctl"): (
        "istioctl also reports IST0132 when the Gateway does not exist (it finds no hosts in it); the VirtualService's "
        "one mistake is the missing Gateway, which CF15 reports as IST0101"
    ),
}

CODE = re.compile(r"\bIST\d{4}\b")
# What istioctl's IST0101 says is not found ("Referenced <what> not found"), as the agreement names it.
REFERENCES = {
    "host+subset in destinationrule": "subset", "mirror+subset in destinationrule": "subset", "gateway": "gateway",
    "host": "host", "mirror host": "host", "host:port": "host", "selector": "selector", "namespace": "namespace",
}  # fmt: skip
# The checks whose findings carry IST0101, and what each says is not found.
OUR_REFERENCES = {"CF02": "subset", "CF15": "gateway", "CF16": "selector", "CF18": "host"}


def codes(check: str, message: str) -> list[str]:
    """The istioctl codes a finding of ours carries, IST0101 with what it says is not found."""
    out = []
    for code in CODE.findall(message):
        if code == "IST0101":
            what = OUR_REFERENCES.get(check) or ("namespace" if "source.n" in message.split(":")[0] else "selector")
            code = f"IST0101/{what}"
        out.append(code)
    return out


def all_file_sets() -> list[str]:
    return ["base", *sorted(f.stem for f in corpus.CORPUS.glob("*.yaml") if f.stem != "base")]


def ours(file_set: str) -> set[tuple[str, str]]:
    """(code, "Kind namespace/name") of every finding of ours that carries an istioctl code."""
    snapshot = corpus.snapshot(None if file_set == "base" else file_set)
    settings = Settings()
    out = set()
    for check in CHECKS:
        try:
            result = check.run(snapshot, settings, time.time())
        except NotEvaluated as exc:
            if exc.partial is None:
                raise
            result = exc.partial
        for f in result.findings:
            for code in codes(f.check, f.message):
                out.add((code, f"{f.kind} {f.namespace}/{f.name}"))
    return out


def istioctl(file_set: str, tmp: Path, *extra: str) -> tuple[set[tuple[str, str]], set[str]]:
    """(code, origin) of istioctl's messages for the shared codes, and the analyzers it skipped."""
    docs = corpus.documents(None if file_set == "base" else file_set)
    files = tmp / "objects.yaml"
    files.write_text(yaml.safe_dump_all(docs))
    mesh = tmp / "mesh.yaml"
    mesh.write_text(corpus.mesh_config(None if file_set == "base" else file_set))
    cmd = [str(ISTIOCTL_BIN), "analyze", "-A", "-o", "json", "-v", "--meshConfigFile", str(mesh), *extra, str(files)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode in (0, 79), done.stderr  # 79: messages at error level were found
    messages: list[dict[str, Any]] = json.loads(done.stdout[: done.stdout.rindex("]") + 1] or "[]")
    skipped = set(re.findall(r"^\s+(\S+)$", done.stderr.split("Executed analyzers:")[0], re.M))
    found = set()
    for m in messages:
        code = m["code"]
        if code == "IST0101":
            what = re.match(r"Referenced (.+) not found", m["message"])
            code = f"IST0101/{REFERENCES.get(what.group(1), what.group(1)) if what else '?'}"
        if code in SHARED_CODES:
            found.add((code, m["origin"]))
    return found, skipped


def ours_on_files(*paths: Path) -> set[tuple[str, str]]:
    """``ours`` as ``mesh-health-exporter check --files`` reports it on manifests."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["check", "--files", *map(str, paths), "--output", "json", "--fail-on", "never"])
    return {
        (code, f"{f['kind']} {f['namespace']}/{f['name']}")
        for f in json.loads(out.getvalue())["findings"]
        for code in codes(f["check"], f["message"])
    }


def compare(
    file_set: str,
    theirs: set[tuple[str, str]],
    skipped: set[str],
    known: dict[Any, str],
    found: set[tuple[str, str]] | None = None,
) -> dict[Any, str]:
    """``found``: our (code, origin) pairs if not ``ours(file_set)``."""
    comparable = set().union(*(codes for name, codes in ANALYZER_CODES.items() if name not in skipped))
    mine = {(c, o) for c, o in (ours(file_set) if found is None else found) if c in comparable}
    differences = {(file_set, c, o, "istioctl") for c, o in theirs - mine}
    differences |= {(file_set, c, o, "ours") for c, o in mine - theirs}
    expected = {k for k in known if k[0] == file_set and k[1] in comparable}
    assert differences == expected, {d: known.get(d, "UNEXPLAINED") for d in differences ^ expected}
    return {d: known[d] for d in differences}
