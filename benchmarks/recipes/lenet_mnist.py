"""LeNet-5 (modern variant: ReLU, max-pool, 61,706 weights) on MNIST reaches at least 99.0% test accuracy.

Anchor: LeCun, Bottou, Bengio & Haffner (1998), "Gradient-based learning applied to document
recognition", section III.C: LeNet-5 trained on the 60,000 regular training images
has 0.95% test error (99.05% accuracy); with distorted training images, 0.8%. Our recipe trains
dlcourse.models.lenet5() with AdamW and a one-cycle schedule (Smith & Topin 2019) stepped
after every batch, batch 128, and shifts every image by up to 2 pixels each way (a light form
of the paper's distortions), through dlcourse.fit (bf16 autocast on CPUs with fast bf16), in
channels-last layout. On the shared 2-core CPU one thread ran faster than two (two threads
spun against the other jobs: 4.6 against 20 batches a second).

The test set is evaluated after every epoch only to time when the target is first reached;
nothing is tuned or stopped on it (the budget is fixed). The aim for time to target is under
60 s on a 2-core CPU: 24 s measured on the shared one at load average 3-4 (99.08% after the
third epoch), 112 s when other jobs loaded it to 8-11.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

import dlcourse
from dlcourse.data import mnist
from dlcourse.device import describe_device
from dlcourse.models import lenet5

METRIC = "MNIST test accuracy (LeNet-5)"
TARGET = 0.990
BETTER = "higher"
ANCHOR = "99.05% (LeCun et al. 1998, LeNet-5, 0.95% error)"
EPOCHS, BATCH, LR, SHIFT = 3, 128, 3e-3, 2


def random_shift(x: torch.Tensor, max_shift: int = SHIFT) -> torch.Tensor:
    """Each image moved by its own (dy, dx) in [-max_shift, max_shift], the border filled with the background."""
    n, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4, value=x.min().item())    # MNIST's background is its minimum
    dy, dx = torch.randint(0, 2 * max_shift + 1, (2, n))
    rows = (dy.view(n, 1) + torch.arange(h)).view(n, 1, h, 1).expand(n, x.shape[1], h, w + 2 * max_shift)
    cols = (dx.view(n, 1) + torch.arange(w)).view(n, 1, 1, w).expand(n, x.shape[1], h, w)
    return padded.gather(2, rows).gather(3, cols)


def plain_step(model: torch.nn.Module, batch) -> dict[str, torch.Tensor]:
    """Cross-entropy and accuracy on the images as they are (the test set)."""
    x, y = batch
    logits = model(x)
    return {"loss": F.cross_entropy(logits, y), "accuracy": (logits.argmax(-1) == y).float().mean()}


def shifted_step(model: torch.nn.Module, batch) -> dict[str, torch.Tensor]:
    """fit's training step: the same on randomly shifted images."""
    x, y = batch
    return plain_step(model, (random_shift(x), y))


def run(epochs: int = EPOCHS, train_limit: int | None = None) -> dict:
    device = dlcourse.setup(seed=0, threads=1)
    train, test = mnist("train", limit=train_limit), mnist("test")
    train_loader = DataLoader(train, BATCH, shuffle=True, generator=torch.Generator().manual_seed(0))
    test_loader = DataLoader(test, 1000)
    model = lenet5().to(memory_format=torch.channels_last)   # NHWC convolutions: ~20% faster here
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=LR, total_steps=epochs * len(train_loader))
    history = dlcourse.fit(model, train_loader, optimizer, epochs=epochs, step=shifted_step, val_step=plain_step,
                           val_loader=test_loader, scheduler=scheduler, scheduler_interval="step", device=device,
                           live_plot=False)
    machine = f"{device}: {describe_device(device)}, torch threads: {torch.get_num_threads()}"
    return {"value": history.last("val_accuracy"), "curve": history["val_accuracy"],
            "epoch_seconds": history["time"], "machine": machine}
