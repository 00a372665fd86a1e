"""First contact (issue 10): the Pythons the README promises are the ones the Makefile accepts,
the ones pyproject.toml declares and the ones CI resolves constraints.txt for; a Python outside
them is refused in one sentence before anything is installed."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / ".ci"))
import check_constraints  # noqa: E402

needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _makefile_pythons() -> list[str]:
    return re.search(r"^PYTHONS\s*:=\s*(.+)$", (ROOT / "Makefile").read_text(), flags=re.M).group(1).split()


def test_supported_pythons_agree_everywhere():
    pythons = check_constraints.supported_pythons()
    assert pythons == _makefile_pythons(), "Makefile's PYTHONS and pyproject.toml's classifiers disagree"
    floor, top = pythons[0], pythons[-1]
    env = (ROOT / "environment.yml").read_text()
    nxt = f"3.{int(top.split('.')[1]) + 1}"
    assert re.search(rf"^\s+- python>={re.escape(floor)},<{re.escape(nxt)}\s*$", env, flags=re.M), \
        f"environment.yml must ask for python>={floor},<{nxt}"
    readme = (ROOT / "README.md").read_text()
    listed = ", ".join(pythons[:-1]) + f" or {top}"
    assert f"Python {listed}" in readme, f"README's requirements line must name Python {listed}"
    assert not re.search(r"Python 3\.\d+ or newer", readme), "README promises Pythons nobody tested"


def test_ci_resolves_the_constraints_for_every_supported_python():
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^\S*python\S* \.ci/check_constraints\.py\s*$", ci, flags=re.M)
    assert ci.index("check_constraints.py") < ci.index("\nmake test"), "check before the long test run"
    assert set(check_constraints.requirements()) >= {"torch>=2.2", "pytest>=7.4"}, "runtime and [dev] extras"


@needs_make
@pytest.mark.parametrize("version", ["3.10.13", "3.14.0"])
def test_make_refuses_an_unsupported_python_before_pip_runs(tmp_path, version):
    """What a student on Ubuntu 22.04 (python3 is 3.10) sees: one sentence, and nothing created."""
    for name in ("Makefile", "pyproject.toml", "constraints.txt"):
        shutil.copy(ROOT / name, tmp_path / name)
    # Answers like a Python of that version: fails the Makefile's version test; anything else
    # (creating a venv, running pip) leaves a mark.
    fake = tmp_path / "oldpython"
    fake.write_text("#!/bin/sh\n"
                    f'case "$1" in --version) echo "Python {version}";; -c) exit 1;; *) touch "$0.used";; esac\n')
    fake.chmod(0o755)
    proc = subprocess.run(["make", "-s", "install", f"PYTHON={fake}"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode != 0
    message = [line for line in proc.stderr.splitlines() if line.startswith("dlcourse needs")]
    assert len(message) == 1, proc.stderr
    assert f"is Python {version}" in message[0] and "PYTHON=python3.12 make lab" in message[0]
    assert "Python " + ", ".join(_makefile_pythons()[:-1]) in message[0]
    assert not (tmp_path / "oldpython.used").exists() and not (tmp_path / ".venv").exists(), \
        "the Makefile ran the unsupported Python before refusing it"


@needs_make
def test_make_accepts_a_supported_python():
    """The same check passes for the interpreter running the suite (a supported one, in the venv)."""
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in _makefile_pythons()
    proc = subprocess.run(["make", "-s", "check-python", f"PYTHON={sys.executable}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and not proc.stderr, proc.stderr
    missing = subprocess.run(["make", "-s", "check-python", "PYTHON=python3.99"], cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0 and "python3.99 is not installed" in missing.stderr
