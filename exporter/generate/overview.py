"""The overview dashboard: one status per catalogue section, the active findings with runbook links, and whether
the exporter can see (checks not evaluated, sources down, findings over the series cap, unreadable clusters).

A section's status is the worst of its active findings (``meshhealth_finding``) and, for its rule-only failure
modes (no check, e.g. TM03), its firing alerts (Prometheus' ``ALERTS``). A section with a check that is not
evaluated shows "not evaluated" above info and OK; with no data at all it shows "no data", never OK.
"""

from __future__ import annotations

import re

from grafana_foundation_sdk.builders.dashboard import Dashboard, DashboardLink, Row, ThresholdsConfig
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.builders.stat import Panel as StatPanel
from grafana_foundation_sdk.builders.table import Panel as TablePanel
from grafana_foundation_sdk.builders.timeseries import Panel as TimeseriesPanel
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import (
    DashboardLinkType,
    DynamicConfigValue,
    RangeMap,
    RegexMap,
    SpecialValueMap,
    Threshold,
    ThresholdsMode,
    ValueMap,
    ValueMappingResult,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from exporter.catalog.external import EXTERNAL_METRICS
from exporter.catalog.model import FailureMode
from exporter.config import Settings
from exporter.generate.alerts import slug
from exporter.generate.dashboard_scope import DATASOURCE, DashboardScope

UID = "meshhealth-overview"
_KEEP = "${__url_time_range}&${__all_variables}"  # a link keeps the time range and the variables
# status values of a section, worst first in the query
CRITICAL, WARNING, NOT_EVALUATED, INFO, OK = 3, 2, -1, 1, 0
STATUS = {
    CRITICAL: ("critical", "red"),
    WARNING: ("warning", "orange"),
    NOT_EVALUATED: ("not evaluated", "purple"),
    INFO: ("info", "blue"),
    OK: ("OK", "green"),
}


def _alternatives(values: list[str]) -> str:
    return "|".join(values)


def status_expr(modes: list[FailureMode], checked: set[str]) -> str:
    """The worst status of a section: findings of its checks, firing alerts of its rule-only failure modes,
    then checks not evaluated, then OK while the section's checks report or its rule-only inputs exist."""
    checks = _alternatives([m.id for m in modes if m.id in checked])
    rule_only = _alternatives([a.name for m in modes if m.id not in checked for a in m.alerts])

    def worst(severity: str, value: int) -> str:
        parts = []
        if checks:
            parts.append(f'count by () (meshhealth_finding{{severity="{severity}",check=~"{checks}"}}) > 0')
        if rule_only:
            parts.append(
                f'count by () (ALERTS{{alertstate="firing",severity="{severity}",alertname=~"{rule_only}"}}) > 0'
            )
        return f"({' or '.join(parts)}) * 0 + {value}"

    terms = [worst("critical", CRITICAL), worst("warning", WARNING)]
    if checks:
        terms.append(f'(count by () (meshhealth_check_up{{check=~"{checks}"}} == 0) > 0) * 0 - 1')
    terms.append(worst("info", INFO))
    if checks:
        terms.append(f'(count by () (meshhealth_check_up{{check=~"{checks}"}} == 1) > 0) * 0')
    # rule-only failure modes: OK while the other software's metrics their rules read exist
    inputs = sorted({name for m in modes if m.id not in checked for a in m.alerts for name in EXTERNAL_METRICS
                     if re.search(rf"\b{name}\b", a.expr)})  # fmt: skip
    terms += [f"(count by () ({name}) > 0) * 0" for name in inputs]
    return " or ".join(terms)


def _status_panel(section: str, expr: str, panel_id: int) -> StatPanel:
    mappings: list[ValueMap | RangeMap | RegexMap | SpecialValueMap] = [
        ValueMap(options={str(value): ValueMappingResult(text=text, color=color, index=i)})
        for i, (value, (text, color)) in enumerate(STATUS.items())
    ]
    return (
        StatPanel()
        .id(panel_id)
        .title(section)
        .description(f"Worst active finding or firing alert of {section}; open the detail dashboard from the link.")
        .datasource(DATASOURCE)
        .with_target(Dataquery().expr(expr).ref_id("A").instant())
        .mappings(mappings)
        .thresholds(
            ThresholdsConfig()
            .mode(ThresholdsMode.ABSOLUTE)
            .steps(
                [
                    Threshold(value=None, color="green"),
                    Threshold(value=1, color="blue"),
                    Threshold(value=2, color="orange"),
                    Threshold(value=3, color="red"),
                ]
            )
        )
        .no_value("no data")
        .links(
            [
                DashboardLink(f"{section} details").url(
                    f"/d/meshhealth-{slug(section)}?${{__url_time_range}}&${{__all_variables}}"
                )
            ]
        )
        .height(4)
        .span(4)
    )


def render_overview(settings: Settings, sections: dict[str, list[FailureMode]], checked: set[str],
                    scope: DashboardScope) -> str:  # fmt: skip
    dashboard = (
        Dashboard("Mesh health / Overview")
        .uid(UID)
        .tags(["mesh-health-exporter", "istio"])
        .refresh("1m")
        .time("now-6h", "now")
        .timezone("browser")
        .editable()
        .links(
            [
                DashboardLink("Mesh health")
                .type(DashboardLinkType.DASHBOARDS)
                .tags(["mesh-health-exporter"])
                .as_dropdown(True)
                .include_vars(True)
                .keep_time(True),
                DashboardLink("Runbooks")
                .type(DashboardLinkType.LINK)
                .url(settings.runbook_base_url)
                .target_blank(True),
            ]
        )
    )
    for variable in scope.variables():
        dashboard = dashboard.with_variable(variable)
    panel_id = 1
    dashboard = dashboard.with_row(Row("Status by section").id(panel_id))
    for section, modes in sections.items():
        panel_id += 1
        dashboard = dashboard.with_panel(_status_panel(section, scope.select(status_expr(modes, checked)), panel_id))
    panel_id += 1
    dashboard = dashboard.with_row(Row("Findings").id(panel_id))
    panel_id += 1
    findings = (
        TablePanel()
        .id(panel_id)
        .title("Active findings")
        .description("Every finding as meshhealth_finding (capped per check, see below); the check column links "
                     "to its runbook. The message of each finding is on the exporter's status page and in `check`.")
        .datasource(DATASOURCE)
        .with_target(Dataquery().expr(scope.apply("meshhealth_finding")).ref_id("A").instant()
                     .format(PromQueryFormat.TABLE))
        .override_by_name("check", [DynamicConfigValue(id_val="links", value=[{
            "title": "Runbook ${__value.raw}", "url": f"{settings.runbook_base_url}#${{__value.raw}}",
            "targetBlank": True}])])
        .override_by_name("Value", [DynamicConfigValue(id_val="custom.hidden", value=True)])
        .override_by_name("Time", [DynamicConfigValue(id_val="custom.hidden", value=True)])
        .height(10)
        .span(24)
    )  # fmt: skip
    dashboard = dashboard.with_panel(findings)
    panel_id += 1
    dashboard = dashboard.with_row(Row("Can the exporter see?").id(panel_id))
    blind_spots = [
        ("Checks not evaluated", "Checks that could not run (their source is down or data is stale): their "
         "failure modes are unknown, not healthy.", "meshhealth_check_up == 0", "{{check}}"),
        ("Sources down", "Sources the exporter cannot read, by reason.", "meshhealth_source_up == 0", "{{source}}"),
        ("Findings over the series cap", "Findings counted but not exported as meshhealth_finding "
         "(findings.max_series_per_check).", "meshhealth_findings_suppressed > 0", "{{check}}"),
        ("Elasticsearch clusters unreadable", "Clusters that did not answer the last refresh (1 = readable).",
         "meshhealth_es_cluster_up", "{{es_cluster}}"),
    ]  # fmt: skip
    for title, description, expr, legend in blind_spots:
        panel_id += 1
        panel = (
            TimeseriesPanel()
            .id(panel_id)
            .title(title)
            .description(description)
            .datasource(DATASOURCE)
            .with_target(Dataquery().expr(scope.apply(expr)).legend_format(legend).ref_id("A"))
            .height(8)
            .span(12)
        )
        dashboard = dashboard.with_panel(panel)
    return JSONEncoder(sort_keys=True, indent=2).encode(dashboard.build()) + "\n"
