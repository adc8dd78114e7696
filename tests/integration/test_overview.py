"""The overview dashboard's section status, evaluated by promtool (Prometheus' own engine) on series shaped as
the exporter and Prometheus emit them: worst finding first, "not evaluated" above info and OK, and no value at
all (Grafana shows "no data") when the exporter reports nothing, never OK."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from exporter.config import Settings
from exporter.generate.dashboards import render_dashboards
from exporter.generate.overview import CRITICAL, INFO, NOT_EVALUATED, OK, WARNING

pytestmark = pytest.mark.integration

ALL = {"$cluster": ".*", "$job": ".*", "$instance": ".*", "$namespace": ".*"}  # Grafana's "All" (allValue .*)


def status_queries(cluster_label: str = "cluster") -> dict[str, str]:
    dashboard = json.loads(render_dashboards(Settings(cluster_label=cluster_label))["meshhealth-overview.json"])
    out = {}
    for panel in dashboard["panels"]:
        if panel["type"] == "stat":
            expr = panel["targets"][0]["expr"]
            for var, value in ALL.items():
                expr = expr.replace(var, value)
            out[panel["title"]] = expr
    return out


def finding(check: str, severity: str, namespace: str = "shop") -> str:
    return (f'meshhealth_finding{{check="{check}",severity="{severity}",namespace="{namespace}",kind="Pod",'
            f'name="web-0",job="meshhealth",cluster="prod"}}')  # fmt: skip


def check_up(check: str, up: int) -> tuple[str, str]:
    return f'meshhealth_check_up{{check="{check}",job="meshhealth",cluster="prod"}}', f"{up}x5"


CASES = {
    # section, input series -> expected value (None: no sample)
    "critical-wins": (
        "Data plane",
        [
            (finding("DP04", "warning"), "1x5"),
            (finding("DP06", "critical"), "1x5"),
            check_up("DP04", 1),
            check_up("DP06", 1),
        ],
        CRITICAL,
    ),
    "warning": ("Data plane", [(finding("DP04", "warning"), "1x5"), check_up("DP04", 1)], WARNING),
    "warning-above-not-evaluated": (
        "Data plane",
        [(finding("DP04", "warning"), "1x5"), check_up("DP04", 1), check_up("DP05", 0)],
        WARNING,
    ),
    "not-evaluated-above-info": (
        "Data plane",
        [(finding("DP08", "info"), "1x5"), check_up("DP08", 1), check_up("DP04", 0)],
        NOT_EVALUATED,
    ),
    "info": ("Data plane", [(finding("DP08", "info"), "1x5"), check_up("DP08", 1)], INFO),
    "ok": ("Data plane", [check_up("DP04", 1), check_up("DP05", 1)], OK),
    "another-section-s-finding-is-not-ours": (
        "Data plane",
        [(finding("CP02", "critical"), "1x5"), check_up("DP04", 1)],
        OK,
    ),
    "nothing-reported-is-no-data": ("Data plane", [(finding("CP02", "critical"), "1x5")], None),
    "rule-only-alert": (
        "Traffic",
        [
            ('ALERTS{alertname="MeshHealthNoRoute",alertstate="firing",severity="warning",cluster="prod"}', "1x5"),
            ('istio_requests_total{reporter="source",cluster="prod"}', "0+10x5"),
        ],
        WARNING,
    ),
    "rule-only-pending-is-not-firing": (
        "Traffic",
        [
            ('ALERTS{alertname="MeshHealthNoRoute",alertstate="pending",severity="warning",cluster="prod"}', "1x5"),
            ('istio_requests_total{cluster="prod"}', "0+10x5"),
        ],
        OK,
    ),
    "rule-only-without-input-is-no-data": ("Traffic", [], None),
    "mixed-section-alert-and-finding": (
        "Tracing storage",
        [
            (
                'ALERTS{alertname="MeshHealthJaegerBulkIndexErrors",alertstate="firing",severity="warning",cluster="prod"}',
                "1x5",
            ),
            (finding("TR05", "info", ""), "1x5"),
            check_up("TR05", 1),
        ],
        WARNING,
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_section_status(case, promtool, tmp_path: Path):
    section, series, expected = CASES[case]
    expr = status_queries()[section]
    test = {"input_series": [{"series": s, "values": v} for s, v in series], "interval": "1m",
            "promql_expr_test": [{"expr": expr, "eval_time": "4m",
                                  "exp_samples": [] if expected is None else [{"labels": "{}", "value": expected}]}]}  # fmt: skip
    (tmp_path / "rules.yaml").write_text("groups: []\n")
    (tmp_path / "test.yaml").write_text(yaml.safe_dump({"rule_files": ["rules.yaml"], "tests": [test]}))
    proc = subprocess.run([promtool, "test", "rules", "test.yaml"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_section_has_a_status_and_the_overview_links_to_it():
    dashboard = json.loads(render_dashboards(Settings())["meshhealth-overview.json"])
    sections = {p["title"]: p for p in dashboard["panels"] if p["type"] == "stat"}
    uids = {name.removesuffix(".json") for name in render_dashboards(Settings())} - {"meshhealth-overview"}
    assert {p["links"][0]["url"].split("?")[0].removeprefix("/d/") for p in sections.values()} == uids
    mapped = {m["options"][k]["text"] for p in sections.values() for m in p["fieldConfig"]["defaults"]["mappings"]
              for k in m["options"]}  # fmt: skip
    assert mapped == {"critical", "warning", "not evaluated", "info", "OK"}
    assert all(p["fieldConfig"]["defaults"]["noValue"] == "no data" for p in sections.values())
    [table] = [p for p in dashboard["panels"] if p["type"] == "table"]
    [link] = [
        o["properties"][0]["value"][0] for o in table["fieldConfig"]["overrides"] if o["matcher"]["options"] == "check"
    ]
    assert link["url"].endswith("runbooks.md#${__value.raw}")
    exprs = {t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])}
    for metric in ("meshhealth_check_up", "meshhealth_findings_suppressed", "meshhealth_es_cluster_up",
                   "meshhealth_source_up"):  # fmt: skip
        assert any(metric in e for e in exprs), metric
