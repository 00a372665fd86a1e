"""Checks of chapter 25's exercises: the generator's non-saturating loss and adaptive instance
normalisation."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from dlcourse.checks import CheckError, check_close
from dlcourse.exercises import not_attempted
from dlcourse.models.gan import generator_loss

__all__ = ["check_non_saturating_loss", "check_adain"]

CHAPTER = "25_gans"


def check_non_saturating_loss(loss: Callable) -> None:
    """Exercise 1: loss(fake_logits) == -mean log sigmoid(logits), finite for any logit, with its gradient."""
    __tracebackhide__ = True
    logits = torch.tensor([-3.0, -0.5, 0.0, 1.0, 4.0], dtype=torch.float64, requires_grad=True)
    got = loss(logits)
    if not_attempted(got, 1, "make non_saturating_loss return -log D(G(z)) averaged over the batch, from D's logits."):
        return
    if not isinstance(got, torch.Tensor) or got.dim() != 0:
        raise CheckError(f"non_saturating_loss must return a scalar tensor; got {type(got).__name__} "
                         f"{tuple(getattr(got, 'shape', ()))}.")
    value = float(got.detach())
    p = torch.sigmoid(logits.detach())
    if abs(value - float(torch.log(1 - p).mean())) < 1e-9:
        raise CheckError("that is the saturating loss log(1 - D(G(z))), the minimax game as written; the generator "
                         "minimises -log D(G(z)) instead.")
    if abs(value - float(-torch.log(p).sum())) < 1e-9:
        raise CheckError("that is the sum over the batch: average it (mean), so the step does not grow with the batch.")
    check_close("non-saturating loss", got, generator_loss(logits.detach()),
                hint="-log sigmoid(logit) = softplus(-logit), averaged over the batch")
    (grad,) = torch.autograd.grad(got, logits)
    check_close("its gradient in the logits", grad, -(1 - p) / len(p))
    far = torch.tensor([-200.0, 200.0])             # float32, where sigmoid(-200) rounds to 0
    extreme = float(torch.as_tensor(loss(far)).detach())
    if not torch.isfinite(torch.tensor(extreme)) or abs(extreme - 100.0) > 1e-4:
        raise CheckError(f"for logits -200 and 200 the loss should be (200 + 0) / 2 = 100, got {extreme}: "
                         "log(sigmoid(-200)) underflows to log(0). Use F.softplus(-logits) or F.logsigmoid.")
    print("OK non_saturating_loss: -mean log D(G(z)), its gradient, finite for logits of +-200")


def check_adain(adain: Callable) -> None:
    """Exercise 2: adain(x, scale, shift) == F.instance_norm(x) * scale + shift, per image and channel."""
    __tracebackhide__ = True
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 4, 5, 6, generator=g, dtype=torch.float64) * 3 + 1
    x.requires_grad_()
    scale, shift = torch.rand(3, 4, generator=g, dtype=torch.float64) + 0.5, torch.randn(3, 4, generator=g, dtype=torch.float64)
    got = adain(x, scale, shift)
    if not_attempted(got, 2, "make adain normalise each image's channels over their pixels, then scale and shift them."):
        return
    if not isinstance(got, torch.Tensor) or got.shape != x.shape:
        raise CheckError(f"adain must return a tensor shaped like x, {tuple(x.shape)}; got "
                         f"{type(got).__name__} {tuple(getattr(got, 'shape', ()))}.")
    s, b = scale[:, :, None, None], shift[:, :, None, None]
    expected = F.instance_norm(x, eps=1e-5) * s + b
    wrong = {
        "the statistics are the batch's (dims 0, 2, 3: batch norm); AdaIN's are each image's own, dims (2, 3)":
            F.batch_norm(x, None, None, training=True, eps=1e-5) * s + b,
        "the statistics span the channels (dims 1, 2, 3: layer norm); AdaIN normalises each channel alone, dims (2, 3)":
            F.layer_norm(x, x.shape[1:], eps=1e-5) * s + b,
        "use the biased variance (unbiased=False), as instance norm does":
            (x - x.mean((2, 3), keepdim=True)) / torch.sqrt(x.var((2, 3), keepdim=True) + 1e-5) * s + b,
        "scale first, then shift: scale * normalised + shift":
            (F.instance_norm(x, eps=1e-5) + b) * s,
    }
    for hint, replay in wrong.items():
        if torch.allclose(got.detach(), replay.detach(), atol=1e-9):
            raise CheckError(hint + ".")
    check_close("adain(x, scale, shift)", got, expected.detach(),
                hint="(x - mean) / sqrt(var + 1e-5) over each image's channel, then * scale + shift")
    upstream = torch.randn(x.shape, generator=g, dtype=torch.float64)
    (ours,) = torch.autograd.grad(got, x, upstream)
    (theirs,) = torch.autograd.grad(expected, x, upstream)
    check_close("its gradient in x", ours, theirs)
    print("OK adain: equal to F.instance_norm(x) * scale + shift, values and gradients")
