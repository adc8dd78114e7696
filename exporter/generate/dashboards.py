"""Grafana dashboards, one per catalogue section and an overview, built with grafana-foundation-sdk (stable UIDs)."""

from __future__ import annotations

from grafana_foundation_sdk.builders.dashboard import Dashboard, Row
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.builders.stat import Panel as StatPanel
from grafana_foundation_sdk.builders.table import Panel as TablePanel
from grafana_foundation_sdk.builders.timeseries import Panel as TimeseriesPanel
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from exporter.catalog import CATALOG
from exporter.catalog.model import FailureMode, Panel
from exporter.checks import ALL_CHECKS
from exporter.config import Settings
from exporter.generate.alerts import slug
from exporter.generate.dashboard_scope import DATASOURCE, DashboardScope, dashboard_scope
from exporter.generate.overview import UID as OVERVIEW_UID
from exporter.generate.overview import render_overview

PANEL_WIDTH, PANEL_HEIGHT = 12, 8


PanelBuilder = TimeseriesPanel | StatPanel | TablePanel


def _new_panel(kind: str) -> PanelBuilder:
    if kind == "stat":
        return StatPanel()
    if kind == "table":
        return TablePanel()
    return TimeseriesPanel()


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
    out[f"{OVERVIEW_UID}.json"] = render_overview(settings, sections, {c.id for c in ALL_CHECKS}, scope)
    return out
