"""Section A of the failure-mode catalogue: the Istio control plane."""

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
from exporter.catalog.shared import COMPONENT_METRICS, component_alert, component_missing_alert
from exporter.model import Severity

ISTIOD_REPLICAS_DESIRED = MetricSpec(
    "meshhealth_istiod_replicas_desired",
    "Replicas requested by each istiod Deployment (spec.replicas).",
    labels.namespace_revision_deployment,
)
ISTIOD_REPLICAS_READY = MetricSpec(
    "meshhealth_istiod_replicas_ready",
    "Ready replicas of each istiod Deployment (status.readyReplicas).",
    labels.namespace_revision_deployment,
)
ISTIOD_DEPLOYMENTS = MetricSpec(
    "meshhealth_istiod_deployments",
    "istiod Deployments found in the control-plane namespaces (all revisions).",
    labels.none,
)

CP01 = FailureMode(
    id="CP01",
    title="istiod not ready",
    section="Control plane",
    metrics=(
        ISTIOD_REPLICAS_DESIRED,
        ISTIOD_REPLICAS_READY,
        ISTIOD_DEPLOYMENTS,
        *COMPONENT_METRICS,  # gateways and other components of checks.CP01.components
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
        ),
        component_alert(
            "CP01",
            "MeshHealthGatewayNotReady",
            Severity.CRITICAL,
            "An Istio gateway has fewer ready replicas than desired.",
            "",
        ),
        component_missing_alert("CP01", "MeshHealthGatewayMissing", Severity.CRITICAL),
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
        ),
    ),
    panels=(
        Panel(
            title="Gateways and control-plane components",
            description="Ready replicas of the configured CP01 components (ingress/egress gateways).",
            queries=(
                Query('meshhealth_component_replicas_ready{check="CP01"}', "ready {{namespace}}/{{workload}}"),
                Query('meshhealth_component_replicas_desired{check="CP01"}', "desired {{namespace}}/{{workload}}"),
            ),
        ),
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
            queries=(Query("sum by () (meshhealth_istiod_deployments)"),),
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


ISTIOD_CONTAINER_RESTARTS = MetricSpec(
    "meshhealth_istiod_container_restarts",
    "Container restarts of each istiod pod (sum of restartCount).",
    labels.namespace_pod_revision,
    type="counter",
)
ISTIOD_OOMKILLED = MetricSpec(
    "meshhealth_istiod_oomkilled",
    "1 if an istiod container was OOMKilled within checks.CP02.oom_recent_seconds.",
    labels.namespace_pod_revision,
)

CP02 = FailureMode(
    id="CP02",
    title="istiod restarting or OOMKilled",
    section="Control plane",
    metrics=(
        ISTIOD_CONTAINER_RESTARTS,
        ISTIOD_OOMKILLED,
    ),
    alerts=(
        Alert(
            name="MeshHealthIstiodRestarting",
            expr="increase(meshhealth_istiod_container_restarts_total[15m]) > 0",
            for_="0m",
            severity=Severity.WARNING,
            summary="istiod containers are restarting.",
            description="istiod pod {{ $labels.namespace }}/{{ $labels.pod }} restarted in the last 15 minutes.",
        ),
        Alert(
            name="MeshHealthIstiodOOMKilled",
            expr="meshhealth_istiod_oomkilled == 1",
            for_="0m",
            severity=Severity.CRITICAL,
            summary="istiod was killed for running out of memory.",
            description=(
                "istiod pod {{ $labels.namespace }}/{{ $labels.pod }} was OOMKilled; pushes to proxies stall and "
                'sidecars may fail to start ("timeout waiting for Envoy proxy to become ready").'
            ),
        ),
    ),
    panels=(
        Panel(
            title="istiod restarts (15m)",
            description="Container restarts of istiod pods in the last 15 minutes.",
            queries=(Query("increase(meshhealth_istiod_container_restarts_total[15m])", "{{namespace}}/{{pod}}"),),
        ),
        Panel(
            title="istiod OOMKilled",
            description="1 while an istiod container has been OOMKilled recently.",
            queries=(Query("meshhealth_istiod_oomkilled", "{{namespace}}/{{pod}}"),),
        ),
    ),
    runbook=Runbook(
        meaning=(
            "istiod containers restart, or were killed by the kernel for exceeding their memory limit. istiod's "
            "memory grows with the number of endpoints, pods and configuration objects it pushes to proxies."
        ),
        impact=(
            "While istiod restarts, proxies reconnect and receive full pushes again (a thundering herd that can "
            "push it over the limit once more). New pods wait for configuration; `pilot-agent wait` fails with "
            '"timeout waiting for Envoy proxy to become ready" and the pods never become ready.'
        ),
        diagnosis="""```sh
kubectl -n istio-system get pods -l app=istiod
kubectl -n istio-system describe pod -l app=istiod | grep -A5 "Last State"   # OOMKilled, exit code 137
kubectl -n istio-system logs deploy/istiod --previous | tail -50
kubectl top pod -n istio-system -l app=istiod
istioctl proxy-status | wc -l                                                # proxies per istiod
```""",
        mitigation="""- Raise istiod's memory limit (`values.pilot.resources`) and add replicas (HPA) so each holds fewer proxies.
- Shrink the push scope: `Sidecar` resources (egress hosts per namespace), `exportTo` on Services and
  VirtualServices, and discovery selectors (`meshConfig.discoverySelectors`).
- Look for a configuration churn (an operator rewriting objects in a loop) in `pilot_xds_pushes`.""",
    ),
)

HPA_TARGET_MISSING = MetricSpec(
    "meshhealth_hpa_target_missing",
    "1 for each HPA in the control-plane namespaces whose scaleTargetRef does not exist.",
    labels.namespace_hpa_target_kind_target_name,
)
HPAS_TARGET_MISSING = MetricSpec(
    "meshhealth_hpas_target_missing", "HPAs in the control-plane namespaces with a missing target.", labels.none
)

CP09 = FailureMode(
    id="CP09",
    title="HPA targets a Deployment that does not exist",
    section="Control plane",
    metrics=(
        HPA_TARGET_MISSING,
        HPAS_TARGET_MISSING,
    ),
    alerts=(
        Alert(
            name="MeshHealthHPATargetMissing",
            expr="meshhealth_hpa_target_missing == 1",
            for_="5m",
            severity=Severity.WARNING,
            summary="A control-plane HPA scales a workload that does not exist.",
            description=(
                "HPA {{ $labels.namespace }}/{{ $labels.hpa }} targets {{ $labels.target_kind }} "
                "{{ $labels.target_name }}, which does not exist; istiod is not autoscaled."
            ),
        ),
    ),
    panels=(
        Panel(
            title="HPAs with a missing target",
            description="HPAs in the control-plane namespaces whose scaleTargetRef does not resolve.",
            queries=(Query("meshhealth_hpa_target_missing == 1", ""),),
            kind="table",
        ),
    ),
    runbook=Runbook(
        meaning=(
            "A HorizontalPodAutoscaler in the control-plane namespace points at a Deployment that does not exist. "
            "Typical after a revisioned (canary) install: the HPA still targets `istiod` while the Deployment is "
            "`istiod-1-6-10`."
        ),
        impact=(
            'istiod does not scale with load; the HPA controller logs `deployments/scale.apps "istiod" not found` '
            "and the HPA shows `<unknown>` targets."
        ),
        diagnosis="""```sh
kubectl -n istio-system get hpa
kubectl -n istio-system describe hpa <hpa>        # FailedGetScale: deployments/scale.apps "istiod" not found
kubectl -n istio-system get deploy -l app=istiod
```""",
        mitigation="""- Point the HPA at the revision's Deployment:
  `kubectl -n istio-system patch hpa istiod --type=merge -p '{"spec":{"scaleTargetRef":{"name":"istiod-1-6-10"}}}'`
- Or delete the stale HPA and let the revision's installation create its own (`istiod-<revision>`).""",
    ),
)

ISTIOD_TOKEN_MOUNT_FAILURES = MetricSpec(
    "meshhealth_istiod_token_mount_failures",
    "Recent FailedMount events mentioning istio-token per istiod pod.",
    labels.namespace_pod,
)
ISTIOD_PODS_TOKEN_MOUNT_FAILING = MetricSpec(
    "meshhealth_istiod_pods_token_mount_failing", "istiod pods with recent istio-token FailedMount events.", labels.none
)

CP12 = FailureMode(
    id="CP12",
    title="istiod cannot mount istio-token",
    section="Control plane",
    thresholds=(),
    metrics=(
        ISTIOD_TOKEN_MOUNT_FAILURES,
        ISTIOD_PODS_TOKEN_MOUNT_FAILING,
    ),
    alerts=(
        Alert(
            name="MeshHealthIstiodTokenMountFailing",
            expr="meshhealth_istiod_token_mount_failures > 0",
            for_="1m",
            severity=Severity.CRITICAL,
            summary="istiod cannot mount its istio-token volume.",
            description=(
                "istiod pod {{ $labels.namespace }}/{{ $labels.pod }} fails to mount istio-token; "
                "values.global.jwtPolicy probably does not match the cluster (third-party vs first-party JWT)."
            ),
        ),
    ),
    panels=(
        Panel(
            title="istio-token mount failures",
            description="Recent FailedMount events for istio-token on istiod pods.",
            queries=(Query("meshhealth_istiod_token_mount_failures", "{{namespace}}/{{pod}}"),),
        ),
    ),
    runbook=Runbook(
        meaning=(
            'The kubelet cannot mount the projected `istio-token` volume into istiod: the event says "the API '
            'server does not have TokenRequest endpoints enabled". The installation asked for third-party JWTs '
            "(`values.global.jwtPolicy: third-party-jwt`) on a cluster that only issues first-party tokens."
        ),
        impact="istiod never starts; the whole mesh is without a control plane (see CP01).",
        diagnosis="""```sh
kubectl -n istio-system get events --field-selector reason=FailedMount
kubectl -n istio-system describe pod -l app=istiod | grep -A3 istio-token
kubectl get --raw /api/v1 | jq '.resources[] | select(.name == "serviceaccounts/token")'
```""",
        mitigation="""- Reinstall with `--set values.global.jwtPolicy=first-party-jwt` on clusters without TokenRequest, or
- enable service-account token projection on the API server (`--service-account-issuer`,
  `--service-account-signing-key-file`, `--api-audiences`).""",
    ),
)

SECTION = (CP01, CP02, CP09, CP12)
