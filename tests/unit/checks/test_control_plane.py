from exporter.checks.control_plane import check_istiod_ready
from exporter.model import Severity
from exporter.sources.kube.projections import project_deployment
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

from exporter.checks.control_plane import (  # noqa: E402
    check_hpa_targets,
    check_istio_token_mount,
    check_istiod_restarts,
)
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
