"""First contact (issue 10): the Pythons the README promises are the ones the Makefile accepts,
the ones pyproject.toml declares and the ones CI resolves constraints.txt for; a Python outside
them is refused in one sentence before anything is installed."""
from __future__ import annotations

import asyncio
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


def test_the_constraints_check_refuses_a_version_list_below_the_floor(tmp_path):
    bad = tmp_path / "pyproject.toml"
    bad.write_text('[project]\nrequires-python = ">=3.11"\n'
                   'classifiers = ["Programming Language :: Python :: 3.10", "Programming Language :: Python :: 3.11"]\n')
    with pytest.raises(SystemExit, match="disagree"):
        check_constraints.supported_pythons(bad)


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


def _course_config():
    """The configuration the course's .jupyter/jupyter_server_config.py alone gives."""
    from traitlets.config import Config
    config = Config()
    source = (ROOT / ".jupyter" / "jupyter_server_config.py").read_text()
    exec(compile(source, "jupyter_server_config.py", "exec"), {"get_config": lambda: config})
    return config


def _listing(manager, path: str) -> set[str]:
    return {item["name"] for item in asyncio.run(manager.get(path))["content"]}


def test_the_course_lab_lists_no_jupytext_twin_and_every_other_file():
    from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager
    config = _course_config()
    cls = config.ServerApp.contents_manager_class if "contents_manager_class" in config.ServerApp \
        else AsyncLargeFileManager  # Jupyter's default
    manager = cls(root_dir=str(ROOT), config=config)
    scripts = []
    for folder, dirs, files in os.walk(ROOT):  # hidden folders (.git, .venv, .ci) are never listed
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        scripts += [Path(folder) / f for f in files if f.endswith(".py")]
    twins = {p for p in scripts if p.with_suffix(".ipynb").exists()}
    assert len(twins) >= 6, "the chapter and assignment twins were not found"
    for folder in sorted({p.parent for p in scripts}):
        listed = _listing(manager, folder.relative_to(ROOT).as_posix())
        shown = {folder / n for n in listed}
        here = {p for p in scripts if p.parent == folder}
        assert not shown & twins, f"{folder}: twins listed: {sorted(p.name for p in shown & twins)}"
        assert here - twins <= shown, f"{folder}: other Python files hidden: {sorted(p.name for p in here - twins - shown)}"
        assert {n for n in listed if n.endswith(".ipynb")} == {p.name for p in folder.glob("*.ipynb")}
    twin = asyncio.run(manager.get("notebooks/part0_welcome/00_welcome.py"))
    assert "import dlcourse" in twin["content"], "a twin can still be opened by its path"


def test_the_course_lab_opens_on_the_welcome_chapter():
    url = _course_config().LabApp.default_url
    assert url == "/lab/tree/notebooks/part0_welcome/00_welcome.ipynb"
    assert (ROOT / url.split("/tree/", 1)[1]).exists()


def test_dlcourse_lab_adds_the_course_config_and_keeps_the_students_own(tmp_path):
    from dlcourse.lab import CONFIG, lab_command
    cmd, env = lab_command(["--no-browser"], {"JUPYTER_CONFIG_PATH": str(tmp_path), "PATH": "/usr/bin"})
    assert cmd[:3] == [sys.executable, "-m", "jupyterlab"] and cmd[-1] == "--no-browser"
    assert f"--notebook-dir={ROOT}" in cmd, "the course root is served wherever the command is run from"
    assert env["JUPYTER_CONFIG_PATH"].split(os.pathsep) == [str(CONFIG), str(tmp_path)]
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent), "nbgrader needs the env's tools"
    assert "JUPYTER_CONFIG_DIR" not in env, "a student's own ~/.jupyter must keep priority"
    cmd, _ = lab_command(["--notebook-dir", "/elsewhere"], {})
    assert not any(a.startswith("--notebook-dir=") for a in cmd)


def _normalise(command: str, venv_python: str) -> str:
    command = command.replace(venv_python, "VENV_PYTHON").replace('"', "'").replace(" --quiet", "")
    return re.sub(r"\s+", " ", command).strip()


@needs_make
def test_the_windows_commands_are_the_steps_of_make_lab(tmp_path):
    """README's PowerShell block does what `make lab` does on Linux, step for step: the pip lines are
    the ones `make install` runs (so `make test` runs them) and the last line is the one the
    `make lab` tests run, so every Windows step is exercised here."""
    section = (ROOT / "README.md").read_text().split("\n## Other systems", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```powershell\n(.*?)```", section, flags=re.S).group(1)
    windows = [_normalise(line.split("#")[0], r".venv\Scripts\python") for line in block.splitlines()
               if line.split("#")[0].strip()]
    for name in ("Makefile", "pyproject.toml", "constraints.txt"):
        shutil.copy(ROOT / name, tmp_path / name)
    # --no-print-directory: under `make test` this is a sub-make, which would add "Entering directory" lines
    dry = subprocess.run(["make", "--no-print-directory", "-n", "lab", f"PYTHON={sys.executable}"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60, check=True).stdout
    linux = [_normalise(line, str(tmp_path / ".venv" / "bin" / "python")) for line in dry.splitlines()
             if line.strip() and not line.startswith("#")]
    first = re.fullmatch(r"py -(3\.\d+) -m venv \.venv", windows[0])
    assert first and first.group(1) in _makefile_pythons(), f"{windows[0]!r}: not a supported Python"
    assert any(re.search(r"-m venv --clear \.venv$", line) for line in linux)
    installs = [line for line in linux if " -m pip install" in line]
    assert windows[1:-1] == installs, f"README's pip steps {windows[1:-1]} differ from make's {installs}"
    assert windows[-1] == "VENV_PYTHON -m dlcourse lab"
    assert linux[-1].startswith("VENV_PYTHON -m dlcourse lab "), "make lab no longer runs python -m dlcourse lab"


def test_authors_keep_the_jupytext_pairing_in_the_course_lab(tmp_path):
    """JupyterLab's jupytext extension wraps the course's contents manager: a notebook saved in
    the lab still rewrites its hidden .py twin."""
    jupytext_cm = pytest.importorskip("jupytext.async_contentsmanager")
    config = _course_config()
    shutil.copy(ROOT / "notebooks" / "jupytext.toml", tmp_path / "jupytext.toml")
    shutil.copytree(ROOT / "notebooks" / "part0_welcome", tmp_path / "part0_welcome",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    cls = jupytext_cm.build_async_jupytext_contents_manager_class(config.ServerApp.contents_manager_class)
    manager = cls(root_dir=str(tmp_path), config=config)
    path = "part0_welcome/00_welcome.ipynb"
    model = asyncio.run(manager.get(path))
    model["content"].cells[0].source += "\n\nEdited in JupyterLab."
    asyncio.run(manager.save(model, path))
    assert "Edited in JupyterLab." in (tmp_path / "part0_welcome" / "00_welcome.py").read_text()
    assert _listing(manager, "part0_welcome") == {"00_welcome.ipynb"}
