"""Checks of chapter 07's exercises: group norm, the batch-norm backward pass by hand, mixup's loss."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torchvision.transforms import v2

from dlcourse.checks import check_like_torch
from dlcourse.exercises import not_attempted

__all__ = ["check_group_norm", "check_batch_norm_backward", "check_mixup_cross_entropy"]


def _images(seed: int, shape=(4, 6, 5, 5)) -> torch.Tensor:
    """A batch whose channels have different means and scales, so a per-channel slip shows."""
    g = torch.Generator().manual_seed(seed)
    c = shape[1]
    return (torch.randn(shape, generator=g) * torch.linspace(0.5, 3, c).view(1, c, 1, 1)
            + torch.linspace(-2, 2, c).view(1, c, 1, 1))


def check_group_norm(group_norm: Callable) -> None:
    """Exercise 1: group_norm(x, num_groups, weight, bias, eps) == F.group_norm."""
    __tracebackhide__ = True
    x = _images(0)
    g = torch.Generator().manual_seed(10)
    weight, bias = 1 + 0.5 * torch.randn(6, generator=g), torch.randn(6, generator=g)
    if not_attempted(group_norm(x, 3, weight, bias), 1,
                      "make group_norm normalise each example's groups of channels, then scale and shift."):
        return
    for groups in (1, 2, 3, 6):      # 1 group: layer norm over (C, H, W); C groups: instance norm
        check_like_torch(f"group_norm(num_groups={groups})",
                         lambda x, w, b: group_norm(x, groups, w, b, 1e-5),
                         lambda x, w, b: F.group_norm(x, groups, w, b, 1e-5), x, weight, bias,
                         hint="Reshape x (N, C, H, W) to (N, G, C // G, H, W), take mean and biased variance over "
                              "the last three axes, normalise, reshape back, then apply weight and bias per "
                              "channel (shape (1, C, 1, 1)), not per group.")


def check_batch_norm_backward(batch_norm_backward: Callable) -> None:
    """Exercise 2: (dx, dweight, dbias) of training-mode batch norm, by hand, == autograd's."""
    __tracebackhide__ = True
    x = _images(1)
    g = torch.Generator().manual_seed(11)
    weight, bias = 1 + 0.5 * torch.randn(6, generator=g), torch.randn(6, generator=g)
    dout = torch.randn(x.shape, generator=g)
    if not_attempted(batch_norm_backward(dout, x, weight, 1e-5), 2,
                      "make batch_norm_backward return (dx, dweight, dbias)."):
        return
    check_like_torch("batch_norm_backward", None,
                     lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True, eps=1e-5), x, weight, bias,
                     grad_output=dout, backward=lambda dout, x, w, b: batch_norm_backward(dout, x, w, 1e-5),
                     hint="With x_hat = (x - mean) / sqrt(var + eps) and m values per channel: dbias = sum of dout, "
                          "dweight = sum of dout * x_hat, and dx = weight / sqrt(var + eps) * (dout - mean(dout) - "
                          "x_hat * mean(dout * x_hat)), each sum and mean over (N, H, W) per channel. The mean "
                          "and the variance depend on x too: forgetting them leaves only the first term.")


def check_mixup_cross_entropy(mixup_cross_entropy: Callable) -> None:
    """Exercise 3: lam CE(logits, y) + (1 - lam) CE(logits, y rolled by 1) == CE against MixUp's soft labels."""
    __tracebackhide__ = True
    g = torch.Generator().manual_seed(12)
    images, labels = torch.rand(8, 3, 4, 4, generator=g), torch.randperm(8, generator=g) % 5
    torch.manual_seed(3)
    _, soft = v2.MixUp(alpha=1.0, num_classes=5)(images, labels)
    lam = float(soft[torch.arange(8), labels].min())         # the weight each example keeps of its own label
    logits = torch.randn(8, 5, generator=g) * 2
    if not_attempted(mixup_cross_entropy(logits, labels, lam), 3,
                      "make mixup_cross_entropy(logits, labels, lam) return the mixed loss."):
        return
    check_like_torch(f"mixup_cross_entropy(lam={lam:.3f})", lambda z: mixup_cross_entropy(z, labels, lam),
                     lambda z: F.cross_entropy(z, soft), logits,
                     hint="Example i was blended with example i - 1 (torchvision pairs each image with the one "
                          "before it: labels.roll(1)), so its loss is lam CE(logits, labels) + (1 - lam) "
                          "CE(logits, labels.roll(1)), each a batch mean.")
