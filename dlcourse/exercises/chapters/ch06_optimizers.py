"""Checks of chapter 06's exercises (optimizers): Adagrad and AMSGrad, step for step == torch.optim.

Each check runs the student's optimizer class and torch.optim's for 100 steps on the same
tiny MLP (``dlcourse.optim.trajectory``) and compares every parameter after every step with
``check_like_torch``. A placeholder whose ``step`` changes nothing counts as not attempted.
"""
from __future__ import annotations

import torch

from dlcourse.checks import check_like_torch
from dlcourse.exercises import not_attempted
from dlcourse.optim import trajectory

__all__ = ["STEPS", "check_against_torch", "check_adagrad", "check_amsgrad"]

STEPS = 100
# A from-scratch update written in another (equally right) order rounds differently, and the
# differences grow over 100 steps of a non-convex model: check_like_torch measures how much on
# torch's own path (float32 against float64). A real mistake (a missing square root, a max in
# the wrong place) is off by 1e-3 or more within a few steps.


def check_against_torch(name: str, ours, theirs, settings: list[dict], hint: str | None = None,
                        steps: int = STEPS, problem: str = "digits_mlp") -> None:
    """Prove the optimizer class ``ours`` equal to ``theirs`` (a torch.optim class) over ``steps``
    steps, for each dict of hyper-parameters in ``settings``: one line per parameter tensor."""
    __tracebackhide__ = True
    for hyper in settings:
        label = f"{name}({', '.join(f'{k}={v}' for k, v in hyper.items())}), {steps} steps"
        check_like_torch(label, lambda: trajectory(ours, problem, steps, **hyper),
                         lambda: trajectory(theirs, problem, steps, **hyper), hint=hint)


def _not_attempted(optimizer_class, number: int, what: str) -> bool:
    """The placeholder's step changes nothing: two steps leave every parameter where it was."""
    path = trajectory(optimizer_class, "digits_mlp", 2, lr=1e-2)
    return not_attempted(None if all(torch.equal(t[-1], t[0]) for t in path) else path, number, what)


def check_adagrad(Adagrad) -> None:
    """Exercise 1: Adagrad(params, lr=1e-2, eps=1e-10) == torch.optim.Adagrad."""
    __tracebackhide__ = True
    if _not_attempted(Adagrad, 1, "make Adagrad.step add g^2 to a per-parameter sum and divide by its root."):
        return
    check_against_torch("Adagrad", Adagrad, torch.optim.Adagrad, [dict(lr=1e-2), dict(lr=0.1, eps=1e-6)],
                        hint="state_sum starts at 0 for each parameter and only grows: state_sum += g * g, "
                             "then p -= lr * g / (sqrt(state_sum) + eps), with eps outside the square root.")


def check_amsgrad(AMSGrad) -> None:
    """Exercise 2: AMSGrad(params, lr, betas, eps) == torch.optim.Adam(..., amsgrad=True)."""
    __tracebackhide__ = True
    if _not_attempted(AMSGrad, 2, "make AMSGrad.step keep the running maximum of v and divide by it."):
        return

    def torch_amsgrad(params, **hyper):
        return torch.optim.Adam(params, amsgrad=True, **hyper)

    check_against_torch("AMSGrad", AMSGrad, torch_amsgrad, [dict(lr=1e-2), dict(lr=3e-3, betas=(0.8, 0.9))],
                        hint="keep v_max = max(v_max, v) per parameter (starting at 0) and use it in place of v: "
                             "p -= lr / (1 - beta1^t) * m / (sqrt(v_max / (1 - beta2^t)) + eps). The first "
                             "moment m keeps its bias correction.")
