"""``python -m dlcourse lab``: JupyterLab made for the course.

What ``make lab`` runs once the venv exists, and the command on systems without make (Windows):
JupyterLab on the repository, with the course's configuration folder ``.jupyter`` added to
``JUPYTER_CONFIG_PATH``; ``JUPYTER_CONFIG_DIR`` (the student's own config and JupyterLab
settings) is left as it is. Arguments are passed to ``jupyter lab`` (``--no-browser``,
``--port=8890``...) and override the course's configuration.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".jupyter"


def lab_command(args: list[str], environ: dict[str, str] | None = None) -> tuple[list[str], dict[str, str]]:
    """The `jupyter lab` command line and environment `python -m dlcourse lab ARGS` runs."""
    env = dict(os.environ if environ is None else environ)
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(p for p in (str(CONFIG), env.get("JUPYTER_CONFIG_PATH")) if p)
    # nbgrader runs tools of this environment (alembic) by name: on PATH even if it is not activated.
    env["PATH"] = os.pathsep.join(p for p in (str(Path(sys.executable).parent), env.get("PATH")) if p)
    cmd = [sys.executable, "-m", "jupyterlab"]
    if not any(a.split("=")[0] in ("--notebook-dir", "--ServerApp.root_dir", "--root-dir") for a in args):
        cmd.append(f"--notebook-dir={ROOT}")
    # Jupyter refuses to run as root without it (containers, WSL as root).
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in args:
        cmd.append("--allow-root")
    return cmd + list(args), env


def main(args: list[str]) -> int:
    if not (CONFIG / "jupyter_server_config.py").is_file():
        print(f"dlcourse lab: {CONFIG} is missing: run it from a clone of the course, installed with "
              "`pip install -e .` (README, Set up)", file=sys.stderr)
        return 1
    cmd, env = lab_command(args)
    if os.name == "posix":  # become JupyterLab: Ctrl-C and signals reach it directly
        os.execve(cmd[0], cmd, env)
    with subprocess.Popen(cmd, env=env) as proc:
        while True:
            try:
                return proc.wait()
            except KeyboardInterrupt:  # JupyterLab handles Ctrl-C itself; wait for it to stop
                continue
