"""Section G of the failure-mode catalogue: lifecycle of namespaces and CRDs."""

from __future__ import annotations

from exporter.catalog import labels
from exporter.catalog.model import (
    Alert,
    FailureMode,
    MetricSpec,
    Panel,
    Query,
    Runbook,
)
from exporter.model import Severity

NAMESPACE_TERMINATING_SECONDS = MetricSpec(
    "meshhealth_namespace_terminating_seconds",
    "Seconds since deletion of each Terminating namespace was requested (only Terminating ones).",
    labels.namespace,
)
NAMESPACE_TERMINATING_CONDITION = MetricSpec(
    "meshhealth_namespace_terminating_condition",
    "Deletion conditions that are True on a Terminating namespace (what blocks it).",
    labels.namespace_condition,
)
NAMESPACES_TERMINATING = MetricSpec(
    "meshhealth_namespaces_terminating", "Namespaces in phase Terminating.", labels.none
)

NS01 = FailureMode(
    id="NS01",
    title="Namespace stuck Terminating",
    section="Lifecycle",
    thresholds=("terminating_threshold_seconds",),
    metrics=(
        NAMESPACE_TERMINATING_SECONDS,
        NAMESPACE_TERMINATING_CONDITION,
        NAMESPACES_TERMINATING,
    ),
    alerts=(
        Alert(
            name="MeshHealthNamespaceStuckTerminating",
            expr="meshhealth_namespace_terminating_seconds > ${terminating_threshold_seconds}",
            for_="1m",
            severity=Severity.WARNING,
            summary="A namespace has been Terminating for too long.",
            description=(
                "Namespace {{ $labels.namespace }} has been Terminating for {{ $value | humanizeDuration }}; "
                "finalizers or remaining resources block its deletion."
            ),
        ),
    ),
    panels=(
        Panel(
            title="Terminating namespaces",
            description="How long each Terminating namespace has been waiting for deletion.",
            queries=(Query("meshhealth_namespace_terminating_seconds", "{{namespace}}"),),
            unit="s",
        ),
        Panel(
            title="What blocks deletion",
            description="Deletion conditions that are True (NamespaceFinalizersRemaining, ...).",
            queries=(Query("meshhealth_namespace_terminating_condition == 1", "{{namespace}} {{condition}}"),),
            kind="table",
        ),
    ),
    runbook=Runbook(
        meaning=(
            "A namespace has been in phase `Terminating` longer than the threshold. The namespace "
            "controller waits until every object in it is gone; objects with finalizers whose "
            "controller was already removed (a classic: the Kiali CR's finalizer holding `istio-system` "
            "after the Kiali operator was deleted) or API groups that cannot be discovered keep it there."
        ),
        impact=(
            "Nothing can be created in the namespace; reinstalling Istio (or anything else) into it fails. "
            "Leftover webhooks that point into it (WH05) may block API requests cluster-wide."
        ),
        diagnosis="""```sh
kubectl get ns <namespace> -o jsonpath='{.status.conditions}' | jq
# NamespaceFinalizersRemaining names the finalizers, NamespaceContentRemaining the resource types:
kubectl api-resources --verbs=list --namespaced -o name \\
  | xargs -n1 kubectl get -n <namespace> --ignore-not-found --show-kind
kubectl get apiservices | grep False                     # NamespaceDeletionDiscoveryFailure
```""",
        mitigation="""- Restore the controller that owns the finalizer and let it clean up (preferred), or
- remove the finalizer from the blocking object, e.g. for Kiali:
  `kubectl patch kiali kiali -n <namespace> -p '{"metadata":{"finalizers":[]}}' --type=merge`
- Fix or delete unavailable APIServices reported by `NamespaceDeletionDiscoveryFailure`.""",
    ),
)

CRD_MISSING = MetricSpec(
    "meshhealth_crd_missing", "1 for each required CRD that is not installed or not established.", labels.crd
)
CRDS_MISSING = MetricSpec("meshhealth_crds_missing", "Required CRDs that are missing.", labels.none)

NS02 = FailureMode(
    id="NS02",
    title="Required CRDs missing",
    section="Lifecycle",
    metrics=(
        CRD_MISSING,
        CRDS_MISSING,
    ),
    alerts=(
        Alert(
            name="MeshHealthCRDMissing",
            expr="meshhealth_crd_missing == 1",
            for_="10m",
            severity=Severity.WARNING,
            summary="A required CustomResourceDefinition is missing.",
            description="CRD {{ $labels.crd }} is not installed or not established.",
        ),
    ),
    panels=(
        Panel(
            title="Missing CRDs",
            description="Required CRDs that are not installed or not established.",
            queries=(Query("meshhealth_crd_missing == 1", "{{crd}}"),),
            kind="table",
        ),
    ),
    runbook=Runbook(
        meaning=(
            "A CRD from `checks.NS02.required_crds` is not installed or not `Established`: Istio's own CRDs, or "
            "platform CRDs a console needs (KubeSphere's topology needs `applications.app.k8s.io`)."
        ),
        impact=(
            "istiod logs errors for the missing kinds and ignores that configuration; consoles show empty "
            "topology or fail to list applications."
        ),
        diagnosis="""```sh
kubectl get crd | grep -E 'istio.io|app.k8s.io'
kubectl get crd <name> -o jsonpath='{.status.conditions}'
```""",
        mitigation="""- Reinstall Istio's CRDs: `istioctl install` (or the `base` Helm chart) for the running version.
- Install the platform CRD from its project (e.g. the Kubernetes `application` CRD for `applications.app.k8s.io`).""",
    ),
)

EXPECTED_SIDECAR_MISSING = MetricSpec(
    "meshhealth_expected_sidecar_missing",
    "Pods of a component listed in checks.NS03.expected_in_mesh that run without istio-proxy.",
    labels.namespace_component,
)

NS03 = FailureMode(
    id="NS03",
    title="Ingress pods expected in the mesh run without a sidecar",
    section="Lifecycle",
    metrics=(EXPECTED_SIDECAR_MISSING,),
    alerts=(
        Alert(
            name="MeshHealthSidecarMissingExpected",
            expr="meshhealth_expected_sidecar_missing > 0",
            for_="10m",
            severity=Severity.WARNING,
            summary="Pods that must be in the mesh run without a sidecar.",
            description=(
                "{{ $value }} pods of {{ $labels.component }} in namespace {{ $labels.namespace }} run without "
                "istio-proxy; traces and header-based routing stop at them."
            ),
        ),
    ),
    panels=(
        Panel(
            title="Expected-in-mesh pods without sidecar",
            description="Pods of configured components (ingress controllers, gateways) without istio-proxy.",
            queries=(Query("meshhealth_expected_sidecar_missing", "{{namespace}} {{component}}"),),
        ),
    ),
    runbook=Runbook(
        meaning=(
            "Pods that must be part of the mesh (configured in `checks.NS03.expected_in_mesh`, e.g. an ingress "
            "controller that starts traces and forwards `X-Request-ID`/`x-b3-*` headers) run without a sidecar."
        ),
        impact="Traces begin one hop late or not at all; header-based routing and mTLS from the edge do not apply.",
        diagnosis="""```sh
kubectl -n <ns> get pods -l <selector> -o custom-columns=NAME:.metadata.name,C:.spec.containers[*].name
kubectl get ns <ns> -L istio-injection -L istio.io/rev
```""",
        mitigation="""- Label the pod template `sidecar.istio.io/inject: "true"` (or the namespace) and restart the controller.
- For ingress-nginx keep the upstream host header and `service-upstream` so the sidecar routes by Service.""",
    ),
)

SECTION = (NS01, NS02, NS03)
