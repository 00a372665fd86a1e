"""One training loop for every chapter.

``fit`` takes a model, data loaders and an optimizer and returns a ``History`` (one value
per epoch for each loss and metric). It moves batches to the device, uses mixed precision
where it helps (see ``dlcourse.device.autocast_dtype``), clips gradients on request, stops
early when the validation loss stops improving, shows a tqdm progress bar and, in a
notebook, a live loss plot.
"""
from __future__ import annotations

import copy
import time
from typing import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .device import autocast, autocast_dtype, get_device, needs_grad_scaler
from .plot import LivePlot, plot_history

__all__ = ["History", "fit", "evaluate", "predict", "accuracy"]


class History(dict):
    """{"train_loss": [...], "val_loss": [...], "val_accuracy": [...], "time": [...]}: one entry per epoch."""

    def log(self, **values: float) -> None:
        for key, value in values.items():
            self.setdefault(key, []).append(float(value))

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


# On a CPU with native bf16, autocast made convolutional nets ~3x faster and an 800-800 MLP
# ~1.7x faster, but a 64-256-128-10 digits MLP 4x *slower*: below about a million weights the
# casts cost more than the matrix products save. "auto" therefore skips it for such models.
CPU_BF16_MIN_PARAMS = 1_000_000


def _benefits_from_cpu_bf16(model: nn.Module | None) -> bool:
    if model is None:
        return True
    has_conv = any(isinstance(m, nn.modules.conv._ConvNd) for m in model.modules())
    return has_conv or sum(p.numel() for p in model.parameters()) >= CPU_BF16_MIN_PARAMS


def _resolve_amp(amp, device: torch.device, model: nn.Module | None = None) -> torch.dtype | None:
    """amp: "auto" (where it helps), True (wherever the device supports it), False, or a dtype."""
    if amp in (None, False):
        return None
    if amp == "auto" and device.type == "cpu" and not _benefits_from_cpu_bf16(model):
        return None
    if amp in (True, "auto"):
        return autocast_dtype(device)
    if isinstance(amp, torch.dtype):
        return amp
    raise ValueError(f"amp must be 'auto', True, False or a torch dtype; got {amp!r}.")


def _unpack(batch, device: torch.device):
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise ValueError("each batch must be a pair (inputs, targets); got "
                         f"{type(batch).__name__}{'' if not isinstance(batch, (tuple, list)) else f' of length {len(batch)}'}."
                         " Wrap your tensors in a TensorDataset(x, y).")
    x, y = batch
    return x.to(device, non_blocking=True), y.to(device, non_blocking=True)


@torch.no_grad()
def predict(model: nn.Module, loader: Iterable, device: torch.device | str | None = None,
            amp="auto") -> tuple[torch.Tensor, torch.Tensor]:
    """All outputs and targets of ``loader``, concatenated on the CPU, in fp32."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    dtype = _resolve_amp(amp, device, model)
    model.eval()
    outputs, targets = [], []
    for batch in loader:
        x, y = _unpack(batch, device)
        with autocast(device, dtype):
            outputs.append(model(x).float().cpu())
        targets.append(y.cpu())
    return torch.cat(outputs), torch.cat(targets)


def evaluate(model: nn.Module, loader: Iterable, loss_fn: Callable = F.cross_entropy,
             metrics: Iterable[str] = ("accuracy",), device: torch.device | str | None = None,
             amp="auto") -> dict[str, float]:
    """{"loss": mean loss over all examples, <metric>: value} on ``loader``."""
    outputs, targets = predict(model, loader, device, amp)
    result = {"loss": float(loss_fn(outputs, targets))}
    for name in metrics:
        result[name] = METRICS[name](outputs, targets)
    return result


def fit(model: nn.Module, train_loader: Iterable, optimizer: torch.optim.Optimizer, *,
        epochs: int = 1, loss_fn: Callable = F.cross_entropy, val_loader: Iterable | None = None,
        metrics: Iterable[str] = ("accuracy",), device: torch.device | str | None = None,
        amp="auto", clip_grad: float | None = None, scheduler=None, early_stopping: int | None = None,
        progress: bool = True, live_plot: bool | None = None, title: str | None = None) -> History:
    """Train ``model`` and return its History.

    amp: "auto" (mixed precision where it helps: see CPU_BF16_MIN_PARAMS), True, False, or a dtype.
    clip_grad: clip the global gradient norm to this value (exploding gradients, ch. 08, 17).
    scheduler: an LR scheduler stepped once per epoch.
    early_stopping: patience in epochs on the validation loss; the best weights are restored.
    live_plot: None draws a live plot only inside a notebook.
    """
    device = torch.device(device) if device is not None else get_device()
    model.to(device)
    metrics = tuple(metrics)
    dtype = _resolve_amp(amp, device, model)
    scaler = torch.amp.GradScaler(device.type) if needs_grad_scaler(dtype) else None
    history, plot = History(), LivePlot(title, live=live_plot)
    best_loss, best_state, bad_epochs = float("inf"), None, 0
    epoch_bar = tqdm(range(1, epochs + 1), desc="epochs", disable=not progress or epochs < 2, leave=True)
    for epoch in epoch_bar:
        start = time.perf_counter()
        model.train()
        total_loss, total_n, correct, classified = 0.0, 0, 0, False
        batches = tqdm(train_loader, desc=f"epoch {epoch}", leave=False, disable=not progress)
        for batch in batches:
            x, y = _unpack(batch, device)
            with autocast(device, dtype):
                out = model(x)
                loss = loss_fn(out, y)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"the loss became {loss.item()} at epoch {epoch}: lower the learning rate, "
                    "or clip gradients with fit(..., clip_grad=1.0).")
            optimizer.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.unscale_(optimizer)
            else:
                loss.backward()
            if clip_grad is not None:
                nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
            if scaler is not None:
                scaler.step(optimizer)
                scaler.update()
            else:
                optimizer.step()
            n = len(y)
            total_loss += loss.item() * n
            total_n += n
            if "accuracy" in metrics and out.dim() == 2 and y.dim() == 1:  # a classifier
                correct += (out.argmax(-1) == y).sum().item()
                classified = True
            batches.set_postfix(loss=f"{loss.item():.4f}", refresh=False)
        if total_n == 0:
            raise ValueError("the training loader produced no batches; is the dataset empty?")
        if scheduler is not None:
            scheduler.step()
        history.log(train_loss=total_loss / total_n)
        if classified:
            history.log(train_accuracy=correct / total_n)
        if val_loader is not None:
            scores = evaluate(model, val_loader, loss_fn, metrics, device, amp=dtype or False)
            history.log(**{f"val_{k}": v for k, v in scores.items()})
        history.log(time=time.perf_counter() - start, lr=optimizer.param_groups[0]["lr"])
        epoch_bar.set_postfix({k: f"{v[-1]:.4f}" for k, v in history.items() if k not in ("time", "lr")})
        plot.update(history)
        if early_stopping is not None and val_loader is not None:
            if history["val_loss"][-1] < best_loss - 1e-6:
                best_loss, bad_epochs = history["val_loss"][-1], 0
                best_state = copy.deepcopy(model.state_dict())
            else:
                bad_epochs += 1
                if bad_epochs >= early_stopping:
                    print(f"early stopping at epoch {epoch}: no val_loss improvement for {bad_epochs} epochs")
                    break
    if best_state is not None:
        model.load_state_dict(best_state)
    history.figure = plot.close(history) if plot.live else None
    return history
