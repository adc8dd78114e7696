"""What this build is: version and source revision (``meshhealth_build_info``, ``--version``, the status page).

The revision comes from ``exporter/REVISION`` when the image build wrote it (``--build-arg REVISION=…``), else
from the git checkout the package runs from (an editable install), else it is ``unknown``.
"""

from __future__ import annotations

import functools
import platform
import re
from pathlib import Path

from exporter import __version__

_PACKAGE = Path(__file__).resolve().parent
_SHA = re.compile(r"[0-9a-f]{7,64}")


@functools.cache
def revision() -> str:
    return _from_file(_PACKAGE / "REVISION") or _from_git(_PACKAGE.parent / ".git") or "unknown"


def _from_file(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text[:12] if _SHA.fullmatch(text) else None


def _from_git(git_dir: Path) -> str | None:
    """HEAD's commit, read from the git directory (a detached HEAD, a loose ref or packed-refs)."""
    try:
        head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
        if not head.startswith("ref: "):
            return head[:12] if _SHA.fullmatch(head) else None
        ref = head.removeprefix("ref: ")
        loose = git_dir / ref
        if loose.is_file():
            return _from_file(loose)
        for line in (git_dir / "packed-refs").read_text(encoding="utf-8").splitlines():
            sha, _, name = line.partition(" ")
            if name == ref and _SHA.fullmatch(sha):
                return sha[:12]
    except OSError:
        return None
    return None


def version_line(prog: str) -> str:
    return f"{prog} {__version__} (revision {revision()}, python {platform.python_version()})"
