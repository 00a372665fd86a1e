"""The sample-quality yardstick of chapters 24-26: the Fréchet distance from scratch equals
pytorch-fid's formula (SciPy's sqrtm) and torchmetrics', and the digit judge reads real digits
and not noise."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import linalg

from dlcourse import sample_quality as sq
from dlcourse.data import mnist


def _pytorch_fid(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """pytorch-fid's calculate_frechet_distance (mseitzer/pytorch-fid, fid_score.py), verbatim in NumPy."""
    diff = mu1 - mu2
    covmean = linalg.sqrtm(sigma1.dot(sigma2))
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    return diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean)


def _features(seed, n=600, d=84, shift=0.0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    mixing = torch.randn(d, d, generator=g, dtype=torch.float64) / d ** 0.5
    return (torch.randn(n, d, generator=g, dtype=torch.float64) @ mixing) * scale + shift


@pytest.mark.parametrize("shift, scale", [(0.0, 1.0), (0.3, 1.0), (0.0, 2.0), (1.0, 0.5)])
def test_frechet_distance_equals_pytorch_fid_and_torchmetrics(shift, scale):
    from torchmetrics.image.fid import _compute_fid

    a, b = _features(0), _features(1, shift=shift, scale=scale)
    (mu1, s1), (mu2, s2) = sq.gaussian_statistics(a), sq.gaussian_statistics(b)
    ours = sq.frechet_distance(mu1, s1, mu2, s2)
    reference = _pytorch_fid(mu1.numpy(), s1.numpy(), mu2.numpy(), s2.numpy())
    assert ours == pytest.approx(reference, rel=1e-9, abs=1e-9)
    assert ours == pytest.approx(float(_compute_fid(mu1, s1, mu2, s2)), rel=1e-9, abs=1e-9)


def test_frechet_distance_hand_cases():
    a = _features(2)
    mu, sigma = sq.gaussian_statistics(a)
    assert abs(sq.frechet_distance(mu, sigma, mu, sigma)) < 1e-9           # a set against itself
    v = torch.linspace(-1, 1, 84, dtype=torch.float64)
    assert sq.frechet_distance(*sq.gaussian_statistics(a + v), mu, sigma) == pytest.approx(float(v @ v), rel=1e-9)
    # two isotropic Gaussians: d^2 = D (s1 - s2)^2 for standard deviations s1, s2
    eye = torch.eye(84, dtype=torch.float64)
    assert sq.frechet_distance(torch.zeros(84), 4 * eye, torch.zeros(84), eye) == pytest.approx(84.0, rel=1e-12)


def test_statistics_equal_numpy_cov():
    a = _features(3, n=200, d=10)
    mu, sigma = sq.gaussian_statistics(a)
    torch.testing.assert_close(mu, a.mean(0), rtol=0, atol=1e-12)
    torch.testing.assert_close(sigma, torch.from_numpy(np.cov(a.numpy(), rowvar=False)), rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="N >= 2"):
        sq.gaussian_statistics(a[:1])


def test_judge_reads_digits_and_not_noise():
    images, labels = mnist("test", normalise=False, limit=2000).tensors
    assert sq.classified_as(images, labels) > 0.98
    assert sq.classified_as(images, (labels + 1) % 10) < 0.02
    real = sq.fid(mnist("train", normalise=False, limit=2000).tensors[0])
    noise = sq.fid(torch.rand(2000, 1, 28, 28, generator=torch.Generator().manual_seed(0)))
    blurred = sq.fid(torch.nn.functional.avg_pool2d(images, 5, 1, 2))
    assert real < 3 < blurred < noise, (real, blurred, noise)


def test_judge_refuses_what_it_cannot_read():
    with pytest.raises(ValueError, match=r"grey levels in \[0, 1\].*MNIST_STD"):
        sq.judge_features(mnist("test", limit=10).tensors[0])             # normalised images
    with pytest.raises(ValueError, match="28x28"):
        sq.judge_features(torch.rand(10, 3, 32, 32))
    with pytest.raises(ValueError, match="one digit per image"):
        sq.classified_as(torch.rand(10, 784), torch.zeros(9, dtype=torch.long))
    with pytest.raises(ValueError, match="too few"):
        sq.fid(torch.rand(50, 784))
