import copy
import dataclasses

import pytest

from exporter.checks.data_plane import (
    _init_failure,
    check_drain,
    check_init_crashloops,
    check_injection,
    check_injection_webhook_failures,
    check_probes,
)
from exporter.model import Severity
from exporter.sources.kube.projections import (
    ConfigMapInfo,
    ContainerState,
    EventInfo,
    NodeInfo,
    PodInfo,
    Probe,
    parse_time,
    project_event,
    project_istio_configmap,
    project_mutating_webhooks,
    project_namespace,
    project_node,
    project_pod,
    project_validating_webhooks,
)
from tests.scenarios.kube import crashlooping
from tests.unit.helpers import deep_update, kube_object, settings, snapshot, uninjected

NOW = parse_time("2024-03-02T12:00:00Z")
INJECTED = kube_object("pod-reviews-v1-injected")


def ns(name, **labels):
    return project_namespace({"metadata": {"name": name, "labels": labels}, "status": {"phase": "Active"}})


INJECTOR = project_mutating_webhooks({
    "metadata": {"name": "istio-sidecar-injector"},
    "webhooks": [{"name": "namespace.sidecar-injector.istio.io", "failurePolicy": "Fail",
                  "clientConfig": {"service": {"name": "istiod", "namespace": "istio-system", "port": 443}}}],
})  # fmt: skip


def run_dp04(pods, namespaces, **extra):
    objects = {"pods": pods, "namespaces": namespaces, "mutating_webhooks": [INJECTOR], **extra}
    return check_injection(snapshot(**objects), settings(), NOW)


def test_pods_of_one_deployment_are_one_finding():
    pods = [uninjected(), uninjected(name="reviews-v1-5b5d6494f4-zz9q1")]
    result = run_dp04(pods, [ns("bookinfo", **{"istio-injection": "enabled"})])
    [finding] = result.findings
    assert (finding.namespace, finding.kind, finding.name) == ("bookinfo", "Deployment", "reviews-v1")
    assert finding.message.startswith("2 pods without istio-proxy") and "restart the workload" in finding.message
    [sample] = [s for s in result.samples if s.metric == "meshhealth_pods_without_sidecar"]
    assert dict(sample.labels) == {"namespace": "bookinfo", "reason": "not_restarted"} and sample.value == 2


def test_revision_label_and_explicit_opt_in_count():
    by_rev = run_dp04([uninjected()], [ns("bookinfo", **{"istio.io/rev": "1-6-10"})])
    assert len(by_rev.findings) == 1
    opt_in = uninjected(metadata={"labels": {"sidecar.istio.io/inject": "true"}})
    assert len(run_dp04([opt_in], [ns("bookinfo")]).findings) == 1


def test_exclusions_are_not_findings():
    enabled = ns("bookinfo", **{"istio-injection": "enabled"})
    cases = [
        uninjected(spec={"hostNetwork": True}),
        uninjected(metadata={"labels": {"sidecar.istio.io/inject": "false"}}),
        uninjected(metadata={"annotations": {"sidecar.istio.io/inject": "false"}}),
        uninjected(metadata={"creationTimestamp": "2024-03-02T11:59:30Z"}),  # younger than the grace period
        uninjected(status={"phase": "Succeeded"}),
        uninjected(metadata={"deletionTimestamp": "2024-03-02T11:59:00Z"}),
        project_pod(INJECTED),
    ]
    for pod in cases:
        assert run_dp04([pod], [enabled]).findings == [], pod
    kube_system = uninjected(namespace="kube-system")
    assert run_dp04([kube_system], [ns("kube-system", **{"istio-injection": "enabled"})]).findings == []
    assert (
        run_dp04([uninjected()], [ns("bookinfo", **{"istio-injection": "disabled", "istio.io/rev": "x"})]).findings
        == []
    )
    assert run_dp04([uninjected()], [ns("bookinfo")]).findings == []


def test_injector_policy_disabled_means_opt_in_only():
    policy = project_istio_configmap({"metadata": {"name": "istio-sidecar-injector", "namespace": "istio-system"},
                                      "data": {"config": "policy: disabled\ntemplates: {}\n"}})  # fmt: skip
    result = run_dp04([uninjected()], [ns("bookinfo", **{"istio-injection": "enabled"})], istio_configmaps=[policy])
    assert result.findings == []


def webhook_event(namespace="bookinfo", webhook="namespace.sidecar-injector.istio.io", last="2024-03-02T11:58:00Z"):
    return project_event({
        "metadata": {"name": "reviews-v2-6c5bf657cf.17b8", "namespace": namespace},
        "involvedObject": {"kind": "ReplicaSet", "name": "reviews-v2-6c5bf657cf", "namespace": namespace},
        "reason": "FailedCreate", "type": "Warning", "count": 12, "lastTimestamp": last,
        "message": f'Error creating: Internal error occurred: failed calling webhook "{webhook}": failed to call '
                   'webhook: Post "https://istiod.istio-system.svc:443/inject?timeout=10s": no endpoints available '
                   'for service "istiod"',
    })  # fmt: skip


def test_dp04_dp05_reason_webhook_failing_and_no_injector():
    enabled = [ns("bookinfo", **{"istio-injection": "enabled"})]
    failing = run_dp04([uninjected()], enabled, warning_events=[webhook_event()])
    assert "DP05" in failing.findings[0].message
    no_injector = check_injection(snapshot(pods=[uninjected()], namespaces=enabled), settings(), NOW)
    assert "no Istio mutating webhook" in no_injector.findings[0].message


def test_dp05_failed_create_naming_istio_webhook():
    other = webhook_event(webhook="validate.nginx.ingress.kubernetes.io")
    result = check_injection_webhook_failures(snapshot(warning_events=[webhook_event(), other]), settings(), NOW)
    [finding] = result.findings
    assert (finding.kind, finding.name, finding.severity) == ("ReplicaSet", "reviews-v2-6c5bf657cf", Severity.CRITICAL)
    assert (
        finding.message.startswith("12x: Error creating")
        and 'no endpoints available for service "istiod"' in finding.message
    )
    [sample] = [s for s in result.samples if s.metric == "meshhealth_injection_webhook_failures"]
    assert sample.value == 12 and dict(sample.labels)["webhook"] == "namespace.sidecar-injector.istio.io"
    stale = check_injection_webhook_failures(snapshot(warning_events=[webhook_event(last="2024-03-02T10:00:00Z")]),
                                             settings(), NOW)  # fmt: skip
    assert stale.findings == []


NODE = project_node({"metadata": {"name": "worker-3"}, "status": {"nodeInfo": {
    "kernelVersion": "3.10.0-1160.el7.x86_64", "osImage": "CentOS Linux 7 (Core)",
    "containerRuntimeVersion": "docker://19.3.12"}}})  # fmt: skip


def test_dp06_groups_by_node_with_node_details():
    pods = [
        crashlooping(NOW, "a"),
        crashlooping(NOW, "b"),
        crashlooping(NOW, "c", node="worker-1"),
        project_pod(INJECTED),
    ]
    result = check_init_crashloops(snapshot(pods=pods, nodes=[NODE]), settings(), NOW)
    by_node = {f.name: f for f in result.findings}
    assert set(by_node) == {"worker-3", "worker-1"}
    assert by_node["worker-3"].severity == Severity.CRITICAL and by_node["worker-1"].severity == Severity.WARNING
    message = by_node["worker-3"].message
    assert message.startswith("2 pods with failing") and "iptables-restore: line 2 failed" in message
    assert "3.10.0-1160.el7.x86_64" in message and "docker://19.3.12" in message


def test_dp07_rewrite_disabled_and_unhealthy_events():
    disabled = copy.deepcopy(INJECTED)
    disabled["metadata"]["annotations"]["sidecar.istio.io/rewriteAppHTTPProbers"] = "false"
    disabled["spec"]["containers"][0]["livenessProbe"] = {"httpGet": {"path": "/health", "port": 9080}}
    unhealthy = project_event({
        "metadata": {"name": "x", "namespace": "bookinfo"}, "reason": "Unhealthy", "type": "Warning", "count": 30,
        "involvedObject": {"kind": "Pod", "name": "reviews-v1-5b5d6494f4-7xk2p", "namespace": "bookinfo"},
        "message": "Readiness probe failed: HTTP probe failed with statuscode: 503", "lastTimestamp": "2024-03-02T11:59:00Z",
    })  # fmt: skip
    result = check_probes(snapshot(pods=[project_pod(disabled)], warning_events=[unhealthy]), settings(), NOW)
    severities = sorted((f.severity.label, f.message.split(";")[0].split(" ")[0]) for f in result.findings)
    assert severities == [("info", "probe"), ("warning", "30x")]
    quiet = check_probes(snapshot(pods=[uninjected()], warning_events=[unhealthy]), settings(), NOW)
    assert quiet.findings == []


def test_dp08_long_grace_period_with_default_drain():
    long_grace = project_pod(deep_update(INJECTED, {"spec": {"terminationGracePeriodSeconds": 120}}))
    [finding] = check_drain(snapshot(pods=[long_grace]), settings(), NOW).findings
    assert finding.severity == Severity.INFO and "drains after 5s" in finding.message
    mesh = project_istio_configmap({"metadata": {"name": "istio", "namespace": "istio-system"}, "data": {
        "mesh": "defaultConfig:\n  proxyMetadata:\n    EXIT_ON_ZERO_ACTIVE_CONNECTIONS: 'true'\n"}})  # fmt: skip
    assert check_drain(snapshot(pods=[long_grace], istio_configmaps=[mesh]), settings(), NOW).findings == []
    annotated = project_pod(deep_update(INJECTED, {
        "spec": {"terminationGracePeriodSeconds": 120},
        "metadata": {"annotations": {"proxy.istio.io/config": "terminationDrainDuration: 60s\n"}}}))  # fmt: skip
    assert check_drain(snapshot(pods=[annotated]), settings(), NOW).findings == []
    assert check_drain(snapshot(pods=[project_pod(INJECTED)]), settings(), NOW).findings == []


def _pod(name="web-1", namespace="shop", states=(), probes=(), annotations=(), grace=30, node="worker-1",
         containers=("web", "istio-proxy"), owner=("ReplicaSet", "web-5d9c"), labels=(("pod-template-hash", "5d9c"),)):  # fmt: skip
    return PodInfo(namespace, name, labels, tuple(annotations), owner[0], owner[1], node, "10.0.0.9", False, 0.0,
                   False, "Running", containers, (), tuple(probes), tuple(states), grace)  # fmt: skip


def _init(name="istio-init", waiting="", terminated="", code=None, restarts=0, message="", last_code=None):
    return ContainerState(name, True, False, False, restarts, waiting, terminated, code, "Error" if message else "",
                          last_code, None, message)  # fmt: skip


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (_init(waiting="CrashLoopBackOff", restarts=4, message="  iptables failed \n", last_code=1),
         "istio-init CrashLoopBackOff after 4 restarts (last exit code 1: iptables failed)"),
        (_init(waiting="CrashLoopBackOff", restarts=4, message="   "), "istio-init CrashLoopBackOff after 4 restarts"),
        (_init("istio-validation", terminated="Error", code=126), "istio-validation terminated: Error, exit code 126"),
        (_init(terminated="Completed", code=0), None),
        (_init(terminated="Error", code=None), None),
        (_init(waiting="PodInitializing"), None),
        (_init("app-init", waiting="CrashLoopBackOff"), None),
        (dataclasses.replace(_init(waiting="CrashLoopBackOff"), init=False), None),
    ],
)  # fmt: skip
def test_dp06_init_failure_reasons(state, reason):
    assert _init_failure(_pod(states=[state])) == reason


def test_dp06_severity_follows_pods_per_node_and_node_details():
    bad = _init(waiting="CrashLoopBackOff", restarts=2)
    pods = [_pod(f"p{i}", states=[bad]) for i in range(2)] + [_pod("q", states=[bad], node="")]
    nodes = [NodeInfo("worker-1", "6.1.0", "Debian 12", "containerd://1.7")]
    result = check_init_crashloops(snapshot(pods=pods, nodes=nodes), settings(), NOW)
    assert [(f.severity.label, f.namespace, f.kind, f.name, f.message) for f in result.findings] == [
        ("warning", "", "Node", "unscheduled", "1 pod with failing Istio init containers, e.g. shop/q: istio-init "
         "CrashLoopBackOff after 2 restarts"),
        ("critical", "", "Node", "worker-1", "2 pods with failing Istio init containers, e.g. shop/p0: istio-init "
         "CrashLoopBackOff after 2 restarts; node kernel 6.1.0, Debian 12, containerd://1.7"),
    ]  # fmt: skip
    assert {(x.metric, x.labels): x.value for x in result.samples} == {
        ("meshhealth_istio_init_failing_pods", (("node", "unscheduled"),)): 1.0,
        ("meshhealth_istio_init_failing_pods", (("node", "worker-1"),)): 2.0,
        ("meshhealth_nodes_istio_init_failing", ()): 2.0,
    }
    one = check_init_crashloops(snapshot(pods=pods[:1]), settings(checks={"DP06": {"min_pods_per_node": 1}}), NOW)
    assert one.findings[0].severity.label == "critical"


def test_dp07_rewrite_off_only_for_network_probes_of_injected_pods():
    off = (("sidecar.istio.io/rewriteAppHTTPProbers", "false"),)
    grpc = Probe("readiness", "grpc", "50051")
    cases = [
        (_pod(annotations=off, probes=[Probe("liveness", "exec", ""), grpc]), "probe rewrite disabled; readiness probe grpc port 50051 goes through the sidecar"),
        (_pod(annotations=off, probes=[Probe("liveness", "exec", "")]), None),
        (_pod(annotations=(("sidecar.istio.io/rewriteAppHTTPProbers", "true"),), probes=[grpc]), None),
        (_pod(annotations=off, probes=[grpc], containers=("web",)), None),
    ]  # fmt: skip
    for pod, message in cases:
        result = check_probes(snapshot(pods=[pod]), settings(), NOW)
        assert [f.message for f in result.findings] == ([message] if message else [])
        if message:
            [f] = result.findings
            assert (f.severity.label, f.namespace, f.kind, f.name) == ("info", "shop", "Deployment", "web")
            assert {(x.metric, x.labels): x.value for x in result.samples} == {
                ("meshhealth_sidecar_probe_issues", (("namespace", "shop"), ("reason", "rewrite_disabled"))): 1.0,
                ("meshhealth_workloads_sidecar_probe_failing", ()): 0.0,
            }


def test_dp07_unhealthy_events_of_injected_pods_within_the_window():
    def unhealthy(ago, name="web-1", count=3):
        return EventInfo("shop", "Pod", name, "Unhealthy", "Readiness probe failed: " + "x" * 300, count, NOW - ago)

    pods = [_pod(), _pod("plain", containers=("web",))]
    events = [unhealthy(10), unhealthy(5000), unhealthy(10, name="plain"), unhealthy(10, name="gone")]
    result = check_probes(snapshot(pods=pods, warning_events=events), settings(), NOW)
    [f] = result.findings
    assert (f.severity.label, f.name) == ("warning", "web")
    assert f.message == "3x " + ("Readiness probe failed: " + "x" * 300)[:250]
    assert {(x.metric, x.labels): x.value for x in result.samples} == {
        ("meshhealth_sidecar_probe_issues", (("namespace", "shop"), ("reason", "probe_failing"))): 1.0,
        ("meshhealth_workloads_sidecar_probe_failing", ()): 1.0,
    }


@pytest.mark.parametrize(
    ("grace", "annotation", "mesh", "message"),
    [
        (16, "", "", "terminationGracePeriodSeconds 16s but the sidecar drains after 5s; set terminationDrainDuration or EXIT_ON_ZERO_ACTIVE_CONNECTIONS"),
        (15, "", "", None),
        (120, "terminationDrainDuration: 45s\n", "", None),
        (120, "terminationDrainDuration: 30s\n", "", "terminationGracePeriodSeconds 120s but the sidecar drains after 30s; set terminationDrainDuration or EXIT_ON_ZERO_ACTIVE_CONNECTIONS"),
        (120, "", "defaultConfig:\n  terminationDrainDuration: 60s\n", None),
        (120, "proxyMetadata:\n  EXIT_ON_ZERO_ACTIVE_CONNECTIONS: 'True'\n", "", None),
        (120, "", "defaultConfig:\n  proxyMetadata:\n    EXIT_ON_ZERO_ACTIVE_CONNECTIONS: 'true'\n", None),
        (120, "not: [yaml", "defaultConfig: nope", "terminationGracePeriodSeconds 120s but the sidecar drains after 5s; set terminationDrainDuration or EXIT_ON_ZERO_ACTIVE_CONNECTIONS"),
    ],
)  # fmt: skip
def test_dp08_drain_from_pod_annotation_mesh_config_or_default(grace, annotation, mesh, message):
    annotations = (("proxy.istio.io/config", annotation),) if annotation else ()
    configmaps = [ConfigMapInfo("istio-system", "istio", (("mesh", mesh),))] if mesh else []
    pod = _pod(grace=grace, annotations=annotations)
    s = settings(checks={"DP08": {"default_grace_seconds": 10}})
    result = check_drain(snapshot(pods=[pod], istio_configmaps=configmaps), s, NOW)
    assert [f.message for f in result.findings] == ([message] if message else [])
    assert [(x.labels, x.value) for x in result.samples] == ([((("namespace", "shop"),), 1.0)] if message else [])


def _dp04_pod(name, namespace="bookinfo", phase="Running", created_ago=3600.0, sidecar=False, **kw):
    containers = ("app", "istio-proxy") if sidecar else ("app",)
    base = dict(labels=(("pod-template-hash", "5d9c"),), owner=("ReplicaSet", f"{name}-5d9c"))
    pod = _pod(name=f"{name}-5d9c-x", namespace=namespace, containers=containers, **base, **kw)
    return dataclasses.replace(pod, phase=phase, created=NOW - created_ago)


def test_dp04_skipped_pods_do_not_end_the_scan_and_counts_add_up():
    enabled = [ns("bookinfo", **{"istio-injection": "enabled"}), ns("kube-system", **{"istio-injection": "enabled"})]
    pods = [_dp04_pod("done", phase="Succeeded"), _dp04_pod("failed", phase="Failed"),
            _dp04_pod("injected", sidecar=True), _dp04_pod("orphan", namespace="nowhere"),
            _dp04_pod("system", namespace="kube-system"), _dp04_pod("young", created_ago=60.0),
            _dp04_pod("edge", created_ago=59.0), _dp04_pod("reviews"), _dp04_pod("ratings")]  # fmt: skip
    result = run_dp04(pods, enabled)
    assert [f.name for f in result.findings] == ["ratings", "reviews", "young"]
    assert {(x.metric, x.labels): x.value for x in result.samples} == {
        ("meshhealth_pods_without_sidecar", (("namespace", "bookinfo"), ("reason", "not_restarted"))): 3.0,
        ("meshhealth_workloads_without_sidecar", ()): 3.0,
    }


def test_dp04_reasons_need_a_mutating_injector_and_recent_failures():
    enabled = [ns("bookinfo", **{"istio-injection": "enabled"})]
    validator = project_validating_webhooks({"metadata": {"name": "istio-validator-istio-system"}, "webhooks": [
        {"name": "validation.istio.io", "clientConfig": {"service": {"name": "istiod", "namespace": "istio-system"}}}]})  # fmt: skip
    only_validator = check_injection(snapshot(pods=[_dp04_pod("r")], namespaces=enabled, validating_webhooks=[validator]),
                                     settings(), NOW)  # fmt: skip
    assert next(x.labels for x in only_validator.samples) == (("namespace", "bookinfo"), ("reason", "no_injector"))
    old = webhook_event(last="2024-03-02T10:59:59Z")
    result = run_dp04([_dp04_pod("r")], enabled, warning_events=[old])
    assert dict(result.samples[0].labels)["reason"] == "not_restarted"  # more than an hour ago
    listy = [project_istio_configmap({"metadata": {"name": "istio-sidecar-injector", "namespace": "istio-system"},
                                      "data": {"config": "- policy\n- disabled\n"}})]  # fmt: skip
    assert len(run_dp04([_dp04_pod("r")], enabled, istio_configmaps=listy).findings) == 1


def test_istio_webhooks_match_kind_and_configuration_or_hook_name():
    from exporter.checks.data_plane import istio_webhooks

    other = project_mutating_webhooks({"metadata": {"name": "cert-manager-webhook"}, "webhooks": [
        {"name": "webhook.cert-manager.io"}, {"name": "sidecar-injector.istio.io"}]})  # fmt: skip
    snap = snapshot(mutating_webhooks=[INJECTOR, other])
    assert [h.name for h in istio_webhooks(snap, settings(), "mutating")] == [
        "namespace.sidecar-injector.istio.io", "sidecar-injector.istio.io"]  # fmt: skip
    assert istio_webhooks(snap, settings(), "validating") == []


def test_dp05_events_of_one_object_and_webhook_add_up_and_messages_are_cut():
    first = webhook_event()
    second = dataclasses.replace(first, count=5, message=first.message + " " + "x" * 400)
    result = check_injection_webhook_failures(snapshot(warning_events=[first, second]), settings(), NOW)
    [f] = result.findings
    assert f.message.startswith(f"{first.count + 5}x: ") and len(f.message) == len(f"{first.count + 5}x: ") + 300
    assert [x.value for x in result.samples if x.metric == "meshhealth_injection_webhook_failures"] == [first.count + 5]


def test_dp06_long_messages_are_cut_at_500():
    bad = _init(waiting="CrashLoopBackOff", restarts=2, message="m" * 700)
    [f] = check_init_crashloops(snapshot(pods=[_pod(states=[bad])]), settings(), NOW).findings
    assert len(f.message) == 500


def test_dp07_tcp_probes_and_two_workloads_in_a_namespace():
    off = (("sidecar.istio.io/rewriteAppHTTPProbers", "false"),)
    pods = [_pod(annotations=off, probes=[Probe("liveness", "tcpSocket", "8080")]),
            _pod(name="api-1", annotations=off, probes=[Probe("liveness", "httpGet", "8080")], owner=("StatefulSet", "api"))]  # fmt: skip
    result = check_probes(snapshot(pods=pods), settings(), NOW)
    assert len(result.findings) == 2
    assert result.samples[0].value == 2.0


def test_dp08_pods_before_and_after_skipped_ones_are_all_judged():
    exit_zero = (("proxy.istio.io/config", "proxyMetadata:\n  EXIT_ON_ZERO_ACTIVE_CONNECTIONS: 'true'\n"),)
    pods = [_pod(name="short", grace=5), _pod(name="exits", grace=120, annotations=exit_zero),
            _pod(name="a", grace=120), _pod(name="b", grace=120, owner=("StatefulSet", "b"))]  # fmt: skip
    result = check_drain(snapshot(pods=pods), settings(checks={"DP08": {"default_grace_seconds": 10}}), NOW)
    assert [f.name for f in result.findings] == ["web", "b"]
    assert result.samples[0].value == 2.0
