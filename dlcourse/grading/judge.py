"""The trusted side of grading: decide each test in a process that never runs student code.

:class:`StudentProcess` starts :mod:`.runner` (in :mod:`.sandbox` where Linux allows it) and
has it run the submission's cells. :func:`judge` then runs the instructor's test cells, hidden
tests included, *here*: every name the student defined is bound to a :class:`~.wire.Named`
proxy, so ``relu(x)`` in a test sends ``x`` to the student's process and gets back plain data
(tensors, numbers, strings, lists, tuples, dicts: see :mod:`.wire`). ``check_close``,
``assert`` and every expected value run in this process, which the submission cannot reach:
patching them over there changes nothing here. The grad mode and any ``dlcourse.checks.forbid``
rules active around a call travel with it; a tensor the student changes in place is changed
here too, so "must not modify its input" tests still see it.

A test cell passes when it runs to the end, as in nbgrader; its points are all or nothing.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import os
import random
import signal
import time
import traceback
import types
from dataclasses import dataclass, field
from pathlib import Path

from . import sandbox, wire
from .limits import Limits
from .runner import MAX_OUTPUT_CHARS, cap_text

INTERRUPT_GRACE_S = 5  # after a timeout, how long a cell has to stop before its process is killed


@dataclass
class CellOutcome:
    """What one of the submission's cells did in the student's process."""
    stdout: str = ""
    stderr: str = ""
    error: str | None = None


@dataclass
class TestOutcome:
    """One graded test cell's verdict."""
    grade_id: str
    points: float
    passed: bool
    message: str = ""   # why it failed: what the student sees
    output: str = ""    # what the test printed
    detail: str = ""    # the judge's traceback (for the instructor)


@dataclass
class Verdict:
    cells: dict[str, CellOutcome] = field(default_factory=dict)
    tests: list[TestOutcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    timed_out: bool = False
    crashed: bool = False


class StudentProcess:
    """The submission's process (a child of this grading process's :mod:`.zygote`) and its pipes."""

    def __init__(self, scratch: Path, env: dict[str, str], limits: Limits, readable: list[Path], sandboxed: bool):
        self.scratch, self.env, self.limits, self.readable, self.sandboxed = scratch, env, limits, readable, sandboxed
        self.pid: int | None = None
        self.endpoint: wire.Endpoint | None = None
        self.stopped = False  # killed by the grader (after a timeout): later tests cannot call it

    def start(self, user_tasks: int = 0) -> None:
        to_child, from_judge = os.pipe()[::-1]   # (write end, read end)
        from_child, to_judge = os.pipe()
        work = self.scratch / "work"
        request = {"env": self.env, "workdir": str(work), "log": str(self.scratch / "process.log"),
                   "limits": dataclasses.asdict(self.limits), "user_tasks": user_tasks, "sandbox": None}
        if self.sandboxed:
            writable = [self.scratch / d for d in ("work", "home", "tmp")]
            request["sandbox"] = sandbox.spec(self.readable, writable, work, self.scratch / "root")
        try:
            self.pid = zygote().spawn(request, (from_judge, to_judge))
        finally:
            os.close(from_judge)
            os.close(to_judge)
        self.endpoint = wire.Endpoint(from_child, to_child, _serve_callbacks, exportable=_is_callback)
        self.endpoint.call_meta = _call_context
        self.endpoint.write_back = False  # the student's in-place writes never reach the grader's tensors
        self.endpoint.course_names = True  # the course's classes travel by name; the student's come back as proxies

    def interrupt(self) -> None:
        """SIGINT to the runner (in the sandbox its keeper passes it on)."""
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGINT)

    def alive(self) -> bool:
        if self.pid is None:
            return False
        try:
            os.kill(self.pid, 0)  # the zygote reaps its children at once: a dead one is gone
            return True
        except OSError:
            return False

    def stop(self) -> None:
        """Kill it and all it started (its session; in the sandbox, its whole PID namespace)."""
        if self.pid is None:
            return
        self.stopped = True
        with contextlib.suppress(OSError):
            os.killpg(self.pid, signal.SIGKILL)

    def close(self) -> None:
        self.stop()
        if self.endpoint is not None:
            for fd in (self.endpoint.fd_in, self.endpoint.fd_out):
                with contextlib.suppress(OSError):
                    os.close(fd)
            self.endpoint = None


_ZYGOTE: "Zygote | None" = None


def worker_init() -> None:
    """In a grading worker (forked from the grader): a zygote of its own, started now."""
    global _ZYGOTE
    _ZYGOTE = None  # a copy of the parent's handle: its socket is the parent's to use
    zygote()


def zygote():
    """This process's zygote, started on first use with the environment every submission shares."""
    global _ZYGOTE
    if _ZYGOTE is None or _ZYGOTE.proc.poll() is not None:
        import atexit

        from .zygote import Zygote

        keep = ("PATH", "LANG", "LC_ALL", "PYTHONPATH", "DLCOURSE_DATA_MIRRORS", "DLCOURSE_CACHE", "DLCOURSE_OFFLINE")
        env = {k: os.environ[k] for k in keep if k in os.environ}
        env.update(OMP_NUM_THREADS="1", PYTHONHASHSEED="0", MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1")
        _ZYGOTE = Zygote(env)
        atexit.register(_ZYGOTE.close)
    return _ZYGOTE


def _is_callback(value) -> bool:
    """What the judge lends the student's process: functions (e.g. the f of a gradient check)."""
    return isinstance(value, (types.FunctionType, types.MethodType, types.BuiltinFunctionType, functools.partial))


def _serve_callbacks(endpoint, op: str, meta: dict, call: list):
    """The student's process may call back what it was lent, and nothing else."""
    target = meta.get("target")
    if op != "call" or not isinstance(target, dict) or set(target) != {"own"}:
        raise PermissionError("the grader only answers calls of the functions it passed to your code")
    args, kwargs = call
    return endpoint.resolve(target)(*args, **{str(k): v for k, v in kwargs.items()})


def _call_context() -> dict:
    import torch

    from dlcourse.checks import forbidden_now

    return {"grad": torch.is_grad_enabled(), "forbid": [[list(names), rule] for names, rule in forbidden_now()]}


def _request(student: StudentProcess, op: str, timeout: float, **fields):
    ep = student.endpoint
    ep.deadline = time.monotonic() + timeout
    try:
        return ep.request(op, **fields)
    finally:
        ep.deadline = None


def _stop_or_kill(student: StudentProcess) -> bool:
    """After a timeout: interrupt, wait for the reply that says it stopped; True if it did."""
    student.interrupt()
    ep = student.endpoint
    ep.deadline = time.monotonic() + INTERRUPT_GRACE_S
    try:
        ep.wait_reply([])
        return True
    except (wire.Deadline, wire.WireError):
        student.stop()
        return False
    except wire.RemoteError:
        return True
    finally:
        ep.deadline = None


def run_cells(student: StudentProcess, cells: list[tuple[str, str]], cell_s: float, verdict: Verdict) -> None:
    """Run the submission's cells ``(name, source)`` in order; a cell that raises does not stop the rest."""
    for name, source in cells:
        if not student.alive():
            verdict.cells[name] = CellOutcome(error="not run: the notebook's process had died")
            continue
        try:
            out = _request(student, "run", cell_s, target=None, source=source, seed=0)
            verdict.cells[name] = CellOutcome(**{k: out.get(k) for k in ("stdout", "stderr", "error")}) \
                if isinstance(out, dict) else CellOutcome(error="no result")
        except wire.Deadline:
            verdict.timed_out = True
            stopped = _stop_or_kill(student)
            verdict.cells[name] = CellOutcome(error=f"stopped: ran past the {cell_s:g} s limit per cell")
            verdict.notes.append(f"cell {name!r} ran past the {cell_s:g} s limit per cell" +
                                 ("" if stopped else " and did not stop when interrupted"))
        except (wire.WireError, wire.RemoteError) as e:
            verdict.crashed = True
            verdict.cells[name] = CellOutcome(error=f"the notebook's process died here: {e}")
            verdict.notes.append(f"the notebook's process died in cell {name!r} (os._exit, a crash, or the "
                                 f"memory limit): {e}")
            student.stop()


def judge(student: StudentProcess, setup: list[str], tests: list[tuple[str, float, str]], cell_s: float,
          verdict: Verdict, task_names: set[str] | None = None) -> None:
    """Run the trusted ``setup`` cells and the test cells ``(grade_id, points, source)`` here.

    The tests' namespace holds the grader's names: builtins, the setup cells' names and the
    tests' own helpers. Of the student's globals only ``task_names`` come in (the names the
    assignment's own notebook defines: the task's functions and classes, as proxies), so a
    student's ``dict`` or ``check_close`` never stands in for the grader's."""
    import builtins

    import numpy as np
    import torch

    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    ns: dict = {"__name__": "__grading__", "__builtins__": builtins}
    if student.alive():
        try:
            names = _request(student, "names", cell_s, target=None)
            for name, info in (names if isinstance(names, dict) else {}).items():
                name = str(name)
                if hasattr(builtins, name) or (task_names is not None and name not in task_names):
                    continue
                if isinstance(info, dict) and "callable" in info:
                    ns[name] = wire.Named(student.endpoint, 0, "function", name)
                elif isinstance(info, dict) and "value" in info:
                    ns[name] = info["value"]
        except (wire.Deadline, wire.WireError, wire.RemoteError) as e:
            verdict.notes.append(f"could not list the notebook's names: {e}")
    import dlcourse.reach

    dlcourse.reach._GRADER = Reach(student.endpoint)
    try:
        for source in setup:  # the course's own locked cells: imports and helpers (they win over any name)
            exec(compile(source, "<setup cell>", "exec"), ns)
        for grade_id, points, source in tests:
            verdict.tests.append(_one_test(student, ns, grade_id, points, source, cell_s, verdict))
    finally:
        dlcourse.reach._GRADER = None


class Reach:
    """How :mod:`dlcourse.reach` reaches the student's objects while grading: by requests."""

    def __init__(self, endpoint: wire.Endpoint):
        self.endpoint = endpoint

    def is_remote(self, obj) -> bool:
        return isinstance(obj, wire.Proxy) and obj._ep is self.endpoint

    def outputs_and_grads(self, fn, inputs: list, kwargs: dict, seed: int) -> dict:
        target = {"ref": fn._repr} if isinstance(fn, wire.Named) else {"own": fn._id}
        got = self.endpoint.request("vjp", target, args=[inputs, kwargs, seed], **_call_context())
        if wire._holds_proxy(got):
            raise wire.RemoteError("TypeError", "outputs_and_grads returned an object, not data")
        return got

    def beside(self, value):
        """A copy of ``value`` kept in the student's process; a class or function of the course is
        sent by name, so a test can build the course's objects there (a model for their recipe)."""
        if isinstance(value, (type, types.FunctionType)) and wire._course_name(value):
            value = wire.CourseRef(wire._course_name(value))
        return self.endpoint.request("hold", None, args=[value])

    def changed(self) -> list:
        return list(self.endpoint.changed)


def _one_test(student, ns, grade_id, points, source, cell_s, verdict) -> TestOutcome:
    from dlcourse import model_spec   # torch, which the test cells import anyway

    out = io.StringIO()
    ep = student.endpoint
    ep.deadline = time.monotonic() + cell_s
    try:
        # time_limit: a design the grader rebuilt and trains here stops at the cell's limit too
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out), model_spec.time_limit(cell_s):
            exec(compile(source, f"<test {grade_id}>", "exec"), ns)
        return TestOutcome(grade_id, points, True, output=cap_text(out.getvalue()))
    except wire.Deadline:
        verdict.timed_out = True
        message = f"timed out: your code ran past the {cell_s:g} s limit for this test"
        if not _stop_or_kill(student):
            verdict.notes.append(f"test {grade_id!r}: the code it called ran past {cell_s:g} s and did not stop")
        else:
            verdict.notes.append(f"test {grade_id!r}: the code it called ran past {cell_s:g} s")
        return TestOutcome(grade_id, points, False, message, cap_text(out.getvalue()))
    except wire.WireError as e:
        if student.stopped:
            return TestOutcome(grade_id, points, False, "not graded: your notebook's process had already "
                               "ended (see the notes: a time limit or a crash)", cap_text(out.getvalue()))
        verdict.crashed = True
        student.stop()
        verdict.notes.append(f"test {grade_id!r}: the notebook's process died ({e})")
        return TestOutcome(grade_id, points, False, f"your notebook's process died during this test: {e}",
                           cap_text(out.getvalue()))
    except BaseException as e:  # noqa: BLE001 - a failed test, whatever it raised
        return TestOutcome(grade_id, points, False, _message(e, ns), cap_text(out.getvalue()),
                           "".join(traceback.format_exception(type(e), e, e.__traceback__))[-MAX_OUTPUT_CHARS:])
    finally:
        ep.deadline = None


def _message(e: BaseException, ns: dict) -> str:
    if isinstance(e, NameError) and getattr(e, "name", None) not in ns:
        return (f"{e}: define it in its answer cell, and check that the cell runs without an error "
                "(Kernel > Restart & Run All)")
    if isinstance(e, wire.RemoteError):
        if e.kind == "NotImplementedError":
            return "your code still raises NotImplementedError: write it in its answer cell" + \
                (f" ({e.message})" if e.message.strip() else "")
        return f"your code raised {e.kind}: {e.message}" if e.message.strip() else f"your code raised {e.kind}"
    text = str(e).strip()
    return f"{type(e).__name__}: {text}" if text else type(e).__name__
