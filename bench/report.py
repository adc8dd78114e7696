"""Run every benchmark and write bench/REPORT.md: the machine, the versions, and each benchmark's output (its
figure, the baseline measured in the same run and the ratio), then the last soak (bench/SOAK.md, make soak).

Run: make bench
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = [
    ("bench_kube_projection", "Kubernetes watch events: projection vs keeping whole objects"),
    ("bench_istiod", "istiod: syncz of 20,000 proxies on 3 replicas"),
    ("bench_elasticsearch", "Elasticsearch: requests and time per refresh"),
    ("bench_mesh_config", "CF01-CF21 over a large mesh vs istioctl analyze"),
    ("bench_loop_stall", "Event-loop stall: checks and syncz decoding off the loop"),
    ("bench_memory", "Peak memory under a 500 MB watch event"),
    ("bench_heap_handback", "Memory left behind by refused 50 MB answers"),
    ("bench_scrape_load", "/metrics under load during refreshes vs a static server"),
]
PACKAGES = ["aiohttp", "prometheus-client", "kubernetes-asyncio", "pydantic", "pydantic-settings", "jinja2"]


def machine() -> list[str]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())  # fmt: skip
    mem = next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemT"))
    return [
        f"- full run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, revision {revision()}",
        f"- machine: {cpu}, {os.cpu_count()} cores, {int(mem) / 1024 / 1024:.0f} GiB, {platform.platform()}",
        f"- Python {platform.python_version()}; " + ", ".join(f"{p} {version(p)}" for p in PACKAGES),
        "- load average when the run started (other work on the machine skews absolute figures): "
        + " ".join(f"{x:.1f}" for x in os.getloadavg()),
    ]


def soak_section() -> list[str]:
    soak = ROOT / "bench" / "SOAK.md"
    if soak.exists():
        return ["## " + soak.read_text().removeprefix("# ")]
    return ["## Soak", "", "No soak yet: `make soak` (30 minutes) writes bench/SOAK.md.", ""]


def refresh_soak() -> int:
    """Put the last soak into an existing report (make soak runs this when it ends)."""
    report = ROOT / "bench" / "REPORT.md"
    if not report.exists():
        return 0
    text = report.read_text()
    head = text.split("\n## Soak", 1)[0].rstrip("\n")
    report.write_text(head + "\n\n" + "\n".join(soak_section()))
    return 0


def revision() -> str:
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                         check=False).stdout.strip()  # fmt: skip
    return out or "unknown"


def run(module: str, title: str) -> tuple[list[str], bool]:
    """One benchmark's section (its output, how long it took, the revision and date) and whether it passed."""
    start = time.monotonic()
    print(f"== {module}", flush=True)
    proc = subprocess.run([sys.executable, "-m", f"bench.{module}"], cwd=ROOT, capture_output=True, text=True,
                          check=False)  # fmt: skip
    print(proc.stdout, end="", flush=True)
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
    took = f"{time.monotonic() - start:.0f} s{', FAILED' if proc.returncode else ''}"
    when = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, revision {revision()}"
    section = [f"## {title}", "", f"`.venv/bin/python -m bench.{module}` ({took}; {when})", "", "```",
               proc.stdout.rstrip(), "```", ""]  # fmt: skip
    return section, proc.returncode == 0


def rerun(modules: list[str]) -> int:
    """Run only ``modules`` and replace their sections of the existing report (the others keep their run)."""
    report = ROOT / "bench" / "REPORT.md"
    titles = dict(BENCHMARKS)
    unknown = [m for m in modules if m not in titles]
    if unknown or not report.exists():
        print(f"unknown benchmarks {unknown} or no {report} yet (make bench)", file=sys.stderr)
        return 2
    text = report.read_text()
    failed = False
    for module in modules:
        section, ok = run(module, titles[module])
        failed |= not ok
        head, found, rest = text.partition(f"## {titles[module]}\n")
        if not found:  # a new benchmark: its section goes before the next one of BENCHMARKS the report has
            later = [t for m, t in BENCHMARKS[[m for m, _ in BENCHMARKS].index(module) + 1 :] if f"## {t}\n" in text]
            marker = f"## {later[0]}\n" if later else "## Soak"
            if marker not in text:
                print(f"no place for section {titles[module]!r} in {report}", file=sys.stderr)
                return 2
            head, _, rest = text.partition(marker)
            rest = "\n## " + marker[3:] + rest
        after = rest.partition("\n## ")
        text = head + "\n".join(section) + ("\n## " + after[2] if after[1] else "")
    report.write_text(text)
    print(f"updated {report}")
    return 1 if failed else 0


def main() -> int:
    if sys.argv[1:] == ["--soak-only"]:
        return refresh_soak()
    if sys.argv[1:2] == ["--only"]:
        return rerun(sys.argv[2:])
    sections = ["# Benchmarks", "", "Written by `make bench` (`bench/report.py`). Every figure is set against a "
                "baseline measured in the same run on the same machine; the ratios are what to compare between "
                "runs, since absolute times drift with the machine's load. `make bench BENCH=\"bench_a bench_b\"` "
                "reruns some and keeps the others' sections (each names its revision).",
                "", *machine(), ""]  # fmt: skip
    failed = []
    for module, title in BENCHMARKS:
        section, ok = run(module, title)
        sections += section
        if not ok:
            failed.append(module)
    sections += soak_section()
    (ROOT / "bench" / "REPORT.md").write_text("\n".join(sections))
    print(f"wrote {ROOT / 'bench' / 'REPORT.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
