"""A Jupyter kernel for grading, started inside Linux namespaces (util-linux ``unshare``).

The autograder (``dlcourse.autograder``) registers it as the kernel ``dlcourse-sandbox`` for
its nbgrader run. Started by jupyter_client, this module:

1. already runs in new user, mount and network namespaces (the kernel spec's ``unshare``):
   no network at all, only an unconfigured loopback;
2. makes the course directory and the Python installation read-only (so a submission cannot
   plant code that later submissions would run), covers the paths in ``DLCOURSE_SANDBOX_HIDE``
   (the gradebook, ``source/``, every other student's submission and autograded folder) with
   empty ones, and leaves only the kernel's own working folder writable;
3. starts ipykernel in one more user and mount namespace, which locks those mounts: code in
   the kernel, root inside its namespace, cannot unmount them to look underneath.

The kernel talks to nbgrader over Unix sockets next to its connection file (ZeroMQ's ``ipc``
transport), since TCP on the host's loopback is out of reach from the new network namespace.
"""
from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

KERNEL_NAME = "dlcourse-sandbox"
UNSHARE = ["unshare", "--user", "--map-root-user", "--mount"]


@functools.lru_cache(maxsize=None)
def available() -> bool:
    """Can this machine make the namespaces? (Linux with unprivileged user namespaces, or root.)"""
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return False
    with tempfile.TemporaryDirectory() as probe:
        try:
            return subprocess.run([*UNSHARE, "--net", "--", "mount", "-t", "tmpfs", "tmpfs", probe],
                                  capture_output=True, timeout=30).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False


def write_kernelspec(jupyter_path: Path) -> Path:
    """Write the ``dlcourse-sandbox`` kernel spec under ``<jupyter_path>/kernels`` (put that
    folder on JUPYTER_PATH) and return its folder."""
    folder = Path(jupyter_path) / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    spec = {"argv": [*UNSHARE, "--net", "--", sys.executable, "-m", "dlcourse.sandbox", "{connection_file}"],
            "display_name": "Python 3 (grading sandbox)", "language": "python",
            "interrupt_mode": "signal", "metadata": {"debugger": False}}
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1))
    return folder


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


def _enter(connection_file: str) -> None:
    """Inside the namespaces: hide, lock down, then exec the kernel (never returns)."""
    workdir = Path.cwd().resolve()
    course = Path(os.environ["DLCOURSE_SANDBOX_COURSE"]).resolve()
    hide = [Path(p).resolve() for p in os.environ.get("DLCOURSE_SANDBOX_HIDE", "").split(os.pathsep) if p]
    stash = Path(tempfile.mkdtemp(prefix="dlcourse-workdir-"))
    _mount("--bind", str(workdir), str(stash))  # the kernel's own folder, before anything covers it
    package_root = Path(__file__).resolve().parents[1]  # the repository, for an editable install
    for path in sorted({course, package_root, Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}):
        _mount("--bind", str(path), str(path))
        _mount("-o", "remount,bind,ro", str(path))
    for path in hide:
        if path.is_dir():
            _mount("-t", "tmpfs", "-o", "size=1m,mode=755", "tmpfs", str(path))
        elif path.exists():
            _mount("--bind", "/dev/null", str(path))
    if not workdir.is_dir():  # it was under a hidden folder: recreate the path in the tmpfs
        workdir.mkdir(parents=True)
    _mount("--bind", str(stash), str(workdir))  # writable again, and nothing else beside it
    os.chdir(workdir)
    argv = [*UNSHARE, "--", sys.executable, "-m", "ipykernel_launcher", "-f", connection_file]
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    _enter(sys.argv[1])
