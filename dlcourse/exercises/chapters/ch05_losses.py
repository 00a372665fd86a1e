"""Checks of chapter 05's exercises (losses): focal loss, KL divergence, cross-entropy backward."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from dlcourse.checks import check_like_torch
from dlcourse.exercises import not_attempted

__all__ = ["check_focal_loss", "check_kl_divergence", "check_cross_entropy_backward"]


def _inputs(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits (ordinary, zero and extreme) and 0/1 targets."""
    g = torch.Generator().manual_seed(seed)
    logits = torch.cat([torch.randn(40, generator=g) * 4, torch.tensor([0.0, -30.0, 30.0, -200.0, 200.0])])
    return logits, (torch.rand(len(logits), generator=g) < 0.4).float()


def check_focal_loss(sigmoid_focal_loss: Callable) -> None:
    """Exercise 1: sigmoid_focal_loss(logits, targets, alpha, gamma) == torchvision's, per element."""
    __tracebackhide__ = True
    from torchvision.ops import sigmoid_focal_loss as theirs
    logits, targets = _inputs(0)
    if not_attempted(sigmoid_focal_loss(logits, targets), 1,
                      "make sigmoid_focal_loss return alpha_t (1 - p_t)^gamma times the per-element BCE."):
        return
    for alpha, gamma in [(0.25, 2.0), (0.5, 0.0), (-1, 1.5)]:
        check_like_torch(f"sigmoid_focal_loss(alpha={alpha}, gamma={gamma})",
                         lambda logits: sigmoid_focal_loss(logits, targets, alpha=alpha, gamma=gamma),
                         lambda logits: theirs(logits, targets, alpha=alpha, gamma=gamma, reduction="none"), logits,
                         atol=1e-6, hint="p_t is p where the target is 1 and 1 - p where it is 0; alpha_t is alpha "
                         "for positives and 1 - alpha for negatives, and alpha < 0 means no weighting. Take the "
                         "BCE term from binary_cross_entropy_with_logits(..., reduction='none'), not log(p): "
                         "log(sigmoid(-200)) is log(0).")


def check_kl_divergence(kl_divergence: Callable) -> None:
    """Exercise 2: kl_divergence(log_q, p) == F.kl_div(log_q, p, reduction="batchmean")."""
    __tracebackhide__ = True
    g = torch.Generator().manual_seed(1)
    log_q = torch.log_softmax(torch.randn(6, 5, generator=g) * 3, dim=1)
    p = torch.softmax(torch.randn(6, 5, generator=g) * 3, dim=1)
    p[0] = torch.tensor([0.0, 0.5, 0.5, 0.0, 0.0])           # zero probabilities: 0 log 0 = 0
    if not_attempted(kl_divergence(log_q, p), 2,
                      "make kl_divergence(log_q, p) return sum p (log p - log q), averaged over the batch."):
        return
    check_like_torch("kl_divergence(log_q, p)", lambda log_q: kl_divergence(log_q, p),
                     lambda log_q: F.kl_div(log_q, p, reduction="batchmean"), log_q,
                     hint="KL(p || q) sums p (log p - log q) over the classes and divides by the batch size "
                          "(F.kl_div's 'batchmean'), not by every element. Where p = 0 the term is 0: "
                          "torch.xlogy(p, p) gives p log p with 0 log 0 = 0.")


def check_cross_entropy_backward(cross_entropy_backward: Callable) -> None:
    """Exercise 3: dL/dlogits of the mean cross-entropy with label smoothing, by hand."""
    __tracebackhide__ = True
    g = torch.Generator().manual_seed(2)
    logits = torch.randn(8, 6, generator=g) * 3
    logits[0] *= 1000                                       # a row that overflows a naive softmax
    y = torch.randint(0, 6, (8,), generator=g)
    if not_attempted(cross_entropy_backward(logits, y, 0.1), 3,
                      "make cross_entropy_backward(logits, y, label_smoothing) return (softmax(logits) - q) / N."):
        return
    for eps in (0.0, 0.1):
        check_like_torch(f"cross_entropy_backward(logits, y, label_smoothing={eps})", None,
                         lambda logits: F.cross_entropy(logits, y, label_smoothing=eps), logits,
                         backward=lambda grad, logits: grad * cross_entropy_backward(logits, y, eps),
                         hint="The target distribution q is (1 - eps) on the true class plus eps / C on every "
                              "class (the true one too), so its rows sum to 1; divide by the batch size N. "
                              "Use a max-shifted (stable) softmax: one row has logits in the thousands.")
