"""Sections E and F, component readiness: Jaeger/Elasticsearch (TR08) and Kiali/Prometheus (TM07)."""

from __future__ import annotations

from exporter.catalog.model import FailureMode, Panel, Query, Runbook
from exporter.catalog.shared import COMPONENT_METRICS, component_alert, component_missing_alert
from exporter.model import Severity


def _panel(check: str, what: str) -> Panel:
    return Panel(
        title=f"{what} ready / desired replicas",
        description=f"Ready replicas of each configured {what} workload.",
        queries=(
            Query(f'meshhealth_component_replicas_ready{{check="{check}"}}', "ready {{component}} {{workload}}"),
            Query(f'meshhealth_component_replicas_desired{{check="{check}"}}', "desired {{component}} {{workload}}"),
        ),
    )


TR08 = FailureMode(
    id="TR08",
    title="Jaeger collector / query or Elasticsearch data pods not ready",
    section="Tracing storage",
    metrics=COMPONENT_METRICS,
    alerts=(
        component_alert(
            "TR08",
            "MeshHealthTracingComponentNotReady",
            Severity.CRITICAL,
            "A tracing component has fewer ready replicas than desired.",
            "spans are lost or cannot be queried",
        ),
        component_missing_alert("TR08", "MeshHealthTracingComponentMissing", Severity.CRITICAL),
    ),
    panels=(_panel("TR08", "tracing component"),),
    runbook=Runbook(
        meaning=(
            "A Jaeger collector or query Deployment, or an Elasticsearch data StatefulSet "
            "(`elasticsearch-logging-data-*` in KubeSphere), has fewer ready replicas than desired. Components are "
            "matched by `checks.TR08.components` (defaults: Jaeger operator labels and KubeSphere names)."
        ),
        impact="Collector down: spans are dropped. Query down: the tracing UI is empty. ES data down: both, and red health (TR01).",
        diagnosis="""```sh
kubectl get deploy,sts -A -l 'app.kubernetes.io/part-of=jaeger'
kubectl -n kubesphere-logging-system get sts,pods | grep elasticsearch-logging-data
kubectl -n <ns> describe pod <pod>       # probes, scheduling, PVC binding
kubectl -n <ns> logs <pod> --previous
```""",
        mitigation="""- Elasticsearch: check disk (TR02) and PVCs; a full disk makes data nodes fail their probes.
- Jaeger collector: check its storage errors (TR03, TR09) and resources.""",
    ),
)

TM07 = FailureMode(
    id="TM07",
    title="Kiali / Prometheus not ready",
    section="Telemetry",
    metrics=COMPONENT_METRICS,
    alerts=(
        component_alert(
            "TM07",
            "MeshHealthTelemetryComponentDown",
            Severity.WARNING,
            "Kiali or Prometheus has fewer ready replicas than desired.",
            "the mesh topology and metrics are unavailable",
        ),
        component_missing_alert("TM07", "MeshHealthTelemetryComponentMissing", Severity.WARNING),
    ),
    panels=(_panel("TM07", "Kiali / Prometheus"),),
    runbook=Runbook(
        meaning=(
            "Kiali or the Prometheus that scrapes the mesh has fewer ready replicas than desired (matched by "
            "`checks.TM07.components`)."
        ),
        impact="Kiali's topology page is empty; dashboards and alerts based on Istio metrics stop.",
        diagnosis="""```sh
kubectl get deploy,sts -A -l app.kubernetes.io/name=kiali
kubectl get deploy,sts -A -l app.kubernetes.io/name=prometheus
kubectl -n <ns> describe pod <pod>; kubectl -n <ns> logs <pod>
```""",
        mitigation="""- Kiali: check its connection to Prometheus and the API server (its logs say which fails).
- Prometheus: check storage (PVC full) and memory (OOMKilled during WAL replay).""",
    ),
)

SECTION = (TR08, TM07)
