"""Section G of the failure-mode catalogue: lifecycle of namespaces and CRDs."""

from __future__ import annotations

from exporter.catalog.model import (
    Alert,
    AlertTest,
    FailureMode,
    MetricSpec,
    Panel,
    Query,
    Runbook,
    Series,
)
from exporter.model import Severity

NS01 = FailureMode(
    id="NS01",
    title="Namespace stuck Terminating",
    section="Lifecycle",
    thresholds=("terminating_threshold_seconds",),
    metrics=(
        MetricSpec(
            "meshhealth_namespace_terminating_seconds",
            "Seconds since deletion of each Terminating namespace was requested (only Terminating ones).",
            ("namespace",),
        ),
        MetricSpec(
            "meshhealth_namespace_terminating_condition",
            "Deletion conditions that are True on a Terminating namespace (what blocks it).",
            ("namespace", "condition"),
        ),
        MetricSpec("meshhealth_namespaces_terminating", "Namespaces in phase Terminating."),
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
            test=AlertTest(
                failing=(Series('meshhealth_namespace_terminating_seconds{namespace="istio-system"}', "0+60x40"),),
                healthy=(
                    Series('meshhealth_namespace_terminating_seconds{namespace="old-app"}', "0+60x14"),
                    Series("meshhealth_namespaces_terminating", "0x40"),
                ),
                labels={"namespace": "istio-system"},
                # 900 s is reached at minute 15; the expression is true from minute 16 on.
                true_from=16,
                description=(
                    "Namespace istio-system has been Terminating for 18m 0s; "
                    "finalizers or remaining resources block its deletion."
                ),
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

SECTION = (NS01,)
