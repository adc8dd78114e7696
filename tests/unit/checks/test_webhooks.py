import asyncio
import base64
import dataclasses
import ssl
import subprocess
from pathlib import Path

import pytest

from exporter.checks.webhooks import CHECKS, check_webhook_tls
from exporter.model import Severity
from exporter.sources.kube.projections import (
    project_endpointslice,
    project_mutating_webhooks,
    project_namespace,
    project_service,
    project_validating_webhooks,
)
from exporter.sources.webhook_tls import WebhookTLSSource, handshake, tls_targets
from tests.unit.helpers import settings, snapshot

NOW = 1_700_000_000.0
RUN = {c.id: c.run for c in CHECKS}


def validator(service="istiod", namespace="istio-system", policy="Fail", ca=""):
    return project_validating_webhooks({
        "metadata": {"name": "istio-validator-istio-system"},
        "webhooks": [{"name": "rev.validation.istio.io", "failurePolicy": policy,
                      "clientConfig": {"caBundle": ca, "service": {"name": service, "namespace": namespace,
                                                                   "path": "/validate", "port": 443}}}],
    })  # fmt: skip


def injector(service="istiod", policy="Fail"):
    return project_mutating_webhooks({
        "metadata": {"name": "istio-sidecar-injector"},
        "webhooks": [{"name": f"{n}.sidecar-injector.istio.io", "failurePolicy": policy,
                      "clientConfig": {"service": {"name": service, "namespace": "istio-system", "port": 443}}}
                     for n in ("rev.namespace", "rev.object")],
    })  # fmt: skip


def ns(name):
    return project_namespace({"metadata": {"name": name}, "status": {"phase": "Active"}})


def svc(name="istiod", namespace="istio-system"):
    return project_service({"metadata": {"name": name, "namespace": namespace}, "spec": {
        "selector": {"app": "istiod"},
        "ports": [{"name": "https-webhook", "port": 443, "targetPort": 15017, "protocol": "TCP"}]}})  # fmt: skip


def slice_(addresses, ready=True, port=15017, service="istiod"):
    return project_endpointslice({
        "metadata": {"name": f"{service}-x1", "namespace": "istio-system",
                     "labels": {"kubernetes.io/service-name": service}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [a], "conditions": {"ready": ready}} for a in addresses],
        "ports": [{"name": "https-webhook", "port": port, "protocol": "TCP"}],
    })  # fmt: skip


def world(**objects):
    base = {"namespaces": [ns("istio-system")], "services": [svc()], "endpointslices": [slice_(["10.244.0.5"])],
            "validating_webhooks": [validator()], "mutating_webhooks": [injector()]}  # fmt: skip
    base.update(objects)
    return snapshot(**base)


def findings(check_id, snap):
    return RUN[check_id](snap, settings(), NOW).findings


def test_healthy_wiring_has_no_findings_and_reports_endpoints():
    for check_id in ("WH01", "WH02", "WH04", "WH05"):
        assert findings(check_id, world()) == []
    samples = RUN["WH02"](world(), settings(), NOW).samples
    assert {s.value for s in samples if s.metric == "meshhealth_webhook_ready_endpoints"} == {1}


def test_wh01_revisioned_install_webhook_still_calls_istiod():
    snap = world(services=[svc("istiod-1-6-10")], endpointslices=[slice_(["10.244.0.5"], service="istiod-1-6-10")])
    result = RUN["WH01"](snap, settings(), NOW)
    by_config = {f.name: f for f in result.findings}
    assert set(by_config) == {"istio-validator-istio-system", "istio-sidecar-injector"}
    assert by_config["istio-sidecar-injector"].severity == Severity.CRITICAL
    assert "rev.namespace.sidecar-injector.istio.io, rev.object.sidecar-injector.istio.io" in by_config[
        "istio-sidecar-injector"].message  # fmt: skip
    broken = [dict(s.labels) for s in result.samples if s.metric == "meshhealth_webhook_target_broken"]
    assert {b["reason"] for b in broken} == {"service_missing"} and len(broken) == 2


def test_wh02_wh04_no_ready_endpoints_and_ignore_policy():
    snap = world(endpointslices=[slice_(["10.244.0.5"], ready=False)], validating_webhooks=[validator(policy="Ignore")])
    wh02 = {f.name: f.severity for f in findings("WH02", snap)}
    assert wh02 == {"istio-sidecar-injector": Severity.CRITICAL}  # failurePolicy Ignore is WH04's finding
    [wh04] = findings("WH04", snap)
    assert wh04.name == "istio-validator-istio-system" and "Istio config is not validated" in wh04.message
    [open_] = [dict(x.labels) for x in RUN["WH04"](snap, settings(), NOW).samples]
    assert open_["configuration"] == "istio-validator-istio-system" and open_["reason"] == "no_ready_endpoints"


def test_wh01_wh05_leftover_webhook_after_uninstall():
    snap = world(namespaces=[ns("default")], services=[], endpointslices=[])
    assert {f.name for f in findings("WH05", snap)} == {"istio-validator-istio-system", "istio-sidecar-injector"}
    assert findings("WH01", snap) == []  # the more specific reason wins


def test_wh01_unrelated_webhooks_are_ignored():
    other = project_validating_webhooks({"metadata": {"name": "ingress-nginx-admission"}, "webhooks": [
        {"name": "validate.nginx.ingress.kubernetes.io",
         "clientConfig": {"service": {"name": "gone", "namespace": "ingress-nginx"}}}]})  # fmt: skip
    assert findings("WH01", world(validating_webhooks=[other])) == []


# --- WH03: real TLS handshakes -------------------------------------------------------------------


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("pki")
    for ca in ("ca", "other-ca"):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", f"{ca}.key", "-out", f"{ca}.crt", "-days", "2", "-subj", f"/CN={ca}", cwd=d)  # fmt: skip
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "srv.key",
            "-out", "srv.csr", "-subj", "/CN=istiod", cwd=d)  # fmt: skip
    (d / "ext").write_text("subjectAltName=DNS:istiod.istio-system.svc\n")
    openssl("x509", "-req", "-in", "srv.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "srv.crt", "-days", "2", "-extfile", "ext", cwd=d)  # fmt: skip
    return d


@pytest.fixture
async def tls_server(pki):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki / "srv.crt", pki / "srv.key")

    async def handle(reader, writer):
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


def bundle(pki, name):
    return base64.b64encode((pki / f"{name}.crt").read_bytes()).decode()


async def test_handshake_verifies_name_and_ca(pki, tls_server):
    ok = await handshake("127.0.0.1", tls_server, "istiod.istio-system.svc", bundle(pki, "ca"))
    assert ok.error == "" and ok.not_after is not None and ok.not_after > NOW
    wrong_ca = await handshake("127.0.0.1", tls_server, "istiod.istio-system.svc", bundle(pki, "other-ca"))
    assert "certificate rejected" in wrong_ca.error
    wrong_name = await handshake("127.0.0.1", tls_server, "istiod-1-6-10.istio-system.svc", bundle(pki, "ca"))
    assert "certificate rejected" in wrong_name.error and "mismatch" in wrong_name.error.lower()
    garbage = await handshake("127.0.0.1", tls_server, "istiod.istio-system.svc", "not base64!")
    assert "caBundle" in garbage.error
    closed = await handshake("127.0.0.1", 1, "istiod.istio-system.svc", bundle(pki, "ca"))
    assert "cannot connect" in closed.error


async def test_wh03_source_probes_endpoints_from_the_cache_and_check_reports(pki, tls_server):
    snap = world(
        endpointslices=[slice_(["127.0.0.1"], port=tls_server)],
        validating_webhooks=[validator(ca=bundle(pki, "ca"))],
        mutating_webhooks=[injector()],
    )
    [target_v, _target_m] = sorted(tls_targets(snap, settings()), key=lambda t: t.kind, reverse=True)
    assert target_v.addresses == (("127.0.0.1", tls_server),)
    result = await WebhookTLSSource(settings(), lambda: snap).refresh()
    outcome = check_webhook_tls(result, settings(), NOW)
    [finding] = outcome.findings  # the injector has no caBundle: system roots reject the private CA
    assert finding.check == "WH03" and finding.name == "istio-sidecar-injector"
    expiry = [s for s in outcome.samples if s.metric == "meshhealth_webhook_cert_expiry_timestamp_seconds"]
    assert len(expiry) == 1 and dict(expiry[0].labels)["configuration"] == "istio-validator-istio-system"
    near = check_webhook_tls(result, settings(), expiry[0].value - 86400)
    assert any("expires in" in f.message and f.severity == Severity.WARNING for f in near.findings)


def test_wh03_tls_errors_expiry_and_counts_per_probe():
    from exporter.sources.webhook_tls_snapshot import EndpointResult, TLSProbe, WebhookTLSSnapshot

    now = 1_000_000.0
    day = 86400

    def probe(config, *endpoints, policy="Fail", kind="validating"):
        return TLSProbe(kind, config, "istio-system", "istiod", policy, "istiod.istio-system.svc", tuple(endpoints))

    snap = WebhookTLSSnapshot((
        probe("broken", EndpointResult("10.0.0.1:15017", None, "certificate verify failed"),
              EndpointResult("10.0.0.2:15017", now + day, ""), policy="Ignore"),
        probe("soon", EndpointResult("10.0.0.3:15017", now + 14 * day - 1, ""),
              EndpointResult("10.0.0.4:15017", now + 100 * day, ""), kind="mutating"),
        probe("fine", EndpointResult("10.0.0.5:15017", now + 14 * day, "")),
        probe("empty"),
    ))  # fmt: skip
    result = check_webhook_tls(snap, settings(), now)
    assert [(f.severity.label, f.kind, f.name, f.message) for f in result.findings] == [
        ("critical", "ValidatingWebhookConfiguration", "broken",
         "TLS to 10.0.0.1:15017 as istiod.istio-system.svc: certificate verify failed"),
        ("warning", "MutatingWebhookConfiguration", "soon", "serving certificate of istiod.istio-system.svc expires in 13d23h59m"),
    ]  # fmt: skip
    samples = {(x.metric, dict(x.labels).get("configuration", "")): (x.labels, x.value) for x in result.samples}
    assert samples[("meshhealth_webhook_target_broken", "broken")] == (
        (("kind", "validating"), ("configuration", "broken"), ("namespace", "istio-system"), ("service", "istiod"),
         ("failure_policy", "Ignore"), ("reason", "tls_error")), 1.0)  # fmt: skip
    assert samples[("meshhealth_webhook_cert_expiry_timestamp_seconds", "soon")][1] == now + 14 * day - 1
    assert samples[("meshhealth_webhook_cert_expiry_timestamp_seconds", "broken")][1] == now + day
    assert ("meshhealth_webhook_cert_expiry_timestamp_seconds", "empty") not in samples
    assert samples[("meshhealth_webhook_endpoints_probed", "")][1] == 5.0
    assert sum(1 for x in result.samples if x.metric == "meshhealth_webhook_target_broken") == 1


def test_wh02_ready_endpoints_add_up_over_endpoint_slices():
    two = [slice_(["10.244.0.5"]), dataclasses.replace(slice_(["10.244.0.6", "10.244.0.7"]), name="istiod-x2")]
    samples = RUN["WH02"](world(endpointslices=two), settings(), NOW).samples
    assert {s.value for s in samples if s.metric == "meshhealth_webhook_ready_endpoints"} == {3}


def test_wh05_leftover_reported_whatever_the_failure_policy():
    snap = world(namespaces=[ns("default")], services=[], endpointslices=[], validating_webhooks=[validator(policy="Ignore")],
                 mutating_webhooks=[])  # fmt: skip
    [f] = findings("WH05", snap)
    assert f.name == "istio-validator-istio-system" and f.message.endswith("failurePolicy Ignore")
