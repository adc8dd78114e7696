"""Section A of the failure-mode catalogue: the Istio control plane."""

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

_DEPLOY_LABELS = ("namespace", "revision", "deployment")

CP01 = FailureMode(
    id="CP01",
    title="istiod not ready",
    section="Control plane",
    metrics=(
        MetricSpec(
            "meshhealth_istiod_replicas_desired",
            "Replicas requested by each istiod Deployment (spec.replicas).",
            _DEPLOY_LABELS,
        ),
        MetricSpec(
            "meshhealth_istiod_replicas_ready",
            "Ready replicas of each istiod Deployment (status.readyReplicas).",
            _DEPLOY_LABELS,
        ),
        MetricSpec(
            "meshhealth_istiod_deployments",
            "istiod Deployments found in the control-plane namespaces (all revisions).",
        ),
    ),
    alerts=(
        Alert(
            name="MeshHealthIstiodNotReady",
            expr="meshhealth_istiod_replicas_ready < meshhealth_istiod_replicas_desired",
            for_="5m",
            severity=Severity.CRITICAL,
            summary="istiod has fewer ready replicas than desired.",
            description=(
                "istiod Deployment {{ $labels.namespace }}/{{ $labels.deployment }} (revision "
                "{{ $labels.revision }}) has {{ $value }} ready replicas, fewer than desired."
            ),
            test=AlertTest(
                failing=(
                    Series(
                        'meshhealth_istiod_replicas_ready{namespace="istio-system",revision="1-6-10",'
                        'deployment="istiod-1-6-10",job="meshhealth"}',
                        "1x30",
                    ),
                    Series(
                        'meshhealth_istiod_replicas_desired{namespace="istio-system",revision="1-6-10",'
                        'deployment="istiod-1-6-10",job="meshhealth"}',
                        "2x30",
                    ),
                ),
                healthy=(
                    Series(
                        'meshhealth_istiod_replicas_ready{namespace="istio-system",revision="default",'
                        'deployment="istiod",job="meshhealth"}',
                        "2x30",
                    ),
                    Series(
                        'meshhealth_istiod_replicas_desired{namespace="istio-system",revision="default",'
                        'deployment="istiod",job="meshhealth"}',
                        "2x30",
                    ),
                ),
                labels={
                    "namespace": "istio-system",
                    "revision": "1-6-10",
                    "deployment": "istiod-1-6-10",
                    "job": "meshhealth",
                },
                description=(
                    "istiod Deployment istio-system/istiod-1-6-10 (revision 1-6-10) has 1 ready "
                    "replicas, fewer than desired."
                ),
            ),
        ),
        Alert(
            name="MeshHealthIstiodMissing",
            expr="meshhealth_istiod_deployments == 0",
            for_="5m",
            severity=Severity.CRITICAL,
            summary="No istiod Deployment exists in the control-plane namespaces.",
            description=(
                "The exporter finds no istiod Deployment matching its selector in the control-plane "
                "namespaces; sidecars receive no configuration and new pods cannot be injected."
            ),
            test=AlertTest(
                failing=(Series('meshhealth_istiod_deployments{job="meshhealth"}', "0x30"),),
                healthy=(Series('meshhealth_istiod_deployments{job="meshhealth"}', "1x30"),),
                labels={"job": "meshhealth"},
                description=(
                    "The exporter finds no istiod Deployment matching its selector in the control-plane "
                    "namespaces; sidecars receive no configuration and new pods cannot be injected."
                ),
            ),
        ),
    ),
    panels=(
        Panel(
            title="istiod ready / desired replicas",
            description="Per istiod Deployment (revision). Ready below desired for 5m fires CP01.",
            queries=(
                Query("meshhealth_istiod_replicas_ready", "ready {{namespace}}/{{deployment}}"),
                Query("meshhealth_istiod_replicas_desired", "desired {{namespace}}/{{deployment}}"),
            ),
        ),
        Panel(
            title="istiod Deployments",
            description="istiod Deployments (all revisions) in the control-plane namespaces.",
            queries=(Query("sum(meshhealth_istiod_deployments)"),),
            kind="stat",
        ),
    ),
    runbook=Runbook(
        meaning=(
            "An istiod Deployment has fewer ready replicas than it asks for, or no istiod Deployment "
            "exists at all. After a canary or revisioned install the Deployment is named after its "
            "revision (`istiod-1-6-10`, label `istio.io/rev`), so each revision is watched separately."
        ),
        impact=(
            "Proxies connected to a missing replica reconnect to the others; when no replica is ready, "
            "configuration changes and new endpoints stop reaching sidecars, new pods cannot get "
            "certificates, and the injection webhook fails so new pods are created without sidecars "
            "or not at all."
        ),
        diagnosis="""```sh
kubectl -n istio-system get deploy,pods -l app=istiod -L istio.io/rev
kubectl -n istio-system describe pod -l app=istiod      # Events: scheduling, probes, OOMKilled
kubectl -n istio-system logs deploy/istiod --tail=200    # or deploy/istiod-<revision>
kubectl get events -n istio-system --field-selector involvedObject.kind=Pod
istioctl proxy-status                                     # which proxies lost their control plane
```""",
        mitigation="""- Pending pods: check node resources and the Deployment's requests; scale nodes or lower requests.
- CrashLoopBackOff / OOMKilled: see CP02; raise the memory limit or shrink push scope with `Sidecar` resources.
- FailedMount of `istio-token`: see CP12 (`values.global.jwtPolicy`).
- Missing Deployment after an upgrade: install the revision again (`istioctl install --revision <rev>`)
  or point namespaces (`istio.io/rev`) at a revision that exists.""",
    ),
)

SECTION = (CP01,)
