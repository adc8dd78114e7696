"""The label sets of the exporter's metrics, each named once.

A metric declares its labels with one of these signatures; ``MetricSpec.sample`` then takes exactly those
keyword arguments, so a misspelt or missing label is a type error where the sample is made.
"""

from __future__ import annotations


def none() -> None: ...


def check(*, check: str) -> None: ...


def crd(*, crd: str) -> None: ...


def es_cluster(*, es_cluster: str) -> None: ...


def istiod(*, istiod: str) -> None: ...


def namespace(*, namespace: str) -> None: ...


def node(*, node: str) -> None: ...


def resource(*, resource: str) -> None: ...


def check_component(*, check: str, component: str) -> None: ...


def es_cluster_family(*, es_cluster: str, family: str) -> None: ...


def es_cluster_node(*, es_cluster: str, node: str) -> None: ...


def es_cluster_status(*, es_cluster: str, status: str) -> None: ...


def istiod_key(*, istiod: str, key: str) -> None: ...


def istiod_type(*, istiod: str, type: str) -> None: ...


def namespace_component(*, namespace: str, component: str) -> None: ...


def namespace_condition(*, namespace: str, condition: str) -> None: ...


def namespace_pod(*, namespace: str, pod: str) -> None: ...


def namespace_reason(*, namespace: str, reason: str) -> None: ...


def namespace_webhook(*, namespace: str, webhook: str) -> None: ...


def resource_result(*, resource: str, result: str) -> None: ...


def source_source_instance(*, source: str, source_instance: str) -> None: ...


def version_revision_python_version(*, version: str, revision: str, python_version: str) -> None: ...


def es_cluster_family_block(*, es_cluster: str, family: str, block: str) -> None: ...


def es_cluster_node_level(*, es_cluster: str, node: str, level: str) -> None: ...


def istiod_istiod_version_proxy_version(*, istiod: str, istiod_version: str, proxy_version: str) -> None: ...


def istiod_namespace_revision(*, istiod: str, namespace: str, revision: str) -> None: ...


def istiod_proxy_type(*, istiod: str, proxy: str, type: str) -> None: ...


def istiod_reason_error(*, istiod: str, reason: str, error: str) -> None: ...


def es_cluster_reason_error(*, es_cluster: str, reason: str, error: str) -> None: ...


def istiod_type_name(*, istiod: str, type: str, name: str) -> None: ...


def namespace_pod_revision(*, namespace: str, pod: str, revision: str) -> None: ...


def namespace_revision_deployment(*, namespace: str, revision: str, deployment: str) -> None: ...


def source_source_instance_reason(*, source: str, source_instance: str, reason: str) -> None: ...


def istiod_namespace_revision_version(*, istiod: str, namespace: str, revision: str, version: str) -> None: ...


def istiod_proxy_type_status(*, istiod: str, proxy: str, type: str, status: str) -> None: ...


def kind_configuration_namespace_service(*, kind: str, configuration: str, namespace: str, service: str) -> None: ...


def namespace_hpa_target_kind_target_name(*, namespace: str, hpa: str, target_kind: str, target_name: str) -> None: ...


def source_source_instance_reason_error(*, source: str, source_instance: str, reason: str, error: str) -> None: ...


def check_component_namespace_kind_workload(
    *, check: str, component: str, namespace: str, kind: str, workload: str
) -> None: ...


def check_severity_namespace_kind_name(*, check: str, severity: str, namespace: str, kind: str, name: str) -> None: ...


def istiod_revision_proxy_type_type_status(
    *, istiod: str, revision: str, proxy_type: str, type: str, status: str
) -> None: ...


def kind_configuration_namespace_service_reason(
    *, kind: str, configuration: str, namespace: str, service: str, reason: str
) -> None: ...


def kind_configuration_namespace_service_failure_policy_reason(
    *, kind: str, configuration: str, namespace: str, service: str, failure_policy: str, reason: str
) -> None: ...
