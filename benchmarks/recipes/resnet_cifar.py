"""A small ResNet (the course's BasicBlocks) reaches at least 92% CIFAR-10 test accuracy in minutes.

The network is ``dlcourse.models.resnet_fast``: a 3x3 stem and one BasicBlock per stage (widths
WIDTHS), the same classes as ResNet-18, trained on all 50,000 training images of the mirror's
CIFAR-10 (``dlcourse.data``) through ``dlcourse.fit``, with bf16 autocast and channels-last where
the device has them (the same code on a CPU and on a CUDA GPU). The tricks are Page's and
airbench's, where they help at this budget:

- augmentation on whole batches on the device, not per image in a DataLoader: random crops of
  the image reflect-padded by PAD pixels and horizontal flips (``AugmentedBatches``);
- batch BATCH, SGD with Nesterov momentum 0.9, label smoothing 0.2, weight decay on the
  convolution and linear weights only (not on BatchNorm or biases);
- a one-cycle learning rate, linear up for WARMUP of the steps to PEAK_LR, then linear to 0;
- test-time augmentation: the mean of the logits of each test image and its mirror image.

The test set is evaluated after every epoch only to time when 90% and 92% are first reached
(that time includes the evaluations); nothing is tuned or stopped on it.

Anchors: airbench94 (Jordan 2024) reaches 94% in 3.29 s on one A100 with a 2M-weight net; Page's
ResNet-9 (2018) 94% in 24 epochs. The aim is 92% in under 15 minutes on a 2-core CPU.

Measured so far (2026-11-30, on an H200, the recipe unchanged, the mirror's JPEG images): the
default net (widths 64-128-256-512, 4.9M weights) reached 86.7% in 10 epochs (batch 256: 87.7%),
89.9% in 20; lower peak rates did worse (0.2: 85.1%, 0.1: 82.6%); narrower or earlier-strided nets
of 1.2-2.8M weights 79-87% in 10-16 epochs. Training speed on 2 threads of a quiet Xeon with AMX
(bf16, channels-last): 649 images/s for widths 32-256, 174 for the default. So the 92% target in
15 CPU minutes is not reached by this design: it needs airbench's further tricks (whitened first
layer, max-pool downsampling, lookahead, more epochs at a cheaper net). ``RESNET_CIFAR_EPOCHS``
and ``run(epochs=..., widths=..., strides=..., stem_width=..., peak_lr=...)`` set the budget.
"""
from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

import dlcourse
from dlcourse.data import CIFAR10_MEAN, CIFAR10_STD, load_cifar10, subset
from dlcourse.device import describe_device
from dlcourse.models import resnet_fast

METRIC = "CIFAR-10 test accuracy (ResNet from the course's blocks, flip TTA)"
TARGET = 0.92
BETTER = "higher"
ANCHOR = "94% in 3.29 s on an A100 (airbench94, Jordan 2024); 94% in 24 epochs (Page's ResNet-9, 2018)"
WIDTHS, STRIDES, STEM_WIDTH = (64, 128, 256, 512), None, None
EPOCHS = int(os.environ.get("RESNET_CIFAR_EPOCHS", 10))
BATCH, PEAK_LR, WARMUP, WEIGHT_DECAY, MOMENTUM, LABEL_SMOOTHING, PAD = 512, 0.4, 0.2, 5e-4, 0.9, 0.2, 4


class AugmentedBatches:
    """(x, y) batches of uint8 images (N, 3, 32, 32) kept on ``device``: shuffled, normalised, and (train=True)
    randomly flipped and cropped from a reflect-padded copy, a whole batch at a time (no per-image Python)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int, device, train: bool,
                 seed: int = 0, pad: int = PAD):
        self.images, self.labels = images.to(device), labels.to(device)
        self.batch_size, self.train, self.pad, self.device = batch_size, train, pad, torch.device(device)
        self.mean = torch.tensor(CIFAR10_MEAN, device=device).view(1, 3, 1, 1) * 255
        self.std = torch.tensor(CIFAR10_STD, device=device).view(1, 3, 1, 1) * 255
        self.generator = torch.Generator(device=self.device).manual_seed(seed)

    def __len__(self) -> int:
        return -(-len(self.labels) // self.batch_size)

    def _augment(self, x: torch.Tensor) -> torch.Tensor:       # (B, 3, H, W) -> (B, 3, H, W)
        b, _, h, w = x.shape
        flip = torch.rand(b, device=self.device, generator=self.generator) < 0.5
        x = torch.where(flip.view(b, 1, 1, 1), x.flip(3), x)
        padded = F.pad(x, (self.pad,) * 4, mode="reflect")
        dy, dx = (torch.randint(0, 2 * self.pad + 1, (2, b), device=self.device, generator=self.generator))
        rows = (dy.view(b, 1) + torch.arange(h, device=self.device)).view(b, 1, h, 1).expand(b, 3, h, w + 2 * self.pad)
        x = padded.gather(2, rows)                               # each image's own rows
        cols = (dx.view(b, 1) + torch.arange(w, device=self.device)).view(b, 1, 1, w).expand(b, 3, h, w)
        return x.gather(3, cols)                                 # ... and columns

    def __iter__(self):
        n = len(self.labels)
        order = (torch.randperm(n, device=self.device, generator=self.generator) if self.train
                 else torch.arange(n, device=self.device))
        for i in range(0, n, self.batch_size):
            idx = order[i:i + self.batch_size]
            x = (self.images[idx].float() - self.mean) / self.std
            yield (self._augment(x) if self.train else x), self.labels[idx]


class FlipTTA(nn.Module):
    """Trains as ``net``; in eval mode returns the mean logits of each image and its mirror image."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:      # (N, 3, H, W) -> (N, classes)
        if self.training:
            return self.net(x)
        return (self.net(x) + self.net(x.flip(3))) / 2


def decay_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on the weights of convolutions and linear layers; none on BatchNorm's scale and shift
    or on biases, whose size does not control overfitting (decaying them only fights the normalisation)."""
    decay = [p for p in model.parameters() if p.dim() > 1]
    no_decay = [p for p in model.parameters() if p.dim() <= 1]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def one_cycle(optimizer, total_steps: int, warmup: float = WARMUP) -> LambdaLR:
    """Linear from 0 to the peak over ``warmup`` of the steps, then linear to 0 (Page 2018)."""
    peak = max(1, round(warmup * total_steps))
    return LambdaLR(optimizer, lambda s: (s + 1) / peak if s < peak
                    else max(0.0, (total_steps - s) / max(1, total_steps - peak)))


def run(epochs: int = EPOCHS, train_limit: int | None = None, test_limit: int | None = None,
        widths=WIDTHS, strides=STRIDES, stem_width: int | None = STEM_WIDTH, peak_lr: float = PEAK_LR,
        batch_size: int = BATCH, threads: int | None = None) -> dict:
    device = dlcourse.setup(seed=0, threads=threads)
    data = {}
    for split, limit in (("train", train_limit), ("test", test_limit)):
        images, labels = load_cifar10(split)
        idx = subset(len(labels), limit, seed=0)                # the files are sorted by class: draw, don't slice
        images, labels = images[idx], labels[idx]
        data[split] = (torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(labels))
    train = AugmentedBatches(*data["train"], batch_size, device, train=True)
    test = AugmentedBatches(*data["test"], 1000, device, train=False)
    model = FlipTTA(resnet_fast(10, widths=widths, strides=strides, stem_width=stem_width))
    optimizer = torch.optim.SGD(decay_groups(model, WEIGHT_DECAY), lr=peak_lr, momentum=MOMENTUM, nesterov=True)
    scheduler = one_cycle(optimizer, epochs * len(train))
    loss_fn = nn.CrossEntropyLoss(label_smoothing=LABEL_SMOOTHING)
    history = dlcourse.fit(model, train, optimizer, epochs=epochs, loss_fn=loss_fn, val_loader=test,
                           scheduler=scheduler, scheduler_interval="step", device=device, live_plot=False,
                           progress=False, log_every=20)
    seconds, curve = history["time"], history["val_accuracy"]
    images_per_s = len(train.labels) * epochs / sum(seconds)
    for epoch, (acc, s, loss) in enumerate(zip(curve, seconds, history["train_loss"]), 1):
        print(f"  epoch {epoch}: test accuracy {acc:.4f} ({s:.0f} s, train loss {loss:.3f})", flush=True)
    elapsed, to_90 = 0.0, None
    for acc, s in zip(curve, seconds):
        elapsed += s
        if acc >= 0.90 and to_90 is None:
            to_90 = elapsed
    machine = f"{device}: {describe_device(device)}, torch threads: {torch.get_num_threads()}"
    notes = (f"{epochs} epochs, widths {tuple(widths)}, strides {strides}, stem {stem_width}, lr {peak_lr}, "
             f"{sum(p.numel() for p in model.parameters()):,} weights, "
             f"{images_per_s:.0f} training images/s (evaluations included); time to 90%: "
             f"{'not reached' if to_90 is None else f'{to_90:.0f} s'}")
    print(f"  {notes}")
    return {"value": curve[-1], "curve": curve, "epoch_seconds": seconds, "machine": machine, "notes": notes,
            "time_to_90_s": to_90}
