"""Checks of chapter 08's exercises (schedules and stability): polynomial decay, one-cycle's
momentum, the bias-corrected moving average of the LR finder."""
from __future__ import annotations

from typing import Callable

import torch
from torch.optim import lr_scheduler as L

from dlcourse.checks import check_close
from dlcourse.exercises import not_attempted
from dlcourse.schedules import schedule_trace

__all__ = ["check_polynomial_decay", "check_one_cycle_momentum", "check_smoothed"]


def _f64(values) -> torch.Tensor:
    return torch.tensor([float(v) for v in values], dtype=torch.float64)


def check_polynomial_decay(polynomial_decay: Callable) -> None:
    """Exercise 1: polynomial_decay(step, total_steps, power) == PolynomialLR's factor, past the end too."""
    __tracebackhide__ = True
    if not_attempted(polynomial_decay(0, 10, 1.0), 1,
                      "make polynomial_decay return (1 - step / total_steps) ** power, and 0 after the end."):
        return
    for total, power in [(10, 1.0), (25, 2.0), (16, 0.5)]:
        steps = total + 6                      # a few steps past the end: the rate must stay at 0
        check_close(f"polynomial_decay(total_steps={total}, power={power}), {steps} steps",
                    _f64(polynomial_decay(t, total, power) for t in range(steps)),
                    _f64(schedule_trace(lambda o: L.PolynomialLR(o, total_iters=total, power=power), steps)),
                    atol=1e-12, rtol=1e-9,
                    hint="The factor at step t is (1 - min(t, total_steps) / total_steps) ** power: 1 at step 0, "
                         "0 at step total_steps (not total_steps - 1), and it stays 0 after that (without the "
                         "min, power 2 climbs back up and power 0.5 takes the root of a negative number).")


def check_one_cycle_momentum(one_cycle_momentum: Callable) -> None:
    """Exercise 2: one_cycle_momentum(step, total_steps, ...) == OneCycleLR's momentum, step for step."""
    __tracebackhide__ = True
    if not_attempted(one_cycle_momentum(0, 100), 2,
                      "make one_cycle_momentum return the momentum of step `step` (0.95 at step 0)."):
        return
    for total, pct_start in [(100, 0.3), (101, 0.25), (40, 0.5)]:
        theirs = schedule_trace(lambda o: L.OneCycleLR(o, 1.0, total_steps=total, pct_start=pct_start), total,
                                key="momentum")
        check_close(f"one_cycle_momentum(total_steps={total}, pct_start={pct_start})",
                    _f64(one_cycle_momentum(t, total, pct_start=pct_start) for t in range(total)), _f64(theirs),
                    atol=1e-12, rtol=1e-9,
                    hint="Momentum mirrors the rate: cosine from max_momentum down to base_momentum while the rate "
                         "climbs (steps 0 to pct_start * total_steps - 1, a real number), then cosine back up to "
                         "max_momentum at the last step, total_steps - 1. Reuse one_cycle's phase ends.")


def check_smoothed(smoothed: Callable) -> None:
    """Exercise 3: smoothed(losses, beta) == the bias-corrected exponential moving average."""
    __tracebackhide__ = True
    if not_attempted(smoothed([1.0], 0.9), 3, "make smoothed(losses, beta) return one average per loss."):
        return
    g = torch.Generator().manual_seed(8)
    losses = (2.3 * torch.exp(-torch.arange(60) / 20) + 0.2 * torch.rand(60, generator=g)).double()
    for beta in (0.98, 0.9, 0.5):
        # the same average written as a weighted mean: step i weighs loss j by beta^(i - j)
        i, j = torch.arange(60).view(-1, 1), torch.arange(60).view(1, -1)
        weights = torch.where(j <= i, torch.tensor(beta, dtype=torch.float64) ** (i - j).clamp_min(0), 0.0)
        expected = (weights @ losses) / weights.sum(dim=1)
        got = smoothed(losses.tolist(), beta)
        check_close(f"smoothed(losses, beta={beta})", _f64(got), expected, atol=1e-12, rtol=1e-9,
                    hint="Keep a running average a = beta * a + (1 - beta) * loss starting from a = 0, and return "
                         "a / (1 - beta ** i) for the i-th loss, counting from i = 1: without that correction the "
                         "first values are pulled towards 0 (the first one would be (1 - beta) * loss).")
