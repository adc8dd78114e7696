"""What every dashboard shares: the data source, the cluster/job/namespace variables and the matchers they add
to each query."""

from __future__ import annotations

from dataclasses import dataclass

from grafana_foundation_sdk.builders.dashboard import DatasourceVariable, QueryVariable
from grafana_foundation_sdk.models.dashboard import DataSourceRef, VariableRefresh, VariableSort

from exporter.catalog import METRICS
from exporter.catalog.model import exposed_name
from exporter.config import Settings
from exporter.generate.promql import Scope, with_selector_on

DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")

# our metrics that carry a namespace label: the namespace variable narrows them
NAMESPACED = frozenset(exposed_name(m) for m in METRICS.values() if "namespace" in m.labels)


@dataclass(frozen=True)
class DashboardScope:
    """The variables every dashboard has (data source, cluster, job, instance, namespace) and the matchers they
    add: job and instance narrow the exporter's own metrics (Istio's and Jaeger's come from other targets)."""

    cluster_label: str
    istio_selector: str
    jaeger_selector: str

    def _cluster(self) -> str:
        return f'{self.cluster_label}=~"$cluster"' if self.cluster_label else ""

    def apply(self, expr: str) -> str:
        """``expr`` narrowed to the variables, every aggregation keeping the cluster label."""
        return self._scoped(expr, self.cluster_label)

    def select(self, expr: str) -> str:
        """``expr`` narrowed to the variables, aggregations as written (one value across the chosen clusters);
        Prometheus' ALERTS carries the cluster label of the alert's series."""
        cluster = self._cluster()
        if cluster:
            expr = with_selector_on(expr, cluster, ["ALERTS"])
        return self._scoped(expr, "")

    def _scoped(self, expr: str, cluster_label: str) -> str:
        cluster = self._cluster()
        own = ",".join(m for m in (cluster, 'job=~"$job"', 'instance=~"$instance"') if m)
        scope = Scope(
            meshhealth=own,
            istio=",".join(m for m in (self.istio_selector, cluster) if m),
            jaeger=",".join(m for m in (self.jaeger_selector, cluster) if m),
            cluster_label=cluster_label,
        )
        return with_selector_on(scope.apply(expr), 'namespace=~"$namespace"', NAMESPACED)

    def variables(self) -> list[DatasourceVariable | QueryVariable]:
        cluster = self._cluster()
        out: list[DatasourceVariable | QueryVariable] = [
            DatasourceVariable("datasource").label("Data source").type("prometheus")
        ]
        if cluster:
            out.append(_variable("cluster", "Cluster", f"label_values(meshhealth_build_info, {self.cluster_label})"))
        build_info = f"meshhealth_build_info{{{cluster}}}" if cluster else "meshhealth_build_info"
        out.append(_variable("job", "Job", f"label_values({build_info}, job)"))
        jobs = ",".join(m for m in (cluster, 'job=~"$job"') if m)
        out.append(_variable("instance", "Instance", f"label_values(meshhealth_build_info{{{jobs}}}, instance)"))
        own = ",".join(m for m in ('__name__=~"meshhealth_.+"', cluster, 'job=~"$job"', 'instance=~"$instance"') if m)
        out.append(_variable("namespace", "Namespace", f"label_values({{{own}}}, namespace)"))
        return out


def _variable(name: str, label: str, query: str) -> QueryVariable:
    return (
        QueryVariable(name)
        .label(label)
        .datasource(DATASOURCE)
        .query(query)
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .multi(True)
        .include_all(True)
        .all_value(".*")
        .sort(VariableSort.ALPHABETICAL_ASC)
    )


def dashboard_scope(settings: Settings) -> DashboardScope:
    return DashboardScope(settings.cluster_label, settings.istio_metric_selector, settings.jaeger_metric_selector)
