"""The learning-rate range test (Smith 2015/2017; fastai's ``lr_find``), run by ``dlcourse.fit``.

Train for at most ``num_steps`` batches while the rate grows exponentially from start_lr to
end_lr, record the loss of every step, smooth it, and stop once the smoothed loss exceeds
``diverge`` times its minimum. The model's weights and the optimizer's state (its rates,
momentum buffers) are restored afterwards: the finder only looks.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Iterable, Iterator

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from .train import History, fit

__all__ = ["LRFinderResult", "lr_find", "smoothed_losses"]


def smoothed_losses(losses: Iterable[float], beta: float = 0.98) -> list[float]:
    """Exponential moving average of the losses with Adam's bias correction: the first values
    are not pulled towards the 0 the average starts from (== pandas' ewm(alpha=1 - beta).mean())."""
    average, out = 0.0, []
    for i, loss in enumerate(losses, start=1):
        average = beta * average + (1 - beta) * loss
        out.append(average / (1 - beta ** i))
    return out


@dataclass
class LRFinderResult:
    """lrs[i]: the rate of step i; losses[i]: that step's batch loss; smoothed: its moving average."""
    lrs: list[float]
    losses: list[float]
    smoothed: list[float]

    def steepest(self) -> float:
        """The rate where the smoothed loss falls fastest per factor of lr, before its minimum:
        a large rate that still learns (fastai's "steep" suggestion)."""
        stop = max(2, self.smoothed.index(min(self.smoothed)) + 1)
        logs = [math.log(lr) for lr in self.lrs[:stop]]
        slopes = [(self.smoothed[i + 1] - self.smoothed[i]) / (logs[i + 1] - logs[i]) for i in range(stop - 1)]
        return self.lrs[slopes.index(min(slopes))]

    def minimum(self) -> float:
        """The rate of the lowest smoothed loss: already too large to train at (take ~1/10 of it)."""
        return self.lrs[self.smoothed.index(min(self.smoothed))]

    def plot(self, ax=None):
        import matplotlib.pyplot as plt
        ax = ax or plt.subplots(figsize=(6, 3.5))[1]
        ax.plot(self.lrs, self.losses, alpha=0.3, label="loss of each step")
        ax.plot(self.lrs, self.smoothed, label="smoothed")
        ax.axvline(self.steepest(), color="C2", ls="--", label=f"steepest: {self.steepest():.1e}")
        ax.axvline(self.minimum(), color="C3", ls=":", label=f"minimum: {self.minimum():.1e}")
        ax.set(xscale="log", xlabel="learning rate", ylabel="training loss", title="learning-rate range test")
        ax.legend(fontsize=8)
        return ax


def _repeat(loader: Iterable, n: int) -> Iterator:
    """The loader's batches, starting over as often as needed, n in all."""
    taken = 0
    while taken < n:
        before = taken
        for batch in loader:
            if taken == n:
                return
            yield batch
            taken += 1
        if taken == before:
            raise ValueError("the loader produced no batches; is the dataset empty?")


def lr_find(model: nn.Module, train_loader: Iterable, optimizer: torch.optim.Optimizer, *, start_lr: float = 1e-7,
            end_lr: float = 10.0, num_steps: int = 100, beta: float = 0.98, diverge: float = 4.0,
            **fit_options) -> LRFinderResult:
    """Sweep the learning rate exponentially and record the loss; see the module docstring.

    fit_options go to ``dlcourse.fit`` (loss_fn, step, device, amp, accumulate, clip_grad,
    progress). The optimizer's hyperparameters other than lr (momentum, weight decay) are the
    ones the range test measures, so pass the optimizer you will train with.
    """
    if not 0 < start_lr < end_lr or num_steps < 2:
        raise ValueError(f"need 0 < start_lr < end_lr and num_steps >= 2; got {start_lr}, {end_lr}, {num_steps}.")
    if fit_options.get("accumulate", 1) != 1:  # the sweep moves once per batch; with groups it would stop short
        raise ValueError("the range test takes one optimizer step per batch: leave out accumulate, and use the "
                         "batch size you will train with.")
    saved_model, saved_optimizer = copy.deepcopy(model.state_dict()), copy.deepcopy(optimizer.state_dict())
    seen: dict[str, History] = {}

    def diverged(history: History) -> bool:
        seen["history"] = history
        smoothed = smoothed_losses(history.steps["train_loss"], beta)
        return smoothed[-1] > diverge * min(smoothed)

    try:
        for group in optimizer.param_groups:
            group["lr"] = start_lr
        growth = end_lr / start_lr
        sweep = LambdaLR(optimizer, lambda step: growth ** (step / (num_steps - 1)))
        fit_options = {"progress": False, **fit_options}
        try:
            fit(model, _repeat(train_loader, num_steps), optimizer, epochs=1, scheduler=sweep,
                scheduler_interval="step", log_every=1, stop=diverged, live_plot=False, **fit_options)
        except FloatingPointError:
            pass  # the loss overflowed before the smoothed loss caught up: that is divergence too
    finally:
        # the optimizer's saved state has its own rates and no 'initial_lr' from the sweep, which a
        # later scheduler would otherwise take as its base rate
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_optimizer)
    if "history" not in seen:
        raise ValueError("the range test recorded no finite loss: lower start_lr.")
    steps = seen["history"].steps
    return LRFinderResult(steps["lr"], steps["train_loss"], smoothed_losses(steps["train_loss"], beta))
