"""The student's side of grading: run the notebook's cells, then answer the judge's requests.

Started by :mod:`.judge` as ``python -m dlcourse.grading.runner FD_IN FD_OUT`` (inside
:mod:`.sandbox` where Linux allows it). This process runs the submission's code and nothing
that decides a score: it never sees a test cell, a hidden input's expected value or the
gradebook. It only does what the judge asks, over the pipes of :mod:`.wire`:

* ``run``: execute one notebook cell (IPython, so magics work), with its output captured;
* ``names``: the notebook's globals (callables by name, data by value);
* ``call`` / ``getattr`` / ``setattr`` / ``getitem`` / ``len`` / ``list`` / ``float`` / ``int`` on
  a global or on an object it handed over earlier, under the judge's grad mode and ``forbid``
  rules; ``vjp``: a call and the gradients of its outputs (``dlcourse.reach``), as data;
* ``hold``: keep a value the judge sends (parameters for the student's optimizer) and hand
  back a reference to it;
* a course class or function sent by name (``dlcourse.reach.beside``: the block a student's
  ResNet is built around, ``designs.export_design``), imported here from the course; what
  it returns is data, which the judge checks.

Whatever a hostile submission does here (patch the checks, rewrite this module, forge
replies) only changes what its own functions appear to return, which the judge then checks.
Everything random is seeded first, so a submission that draws unseeded random numbers gets the
same score on every re-grade.
"""
from __future__ import annotations

import contextlib
import importlib
import os
import random
import signal
import sys
import types

MAX_OUTPUT_CHARS = 20_000
_IPYTHON_NAMES = {"In", "Out", "get_ipython", "exit", "quit"}
BY_VALUE_MAX = 1_000_000  # elements: a bigger tensor global stays here, the judge gets a reference


def cap_text(text: str, limit: int = MAX_OUTPUT_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n... [{len(text) - limit:,} more characters cut by the grader]\n"


def seed_everything(seed: int = 0) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class Student:
    """The notebook's namespace and the requests the judge may make of it."""

    def __init__(self):
        from IPython.core.interactiveshell import InteractiveShell

        self.shell = InteractiveShell.instance(colors="nocolor")
        self.ns = self.shell.user_ns

    def run(self, source: str) -> dict:
        from IPython.utils.capture import capture_output

        with capture_output(display=False) as cap:
            result = self.shell.run_cell(source, store_history=False, silent=False)
        error = result.error_in_exec or result.error_before_exec
        return {"stdout": cap_text(cap.stdout), "stderr": cap_text(cap.stderr),
                "error": None if error is None else f"{type(error).__name__}: {str(error)[:2000]}"}

    def names(self) -> dict:
        """Every public global but modules: callables and classes as references, the rest by value."""
        import torch

        from .wire import Keep

        out = {}
        for name, value in list(self.ns.items()):
            if name.startswith("_") or name in _IPYTHON_NAMES or isinstance(value, types.ModuleType):
                continue
            if callable(value):
                out[name] = {"callable": name}
            elif isinstance(value, torch.Tensor) and value.numel() > BY_VALUE_MAX:
                out[name] = {"value": Keep(value)}
            else:
                out[name] = {"value": value}
        return out

    def lookup(self, target):
        if not isinstance(target, dict):
            raise TypeError("bad target")
        if "course" in target:  # a course class or function the judge sent by name (dlcourse.reach.beside)
            module, _, qualname = str(target["course"]).partition(":")
            if not module.startswith("dlcourse.") or module.startswith("dlcourse.grading"):
                raise PermissionError(f"{module} is not a course module")
            obj = importlib.import_module(module)
            for part in qualname.split("."):
                obj = getattr(obj, part)
            return obj
        if "ref" in target:
            name = str(target["ref"])
            if name not in self.ns:
                raise NameError(f"name {name!r} is not defined")
            return self.ns[name]
        return self.endpoint.resolve(target)

    def serve(self, endpoint, op: str, meta: dict, call: list):
        import torch

        from dlcourse.reach import compute_outputs_and_grads
        from dlcourse.rules import forbid

        from .wire import Keep

        args, kwargs = call if call else ([], {})
        if op == "run":
            seed_everything(int(meta.get("seed", 0)))
            return self.run(str(meta.get("source", "")))
        if op == "names":
            return self.names()
        if op == "ref":
            return self.lookup({"ref": meta.get("name")})
        if op == "course":  # a course class the judge passed as an argument (the ResNet's block)
            return self.lookup({"course": meta.get("name")})
        if op == "hold":  # a value kept here for the judge to hand to the student's objects
            return Keep(args[0] if args else None)
        obj = self.lookup(meta.get("target"))
        if op in ("call", "vjp"):
            with contextlib.ExitStack() as stack:
                stack.enter_context(torch.set_grad_enabled(bool(meta.get("grad", True))))
                for names, rule in meta.get("forbid") or []:
                    stack.enter_context(forbid([str(n) for n in names], str(rule)))
                with contextlib.redirect_stdout(_Sink()), contextlib.redirect_stderr(_Sink()):
                    if op == "vjp":  # the student's function, and the gradients of its outputs: data
                        inputs, kw, seed = args
                        return compute_outputs_and_grads(obj, list(inputs), dict(kw), int(seed))
                    return obj(*args, **{str(k): v for k, v in kwargs.items()})
        if op == "getattr":
            return getattr(obj, str(meta.get("name")))
        if op == "setattr":
            setattr(obj, str(meta.get("name")), args[0] if args else None)
            return None
        if op == "getitem":
            return obj[args[0]]
        if op == "len":
            return len(obj)
        if op == "list":
            items = []
            for item in obj:
                items.append(item)
                if len(items) > 100_000:
                    raise ValueError("more than 100,000 items")
            return items
        if op == "float":
            return float(obj)
        if op == "int":
            return int(obj)
        raise ValueError(f"unknown request {op!r}")


class _Sink:
    """Where prints from calls made by the tests go: nowhere (the judge reports the results)."""

    def write(self, text):
        return len(text)

    def flush(self):
        pass


def main(fd_in: int, fd_out: int) -> None:
    from . import wire

    os.environ.setdefault("MPLBACKEND", "Agg")
    seed_everything(0)
    student = Student()
    endpoint = wire.Endpoint(fd_in, fd_out, student.serve, exportable=lambda v: True)
    student.endpoint = endpoint
    while True:
        try:
            header, blob = wire.receive(fd_in)
        except KeyboardInterrupt:  # an interrupt that arrived between requests
            continue
        except wire.WireError:
            return  # the judge is done, or gone
        if header.get("op") == "exit":
            return
        try:
            endpoint._answer(header, blob)
        except KeyboardInterrupt:
            continue


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.default_int_handler)  # PID 1 of a namespace ignores it otherwise
    main(int(sys.argv[1]), int(sys.argv[2]))
    os._exit(0)  # without running the submission's atexit hooks or waiting for its threads
