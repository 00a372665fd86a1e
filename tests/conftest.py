"""Test-suite settings: fast mode, the offline data mirror, and a per-notebook time table.

Everything here also applies when pytest is run directly (without `make test`), so the
same command gives the same result.
"""
from __future__ import annotations

import os
import time
from collections import defaultdict
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")  # this process only: notebook kernels keep the inline backend

ROOT = Path(__file__).resolve().parents[1]
MIRROR = ROOT.parent / "shared" / "data"

# Set before any kernel starts, so notebook kernels inherit them.
os.environ.setdefault("DLCOURSE_FAST", "1")
if MIRROR.is_dir():
    os.environ.setdefault("DLCOURSE_DATA_MIRRORS", str(MIRROR))
    os.environ.setdefault("DLCOURSE_OFFLINE", "1")  # with the mirror, never the network
os.environ.setdefault("DLCOURSE_CACHE", str(ROOT / ".cache" / "dlcourse"))

# A fast-mode notebook that needs longer than this is a budget bug, even if it passes.
NOTEBOOK_BUDGET_S = float(os.environ.get("DLCOURSE_NOTEBOOK_BUDGET_S", "120"))

_notebook_seconds: dict[str, float] = defaultdict(float)
_session_start = time.perf_counter()


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _notebook_seconds[path] += report.duration


def _over_budget() -> list[str]:
    return [p for p, s in _notebook_seconds.items() if s > NOTEBOOK_BUDGET_S]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _notebook_seconds:
        return
    tr = terminalreporter
    tr.section("notebook timings (fast mode, cells only; kernel start adds ~2 s)")
    for path, seconds in sorted(_notebook_seconds.items()):
        flag = f"  OVER BUDGET ({NOTEBOOK_BUDGET_S:.0f} s)" if seconds > NOTEBOOK_BUDGET_S else ""
        tr.write_line(f"{seconds:8.1f} s  {path}{flag}")
    tr.write_line(f"{sum(_notebook_seconds.values()):8.1f} s  total over {len(_notebook_seconds)} notebooks; "
                  f"wall time of the session {time.perf_counter() - _session_start:.0f} s")


def pytest_sessionfinish(session, exitstatus):
    if _over_budget() and session.exitstatus == 0:
        session.exitstatus = 1


@pytest.fixture
def exercise_check(capsys):
    """Run a chapter exercise's check (dlcourse/exercises) the three ways a student meets it: on the
    notebook's stub it says "not attempted yet", on the right answer it prints OK, and on each
    typical wrong answer it raises CheckError."""
    from dlcourse.checks import CheckError

    def run(check, right, wrongs, stub=lambda *args, **kwargs: None):
        """stub: the notebook's placeholder (a function returning None, or None itself for an answer)."""
        check(stub)
        assert "not attempted yet" in capsys.readouterr().out
        check(right)
        assert "OK" in capsys.readouterr().out
        for wrong in wrongs:
            with pytest.raises(CheckError):
                check(wrong)
    return run
