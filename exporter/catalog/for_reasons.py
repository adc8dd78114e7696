"""Why an alert waits less than the mixins' usual ``for: 15m``: one reason per such alert, shown in the runbook.

kubernetes-mixin and the Jaeger mixin hold most alerts for 15 minutes. Ours wait less where the metric already
measures a duration, where an increase() window is the persistence, or where waiting costs more than a page
(writes blocked now, a configuration mistake someone just applied). A test requires a reason for every alert
under 15 minutes and none for the others.
"""

from __future__ import annotations

MIXIN_FOR_SECONDS = 15 * 60

_R_SELF = "the metric is itself a duration compared with a threshold, so the threshold is the wait"
_R_CONFIG = (
    "a configuration mistake stays until someone fixes it: 1m (one refresh) is enough to rule out an "
    "apply in progress, and the alert should reach whoever just applied it"
)
_R_CONFIG_INFO = "an info-level configuration finding: 10m rules out objects applied in several steps"
_R_INCREASE = "the increase() window is the persistence: each event is reported once for the length of the window"
_R_DOWN = "serving capacity is missing: 5m covers a rolling update's normal unready time"
_R_MISSING = "a required component is absent: 10m covers a reinstall or a rename in progress"
_R_WEBHOOK = "with failurePolicy Fail every pod creation in scope fails now: 2m covers a webhook pod restarting"
_R_ISTIOD = "istiod-side counters settle within a push; 10m covers a rollout or a scale-up of istiod"
_R_PROXY = "proxies recover within a push or two; 5m covers a rollout of istiod or of the workload"
_R_DISK = "Elasticsearch blocks writes at once at this stage; waiting longer loses spans"
_R_RED = "a red cluster loses writes to its unassigned primaries now; 2m covers a node restart's recovery"
_R_TRAFFIC = "a ratio over a 5m rate with a minimum request rate; 10m keeps a short burst from paging"
_R_JAEGER = "rates over 5-10m windows already smooth the signal; 10m more keeps a restart from paging"
_R_EXPORTER = "a source or replica down for 10m is no longer a restart or a network blip"

FOR_REASONS = {
    "MeshHealthIstiodNotReady": _R_DOWN,
    "MeshHealthGatewayNotReady": _R_DOWN,
    "MeshHealthGatewayMissing": _R_MISSING,
    "MeshHealthIstiodMissing": (
        "without istiod no proxy gets configuration and no pod is injected; 5m covers a revision swap"
    ),
    "MeshHealthIstiodRestarting": _R_INCREASE,
    "MeshHealthIstiodOOMKilled": (
        "the last termination reason is OOMKilled until the container terminates again: each OOM kill is "
        "reported as it is seen"
    ),
    "MeshHealthHPATargetMissing": (
        "an HPA without target does nothing; 5m covers a Deployment recreated under a new name"
    ),
    "MeshHealthIstiodTokenMountFailing": (
        "pods in the istiod Deployment cannot start while the token mount fails; the kubelet retries within a minute"
    ),
    "MeshHealthConfigRejected": _R_INCREASE,
    "MeshHealthClustersWithoutInstances": _R_ISTIOD,
    "MeshHealthInboundListenerConflict": _R_ISTIOD,
    "MeshHealthOutboundListenerConflict": _R_ISTIOD,
    "MeshHealthSlowConfigConvergence": _R_ISTIOD,
    "MeshHealthDuplicateClustersOrDomains": _R_ISTIOD,
    "MeshHealthRootCertExpiring/critical": (
        "the expiry is days away by construction (critical_days): 10m only rules out a rotation in progress"
    ),
    "MeshHealthProxyStale": _R_SELF,
    "MeshHealthXDSRejected": _R_PROXY,
    "MeshHealthProxyDisconnected": _R_PROXY,
    "MeshHealthSidecarNotInjected": (
        "pods created during an injector restart may lack the sidecar until recreated; 10m covers a rollout"
    ),
    "MeshHealthInjectionWebhookFailing": (
        "FailedCreate events naming the webhook mean pods are not being created now; the events are recent "
        "by construction, so 1m only waits for a second refresh"
    ),
    "MeshHealthIstioInitFailing/critical": (
        "CrashLoopBackOff of istio-init on several pods of a node means a node-level cause, and new pods "
        "there do not start"
    ),
    "MeshHealthIstioInitFailing/warning": "one failing istio-init may be a transient image pull or node issue: 10m",
    "MeshHealthSidecarProbesFailing": "probe failures during a rollout are normal: 10m",
    "MeshHealthDestinationRuleTLSConflict": _R_CONFIG,
    "MeshHealthVirtualServiceSubsetUndefined": _R_CONFIG,
    "MeshHealthDestinationRuleSubsetEmpty": _R_CONFIG,
    "MeshHealthServiceProtocolConflict": _R_CONFIG,
    "MeshHealthGatewayConflict": _R_CONFIG,
    "MeshHealthDiscoveryAddressInvalid": _R_CONFIG,
    "MeshHealthTracingBackendUnreachable": _R_CONFIG,
    "MeshHealthVirtualServiceGatewayMissing": _R_CONFIG,
    "MeshHealthGatewayUnreachable": _R_CONFIG,
    "MeshHealthPolicySelectsNothing": _R_CONFIG,
    "MeshHealthVirtualServiceHostUnknown": _R_CONFIG,
    "MeshHealthSidecarOverlap": _R_CONFIG,
    "MeshHealthVirtualServiceHostDuplicate": _R_CONFIG,
    "MeshHealthDestinationRuleTLSUnverified": _R_CONFIG_INFO,
    "MeshHealthServicePortUnnamed": _R_CONFIG_INFO,
    "MeshHealthDestinationRuleMisplaced": _R_CONFIG_INFO,
    "MeshHealthFaultWithRetries": _R_CONFIG_INFO,
    "MeshHealthServiceEntryNoAddress": _R_CONFIG_INFO,
    "MeshHealthExternalNameTCP": _R_CONFIG_INFO,
    "MeshHealthGatewayTrafficPolicyLocal": _R_CONFIG_INFO,
    "MeshHealthTracingFullSampling": _R_CONFIG_INFO,
    "MeshHealthWebhookServiceMissing": _R_WEBHOOK,
    "MeshHealthWebhookNoEndpoints": _R_WEBHOOK,
    "MeshHealthWebhookTLSBroken": (
        "TLS to the webhook fails for every call; 5m covers a certificate rotation racing the caBundle patch"
    ),
    "MeshHealthWebhookFailingOpen": "calls fail open silently (pods without sidecars); 10m covers a webhook restart",
    "MeshHealthWebhookLeftover": "a leftover webhook from an uninstall in progress disappears within minutes: 10m",
    "MeshHealthNamespaceStuckTerminating": _R_SELF,
    "MeshHealthCRDMissing": "CRDs are briefly absent during an Istio upgrade or reinstall: 10m",
    "MeshHealthSidecarMissingExpected": (
        "pods created during an injector restart may lack the sidecar until recreated; 10m covers a rollout"
    ),
    "MeshHealthTracingComponentNotReady": _R_DOWN,
    "MeshHealthTracingComponentMissing": _R_MISSING,
    "MeshHealthTelemetryComponentDown": _R_DOWN,
    "MeshHealthTelemetryComponentMissing": _R_MISSING,
    "MeshHealthElasticsearchClusterHealth/critical": _R_RED,
    "MeshHealthElasticsearchUnreadable": _R_EXPORTER,
    "MeshHealthElasticsearchDiskWatermark/critical": _R_DISK,
    "MeshHealthElasticsearchDiskWatermark/warning": "no new shards are allocated to the node; 5m rules out a merge or snapshot peak",
    "MeshHealthJaegerIndicesReadOnly": _R_DISK,
    "MeshHealthJaegerIndexMissing": (
        "spans have nowhere to go; 10m covers index rollover and the midnight daily-index switch"
    ),
    "MeshHealthJaegerSpansStale": _R_SELF,
    "MeshHealthJaegerImplausibleIndexDates": "a finding about index names, not about load: 10m",
    "MeshHealthJaegerDroppingSpans": _R_JAEGER,
    "MeshHealthJaegerQueueFull": _R_JAEGER,
    "MeshHealthJaegerBulkIndexErrors": _R_JAEGER,
    "MeshHealthNoHealthyUpstream": _R_TRAFFIC,
    "MeshHealthNoRoute": _R_TRAFFIC,
    "MeshHealthUpstreamConnectFailure": _R_TRAFFIC,
    "MeshHealthUpstreamProtocolError": _R_TRAFFIC,
    "MeshHealthSourceDown": _R_EXPORTER,
    "MeshHealthIstiodUnreadable": _R_EXPORTER,
}
