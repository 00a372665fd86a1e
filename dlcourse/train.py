"""One training loop for every chapter: ``fit`` trains a model and returns a ``History``.

A batch is ``(x, y)`` and the loss ``loss_fn(model(x), y)``, unless a chapter passes a ``step``
function (detection targets, masked-LM batches, a VAE's ELBO, a model that returns its own
loss, a GAN's two optimizers): see ``fit``'s docstring. One optimizer step, in nanoGPT's order:
forward under autocast -> backward of loss / group size for each of ``accumulate`` batches ->
unscale_ (fp16) -> clip (before backward it would clip nothing, before unscale_ gradients
65536 times too large) -> optimizer step -> zero_grad -> per-step schedulers. Running sums
stay on the device and are read once per ``log_every`` batches and per epoch, so a step never
waits for the GPU. Checkpoints resume to exactly the uninterrupted run (``dlcourse.checkpoint``).
"""
from __future__ import annotations

import copy
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.lr_scheduler import ReduceLROnPlateau
from tqdm.auto import tqdm

from .checkpoint import load_checkpoint, save_checkpoint
from .batches import batch_size as _batch_size, pair as _pair, to_device as _to_device
from .device import autocast, get_device, needs_grad_scaler, resolve_amp as _resolve_amp
from .memory_format import prepare_channels_last
from .plot import LivePlot, plot_history

__all__ = ["History", "fit", "evaluate", "predict", "accuracy"]


class History(dict):
    """{"train_loss": [...], "val_loss": [...], "val_accuracy": [...], "lr": [...], "time": [...]}:
    one entry per epoch ("time": the epoch's seconds, its evaluation included; "eval_time": the
    evaluation's share, so that a benchmark can tell training time from measuring time). ``steps``
    holds the same per logging interval, keyed by "step" (optimizer steps so far): the curve inside
    an epoch, e.g. a warmup."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.steps: dict[str, list[float]] = {}

    def log(self, **values: float) -> None:
        for key, value in values.items():
            self.setdefault(key, []).append(float(value))

    def log_step(self, **values: float) -> None:
        for key, value in values.items():
            self.steps.setdefault(key, []).append(float(value))

    def last(self, key: str) -> float:
        return self[key][-1]

    def best(self, key: str, mode: str = "max") -> float:
        return max(self[key]) if mode == "max" else min(self[key])

    def plot(self, title: str | None = None):
        return plot_history(self, title=title)


def accuracy(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """Fraction of rows whose arg-max equals the target."""
    return (logits.argmax(dim=-1) == targets).float().mean().item()


METRICS: dict[str, Callable[[torch.Tensor, torch.Tensor], float]] = {"accuracy": accuracy}


def _step_values(out, batch) -> tuple[dict[str, torch.Tensor], int | torch.Tensor]:
    """A step's return value as ({name: scalar tensor}, the number of examples it averages over)."""
    values = dict(out) if isinstance(out, Mapping) else {"loss": out}
    if "loss" not in values:
        raise ValueError(f"a step function returns the loss, or a dict with a 'loss' entry; got keys {sorted(values)}.")
    n = values.pop("n", None)
    for name, value in values.items():
        if not isinstance(value, torch.Tensor) or value.dim() != 0:
            raise ValueError(f"the step's {name!r} must be a scalar tensor (a mean over the batch; not a Python "
                             f"number, whose .item() waits for the device); got {type(value).__name__} "
                             f"{tuple(value.shape) if isinstance(value, torch.Tensor) else value!r}.")
    return values, _batch_size(batch) if n is None else n


def _supervised_step(loss_fn: Callable, metrics: tuple[str, ...]) -> Callable:
    """The default step: loss_fn(model(x), y) on (x, y) batches, and accuracy for a classifier."""
    def step(model: nn.Module, batch) -> dict[str, torch.Tensor]:
        x, y = _pair(batch)
        out = model(x)
        values = {"loss": loss_fn(out, y)}
        if "accuracy" in metrics and out.dim() == 2 and y.dim() == 1:  # a classifier
            values["accuracy"] = (out.argmax(-1) == y).float().mean()
        return values
    return step


class _RunningMeans:
    """Per-example means of a step's scalars. The sums since the last read stay on the device,
    so adding never waits for it; ``read`` copies them to the host in one transfer."""

    def __init__(self, device: torch.device):
        self.dtype = torch.float32 if device.type == "mps" else torch.float64  # MPS has no float64
        self.pending: dict[str, torch.Tensor] = {}
        self.pending_n: int | torch.Tensor = 0
        self.sums: dict[str, float] = {}
        self.n = 0.0

    def add(self, values: dict[str, torch.Tensor], n: int | torch.Tensor) -> None:
        for name, value in values.items():
            # weighted by the batch size: an uneven last batch counts for what it holds
            self.pending[name] = self.pending.get(name, 0) + value.detach().to(self.dtype) * n
        self.pending_n = self.pending_n + n

    def read(self) -> dict[str, float]:
        """The means since the last read (the one host synchronisation), also added to the totals."""
        if not self.pending:
            return {}
        names, first = list(self.pending), next(iter(self.pending.values()))
        count = torch.as_tensor(self.pending_n).to(first.device, self.dtype)
        *sums, n = torch.stack([self.pending[k] for k in names] + [count]).tolist()
        self.pending, self.pending_n = {}, 0
        for name, s in zip(names, sums):
            self.sums[name] = self.sums.get(name, 0.0) + s
        self.n += n
        return {name: s / n for name, s in zip(names, sums)}

    def means(self) -> dict[str, float]:
        return {name: s / self.n for name, s in self.sums.items()}


@torch.no_grad()
def predict(model: nn.Module, loader: Iterable, device: torch.device | str | None = None,
            amp="auto", channels_last="auto") -> tuple[torch.Tensor, torch.Tensor]:
    """All outputs and targets of ``loader``, concatenated on the CPU, in fp32."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    dtype = _resolve_amp(amp, device, model)
    nhwc = prepare_channels_last(model, channels_last, device)
    model.eval()
    outputs, targets = [], []
    for batch in loader:
        x, y = _to_device(_pair(batch), device, nhwc)
        with autocast(device, dtype):
            outputs.append(model(x).float().cpu())
        targets.append(y.cpu())
    return torch.cat(outputs), torch.cat(targets)


@torch.no_grad()
def evaluate(model: nn.Module, loader: Iterable, loss_fn: Callable = F.cross_entropy,
             metrics: Iterable[str] = ("accuracy",), device: torch.device | str | None = None,
             amp="auto", step: Callable | None = None, channels_last="auto") -> dict[str, float]:
    """{"loss": mean loss over all examples, <metric>: value} on ``loader``.

    With a ``step`` function (as in ``fit``): the per-example mean of every scalar it returns.
    """
    if step is None:
        outputs, targets = predict(model, loader, device, amp, channels_last)
        result = {"loss": float(loss_fn(outputs, targets))}
        for name in metrics:
            result[name] = METRICS[name](outputs, targets)
        return result
    device = torch.device(device) if device is not None else next(model.parameters()).device
    dtype = _resolve_amp(amp, device, model)
    nhwc = prepare_channels_last(model, channels_last, device)
    model.eval()
    running = _RunningMeans(device)
    for batch in loader:
        batch = _to_device(batch, device, nhwc)
        with autocast(device, dtype):
            running.add(*_step_values(step(model, batch), batch))
    running.read()
    if running.n == 0:
        raise ValueError("the evaluation loader produced no batches; is the dataset empty?")
    return running.means()


def _optimizer_step(model: nn.Module, optimizer: torch.optim.Optimizer, scaler, clip_grad) -> None:
    """Apply the accumulated gradients: unscale (fp16) -> clip -> step -> zero."""
    if scaler is not None:
        scaler.unscale_(optimizer)
    if callable(clip_grad):  # a chapter's own clipping, e.g. by value
        clip_grad(model.parameters())
    elif clip_grad is not None:
        nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
    if scaler is not None:
        scaler.step(optimizer)
        scaler.update()
    else:
        optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def _check_options(optimizer, step, val_step, val_loader, schedulers, scheduler_interval, accumulate,
                   clip_grad, early_stopping, checkpoint, resume, log_every) -> None:
    """Refuse a combination that would train wrongly without a word."""
    manual = isinstance(optimizer, Mapping)
    plateau = any(isinstance(s, ReduceLROnPlateau) for s in schedulers)
    rules = [
        (isinstance(optimizer, (list, tuple)), "pass several optimizers as a dict {name: optimizer}."),
        (scheduler_interval not in ("step", "epoch"),
         f"scheduler_interval must be 'step' or 'epoch'; got {scheduler_interval!r}."),
        (not (isinstance(accumulate, int) and accumulate >= 1),
         f"accumulate must be a whole number >= 1; got {accumulate!r}."),
        (not (isinstance(log_every, int) and log_every >= 1),
         f"log_every must be a whole number >= 1; got {log_every!r}."),
        (manual and step is None,
         "with several optimizers, pass a step function that runs their backward passes and steps."),
        (manual and (accumulate != 1 or clip_grad is not None),
         "with several optimizers the step function owns backward and the optimizer steps: accumulate and clip there."),
        (manual and val_loader is not None and val_step is None,
         "with several optimizers, validation needs a val_step (the training step would train on the validation set)."),
        ((early_stopping is not None or plateau) and val_loader is None,
         "early_stopping and ReduceLROnPlateau watch val_loss: pass a val_loader."),
        (plateau and scheduler_interval == "step",
         "ReduceLROnPlateau steps once per epoch on val_loss: use scheduler_interval='epoch'."),
        (resume and checkpoint is None, "resume=True needs checkpoint=<file> to resume from."),
    ]
    for broken, message in rules:
        if broken:
            raise ValueError(message)


def _log_interval(history: History, means: dict[str, float], step: int, lrs: dict[str, float], epoch: int, bar) -> None:
    """Record the means since the last read, and stop on a loss that is no longer finite."""
    if not math.isfinite(means["loss"]):
        raise FloatingPointError(
            f"the training loss became {means['loss']} in epoch {epoch}: lower the learning rate, "
            "or clip gradients with fit(..., clip_grad=1.0).")
    history.log_step(step=step, **{f"train_{k}": v for k, v in means.items()}, **lrs)
    bar.set_postfix(loss=f"{means['loss']:.4f}", refresh=False)


@torch.enable_grad()  # training needs gradients even when called under no_grad (a cached model built on first use)
def fit(model: nn.Module, train_loader: Iterable,
        optimizer: torch.optim.Optimizer | Mapping[str, torch.optim.Optimizer], *, epochs: int = 1,
        loss_fn: Callable = F.cross_entropy, step: Callable | None = None, val_step: Callable | None = None,
        val_loader: Iterable | None = None, metrics: Iterable[str] = ("accuracy",),
        device: torch.device | str | None = None, amp="auto", scheduler=None, scheduler_interval: str = "epoch",
        channels_last="auto", accumulate: int = 1, clip_grad: float | Callable | None = None,
        early_stopping: int | None = None, stop: Callable[[History], bool] | None = None,
        checkpoint: str | Path | None = None, resume: bool = False, log_every: int = 50,
        progress: bool = True, live_plot: bool | None = None, title: str | None = None) -> History:
    """Train ``model`` and return its History.

    optimizer: one optimizer; or a dict {name: optimizer} when ``step`` runs its own backward
        passes and optimizer steps (a GAN): fit then logs, schedules and checkpoints only.
    step: step(model, batch) -> the loss, or a dict of scalar tensors holding "loss" (logged as
        train_loss; every other entry as train_<name>) and optionally "n", the number of
        examples it averages over (default: the batch's first dimension). Default:
        loss_fn(model(x), y) on (x, y) batches, with accuracy for a classifier.
    val_step: the step run on val_loader without gradients (default: ``step``; for the
        default step, ``evaluate`` with loss_fn and metrics).
    scheduler: one LR scheduler or a list, stepped after every optimizer step
        (scheduler_interval="step": warmup, one-cycle) or every epoch ("epoch";
        ReduceLROnPlateau is given val_loss). history["lr"] is the rate of the epoch's last step.
    accumulate: batches whose gradients add up to one optimizer step; each loss is divided by
        the group's size (a short last group's real size when the loader has a len()), so equal
        batches give exactly the big batch's mean gradient.
    clip_grad: clip the global gradient norm to this value (after backward and unscale_); or a
        function called there with model.parameters() (e.g. dlcourse.clipping.clip_grad_value_).
    early_stopping: patience in epochs on val_loss; the best weights are restored at the end.
    stop: stop(history) -> bool, called after each logging interval (history.steps holds the
        latest reading); True ends training after this epoch's bookkeeping (an LR finder
        stops when the loss diverges).
    checkpoint: a file written after every epoch; resume=True continues from it if it exists
        (and returns at once if that run had finished).
    log_every: batches between reads of the running loss (progress bar, history.steps).
    amp: "auto" (mixed precision where it helps: see dlcourse.device.resolve_amp), True, False, or a dtype.
    channels_last: "auto" (NHWC weights and 4-D input batches for conv nets on CUDA and on CPUs with
        fast bf16: see dlcourse.memory_format), True or False. The model stays in that layout.
    live_plot: None draws a live plot only inside a notebook.
    """
    schedulers = [] if scheduler is None else list(scheduler) if isinstance(scheduler, (list, tuple)) else [scheduler]
    _check_options(optimizer, step, val_step, val_loader, schedulers, scheduler_interval, accumulate,
                   clip_grad, early_stopping, checkpoint, resume, log_every)
    device = torch.device(device) if device is not None else get_device()
    model.to(device)
    manual = isinstance(optimizer, Mapping)  # the step function steps the optimizers itself
    optimizers = dict(optimizer) if manual else {"": optimizer}
    dtype = _resolve_amp(amp, device, model)
    nhwc = prepare_channels_last(model, channels_last, device)
    if manual and needs_grad_scaler(dtype):
        if amp != "auto":
            raise ValueError("fp16 needs a GradScaler, which fit runs for one optimizer only: with several, "
                             "pass amp=False or amp=torch.bfloat16.")
        dtype = None  # fp16 without a scaler underflows; fp32 is the safe choice for "auto"
    scaler = torch.amp.GradScaler(device.type) if needs_grad_scaler(dtype) else None
    train_step = step if step is not None else _supervised_step(loss_fn, tuple(metrics))
    if val_step is None and not manual:
        val_step = step  # None for the default step: evaluate() with loss_fn and metrics
    lr_names = {name: f"lr_{name}" if manual else "lr" for name in optimizers}

    def current_lrs() -> dict[str, float]:
        return {lr_names[name]: opt.param_groups[0]["lr"] for name, opt in optimizers.items()}

    history, plot = History(), LivePlot(title, live=live_plot)
    loop = {"epoch": 0, "step": 0, "best_loss": float("inf"), "best_state": None, "bad_epochs": 0, "stopped": False}
    state = dict(model=model, optimizers=optimizers, schedulers=schedulers, scaler=scaler, loader=train_loader)
    if resume and Path(checkpoint).exists():
        saved, steps, loop = load_checkpoint(checkpoint, **state)
        history.update(saved)
        history.steps = steps

    def optimizer_stepped() -> None:
        loop["step"] += 1
        if scheduler_interval == "step":
            for s in schedulers:
                s.step()

    for opt in optimizers.values():
        opt.zero_grad(set_to_none=True)  # gradients left over from before fit are not this run's
    epoch_bar = tqdm(range(loop["epoch"] + 1, epochs + 1), desc="epochs", initial=loop["epoch"], total=epochs,
                     disable=not progress or epochs < 2, leave=True)
    for epoch in epoch_bar:
        if loop["stopped"]:  # a resumed run that had stopped early
            break
        start = time.perf_counter()
        model.train()
        try:
            n_batches = len(train_loader)
        except TypeError:  # an iterable-style dataset: its last group is divided by accumulate
            n_batches = None
        running, pending, last_lr, halted = _RunningMeans(device), 0, current_lrs(), False
        batches = tqdm(train_loader, desc=f"epoch {epoch}", leave=False, disable=not progress)
        for i, batch in enumerate(batches):
            batch = _to_device(batch, device, nhwc)
            with autocast(device, dtype):
                values, n = _step_values(train_step(model, batch), batch)
            if manual:
                last_lr = current_lrs()
                optimizer_stepped()
            else:
                # the last group of an epoch may be short: divide by its real size
                group = accumulate if n_batches is None else min(accumulate, n_batches - i + i % accumulate)
                loss = values["loss"] / group
                (loss if scaler is None else scaler.scale(loss)).backward()
                pending += 1
                if pending == group:
                    last_lr = current_lrs()
                    _optimizer_step(model, optimizer, scaler, clip_grad)
                    pending = 0
                    optimizer_stepped()
            running.add(values, n)
            if (i + 1) % log_every == 0:
                _log_interval(history, running.read(), loop["step"], last_lr, epoch, batches)
                if stop is not None and stop(history):
                    halted = True
                    break
        if pending:  # a loader without len() ended inside a group
            last_lr = current_lrs()
            _optimizer_step(model, optimizer, scaler, clip_grad)
            optimizer_stepped()
        means = running.read()
        if running.n == 0:
            raise ValueError("the training loader produced no batches; is the dataset empty?")
        if means:  # the batches since the last full interval
            _log_interval(history, means, loop["step"], last_lr, epoch, batches)
            halted = halted or (stop is not None and stop(history))
        loop["stopped"] = halted  # saved with the checkpoint: resuming a halted run returns at once
        history.log(**{f"train_{k}": v for k, v in running.means().items()})
        if val_loader is not None:
            eval_start = time.perf_counter()
            scores = evaluate(model, val_loader, loss_fn, metrics, device, amp=dtype or False, step=val_step,
                              channels_last=nhwc)
            history.log(**{f"val_{k}": v for k, v in scores.items()}, eval_time=time.perf_counter() - eval_start)
        history.log(**last_lr, time=time.perf_counter() - start)
        if scheduler_interval == "epoch":
            for s in schedulers:
                s.step(history["val_loss"][-1]) if isinstance(s, ReduceLROnPlateau) else s.step()
        if early_stopping is not None:
            if history["val_loss"][-1] < loop["best_loss"] - 1e-6:
                loop.update(best_loss=history["val_loss"][-1], bad_epochs=0,
                            best_state=copy.deepcopy(model.state_dict()))
            else:
                loop["bad_epochs"] += 1
                loop["stopped"] = halted or loop["bad_epochs"] >= early_stopping
        loop["epoch"] = epoch
        if checkpoint is not None:
            save_checkpoint(checkpoint, **state, history=history, steps=history.steps, loop=loop)
        epoch_bar.set_postfix({k: f"{v[-1]:.4f}" for k, v in history.items()
                               if not k.endswith("time") and not k.startswith("lr")})
        plot.update(history)
        if loop["stopped"]:
            if not halted:
                print(f"early stopping at epoch {epoch}: no val_loss improvement for {loop['bad_epochs']} epochs")
            break
    if loop["best_state"] is not None:
        model.load_state_dict(loop["best_state"])
    history.figure = plot.close(history) if plot.live else None
    return history
