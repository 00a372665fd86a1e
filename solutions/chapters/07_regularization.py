"""Worked solutions to the exercises of chapter 07 · Regularization and normalization.

Run it from the repository root: ``python solutions/chapters/07_regularization.py``. Each
solution is checked by the same function the notebook calls
(``dlcourse.exercises.chapters.ch07_regularization``); a wrong answer raises ``dlcourse.CheckError``.
"""
import torch
import torch.nn.functional as F

import dlcourse
from dlcourse.exercises.chapters import ch07_regularization as exercises

dlcourse.setup(seed=0, quiet=True)


# %% Exercise 1: group norm
#
# Group norm (Wu & He 2018) normalises each example over groups of channels, so it needs no
# batch statistics: a batch of one is fine. Split C into G groups, normalise each (example,
# group) over its channels and pixels with the biased variance, then scale and shift per
# channel. G = 1 is layer norm over (C, H, W); G = C is instance norm.
def group_norm(x, num_groups, weight, bias, eps=1e-5):
    """x (N, C, *) normalised per example and group of C // num_groups channels."""
    n, c = x.shape[:2]
    groups = x.reshape(n, num_groups, -1)                    # each row: one group's channels and pixels
    mean = groups.mean(dim=-1, keepdim=True)
    var = ((groups - mean) ** 2).mean(dim=-1, keepdim=True)
    x_hat = ((groups - mean) / torch.sqrt(var + eps)).reshape(x.shape)
    shape = [1, c] + [1] * (x.dim() - 2)
    return x_hat * weight.view(shape) + bias.view(shape)


exercises.check_group_norm(group_norm)


# %% Exercise 2: the batch-norm backward pass
#
# Per channel, with m values, x_hat = (x - mu) / s and s = sqrt(var + eps), out = w x_hat + b.
# dbias = sum dout; dweight = sum dout x_hat. For x, the chain rule through mu and var collapses
# (Ioffe & Szegedy 2015, section 3) to dx = (w / s) (dout - mean(dout) - x_hat mean(dout x_hat)).
def batch_norm_backward(dout, x, weight, eps=1e-5):
    """(dx, dweight, dbias) of training-mode batch norm of x (N, C, H, W)."""
    dims = (0, 2, 3)
    mean = x.mean(dim=dims, keepdim=True)
    s = torch.sqrt(((x - mean) ** 2).mean(dim=dims, keepdim=True) + eps)
    x_hat = (x - mean) / s
    dbias = dout.sum(dim=dims)
    dweight = (dout * x_hat).sum(dim=dims)
    dx = weight.view(1, -1, 1, 1) / s * (dout - dout.mean(dim=dims, keepdim=True)
                                         - x_hat * (dout * x_hat).mean(dim=dims, keepdim=True))
    return dx, dweight, dbias


exercises.check_batch_norm_backward(batch_norm_backward)


# %% Exercise 3: mixup's loss as two cross-entropies
#
# Cross-entropy is linear in the target distribution, so the loss against the mixed label
# lam e_y(i) + (1 - lam) e_y(i-1) is lam CE(., y) + (1 - lam) CE(., y rolled by one).
def mixup_cross_entropy(logits, labels, lam):
    """The cross-entropy of a mixup batch: each example i was blended with example i - 1."""
    return lam * F.cross_entropy(logits, labels) + (1 - lam) * F.cross_entropy(logits, labels.roll(1, 0))


exercises.check_mixup_cross_entropy(mixup_cross_entropy)
print("all chapter 07 exercise checks passed")
