"""Optimizers written from their update equations: SGD (momentum, Nesterov), RMSprop, Adam, AdamW.

Each is a ``torch.optim.Optimizer``, so param groups, ``zero_grad``, ``state_dict``, the LR
schedulers and ``dlcourse.fit`` work with it unchanged, and each keeps the same per-parameter
state keys as its ``torch.optim`` twin (``momentum_buffer``, ``square_avg``, ``grad_avg``, ``exp_avg``,
``exp_avg_sq``, ``max_exp_avg_sq``, ``step``, a 0-d tensor as in torch), so a state dict saved by one
loads into the other and the run goes on. The options are torch's, in torch's positional order:
``maximize`` on all four, ``amsgrad`` on Adam and AdamW, ``centered`` on RMSprop. A step updates
all the parameters of a group at once with ``torch._foreach_*`` ops (one call per operation
over a list of tensors, which is what torch.optim's ``foreach`` path does) instead of a Python
loop over parameters. The arithmetic follows torch.optim operation for operation (e.g. ``lerp``
for Adam's first moment), so in fp32 the two agree to the last bit or nearly:
tests/test_optim.py holds them to it over 150 steps of a real model.

``rosenbrock`` and ``trajectory`` are the chapter's test bench: a 2-D valley, a tiny MLP on
scikit-learn's digits, and a driver that records every parameter after every step (the
assignment's tests run it next to the student's optimizer).

References: Polyak (1964) momentum; Nesterov (1983), in Sutskever et al. (2013)'s form;
Tieleman & Hinton (2012) RMSprop; Kingma & Ba (2015) Adam; Loshchilov & Hutter (2019) AdamW.
"""
from __future__ import annotations

import functools
from typing import Callable, Iterable

import torch
from torch.optim import Optimizer

from dlcourse.reach import beside

__all__ = ["SGD", "RMSprop", "Adam", "AdamW", "rosenbrock", "digits_mlp_loss", "init_params", "trajectory"]


def _check(name: str, value: float, low: float = 0.0, high: float | None = None) -> None:
    if not low <= value or (high is not None and not value < high):
        bound = f"in [{low}, {high})" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be {bound}; got {value!r}.")


def _torch_only(who: str, capturable=False, differentiable=False, fused=None) -> None:
    """torch.optim's implementation switches: accepted in their places, refused when asked for.

    foreach is accepted whatever its value (every step here is a foreach step, and the arithmetic
    is the same either way); the others change how torch runs, not what it computes, and are
    left out: capturable (CUDA graphs), differentiable (gradients through the step), fused.
    """
    for name, value in (("capturable", capturable), ("differentiable", differentiable), ("fused", fused)):
        if value:
            raise ValueError(f"{who}: {name}={value!r} is left out of dlcourse on purpose (it is how "
                             f"torch.optim runs, not what it computes); use torch.optim.{who} for that.")


def _step_count(state: dict) -> float:
    """The step number t as a float: torch.optim keeps it as a 0-d tensor, older state dicts as an int."""
    return float(state["step"])


def _new_step() -> torch.Tensor:
    # a float32 0-d tensor on the CPU, as torch.optim keeps it (not capturable): a state dict of
    # ours then has exactly the form of torch's, and torch.optim loads it unchanged
    return torch.tensor(0.0, dtype=torch.float32)


class _ForeachOptimizer(Optimizer):
    """What every optimizer here shares: the closure protocol and the grouping of a group's
    parameters with gradients into lists of one device and dtype (a foreach op takes such lists)."""

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None):
        """One update of every parameter that has a gradient; returns the closure's loss, if any."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lists: dict[tuple, tuple[list, list]] = {}
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError(f"{type(self).__name__} does not support sparse gradients.")
                params, grads = lists.setdefault((p.device, p.dtype), ([], []))
                params.append(p)
                grads.append(p.grad)
            for params, grads in lists.values():
                if group["maximize"]:   # ascend: step along +grad (torch negates it first too)
                    grads = torch._foreach_neg(grads)
                self._update(group, params, grads, [self.state[p] for p in params])
        return loss

    def _update(self, group: dict, params: list, grads: list, states: list[dict]) -> None:
        raise NotImplementedError


class SGD(_ForeachOptimizer):
    """Stochastic gradient descent with momentum (Polyak), Nesterov momentum and weight decay.

    g = grad + weight_decay * p                        (grad is -grad with maximize=True)
    b = g at the first step, then b = momentum * b + (1 - dampening) * g
    d = g + momentum * b (Nesterov) or b (classical), or g when momentum = 0
    p = p - lr * d
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False, fused: bool | None = None):
        _torch_only("SGD", differentiable=differentiable, fused=fused)
        _check("lr", lr), _check("momentum", momentum), _check("weight_decay", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum needs momentum > 0 and dampening = 0.")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov, maximize=maximize))

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("maximize", False)

    def _update(self, group, params, grads, states):
        lr, momentum, wd = group["lr"], group["momentum"], group["weight_decay"]
        if wd != 0:   # out of place: p.grad stays the gradient of the loss
            grads = torch._foreach_add(grads, params, alpha=wd)
        if momentum != 0:
            old = [i for i, s in enumerate(states) if "momentum_buffer" in s]
            if old:
                bufs = [states[i]["momentum_buffer"] for i in old]
                torch._foreach_mul_(bufs, momentum)
                torch._foreach_add_(bufs, [grads[i] for i in old], alpha=1 - group["dampening"])
            for s, g in zip(states, grads):
                if "momentum_buffer" not in s:   # the first step starts the buffer at g, undamped
                    s["momentum_buffer"] = g.detach().clone()
            bufs = [s["momentum_buffer"] for s in states]
            grads = torch._foreach_add(grads, bufs, alpha=momentum) if group["nesterov"] else bufs
        torch._foreach_add_(params, grads, alpha=-lr)


class RMSprop(_ForeachOptimizer):
    """RMSprop (Tieleman & Hinton 2012): divide by a running root mean square of the gradient.

    g = grad + weight_decay * p                        (grad is -grad with maximize=True)
    s = alpha * s + (1 - alpha) * g^2                  (s starts at 0)
    r = sqrt(s), or with centered=True sqrt(s - a^2) where a = alpha * a + (1 - alpha) * g
        (a running mean of g, from 0: divide by a running standard deviation instead; Graves 2013)
    d = g / (r + eps)
    with momentum: b = momentum * b + d, p = p - lr * b; else p = p - lr * d

    The positional order is torch.optim.RMSprop's, whose capturable and foreach come before
    maximize (see ``_torch_only`` for those switches).
    """

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("centered", False)
            group.setdefault("maximize", False)

    def __init__(self, params: Iterable, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
                 capturable: bool = False, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False):
        _torch_only("RMSprop", capturable, differentiable)
        _check("lr", lr), _check("alpha", alpha, 0.0, 1.0), _check("eps", eps)
        _check("weight_decay", weight_decay), _check("momentum", momentum)
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered, maximize=maximize))

    def _update(self, group, params, grads, states):
        lr, alpha, momentum, wd = group["lr"], group["alpha"], group["momentum"], group["weight_decay"]
        centered = group["centered"]
        for p, s in zip(params, states):
            if not s:
                s["step"] = _new_step()
                s["square_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                if momentum > 0:
                    s["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                if centered:
                    s["grad_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            s["step"] += 1
        if wd != 0:
            grads = torch._foreach_add(grads, params, alpha=wd)
        square_avgs = [s["square_avg"] for s in states]
        torch._foreach_mul_(square_avgs, alpha)
        torch._foreach_addcmul_(square_avgs, grads, grads, value=1 - alpha)
        if centered:    # E[g^2] - E[g]^2: the variance, computed as torch.optim rounds it
            grad_avgs = [s["grad_avg"] for s in states]
            torch._foreach_lerp_(grad_avgs, grads, 1 - alpha)
            rms = torch._foreach_addcmul(square_avgs, grad_avgs, grad_avgs, value=-1)
            torch._foreach_sqrt_(rms)
        else:
            rms = torch._foreach_sqrt(square_avgs)
        torch._foreach_add_(rms, group["eps"])
        if momentum > 0:
            bufs = [s["momentum_buffer"] for s in states]
            torch._foreach_mul_(bufs, momentum)
            torch._foreach_addcdiv_(bufs, grads, rms)
            torch._foreach_add_(params, bufs, alpha=-lr)
        else:
            torch._foreach_addcdiv_(params, grads, rms, value=-lr)


class Adam(_ForeachOptimizer):
    """Adam (Kingma & Ba 2015), with L2 weight decay added to the gradient, as torch.optim.Adam does.

    g = grad + weight_decay * p                        (AdamW decays p instead: see below)
    m = beta1 * m + (1 - beta1) * g                    (m, v start at 0; t counts steps from 1)
    v = beta2 * v + (1 - beta2) * g^2
    p = p - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)

    amsgrad=True (Reddi, Kale & Kumar 2018) divides by the largest v so far instead of v, so a
    weight's step size never grows back after a burst of large gradients; maximize=True ascends.
    The state (``step`` a 0-d tensor, ``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq``) is
    torch.optim.Adam's: a state dict moves between the two either way and the run goes on.
    decoupled_weight_decay=True is AdamW, as in torch.optim.Adam.
    """

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False):
        _torch_only(type(self).__name__, capturable, differentiable, fused)
        _check("lr", lr), _check("eps", eps), _check("weight_decay", weight_decay)
        _check("betas[0]", betas[0], 0.0, 1.0), _check("betas[1]", betas[1], 0.0, 1.0)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def __setstate__(self, state: dict) -> None:
        # load_state_dict ends here: a group saved without a flag (an older dlcourse state dict) gets
        # its default, as torch.optim.Adam does
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("amsgrad", False)
            group.setdefault("maximize", False)
            group.setdefault("decoupled_weight_decay", False)

    def _update(self, group, params, grads, states):
        lr, (beta1, beta2), wd = group["lr"], group["betas"], group["weight_decay"]
        amsgrad = group["amsgrad"]
        for p, s in zip(params, states):
            if not s:
                s["step"] = _new_step()
                s["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                s["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                if amsgrad:
                    s["max_exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            s["step"] += 1
        if wd != 0:
            if group["decoupled_weight_decay"]:   # AdamW: decay the weights, not the gradient
                torch._foreach_mul_(params, 1 - lr * wd)
            else:
                grads = torch._foreach_add(grads, params, alpha=wd)
        exp_avgs, exp_avg_sqs = [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states]
        # m + (1 - beta1)(g - m) is beta1 m + (1 - beta1) g; lerp is torch.optim's rounding of it
        torch._foreach_lerp_(exp_avgs, grads, 1 - beta1)
        torch._foreach_mul_(exp_avg_sqs, beta2)
        torch._foreach_addcmul_(exp_avg_sqs, grads, grads, value=1 - beta2)
        if amsgrad:     # the running maximum of v, and the division by it
            exp_avg_sqs = [s["max_exp_avg_sq"] for s in states]
            torch._foreach_maximum_(exp_avg_sqs, [s["exp_avg_sq"] for s in states])
        # bias correction: m and v start at 0, so early averages are too small by 1 - beta^t
        steps = [_step_count(s) for s in states]
        step_sizes = [-lr / (1 - beta1 ** t) for t in steps]
        denom = torch._foreach_sqrt(exp_avg_sqs)
        torch._foreach_div_(denom, [(1 - beta2 ** t) ** 0.5 for t in steps])
        torch._foreach_add_(denom, group["eps"])
        torch._foreach_addcdiv_(params, exp_avgs, denom, step_sizes)


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter 2019): Adam whose weight decay shrinks the weights directly,
    p = p * (1 - lr * weight_decay) before the Adam step, instead of joining the gradient (where
    Adam's division by sqrt(v) would rescale it per weight)."""

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         maximize=maximize, capturable=capturable, differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        for group in self.param_groups:   # whatever was saved (an Adam's state, say), AdamW decays the weights
            group["decoupled_weight_decay"] = True


# ----------------------------------------------------------------------------- test bench
def rosenbrock(xy: torch.Tensor, a: float = 1.0, b: float = 100.0) -> torch.Tensor:
    """(a - x)^2 + b (y - x^2)^2 for xy = (x, y) (or (..., 2)): a curved valley, minimum 0 at (a, a^2)."""
    x, y = xy[..., 0], xy[..., 1]
    return (a - x) ** 2 + b * (y - x * x) ** 2


@functools.lru_cache(maxsize=1)
def _digits(n: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits
    digits = load_digits()
    x = torch.tensor(digits.data[:n], dtype=torch.float32) / 16.0   # 8x8 pixels in [0, 1]
    return x, torch.tensor(digits.target[:n])


def digits_mlp_loss(params: list[torch.Tensor]) -> torch.Tensor:
    """Cross-entropy of a 64-16-10 tanh MLP, params [W1 (16, 64), b1 (16,), W2 (10, 16), b2 (10,)],
    on the first 256 of scikit-learn's digits (full batch: the gradient is a function of params)."""
    x, y = _digits()
    w1, b1, w2, b2 = params
    return torch.nn.functional.cross_entropy(torch.tanh(x @ w1.T + b1) @ w2.T + b2, y)


LOSSES = {"rosenbrock": lambda params: rosenbrock(params[0]), "digits_mlp": digits_mlp_loss}


def init_params(problem: str = "digits_mlp", seed: int = 0) -> list[torch.Tensor]:
    """Starting parameters for ``trajectory``: nn.Linear's scale for the MLP, (-1.5, 2) in the valley."""
    if problem == "rosenbrock":
        return [torch.tensor([-1.5, 2.0])]
    if problem != "digits_mlp":
        raise ValueError(f"unknown problem {problem!r}; choose from {sorted(LOSSES)}.")
    g = torch.Generator().manual_seed(seed)
    shapes = [(16, 64), (16,), (10, 16), (10,)]
    fan_in = [64, 64, 16, 16]
    return [(torch.rand(s, generator=g) * 2 - 1) / k ** 0.5 for s, k in zip(shapes, fan_in)]


def trajectory(optimizer_class, problem: str = "digits_mlp", steps: int = 100, *,
               params: list[torch.Tensor] | None = None, seed: int = 0, groups: list[dict] | None = None,
               **hyper) -> list[torch.Tensor]:
    """Every parameter after every step of ``optimizer_class`` on a problem of ``LOSSES``.

    params: the starting point (default ``init_params(problem, seed)``); groups: param groups
    as dicts whose "params" are indices into params (e.g. [{"params": [0, 2]}, {"params": [1, 3],
    "weight_decay": 0}]); hyper: the optimizer's keyword arguments. Returns one tensor per
    parameter, shaped (steps + 1, *param.shape): row 0 is the start. The loss and its gradients
    are computed here, whatever the optimizer; while grading, a student's optimizer steps
    parameters kept in their process (``dlcourse.reach.beside``), so this loop, run by the
    grader, decides every gradient and reads every step's result.
    """
    if problem not in LOSSES:
        raise ValueError(f"unknown problem {problem!r}; choose from {sorted(LOSSES)}.")
    start = init_params(problem, seed) if params is None else params
    values = [p.detach().clone().float() for p in start]
    # The leaves live where the optimizer does (while grading, a student's optimizer is in their
    # process): this loop computes each gradient here, sets it there and reads the step's result.
    leaves = [beside(optimizer_class, v.clone().requires_grad_(True)) for v in values]
    if groups is None:
        optimizer = optimizer_class(leaves, **hyper)
    else:
        optimizer = optimizer_class([{**g, "params": [leaves[i] for i in g["params"]]} for g in groups], **hyper)
    path = [[v] for v in values]
    for _ in range(steps):
        current = [v.clone().requires_grad_(True) for v in values]
        grads = torch.autograd.grad(LOSSES[problem](current), current)
        for leaf, grad in zip(leaves, grads):
            leaf.grad = grad
        optimizer.step()
        values = [leaf.data.detach().clone() for leaf in leaves]
        for record, v in zip(path, values):
            record.append(v)
    return [torch.stack(record) for record in path]
