"""Random, partly-missing Istio configuration objects and mesh configs never crash a configuration check.

A projection may reject an object without a name (ValueError: the informer counts it as a projection error);
anything it accepts, and any mesh config text, must leave every CF check returning a result or saying why it is
not evaluated."""

from __future__ import annotations

import contextlib
import functools
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from exporter.checks.configuration import CHECKS
from exporter.config import Settings
from exporter.model import CheckResult, NotEvaluated
from exporter.sources.kube import istio_projections as ip
from exporter.sources.kube.meshconfig import parse_mesh_config
from exporter.sources.kube.snapshot import KubeSnapshot
from tests.fuzz.test_parsers import json_values, near
from tests.scenarios import config as corpus

SPEC_FIELDS = {
    "destinationrules": (ip.project_destination_rule, ["host", "exportTo", "subsets", "trafficPolicy", "workloadSelector"]),
    "virtualservices": (ip.project_virtual_service, ["hosts", "gateways", "http", "tcp", "tls", "exportTo"]),
    "gateways": (ip.project_gateway, ["selector", "servers"]),
    "serviceentries": (ip.project_service_entry, ["hosts", "addresses", "ports", "resolution", "workloadSelector"]),
    "peerauthentications": (ip.project_peer_authentication, ["selector", "mtls", "portLevelMtls"]),
    "telemetries": (ip.project_telemetry, ["selector", "tracing"]),
    "sidecars": (ip.project_sidecar, ["workloadSelector", "egress", "outboundTrafficPolicy"]),
    "authorizationpolicies": (ip.project_authorization_policy, ["selector", "action", "rules", "targetRef", "targetRefs"]),
}  # fmt: skip
NESTED = near(["name", "labels", "tls", "mode", "port", "number", "protocol", "hosts", "route", "destination", "host",
               "subset", "fault", "retries", "attempts", "timeout", "mirror", "mirrors", "matchLabels", "bind",
               "portLevelSettings", "randomSamplingPercentage", "from", "source", "namespaces", "notNamespaces"])  # fmt: skip
VALUES = json_values | st.lists(NESTED, max_size=3) | NESTED


def objects(key: str) -> st.SearchStrategy[dict[str, Any]]:
    fields = SPEC_FIELDS[key][1]
    spec = st.dictionaries(st.sampled_from(fields), VALUES, max_size=len(fields)) | json_values
    meta = st.fixed_dictionaries(
        {"name": st.text(min_size=1, max_size=8), "namespace": st.sampled_from(["bookinfo", "x", ""])}
    )
    return st.fixed_dictionaries({"metadata": meta | json_values, "spec": spec, "status": json_values})


@functools.cache
def corpus_snapshot() -> KubeSnapshot:
    return corpus.snapshot()  # immutable: built once, not for every example


SETTINGS = Settings()


@given(st.data())
def test_random_configuration_objects_never_crash_a_check(data):
    base = corpus_snapshot()
    objects_by_key = {k: list(v) for k, v in base.objects.items()}
    for key, (project, _) in SPEC_FIELDS.items():
        for obj in data.draw(st.lists(objects(key), max_size=3), label=key):
            with contextlib.suppress(ValueError):  # no usable metadata.name: dropped by the informer
                objects_by_key[key].append(project(obj))
    snapshot = KubeSnapshot({k: tuple(v) for k, v in objects_by_key.items()})
    for check in CHECKS:
        try:
            result = check.run(snapshot, SETTINGS, 0.0)
        except NotEvaluated as exc:
            result, reason = exc.partial or CheckResult(), str(exc)
        else:
            reason = "evaluated"
        assert reason, check.id  # not evaluated always says why
        assert all(f.check == check.id for f in result.findings)


MESH_KEYS = ["defaultConfig", "enableAutoMtls", "rootNamespace", "extensionProviders", "defaultServiceExportTo",
             "defaultDestinationRuleExportTo", "discoveryAddress", "tracing", "proxyMetadata", "sampling", "zipkin"]  # fmt: skip


@given(
    st.text(max_size=200)
    | st.builds(str, near(MESH_KEYS))
    | near(MESH_KEYS).map(lambda d: __import__("yaml").safe_dump(d))
)
def test_any_mesh_config_text_parses_or_says_why(text):
    mesh = parse_mesh_config("istio-system", "istio", "default", text)
    assert mesh.error or isinstance(mesh.enable_auto_mtls, bool)
    assert isinstance(mesh.effective_discovery_address, str)
