"""The Kubernetes resources checks read, declared once so that checks share informers."""

from __future__ import annotations

from exporter.config import Settings
from exporter.sources.kube import istio_projections as ip
from exporter.sources.kube import projections as p
from exporter.sources.kube.resources import ResourceSpec

DEPLOYMENTS = ResourceSpec("deployments", "apps", "deployments", p.project_deployment)
STATEFULSETS = ResourceSpec("statefulsets", "apps", "statefulsets", p.project_statefulset)
PODS = ResourceSpec("pods", "", "pods", p.project_pod)
NAMESPACES = ResourceSpec("namespaces", "", "namespaces", p.project_namespace)
NODES = ResourceSpec("nodes", "", "nodes", p.project_node)
SERVICES = ResourceSpec("services", "", "services", p.project_service)
ENDPOINTSLICES = ResourceSpec("endpointslices", "discovery.k8s.io", "endpointslices", p.project_endpointslice)
# FailedMount, FailedCreate and Unhealthy are all Warning events; Normal events are never kept.
WARNING_EVENTS = ResourceSpec("warning_events", "", "events", p.project_event, field_selector="type=Warning")
VALIDATING_WEBHOOKS = ResourceSpec(
    "validating_webhooks",
    "admissionregistration.k8s.io",
    "validatingwebhookconfigurations",
    p.project_validating_webhooks,
)
MUTATING_WEBHOOKS = ResourceSpec(
    "mutating_webhooks", "admissionregistration.k8s.io", "mutatingwebhookconfigurations", p.project_mutating_webhooks
)
CRDS = ResourceSpec("crds", "apiextensions.k8s.io", "customresourcedefinitions", p.project_crd)


def control_plane_hpas(settings: Settings) -> ResourceSpec:
    return ResourceSpec(
        "control_plane_hpas",
        "autoscaling",
        "horizontalpodautoscalers",
        p.project_hpa,
        namespaces=tuple(settings.istio.control_plane_namespaces),
    )


def istio_configmaps(settings: Settings) -> ResourceSpec:
    return ResourceSpec(
        "istio_configmaps",
        "",
        "configmaps",
        p.project_istio_configmap,
        namespaces=tuple(settings.istio.control_plane_namespaces),
    )


# Istio configuration (CF01-CF21), at whichever version the API server prefers.
DESTINATION_RULES = ResourceSpec(
    "destinationrules", "networking.istio.io", "destinationrules", ip.project_destination_rule
)
VIRTUAL_SERVICES = ResourceSpec("virtualservices", "networking.istio.io", "virtualservices", ip.project_virtual_service)
GATEWAYS = ResourceSpec("gateways", "networking.istio.io", "gateways", ip.project_gateway)
SERVICE_ENTRIES = ResourceSpec("serviceentries", "networking.istio.io", "serviceentries", ip.project_service_entry)
PEER_AUTHENTICATIONS = ResourceSpec(
    "peerauthentications", "security.istio.io", "peerauthentications", ip.project_peer_authentication
)
TELEMETRIES = ResourceSpec("telemetries", "telemetry.istio.io", "telemetries", ip.project_telemetry)
SIDECARS = ResourceSpec("sidecars", "networking.istio.io", "sidecars", ip.project_sidecar)
AUTHORIZATION_POLICIES = ResourceSpec(
    "authorizationpolicies", "security.istio.io", "authorizationpolicies", ip.project_authorization_policy
)
