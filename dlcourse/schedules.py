"""Learning-rate schedules as pure functions of the step, equal to ``torch.optim.lr_scheduler``.

Each schedule returns the *factor* by which the optimizer's learning rate is multiplied at
optimizer step ``step`` (0, 1, 2, ...): ``lr(step) = lr * schedule(step)``. This is
``LambdaLR``'s convention (and Hugging Face's ``get_*_schedule_with_warmup``), chosen over
``LRScheduler`` subclasses because:

- a function of the step can be read top to bottom, plotted without an optimizer, and
  tested at any step without replaying the steps before it;
- ``as_scheduler`` turns any of them into torch's own ``LambdaLR``, which ``dlcourse.fit``
  steps and checkpoints like any scheduler, and which scales each parameter group's own lr;
  for ``one_cycle`` it is ``OneCycle``, a LambdaLR that also cycles the momentum (SGD's
  momentum, Adam's betas[0]) as OneCycleLR does by default (``one_cycle_momentum``);
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
           "one_cycle_momentum", "OneCycle", "as_scheduler", "schedule_trace"]


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


def _one_cycle_phases(step: int, total_steps: int, pct_start: float, anneal: str, three_phase: bool,
                      low: float, high: float, end: float, who: str) -> float:
    """The value at ``step`` of a cycle low -> high -> end (three_phase: low -> high -> low -> end)."""
    if anneal not in ("cos", "linear"):
        raise ValueError(f"{who}: anneal must be 'cos' or 'linear'; got {anneal!r}.")
    if step > total_steps:  # torch allows the one extra scheduler.step() after the last optimizer step
        raise ValueError(f"{who} was asked for step {step} of a {total_steps}-step cycle.")
    up_end = pct_start * total_steps - 1
    phases = [(up_end, low, high)]
    if three_phase:
        phases += [(2 * pct_start * total_steps - 2, high, low), (total_steps - 1, low, end)]
    else:
        phases += [(total_steps - 1, high, end)]
    begin = 0.0
    for i, (stop, value_from, value_to) in enumerate(phases):
        if step <= stop or i == len(phases) - 1:
            return _anneal(value_from, value_to, (step - begin) / (stop - begin), anneal)
        begin = stop
    raise AssertionError("unreachable: the last phase always answers")


def one_cycle(step: int, *, total_steps: int, pct_start: float = 0.3, div_factor: float = 25.0,
              final_div_factor: float = 1e4, anneal: str = "cos", three_phase: bool = False) -> float:
    """Smith's one-cycle policy as a factor of the peak rate (== OneCycleLR's lr with max_lr = lr).

    Up from 1/div_factor to 1 until step pct_start * total_steps - 1, then down to
    1/(div_factor * final_div_factor) at the last step, total_steps - 1. The phase ends are
    real numbers, as in torch: with pct_start * total_steps = 30.5 the peak falls between
    steps 29 and 30. three_phase: up, back down to 1/div_factor by twice that, then to the floor.
    ``as_scheduler(optimizer, one_cycle, ...)`` also cycles the momentum (``one_cycle_momentum``).
    """
    start = 1 / div_factor
    return _one_cycle_phases(step, total_steps, pct_start, anneal, three_phase, start, 1.0,
                             start / final_div_factor, "one_cycle")


def one_cycle_momentum(step: int, *, total_steps: int, pct_start: float = 0.3, base_momentum: float = 0.85,
                       max_momentum: float = 0.95, anneal: str = "cos", three_phase: bool = False) -> float:
    """One-cycle's momentum (== OneCycleLR's momentum, or Adam's betas[0]): the rate's mirror image.

    Down from max_momentum to base_momentum while the rate climbs, back up to max_momentum while
    it falls, on the same phase ends (Smith 2018: a large rate with a large momentum takes too
    large effective steps). three_phase: down, up, then flat at max_momentum. A momentum, not a factor.
    """
    return _one_cycle_phases(step, total_steps, pct_start, anneal, three_phase, max_momentum, base_momentum,
                             max_momentum, "one_cycle_momentum")


def _per_group(value, groups: list, name: str) -> list[float]:
    values = list(value) if isinstance(value, (list, tuple)) else [value] * len(groups)
    if len(values) != len(groups):
        raise ValueError(f"OneCycle: {name} must be one number or one per parameter group ({len(groups)}), "
                         f"got {len(values)}.")
    return values


class OneCycle(LambdaLR):
    """LambdaLR running ``one_cycle`` that also cycles the momentum, as torch's OneCycleLR does.

    cycle_momentum=True (torch's default): at every step each group's ``momentum`` (SGD, RMSprop)
    or ``betas[0]`` (Adam, AdamW) is set to ``one_cycle_momentum`` between base_momentum and
    max_momentum (a number, or one per group, as in torch). Like torch's, it replaces the
    optimizer's own momentum, even an SGD built with momentum=0. False: the rate only.
    Built by ``as_scheduler(optimizer, one_cycle, ...)``; the optimizer's lr is the peak.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, *, total_steps: int, pct_start: float = 0.3,
                 anneal: str = "cos", three_phase: bool = False, cycle_momentum: bool = True,
                 base_momentum: float | list[float] = 0.85, max_momentum: float | list[float] = 0.95,
                 last_epoch: int = -1, **settings):
        shape = dict(total_steps=total_steps, pct_start=pct_start, anneal=anneal, three_phase=three_phase)
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(f"OneCycle: cycle_momentum=True needs an optimizer with a momentum or betas "
                                 f"setting, and {type(optimizer).__name__} has neither; pass cycle_momentum=False "
                                 "to schedule only the rate.")
            self.use_beta1 = "betas" in optimizer.defaults
            groups = optimizer.param_groups
            self.momentum_settings = [dict(shape, base_momentum=b, max_momentum=m) for b, m in
                                      zip(_per_group(base_momentum, groups, "base_momentum"),
                                          _per_group(max_momentum, groups, "max_momentum"))]
        super().__init__(optimizer, partial(one_cycle, **shape, **settings), last_epoch)

    def get_lr(self) -> list[float]:
        if self.cycle_momentum:     # where torch's OneCycleLR sets it: at every step, the initial one included
            for group, settings in zip(self.optimizer.param_groups, self.momentum_settings):
                momentum = one_cycle_momentum(self.last_epoch, **settings)
                if self.use_beta1:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum
        return super().get_lr()


def as_scheduler(optimizer: torch.optim.Optimizer, schedule: Callable[..., float], **settings) -> LambdaLR:
    """torch's LambdaLR running ``schedule(step, **settings)``: each group's lr times the factor.

    Set the optimizer's lr to the peak (one_cycle's max_lr, the rate after warmup) first.
    ``one_cycle`` gives a ``OneCycle``, which also takes OneCycleLR's cycle_momentum (default
    True), base_momentum (0.85) and max_momentum (0.95) and cycles the momentum as torch does.
    """
    if schedule is one_cycle:
        return OneCycle(optimizer, **settings)
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
