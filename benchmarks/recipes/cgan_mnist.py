"""A conditional DCGAN (dlcourse.models.gan, ngf = ndf = 32) on MNIST: at least 95% of its samples
are read as the intended digit by the course's judge.

Anchor: the issue's target for chapter 25 (>= 95% of samples classified as intended). Mirza &
Osindero (2014) introduced the conditional GAN on MNIST but reported a Parzen-window likelihood,
not a classifier's share; the judge is the course's LeNet-5 (dlcourse.sample_quality, 98.85% on
MNIST's test digits: the ceiling of this number). The recipe follows DCGAN (Radford et al. 2016):
N(0, 0.02) weights, Adam lr 2e-4 with beta1 0.5, batch 64, the non-saturating loss, one update of
each player per batch, through dlcourse.fit with two optimizers; fp32 on one thread. The generator
reads z (100 numbers) and the one-hot class; the discriminator reads the image with one plane per
class. After every epoch 10,000 samples, 1,000 per digit from fixed noise, are judged (only to draw
the curve: nothing is tuned on them); the FID of the last ones (course features) is reported beside
real training digits'.

Measured on a 2-core AMD EPYC with AVX-512 BF16 (2026-12-07), nothing else running: 69.6, 86.2,
91.1, 95.9, 96.4, 97.9% by epoch over 6 epochs of training in 367 s (393 s with the judging), the
target first passed after 244 s; the last samples' FID 3.99 against real training digits' 0.80
(10,000 each). An earlier run with 1,000 samples per epoch and another job beside it went on to
98.8% after 8 epochs.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader

import dlcourse
from dlcourse import sample_quality
from dlcourse.data import mnist
from dlcourse.device import describe_device
from dlcourse.models.gan import Discriminator, Generator, dcgan_init, gan_step, to_unit

METRIC = "share of 10,000 samples the judge reads as the intended digit (conditional DCGAN)"
TARGET = 0.95
BETTER = "higher"
ANCHOR = "the issue's target, 95% (the judge's own test accuracy, 98.85%, is the ceiling)"
EPOCHS, BATCH, LR, NZ, WIDTH = 6, 64, 2e-4, 100, 32


@torch.no_grad()
def judged_samples(generator: Generator, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n samples in [0, 1], n / 10 per digit, from fixed noise; and the digits asked for."""
    labels = torch.arange(10).repeat(n // 10)
    z = torch.randn(len(labels), generator.nz, generator=torch.Generator().manual_seed(1))
    return to_unit(generator(z, labels)), labels


def run(epochs: int = EPOCHS, train_limit: int | None = None, width: int = WIDTH, samples: int = 10_000,
        threads: int = 1) -> dict:
    device = dlcourse.setup(seed=0, threads=threads)
    loader = DataLoader(mnist("train", normalise=False, limit=train_limit), BATCH, shuffle=True, drop_last=True,
                        generator=torch.Generator().manual_seed(0))
    gan = nn.ModuleDict({"g": Generator(NZ, width, 1, 28, 10), "d": Discriminator(1, width, 28, 10)}).apply(dcgan_init)
    optimizers = {k: torch.optim.Adam(gan[k].parameters(), lr=LR, betas=(0.5, 0.999)) for k in "gd"}
    curve, seconds = [], []
    for _ in range(epochs):                  # one fit call per epoch, to judge the samples in between
        history = dlcourse.fit(gan, loader, optimizers, epochs=1, step=gan_step(optimizers, conditional=True),
                               metrics=(), device=device, amp=False, channels_last=False, live_plot=False)
        seconds.append(sum(history["time"]))
        images, labels = judged_samples(gan["g"].cpu(), samples)
        gan.to(device)
        curve.append(sample_quality.classified_as(images, labels))
    fid, floor = sample_quality.fid(images), sample_quality.floor(samples)["fid"]
    machine = f"{device}: {describe_device(device)}, torch threads: {torch.get_num_threads()}"
    return {"value": curve[-1], "curve": curve, "epoch_seconds": seconds, "machine": machine,
            "notes": (f"conditional DCGAN, ngf = ndf = {width}, {epochs} epochs in {sum(seconds):.0f} s (share read "
                      f"as intended by epoch {', '.join(f'{v:.3f}' for v in curve)}); FID of the {samples:,} samples "
                      f"(course features) {fid:.2f}, real training digits {floor:.2f}")}
