"""The shipped scenario series (``generate/data/scenario_series.json``): for every failure-mode scenario, the
series Prometheus scrapes while the mesh is healthy and while it is not. Written by ``make generate`` from
the test scenarios; read by the rules' promtool tests and by the pint comments of the rules."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCENARIO_SERIES = Path(__file__).resolve().parent / "data" / "scenario_series.json"

Labels = tuple[tuple[str, str], ...]
Key = tuple[str, Labels]


@dataclass(frozen=True)
class Sample:
    value: float  # at now = 0
    clock: int  # -1, 0 or +1: value + clock * now (seconds)
    per_minute: float  # counters grow, gauges keep their value

    def start(self, now: float) -> tuple[float, float]:
        return self.value + self.clock * now, self.per_minute


@dataclass(frozen=True)
class ScenarioSeries:
    check: str
    id: str
    healthy: dict[Key, Sample]
    unhealthy: dict[Key, Sample]


def number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    return repr(float(value))


def series_name(key: Key) -> str:
    name, labels = key
    inner = ",".join(f"{k}={json.dumps(v)}" for k, v in labels)
    return f"{name}{{{inner}}}"


def _samples_from_json(rows: list[dict[str, Any]]) -> dict[Key, Sample]:
    out = {}
    for row in rows:
        key = (row["name"], tuple(sorted((str(k), str(v)) for k, v in row["labels"].items())))
        out[key] = Sample(float(row["value"]), int(row.get("clock", 0)), float(row.get("per_minute", 0.0)))
    return out


def samples_to_json(phase: dict[Key, Sample]) -> list[dict[str, Any]]:
    rows = []
    for (name, labels), s in sorted(phase.items()):
        row: dict[str, Any] = {"name": name, "labels": dict(labels), "value": number(s.value)}
        if s.clock:
            row["clock"] = s.clock
        if s.per_minute:
            row["per_minute"] = number(s.per_minute)
        rows.append(row)
    return rows


def load_scenario_series(path: Path = SCENARIO_SERIES) -> list[ScenarioSeries]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return [
        ScenarioSeries(s["check"], s["id"], _samples_from_json(s["healthy"]), _samples_from_json(s["unhealthy"]))
        for s in doc["scenarios"]
    ]
