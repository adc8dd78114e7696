"""The stable JSON document of ``check --output json`` (schema_version 1), as pydantic models.

The JSON Schema in docs/check-output.schema.json is generated from these models; fields are only ever
added within one schema_version.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION: Literal[1] = 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FindingDoc(_Strict):
    check: str = Field(description="failure-mode ID, e.g. DP01")
    severity: Literal["critical", "warning", "info"]
    namespace: str = Field(description="namespace, or the Elasticsearch cluster for tracing checks; may be empty")
    kind: str = Field(description="kind of the object the finding names (Pod, Proxy, Index, ...)")
    name: str
    message: str


class CheckDoc(_Strict):
    id: str = Field(description="failure-mode ID")
    source: str = Field(description="the source the check reads")
    up: bool = Field(description="false: the check was not evaluated; its findings are unknown, not absent")
    error: str | None = Field(description="why the check was not evaluated")
    findings: int = Field(ge=0, description="number of findings (0 when not evaluated)")


class SourceDoc(_Strict):
    name: str
    instance: str = Field(description="what the source reads: API server, istiod namespaces, cluster names")
    up: bool
    error: str | None
    reason: str | None = Field(description="bounded error reason (timeout, connection, forbidden, ...)")


class CheckReport(_Strict):
    schema_version: Literal[1] = SCHEMA_VERSION
    status: Literal["healthy", "findings", "incomplete"] = Field(
        description="healthy only when every source is up and every check was evaluated without findings"
    )
    findings: list[FindingDoc]
    checks: list[CheckDoc]
    sources: list[SourceDoc]


def json_schema() -> dict[str, object]:
    schema = CheckReport.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://mesh-health-exporter/check-output.schema.json"
    return schema
