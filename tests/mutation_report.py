"""Summarise a `mutmut run` (make mutation): the score, and every surviving mutant that is not listed as
equivalent in tests/mutation-equivalents.txt.

    python -m tests.mutation_report [--min-score 90]

Exit 1 when the score is below the minimum or a survivor is neither killed nor listed with its reason.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

EQUIVALENTS = Path(__file__).parent / "mutation-equivalents.txt"
_LINE = re.compile(r"^\s*(\S+): (\w[\w ]*)$")


def results() -> dict[str, str]:
    proc = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"], capture_output=True,
                          text=True, check=True)  # fmt: skip
    return {m[1]: m[2] for line in proc.stdout.splitlines() if (m := _LINE.match(line))}


def equivalents() -> dict[str, str]:
    """mutant name -> why it cannot be told apart from the original (one per line: ``name  reason``)."""
    out = {}
    for line in EQUIVALENTS.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, reason = line.strip().partition(" ")
            out[name] = reason.strip()
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--min-score", type=float, default=90.0)
    args = parser.parse_args(argv)
    status = results()
    counts = Counter(status.values())
    total = sum(counts.values())
    killed = counts["killed"] + counts["timeout"]
    known = equivalents()
    survivors = sorted(name for name, s in status.items() if s == "survived")
    unexplained = [name for name in survivors if name not in known]
    score = 100.0 * killed / total if total else 0.0
    print(
        f"mutants: {total}; killed {killed} ({score:.1f}%); " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    )
    print(f"survivors listed as equivalent: {len(survivors) - len(unexplained)}; unexplained: {len(unexplained)}")
    by_function = Counter(re.sub(r"__mutmut_\d+$", "", name) for name in unexplained)
    for function, n in by_function.most_common():
        print(f"  {n:4d}  {function}")
    return 0 if score >= args.min_score and not unexplained else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
