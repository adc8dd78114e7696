"""Start, watch and stop testbed processes; a failure shows the tail of the component's log."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("TESTBED_CACHE") or ROOT / ".cache" / "testbed").resolve()
BIN = CACHE / "bin"


class ComponentError(RuntimeError):
    """A component failed to start; the message carries the tail of its log."""


class StepError(ComponentError):
    """A setup command failed; the message carries the command and the tail of its stderr."""


def run_step(
    argv: list[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 900,
    lines: int = 30,
) -> str:
    """Run one setup command and return its stdout; on failure raise StepError with its stderr tail."""
    try:
        proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise StepError(f"{' '.join(argv)}: no answer after {timeout:.0f}s") from exc
    except OSError as exc:
        raise StepError(f"{' '.join(argv)}: {exc}") from exc
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout or "(no output)").strip().splitlines()[-lines:])
        raise StepError(f"{' '.join(argv)} (in {cwd or os.getcwd()}) exited {proc.returncode}:\n{tail}")
    return proc.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class ManagedProcess:
    def __init__(self, name: str, argv: list[str], workdir: Path, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.argv = argv
        self.workdir = workdir
        self.log_path = workdir / f"{name}.log"
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if not Path(self.argv[0]).exists():
            raise ComponentError(f"{self.name}: {self.argv[0]} is missing; run `make testbed-build`")
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            env={**os.environ, **(self.env or {})},
            start_new_session=True,
        )
        log.close()

    def wait_until(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise ComponentError(
                    f"{self.name} exited with {self.process.returncode} before {what}; log tail:\n"
                    + log_tail(self.log_path)
                )
            try:
                if ready():
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise ComponentError(f"{self.name}: not {what} after {timeout:.0f}s; log tail:\n" + log_tail(self.log_path))

    def stop(self, grace: float = 10.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
