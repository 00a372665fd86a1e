"""The float64 shadow of a computation, and the one rule for how far a float32 answer may be off.

A right answer computed in float32 differs from PyTorch's float32 answer by rounding, and by how
much depends on the machine (AVX2 or AVX-512 or AMX kernels, oneDNN or not, thread count, TF32
on a GPU) and on the computation (a gradient summed over 15 time steps rounds more than one
``tanh``). A fixed ``rtol=1e-5`` is therefore tuned to one CPU: it passed a06's correct RNN on
the Xeon it was written on and failed it on an AMD EPYC.

So the course measures the error instead of guessing it. ``in_float64(fn, *args)`` runs the
reference computation again with every float32 tensor it touches promoted to float64 (a
``TorchFunctionMode``: captured weights, module parameters and buffers included, so a closure or
an ``nn.Module`` works unchanged). Against that near-exact answer:

* the reference's own float32 error ``e = max |ref32 - ref64|`` shows how well conditioned this
  computation is on these inputs (long reductions and cancellation make it large);
* a right answer computed in another valid order makes an error of the same size, so the
  allowed error is ``SAFETY * max(e, eps * scale)``, with ``scale = max |ref64|`` (the floor
  covers a reference that happened to round exactly) and ``SAFETY = 16``.

The allowance is one number per tensor, not per entry: rounding follows the size of the terms
summed, and an entry that comes out small by cancellation (0.0065 out of terms of size 20) is
as far off as its neighbours. A typical mistake (a missing bias, a transposed weight, a wrong
sign) is off by a sizeable fraction of the scale, 10^4 times more than this allowance.
"""
from __future__ import annotations

import torch
from torch.overrides import TorchFunctionMode

__all__ = ["SAFETY", "in_float64", "in_float32", "allowed_error"]

# How many times the measured rounding error a right answer may make. The reordering test
# (tests/test_precision.py) runs the worked solutions in other valid orders (blocked and reversed
# sums, broadcast loops, float64-then-round, one thread, oneDNN off) and they pass; answers off by
# 1e-4 of the scale still fail.
SAFETY = 16.0

_LOW = (torch.float32, torch.float16, torch.bfloat16)
# Casts a reference may make to fix its working precision: in the shadow they keep float64.
_CASTS = {torch.Tensor.float, torch.Tensor.half, torch.Tensor.bfloat16}


class _Shadow(TorchFunctionMode):
    """Every tensor of a ``source`` dtype that reaches a torch function is replaced by its copy in
    ``target``; the copy is made once per tensor, so in-place writes and repeated reads stay
    consistent, and gradients reach the original through the one cast."""

    def __init__(self, source: tuple, target: torch.dtype):
        super().__init__()
        self.source, self.target = source, target
        self.copies: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def cast(self, value):
        if isinstance(value, torch.Tensor):
            if value.dtype not in self.source:
                return value
            hit = self.copies.get(id(value))
            if hit is None or hit[0] is not value:       # id reused by a new tensor: a new copy
                # with grad on: a parameter first touched under no_grad (load_state_dict's copy_)
                # must still pass its gradient through the copy
                with torch.set_grad_enabled(value.requires_grad or torch.is_grad_enabled()):
                    hit = (value, value.to(self.target))
                self.copies[id(value)] = hit
            return hit[1]
        if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
            return type(value)(self.cast(v) for v in value)
        if isinstance(value, dict):
            return {k: self.cast(v) for k, v in value.items()}
        return value

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if getattr(func, "__name__", "") in ("__get__", "__set__"):
            # attributes (grad_fn, requires_grad, shape, .T) are the tensor's own: reading one is
            # not a computation, and a copy would answer for a tensor that is not the module's
            return func(*args, **kwargs)
        if func in _CASTS or (func is torch.Tensor.to and _casts_to_low(args, kwargs, self.source)):
            return self.cast(args[0])
        return func(*self.cast(args), **self.cast(kwargs))


def _casts_to_low(args, kwargs, source) -> bool:
    """``t.to(torch.float32)`` / ``t.to(dtype=...)``: a cast to the precision being shadowed."""
    dtype = kwargs.get("dtype", next((a for a in args[1:] if isinstance(a, torch.dtype)), None))
    return dtype in source and not any(isinstance(a, (torch.device, str)) for a in args[1:])


def _run(fn, args, kwargs, source, target):
    """``fn`` under the shadow; the random number generators are left as they were before the call."""
    state = torch.random.get_rng_state()
    mode = _Shadow(source, target)
    try:
        with mode:
            out = fn(*args, **(kwargs or {}))
    finally:
        torch.random.set_rng_state(state)
    return mode.cast(out) if _has_low(out, source) else out


def _has_low(value, source) -> bool:
    if isinstance(value, torch.Tensor):
        return value.dtype in source
    if isinstance(value, (list, tuple)):
        return any(_has_low(v, source) for v in value)
    if isinstance(value, dict):
        return any(_has_low(v, source) for v in value.values())
    return False


def in_float64(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` with every float32/16 tensor it uses promoted to float64.

    The random number generators are left as they were before the call, so the shadow run draws
    what the float32 run drew (for draws whose dtype does not change) and the code after it sees
    no difference. A reference whose draws depend on the dtype is not the same computation in
    its shadow: it must draw in one dtype and cast, or its caller states a rule.
    """
    return _run(fn, args, kwargs, _LOW, torch.float64)


def in_float32(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` with float64 tensors demoted to float32: how well conditioned a
    float64 computation is (its float32 twin's error, scaled by the ratio of the epsilons)."""
    return _run(fn, args, kwargs, (torch.float64,), torch.float32)


def _finite_max(t: torch.Tensor) -> float:
    t = t.detach().double().abs()
    t = t[torch.isfinite(t)]
    return float(t.max()) if t.numel() else 0.0


def allowed_error(reference: torch.Tensor, shadow: torch.Tensor | None = None,
                  dtype: torch.dtype | None = None) -> tuple[torch.Tensor, float]:
    """What a right answer is compared against, and the largest absolute error it may show there.

    reference: the computation in its working precision (``dtype``, by default its own);
    shadow: the same computation in higher precision (``in_float64``), or for a float64
    reference its float32 twin (``in_float32``); None when there is none, which leaves the
    floor: ``SAFETY`` roundings of the working precision at the tensor's scale.

    Returns (target, allowed): the float64 shadow when there is one, else the reference.
    Where the result cancels to ~0 (softmax's gradient under a constant upstream gradient) the
    measured error is all there is, so no "disagrees too much" cut-off exists: a reference whose
    random draws depend on the dtype must draw in one dtype and cast (as ``check_like_torch``'s
    upstream gradient does), or the caller states its rule.
    """
    dtype = dtype or reference.dtype
    if not dtype.is_floating_point:
        return reference, 0.0
    eps = torch.finfo(dtype).eps
    if shadow is None or shadow.shape != reference.shape:
        return reference, SAFETY * eps * _finite_max(reference)
    higher = shadow.dtype == torch.float64 and dtype != torch.float64
    target = shadow if higher else reference
    scale = _finite_max(target)
    both = torch.isfinite(reference) & torch.isfinite(shadow)
    measured = float((reference.double() - shadow.double())[both].abs().max()) if both.any() else 0.0
    if not higher:
        # a float32 twin of a float64 reference: its error, scaled to float64's rounding
        measured *= eps / torch.finfo(shadow.dtype).eps
    return target, SAFETY * max(measured, eps * scale)
