"""Section D of the failure-mode catalogue: Istio's admission webhooks and their wiring."""

from __future__ import annotations

from exporter.catalog import labels
from exporter.catalog.model import Alert, FailureMode, MetricSpec, Panel, Query, Runbook
from exporter.model import Severity

# Emitted by WH01, WH02, WH03 and WH05 (one series per broken target, the reason says which), listed by each.
WEBHOOK_TARGET_BROKEN = MetricSpec(
    "meshhealth_webhook_target_broken",
    "1 per Istio webhook target that is broken; reason = service_missing (WH01), no_ready_endpoints (WH02), "
    "tls_error (WH03), namespace_missing (WH05).",
    labels.kind_configuration_namespace_service_failure_policy_reason,
)
WEBHOOK_FAILING_OPEN = MetricSpec(
    "meshhealth_webhook_failing_open",
    "1 for each Istio webhook target that is broken (reason) while its failurePolicy is Ignore.",
    labels.kind_configuration_namespace_service_reason,
)
_BROKEN = "meshhealth_webhook_target_broken"
_OPEN = "meshhealth_webhook_failing_open"


_INSPECT = """```sh
kubectl get validatingwebhookconfigurations,mutatingwebhookconfigurations | grep -iE 'istio|sidecar-injector'
kubectl get validatingwebhookconfiguration istio-validator-istio-system -o yaml | grep -A4 'service:'
kubectl -n istio-system get svc,endpointslices -l app=istiod
kubectl -n istio-system get deploy -l app=istiod -L istio.io/rev
```"""

WH01 = FailureMode(
    id="WH01",
    title="Webhook points at a Service that does not exist",
    section="Webhooks",
    metrics=(WEBHOOK_TARGET_BROKEN,),
    alerts=(
        Alert(
            name="MeshHealthWebhookServiceMissing",
            expr=f'{_BROKEN}{{reason="service_missing",failure_policy="Fail"}} == 1',
            for_="2m",
            severity=Severity.CRITICAL,
            summary="An Istio webhook calls a Service that does not exist.",
            description=(
                "{{ $labels.kind }} webhook configuration {{ $labels.configuration }} calls Service "
                "{{ $labels.namespace }}/{{ $labels.service }}, which does not exist; matching API requests fail."
            ),
        ),
    ),
    panels=(
        Panel(
            title="Broken webhook targets",
            description="Istio webhooks whose Service is missing, has no endpoints, fails TLS, or whose namespace is gone.",
            queries=(Query(f"{_BROKEN} == 1", ""),),
            kind="table",
        ),
    ),
    runbook=Runbook(
        meaning=(
            "An Istio validating or mutating webhook's `clientConfig.service` names a Service that does not exist. "
            "After a revisioned install the Service is `istiod-1-6-10` while a webhook still says `istiod`; the API "
            'server logs `failed calling webhook "validation.istio.io": ... service "istiod" not found`.'
        ),
        impact=(
            "`failurePolicy: Fail`: every matching request is rejected (Istio config changes for the validator, pod "
            "creation in injected namespaces for the injector). `Ignore`: requests pass unchecked (see WH04)."
        ),
        diagnosis=_INSPECT,
        mitigation="""- Point the webhook at the live Service: `istioctl tag set default --revision <rev> --overwrite`, or
  `kubectl patch validatingwebhookconfiguration <name> --type=json -p '[{"op":"replace","path":"/webhooks/0/clientConfig/service/name","value":"istiod-<rev>"}]'`.
- Delete webhook configurations of revisions that were uninstalled.""",
    ),
)

WEBHOOK_READY_ENDPOINTS = MetricSpec(
    "meshhealth_webhook_ready_endpoints",
    "Ready endpoints of each Istio webhook Service.",
    labels.kind_configuration_namespace_service,
)

WH02 = FailureMode(
    id="WH02",
    title="Webhook Service has no ready endpoints",
    section="Webhooks",
    metrics=(WEBHOOK_TARGET_BROKEN, WEBHOOK_READY_ENDPOINTS),
    alerts=(
        Alert(
            name="MeshHealthWebhookNoEndpoints",
            expr=f'{_BROKEN}{{reason="no_ready_endpoints",failure_policy="Fail"}} == 1',
            for_="2m",
            severity=Severity.CRITICAL,
            summary="An Istio webhook Service has no ready endpoints.",
            description=(
                "Service {{ $labels.namespace }}/{{ $labels.service }} behind {{ $labels.kind }} webhook "
                'configuration {{ $labels.configuration }} has no ready endpoints ("no endpoints available for '
                'service").'
            ),
        ),
    ),
    panels=(
        Panel(
            title="Webhook Service endpoints",
            description="Ready endpoints behind each Istio webhook Service.",
            queries=(Query("meshhealth_webhook_ready_endpoints", "{{configuration}} {{namespace}}/{{service}}"),),
        ),
    ),
    runbook=Runbook(
        meaning=(
            "The webhook's Service exists but no ready endpoint backs it — typically after the old control plane "
            "was deleted while its Service (or a webhook pointing at it) stayed, or while istiod is not ready (CP01)."
        ),
        impact='Like WH01: with `failurePolicy: Fail` matching requests fail with "no endpoints available for service".',
        diagnosis=_INSPECT,
        mitigation="""- Make istiod ready (CP01), or point the webhook at the Service of the running revision.
- Remove Services and webhooks left over from removed revisions.""",
    ),
)

WEBHOOK_CERT_EXPIRY_TIMESTAMP_SECONDS = MetricSpec(
    "meshhealth_webhook_cert_expiry_timestamp_seconds",
    "Earliest notAfter of the serving certificates behind each Istio webhook Service.",
    labels.kind_configuration_namespace_service,
)
WEBHOOK_ENDPOINTS_PROBED = MetricSpec(
    "meshhealth_webhook_endpoints_probed", "Webhook endpoints probed with a TLS handshake.", labels.none
)

WH03 = FailureMode(
    id="WH03",
    title="Webhook TLS broken or certificate expiring",
    section="Webhooks",
    thresholds=("cert_expiry_warning_days",),
    metrics=(
        WEBHOOK_TARGET_BROKEN,
        WEBHOOK_CERT_EXPIRY_TIMESTAMP_SECONDS,
        WEBHOOK_ENDPOINTS_PROBED,
    ),
    alerts=(
        Alert(
            name="MeshHealthWebhookTLSBroken",
            expr=f'{_BROKEN}{{reason="tls_error"}} == 1',
            for_="5m",
            severity=Severity.CRITICAL,
            summary="The API server cannot establish TLS with an Istio webhook.",
            description=(
                "The serving certificate of {{ $labels.namespace }}/{{ $labels.service }} ({{ $labels.kind }} "
                "webhook configuration {{ $labels.configuration }}) does not verify against its caBundle, or the "
                "handshake fails."
            ),
        ),
        Alert(
            name="MeshHealthWebhookCertExpiring",
            expr="meshhealth_webhook_cert_expiry_timestamp_seconds - time() < ${cert_expiry_warning_days} * 86400",
            for_="1h",
            severity=Severity.WARNING,
            summary="The certificate of an Istio webhook expires soon.",
            description=(
                "The serving certificate of {{ $labels.namespace }}/{{ $labels.service }} expires in "
                "{{ $value | humanizeDuration }}."
            ),
        ),
    ),
    panels=(
        Panel(
            title="Webhook certificate expiry",
            description="Time until the serving certificate of each Istio webhook Service expires.",
            queries=(Query("meshhealth_webhook_cert_expiry_timestamp_seconds - time()", "{{namespace}}/{{service}}"),),
            unit="s",
        ),
    ),
    runbook=Runbook(
        meaning=(
            "The exporter makes a TLS handshake (no admission request) with each endpoint of the webhook Service, "
            "as the API server would: server name `<service>.<namespace>.svc`, trust = the webhook's `caBundle`. "
            "It fails when the certificate is not valid for that name, not signed by the bundle (the bundle was "
            "not patched after a CA rotation), expired, or the port does not speak TLS."
        ),
        impact="The API server's calls fail like in WH01; with `Ignore` they are skipped silently (WH04).",
        diagnosis="""```sh
kubectl get mutatingwebhookconfiguration istio-sidecar-injector -o jsonpath='{.webhooks[0].clientConfig.caBundle}' \\
  | base64 -d > ca.pem
kubectl -n istio-system port-forward svc/istiod 15017:443 &
openssl s_client -connect 127.0.0.1:15017 -servername istiod.istio-system.svc -CAfile ca.pem </dev/null \\
  | grep -E 'Verify return code|NotAfter'
kubectl -n istio-system logs deploy/istiod | grep -iE 'webhook|patch'
```""",
        mitigation="""- Restart istiod so it re-patches `caBundle` (it owns the injector and validator webhooks of its revision).
- With an external CA (cert-manager / istio-csr) check the Certificate for `istiod.<ns>.svc` and the CA injection.""",
    ),
)

WH04 = FailureMode(
    id="WH04",
    title="failurePolicy Ignore hides a broken webhook",
    section="Webhooks",
    metrics=(WEBHOOK_FAILING_OPEN,),
    alerts=(
        Alert(
            name="MeshHealthWebhookFailingOpen",
            expr=f"{_OPEN} == 1",
            for_="10m",
            severity=Severity.WARNING,
            summary="A broken Istio webhook is skipped silently (failurePolicy Ignore).",
            description=(
                "{{ $labels.kind }} webhook configuration {{ $labels.configuration }} is broken "
                "({{ $labels.reason }}) and set to failurePolicy Ignore: requests pass without it."
            ),
        ),
    ),
    panels=(
        Panel(
            title="Webhooks failing open",
            description="Broken Istio webhooks with failurePolicy Ignore.",
            queries=(Query(f"{_OPEN} == 1", ""),),
            kind="table",
        ),
    ),
    runbook=Runbook(
        meaning=(
            "A webhook whose target is broken (WH01–WH03, WH05) has `failurePolicy: Ignore`, so the API server "
            "skips it without any error the user sees."
        ),
        impact=(
            "Validator: invalid Istio configuration is accepted and only fails later in istiod (CP04). Injector: "
            "pods start without sidecars (DP04)."
        ),
        diagnosis=_INSPECT,
        mitigation="Fix the target as in WH01–WH03; then restart workloads created without sidecars (DP04).",
    ),
)

WH05 = FailureMode(
    id="WH05",
    title="Leftover webhook configuration after uninstall",
    section="Webhooks",
    metrics=(WEBHOOK_TARGET_BROKEN,),
    alerts=(
        Alert(
            name="MeshHealthWebhookLeftover",
            expr=f'{_BROKEN}{{reason="namespace_missing"}} == 1',
            for_="10m",
            severity=Severity.WARNING,
            summary="An Istio webhook configuration points into a namespace that no longer exists.",
            description=(
                "{{ $labels.kind }} webhook configuration {{ $labels.configuration }} calls "
                "{{ $labels.namespace }}/{{ $labels.service }} but namespace {{ $labels.namespace }} is gone."
            ),
        ),
    ),
    panels=(
        Panel(
            title="Leftover webhooks",
            description="Istio webhook configurations whose target namespace no longer exists.",
            queries=(Query(f'{_BROKEN}{{reason="namespace_missing"}} == 1', ""),),
            kind="table",
        ),
    ),
    runbook=Runbook(
        meaning=(
            "Istio was uninstalled (or a revision removed) but its webhook configurations stayed; they point into "
            "a namespace that no longer exists."
        ),
        impact=(
            "Every matching API request waits for a call that cannot succeed: with `Fail` they are rejected "
            "(pod creation, Istio config), with `Ignore` they are slowed by the call timeout."
        ),
        diagnosis=_INSPECT,
        mitigation="""- Delete the leftovers: `kubectl delete mutatingwebhookconfiguration <name>` /
  `kubectl delete validatingwebhookconfiguration <name>` (or `istioctl uninstall --purge` for a full removal).""",
    ),
)

SECTION = (WH01, WH02, WH03, WH04, WH05)
