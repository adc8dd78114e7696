"""Testbed setup steps fail with the command's own words, and the pinned module is found without .info."""

from __future__ import annotations

import sys

import pytest

from testbed.demo_verify import baseline_problems
from testbed.istio import escape_module_path
from testbed.processes import ComponentError, StepError, run_step


def test_failed_step_carries_command_and_stderr_tail() -> None:
    script = "import sys; print('\\n'.join(f'line {i}' for i in range(100)), file=sys.stderr); sys.exit(3)"
    with pytest.raises(StepError) as err:
        run_step([sys.executable, "-c", script], lines=5)
    message = str(err.value)
    assert "exited 3" in message and sys.executable in message
    assert "line 99" in message and "line 95" in message and "line 94" not in message
    assert isinstance(err.value, ComponentError)  # `python -m testbed up` reports it instead of a traceback


def test_missing_command_and_timeout_are_step_errors() -> None:
    with pytest.raises(StepError, match="no-such-binary"):
        run_step(["/nonexistent/no-such-binary"])
    with pytest.raises(StepError, match="no answer after 0s"):
        run_step([sys.executable, "-c", "import time; time.sleep(5)"], timeout=0.2)


def test_successful_step_returns_stdout() -> None:
    assert run_step([sys.executable, "-c", "print('ok')"]) == "ok\n"


def test_module_cache_case_encoding() -> None:
    assert escape_module_path("istio.io/istio") == "istio.io/istio"
    assert escape_module_path("github.com/Azure/Go-AutoRest") == "github.com/!azure/!go-!auto!rest"


def test_demo_baseline_requires_every_source_and_check_healthy() -> None:
    healthy = {
        ("meshhealth_source_up", (("instance", "a"), ("source", "kubernetes"))): 1.0,
        ("meshhealth_check_up", (("check", "DP01"),)): 1.0,
        ("meshhealth_check_findings", (("check", "DP01"),)): 0.0,
    }
    assert baseline_problems(healthy) == []
    assert baseline_problems({}) == ["no check has reported yet"]
    down = {**healthy, ("meshhealth_source_up", (("instance", "a"), ("source", "kubernetes"))): 0.0}
    assert baseline_problems(down) == ["source kubernetes a is down"]
    finding = {**healthy, ("meshhealth_check_findings", (("check", "DP01"),)): 2.0}
    assert baseline_problems(finding) == ["check DP01 has 2 finding(s)"]
    blind = {**healthy, ("meshhealth_check_up", (("check", "DP01"),)): 0.0}
    assert baseline_problems(blind) == ["check DP01 is not evaluated"]
