"""How a check reaches the student's code: directly in a notebook, through proxies while grading.

In a student's notebook these functions simply do what they say on the objects at hand. When
an assignment is graded (:mod:`dlcourse.grading`), its checks run in the grader's process and
the student's functions, classes and objects are proxies to their own process; then

* ``outputs_and_grads(fn, inputs)`` is one request: ``fn`` runs there and only its outputs and
  gradients (data) come back, for the check to compare with the reference it computes here;
* ``beside(obj, value)`` puts a copy of ``value`` where ``obj`` lives (parameters for a
  student's optimizer, which the check then steps through the proxy, setting ``.grad`` itself);
* ``call_watching(fn, *args)`` says which tensor arguments ``fn`` changed in place, though the
  grader's own tensors never change (expected values are never computed from a moved input);
* a course function placed there with ``beside`` (``designs.export_design``, which traces a
  model class the course trains) returns data, which the grader checks, rebuilds, trains and
  scores itself: nothing that decides a score is computed in the student's process.

So a check is written once, reads like ordinary PyTorch, and decides nothing with code that
runs where a submission could change it. Re-exported by ``dlcourse.checks``.
"""
from __future__ import annotations

import torch

__all__ = ["outputs_and_grads", "beside", "call_watching", "is_student_object",
           "is_student_error", "student_error_text", "predict", "flat_outputs", "project"]

# Set by the grader while it runs tests: how to reach objects in the student's process.
_GRADER = None


def is_student_object(obj) -> bool:
    """Whether ``obj`` lives in a graded student's process (a proxy here)."""
    return _GRADER is not None and _GRADER.is_remote(obj)


def is_student_error(e: BaseException) -> bool:
    """Whether ``e`` is the student's code raising (to report as advice), not the grading itself
    failing (a timeout, a broken pipe: those must reach the grader, never become a message)."""
    return not (type(e).__module__.endswith("grading.wire") and type(e).__name__ != "RemoteError")


def student_error_text(e: BaseException) -> str:
    """"Kind: message" of what the student's code raised; a failure of the grading itself goes on up."""
    if not is_student_error(e):
        raise e
    return f"{getattr(e, 'kind', type(e).__name__)}: {getattr(e, 'message', None) or e}"


def predict(model, x: torch.Tensor, batch_size: int = 250) -> torch.Tensor:
    """``model``'s outputs on ``x`` in eval mode, batch by batch, without gradients. While grading,
    ``model`` is the student's (in their process): only the inputs go there, and what comes back
    is scored here against labels that never leave the grader."""
    model.eval()
    with torch.no_grad():
        return torch.cat([torch.as_tensor(model(x[i:i + batch_size])) for i in range(0, len(x), batch_size)])


def flat_outputs(out) -> list:
    """A function's result as a list: (h, c) pairs and (out, weights) pairs flattened."""
    if isinstance(out, (tuple, list)):
        return [t for item in out for t in flat_outputs(item)]
    return [out]


def project(outs: list, seed: int) -> torch.Tensor | None:
    """sum(out * r) over the outputs that need a gradient, r seeded random of each output's shape
    (with all ones, an error that sums to zero would go unseen)."""
    g = torch.Generator().manual_seed(seed)
    # drawn in float64 and cast: the float64 shadow of a reference must draw the same numbers
    terms = [(o * torch.randn(o.shape, generator=g, dtype=torch.float64).to(o.dtype)).sum()
             for o in outs if isinstance(o, torch.Tensor) and o.requires_grad]
    return sum(terms) if terms else None


def _floating(x) -> bool:
    return isinstance(x, torch.Tensor) and x.is_floating_point()


def _described(outs: list) -> list:
    """Outputs as data; anything that is not a tensor is described (the check names it)."""
    return [o.detach() if isinstance(o, torch.Tensor) else f"not a tensor: {type(o).__name__}" for o in outs]


def compute_outputs_and_grads(fn, inputs: list, kwargs: dict | None = None, seed: int = 0) -> dict:
    """What :func:`outputs_and_grads` returns, computed right here (the grader's runner calls it too)."""
    xs = [x.detach().clone().requires_grad_(True) if _floating(x) else x for x in inputs]
    outs = flat_outputs(fn(*xs, **(kwargs or {})))
    loss = project(outs, seed)
    floats = [x for x in xs if _floating(x)]
    module = isinstance(fn, torch.nn.Module)
    named = [(n, p) for n, p in fn.named_parameters() if p.requires_grad] if module else []
    grads, pgrads = [None] * len(floats), [None] * len(named)
    if loss is not None and (floats or named):
        both = torch.autograd.grad(loss, floats + [p for _, p in named], allow_unused=True)
        grads, pgrads = list(both[:len(floats)]), list(both[len(floats):])
    result = {"outputs": _described(outs), "grads": grads}
    if module:
        result["param_grads"] = {n: g for (n, _), g in zip(named, pgrads)}
    return result


def outputs_and_grads(fn, inputs: list, kwargs: dict | None = None, seed: int = 0) -> dict:
    """``fn(*inputs, **kwargs)`` and the gradients of ``project(outputs, seed)``.

    Returns {"outputs": [tensor, ...] (flattened), "grads": [one per floating input, None if
    unused]} and, when ``fn`` is an ``nn.Module``, "param_grads": {name: gradient} for each
    parameter that requires one. Only data: while grading, a student's ``fn`` runs in their
    process as one request, under the caller's grad mode and ``forbid`` rules.
    """
    if is_student_object(fn):
        return _GRADER.outputs_and_grads(fn, list(inputs), dict(kwargs or {}), int(seed))
    return compute_outputs_and_grads(fn, inputs, kwargs, seed)


def beside(obj, value):
    """``value`` where ``obj`` lives: itself here; while grading, a copy kept in the student's
    process when ``obj`` is theirs (a proxy here: set its attributes, read ``.data``)."""
    return _GRADER.beside(value) if is_student_object(obj) else value


def _changed(before, after) -> bool:
    if not isinstance(after, torch.Tensor):
        return False
    return before.shape != after.shape or not torch.equal(torch.nan_to_num(before), torch.nan_to_num(after))


def call_watching(fn, *args, **kwargs) -> tuple:
    """(``fn(*args, **kwargs)``, one bool per positional argument: did ``fn`` change it in place?).

    While grading, the grader's tensors never change (the student's process works on copies);
    its reply says which copies it changed, and that is what this reports."""
    if is_student_object(fn):
        result = fn(*args, **kwargs)
        changed = _GRADER.changed()
        return result, tuple(any(a is t for t in changed) for a in args)
    before = [a.detach().clone() if isinstance(a, torch.Tensor) else None for a in args]
    result = fn(*args, **kwargs)
    return result, tuple(b is not None and _changed(b, a) for b, a in zip(before, args))
