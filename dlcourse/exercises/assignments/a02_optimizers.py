"""The checks of assignment a02 (optimizers): a student's optimizer class against torch.optim.

``check_optimizer`` runs the student's class for 100 steps on a problem of
``dlcourse.optim.trajectory`` (while grading, that loop runs in the grader and steps the
student's optimizer through the proxy, on parameters kept in their process) and compares every parameter after every step with torch.optim's path, computed here. When
they differ it names the fix: it replays the usual mistakes (no bias correction, AdamW's decay
on the gradient, state shared between parameters, ...) and says which one the path follows,
or at which step the paths part (step 1: the formula; later: what is kept between steps).
"""
from __future__ import annotations

import functools

import torch
from torch.optim import Optimizer

from dlcourse.checks import CheckError, check_close, forbid, is_student_error, matches
from dlcourse.precision import allowed_error, in_float64
from dlcourse.optim import trajectory

__all__ = ["CHAPTER", "READY_MADE_OPTIMIZERS", "check_optimizer", "SGD_MISTAKES", "ADAM_MISTAKES", "ADAMW_MISTAKES"]

CHAPTER = "06_optimizers"   # the chapter notebook this assignment practises

# What "from scratch" rules out: torch's optimizers and their functional forms, and the course's own.
READY_MADE_OPTIMIZERS = ("torch.optim.SGD", "torch.optim.Adam", "torch.optim.AdamW", "torch.optim.sgd.sgd",
                         "torch.optim.adam.adam", "torch.optim.adamw.adamw", "dlcourse.optim.SGD",
                         "dlcourse.optim.Adam", "dlcourse.optim.AdamW")
# The textbook order of operations rounds differently from torch.optim's: the allowed error is
# measured on each path (torch.optim's path in float32 against the same path in float64,
# dlcourse.precision); each mistake below is off by 1e-3 or more.


# ----------------------------------------------------------------------------- the usual mistakes
class _Variant(Optimizer):
    """An optimizer made of a per-tensor update rule(p, g, state, group): one known mistake."""
    rule = None

    def __init__(self, params, lr=1e-3, momentum=0.0, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum, betas=betas, eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    type(self).rule(p, p.grad, self.state[p], group)


def _variant(rule, **flags) -> type:
    return type("Mistake", (_Variant,), {"rule": staticmethod(functools.partial(rule, **flags))})


def _sgd(p, g, state, h, *, decay=True, ema=False, ascent=False):
    if decay:
        g = g + h["weight_decay"] * p
    if h["momentum"]:
        if ema:      # b = mu b + (1 - mu) g, from zero: the exponential average, not PyTorch's sum
            b = state.setdefault("b", torch.zeros_like(p)).mul_(h["momentum"]).add_((1 - h["momentum"]) * g)
        elif "b" not in state:
            b = state["b"] = g.clone()
        else:
            b = state["b"].mul_(h["momentum"]).add_(g)
        g = b
    p.add_(g, alpha=h["lr"] if ascent else -h["lr"])


def _adam(p, g, state, h, *, l2=True, decoupled=False, correct1=True, correct2=True, eps_inside=False,
          decay_times_lr=True):
    beta1, beta2 = h["betas"]
    if decoupled:
        p.mul_(1 - (h["lr"] if decay_times_lr else 1.0) * h["weight_decay"])
    elif l2:
        g = g + h["weight_decay"] * p
    if not state:
        state.update(t=0, m=torch.zeros_like(p), v=torch.zeros_like(p))
    state["t"] += 1
    t, m, v = state["t"], state["m"], state["v"]
    m.mul_(beta1).add_((1 - beta1) * g)
    v.mul_(beta2).add_((1 - beta2) * g * g)
    m_hat = m / (1 - beta1 ** t) if correct1 else m
    v_hat = v / (1 - beta2 ** t) if correct2 else v
    denom = (v_hat + h["eps"]).sqrt() if eps_inside else v_hat.sqrt() + h["eps"]
    p.sub_(h["lr"] * m_hat / denom)


SGD_MISTAKES = {
    "the exponential average b = momentum * b + (1 - momentum) * g":
        (_variant(_sgd, ema=True), "PyTorch's momentum sums the gradients: b = momentum * b + g (and b = g at "
                                   "the first step), with no (1 - momentum) factor."),
    "no weight decay": (_variant(_sgd, decay=False), "add weight_decay * p to the gradient before the momentum "
                                                     "update: g = p.grad + weight_decay * p."),
    "a step up the gradient": (_variant(_sgd, ascent=True), "step against the gradient: p -= lr * b."),
}
ADAM_MISTAKES = {
    "Adam without bias correction": (_variant(_adam, correct1=False, correct2=False),
                                     "divide m by (1 - beta1^t) and v by (1 - beta2^t), where t counts this "
                                     "parameter's steps from 1 (keep it in its state)."),
    "Adam with only m bias-corrected": (_variant(_adam, correct2=False),
                                        "correct v too: v_hat = v / (1 - beta2^t), then sqrt(v_hat) + eps."),
    "Adam with eps inside the square root": (_variant(_adam, eps_inside=True),
                                             "add eps after the square root: sqrt(v_hat) + eps."),
    "Adam without its weight decay": (_variant(_adam, l2=False),
                                      "Adam's weight_decay is L2: add weight_decay * p to the gradient before "
                                      "updating m and v."),
    "AdamW (the decay on the weights)": (_variant(_adam, decoupled=True),
                                         "that is AdamW; Adam's weight_decay is L2: g = p.grad + weight_decay * p, "
                                         "and p is not shrunk separately."),
}
ADAMW_MISTAKES = {
    "Adam with the decay added to the gradient (L2)": (_variant(_adam, l2=True),
                                                       "AdamW decays the weights, not the gradient: first "
                                                       "p *= 1 - lr * weight_decay, then the Adam step with the "
                                                       "plain p.grad in m and v."),
    "AdamW with p *= 1 - weight_decay": (_variant(_adam, decoupled=True, decay_times_lr=False),
                                         "the decay is scaled by the learning rate: p *= 1 - lr * weight_decay."),
    "AdamW without bias correction": (_variant(_adam, decoupled=True, correct1=False, correct2=False),
                                      "divide m by (1 - beta1^t) and v by (1 - beta2^t), where t counts this "
                                      "parameter's steps from 1."),
}


# ----------------------------------------------------------------------------- the check
def _first_bad_step(got: list, expected: list, shadow: list) -> int:
    bad = []
    for a, b, s in zip(got, expected, shadow):
        target, allowed = allowed_error(b, s)
        bad.append(((a.double() - target).abs() > allowed).flatten(1).any(1))
    return int(torch.stack(bad).any(0).float().argmax())


def check_optimizer(name: str, student_class, reference, hyper: dict, *, mistakes: dict | None = None,
                    problem: str = "digits_mlp", steps: int = 100) -> None:
    """Fail unless ``student_class(params, **hyper)`` follows ``reference``'s path for ``steps`` steps.

    reference: a torch.optim class (run here). mistakes: {description: (class, fix)} tried when
    the paths differ, so the message names the fix. Prints one line per parameter tensor.
    """
    __tracebackhide__ = True
    label = f"{name}({', '.join(f'{k}={v}' for k, v in hyper.items())})"
    expected = trajectory(reference, problem, steps, **hyper)
    shadow = in_float64(trajectory, reference, problem, steps, **hyper)
    try:
        got = _student_path(student_class, problem, steps, hyper)
    except Exception as e:  # noqa: BLE001 - the student's step raised: say so, and whether one parameter works
        if not is_student_error(e):  # a timeout or a broken pipe is the grader's to handle
            raise
        message = getattr(e, "message", None) or str(e)
        kind = getattr(e, "kind", type(e).__name__)
        if kind == "NotImplementedError":
            raise CheckError(f"{label}: step() still raises NotImplementedError; write the update.") from None
        single = _works_on_one_parameter(student_class, reference, hyper)
        raise CheckError(f"{label}: step() raised {kind}: {message.rstrip('.')}."
                         + (" It works with one parameter tensor but not with several of different shapes: "
                            "keep each parameter's state separately, in self.state[p] (a dict per parameter)."
                            if single else "")) from None
    if not isinstance(got, list) or len(got) != len(expected):
        raise CheckError(f"{label}: the driver got no parameters back; does __init__ call super().__init__?")
    if all(torch.equal(t[-1], t[0]) for t in got):
        raise CheckError(f"{label}: the parameters never changed: step() must update each p in place "
                         "(p -= ..., p.add_(...)), under torch.no_grad().")
    if not matches(got, expected, shadow):
        for what, (variant, fix) in (mistakes or {}).items():
            if matches(got, trajectory(variant, problem, steps, **hyper), like=(expected, shadow)):
                raise CheckError(f"{label}: your parameters follow {what}: {fix}")
        if problem != "rosenbrock" and _works_on_one_parameter(student_class, reference, hyper):
            raise CheckError(f"{label}: right with one parameter tensor, wrong with several: keep each "
                             "parameter's state separately, in self.state[p] (a dict per parameter), and "
                             "its step count t too.")
        k = _first_bad_step(got, expected, shadow)
        where = ("the first update already differs: check the update formula and the initial state"
                 if k <= 1 else f"the first {k - 1} steps are right and step {k} differs: check what is kept "
                 "between steps (the state) and how the step count t advances")
        raise CheckError(f"{label}: the parameters differ from {getattr(reference, '__name__', reference)}'s "
                         f"({where}).")
    for j, (a, b, s) in enumerate(zip(got, expected, shadow)):
        check_close(f"{label}, {steps} steps, parameter {j + 1} of {len(got)}", a, b, shadow=s)


def _student_path(student_class, problem: str, steps: int, hyper: dict) -> list:
    """``trajectory`` of the student's class, with ready-made optimizers forbidden in their code (the
    references here are computed outside this block). The loop runs here: while grading, only the
    student's ``__init__`` and ``step()`` run in their process, on parameters kept there."""
    __tracebackhide__ = True
    with forbid(READY_MADE_OPTIMIZERS, "this assignment builds each optimizer from its update equations"):
        return trajectory(student_class, problem, steps, **hyper)


def _works_on_one_parameter(student_class, reference, hyper) -> bool:
    """Whether the student's class is right on the one-tensor Rosenbrock problem (50 small steps)."""
    small = {**hyper, "lr": min(hyper.get("lr", 1e-3), 1e-3)}
    try:
        got = _student_path(student_class, "rosenbrock", 50, small)
    except Exception as e:  # noqa: BLE001 - any failure of the student's code means "no"
        if not is_student_error(e):
            raise
        return False
    return matches(got, trajectory(reference, "rosenbrock", 50, **small),
                   in_float64(trajectory, reference, "rosenbrock", 50, **small))
