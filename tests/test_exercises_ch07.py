"""Chapter 07's exercise checks pass the worked solutions (test_chapter_solutions.py) and reject the
typical wrong answers with a hint; a placeholder that returns None is reported, not failed."""
import pytest
import torch
import torch.nn.functional as F

from dlcourse.checks import CheckError
from dlcourse.exercises.chapters import ch07_regularization as exercises


def group_norm_per_group_affine(x, num_groups, weight, bias, eps=1e-5):
    """Right statistics, but the scale and shift indexed per group instead of per channel."""
    n, c = x.shape[:2]
    groups = x.reshape(n, num_groups, -1)
    x_hat = ((groups - groups.mean(-1, keepdim=True)) / torch.sqrt(groups.var(-1, unbiased=False, keepdim=True)
                                                                    + eps)).reshape(x.shape)
    per_group = weight[:num_groups].repeat_interleave(c // num_groups)
    return x_hat * per_group.view(1, c, 1, 1) + bias.view(1, c, 1, 1)


def group_norm_unbiased(x, num_groups, weight, bias, eps=1e-5):
    n, c = x.shape[:2]
    groups = x.reshape(n, num_groups, -1)
    x_hat = ((groups - groups.mean(-1, keepdim=True)) / torch.sqrt(groups.var(-1, keepdim=True) + eps)).reshape(x.shape)
    return x_hat * weight.view(1, c, 1, 1) + bias.view(1, c, 1, 1)


def batch_norm_backward_ignoring_the_statistics(dout, x, weight, eps=1e-5):
    """Treats mean and variance as constants: dx = weight / s * dout only."""
    dims = (0, 2, 3)
    mean = x.mean(dims, keepdim=True)
    s = torch.sqrt(x.var(dims, unbiased=False, keepdim=True) + eps)
    x_hat = (x - mean) / s
    return weight.view(1, -1, 1, 1) / s * dout, (dout * x_hat).sum(dims), dout.sum(dims)


def batch_norm_backward_dbias_mean(dout, x, weight, eps=1e-5):
    dims = (0, 2, 3)
    mean = x.mean(dims, keepdim=True)
    s = torch.sqrt(x.var(dims, unbiased=False, keepdim=True) + eps)
    x_hat = (x - mean) / s
    dx = weight.view(1, -1, 1, 1) / s * (dout - dout.mean(dims, keepdim=True)
                                         - x_hat * (dout * x_hat).mean(dims, keepdim=True))
    return dx, (dout * x_hat).sum(dims), dout.mean(dims)


@pytest.mark.parametrize("check, wrong", [
    (exercises.check_group_norm, group_norm_per_group_affine),
    (exercises.check_group_norm, group_norm_unbiased),
    (exercises.check_batch_norm_backward, batch_norm_backward_ignoring_the_statistics),
    (exercises.check_batch_norm_backward, batch_norm_backward_dbias_mean),
    (exercises.check_mixup_cross_entropy,   # paired with the next image instead of the previous one
     lambda z, y, lam: lam * F.cross_entropy(z, y) + (1 - lam) * F.cross_entropy(z, y.roll(-1))),
    (exercises.check_mixup_cross_entropy,   # the weights swapped
     lambda z, y, lam: (1 - lam) * F.cross_entropy(z, y) + lam * F.cross_entropy(z, y.roll(1))),
], ids=["gn-affine-per-group", "gn-unbiased", "bn-backward-no-stats", "bn-dbias-mean", "mixup-next", "mixup-swapped"])
def test_typical_mistakes_fail_with_a_hint(check, wrong):
    with pytest.raises(CheckError) as err:
        check(wrong)
    assert len(str(err.value)) > 80, "the message should carry the hint"


@pytest.mark.parametrize("check", [exercises.check_group_norm, exercises.check_batch_norm_backward,
                                   exercises.check_mixup_cross_entropy])
def test_a_placeholder_is_reported_as_not_attempted(check, capsys):
    check(lambda *args: None)
    assert "not attempted yet" in capsys.readouterr().out
