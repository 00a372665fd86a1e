"""A small ResNet (the course's residual blocks) reaches at least 92% CIFAR-10 test accuracy in minutes.

The network is ``dlcourse.models.resnet_whitened``, airbench94's net (Jordan 2024) made explicitly
residual: a fixed 2x2 whitening stem (24 filters from the eigenvectors of the patch covariance of
5,000 training images), then three ``ResidualConvGroup``s of widths WIDTHS (conv -> max-pool 2 ->
BatchNorm -> GELU, then GELU(BatchNorm(conv(h)) + h)), BatchNorm with frozen scales, momentum 0.6
and eps 1e-12, a global max-pool and a linear layer scaled by 1/9 (1,972,792 weights). It trains on
all 50,000 training images of the mirror's CIFAR-10 (JPEG; ``dlcourse.data``) through
``dlcourse.fit`` (its manual-step mode: ``LookaheadStep`` steps the optimizer itself), with bf16
autocast and channels-last where the device has them (the same code on a CPU and on a CUDA GPU).
airbench94's recipe:

- augmentation on whole batches on the device (``AugmentedBatches``): random 2-pixel translations
  of the reflect-padded image and alternating flips (each image flipped at random once, then all
  of them every other epoch); batch BATCH, a short last batch dropped;
- Nesterov SGD, momentum 0.85, with airbench's decoupled rate 11.5 and decay 0.0153 per 1,024
  examples, BatchNorm shifts at 64x the rate, label smoothing 0.2; the rate factor linear
  0.2 -> 1 over 23% of the steps, then -> 0.07 (``triangle``); the whitening bias learns for 3 epochs;
- lookahead: from epoch 4 on, every 5 steps the weights move into an average that is copied back
  into the net, with a decay growing as (step / total)^3;
- test-time augmentation after the last epoch: the mean logits of 6 views (mirror pairs of the
  image and of it moved one pixel up-left and down-right; ``TTA``, level 2).

The test set is evaluated after every epoch (one view; six after the last) only to time when 90%
and 92% are first reached; nothing is tuned or stopped on it. Those times count training only (as
airbench's do; fit's ``eval_time`` separates the evaluations), and the notes give the evaluations' seconds.

Anchors: airbench94 reaches 94% in 3.29 s on one A100 with this 2M-weight net (without the explicit
shortcuts); Page's ResNet-9 (2018) 94% in 24 epochs. The aim is 92% in under 15 minutes on a 2-core
CPU. ``RESNET_CIFAR_EPOCHS`` and ``run(epochs=..., widths=..., batch_size=..., final_tta=...)`` set it.

Measured (2026-12-01, ``OMP_NUM_THREADS=2 DLCOURSE_FAST=0 python benchmarks/run.py resnet_cifar`` on the
course's 2-core Xeon with AMX, bf16 + channels-last, load ~2): 10 epochs reached 90.65% (6-view TTA; one
view per epoch: 59.3, 74.9, 71.0, 76.5, 81.1, 82.8, 85.7, 87.8, 89.3%) in 1162 s with the per-epoch
evaluations on the clock (the recorded row), 90% at 1159 s. An earlier run, whose whitening stem ran in
bf16 (13-16% rounding noise on the two weakest whitened directions; it runs in fp32 since): 90.56% in 995 s.

The target (92% in under 15 minutes) is MISSED, and more time does not reach it on this data. Later the
same day, one torch thread each, two runs at a time (so about 340-380 training images/s per run; the
per-epoch evaluations off the clock): 12 epochs 91.03% (training 1565 s), 16 epochs 91.00% (2058 s,
``RESNET_CIFAR_EPOCHS=16``; 90% first at their last epochs; the 6-view evaluation 55-57 s more).
airbench94's own net, ``run(plain=True)`` (identity-initialised second convolutions, no shortcut),
10 epochs: 90.44%; the explicit shortcut with an
identity-initialised second convolution: 90.34%. So the shortcut is not what is missing to airbench's 94%
(on the PNG originals, in fp16). Untested, since neither is at hand here: the mirror's images are JPEGs
of quality about 75, and the CPU computes in bf16. On these images this net levels off near 91%.
Speed: a bare training step at batch 512 ran at 360-720 images/s on the two threads (the host's other
tenants move it by 2x from minute to minute); 10 epochs need 12-23 minutes here.

Before (2026-11-30, on an H200): the previous design, ``resnet_fast`` (a 3x3 stem, one BasicBlock per
stage, widths 64-128-256-512, 4.9M weights, one-cycle SGD, flip TTA) reached 86.7% in 10 epochs and
89.9% in 20, and trained at 174 images/s on 2 threads of a quiet Xeon with AMX.
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
from dlcourse.models import resnet_whitened
from benchmarks.run import time_to_target

METRIC = "CIFAR-10 test accuracy (residual airbench94 net from the course's blocks, 6-view TTA)"
TARGET = 0.92
BETTER = "higher"
ANCHOR = "94% in 3.29 s on an A100 (airbench94, Jordan 2024); 94% in 24 epochs (Page's ResNet-9, 2018)"
WIDTHS = (64, 256, 256)
EPOCHS = int(os.environ.get("RESNET_CIFAR_EPOCHS", 10))
# airbench94's hyperparameters, "decoupled": LR and WEIGHT_DECAY per 1024 examples, the rate divided by
# Nesterov's step gain 1 + 1 / (1 - momentum), so momentum, rate and decay can be tuned one at a time
BATCH, LR, MOMENTUM, WEIGHT_DECAY, BIAS_SCALER, LABEL_SMOOTHING, PAD = 1024, 11.5, 0.85, 0.0153, 64.0, 0.2, 2
SCHEDULE = dict(start=0.2, peak=0.23, end=0.07)   # LR factor: linear 0.2 -> 1 over 23% of the steps -> 0.07
WHITEN_BIAS_EPOCHS = 3                            # the whitening layer's bias learns only this long
EMA = dict(start_epoch=3, every=5, decay=0.95, power=3.0)   # lookahead: see LookaheadStep


class AugmentedBatches:
    """(x, y) batches of uint8 images (N, 3, 32, 32) kept on ``device``: shuffled, normalised, and (train=True)
    randomly flipped and cropped from a reflect-padded copy, a whole batch at a time (no per-image Python).

    flip="alternate" (airbench): each image is flipped at random once, then all images are flipped
    together every other epoch, so consecutive epochs show each image both ways (random flips repeat
    a view half the time). drop_last: skip a short last batch (a tiny batch's BatchNorm statistics
    are noise)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int, device, train: bool,
                 seed: int = 0, pad: int = PAD, flip: str = "random", drop_last: bool = False):
        if flip not in ("random", "alternate"):
            raise ValueError(f"flip is 'random' or 'alternate'; got {flip!r}.")
        self.images, self.labels = images.to(device), labels.to(device)
        self.batch_size, self.train, self.pad, self.device = batch_size, train, pad, torch.device(device)
        self.flip, self.drop_last, self.epoch = flip, drop_last, 0
        self.mean = torch.tensor(CIFAR10_MEAN, device=device).view(1, 3, 1, 1) * 255
        self.std = torch.tensor(CIFAR10_STD, device=device).view(1, 3, 1, 1) * 255
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self.first_flip = torch.rand(len(self.labels), device=self.device, generator=self.generator) < 0.5

    def __len__(self) -> int:
        n = len(self.labels)
        return n // self.batch_size if self.drop_last and n >= self.batch_size else -(-n // self.batch_size)

    def _augment(self, x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:   # (B, 3, H, W) -> (B, 3, H, W)
        b, _, h, w = x.shape
        if self.flip == "alternate":
            flip = self.first_flip[idx] ^ bool(self.epoch % 2)
        else:
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
        for i in range(0, len(self) * self.batch_size, self.batch_size):
            idx = order[i:i + self.batch_size]
            x = (self.images[idx].float() - self.mean) / self.std
            yield (self._augment(x, idx) if self.train else x), self.labels[idx]
        self.epoch += 1


class TTA(nn.Module):
    """Trains as ``net``; in eval mode averages the logits of test-time views (airbench's levels):
    0 the image, 1 it and its mirror image, 2 half that and half the mirror pairs of the image moved
    one pixel up-left and down-right (6 views)."""

    def __init__(self, net: nn.Module, level: int = 0):
        super().__init__()
        self.net, self.level = net, level

    def _mirror(self, x: torch.Tensor) -> torch.Tensor:
        return (self.net(x) + self.net(x.flip(3))) / 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:      # (N, 3, H, W) -> (N, classes)
        if self.training or self.level == 0:
            return self.net(x)
        if self.level == 1:
            return self._mirror(x)
        h, w = x.shape[2:]
        padded = F.pad(x, (1,) * 4, mode="reflect")
        shifted = (self._mirror(padded[:, :, :h, :w]) + self._mirror(padded[:, :, 2:, 2:])) / 2
        return (self._mirror(x) + shifted) / 2


def triangle(total_steps: int, start: float, peak: float, end: float):
    """LR factor of step s: linear from ``start`` to 1 at ``peak`` of the steps, then linear to ``end``."""
    top = max(1, int(peak * total_steps))
    return lambda s: (start + (1 - start) * s / top if s < top
                      else 1 + (end - 1) * min(1.0, (s - top) / max(1, total_steps - top)))


def param_groups(model: nn.Module, batch_size: int) -> list[dict]:
    """airbench's decoupled rate and decay for PyTorch SGD on a *mean* loss: the per-1024 rate divided by
    Nesterov's gain times the batch size; BatchNorm shifts at BIAS_SCALER times the rate, and each group's
    decay divided by its rate, so the decay per step is the same for both."""
    lr = LR / (1024 * (1 + 1 / (1 - MOMENTUM))) * batch_size
    decay = WEIGHT_DECAY * batch_size / (1024 * (1 + 1 / (1 - MOMENTUM)))
    trainable = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    shifts = [p for name, p in trainable if ".bn" in name]
    others = [p for name, p in trainable if ".bn" not in name]
    return [dict(params=shifts, lr=lr * BIAS_SCALER, weight_decay=decay / (lr * BIAS_SCALER)),
            dict(params=others, lr=lr, weight_decay=decay / lr)]


class LookaheadStep:
    """fit's step for ``optimizer={"sgd": optimizer}``: forward, backward, SGD step, then airbench's
    lookahead: from epoch EMA["start_epoch"] on, every EMA["every"] steps the weights (and BatchNorm
    statistics) move into an exponential average, which is copied back into the net (and once more
    at each epoch's end); its decay grows as (step / total)^power, averaging hardest at the end.
    It also freezes the whitening bias after WHITEN_BIAS_EPOCHS and switches the model's TTA to
    ``final_tta`` after the last step, so the last evaluation is the full test-time augmentation."""

    def __init__(self, optimizer, loss_fn, steps_per_epoch: int, total_steps: int, final_tta: int = 2):
        self.optimizer, self.loss_fn, self.final_tta = optimizer, loss_fn, final_tta
        self.steps_per_epoch, self.total_steps, self.steps, self.average = steps_per_epoch, total_steps, 0, None

    @torch.no_grad()
    def _lookahead(self, model: nn.Module, decay: float) -> None:
        for avg, weight in zip(self.average.values(), model.state_dict().values()):
            if weight.is_floating_point():
                avg.lerp_(weight, 1 - decay)
                weight.copy_(avg)

    def __call__(self, model: nn.Module, batch) -> dict[str, torch.Tensor]:
        x, y = batch
        epoch = self.steps // self.steps_per_epoch                     # 0-based
        model.net.stem.conv.bias.requires_grad_(epoch < WHITEN_BIAS_EPOCHS)
        out = model(x)
        loss = self.loss_fn(out, y)
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.steps += 1
        if epoch >= EMA["start_epoch"] and self.steps % EMA["every"] == 0:
            if self.average is None:
                self.average = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                decay = EMA["decay"] ** EMA["every"] * (self.steps / self.total_steps) ** EMA["power"]
                self._lookahead(model, decay)
        if self.average is not None and self.steps % self.steps_per_epoch == 0:
            self._lookahead(model, 1.0)                                # the net takes the average
        if self.steps == self.total_steps:
            model.level = self.final_tta
        return {"loss": loss.detach(), "accuracy": (out.argmax(-1) == y).float().mean()}


def evaluation_step(model: nn.Module, batch) -> dict[str, torch.Tensor]:
    x, y = batch
    out = model(x)
    return {"loss": F.cross_entropy(out.float(), y), "accuracy": (out.argmax(-1) == y).float().mean()}


def run(epochs: int = EPOCHS, train_limit: int | None = None, test_limit: int | None = None,
        widths=WIDTHS, batch_size: int = BATCH, threads: int | None = None, final_tta: int = 2,
        plain: bool = False) -> dict:
    device = dlcourse.setup(seed=0, threads=threads)
    data = {}
    for split, limit in (("train", train_limit), ("test", test_limit)):
        images, labels = load_cifar10(split)
        idx = subset(len(labels), limit, seed=0)                # the files are sorted by class: draw, don't slice
        images, labels = images[idx], labels[idx]
        data[split] = (torch.from_numpy(images).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(labels))
    train = AugmentedBatches(*data["train"], batch_size, device, train=True, flip="alternate", drop_last=True)
    test = AugmentedBatches(*data["test"], 1000, device, train=False)
    model = TTA(resnet_whitened(10, widths=widths, plain=plain)).to(device)   # plain: airbench94's net
    some = train.images[subset(len(train.labels), 5000, seed=1)].float()
    model.net.stem.init_from(((some - train.mean) / train.std))   # 5,000 training images, as airbench
    optimizer = torch.optim.SGD(param_groups(model, batch_size), momentum=MOMENTUM, nesterov=True)
    total_steps = epochs * len(train)
    scheduler = LambdaLR(optimizer, triangle(total_steps, **SCHEDULE))
    step = LookaheadStep(optimizer, nn.CrossEntropyLoss(label_smoothing=LABEL_SMOOTHING), len(train), total_steps,
                         final_tta)
    history = dlcourse.fit(model, train, {"sgd": optimizer}, epochs=epochs, step=step, val_step=evaluation_step,
                           val_loader=test, scheduler=scheduler, scheduler_interval="step", device=device,
                           live_plot=False, progress=False, log_every=8)
    curve, evaluating = history["val_accuracy"], history["eval_time"]
    # the per-epoch evaluations only measure (nothing is tuned or stopped on them): the clock counts training
    training = [s - e for s, e in zip(history["time"], evaluating)]
    images_per_s = batch_size * total_steps / sum(training)
    for epoch, (acc, s, e, loss) in enumerate(zip(curve, training, evaluating, history["train_loss"]), 1):
        print(f"  epoch {epoch}: test accuracy {acc:.4f} ({s:.0f} s training, {e:.0f} s evaluating, "
              f"train loss {loss:.3f})", flush=True)
    reached = {t: time_to_target(curve, training, t, BETTER) for t in (0.90, TARGET)}
    machine = f"{device}: {describe_device(device)}, torch threads: {torch.get_num_threads()}"
    said = {t: "not reached" if v is None else f"{v:.0f} s" for t, v in reached.items()}
    notes = (f"{epochs} epochs, widths {tuple(widths)}{', plain (no shortcuts)' if plain else ''}, "
             f"{sum(p.numel() for p in model.parameters()):,} weights, "
             f"test-time views: 1 per epoch, TTA level {final_tta} at the end; "
             f"{images_per_s:.0f} training images/s; training {sum(training):.0f} s, the final evaluation "
             f"{evaluating[-1]:.0f} s, the per-epoch evaluations before it {sum(evaluating[:-1]):.0f} s (neither "
             f"is in the times to target); training time to 90%: {said[0.90]}, to {TARGET:.0%}: {said[TARGET]}")
    print(f"  {notes}")
    return {"value": curve[-1], "curve": curve, "machine": machine, "notes": notes, "time_to_90_s": reached[0.90],
            "epoch_seconds": training}
