"""How good are generated digits? The yardstick chapters 24-26 share.

A generative model of MNIST is judged here by the course's own LeNet-5, trained once on MNIST's
training images by ``train_judge`` (2 epochs, 99% test accuracy) and kept in the cache, not in
git. It gives two numbers:

- ``classified_as(images, digits)``: the share of images the judge reads as the digit they were
  meant to be (a conditional model's samples; for real test digits it is the judge's accuracy);
- ``fid(images)``: the Fréchet distance (Heusel et al. 2017, the "FID") between the judge's
  penultimate features (F6, 84 numbers per image) of the images and of MNIST's 10,000 test
  digits. Each set of features is summarised by a Gaussian (mean mu, covariance S) and

      d^2 = |mu_1 - mu_2|^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^(1/2)),

  the squared 2-Wasserstein distance between the two Gaussians. ``frechet_distance`` writes it
  from scratch (the square root's trace from one symmetric eigen-decomposition);
  ``tests/test_sample_quality.py`` holds it equal to pytorch-fid's formula with SciPy's
  ``sqrtm`` and to torchmetrics'.

It is "FID with the course's features", not the Inception FID papers report: the numbers
compare models inside this course only. FID falls with the number of samples, so compare
numbers from equal counts; ``floor(n)`` gives real training digits' distance at that count.
"""
from __future__ import annotations

import functools
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from .data import MNIST_MEAN, MNIST_STD, mnist
from .data.sources import atomic_write, cache_dir
from .models.lenet import LeNet5, lenet5

__all__ = ["train_judge", "digit_judge", "judge_features", "predicted_digits", "classified_as",
           "gaussian_statistics", "frechet_distance", "fid", "floor", "JUDGE_FILE"]

JUDGE_EPOCHS, JUDGE_BATCH, JUDGE_LR = 2, 128, 3e-3
JUDGE_FILE = "lenet5_judge_v1.safetensors"   # the name changes with the recipe, so an old file is not trusted


def train_judge(epochs: int = JUDGE_EPOCHS) -> tuple[LeNet5, float]:
    """LeNet-5 (modern) on MNIST's 60,000 training images: AdamW, one-cycle, seed 0; (model, test accuracy).

    The caller's random state is left as it was (the judge draws from its own seeded streams).
    """
    from .train import evaluate, fit

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = lenet5()
        loader = DataLoader(mnist("train"), JUDGE_BATCH, shuffle=True, generator=torch.Generator().manual_seed(0))
        optimizer = torch.optim.AdamW(model.parameters(), lr=JUDGE_LR, weight_decay=1e-4)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, JUDGE_LR, total_steps=epochs * len(loader))
        fit(model, loader, optimizer, epochs=epochs, scheduler=scheduler, scheduler_interval="step", device="cpu",
            progress=False, live_plot=False, channels_last=False, amp=False)
    accuracy = evaluate(model, DataLoader(mnist("test"), 1000), device="cpu", amp=False)["accuracy"]
    return model.eval(), float(accuracy)


@functools.cache
def digit_judge() -> LeNet5:
    """The cached judge (trained by ``train_judge`` on first use: about 20 s on 2 CPU cores), in eval mode."""
    from safetensors.torch import load_file, save_file

    path = Path(cache_dir()) / "models" / JUDGE_FILE
    model = lenet5()
    if path.is_file():
        model.load_state_dict(load_file(path))
        return model.eval()
    model, accuracy = train_judge()
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    try:
        atomic_write(path, lambda tmp: save_file(state, str(tmp), metadata={"test_accuracy": f"{accuracy:.4f}"}))
    except OSError as exc:            # a read-only cache: use it unsaved
        print(f"note: could not keep the digit judge in {path.parent} ({exc.strerror or exc}); it is trained again "
              "next time. Set DLCOURSE_CACHE to a writable folder to keep it.")
    return model


def _judge_input(images: torch.Tensor) -> torch.Tensor:
    """(N, 784) or (N, 1, 28, 28) grey levels in [0, 1] -> the judge's normalised (N, 1, 28, 28)."""
    images = torch.as_tensor(images).detach().float().cpu()
    if images.dim() < 2 or images[0].numel() != 784:
        raise ValueError(f"the digit judge reads 28x28 images, (N, 784) or (N, 1, 28, 28); got shape "
                         f"{tuple(images.shape)}.")
    if images.min() < -1e-3 or images.max() > 1 + 1e-3:
        raise ValueError(f"the digit judge reads grey levels in [0, 1]; got values in [{float(images.min()):.3g}, "
                         f"{float(images.max()):.3g}]: pass sigmoid(logits), or undo the normalisation "
                         "(x * MNIST_STD + MNIST_MEAN).")
    return (images.reshape(-1, 1, 28, 28) - MNIST_MEAN) / MNIST_STD


@torch.no_grad()
def _judge(images: torch.Tensor, what: str) -> torch.Tensor:
    model, x = digit_judge(), _judge_input(images)
    return torch.cat([model.feature_maps(x[i:i + 1000])[what] for i in range(0, len(x), 1000)])


def judge_features(images: torch.Tensor) -> torch.Tensor:
    """The judge's F6 features (N, 84), float64, of images in [0, 1]."""
    return _judge(images, "F6").double()


def predicted_digits(images: torch.Tensor) -> torch.Tensor:
    """The digit (N,) the judge reads in each image."""
    return _judge(images, "output").argmax(-1)


def classified_as(images: torch.Tensor, digits: torch.Tensor) -> float:
    """The share of ``images`` the judge reads as the intended ``digits`` (N,)."""
    digits = torch.as_tensor(digits).reshape(-1)
    if len(digits) != len(images):
        raise ValueError(f"{len(images)} images but {len(digits)} intended digits: give one digit per image.")
    return float((predicted_digits(images) == digits.cpu()).float().mean())


def gaussian_statistics(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean (D,) and unbiased covariance (D, D) of (N, D) features, in float64 (as numpy.cov)."""
    features = torch.as_tensor(features, dtype=torch.float64)
    if features.dim() != 2 or len(features) < 2:
        raise ValueError(f"need (N, D) features with N >= 2 to estimate a covariance; got {tuple(features.shape)}.")
    mu = features.mean(0)
    centred = features - mu
    return mu, centred.T @ centred / (len(features) - 1)


def _psd_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    """The symmetric square root of a symmetric positive semi-definite matrix (round-off negatives clipped)."""
    values, vectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * values.clamp(min=0).sqrt()) @ vectors.T


def frechet_distance(mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor) -> float:
    """|mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)) for two Gaussians.

    S1 S2 is not symmetric, but it is similar to the symmetric M = S1^(1/2) S2 S1^(1/2)
    (M = S1^(1/2) (S1 S2) S1^(-1/2)), so Tr((S1 S2)^(1/2)) = Tr(M^(1/2)) = the sum of the square roots
    of M's eigenvalues: no general matrix square root, and no complex round-off to discard.
    """
    mu1, mu2, sigma1, sigma2 = (torch.as_tensor(t, dtype=torch.float64) for t in (mu1, mu2, sigma1, sigma2))
    root1 = _psd_sqrt(sigma1)
    middle = root1 @ sigma2 @ root1
    trace_sqrt = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0).sqrt().sum()
    return float((mu1 - mu2).pow(2).sum() + sigma1.trace() + sigma2.trace() - 2 * trace_sqrt)


@functools.cache
def _test_statistics() -> tuple[torch.Tensor, torch.Tensor]:
    test = mnist("test", normalise=False).tensors[0]
    return gaussian_statistics(judge_features(test))


def fid(images: torch.Tensor) -> float:
    """The Fréchet distance between ``images``' judge features and MNIST's 10,000 test digits'."""
    if len(images) < 100:
        raise ValueError(f"{len(images)} images are too few for a covariance of 84 features: use at least 1,000 "
                         "(and compare FIDs only between equal counts).")
    return frechet_distance(*gaussian_statistics(judge_features(images)), *_test_statistics())


def floor(n: int = 10_000) -> dict[str, float]:
    """Real digits as the yardstick's floor: the FID of ``n`` training digits (seed 0) and the judge's test accuracy."""
    train = mnist("train", normalise=False, limit=n)
    test = mnist("test", normalise=False)
    return {"fid": fid(train.tensors[0]), "classified_as": classified_as(*test.tensors), "n": n}

