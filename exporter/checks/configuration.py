"""Every Istio configuration check (catalogue section C, CF01-CF21): what the exporter runs on the cluster and
``check --files`` runs on manifests."""

from __future__ import annotations

from exporter.checks import mesh_config, mesh_references
from exporter.checks.base import CheckDef

CHECKS: tuple[CheckDef, ...] = (*mesh_config.CHECKS, *mesh_references.CHECKS)
