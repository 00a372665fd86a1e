"""Worked solutions to the exercises of chapter 05 · Losses.

Run it from the repository root: ``python solutions/chapters/05_losses.py``. Each solution
is checked by the same function the notebook calls (``dlcourse.exercises.chapters.ch05_losses``);
a wrong answer raises ``dlcourse.CheckError``.
"""
import torch
import torch.nn.functional as F

import dlcourse
from dlcourse import losses as ref
from dlcourse.activations import softmax
from dlcourse.exercises.chapters import ch05_losses as exercises

dlcourse.setup(seed=0, quiet=True)


# %% Exercise 1: focal loss
#
# p = sigmoid(x); p_t = p where y = 1 and 1 - p where y = 0, i.e. p y + (1 - p)(1 - y).
# The BCE factor is -log p_t, taken from the stable logit form: at x = -200 with y = 1,
# log(sigmoid(x)) would be log(0) = -inf, while the logit form gives 200. (1 - p_t)^gamma
# only needs p, which is safe to compute (it is in [0, 1]). alpha_t = alpha y + (1 - alpha)(1 - y).
def sigmoid_focal_loss(logits, targets, alpha=0.25, gamma=2.0):
    """Per-element focal loss of logits against 0/1 targets."""
    p = torch.sigmoid(logits)
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ref.binary_cross_entropy_with_logits(logits, targets, reduction="none") * (1 - p_t) ** gamma
    if alpha >= 0:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    return loss


exercises.check_focal_loss(sigmoid_focal_loss)


# %% Exercise 2: KL divergence
#
# sum_c p_c (log p_c - log q_c) per row, then the mean over rows (divide by N, not N * C).
# torch.xlogy(p, p) = p log p with 0 log 0 = 0 (and a zero gradient there), so a target
# row with zeros gives no nan.
def kl_divergence(log_q, p):
    """Mean over the batch of sum_c p_c (log p_c - log_q_c)."""
    return (torch.xlogy(p, p) - p * log_q).sum(dim=1).mean()


exercises.check_kl_divergence(kl_divergence)


# %% Exercise 3: the cross-entropy gradient with label smoothing
#
# The smoothed target Q puts eps / C on every class and 1 - eps more on the true one (each
# row sums to 1). The gradient of -sum_c q_c log p_c w.r.t. the logits is p - q (chapter 04
# with q in place of the one-hot row), and the batch mean divides by N. softmax is the
# max-shifted one of chapter 03, so the row of logits in the thousands is safe.
def cross_entropy_backward(logits, y, label_smoothing=0.0):
    """d/dlogits of the mean label-smoothed cross-entropy, for logits (N, C) and labels y (N,)."""
    n, n_classes = logits.shape
    q = (1 - label_smoothing) * F.one_hot(y, n_classes).to(logits.dtype) + label_smoothing / n_classes
    return (softmax(logits, dim=1) - q) / n


exercises.check_cross_entropy_backward(cross_entropy_backward)
print("all chapter 05 exercise checks passed")
