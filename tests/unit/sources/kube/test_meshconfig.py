"""The mesh config as istiod reads it: defaults, revisions, and unreadable documents."""

from __future__ import annotations

from exporter.sources.kube.meshconfig import ExtensionProvider, mesh_configs, parse_mesh_config, revision_of
from exporter.sources.kube.projections import project_istio_configmap


def cm(name: str, mesh: str | None, namespace: str = "istio-system"):
    data = {"mesh": mesh} if mesh is not None else {"other": "x"}
    return project_istio_configmap({"metadata": {"name": name, "namespace": namespace}, "data": data})


def test_defaults_when_nothing_is_set():
    mesh = parse_mesh_config("istio-system", "istio", "default", "")
    assert (mesh.error, mesh.root_namespace, mesh.enable_auto_mtls, mesh.sampling) == ("", "istio-system", True, None)
    assert mesh.effective_discovery_address == "istiod.istio-system.svc:15012"
    assert mesh.export_to("DestinationRule") == ("*",)
    assert (
        parse_mesh_config("ops", "istio-canary", "canary", "{}").effective_discovery_address
        == "istiod-canary.ops.svc:15012"
    )


def test_fields_are_read():
    text = """
rootNamespace: mesh-root
enableAutoMtls: false
defaultDestinationRuleExportTo: ["."]
defaultConfig:
  discoveryAddress: istiod.ops.svc:15012
  proxyMetadata: {ISTIO_META_DNS_CAPTURE: "true", N: 1}
  tracing:
    sampling: 100
    zipkin: {address: zipkin.tracing:9411}
extensionProviders:
- name: otel
  opentelemetry: {service: otel.tracing.svc.cluster.local, port: 4317}
- name: log
  envoyFileAccessLog: {path: /dev/stdout}
"""
    mesh = parse_mesh_config("istio-system", "istio", "default", text)
    assert (mesh.root_namespace, mesh.enable_auto_mtls, mesh.sampling) == ("mesh-root", False, 100.0)
    assert mesh.effective_discovery_address == "istiod.ops.svc:15012"
    assert (
        mesh.metadata("ISTIO_META_DNS_CAPTURE") == "true" and mesh.metadata("N") == "1" and mesh.metadata("X") is None
    )
    assert mesh.zipkin_address == "zipkin.tracing:9411"
    assert mesh.extension_providers == (
        ExtensionProvider("otel", "opentelemetry", "otel.tracing.svc.cluster.local", 4317),
    )
    assert mesh.export_to("DestinationRule") == (".",) and mesh.export_to("Service") == ("*",)


def test_wrong_types_fall_back_to_defaults():
    text = "enableAutoMtls: 'no'\ndefaultConfig: [1]\nextensionProviders: {a: b}\ndefaultServiceExportTo: []\n"
    mesh = parse_mesh_config("istio-system", "istio", "default", text)
    assert (mesh.error, mesh.enable_auto_mtls, mesh.extension_providers, mesh.export_to("Service")) == (
        "",
        True,
        (),
        ("*",),
    )
    sampling = parse_mesh_config("istio-system", "istio", "default", "defaultConfig: {tracing: {sampling: true}}")
    assert sampling.sampling is None
    # found by fuzzing: a scalar where a list belongs
    assert parse_mesh_config("s", "istio", "default", "extensionProviders: true").extension_providers == ()
    address = parse_mesh_config(
        "s", "istio", "default", "defaultConfig: {discoveryAddress: {a: 1}, tracing: {zipkin: {address: [1]}}}"
    )
    assert (address.discovery_address, address.zipkin_address) == ("", "")
    assert parse_mesh_config("s", "istio", "default", "rootNamespace: 7").root_namespace == "7"
    port = parse_mesh_config(
        "s", "istio", "default", "extensionProviders: [{name: z, zipkin: {service: z, port: '9'}}]"
    )
    assert port.extension_providers[0].port == 0


def test_unreadable_documents_keep_their_error():
    assert parse_mesh_config("s", "istio", "default", "a: [").error.startswith("mesh config is not YAML")
    assert parse_mesh_config("s", "istio", "default", "- a").error == "mesh config is not a YAML mapping"


def test_revisions_and_which_configmaps_are_mesh_configs():
    assert revision_of("istio") == "default" and revision_of("istio-1-29") == "1-29"
    for other in ("istio-sidecar-injector", "istio-sidecar-injector-1-29", "istio-ca-root-cert", "kube-root-ca.crt"):
        assert revision_of(other) is None
    found = mesh_configs(
        [cm("istio-1-29", "{}"), cm("istio", "{}"), cm("istio-ca-root-cert", "{}"), cm("istio-x", None)]
    )
    assert [(m.configmap, m.revision) for m in found] == [("istio", "default"), ("istio-1-29", "1-29")]
