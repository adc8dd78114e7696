"""Grafana dashboards, one per catalogue section, built with grafana-foundation-sdk (stable UIDs)."""

from __future__ import annotations

from dataclasses import dataclass

from grafana_foundation_sdk.builders.dashboard import Dashboard, DatasourceVariable, QueryVariable, Row
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.builders.stat import Panel as StatPanel
from grafana_foundation_sdk.builders.table import Panel as TablePanel
from grafana_foundation_sdk.builders.timeseries import Panel as TimeseriesPanel
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef, VariableRefresh, VariableSort
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from exporter.catalog import CATALOG, METRICS
from exporter.catalog.model import FailureMode, Panel, exposed_name
from exporter.config import Settings
from exporter.generate.alerts import slug
from exporter.generate.promql import Scope, with_selector_on

DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
PANEL_WIDTH, PANEL_HEIGHT = 12, 8


PanelBuilder = TimeseriesPanel | StatPanel | TablePanel


def _new_panel(kind: str) -> PanelBuilder:
    if kind == "stat":
        return StatPanel()
    if kind == "table":
        return TablePanel()
    return TimeseriesPanel()


# our metrics that carry a namespace label: the namespace variable narrows them
NAMESPACED = frozenset(exposed_name(m) for m in METRICS.values() if "namespace" in m.labels)


@dataclass(frozen=True)
class DashboardScope:
    """The variables every dashboard has (data source, cluster, job, namespace) and the matchers they add."""

    cluster_label: str
    istio_selector: str
    jaeger_selector: str

    def _cluster(self) -> str:
        return f'{self.cluster_label}=~"$cluster"' if self.cluster_label else ""

    def apply(self, expr: str) -> str:
        cluster = self._cluster()
        own = ",".join(m for m in (cluster, 'job=~"$job"') if m)
        scope = Scope(
            meshhealth=own,
            istio=",".join(m for m in (self.istio_selector, cluster) if m),
            jaeger=",".join(m for m in (self.jaeger_selector, cluster) if m),
            cluster_label=self.cluster_label,
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
        own = ",".join(m for m in ('__name__=~"meshhealth_.+"', cluster, 'job=~"$job"') if m)
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


def _panel(panel: Panel, fm: FailureMode, runbook_url: str, panel_id: int, scope: DashboardScope) -> PanelBuilder:
    builder = _new_panel(panel.kind)
    description = f"{panel.description}\n\n{fm.id}: {fm.title}. Runbook: {runbook_url}"
    builder = (
        builder.id(panel_id)
        .title(panel.title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(panel.unit)
        .height(PANEL_HEIGHT)
        .span(PANEL_WIDTH)
    )
    for index, query in enumerate(panel.queries):
        target = Dataquery().expr(scope.apply(query.expr)).ref_id(chr(ord("A") + index))
        if query.legend:
            target = target.legend_format(query.legend)
        if panel.kind == "table":
            target = target.instant().format(PromQueryFormat.TABLE)
        builder = builder.with_target(target)
    return builder


def render_dashboards(settings: Settings) -> dict[str, str]:
    sections: dict[str, list[FailureMode]] = {}
    for fm in CATALOG:
        if settings.checks.for_id(fm.id).enabled:
            sections.setdefault(fm.section, []).append(fm)
    out = {}
    scope = dashboard_scope(settings)
    for section, modes in sections.items():
        uid = f"meshhealth-{slug(section)}"
        dashboard = (
            Dashboard(f"Mesh health / {section}")
            .uid(uid)
            .tags(["mesh-health-exporter", "istio"])
            .refresh("1m")
            .time("now-6h", "now")
            .timezone("browser")
            .editable()
        )
        for variable in scope.variables():
            dashboard = dashboard.with_variable(variable)
        panel_id = 1
        for fm in modes:
            dashboard = dashboard.with_row(Row(f"{fm.id} · {fm.title}").id(panel_id))
            panel_id += 1
            runbook_url = f"{settings.runbook_base_url}#{fm.anchor}"
            for panel in fm.panels:
                dashboard = dashboard.with_panel(_panel(panel, fm, runbook_url, panel_id, scope))
                panel_id += 1
        out[f"{uid}.json"] = JSONEncoder(sort_keys=True, indent=2).encode(dashboard.build()) + "\n"
    return out
