"""Loss functions from elementary tensor operations, each equal to ``torch.nn.functional``'s.

Every function takes the same arguments, in the same order, as its ``F.*`` twin and returns
the same value and gradient (``tests/test_losses.py``), including at logits of +-1000 where
the textbook formulas overflow. They are vectorised: no Python loop over the batch.

The numerics in one sentence each:

* cross-entropy is computed from ``log_softmax`` (the log-sum-exp trick of chapter 03),
  never as ``log(softmax(x))``, which gives ``log(0) = -inf`` once a probability underflows;
* binary cross-entropy takes *logits* and uses log(1 + e^x) = max(x, 0) + log1p(e^-|x|),
  so ``exp`` never sees a positive number and ``log`` never sees 0.

``reduction`` is "mean" (over every element, not just the batch: MSE of an (N, D) tensor
divides by N * D, like torch), "sum" or "none" in every function. Where a weight is given, the
mean is torch's: cross-entropy with class indices and MSE divide by the weights summed (so a
weighted mean stays a mean), the others by the number of elements.

torch's deprecated ``size_average`` and ``reduce`` keep their places in each signature, so a
positional call means here what it means in torch; anything but None in them is refused
(say ``reduction=`` instead).

References: label smoothing, Szegedy et al. (2016), "Rethinking the Inception architecture";
Huber loss, Huber (1964), "Robust estimation of a location parameter"; triplet loss,
Schroff, Kalenichenko & Philbin (2015), "FaceNet", and Balntas et al. (2016) for ``swap``.
"""
from __future__ import annotations

import torch

from dlcourse.activations import log_softmax

__all__ = ["mse_loss", "cross_entropy", "binary_cross_entropy_with_logits", "huber_loss",
           "triplet_margin_loss"]

_REDUCTIONS = ("mean", "sum", "none")


def _reduce(loss: torch.Tensor, reduction: str, who: str) -> torch.Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{who}: reduction must be one of {_REDUCTIONS}, got {reduction!r}.")


def _no_legacy(who: str, size_average, reduce) -> None:
    """torch's pre-1.0 arguments hold their positional slots but are not implemented."""
    if size_average is not None or reduce is not None:
        raise ValueError(f"{who}: size_average and reduce are deprecated in torch and left out of dlcourse on "
                         "purpose; pass reduction='mean', 'sum' or 'none' instead.")


def _weighted(loss: torch.Tensor, weight: torch.Tensor | None, who: str) -> torch.Tensor:
    if weight is None:
        return loss
    if weight.shape != loss.shape:
        raise ValueError(f"{who}: weight has shape {tuple(weight.shape)} but the input has {tuple(loss.shape)}; "
                         "give one weight per element (as torch requires).")
    return loss * weight


def _same_shape(a: torch.Tensor, b: torch.Tensor, who: str, what: str = "target") -> None:
    if a.shape != b.shape:
        raise ValueError(f"{who}: input has shape {tuple(a.shape)} but {what} has shape {tuple(b.shape)}; "
                         "they must match (broadcasting here usually hides a bug, e.g. (N, 1) vs (N,)).")


def mse_loss(input: torch.Tensor, target: torch.Tensor, size_average=None, reduce=None, reduction: str = "mean",
             weight: torch.Tensor | None = None) -> torch.Tensor:
    """(input - target)^2 per element, reduced. Gradient: 2 (input - target) / numel for "mean".

    weight: one per element; the "mean" is then sum(weight * error) / sum(weight), as torch's.
    """
    _no_legacy("mse_loss", size_average, reduce)
    _same_shape(input, target, "mse_loss")
    diff = input - target
    loss = _weighted(diff * diff, weight, "mse_loss")
    if weight is not None and reduction == "mean":
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction, "mse_loss")


def cross_entropy(input: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None,
                  size_average=None, ignore_index: int = -100, reduce=None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> torch.Tensor:
    """-sum_c q_c log softmax(input)_c, with the classes in dim 1 (like ``F.cross_entropy``).

    input: logits (N, C) or (N, C, d1, ...), or (C,) for one example. target: class indices
    (N,) or (N, d1, ...) (one example: a 0-d class), or class probabilities with the input's
    shape. Label smoothing with mass eps replaces the target distribution q by
    (1 - eps) q + eps / C: every class, the right one included, gets eps / C. For index
    targets that is
        loss = (1 - eps) * (-log p_y) + eps * mean_c(-log p_c).
    Gradient w.r.t. the logits, per example: softmax(input) - q.

    weight: one per class, (C,); each term -q_c log p_c is scaled by weight_c. With class
    indices "mean" is the weighted mean, sum(loss) / sum(weight_y) over the targets that
    count, so rare classes weigh more without changing the loss's scale; with probabilities
    it divides by the number of examples (torch's rules, both). ignore_index: index targets
    equal to it add nothing and do not count in the mean (padding tokens, unlabelled pixels).
    """
    _no_legacy("cross_entropy", size_average, reduce)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}.")
    if input.dim() == 1:    # one example, as F.cross_entropy takes it: logits (C,), a class () or probabilities (C,)
        loss = cross_entropy(input.unsqueeze(0), target.unsqueeze(0), weight, None, ignore_index, None, reduction,
                             label_smoothing)
        return loss.squeeze(0) if reduction == "none" else loss
    if input.dim() < 1:
        raise ValueError(f"cross_entropy: input must be logits of shape (N, C, ...) or (C,), got {tuple(input.shape)}.")
    n_classes = input.shape[1]
    if weight is not None and tuple(weight.shape) != (n_classes,):
        raise ValueError(f"cross_entropy: weight must hold one value per class, shape ({n_classes},), "
                         f"got {tuple(weight.shape)}.")
    class_shape = [1, n_classes] + [1] * (input.dim() - 2)     # a (C,) vector against (N, C, ...)
    logp = log_softmax(input, dim=1)
    wlogp = logp if weight is None else logp * weight.view(class_shape)
    if target.is_floating_point():                       # class probabilities: ignore_index does not apply
        _same_shape(input, target, "cross_entropy")
        q = target * (1 - label_smoothing) + label_smoothing / n_classes
        return _reduce(-(q * wlogp).sum(dim=1), reduction, "cross_entropy")
    if target.shape != input.shape[:1] + input.shape[2:]:
        raise ValueError(f"cross_entropy: class-index target must have shape {tuple(input.shape[:1] + input.shape[2:])}"
                         f" for input {tuple(input.shape)}, got {tuple(target.shape)}.")
    counted = target != ignore_index
    real = target[counted]
    if real.numel() and (real.min() < 0 or real.max() >= n_classes):
        raise ValueError(f"cross_entropy: target holds class {int(real.max())} or {int(real.min())}, "
                         f"outside 0..{n_classes - 1} (and is not ignore_index={ignore_index}).")
    safe = torch.where(counted, target, 0)               # any class will do: the ignored terms are zeroed
    loss = -wlogp.gather(1, safe.unsqueeze(1)).squeeze(1)
    if label_smoothing:
        loss = (1 - label_smoothing) * loss - label_smoothing / n_classes * wlogp.sum(dim=1)
    loss = torch.where(counted, loss, 0.0)
    if reduction == "mean":                              # 0 / 0 = nan when every target is ignored, as torch
        weights = counted.to(loss.dtype) if weight is None else torch.where(counted, weight[safe], 0.0)
        return loss.sum() / weights.sum()
    return _reduce(loss, reduction, "cross_entropy")


def binary_cross_entropy_with_logits(input: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None,
                                     size_average=None, reduce=None, reduction: str = "mean",
                                     pos_weight: torch.Tensor | None = None) -> torch.Tensor:
    """-[w y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))] from the logit x, stable for any x.

    With log sigmoid(x) = -softplus(-x) and log(1 - sigmoid(x)) = -softplus(x):
        loss = (1 - y) x + (1 + (w - 1) y) softplus(-x),
        softplus(-x) = max(-x, 0) + log1p(e^-|x|),
    where w = pos_weight (1 by default; one per class, broadcast along the last dim) up-weights
    the positives. ``weight`` (broadcast against the input) then scales each element's loss;
    "mean" still divides by the number of elements, as torch's. Gradient: sigmoid(x) - y
    for w = 1. ``-|x|`` and ``max(-x, 0)`` are written with one ``where`` on ``x >= 0`` so
    that their derivatives at exactly 0 agree (torch's abs has derivative 0 there, which
    would give 1 - y instead of 1/2 - y).
    """
    _no_legacy("binary_cross_entropy_with_logits", size_average, reduce)
    _same_shape(input, target, "binary_cross_entropy_with_logits")
    pos = input >= 0
    neg_abs = torch.where(pos, -input, input)                 # -|x| <= 0: exp cannot overflow
    softplus_neg = torch.where(pos, 0.0, -input) + torch.log1p(torch.exp(neg_abs))   # log(1 + e^-x)
    positives = 1.0 if pos_weight is None else 1 + (pos_weight - 1) * target
    loss = (1 - target) * input + positives * softplus_neg
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def huber_loss(input: torch.Tensor, target: torch.Tensor, reduction: str = "mean",
               delta: float = 1.0, weight: torch.Tensor | None = None) -> torch.Tensor:
    """d^2 / 2 where |d| < delta, delta (|d| - delta / 2) beyond (d = input - target).

    Quadratic near 0 (smooth, like MSE), linear in the tails (an outlier pulls with force
    delta, not 2 d). The two pieces meet with equal value and slope at |d| = delta.
    weight: one per element; "mean" divides by the number of elements (torch's rule here).
    """
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}.")
    _same_shape(input, target, "huber_loss")
    d = input - target
    ad = d.abs()
    loss = torch.where(ad < delta, 0.5 * d * d, delta * (ad - 0.5 * delta))
    return _reduce(_weighted(loss, weight, "huber_loss"), reduction, "huber_loss")


def _pairwise_distance(a: torch.Tensor, b: torch.Tensor, p: float, eps: float) -> torch.Tensor:
    """||a - b + eps||_p over the last dim, as ``F.pairwise_distance`` (eps keeps the norm's
    gradient finite when a == b)."""
    diff = a - b + eps
    if p == 2:
        return (diff * diff).sum(dim=-1).sqrt()
    return diff.abs().pow(p).sum(dim=-1).pow(1 / p)


def triplet_margin_loss(anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor,
                        margin: float = 1.0, p: float = 2, eps: float = 1e-6, swap: bool = False,
                        size_average=None, reduce=None, reduction: str = "mean") -> torch.Tensor:
    """max(d(a, p) - d(a, n) + margin, 0): the negative must be ``margin`` farther than the positive.

    Inputs are embeddings (N, D) (or (D,)). ``swap`` uses min(d(a, n), d(p, n)) as the
    negative distance, the harder of the two (Balntas et al. 2016).
    """
    _no_legacy("triplet_margin_loss", size_average, reduce)
    for what, t in (("positive", positive), ("negative", negative)):
        _same_shape(anchor, t, "triplet_margin_loss", what)
    d_pos = _pairwise_distance(anchor, positive, p, eps)
    d_neg = _pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = torch.minimum(d_neg, _pairwise_distance(positive, negative, p, eps))
    return _reduce((d_pos - d_neg + margin).clamp_min(0), reduction, "triplet_margin_loss")
