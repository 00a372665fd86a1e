"""Gradient checks by central differences (CS231n's ``grad_check``), run in float64.

Re-exported by ``dlcourse.checks``; they raise its ``CheckError``.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch

from dlcourse.errors import CheckError

__all__ = ["max_relative_error", "numerical_gradient", "grad_check"]


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
