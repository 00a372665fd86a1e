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

import contextlib
import importlib
import inspect
import os
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
import torch

__all__ = ["CheckError", "check_shape", "check_dtype", "check_close", "numerical_gradient",
           "grad_check", "max_relative_error", "check_like_torch", "READY_MADE_ACTIVATIONS", "forbid",
           "forbidden_now", "in_student_process"]


class CheckError(AssertionError):
    """A self-check failed; the message says what to change."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows for this error: the student's own frames, then the message.

        ``__tracebackhide__`` is not enough there: IPython always prints the innermost frame,
        and that is ours (the ``raise``), ~10 lines of checks.py before the one useful line.
        So the frames inside ``dlcourse`` are unlinked and IPython formats the rest.
        """
        from IPython import get_ipython

        kept, tb = [], self.__traceback__
        while tb is not None:
            if not tb.tb_frame.f_code.co_filename.startswith(_PACKAGE_DIR):
                kept.append(tb)
            tb = tb.tb_next
        for outer, inner in zip(kept, kept[1:] + [None]):
            outer.tb_next = inner
        # tb_offset=1: the first frame is IPython's run_code, which IPython hides too.
        return get_ipython().InteractiveTB.structured_traceback(
            type(self), self, kept[0] if kept else None, tb_offset=1)


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep       # .../dlcourse/


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


def _compare(name: str, got, expected, atol: float, rtol: float, hint: str | None) -> tuple[float, float]:
    """Raise unless |got - expected| <= atol + rtol |expected| everywhere.

    Returns the largest absolute error and the tolerance that applied at that entry, so
    a passing line can show two numbers a student compares at a glance.
    """
    __tracebackhide__ = True
    g = _as_tensor(name, got, hint)
    e = _as_tensor(f"{name} (reference)", expected, None)
    if tuple(g.shape) != tuple(e.shape):
        _fail(name, f"expected shape {_fmt_shape(e.shape)}, got {_fmt_shape(g.shape)}.", hint)
    g64, e64 = g.detach().cpu().double(), e.detach().cpu().double()
    if torch.isnan(g64).any() and not torch.isnan(e64).any():
        _fail(name, "contains NaN where the reference has none; look for log(0), 0/0 or an overflow in exp.", hint)
    if torch.isinf(g64).any() and not torch.isinf(e64).any():
        _fail(name, "contains inf where the reference has none; look for an overflow in exp or a division by 0.",
              hint)
    if torch.isnan(e64).any() and not torch.isnan(g64).any():
        _fail(name, "the reference contains NaN where this has a number; is the input outside the function's "
                    "domain?", hint)
    diff = (g64 - e64).abs()
    same = (torch.isnan(g64) & torch.isnan(e64)) | (g64 == e64)      # equal infinities and NaNs agree
    diff = torch.where(same, torch.zeros_like(diff), diff)
    allowed = atol + rtol * torch.where(torch.isfinite(e64), e64.abs(), torch.zeros_like(e64))
    bad = diff > allowed
    if bad.any():
        where = tuple(int(i) for i in torch.nonzero(bad)[0])
        _fail(name, f"values differ from the reference: max abs error {float(diff.max()):.2e}; "
                    f"first mismatch at index {where}: got {float(g64[where]):.6g}, "
                    f"expected {float(e64[where]):.6g}, allowed error there {float(allowed[where]):.1e}.", hint)
    if not diff.numel():
        return 0.0, atol
    worst = int(diff.flatten().argmax())
    return float(diff.flatten()[worst]), float(allowed.flatten()[worst])


def check_close(name: str, got, expected, *, atol: float = 1e-5, rtol: float = 1e-5,
                hint: str | None = None, verbose: bool = True) -> None:
    """Fail unless ``got`` matches ``expected`` in shape and values.

    An entry passes when |got - expected| <= atol + rtol |expected|. The printed line shows
    the largest error next to the tolerance that applied to that entry. Returns nothing, so
    a notebook cell that ends with a check shows no stray ``Out[..]`` number.
    """
    __tracebackhide__ = True
    err, allowed = _compare(name, got, expected, atol, rtol, hint)
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
                     grad_output=None, atol: float = 1e-5, rtol: float = 1e-5, grad_atol: float | None = None,
                     grad_rtol: float | None = None, seed: int = 0, hint: str | None = None,
                     verbose: bool = True) -> None:
    """Prove ``ours(*inputs)`` equal to ``theirs(*inputs)`` in value and in every input's gradient.

    Each floating-point tensor input is cloned twice (one copy each, with requires_grad),
    other inputs (integer labels, numbers) are passed as they are. Both outputs are
    back-propagated with the same upstream gradient, by default a seeded random tensor
    (with all ones, any error that sums to zero, as in softmax, would go unseen).

    backward: optional hand-written backward pass, ``backward(grad_output, *inputs)``
        returning one gradient per floating input (a tensor when there is one); it is
        compared with the gradients autograd computes through ``theirs``. With
        ``ours=None`` only this backward pass is checked (an exercise that writes no forward).
    grad_output: the upstream gradient (a tensor, or a tuple for several outputs).
    atol, rtol: tolerance of the outputs; grad_atol, grad_rtol: of the gradients
        (default: the same).

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
    outs_theirs = _as_outputs(name, "theirs", theirs(*xs_theirs))
    outs_ours = outs_theirs if ours is None else _as_outputs(name, "ours", ours(*xs_ours))
    if len(outs_ours) != len(outs_theirs):
        _fail(name, f"ours returned {len(outs_ours)} tensor(s), theirs {len(outs_theirs)}.", hint)

    def compare(label, got, expected, tol_abs, tol_rel):
        __tracebackhide__ = True
        err, allowed = _compare(label, got, expected, tol_abs, tol_rel, hint)
        if verbose:               # printed as it passes: a later failure still shows what was right
            print(f"OK {label}: max abs error {err:.1e} (allowed there: {allowed:.1e})")

    for j, (o, t) in enumerate(zip(outs_ours, outs_theirs) if ours is not None else []):
        compare(f"{name}, {'output' if len(outs_ours) == 1 else f'output {j + 1}'}", o, t, atol, rtol)

    if grad_output is None:
        g = torch.Generator().manual_seed(seed)
        grad_output = [torch.randn(t.shape, generator=g, dtype=torch.float64).to(t.dtype).to(t.device)
                       for t in outs_theirs]
    grads_out = list(grad_output) if isinstance(grad_output, (tuple, list)) else [grad_output]
    names = _input_names(theirs if ours is None else ours, len(inputs))
    differentiable = [j for j, t in enumerate(outs_theirs) if t.requires_grad]
    if diff_at and differentiable:
        def grads(outs, xs):
            pairs = [(outs[j], grads_out[j]) for j in differentiable if outs[j].requires_grad]
            if not pairs:
                return [None] * len(diff_at)
            return torch.autograd.grad([o for o, _ in pairs], [xs[k] for k in diff_at],
                                       [gr for _, gr in pairs], allow_unused=True)

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
            ref = g_theirs[i]
            if ref is None:                              # theirs does not depend on this input
                ref = torch.zeros_like(inputs[k])
            label = f"{name}, d/d{names[k]}" if " " not in names[k] else f"{name}, d/d({names[k]})"
            if ours is not None:
                got = g_ours[i]
                if got is None and bool((ref != 0).any()):
                    _fail(f"{label} (autograd through ours)", "no gradient reaches this input through ours; is "
                          "something detached on the way (.detach(), .item(), .numpy(), torch.tensor(...))?", hint)
                compare(f"{label} (autograd through ours)", torch.zeros_like(ref) if got is None else got, ref,
                        grad_atol, grad_rtol)
            if hand is not None:
                compare(f"{label} (by hand)", hand[i], ref, grad_atol, grad_rtol)
    elif backward is not None:
        _fail(name, "a backward pass was given but theirs has no gradient to compare it with "
                    "(no floating-point input, or an output that does not require grad).", hint)


def max_relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a - b| / (|a| + |b|): the scale-free error gradient checks report.

    The denominator is floored at 1e-6 of the largest entry, so entries that are zero up to
    rounding (where any difference is 100% "relative") do not dominate.
    """
    a, b = a.double(), b.double()
    floor = max(1e-6 * float((a.abs() + b.abs()).max()), 1e-12) if a.numel() else 1e-12
    return float(((a - b).abs() / (a.abs() + b.abs()).clamp_min(floor)).max()) if a.numel() else 0.0


def numerical_gradient(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                       eps: float = 1e-5) -> torch.Tensor:
    """Central differences (f(x + eps) - f(x - eps)) / 2 eps, one coordinate at a time.

    ``f`` returns a scalar. Run it in float64: in float32 the rounding error of f swamps
    the difference.
    """
    x = x.detach().clone()
    grad = torch.zeros_like(x)
    flat, gflat = x.view(-1), grad.view(-1)
    with torch.no_grad():
        for i in range(flat.numel()):
            old = flat[i].item()
            flat[i] = old + eps
            plus = float(f(x))
            flat[i] = old - eps
            minus = float(f(x))
            flat[i] = old
            gflat[i] = (plus - minus) / (2 * eps)
    return grad


def grad_check(f: Callable[..., torch.Tensor], inputs: Sequence[torch.Tensor], *,
               analytic: Sequence[torch.Tensor] | None = None, eps: float = 1e-5,
               tol: float = 1e-6, verbose: bool = True) -> None:
    """Compare gradients of the scalar ``f(*inputs)`` with central differences.

    analytic: gradients to check (e.g. from a hand-written backward pass); by default the
    ones autograd computes. Inputs are promoted to float64. Prints the max relative error
    (around 1e-8 or less for a correct gradient) and returns nothing.
    """
    __tracebackhide__ = True
    xs = [x.detach().double().requires_grad_(True) for x in inputs]
    if analytic is None:
        out = f(*xs)
        if out.numel() != 1:
            raise CheckError(f"grad_check: f must return a scalar, got shape {tuple(out.shape)}; "
                             "reduce it, e.g. with .sum().")
        analytic = torch.autograd.grad(out, xs, allow_unused=True)
    worst = 0.0
    for k, (x, g) in enumerate(zip(xs, analytic)):
        def f_k(xk, k=k):
            args = [xk if j == k else xs[j].detach() for j in range(len(xs))]
            return f(*args)
        num = numerical_gradient(f_k, x.detach(), eps)
        g = torch.zeros_like(num) if g is None else g.detach().double()
        if tuple(g.shape) != tuple(num.shape):
            raise CheckError(f"grad_check: the gradient of input {k} has shape {tuple(g.shape)} "
                             f"but the input has shape {tuple(num.shape)}.")
        err = max_relative_error(g, num)
        worst = max(worst, err)
        if err > tol:
            raise CheckError(f"grad_check: input {k}: relative error {err:.1e} between the analytic and the "
                             f"numerical gradient (should be below {tol:.0e}); the backward pass is wrong "
                             "for this input.")
    if verbose:
        print(f"OK gradient check: max relative error {worst:.1e} (allowed: {tol:.0e})")


# ----------------------------------------------------------------------------- rules
# The one list of torch's ready-made activations that an exercise "built from elementary ops"
# may not call (the chapters' references obey it too: tests/test_activations.py).
READY_MADE_ACTIVATIONS = tuple(f"{owner}.{name}" for owner, names in (
    ("torch", ("relu", "relu_", "sigmoid", "sigmoid_", "tanh", "tanh_", "softmax", "log_softmax", "prelu",
               "selu", "celu", "rrelu")),
    ("torch.nn.functional", ("relu", "relu_", "relu6", "leaky_relu", "prelu", "elu", "selu", "celu", "gelu",
                             "silu", "mish", "sigmoid", "tanh", "softmax", "log_softmax", "softplus",
                             "logsigmoid", "hardtanh", "hardsigmoid", "hardswish")),
    ("torch.special", ("expit", "softmax", "log_softmax")),
    ("torch.Tensor", ("relu", "relu_", "sigmoid", "sigmoid_", "tanh", "tanh_", "softmax", "log_softmax")),
) for name in names)

_FORBIDDEN: list[tuple[tuple[str, ...], str]] = []  # (names, rule) of every active `forbid` block


def _owner(dotted: str):
    module, _, attr = dotted.rpartition(".")
    if module == "torch.Tensor":
        return torch.Tensor, attr
    return importlib.import_module(module), attr


@contextlib.contextmanager
def forbid(names: Iterable[str] = READY_MADE_ACTIVATIONS,
           rule: str = "this exercise builds it from elementary operations") -> Iterator[None]:
    """While the block runs, calling any of ``names`` (dotted, e.g. ``"torch.relu"``) raises a
    CheckError that names the function and the rule. Used by exercises and their tests."""
    names = tuple(names)
    saved = []
    for dotted in names:
        owner, attr = _owner(dotted)
        if not hasattr(owner, attr):
            continue  # an older torch without this function

        def banned(*args, _dotted=dotted, **kwargs):
            __tracebackhide__ = True
            raise CheckError(f"your code called {_dotted}, which is not allowed here: {rule}.")
        saved.append((owner, attr, attr in vars(owner), vars(owner).get(attr)))
        setattr(owner, attr, banned)
    _FORBIDDEN.append((names, rule))
    try:
        yield
    finally:
        _FORBIDDEN.pop()
        for owner, attr, own, old in reversed(saved):
            if own:
                setattr(owner, attr, old)
            else:
                delattr(owner, attr)


# Set by the grader while it runs tests: how to run a course function next to the student's code.
_STUDENT_SIDE: Callable[[Callable], Callable] | None = None


def in_student_process(fn: Callable) -> Callable:
    """``fn`` (a function of ``dlcourse``), run where the student's code runs.

    In a notebook that is right here, so this returns ``fn``. When an assignment is graded, its
    tests run in the grader's process and reach the student's code through proxies; a driver
    that must hold the student's objects for a while (an optimizer stepping parameters in
    place, a training loop) runs next to them instead, and only its result (data) comes back.
    """
    return fn if _STUDENT_SIDE is None else _STUDENT_SIDE(fn)


def forbidden_now() -> list[tuple[tuple[str, ...], str]]:
    """(names, rule) of each active `forbid` block: the grader forwards them to the student's process."""
    return list(_FORBIDDEN)
