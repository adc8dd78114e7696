import pytest

from exporter.checks.control_plane import (
    _rolling_out,
    check_hpa_targets,
    check_istio_token_mount,
    check_istiod_ready,
    check_istiod_restarts,
)
from exporter.model import Severity
from exporter.sources.kube.projections import (
    Condition,
    ContainerState,
    EventInfo,
    HPAInfo,
    PodInfo,
    WorkloadInfo,
    project_deployment,
)
from tests.unit.helpers import kube_object, settings, snapshot

NOW = 1_700_000_000.0


def values(result, metric):
    return {tuple(v for _, v in s.labels): s.value for s in result.samples if s.metric == metric}


def istiod(**patch):
    return project_deployment(kube_object("deployment-istiod-1-6-10-unready", **patch))


def test_cp01_revisioned_istiod_with_fewer_ready_replicas_is_critical():
    result = check_istiod_ready(snapshot(deployments=[istiod()]), settings(), NOW)
    assert values(result, "meshhealth_istiod_replicas_ready") == {("istio-system", "1-6-10", "istiod-1-6-10"): 1}
    assert values(result, "meshhealth_istiod_replicas_desired") == {("istio-system", "1-6-10", "istiod-1-6-10"): 2}
    assert values(result, "meshhealth_istiod_deployments") == {(): 1}
    [finding] = result.findings
    assert (finding.check, finding.severity, finding.namespace, finding.kind, finding.name) == (
        "CP01",
        Severity.CRITICAL,
        "istio-system",
        "Deployment",
        "istiod-1-6-10",
    )
    assert "1/2 replicas ready (revision 1-6-10)" in finding.message
    assert "MinimumReplicasUnavailable" in finding.message


def test_cp01_ready_istiod_has_no_finding_but_keeps_its_gauges():
    healthy = istiod(status={"readyReplicas": 2, "availableReplicas": 2}, metadata={"labels": {"istio.io/rev": None}})
    result = check_istiod_ready(snapshot(deployments=[healthy]), settings(), NOW)
    assert result.findings == []
    assert values(result, "meshhealth_istiod_replicas_ready") == {("istio-system", "default", "istiod-1-6-10"): 2}


def test_cp01_scaled_to_zero_is_not_a_failure():
    idle = istiod(spec={"replicas": 0}, status={"readyReplicas": None})
    assert check_istiod_ready(snapshot(deployments=[idle]), settings(), NOW).findings == []


def test_cp01_rollout_in_progress_keeps_the_alerts_severity():
    rolling = istiod(metadata={"generation": 2})
    [finding] = check_istiod_ready(snapshot(deployments=[rolling]), settings(), NOW).findings
    assert finding.severity == Severity.CRITICAL  # MeshHealthIstiodNotReady is critical
    assert "rollout in progress" in finding.message


def test_cp01_no_ready_replica_during_rollout_stays_critical():
    rolling = istiod(metadata={"generation": 2}, status={"readyReplicas": None})
    [finding] = check_istiod_ready(snapshot(deployments=[rolling]), settings(), NOW).findings
    assert finding.severity == Severity.CRITICAL


def test_cp01_missing_istiod_is_a_finding_and_count_is_zero():
    result = check_istiod_ready(snapshot(), settings(), NOW)
    assert values(result, "meshhealth_istiod_deployments") == {(): 0}
    [finding] = result.findings
    assert finding.message == "no Deployment matching app=istiod in istio-system"


def test_cp01_severity_override_applies_to_findings():
    s = settings(checks={"CP01": {"alert_severity": "warning"}})
    [finding] = check_istiod_ready(snapshot(deployments=[istiod()]), s, NOW).findings
    assert finding.severity == Severity.WARNING


def test_replicas_defaults_to_one_when_unset():
    d = istiod(spec={"replicas": None}, status={"readyReplicas": None})
    assert d.desired == 1 and d.ready == 0


# --- CP02 / CP09 / CP12 and components -------------------------------------------------------------

from exporter.sources.kube.projections import (  # noqa: E402
    parse_time,
    project_event,
    project_hpa,
    project_pod,
)


def istiod_pod(**status):
    base = kube_object(
        "pod-reviews-v1-injected",
        metadata={
            "name": "istiod-7c9f6b9d8-abcde",
            "namespace": "istio-system",
            "labels": {"app": "istiod", "istio.io/rev": "default", "pod-template-hash": "7c9f6b9d8"},
            "ownerReferences": [{"kind": "ReplicaSet", "name": "istiod-7c9f6b9d8", "controller": True}],
        },
    )
    base["status"]["containerStatuses"] = [
        {
            "name": "discovery",
            "ready": True,
            "restartCount": status.get("restarts", 0),
            "state": {"running": {}},
            "lastState": status.get("last", {}),
        }
    ]
    return project_pod(base)


OOM_AT = "2024-03-02T10:00:00Z"
OOM_TS = parse_time(OOM_AT)


def test_cp02_recent_oomkill_is_critical_and_old_one_is_only_a_restart():
    last = {"terminated": {"reason": "OOMKilled", "exitCode": 137, "finishedAt": OOM_AT}}
    recent = check_istiod_restarts(snapshot(pods=[istiod_pod(restarts=3, last=last)]), settings(), OOM_TS + 600)
    [finding] = recent.findings
    assert finding.severity == Severity.CRITICAL and "OOMKilled 10m ago" in finding.message
    assert values(recent, "meshhealth_istiod_oomkilled") == {("istio-system", "istiod-7c9f6b9d8-abcde", "default"): 1}
    assert values(recent, "meshhealth_istiod_container_restarts") == {
        ("istio-system", "istiod-7c9f6b9d8-abcde", "default"): 3
    }
    old = check_istiod_restarts(snapshot(pods=[istiod_pod(restarts=3, last=last)]), settings(), OOM_TS + 7200)
    [finding] = old.findings
    assert (
        finding.severity == Severity.WARNING
        and finding.message == "3 container restarts (last: OOMKilled, exit code 137)"
    )


def test_cp02_istiod_without_restarts_and_other_pods_are_quiet():
    reviews = project_pod(kube_object("pod-reviews-v1-injected"))
    result = check_istiod_restarts(snapshot(pods=[istiod_pod(), reviews]), settings(), NOW)
    assert result.findings == []
    assert len(values(result, "meshhealth_istiod_container_restarts")) == 1


def hpa(target):
    return project_hpa(
        {
            "metadata": {"name": "istiod", "namespace": "istio-system"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target}},
        }
    )


def test_cp09_hpa_pointing_at_old_istiod_name_after_revisioned_install():
    snap = snapshot(control_plane_hpas=[hpa("istiod")], deployments=[istiod()])
    result = check_hpa_targets(snap, settings(), NOW)
    [finding] = result.findings
    assert (finding.check, finding.kind, finding.name) == ("CP09", "HorizontalPodAutoscaler", "istiod")
    assert finding.message == 'scaleTargetRef Deployment "istiod" does not exist; existing: istiod-1-6-10'
    assert values(result, "meshhealth_hpas_target_missing") == {(): 1}
    fixed = check_hpa_targets(
        snapshot(control_plane_hpas=[hpa("istiod-1-6-10")], deployments=[istiod()]), settings(), NOW
    )
    assert fixed.findings == [] and values(fixed, "meshhealth_hpas_target_missing") == {(): 0}


def event(reason, message, namespace="istio-system", kind="Pod", name="istiod-7c9f6b9d8-abcde", last=OOM_AT, count=4):
    return project_event(
        {
            "metadata": {"name": f"{name}.17b", "namespace": namespace},
            "involvedObject": {"kind": kind, "name": name, "namespace": namespace},
            "reason": reason,
            "message": message,
            "count": count,
            "lastTimestamp": last,
            "type": "Warning",
        }
    )


TOKEN_MSG = (
    'MountVolume.SetUp failed for volume "istio-token" : failed to fetch token: the API server does not have '
    "TokenRequest endpoints enabled"
)


def test_cp12_istio_token_failed_mount_within_window():
    snap = snapshot(warning_events=[event("FailedMount", TOKEN_MSG), event("FailedMount", "configmap not found")])
    result = check_istio_token_mount(snap, settings(), OOM_TS + 60)
    [finding] = result.findings
    assert finding.severity == Severity.CRITICAL and "TokenRequest endpoints" in finding.message
    assert values(result, "meshhealth_istiod_pods_token_mount_failing") == {(): 1}
    assert check_istio_token_mount(snap, settings(), OOM_TS + 3600).findings == []


def _workload(ready=1, desired=2, generation=1, observed=1, conditions=(), **kw):
    base = dict(kind="Deployment", namespace="istio-system", name="istiod", labels=(("app", "istiod"),),
                desired=desired, ready=ready, available=ready, updated=ready, generation=generation,
                observed_generation=observed, conditions=tuple(conditions))  # fmt: skip
    base.update(kw)
    return WorkloadInfo(**base)


@pytest.mark.parametrize(
    ("workload", "rolling"),
    [
        (_workload(generation=2, observed=1), True),
        (_workload(conditions=[Condition("Progressing", "True", "ReplicaSetUpdated", "")]), True),
        (_workload(conditions=[Condition("Progressing", "True", "NewReplicaSetCreated", "")]), True),
        (_workload(conditions=[Condition("Progressing", "True", "NewReplicaSetAvailable", "")]), False),
        (_workload(conditions=[Condition("Progressing", "False", "ReplicaSetUpdated", "")]), False),
        (_workload(conditions=[Condition("Available", "True", "ReplicaSetUpdated", "")]), False),
        (_workload(generation=1, observed=2), False),
    ],
)
def test_cp01_rollout_in_progress(workload, rolling):
    assert _rolling_out(workload) is rolling


def test_cp01_message_names_failing_conditions_and_the_rollout():
    d = _workload(ready=1, desired=3, labels=(("app", "istiod"), ("istio.io/rev", "1-29-2")), conditions=[
        Condition("Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability."),
        Condition("Progressing", "True", "ProgressDeadlineExceeded", ""),
        Condition("ReplicaFailure", "True", "FailedCreate", "quota")])  # fmt: skip
    result = check_istiod_ready(snapshot(deployments=[d]), settings(), NOW)
    [f] = [f for f in result.findings if f.kind == "Deployment"]
    assert (f.severity.label, f.namespace, f.name) == ("critical", "istio-system", "istiod")
    assert f.message == ("1/3 replicas ready (revision 1-29-2); Available: MinimumReplicasUnavailable Deployment "
                         "does not have minimum availability.; Progressing: ProgressDeadlineExceeded")  # fmt: skip
    rolling = _workload(ready=1, desired=2, generation=2, observed=1)
    [g] = check_istiod_ready(snapshot(deployments=[rolling]), settings(), NOW).findings
    assert g.message.endswith("; rollout in progress (the alert fires if it does not finish within its `for`)")
    other_ns = _workload(namespace="default")
    [missing] = check_istiod_ready(snapshot(deployments=[other_ns]), settings(), NOW).findings
    assert (missing.namespace, missing.kind, missing.name, missing.message) == (
        "istio-system", "Deployment", "istiod", "no Deployment matching app=istiod in istio-system")  # fmt: skip


def _pod(states, name="istiod-7c9f6b9d8-abcde", labels=(("app", "istiod"),), namespace="istio-system"):
    return PodInfo(namespace, name, labels, (), "ReplicaSet", "istiod-7c9f6b9d8", "node", "10.0.0.5", False, 0.0,
                   False, "Running", ("discovery",), (), (), tuple(states), 30)  # fmt: skip


def _state(name="discovery", restarts=0, init=False, last_reason="", last_code=None, finished=None, terminated=""):
    return ContainerState(name, init, True, True, restarts, "", terminated, None, last_reason, last_code, finished, "")


def test_cp02_restarts_oomkills_and_their_windows():
    def run(*states, labels=(("app", "istiod"),)):
        result = check_istiod_restarts(snapshot(pods=[_pod(states, labels=labels)]), settings(), NOW)
        values = {x.metric: (x.labels, x.value) for x in result.samples}
        return result.findings, values

    findings, values = run(_state(restarts=3, last_reason="Error", last_code=2), _state("init", 9, init=True))
    labels = (("namespace", "istio-system"), ("pod", "istiod-7c9f6b9d8-abcde"), ("revision", "default"))
    assert values == {
        "meshhealth_istiod_container_restarts": (labels, 3.0),
        "meshhealth_istiod_oomkilled": (labels, 0.0),
    }
    [f] = findings
    assert (f.severity.label, f.kind, f.message) == (
        "warning",
        "Pod",
        "3 container restarts (last: Error, exit code 2)",
    )
    findings, values = run(_state(restarts=1, last_reason="OOMKilled", last_code=137, finished=NOW - 3600),
                           labels=(("app", "istiod"), ("istio.io/rev", "canary")))  # fmt: skip
    assert values["meshhealth_istiod_oomkilled"][1] == 1.0 and values["meshhealth_istiod_oomkilled"][0][2] == (
        "revision",
        "canary",
    )
    [f] = findings
    assert (f.severity.label, f.message) == ("critical", "container discovery OOMKilled 1h ago; 1 restarts in total")
    findings, values = run(_state(restarts=1, last_reason="OOMKilled", finished=NOW - 3601))
    assert (
        values["meshhealth_istiod_oomkilled"][1] == 0.0
        and findings[0].message == "1 container restarts (last: OOMKilled, exit code None)"
    )
    findings, _ = run(_state(terminated="OOMKilled"))
    assert findings[0].message == "container discovery OOMKilled now; 0 restarts in total"
    findings, _ = run(_state(restarts=2))
    assert findings[0].message == "2 container restarts"
    assert run(_state())[0] == []


def test_cp09_only_deployment_and_statefulset_targets_and_the_hint():
    hpas = [HPAInfo("istio-system", "istiod", "Deployment", "istiod", "apps/v1"),
            HPAInfo("istio-system", "gw", "StatefulSet", "gw", "apps/v1"),
            HPAInfo("istio-system", "rs", "ReplicaSet", "x", "apps/v1"),
            HPAInfo("istio-system", "ok", "Deployment", "istiod-1-29-2", "apps/v1")]  # fmt: skip
    deployments = [_workload(name="istiod-1-29-2"), _workload(name="istiod-canary"), _workload(name="other")]
    statefulsets = [_workload(kind="StatefulSet", name="gw", namespace="default")]
    result = check_hpa_targets(snapshot(deployments=deployments, statefulsets=statefulsets, control_plane_hpas=hpas),
                               settings(), NOW)  # fmt: skip
    assert [(f.name, f.message) for f in result.findings] == [
        ("gw", 'scaleTargetRef StatefulSet "gw" does not exist'),
        ("istiod", 'scaleTargetRef Deployment "istiod" does not exist; existing: istiod-1-29-2, istiod-canary'),
    ]
    assert {x.metric: x.value for x in result.samples if x.metric == "meshhealth_hpas_target_missing"} == {
        "meshhealth_hpas_target_missing": 2.0}  # fmt: skip
    assert next(x.labels for x in result.samples if x.metric == "meshhealth_hpa_target_missing") == (
        ("namespace", "istio-system"),
        ("hpa", "gw"),
        ("target_kind", "StatefulSet"),
        ("target_name", "gw"),
    )


def test_cp12_token_mount_events_of_control_plane_pods_within_the_window():
    def event(ago, message="MountVolume.SetUp failed for volume \"istio-token\" : failed", ns="istio-system",
              kind="Pod", name="istiod-a"):  # fmt: skip
        return EventInfo(ns, kind, name, "FailedMount", message, 1, NOW - ago)

    events = [event(10), event(899, message="istio-token second"), event(901), event(5, ns="default"),
              event(5, kind="Node"), event(5, message="other volume"), event(5, name="istiod-b")]  # fmt: skip
    result = check_istio_token_mount(snapshot(warning_events=events), settings(), NOW)
    assert [(f.namespace, f.name, f.message) for f in result.findings] == [
        ("istio-system", "istiod-a", 'MountVolume.SetUp failed for volume "istio-token" : failed'),  # the latest
        ("istio-system", "istiod-b", 'MountVolume.SetUp failed for volume "istio-token" : failed'),
    ]
    assert {(x.metric, x.labels): x.value for x in result.samples} == {
        ("meshhealth_istiod_token_mount_failures", (("namespace", "istio-system"), ("pod", "istiod-a"))): 2.0,
        ("meshhealth_istiod_token_mount_failures", (("namespace", "istio-system"), ("pod", "istiod-b"))): 1.0,
        ("meshhealth_istiod_pods_token_mount_failing", ()): 2.0,
    }


def test_cp01_a_ready_deployment_first_does_not_hide_the_next_and_no_ready_replica_is_no_rollout():
    ready = _workload(name="istiod-a", ready=2, desired=2)
    rolling_none = _workload(name="istiod-b", ready=0, desired=2, generation=2, observed=1)
    [f] = check_istiod_ready(snapshot(deployments=[ready, rolling_none]), settings(), NOW).findings
    assert f.name == "istiod-b" and "rollout" not in f.message


def test_cp01_missing_istiod_names_every_control_plane_namespace():
    s = settings(istio={"control_plane_namespaces": ["istio-system", "istio-canary"]})
    [f] = [f for f in check_istiod_ready(snapshot(), s, NOW).findings if f.kind == "Deployment"]
    assert f.namespace == "istio-system,istio-canary" and f.message.endswith("in istio-system,istio-canary")


def test_cp09_statefulset_targets_in_the_same_namespace_and_hpas_after_an_unresolved_kind():
    hpas = [HPAInfo("istio-system", "a-custom", "Custom", "x", "example.com/v1"),
            HPAInfo("istio-system", "b-ok", "StatefulSet", "gw", "apps/v1"),
            HPAInfo("istio-system", "c-broken", "Deployment", "gone", "apps/v1")]  # fmt: skip
    statefulsets = [_workload(kind="StatefulSet", name="gw")]
    result = check_hpa_targets(snapshot(statefulsets=statefulsets, control_plane_hpas=hpas), settings(), NOW)
    assert [f.name for f in result.findings] == ["c-broken"]


def test_cp12_long_event_messages_are_cut_at_300():
    event = EventInfo("istio-system", "Pod", "istiod-a", "FailedMount", "istio-token " + "x" * 400, 1, NOW - 5)
    [f] = check_istio_token_mount(snapshot(warning_events=[event]), settings(), NOW).findings
    assert len(f.message) == 300
