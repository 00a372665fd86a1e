"""Learning-rate schedules as pure functions of the step, equal to ``torch.optim.lr_scheduler``.

Each schedule returns the *factor* by which the optimizer's learning rate is multiplied at
optimizer step ``step`` (0, 1, 2, ...): ``lr(step) = lr * schedule(step)``. This is
``LambdaLR``'s convention (and Hugging Face's ``get_*_schedule_with_warmup``), chosen over
``LRScheduler`` subclasses because:

- a function of the step can be read top to bottom, plotted without an optimizer, and
  tested at any step without replaying the steps before it;
- ``as_scheduler`` turns any of them into torch's own ``LambdaLR``, which ``dlcourse.fit``
  steps and checkpoints like any scheduler, and which scales each parameter group's own lr;
- several of torch's classes (StepLR, LinearLR, CosineAnnealingLR) update the rate
  recursively (``lr *= ...`` each step), where a closed form is exact; the two agree to
  rounding (``tests/test_schedules.py``).

Arguments keep torch's names (``step_size``, ``T_0``, ``T_mult``, ``pct_start``...) so the
twins are easy to compare; absolute floors (``eta_min``) become factors (``min_factor``).
"""
from __future__ import annotations

import math
from functools import partial
from typing import Callable

import torch
from torch.optim.lr_scheduler import LambdaLR

__all__ = ["step_decay", "cosine_warm_restarts", "cosine_decay", "linear_warmup", "one_cycle",
           "as_scheduler", "schedule_trace"]


def step_decay(step: int, *, step_size: int, gamma: float = 0.1) -> float:
    """Multiply by ``gamma`` every ``step_size`` steps (== StepLR)."""
    return gamma ** (step // step_size)


def _cosine(progress: float, min_factor: float) -> float:
    """Half a cosine from 1 (progress 0) down to min_factor (progress 1)."""
    return min_factor + (1 - min_factor) * (1 + math.cos(math.pi * progress)) / 2


def cosine_warm_restarts(step: int, *, T_0: int, T_mult: int = 1, min_factor: float = 0.0) -> float:
    """SGDR (Loshchilov & Hutter 2017): cosine decay over T_0 steps, then a restart at factor 1;
    each cycle is T_mult times as long as the one before (== CosineAnnealingWarmRestarts with
    eta_min = min_factor * lr)."""
    period = T_0
    while step >= period:        # integers: no log() that rounds 2.9999 down at a restart
        step -= period
        period *= T_mult
    return _cosine(step / period, min_factor)


def cosine_decay(step: int, *, total_steps: int, min_factor: float = 0.0) -> float:
    """One cosine from 1 to min_factor over total_steps, then flat at min_factor.
    (CosineAnnealingLR climbs back up after T_max steps; a run that ends there never sees it.)"""
    return _cosine(min(step, total_steps) / total_steps, min_factor)


def linear_warmup(step: int, *, warmup_steps: int, start_factor: float = 0.01,
                  then: Callable[[int], float] | None = None) -> float:
    """Linear from start_factor to 1 over warmup_steps (== LinearLR), then ``then(step -
    warmup_steps)`` (e.g. a cosine decay; == SequentialLR) or constant 1."""
    if step < warmup_steps:
        return start_factor + (1 - start_factor) * step / warmup_steps
    return 1.0 if then is None else then(step - warmup_steps)


def _anneal(start: float, end: float, progress: float, how: str) -> float:
    if how == "cos":
        return end + (start - end) * (1 + math.cos(math.pi * progress)) / 2
    return start + (end - start) * progress


def one_cycle(step: int, *, total_steps: int, pct_start: float = 0.3, div_factor: float = 25.0,
              final_div_factor: float = 1e4, anneal: str = "cos", three_phase: bool = False) -> float:
    """Smith's one-cycle policy as a factor of the peak rate (== OneCycleLR's lr with max_lr = lr).

    Up from 1/div_factor to 1 until step pct_start * total_steps - 1, then down to
    1/(div_factor * final_div_factor) at the last step, total_steps - 1. The phase ends are
    real numbers, as in torch: with pct_start * total_steps = 30.5 the peak falls between
    steps 29 and 30. three_phase: up, back down to 1/div_factor by twice that, then to the floor.
    """
    if anneal not in ("cos", "linear"):
        raise ValueError(f"anneal must be 'cos' or 'linear'; got {anneal!r}.")
    if step > total_steps:  # torch allows the one extra scheduler.step() after the last optimizer step
        raise ValueError(f"one_cycle was asked for step {step} of a {total_steps}-step cycle.")
    start, peak, floor = 1 / div_factor, 1.0, 1 / div_factor / final_div_factor
    up_end = pct_start * total_steps - 1
    phases = [(up_end, start, peak)]
    if three_phase:
        phases += [(2 * pct_start * total_steps - 2, peak, start), (total_steps - 1, start, floor)]
    else:
        phases += [(total_steps - 1, peak, floor)]
    begin = 0.0
    for i, (end, factor_from, factor_to) in enumerate(phases):
        if step <= end or i == len(phases) - 1:
            return _anneal(factor_from, factor_to, (step - begin) / (end - begin), anneal)
        begin = end
    raise AssertionError("unreachable: the last phase always answers")


def as_scheduler(optimizer: torch.optim.Optimizer, schedule: Callable[..., float], **settings) -> LambdaLR:
    """torch's LambdaLR running ``schedule(step, **settings)``: each group's lr times the factor.

    Set the optimizer's lr to the peak (one_cycle's max_lr, the rate after warmup) first.
    """
    return LambdaLR(optimizer, partial(schedule, **settings))


def schedule_trace(make_scheduler: Callable[[torch.optim.Optimizer], object], steps: int, lr: float = 1.0,
                   key: str = "lr") -> list[float]:
    """The optimizer's ``key`` ("lr", or "momentum", which one-cycle may cycle) at each of ``steps``
    optimizer steps, under a scheduler stepped once per optimizer step. make_scheduler(optimizer)
    builds it for an SGD optimizer with rate ``lr`` and momentum 0.9."""
    weight = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([weight], lr=lr, momentum=0.9)
    scheduler = make_scheduler(optimizer)
    values = []
    for _ in range(steps):
        values.append(optimizer.param_groups[0][key])
        optimizer.step()            # no gradient, so nothing moves; torch warns if the scheduler steps first
        scheduler.step()
    return values
