"""A throwaway Linux sandbox for a submission's process, entered from inside that process.

``enter(spec(readable, writable, workdir, root))`` puts the calling process (just forked by
:mod:`.zygote`, single-threaded) into the sandbox, so that:

1. it is in new user, mount, network, PID, IPC and UTS namespaces: no network at all (only an
   unconfigured loopback), and it cannot see or signal any process outside (the grader, other
   submissions); when it ends, everything it started is killed with its PID namespace;
2. its filesystem is a fresh root holding only ``readable`` paths (read-only: the Python
   installation, the ``dlcourse`` package, the data, the release) and ``writable`` paths (its
   own scratch folders), plus ``/dev/null`` and friends and its own ``/proc``. Everything
   else (the course's ``source/``, ``solutions/``, ``.git``, the gradebook, other students'
   folders, other checkouts, the grader's home) does not exist there;
3. it then moves into one more user and mount namespace, which locks those mounts: code that is
   root inside cannot remount them writable or unmount them to look underneath.

Unprivileged user namespaces (or root) are all it needs; util-linux's ``mount``, ``umount``
and ``pivot_root`` do the mounting. :func:`available` says whether this machine can.
"""
from __future__ import annotations

import ctypes
import functools
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
PR_SET_PDEATHSIG = 1
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}.get(os.uname().machine)
# The few files of /etc that Python, torch and matplotlib read; /etc itself may hold secrets.
ETC = ["ld.so.cache", "ld.so.conf", "ld.so.conf.d", "passwd", "group", "nsswitch.conf", "hosts",
       "localtime", "fonts", "mime.types", "ssl"]
DEVICES = ["null", "zero", "full", "random", "urandom"]
TOOLS = ("mount", "umount", "pivot_root", "unshare")


@functools.lru_cache(maxsize=None)
def available() -> bool:
    """Can this machine make the namespaces? (Linux with unprivileged user namespaces, or root.)"""
    if not all(shutil.which(tool) for tool in TOOLS):
        return False
    with tempfile.TemporaryDirectory() as probe:
        try:
            return subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "--net", "--pid", "--fork",
                                   "--", "mount", "-t", "tmpfs", "tmpfs", probe],
                                  capture_output=True, timeout=30).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False


def spec(readable: list[Path], writable: list[Path], workdir: Path, root: Path) -> dict:
    """What :func:`enter` builds: ``root`` is an empty folder on the host for the new root."""
    readable = [Path(p) for p in readable if Path(p).exists()]
    readable += [Path("/usr")] + [Path("/etc") / f for f in ETC if (Path("/etc") / f).exists()]
    return {"root": str(root), "readable": _outermost(readable), "writable": _outermost(writable),
            "workdir": str(workdir), "links": [str(p) for p in Path("/").iterdir() if p.is_symlink()],
            "tools": {tool: shutil.which(tool) for tool in TOOLS}}


def _outermost(paths) -> list[str]:
    """Absolute paths (not resolved: /etc/localtime stays a file at that path), without those
    inside another one of the list, parents first."""
    out: list[str] = []
    for p in sorted({os.path.abspath(p) for p in paths}, key=len):
        if not any(p == q or p.startswith(q.rstrip("/") + "/") for q in out):
            out.append(p)
    return out


_libc = ctypes.CDLL(None, use_errno=True)


def _unshare(flags: int) -> None:
    if _libc.unshare(flags) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"unshare: {os.strerror(err)}")


def _map_ids(inside_of: int, uid: int, gid: int) -> None:
    """Map root inside the new user namespace to ``uid``/``gid`` of the one outside."""
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"{inside_of} {uid} 1")
    Path("/proc/self/gid_map").write_text(f"{inside_of} {gid} 1")


def enter(spec: dict, close_in_parent: tuple[int, ...] = ()) -> None:
    """Move this process into the sandbox. Returns in a new process, PID 1 of its namespace;
    the caller's process stays behind as its keeper: it passes SIGINT on, and exits with it.
    ``close_in_parent``: descriptors the keeper must not hold (so that their peer sees EOF)."""
    uid, gid = os.getuid(), os.getgid()
    _unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS)
    _map_ids(0, uid, gid)
    child = os.fork()  # the first process of the new PID namespace
    if child:
        _keep(child, close_in_parent)
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the keeper killed: this one, and its namespace, too
    _build_root(spec)
    _unshare(CLONE_NEWUSER | CLONE_NEWNS)  # lock the mounts (see the module docstring)
    _map_ids(0, 0, 0)
    os.chdir(spec["workdir"])


def _keep(child: int, close: tuple[int, ...]) -> None:
    for fd in close:
        os.close(fd)
    signal.signal(signal.SIGINT, lambda *_: os.kill(child, signal.SIGINT))
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except InterruptedError:
            continue
        except ChildProcessError:
            status = 0
            break
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF if status else 0)


def _mount(source: str | None, target: Path, fstype: str | None, flags: int, data: str | None = None) -> None:
    """mount(2) itself: spawning util-linux's mount 40 times from a process that holds torch cost ~1 s."""
    enc = lambda v: None if v is None else str(v).encode()  # noqa: E731
    if _libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {source} on {target}: {os.strerror(err)}")


def _bind(path: Path, root: Path, read_only: bool) -> None:
    target = root / path.relative_to("/")
    if path.is_dir():
        target.mkdir(parents=True, exist_ok=True)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.touch()
    _mount(str(path), target, None, MS_BIND)
    if read_only:
        _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _build_root(spec: dict) -> None:
    root = Path(spec["root"])
    _mount(None, Path("/"), None, MS_REC | MS_PRIVATE)  # nothing done here reaches the host's mounts
    _mount("tmpfs", root, "tmpfs", 0, "size=16m,mode=755")
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
        _mount(fstype, root / folder, fstype, MS_NOSUID | MS_NODEV)
    (root / ".old").mkdir()
    _mount(None, root, None, MS_REMOUNT | MS_RDONLY)  # the root itself: no new files outside the writable paths
    os.chdir(root)
    if SYS_PIVOT_ROOT is not None:
        if _libc.syscall(SYS_PIVOT_ROOT, b".", b".old") != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"pivot_root: {os.strerror(err)}")
    else:
        subprocess.run([spec["tools"]["pivot_root"], ".", ".old"], check=True)
    os.chdir("/")
    if _libc.umount2(b"/.old", MNT_DETACH) != 0:  # and the host's filesystem is gone
        raise OSError(ctypes.get_errno(), "umount /.old")
