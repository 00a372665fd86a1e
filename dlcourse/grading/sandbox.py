"""Run a command in a throwaway Linux sandbox (util-linux ``unshare``): what a submission runs in.

``command(argv, readable, writable, workdir)`` returns the argv that runs ``argv`` so that:

1. it is in new user, mount, network, PID, IPC and UTS namespaces: no network at all (only an
   unconfigured loopback), and it cannot see or signal any process outside (the grader, other
   submissions); when the sandbox's first process ends, everything it started is killed;
2. its filesystem is a fresh root holding only ``readable`` paths (read-only: the Python
   installation, the ``dlcourse`` package, the data, the release) and ``writable`` paths (its
   own scratch folders), plus ``/dev/null`` and friends and its own ``/proc``. Everything
   else (the course's ``source/``, ``solutions/``, ``.git``, the gradebook, other students'
   folders, other checkouts, the grader's home) does not exist there;
3. it then runs in one more user and mount namespace, which locks those mounts: code that is
   root inside cannot remount them writable or unmount them to look underneath.

The setup runs as this file's ``__main__`` (standard library only, so it starts in
milliseconds), then ``exec``s the command, which keeps the file descriptors it was given.
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

UNSHARE = ["unshare", "--user", "--map-root-user", "--mount"]
OUTER = [*UNSHARE, "--net", "--pid", "--ipc", "--uts", "--fork", "--kill-child"]
# The few files of /etc that Python, torch and matplotlib read; /etc itself may hold secrets.
ETC = ["ld.so.cache", "ld.so.conf", "ld.so.conf.d", "passwd", "group", "nsswitch.conf", "hosts",
       "localtime", "fonts", "mime.types", "ssl"]
DEVICES = ["null", "zero", "full", "random", "urandom"]


@functools.lru_cache(maxsize=None)
def available() -> bool:
    """Can this machine make the namespaces? (Linux with unprivileged user namespaces, or root.)"""
    if not all(shutil.which(tool) for tool in ("unshare", "mount", "umount", "pivot_root")):
        return False
    with tempfile.TemporaryDirectory() as probe:
        try:
            return subprocess.run([*OUTER, "--", "mount", "-t", "tmpfs", "tmpfs", probe],
                                  capture_output=True, timeout=30).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False


def command(argv: list[str], readable: list[Path], writable: list[Path], workdir: Path,
            root: Path) -> list[str]:
    """The argv that runs ``argv`` in the sandbox, in ``workdir`` (which must be writable).
    ``root`` is an empty folder for the sandbox's root (on the host; nothing is written there)."""
    readable = [Path(p) for p in readable if Path(p).exists()]
    readable += [Path("/usr")] + [Path("/etc") / f for f in ETC if (Path("/etc") / f).exists()]
    spec = {"root": str(root), "readable": _outermost(readable), "writable": _outermost(writable),
            "workdir": str(workdir),
            "links": [str(p) for p in Path("/").iterdir() if p.is_symlink()],
            "tools": {tool: shutil.which(tool) for tool in ("mount", "umount", "pivot_root", "unshare")}}
    return [shutil.which("unshare"), *OUTER[1:], "--", sys.executable, "-S", str(Path(__file__).resolve()), json.dumps(spec), "--", *argv]


def _outermost(paths) -> list[str]:
    """Absolute paths (not resolved: /etc/localtime stays a file at that path), without those
    inside another one of the list, parents first."""
    out: list[str] = []
    for p in sorted({os.path.abspath(p) for p in paths}, key=len):
        if not any(p == q or p.startswith(q.rstrip("/") + "/") for q in out):
            out.append(p)
    return out


TOOLS = {"mount": "mount"}  # absolute paths, set from the spec: the sandbox's PATH may lack /sbin


def _mount(*args: str) -> None:
    done = subprocess.run([TOOLS["mount"], *args], capture_output=True, text=True)
    if done.returncode:
        raise OSError(f"mount {' '.join(args)}: {done.stderr.strip()}")


def _bind(path: Path, root: Path, read_only: bool) -> None:
    target = root / path.relative_to("/")
    if path.is_dir():
        target.mkdir(parents=True, exist_ok=True)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.touch()
    _mount("--bind", str(path), str(target))
    if read_only:
        _mount("-o", "remount,bind,ro,nosuid,nodev", str(target))


def _enter(spec: dict, argv: list[str]) -> None:
    """Inside the outer namespaces: build the new root, move into it, lock it, exec ``argv``."""
    TOOLS.update(spec["tools"])
    root = Path(spec["root"])
    _mount("-t", "tmpfs", "-o", "size=16m,mode=755", "tmpfs", str(root))
    for link in spec["links"]:  # /bin -> usr/bin and the like
        (root / Path(link).name).symlink_to(os.readlink(link))
    for path in spec["readable"]:
        _bind(Path(path), root, read_only=True)
    for path in spec["writable"]:
        _bind(Path(path), root, read_only=False)
    (root / "dev").mkdir(exist_ok=True)
    for dev in DEVICES:
        _bind(Path("/dev") / dev, root, read_only=False)
    for folder, fstype in (("dev/shm", "tmpfs"), ("proc", "proc")):
        (root / folder).mkdir(parents=True, exist_ok=True)
        _mount("-t", fstype, "-o", "nosuid,nodev", fstype, str(root / folder))
    (root / ".old").mkdir()
    _mount("-o", "remount,ro", str(root))  # the root itself: no new files outside the writable paths
    os.chdir(root)
    subprocess.run([TOOLS["pivot_root"], ".", ".old"], check=True)
    subprocess.run([TOOLS["umount"], "-l", "/.old"], check=True)  # and the host's filesystem is gone
    os.chdir(spec["workdir"])
    os.execv(TOOLS["unshare"], [TOOLS["unshare"], *UNSHARE[1:], "--", *argv])


if __name__ == "__main__":
    _enter(json.loads(sys.argv[1]), sys.argv[3:])
