"""What an operator does next when a source cannot be read, by source and error reason."""

from __future__ import annotations

from exporter.model import SourceView

_HINTS: dict[tuple[str, str], str] = {
    ("kubernetes", "connection"): "check the kubeconfig and context (--kubeconfig/--context), or the pod's network "
    "path to the API server",
    ("kubernetes", "timeout"): "the API server does not answer in time: check its health and sources.kubernetes."
    "timeout_seconds",
    ("kubernetes", "unauthorized"): "the credentials are rejected: refresh the kubeconfig token or the pod's "
    "service-account token",
    ("kubernetes", "forbidden"): "grant the read-only RBAC the enabled checks need (the Helm chart's ClusterRole, "
    "or exporter/rbac.py's rules)",
    ("kubernetes", "not_found"): "an API group is not served: install Istio's CRDs or disable the checks that "
    "need them",
    ("istiod", "forbidden"): "deploy the exporter in the control-plane namespace or add its namespace to istiod's "
    "DEBUG_ENDPOINT_AUTH_ALLOWED_NAMESPACES",
    ("istiod", "unauthorized"): "istiod rejects the token: mount the service-account token or set "
    "istio.debug_token_file",
    ("istiod", "not_found"): "no istiod found: check istio.istiod_selector and istio.control_plane_namespaces, "
    "or set istio.istiod_urls",
    ("istiod", "connection"): "istiod's port 15014 is unreachable: check network policies, or set "
    "istio.istiod_urls to a reachable address",
    ("elasticsearch", "connection"): "check elasticsearch.clusters[].urls and the network path to the cluster",
    ("elasticsearch", "unauthorized"): "check the cluster's username/password_file, api_key_file or bearer_token_file",
    ("elasticsearch", "forbidden"): "the user needs the monitor cluster privilege and view_index_metadata/read "
    "on the Jaeger indices",
    ("elasticsearch", "config"): "fix the file named in the error (CA or credentials)",
    ("webhook_tls", "connection"): "the webhook endpoints are unreachable from the exporter: check network policies",
    ("proxy_stats", "not_found"): "the proxy stats probe finds sidecars in the Kubernetes cache: make the kubernetes "
    "source readable first",
}
_BY_REASON = {
    "timeout": "the source answers too slowly: raise sources.<name>.timeout_seconds or check the server's load",
    "too_large": "the answer exceeds the configured size limit (max_response_bytes)",
    "invalid_response": "the address answers, but not as this source expects: check that the URL points at it",
    "config": "fix the configuration value named in the error",
}


def next_step(source: SourceView) -> str:
    if not source.attempted:
        return "wait for the first refresh"
    return _HINTS.get((source.name, source.error_reason)) or _BY_REASON.get(
        source.error_reason, "see the error and the MH01 runbook"
    )
