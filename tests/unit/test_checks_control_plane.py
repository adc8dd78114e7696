from exporter.checks.control_plane import ISTIOD_DEPLOYMENTS, check_istiod_ready
from exporter.model import Severity
from exporter.sources.kube.projections import project_deployment

from .helpers import kube_object, settings, snapshot

NOW = 1_700_000_000.0


def values(result, metric):
    return {tuple(v for _, v in s.labels): s.value for s in result.samples if s.metric == metric}


def istiod(**patch):
    return project_deployment(kube_object("deployment-istiod-1-6-10-unready", **patch))


def test_revisioned_istiod_with_fewer_ready_replicas_is_critical():
    result = check_istiod_ready(snapshot(**{ISTIOD_DEPLOYMENTS: [istiod()]}), settings(), NOW)
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


def test_ready_istiod_has_no_finding_but_keeps_its_gauges():
    healthy = istiod(status={"readyReplicas": 2, "availableReplicas": 2}, metadata={"labels": {"istio.io/rev": None}})
    result = check_istiod_ready(snapshot(**{ISTIOD_DEPLOYMENTS: [healthy]}), settings(), NOW)
    assert result.findings == []
    assert values(result, "meshhealth_istiod_replicas_ready") == {("istio-system", "default", "istiod-1-6-10"): 2}


def test_scaled_to_zero_is_not_a_failure():
    idle = istiod(spec={"replicas": 0}, status={"readyReplicas": None})
    assert check_istiod_ready(snapshot(**{ISTIOD_DEPLOYMENTS: [idle]}), settings(), NOW).findings == []


def test_rollout_in_progress_with_some_ready_is_only_a_warning():
    rolling = istiod(metadata={"generation": 2})
    [finding] = check_istiod_ready(snapshot(**{ISTIOD_DEPLOYMENTS: [rolling]}), settings(), NOW).findings
    assert finding.severity == Severity.WARNING
    assert "rollout in progress" in finding.message


def test_no_ready_replica_during_rollout_stays_critical():
    rolling = istiod(metadata={"generation": 2}, status={"readyReplicas": None})
    [finding] = check_istiod_ready(snapshot(**{ISTIOD_DEPLOYMENTS: [rolling]}), settings(), NOW).findings
    assert finding.severity == Severity.CRITICAL


def test_missing_istiod_is_a_finding_and_count_is_zero():
    result = check_istiod_ready(snapshot(), settings(), NOW)
    assert values(result, "meshhealth_istiod_deployments") == {(): 0}
    [finding] = result.findings
    assert finding.message == "no Deployment matching app=istiod in istio-system"


def test_severity_override_applies_to_findings():
    s = settings(checks={"CP01": {"alert_severity": "warning"}})
    [finding] = check_istiod_ready(snapshot(**{ISTIOD_DEPLOYMENTS: [istiod()]}), s, NOW).findings
    assert finding.severity == Severity.WARNING


def test_replicas_defaults_to_one_when_unset():
    d = istiod(spec={"replicas": None}, status={"readyReplicas": None})
    assert d.desired == 1 and d.ready == 0
