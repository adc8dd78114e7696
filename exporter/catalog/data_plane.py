"""Section B of the failure-mode catalogue: sidecars and the pods that carry them."""

from __future__ import annotations

from exporter.catalog import labels
from exporter.catalog.model import Alert, FailureMode, MetricSpec, Panel, Query, Runbook
from exporter.model import Severity

PODS_WITHOUT_SIDECAR = MetricSpec(
    "meshhealth_pods_without_sidecar",
    "Pods that should carry istio-proxy but do not, by namespace and likely reason "
    "(not_restarted, webhook_failing, no_injector).",
    labels.namespace_reason,
)
WORKLOADS_WITHOUT_SIDECAR = MetricSpec(
    "meshhealth_workloads_without_sidecar", "Workloads with pods missing their sidecar.", labels.none
)

DP04 = FailureMode(
    id="DP04",
    title="Sidecar not injected",
    section="Data plane",
    metrics=(
        PODS_WITHOUT_SIDECAR,
        WORKLOADS_WITHOUT_SIDECAR,
    ),
    alerts=(
        Alert(
            name="MeshHealthSidecarNotInjected",
            expr="meshhealth_pods_without_sidecar > 0",
            for_="10m",
            severity=Severity.WARNING,
            summary="Pods in injection-enabled namespaces run without the Istio sidecar.",
            description=(
                "{{ $value }} pods in namespace {{ $labels.namespace }} run without istio-proxy although "
                "injection is enabled (reason: {{ $labels.reason }}); they bypass the mesh."
            ),
        ),
    ),
    panels=(
        Panel(
            title="Pods without sidecar",
            description="Pods that should be injected but run without istio-proxy, by reason.",
            queries=(Query("meshhealth_pods_without_sidecar", "{{namespace}} {{reason}}"),),
        ),
    ),
    runbook=Runbook(
        meaning=(
            "A pod in a namespace labelled `istio-injection=enabled` or `istio.io/rev=<revision>`, or a pod "
            'labelled `sidecar.istio.io/inject: "true"`, runs without an `istio-proxy` container (bookinfo '
            "shows `2/2`, the broken workload `1/2`). Pods that are excluded by design are not reported: "
            "`hostNetwork: true`, the `kube-system`/`kube-public` namespaces, an explicit "
            '`sidecar.istio.io/inject: "false"`, and namespaces under injector `policy: disabled`. The `reason` '
            "label says which cause is likely: `not_restarted` (created before the namespace was enabled, or while "
            "the injector was down), `webhook_failing` (DP05 events in the namespace), `no_injector` (no Istio "
            "mutating webhook exists)."
        ),
        impact="Traffic of these pods bypasses mTLS, routing rules, telemetry and tracing.",
        diagnosis="""```sh
kubectl get ns -L istio-injection -L istio.io/rev
kubectl -n <namespace> get pods -o custom-columns=NAME:.metadata.name,CONTAINERS:.spec.containers[*].name
kubectl get mutatingwebhookconfigurations | grep -i istio
istioctl x check-inject -n <namespace> <pod>
kubectl -n <namespace> get events --field-selector reason=FailedCreate
```""",
        mitigation="""- `not_restarted`: restart the workload so its pods pass the injector: `kubectl -n <ns> rollout restart deploy/<name>`.
- `webhook_failing`: fix the webhook first (DP05, WH01–WH03), then restart.
- `no_injector`: install the revision the namespace label points at, or relabel the namespace.""",
    ),
)

INJECTION_WEBHOOK_FAILURES = MetricSpec(
    "meshhealth_injection_webhook_failures",
    "Recent FailedCreate events that name an Istio webhook, by namespace and webhook.",
    labels.namespace_webhook,
)
OBJECTS_FAILING_INJECTION = MetricSpec(
    "meshhealth_objects_failing_injection", "Controllers with recent webhook FailedCreate events.", labels.none
)

DP05 = FailureMode(
    id="DP05",
    title="Injection webhook failing",
    section="Data plane",
    metrics=(
        INJECTION_WEBHOOK_FAILURES,
        OBJECTS_FAILING_INJECTION,
    ),
    alerts=(
        Alert(
            name="MeshHealthInjectionWebhookFailing",
            expr="meshhealth_injection_webhook_failures > 0",
            for_="1m",
            severity=Severity.CRITICAL,
            summary="Pods cannot be created because the Istio injection webhook fails.",
            description=(
                "Controllers in namespace {{ $labels.namespace }} cannot create pods: calls to webhook "
                "{{ $labels.webhook }} fail ({{ $value }} recent events)."
            ),
        ),
    ),
    panels=(
        Panel(
            title="Injection webhook failures",
            description="Recent FailedCreate events that name an Istio webhook.",
            queries=(Query("meshhealth_injection_webhook_failures", "{{namespace}} {{webhook}}"),),
        ),
    ),
    runbook=Runbook(
        meaning=(
            'ReplicaSets, StatefulSets, DaemonSets or Jobs report `FailedCreate`: "Internal error occurred: '
            'failed calling webhook "namespace.sidecar-injector.istio.io": ...". The API server could not '
            "reach istiod's injector (Service missing or without endpoints, TLS broken, or a timeout)."
        ),
        impact="With `failurePolicy: Fail` no new pod is created in the affected namespaces: rollouts and scaling stop.",
        diagnosis="""```sh
kubectl get events -A --field-selector reason=FailedCreate | grep webhook
kubectl get mutatingwebhookconfigurations -o yaml | grep -B2 -A6 'service:'
kubectl -n istio-system get svc,endpoints -l app=istiod
kubectl -n istio-system logs deploy/istiod | grep -i inject
```""",
        mitigation="""- Follow WH01–WH03 for the webhook's Service, endpoints and certificate.
- After a revision change, point the webhook at the live Service (`istioctl tag set default --revision <rev>`).
- Once fixed, the controllers retry by themselves; restart workloads that were created without sidecars (DP04).""",
    ),
)

ISTIO_INIT_FAILING_PODS = MetricSpec(
    "meshhealth_istio_init_failing_pods",
    "Pods whose istio-init or istio-validation init container is failing, per node.",
    labels.node,
)
NODES_ISTIO_INIT_FAILING = MetricSpec(
    "meshhealth_nodes_istio_init_failing", "Nodes with failing Istio init containers.", labels.none
)

DP06 = FailureMode(
    id="DP06",
    title="istio-init / istio-validation crash-looping",
    section="Data plane",
    thresholds=("min_pods_per_node",),
    metrics=(
        ISTIO_INIT_FAILING_PODS,
        NODES_ISTIO_INIT_FAILING,
    ),
    alerts=(
        Alert(
            name="MeshHealthIstioInitFailing",
            expr="meshhealth_istio_init_failing_pods >= ${min_pods_per_node}",
            for_="5m",
            severity=Severity.CRITICAL,
            graded=True,
            summary="Istio init containers fail on a node.",
            description=(
                "{{ $value }} pods on node {{ $labels.node }} fail in istio-init/istio-validation "
                "(Init:CrashLoopBackOff); check the node's iptables modules and container runtime."
            ),
        ),
        Alert(
            name="MeshHealthIstioInitFailing",
            expr=(
                "meshhealth_istio_init_failing_pods > 0 and meshhealth_istio_init_failing_pods < ${min_pods_per_node}"
            ),
            for_="10m",
            severity=Severity.WARNING,
            graded=True,
            summary="An Istio init container fails on a node.",
            description=(
                "{{ $value }} pod(s) on node {{ $labels.node }} fail in istio-init/istio-validation "
                "(Init:CrashLoopBackOff); fewer than the node-wide threshold, but those pods cannot start."
            ),
        ),
    ),
    panels=(
        Panel(
            title="Failing Istio init containers by node",
            description="Pods stuck in Init:CrashLoopBackOff because of istio-init or istio-validation.",
            queries=(Query("meshhealth_istio_init_failing_pods", "{{node}}"),),
        ),
    ),
    runbook=Runbook(
        meaning=(
            "Injected pods stay in `Init:CrashLoopBackOff` because `istio-init` (or `istio-validation` with the CNI "
            "plugin) exits with an error. Findings are grouped by node with the node's kernel, OS image and runtime, "
            "because the documented causes are node-level: the exited init container was removed by `docker system "
            'prune`, the kubelet reran it and `iptables-restore` failed on rules that already exist ("line 2 '
            "failed\"); or the host lacks kernel modules (`iptables-restore: unable to initialize table 'raw'` on "
            "nftables-only hosts)."
        ),
        impact="No injected pod starts on the affected nodes.",
        diagnosis="""```sh
kubectl get pods -A -o wide | grep Init:CrashLoopBackOff
kubectl -n <ns> logs <pod> -c istio-init
kubectl get node <node> -o jsonpath='{.status.nodeInfo}'
# on the node:
lsmod | grep -E 'br_netfilter|iptable_(nat|mangle|raw|filter)|xt_REDIRECT|xt_owner'
crontab -l | grep prune
```""",
        mitigation="""- Pruned init containers: exclude them from pruning,
  `docker system prune --filter "label!=io.kubernetes.container.name=istio-init"`, then delete the stuck pods.
- Missing modules: `modprobe br_netfilter iptable_nat iptable_mangle iptable_raw iptable_filter xt_REDIRECT xt_owner`
  and persist them in `/etc/modules-load.d/istio.conf`, or use the Istio CNI plugin.""",
    ),
)

SIDECAR_PROBE_ISSUES = MetricSpec(
    "meshhealth_sidecar_probe_issues",
    "Injected workloads with probe problems: probe_failing (Unhealthy events) or rewrite_disabled.",
    labels.namespace_reason,
)
WORKLOADS_SIDECAR_PROBE_FAILING = MetricSpec(
    "meshhealth_workloads_sidecar_probe_failing", "Injected workloads with recent Unhealthy events.", labels.none
)

DP07 = FailureMode(
    id="DP07",
    title="Health checks failing after injection",
    section="Data plane",
    metrics=(
        SIDECAR_PROBE_ISSUES,
        WORKLOADS_SIDECAR_PROBE_FAILING,
    ),
    alerts=(
        Alert(
            name="MeshHealthSidecarProbesFailing",
            expr='meshhealth_sidecar_probe_issues{reason="probe_failing"} > 0',
            for_="10m",
            severity=Severity.WARNING,
            summary="Probes fail on pods with an Istio sidecar.",
            description=(
                "{{ $value }} injected workloads in namespace {{ $labels.namespace }} fail their liveness/readiness "
                "probes; with mTLS the kubelet's probes must be rewritten by the sidecar."
            ),
        ),
        Alert(
            name="MeshHealthSidecarProbeRewriteOff",
            expr='meshhealth_sidecar_probe_issues{reason="rewrite_disabled"} > 0',
            for_="1h",
            severity=Severity.INFO,
            summary="Injected workloads have probes but the sidecar does not rewrite them.",
            description=(
                "{{ $value }} injected workloads in namespace {{ $labels.namespace }} set "
                "sidecar.istio.io/rewriteAppHTTPProbers: false; under STRICT mTLS their probes fail."
            ),
        ),
    ),
    panels=(
        Panel(
            title="Probe problems on injected workloads",
            description="Workloads with failing probes (Unhealthy events) or with probe rewrite disabled.",
            queries=(Query("meshhealth_sidecar_probe_issues", "{{namespace}} {{reason}}"),),
        ),
    ),
    runbook=Runbook(
        meaning=(
            "Pods with a sidecar fail liveness/readiness probes, or have HTTP/TCP/gRPC probes while "
            '`sidecar.istio.io/rewriteAppHTTPProbers: "false"` disables the rewrite. Under STRICT mTLS the '
            "kubelet's plaintext probe is intercepted by the sidecar and rejected."
        ),
        impact="Pods restart in loops or never become ready; traffic avoids them.",
        diagnosis="""```sh
kubectl -n <ns> get events --field-selector reason=Unhealthy
kubectl -n <ns> get pod <pod> -o jsonpath='{.metadata.annotations}' | grep rewriteAppHTTPProbers
kubectl get peerauthentication -A
istioctl x describe pod <pod> -n <ns>
```""",
        mitigation="""- Remove `sidecar.istio.io/rewriteAppHTTPProbers: "false"` (rewrite is on by default), or
- use exec probes, or exclude the probe port from capture (`traffic.sidecar.istio.io/excludeInboundPorts`),
- or make the port PERMISSIVE for the kubelet with a workload-level PeerAuthentication.""",
    ),
)

WORKLOADS_DRAIN_SHORTER_THAN_GRACE = MetricSpec(
    "meshhealth_workloads_drain_shorter_than_grace",
    "Injected workloads whose terminationGracePeriodSeconds greatly exceeds the sidecar's drain duration.",
    labels.namespace,
)

DP08 = FailureMode(
    id="DP08",
    title="Requests lost when pods stop (drain shorter than grace period)",
    section="Data plane",
    metrics=(WORKLOADS_DRAIN_SHORTER_THAN_GRACE,),
    alerts=(
        Alert(
            name="MeshHealthDrainShorterThanGrace",
            expr="meshhealth_workloads_drain_shorter_than_grace > 0",
            for_="1h",
            severity=Severity.INFO,
            summary="Sidecars drain long before their applications finish shutting down.",
            description=(
                "{{ $value }} workloads in namespace {{ $labels.namespace }} give the app a long grace period but "
                "the sidecar drains after a few seconds; long requests are cut when pods stop."
            ),
        ),
    ),
    panels=(
        Panel(
            title="Workloads whose sidecar drains too early",
            description="Injected workloads with a grace period far above the sidecar drain duration.",
            queries=(Query("meshhealth_workloads_drain_shorter_than_grace", "{{namespace}}"),),
        ),
    ),
    runbook=Runbook(
        meaning=(
            "When a pod stops, the sidecar drains for `terminationDrainDuration` (default 5 s) and exits, while "
            "the application keeps its `terminationGracePeriodSeconds` to finish requests. Workloads that raised "
            "their grace period well above Kubernetes' default (30 s) expect long shutdowns that the sidecar cuts."
        ),
        impact="In-flight long requests (uploads, streams, batch calls) fail with resets during rollouts.",
        diagnosis="""```sh
kubectl -n <ns> get deploy <name> -o jsonpath='{.spec.template.spec.terminationGracePeriodSeconds}'
kubectl -n istio-system get cm istio -o jsonpath='{.data.mesh}' | grep -A3 defaultConfig
kubectl -n <ns> get pod <pod> -o jsonpath='{.metadata.annotations.proxy\\.istio\\.io/config}'
```""",
        mitigation="""- Per workload: annotate `proxy.istio.io/config: '{"terminationDrainDuration": "60s"}'`, or
- let the proxy exit when connections end: `proxyMetadata: {EXIT_ON_ZERO_ACTIVE_CONNECTIONS: "true"}`
  (mesh-wide in `meshConfig.defaultConfig` or per pod), and/or a `preStop` hook in the app.""",
    ),
)

SECTION = (DP04, DP05, DP06, DP07, DP08)
