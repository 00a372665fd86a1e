"""Student-facing self-checks: compare with a reference and say, in one sentence, what to change.

Every check raises ``CheckError`` (an ``AssertionError``, so nbgrader and pytest treat it
as a failed test) with a message that names the value, what was expected, what was found,
and a hint. On success it prints the measured error next to the tolerance that applied,
the way CS231n's checks do. ``check_like_torch`` is the one way to prove a from-scratch
function equal to PyTorch's: outputs and every input's gradient.

Each check sets ``__tracebackhide__`` (pytest leaves its frames out of a failure), and
``CheckError`` renders itself in IPython without them: a failing cell shows the student's own
line and the message, not ours.
"""
from __future__ import annotations

import inspect
from typing import Callable, Sequence

import numpy as np
import torch

from dlcourse.errors import CheckError
from dlcourse.gradcheck import grad_check, max_relative_error, numerical_gradient
from dlcourse.precision import allowed_error, in_float32, in_float64
# Where a check reaches the student's code (here, or their process while grading) and the rules it sets.
from dlcourse.reach import (beside, call_watching, is_student_error, outputs_and_grads, predict,
                            student_error_text)
from dlcourse.rules import READY_MADE_ACTIVATIONS, forbid, forbidden_now

__all__ = ["CheckError", "check_shape", "check_dtype", "check_close", "check_like_torch", "matches", "shadow_of",
           "randomise_batchnorm", "randomise_weights", "numerical_gradient", "grad_check", "max_relative_error",
           "READY_MADE_ACTIVATIONS", "forbid", "forbidden_now", "outputs_and_grads", "beside",
           "call_watching", "is_student_error", "student_error_text", "predict"]


def _fmt_shape(shape) -> str:
    dims = ["N" if d is None else str(d) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def _fail(name: str, problem: str, hint: str | None) -> None:
    __tracebackhide__ = True
    raise CheckError(f"{name}: {problem}" + (f" {hint}" if hint else ""))


def _as_tensor(name: str, value, hint: str | None) -> torch.Tensor:
    __tracebackhide__ = True
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value)
    if value is None:
        _fail(name, "got None; did the function forget to `return` its result?", hint)
    if isinstance(value, (int, float, list, tuple)):
        try:  # Python floats are float64: keep them so, or errors below ~1e-7 would vanish
            return torch.as_tensor(np.asarray(value, dtype=np.float64))
        except (TypeError, ValueError):
            _fail(name, f"could not turn the {type(value).__name__} into a tensor of numbers.", hint)
    _fail(name, f"expected a tensor, got {type(value).__name__}.", hint)


def check_shape(name: str, value, expected: Sequence[int | None], hint: str | None = None,
                verbose: bool = False) -> None:
    """Fail unless ``value.shape`` equals ``expected`` (None matches any size)."""
    __tracebackhide__ = True
    t = _as_tensor(name, value, hint)
    shape = tuple(t.shape)
    ok = len(shape) == len(expected) and all(e is None or e == s for s, e in zip(shape, expected))
    if not ok:
        shown = tuple(None if e is None else s for s, e in zip(shape, expected)) if len(shape) == len(expected) else shape
        _fail(name, f"expected shape {_fmt_shape(expected)}, got {_fmt_shape(shown)}.", hint)
    if verbose:
        print(f"OK {name}: shape {_fmt_shape(expected)}")


def check_dtype(name: str, value, expected: torch.dtype, hint: str | None = None) -> None:
    """Fail unless the tensor has dtype ``expected``."""
    __tracebackhide__ = True
    t = _as_tensor(name, value, hint)
    if t.dtype != expected:
        _fail(name, f"expected dtype {str(expected).replace('torch.', '')}, "
                    f"got {str(t.dtype).replace('torch.', '')}.",
              hint or f"convert with .to(torch.{str(expected).replace('torch.', '')}).")


def _tensors(name: str, got, expected, hint: str | None) -> tuple[torch.Tensor, torch.Tensor]:
    __tracebackhide__ = True
    g = _as_tensor(name, got, hint)
    e = _as_tensor(f"{name} (reference)", expected, None)
    if tuple(g.shape) != tuple(e.shape):
        _fail(name, f"expected shape {_fmt_shape(e.shape)}, got {_fmt_shape(g.shape)}.", hint)
    return g.detach().cpu(), e.detach().cpu()


STATED = 1e-5      # the half of a stated rule (atol or rtol) that a caller leaves out


def _rule(e: torch.Tensor, shadow, atol: float | None, rtol: float | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(target, allowed error per entry): a stated rule ``atol + rtol |expected|`` when the caller
    gives one (exact integers, closed forms), else the measured one of ``dlcourse.precision``."""
    e64 = e.double()
    if atol is None and rtol is None:
        s = None if shadow is None else _as_tensor("shadow", shadow, None).detach().cpu()
        target, allowed = allowed_error(e, s)
        return target.double(), torch.full_like(e64, allowed)
    atol, rtol = (STATED if atol is None else atol), (STATED if rtol is None else rtol)
    return e64, atol + rtol * torch.where(torch.isfinite(e64), e64.abs(), torch.zeros_like(e64))


def _errors(g: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    g64 = g.double()
    diff = (g64 - target).abs()
    same = (torch.isnan(g64) & torch.isnan(target)) | (g64 == target)      # equal infinities and NaNs agree
    return torch.where(same, torch.zeros_like(diff), diff)


def matches(got, expected, shadow=None, *, like: tuple | None = None, atol: float | None = None,
            rtol: float | None = None) -> bool:
    """Whether ``got`` passes the comparison ``check_close`` makes (same shape, every entry within
    the allowed error); a list of tensors matches a list entry by entry. For naming mistakes:
    ``like=(reference, shadow)`` measures the allowed error on the right computation and applies
    it around ``expected`` (a mistake replayed in float32, which has no shadow of its own)."""
    if isinstance(expected, (list, tuple)):
        n = len(expected)
        shadows = list(shadow) if shadow is not None else [None] * n
        likes = list(zip(*like)) if like is not None else [None] * n
        return (isinstance(got, (list, tuple)) and len(got) == n
                and all(matches(a, b, s, like=k, atol=atol, rtol=rtol)
                        for a, b, s, k in zip(got, expected, shadows, likes)))
    if not isinstance(got, torch.Tensor) or not isinstance(expected, torch.Tensor) or got.shape != expected.shape:
        return False
    target, allowed = _rule(expected.detach().cpu(), shadow, atol, rtol)
    if like is not None and like[0] is not None and like[0].shape == expected.shape:
        allowed = _rule(like[0].detach().cpu(), like[1], atol, rtol)[1]
    return bool((_errors(got.detach().cpu(), target) <= allowed).all())


def _compare(name: str, got, expected, atol: float | None, rtol: float | None, hint: str | None,
             shadow=None) -> tuple[float, float]:
    """Raise unless every entry of ``got`` is within the allowed error of the target.

    Returns the largest absolute error and the error allowed at that entry, so a passing line
    can show two numbers a student compares at a glance.
    """
    __tracebackhide__ = True
    g, e = _tensors(name, got, expected, hint)
    target, allowed = _rule(e, shadow, atol, rtol)
    g64 = g.double()
    if torch.isnan(g64).any() and not torch.isnan(target).any():
        _fail(name, "contains NaN where the reference has none; look for log(0), 0/0 or an overflow in exp.", hint)
    if torch.isinf(g64).any() and not torch.isinf(target).any():
        _fail(name, "contains inf where the reference has none; look for an overflow in exp or a division by 0.",
              hint)
    if torch.isnan(target).any() and not torch.isnan(g64).any():
        _fail(name, "the reference contains NaN where this has a number; is the input outside the function's "
                    "domain?", hint)
    diff = _errors(g, target)
    bad = diff > allowed
    if bad.any():
        where = tuple(int(i) for i in torch.nonzero(bad)[0])
        _fail(name, f"values differ from the reference: max abs error {float(diff.max()):.2e}; "
                    f"first mismatch at index {where}: got {float(g64[where]):.6g}, "
                    f"expected {float(target[where]):.6g}, allowed error there {float(allowed[where]):.1e}.", hint)
    if not diff.numel():
        return 0.0, float(allowed.max()) if allowed.numel() else 0.0
    worst = int(diff.flatten().argmax())
    return float(diff.flatten()[worst]), float(allowed.flatten()[worst])


def _shadow_runner(tensors) -> Callable:
    """``in_float64``, or ``in_float32`` (the twin that measures a float64 computation's rounding)."""
    low = any(isinstance(a, torch.Tensor) and a.dtype == torch.float64 for a in tensors)
    return in_float32 if low else in_float64


def shadow_of(fn: Callable, *args, **kwargs):
    """``fn(*args, **kwargs)`` computed in float64 (float32 for a float64 computation): the shadow
    that ``check_close`` measures a reference's rounding with (``dlcourse.precision``)."""
    return _shadow_runner(args)(fn, *args, **kwargs)


def check_close(name: str, got, expected, *, shadow=None, atol: float | None = None, rtol: float | None = None,
                hint: str | None = None, verbose: bool = True) -> None:
    """Fail unless ``got`` matches ``expected`` in shape and values: the course's one comparison.

    The allowed error is measured, not guessed (``dlcourse.precision``): ``shadow`` is the same
    computation as ``expected`` in higher precision (``shadow_of(fn, *inputs)``); ``got`` may be
    ``SAFETY`` times as far from it as ``expected`` is (at least ``SAFETY`` roundings of its
    dtype at the tensor's scale, the whole rule when there is no shadow). A stated rule
    ``|got - expected| <= atol + rtol |expected|`` replaces it where the answer is exact
    (integers, counts: ``atol=0, rtol=0``) or known in closed form; a half left out is 1e-5. The
    printed line shows the largest error next to the error allowed there. Returns nothing, so a
    notebook cell that ends with a check shows no stray ``Out[..]`` number.
    """
    __tracebackhide__ = True
    err, allowed = _compare(name, got, expected, atol, rtol, hint, shadow)
    if verbose:
        print(f"OK {name}: max abs error {err:.1e} (allowed there: {allowed:.1e})")


def _input_names(fn: Callable, n: int) -> list[str]:
    """The parameter names of ``fn`` for its first n positional inputs ("input 1"... if unknown)."""
    try:
        params = [p for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):       # builtins without a signature
        params = []
    return [params[k].name if k < len(params) else f"input {k + 1}" for k in range(n)]


def _as_outputs(name: str, who: str, out) -> list[torch.Tensor]:
    __tracebackhide__ = True
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    for o in outs:
        if not isinstance(o, torch.Tensor):
            _fail(name, f"{who} returned {type(o).__name__}, not a tensor"
                        + ("; did the function forget to `return` its result?" if o is None else "."), None)
    return outs


def check_like_torch(name: str, ours: Callable | None, theirs: Callable, *inputs, backward: Callable | None = None,
                     grad_output=None, atol: float | None = None, rtol: float | None = None,
                     grad_atol: float | None = None, grad_rtol: float | None = None, seed: int = 0,
                     hint: str | None = None, verbose: bool = True) -> None:
    """Prove ``ours(*inputs)`` equal to ``theirs(*inputs)`` in value and in every input's gradient.

    Each floating-point tensor input is cloned twice (one copy each, with requires_grad),
    other inputs (integer labels, numbers) are passed as they are. Both outputs are
    back-propagated with the same upstream gradient, by default a seeded random tensor
    (with all ones, any error that sums to zero, as in softmax, would go unseen).

    The allowed error is measured (``check_close``): ``theirs`` runs a second time in float64
    (its weights, parameters and buffers promoted; float32 for a float64 computation), and
    ours may be ``SAFETY`` times as far from that as theirs is.

    backward: optional hand-written backward pass, ``backward(grad_output, *inputs)``
        returning one gradient per floating input (a tensor when there is one); it is
        compared with the gradients autograd computes through ``theirs``. With
        ``ours=None`` only this backward pass is checked (an exercise that writes no forward).
    grad_output: the upstream gradient (a tensor, or a tuple for several outputs).
    atol, rtol: a stated rule for the outputs instead of the measured one (exact answers);
        grad_atol, grad_rtol: for the gradients (default: the outputs' rule).

    Prints one line per comparison and returns nothing; raises ``CheckError`` saying
    which output or gradient differs.
    """
    __tracebackhide__ = True
    grad_atol = atol if grad_atol is None else grad_atol
    grad_rtol = rtol if grad_rtol is None else grad_rtol
    diff_at = [k for k, x in enumerate(inputs) if isinstance(x, torch.Tensor) and x.is_floating_point()]

    def fresh():
        return [x.detach().clone().requires_grad_(True) if k in diff_at else x for k, x in enumerate(inputs)]

    if ours is None and backward is None:
        raise TypeError("check_like_torch: give ours, a backward pass, or both.")
    xs_ours, xs_theirs = fresh(), fresh()
    rng = torch.random.get_rng_state()
    outs_theirs = _as_outputs(name, "theirs", theirs(*xs_theirs))
    outs_ours = outs_theirs if ours is None else _as_outputs(name, "ours", ours(*xs_ours))
    if len(outs_ours) != len(outs_theirs):
        _fail(name, f"ours returned {len(outs_ours)} tensor(s), theirs {len(outs_theirs)}.", hint)

    if grad_output is None:
        g = torch.Generator().manual_seed(seed)
        grad_output = [torch.randn(t.shape, generator=g, dtype=torch.float64).to(t.dtype).to(t.device)
                       for t in outs_theirs]
    grads_out = list(grad_output) if isinstance(grad_output, (tuple, list)) else [grad_output]
    differentiable = [j for j, t in enumerate(outs_theirs) if t.requires_grad]

    def grads(outs, xs):
        pairs = [(outs[j], grads_out[j]) for j in differentiable if outs[j].requires_grad]
        if not (pairs and diff_at):
            return [None] * len(diff_at)
        return list(torch.autograd.grad([o for o, _ in pairs], [xs[k] for k in diff_at],
                                        [gr for _, gr in pairs], allow_unused=True))

    def theirs_in_shadow():                      # the same draws as the float32 run
        torch.random.set_rng_state(rng)
        xs = fresh()
        outs = _as_outputs(name, "theirs", theirs(*xs))
        return outs, grads(outs, xs)

    measured = atol is None and rtol is None or grad_atol is None and grad_rtol is None
    shadow_outs, shadow_grads = [None] * len(outs_theirs), [None] * len(diff_at)
    if measured:
        try:
            shadow_outs, shadow_grads = _shadow_runner(inputs)(theirs_in_shadow)
        except Exception:  # noqa: BLE001 - a reference that cannot run promoted is measured by its floor
            pass

    def compare(label, got, expected, shadow, tol_abs, tol_rel):
        __tracebackhide__ = True
        err, allowed = _compare(label, got, expected, tol_abs, tol_rel, hint, shadow)
        if verbose:               # printed as it passes: a later failure still shows what was right
            print(f"OK {label}: max abs error {err:.1e} (allowed there: {allowed:.1e})")

    for j, (o, t) in enumerate(zip(outs_ours, outs_theirs) if ours is not None else []):
        compare(f"{name}, {'output' if len(outs_ours) == 1 else f'output {j + 1}'}", o, t, shadow_outs[j], atol, rtol)

    names = _input_names(theirs if ours is None else ours, len(inputs))
    if diff_at and differentiable:
        g_theirs = grads(outs_theirs, xs_theirs)
        g_ours = g_theirs if ours is None else grads(outs_ours, xs_ours)
        hand = None
        if backward is not None:
            hand = backward(grads_out[0] if len(grads_out) == 1 else grads_out,
                            *[x.detach() if isinstance(x, torch.Tensor) else x for x in inputs])
            hand = list(hand) if isinstance(hand, (tuple, list)) else [hand]
            if len(hand) != len(diff_at):
                _fail(name, f"backward returned {len(hand)} gradient(s) but there are {len(diff_at)} "
                            f"floating inputs ({', '.join(names[k] for k in diff_at)}).", hint)
        for i, k in enumerate(diff_at):
            ref, shadow = g_theirs[i], shadow_grads[i]
            if ref is None:                              # theirs does not depend on this input
                ref, shadow = torch.zeros_like(inputs[k]), None
            label = f"{name}, d/d{names[k]}" if " " not in names[k] else f"{name}, d/d({names[k]})"
            if ours is not None:
                got = g_ours[i]
                if got is None and bool((ref != 0).any()):
                    _fail(f"{label} (autograd through ours)", "no gradient reaches this input through ours; is "
                          "something detached on the way (.detach(), .item(), .numpy(), torch.tensor(...))?", hint)
                compare(f"{label} (autograd through ours)", torch.zeros_like(ref) if got is None else got, ref,
                        shadow, grad_atol, grad_rtol)
            if hand is not None:
                compare(f"{label} (by hand)", hand[i], ref, shadow, grad_atol, grad_rtol)
    elif backward is not None:
        _fail(name, "a backward pass was given but theirs has no gradient to compare it with "
                    "(no floating-point input, or an output that does not require grad).", hint)


def randomise_batchnorm(*models: torch.nn.Module, seed: int = 1) -> None:
    """Give every BatchNorm of ``models`` the same non-trivial weight, bias and running statistics.

    Fresh BatchNorms are all weight 1, bias 0, mean 0, variance 1, so a block that swaps ``bn1``
    and ``bn2``, or a norm's weight and bias, or its mean and variance, computes the same numbers
    as a right one. The models must share state-dict keys (ours and torch's, after a key copy);
    a BatchNorm is found by its running statistics (``<prefix>running_mean``).
    """
    states = [m.state_dict() for m in models]
    g = torch.Generator().manual_seed(seed)
    for key in [k for k in states[0] if k.endswith("running_mean")]:
        prefix = key[: -len("running_mean")]
        c = states[0][key].shape
        values = {"weight": 1 + 0.3 * torch.randn(c, generator=g), "bias": 0.2 * torch.randn(c, generator=g),
                  "running_mean": 0.1 * torch.randn(c, generator=g), "running_var": 0.5 + torch.rand(c, generator=g)}
        for name, value in values.items():
            for s in states:
                if prefix + name in s:
                    s[prefix + name] = value.to(s[prefix + name].dtype).clone()
    for m, s in zip(models, states):
        m.load_state_dict(s)


def randomise_weights(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Every parameter of ``module`` random, and every BatchNorm's statistics (``randomise_batchnorm``):
    a check built on default weights cannot tell a norm's gain from its shift, nor 0 from a missing bias.

    Weights of two or more dimensions are He-scaled, z * sqrt(2 / fan_in), so deep stacks stay of
    order one; a normalisation layer's gain (a module whose class name holds "Norm") is 1 + 0.3 z;
    other vectors (biases, shifts) 0.2 z. Drawn in float64 and cast, so a float64 copy of the same
    module gets the same numbers. Returns the module.
    """
    g = torch.Generator().manual_seed(seed)
    gains = {f"{prefix}.weight" if prefix else "weight" for prefix, m in module.named_modules()
             if "Norm" in type(m).__name__}
    with torch.no_grad():
        for name, p in module.named_parameters():
            z = torch.randn(p.shape, generator=g, dtype=torch.float64)
            if name in gains:
                z = 1 + 0.3 * z
            elif p.dim() >= 2:
                z = z * (2.0 / p[0].numel()) ** 0.5
            else:
                z = 0.2 * z
            p.copy_(z.to(p.dtype))
    randomise_batchnorm(module, seed=seed + 1)
    return module
