"""Checks shared by the sequence assignments (a06-a09): a student's function or module against PyTorch's.

``check_parity`` runs the student's code through :func:`dlcourse.reach.outputs_and_grads`
(while grading, one request to their process that brings back only outputs and gradients, as
data) and the reference here; it compares every output and every gradient, and when the
outputs differ it replays the usual mistakes (``{what: (function, fix)}``) to name the one the
student made. ``module_outputs_and_grads`` builds an ``nn.Module`` class, gives it the
reference's weights by ``load_state_dict`` and probes it the same way; it runs here, driving the
student's module through the proxy. Gradients are those of a seeded random projection of the
outputs (``dlcourse.reach.project``).
"""
from __future__ import annotations

import torch

from dlcourse.checks import CheckError, check_close, forbid, is_student_error, matches
from dlcourse.precision import in_float64
from dlcourse.reach import outputs_and_grads

__all__ = ["outputs_and_grads", "module_outputs_and_grads", "check_parity", "call_student", "raised_message"]


def _floating(x) -> bool:
    return isinstance(x, torch.Tensor) and x.is_floating_point()


def module_outputs_and_grads(cls, init: dict, state: dict | None, inputs: list, kwargs: dict | None = None,
                             seed: int = 0) -> dict:
    """``cls(**init)`` given ``state`` (a state dict), run on ``inputs``: outputs, input and parameter grads."""
    torch.manual_seed(seed)
    model = cls(**init)
    if state is not None:
        ours, theirs = set(model.state_dict()), set(state)
        if ours != theirs:
            raise ValueError(f"the module's parameters are {sorted(ours)}, the test gives it {sorted(theirs)}: "
                             f"missing {sorted(theirs - ours)}, unexpected {sorted(ours - theirs)}. Name the "
                             "submodules and parameters as the instructions say")
        model.load_state_dict(state)
    return outputs_and_grads(model, inputs, kwargs, seed)


FLOAT64_HINT = ("Graded training runs in float64 (so that it scores the same on every machine): make new tensors "
                "in the input's dtype (x.new_zeros(...), torch.zeros(..., dtype=x.dtype), mask.to(x.dtype)), not "
                "with .float().")


def raised_message(label: str, e: BaseException, hints: dict | None = None) -> str:
    """What a student's exception means, with the hint of the first ``hints`` key found in its text."""
    message = (getattr(e, "message", None) or str(e)).strip()
    kind = getattr(e, "kind", type(e).__name__)
    if kind == "NotImplementedError":
        return f"{label}: your code still raises NotImplementedError; write it in its answer cell."
    fix = next((fix for words, fix in (hints or {}).items() if words in message), "")
    if not fix and "Double" in message and "Float" in message:
        fix = FLOAT64_HINT
    return f"{label}: your code raised {kind}: {message.rstrip('.')}." + (f" {fix}" if fix else "")


def call_student(label: str, student, *args, driver=None, forbidden=(), rule: str = "",
                 hints: dict | None = None):
    """``student(*args)``, or the course function ``driver(student, *args)``, with ``forbidden``
    names banned in the student's code; a student's exception becomes a CheckError that says
    what it was and what to do. The driver runs here and reaches the student's objects through
    the grader's proxies (a model the course trains crosses as data instead: ``designs``)."""
    __tracebackhide__ = True
    try:
        with forbid(forbidden, rule or "this task builds it from its equations"):
            if driver is None:
                return student(*args)
            return driver(student, *args)
    except CheckError as e:
        raise CheckError(f"{label}: {e}") from None
    except Exception as e:  # noqa: BLE001 - the student's code raised: say what and how to fix it
        if not is_student_error(e):
            raise
        raise CheckError(raised_message(label, e, hints)) from None


def _shape(t) -> str:
    return str(tuple(t.shape)) if isinstance(t, torch.Tensor) else str(t)


def check_parity(label: str, student, reference, inputs: list, *, kwargs: dict | None = None,
                 init: dict | None = None, state: dict | None = None, mistakes: dict | None = None,
                 forbidden=(), rule: str = "", hints: dict | None = None, output_names=None,
                 input_names=None, seed: int = 0) -> None:
    """Fail unless the student's function (or, with ``init``, module class) equals ``reference``.

    reference: a function of the same inputs, or with ``init`` a module class built with the same
    ``init`` and given ``state``. mistakes: {what: (function or class, fix)} replayed here when
    the outputs differ. Prints one OK line per output and gradient, with the tolerance: the
    reference runs again in float64 (``dlcourse.precision``), and the student's answer may be
    ``SAFETY`` times as far from that as the reference's own float32 answer is.
    """
    __tracebackhide__ = True
    module = init is not None
    if module:
        expected = module_outputs_and_grads(reference, init, state, inputs, kwargs, seed)
        shadow = in_float64(module_outputs_and_grads, reference, init, state, inputs, kwargs, seed)
        got = call_student(label, student, init, state, inputs, kwargs, seed, driver=module_outputs_and_grads,
                           forbidden=forbidden, rule=rule, hints=hints)
    else:
        expected = outputs_and_grads(reference, inputs, kwargs, seed)
        shadow = in_float64(outputs_and_grads, reference, inputs, kwargs, seed)
        got = call_student(label, student, inputs, kwargs, seed, driver=outputs_and_grads, forbidden=forbidden,
                           rule=rule, hints=hints)
    names = output_names or [f"output {j + 1}" for j in range(len(expected["outputs"]))]
    outs, refs = got["outputs"], expected["outputs"]
    if len(outs) != len(refs):
        raise CheckError(f"{label}: expected {len(refs)} output tensor(s) ({', '.join(names)}), got {len(outs)}.")
    for name, o, r in zip(names, outs, refs):
        if not isinstance(o, torch.Tensor):
            raise CheckError(f"{label}: {name} is {o}, expected a tensor of shape {_shape(r)}"
                             + ("; did you forget to `return` it?" if "NoneType" in str(o) else "."))
        if o.shape != r.shape:
            raise CheckError(f"{label}: {name} has shape {_shape(o)}, expected {_shape(r)}.")
    if not matches(outs, refs, shadow["outputs"]):
        for what, (variant, fix) in (mistakes or {}).items():
            try:
                replay = (module_outputs_and_grads(variant, init, state, inputs, kwargs, seed) if module
                          else outputs_and_grads(variant, inputs, kwargs, seed))["outputs"]
            except Exception:  # noqa: BLE001 - a mistake that cannot run on these inputs is not this one
                continue
            if matches(outs, replay, like=(refs, shadow["outputs"])):
                raise CheckError(f"{label}: your outputs are those of {what}: {fix}")
    for name, o, r, s in zip(names, outs, refs, shadow["outputs"]):
        check_close(f"{label}, {name}", o, r, shadow=s)
    floats = [k for k, x in enumerate(inputs) if _floating(x)]
    for k, g, r, s in zip(floats, got["grads"], expected["grads"], shadow["grads"]):
        what = input_names[k] if input_names else f"input {k + 1}"
        if r is None:
            continue
        if g is None:
            raise CheckError(f"{label}: no gradient reaches {what}: is something detached on the way "
                             "(.detach(), .item(), torch.tensor(...), a new tensor built from .data)?")
        check_close(f"{label}, gradient of {what}", g, r, shadow=s)
    for name, r in (expected.get("param_grads") or {}).items():
        g = (got.get("param_grads") or {}).get(name)
        if r is None:
            continue
        if g is None:
            raise CheckError(f"{label}: parameter {name} gets no gradient: does forward use it?")
        check_close(f"{label}, gradient of {name}", g, r, shadow=(shadow.get("param_grads") or {}).get(name))
