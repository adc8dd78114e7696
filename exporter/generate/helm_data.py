"""Data files the Helm chart renders from, generated from the same catalogue and derivations as the rest.

- ``files/alerts.json``: every alert with its expression template, threshold defaults, `for` and severity;
  the chart applies ``config.checks``/``config.alerts`` overrides exactly as ``generate --config`` does.
- ``files/rbac.json``: per check, the resources it reads (cluster-wide or in the control-plane namespaces);
  the chart grants get/list/watch on the union for the enabled checks, as ``exporter/rbac.py`` does.
- ``files/dashboards/*.json``: the Grafana dashboards.
- ``values.schema.json``: the chart's values, with ``config`` validated by the exporter's own settings schema.
"""

from __future__ import annotations

import json
from typing import Any

from exporter.catalog import CATALOG
from exporter.checks import ALL_CHECKS
from exporter.config import Settings
from exporter.generate.alerts import slug

CHART = "helm/mesh-health-exporter"


def alerts_data(settings: Settings) -> dict[str, Any]:
    """Groups of alerts in rule-file order, with defaults (the chart applies the user's overrides)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for mode in CATALOG:
        defaults = settings.checks.for_id(mode.id)
        for alert in mode.alerts:
            groups.setdefault(f"meshhealth.{slug(mode.section)}", []).append(
                {
                    "alert": alert.name,
                    "key": alert.key,
                    "check": mode.id,
                    "expr": alert.expr,
                    "thresholds": {name: float(getattr(defaults, name)) for name in mode.thresholds},
                    "for": alert.for_,
                    "severity": alert.severity.label,
                    "single": len(mode.alerts) == 1,
                    "summary": alert.summary,
                    "description": alert.description,
                    "anchor": mode.anchor,
                }
            )
    return {
        "runbook_base_url": settings.runbook_base_url,
        "cluster_label": settings.cluster_label,
        "groups": [{"name": name, "rules": rules} for name, rules in groups.items()],
    }


def rbac_data(settings: Settings) -> dict[str, Any]:
    """Per check: its source and the resources it reads; ``scope`` is cluster or control-plane."""
    control_plane = set(settings.istio.control_plane_namespaces)
    out: dict[str, Any] = {}
    for check in ALL_CHECKS:
        resources = []
        for spec in check.resources(settings):
            if spec.namespaces and set(spec.namespaces) != control_plane:
                raise ValueError(f"{check.id}: {spec.plural} is read in namespaces the chart cannot derive")
            scope = "control-plane" if spec.namespaces else "cluster"
            resources.append({"group": spec.group, "resource": spec.plural, "scope": scope})
        out[check.id] = {"source": check.source, "resources": resources}
    return out


def _values_schema(settings_schema: dict[str, Any]) -> dict[str, Any]:
    obj, string, boolean = {"type": "object"}, {"type": "string"}, {"type": "boolean"}
    string_map = {"type": "object", "additionalProperties": {"type": "string"}}
    config = dict(settings_schema)
    defs = config.pop("$defs", {})
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "mesh-health-exporter chart values",
        "type": "object",
        "additionalProperties": False,
        "$defs": defs,
        "properties": {
            "nameOverride": string,
            "namespaceOverride": string,
            "fullnameOverride": string,
            "image": {"type": "object", "additionalProperties": False, "properties": {
                "repository": {"type": "string", "minLength": 1}, "tag": string,
                "digest": {"type": "string", "pattern": "^(sha256:[a-f0-9]{64})?$"},
                "pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]}}},
            "imagePullSecrets": {"type": "array", "items": obj},
            "serviceAccount": {"type": "object", "additionalProperties": False, "properties": {
                "create": boolean, "name": string, "annotations": string_map}},
            "rbac": {"type": "object", "additionalProperties": False, "properties": {"create": boolean}},
            "podAnnotations": string_map,
            "podLabels": string_map,
            "podSecurityContext": obj,
            "securityContext": obj,
            "resources": obj,
            "nodeSelector": string_map,
            "tolerations": {"type": "array", "items": obj},
            "affinity": obj,
            "priorityClassName": string,
            "service": {"type": "object", "additionalProperties": False, "properties": {
                "type": {"enum": ["ClusterIP", "NodePort", "LoadBalancer"]},
                "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                "annotations": string_map, "labels": string_map}},
            "config": config,
            "secretMounts": {"type": "array", "items": {"type": "object", "additionalProperties": False,
                                                        "required": ["name", "secretName", "mountPath"],
                                                        "properties": {"name": string, "secretName": string,
                                                                       "mountPath": string}}},
            "webConfig": {"type": "object", "additionalProperties": False, "properties": {
                "enabled": boolean, "secretName": string, "tls": boolean}},
            "extraArgs": {"type": "array", "items": string},
            "extraEnv": {"type": "array", "items": obj},
            "serviceMonitor": {"type": "object", "additionalProperties": False, "properties": {
                "enabled": boolean, "namespace": string, "interval": string, "scrapeTimeout": string,
                "labels": string_map, "relabelings": {"type": "array", "items": obj},
                "metricRelabelings": {"type": "array", "items": obj}, "scheme": {"enum": ["http", "https"]},
                "tlsConfig": obj, "basicAuth": obj}},
            "prometheusRule": {"type": "object", "additionalProperties": False, "properties": {
                "enabled": boolean, "namespace": string, "additionalLabels": string_map}},
            "grafanaDashboards": {"type": "object", "additionalProperties": False, "properties": {
                "enabled": boolean, "namespace": string, "label": string, "labelValue": string,
                "folderAnnotation": string, "folder": string}},
        },
    }  # fmt: skip


def helm_files(settings: Settings, dashboards: dict[str, str]) -> dict[str, str]:
    def dump(value: Any) -> str:
        return json.dumps(value, indent=2, sort_keys=False) + "\n"

    # pydantic's refs point at #/$defs/X: they stay valid because the chart schema keeps $defs at its root
    schema = Settings.model_json_schema(by_alias=True)
    files = {
        f"{CHART}/files/alerts.json": dump(alerts_data(settings)),
        f"{CHART}/files/rbac.json": dump(rbac_data(settings)),
        f"{CHART}/values.schema.json": dump(_values_schema(schema)),
    }
    files.update({f"{CHART}/files/dashboards/{name}": text for name, text in dashboards.items()})
    return files
