"""`python -m testbed verify-demo`: the running demo reaches a healthy baseline, then one break/fix cycle."""

from __future__ import annotations

import sys
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from testbed.demo import scenario

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(exporter: str) -> Samples:
    with urllib.request.urlopen(f"{exporter}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def baseline_problems(samples: Samples) -> list[str]:
    """Why the exporter does not (yet) show a healthy baseline; empty when it does."""
    problems = []
    for (name, labels), value in sorted(samples.items()):
        label = dict(labels)
        if name == "meshhealth_source_up" and value != 1:
            problems.append(f"source {label.get('source')} {label.get('instance', '')} is down")
        elif name == "meshhealth_check_up" and value != 1:
            problems.append(f"check {label.get('check')} is not evaluated")
        elif name == "meshhealth_check_findings" and value != 0:
            problems.append(f"check {label.get('check')} has {value:g} finding(s)")
    if not any(name == "meshhealth_check_up" for name, _ in samples):
        problems.append("no check has reported yet")
    return problems


def findings(samples: Samples, check: str) -> float:
    return samples.get(("meshhealth_check_findings", (("check", check),)), 0.0)


def wait_for(what: str, probe: Callable[[], list[str]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    start = time.monotonic()
    problems: list[str] = ["not scraped yet"]
    while time.monotonic() < deadline:
        try:
            problems = probe()
        except OSError as err:
            problems = [f"exporter unreachable: {err}"]
        if not problems:
            print(f"verify-demo: {what} after {time.monotonic() - start:.0f}s")
            return
        time.sleep(2)
    raise SystemExit(f"verify-demo: no {what} after {timeout:.0f}s: " + "; ".join(problems))


def verify(state: dict[str, Any], timeout: float = 300) -> int:
    exporter = state["exporter"]
    wait_for("healthy baseline", lambda: baseline_problems(scrape(exporter)), timeout)
    print(f"verify-demo: {scenario(state, 'DP01', 'break')}")
    wait_for("DP01 finding", lambda: [] if findings(scrape(exporter), "DP01") > 0 else ["DP01 has no finding"], 180)
    print(f"verify-demo: {scenario(state, 'DP01', 'fix')}")
    wait_for("DP01 cleared", lambda: [] if findings(scrape(exporter), "DP01") == 0 else ["DP01 still reported"], 180)
    wait_for("healthy baseline again", lambda: baseline_problems(scrape(exporter)), timeout)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run as: python -m testbed verify-demo")
