"""Student-facing self-checks: compare with a reference and say, in one sentence, what to change.

Every check raises ``CheckError`` (an ``AssertionError``, so nbgrader and pytest treat it
as a failed test) with a message that names the value, what was expected, what was found,
and a hint. On success it prints the measured error next to the tolerance, the way
CS231n's checks do, and returns it.
"""
from __future__ import annotations

import contextlib
import importlib
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
import torch

__all__ = ["CheckError", "check_shape", "check_dtype", "check_close", "numerical_gradient",
           "grad_check", "max_relative_error", "READY_MADE_ACTIVATIONS", "forbid", "forbidden_now"]


class CheckError(AssertionError):
    """A self-check failed; the message says what to change."""


def _fmt_shape(shape) -> str:
    dims = ["N" if d is None else str(d) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def _fail(name: str, problem: str, hint: str | None) -> None:
    raise CheckError(f"{name}: {problem}" + (f" {hint}" if hint else ""))


def _as_tensor(name: str, value, hint: str | None) -> torch.Tensor:
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
    t = _as_tensor(name, value, hint)
    if t.dtype != expected:
        _fail(name, f"expected dtype {str(expected).replace('torch.', '')}, "
                    f"got {str(t.dtype).replace('torch.', '')}.",
              hint or f"convert with .to(torch.{str(expected).replace('torch.', '')}).")


def check_close(name: str, got, expected, *, atol: float = 1e-5, rtol: float = 1e-5,
                hint: str | None = None, verbose: bool = True) -> float:
    """Fail unless ``got`` matches ``expected`` in shape and values; return the max abs error."""
    g = _as_tensor(name, got, hint)
    e = _as_tensor(f"{name} (reference)", expected, None)
    if tuple(g.shape) != tuple(e.shape):
        _fail(name, f"expected shape {_fmt_shape(e.shape)}, got {_fmt_shape(g.shape)}.", hint)
    g64, e64 = g.detach().cpu().double(), e.detach().cpu().double()
    if torch.isnan(g64).any() and not torch.isnan(e64).any():
        _fail(name, "contains NaN where the reference has none; look for log(0), 0/0 or an overflow in exp.", hint)
    diff = (g64 - e64).abs()
    diff = torch.where(torch.isnan(g64) & torch.isnan(e64), torch.zeros_like(diff), diff)
    err = float(diff.max()) if diff.numel() else 0.0
    bad = diff > atol + rtol * e64.abs()
    if bad.any():
        where = tuple(int(i) for i in torch.nonzero(bad)[0])
        _fail(name, f"values differ from the reference: max abs error {err:.2e} (tolerance {atol:.0e}); "
                    f"first mismatch at index {where}: got {float(g64[where]):.6g}, "
                    f"expected {float(e64[where]):.6g}.", hint)
    if verbose:
        bound = f"{atol:.0e}" + (f" + {rtol:.0e} x |expected|" if rtol else "")
        print(f"OK {name}: max abs error {err:.1e} (should be below {bound})")
    return err


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
               tol: float = 1e-6, verbose: bool = True) -> float:
    """Compare gradients of the scalar ``f(*inputs)`` with central differences.

    analytic: gradients to check (e.g. from a hand-written backward pass); by default the
    ones autograd computes. Inputs are promoted to float64. Returns the max relative error,
    which should be around 1e-8 or less for a correct gradient.
    """
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
        print(f"OK gradient check: max relative error {worst:.1e} (should be below {tol:.0e})")
    return worst


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


def forbidden_now() -> list[tuple[tuple[str, ...], str]]:
    """(names, rule) of each active `forbid` block: the grader forwards them to the student's process."""
    return list(_FORBIDDEN)
