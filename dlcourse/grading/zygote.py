"""A warm start for submissions' processes: import torch once, fork one child per submission.

Starting Python and importing torch costs about 2 s, more than grading an assignment like
a01 does. So each grading process starts one *zygote* (``python -m dlcourse.grading.zygote``)
that imports the heavy modules, runs no student code, and forks a child for each submission on
request. The child takes the submission's pipes, environment, limits and working folder, enters
:mod:`.sandbox`, and becomes the submission's :mod:`.runner`. A child that crashes takes nothing
with it: the zygote never runs what the child runs.

The grader talks to the zygote over a Unix socket: a JSON request with the two pipe ends passed
as file descriptors (SCM_RIGHTS), a JSON answer with the child's PID.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import traceback

WARM = ("torch", "numpy", "safetensors.torch", "IPython.core.interactiveshell", "IPython.utils.capture",
        "dlcourse.checks", "dlcourse.grading.runner", "dlcourse.grading.wire")


class Zygote:
    """The grader's handle on its zygote process."""

    def __init__(self, env: dict[str, str]):
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)  # one message per request
        self.proc = subprocess.Popen([sys.executable, "-m", "dlcourse.grading.zygote", str(theirs.fileno())],
                                     pass_fds=(theirs.fileno(),), env=env, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        theirs.close()
        if self.sock.recv(16) != b"ready":
            raise RuntimeError("the grading zygote did not start (see its output above)")

    def spawn(self, request: dict, fds: tuple[int, int]) -> int:
        """Fork a child for one submission; its PID (the leader of its own session)."""
        socket.send_fds(self.sock, [json.dumps(request).encode()], list(fds))
        answer = json.loads(self.sock.recv(4096) or b"{}")
        if "pid" not in answer:
            raise RuntimeError(f"the grading zygote could not start a process: {answer.get('error', 'no answer')}")
        return int(answer["pid"])

    def close(self) -> None:
        self.sock.close()  # the zygote sees end of file and exits
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _child(request: dict, fds: list[int], sock: socket.socket) -> None:
    """In the forked child: become the submission's process (never returns)."""
    fd_in, fd_out = fds
    try:
        sock.close()
        os.setsid()
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["workdir"])
        from .limits import Limits

        Limits(**request["limits"]).apply(request.get("user_tasks", 0))
        if request.get("sandbox"):
            from . import sandbox

            sandbox.enter(request["sandbox"], close_in_parent=(fd_in, fd_out))
        signal.signal(signal.SIGINT, signal.default_int_handler)  # PID 1 of a namespace ignores it otherwise
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        from .runner import main

        main(fd_in, fd_out)
    except BaseException:  # noqa: BLE001 - the log is the only place left to say why
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
    os._exit(0)  # without running the submission's atexit hooks or waiting for its threads


def serve(fd: int) -> None:
    import importlib

    for module in WARM:
        importlib.import_module(module)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel: no zombies
    sock = socket.socket(fileno=fd)
    sock.sendall(b"ready")
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(sock, 1 << 20, 2)
        except OSError:
            return
        if not message:
            return
        try:
            request = json.loads(message)
            pid = os.fork()
        except Exception as e:  # noqa: BLE001
            for f in fds:
                os.close(f)
            sock.sendall(json.dumps({"error": repr(e)}).encode())
            continue
        if pid == 0:
            _child(request, fds, sock)
        for f in fds:
            os.close(f)
        sock.sendall(json.dumps({"pid": pid}).encode())


if __name__ == "__main__":
    serve(int(sys.argv[1]))
