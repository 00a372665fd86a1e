"""Losses built from elementary ops == torch.nn.functional, in values and gradients, at any logit."""
import pytest
import torch
import torch.nn.functional as F

from dlcourse import losses as L
from dlcourse.checks import check_like_torch
from dlcourse.exercises.chapters import ch05_losses as exercises

SEEDS = [0, 1, 2]
REDUCTIONS = ["mean", "sum", "none"]
TOL = {torch.float32: dict(atol=1e-5, rtol=1e-5), torch.float64: dict(atol=1e-12, rtol=1e-10)}


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _logits(shape, seed, dtype=torch.float32, extreme=False):
    """Ordinary logits; with extreme=True some rows are scaled to the thousands (far past exp's range)."""
    x = torch.randn(shape, generator=_gen(seed), dtype=dtype) * 3
    if extreme:
        x[: max(1, shape[0] // 2)] *= 1000
    return x


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(7,), (16, 3), (4, 5, 6)])
def test_mse_matches_torch(shape, reduction, seed):
    g = _gen(seed)
    pred, target = torch.randn(shape, generator=g), torch.randn(shape, generator=g)
    check_like_torch("mse", lambda p, t: L.mse_loss(p, t, reduction=reduction), lambda p, t: F.mse_loss(p, t, reduction=reduction),
                     pred, target, verbose=False)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("extreme", [False, True], ids=["ordinary", "extreme"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.6])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("seed", SEEDS)
def test_cross_entropy_matches_torch(seed, reduction, smoothing, extreme, dtype):
    logits = _logits((12, 7), seed, dtype, extreme)
    y = torch.randint(0, 7, (12,), generator=_gen(seed + 10))
    check_like_torch("cross_entropy", lambda z, y: L.cross_entropy(z, y, reduction=reduction, label_smoothing=smoothing),
                     lambda z, y: F.cross_entropy(z, y, reduction=reduction, label_smoothing=smoothing),
                     logits, y, seed=seed, verbose=False, **TOL[dtype])


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_with_extra_dims_and_probability_targets(smoothing):
    # Classes in dim 1, like F.cross_entropy: a segmentation map (N, C, H, W) with labels (N, H, W).
    logits = _logits((2, 5, 3, 4), 3)
    y = torch.randint(0, 5, (2, 3, 4), generator=_gen(4))
    check_like_torch("cross_entropy 4-d", lambda z, y: L.cross_entropy(z, y, reduction="none", label_smoothing=smoothing),
                     lambda z, y: F.cross_entropy(z, y, reduction="none", label_smoothing=smoothing), logits, y,
                     verbose=False)
    q = torch.softmax(torch.randn(6, 4, generator=_gen(5)), dim=1)
    check_like_torch("cross_entropy soft", lambda z, q: L.cross_entropy(z, q, label_smoothing=smoothing),
                     lambda z, q: F.cross_entropy(z, q, label_smoothing=smoothing), _logits((6, 4), 6), q,
                     verbose=False)


def test_cross_entropy_is_exact_at_extreme_logits():
    z = torch.tensor([[1000.0, 0.0, -1000.0], [0.0, -2000.0, 0.0]], requires_grad=True)
    loss = L.cross_entropy(z, torch.tensor([1, 1]), reduction="none")
    assert loss.tolist() == [1000.0, pytest.approx(2000.0 + 0.6931472, abs=1e-3)]   # log(1 + 1) + 2000
    loss.sum().backward()
    assert torch.isfinite(z.grad).all()


def test_label_smoothing_gives_every_class_eps_over_c():
    # The smoothed target is (1 - eps) onehot + eps / C: its gradient p - q sums to 0 per row
    # and the true class gets 1 - eps + eps / C (eps / (C - 1) on the others would be another loss).
    z = torch.zeros(1, 4, requires_grad=True)
    L.cross_entropy(z, torch.tensor([2]), label_smoothing=0.2).backward()
    q = torch.tensor([[0.05, 0.05, 0.85, 0.05]])
    torch.testing.assert_close(z.grad, torch.full((1, 4), 0.25) - q)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("pos_weight", [None, 3.0])
def test_bce_with_logits_matches_torch(pos_weight, reduction, seed):
    x = torch.cat([_logits((40,), seed), torch.tensor([0.0, -30.0, 30.0, -100.0, 100.0, -1000.0, 1000.0])])
    t = torch.rand(len(x), generator=_gen(seed + 20))
    t[:10] = t[:10].round()                                   # hard and soft targets
    w = None if pos_weight is None else torch.tensor(pos_weight)
    check_like_torch("bce_with_logits", lambda x, t: L.binary_cross_entropy_with_logits(x, t, reduction=reduction, pos_weight=w),
                     lambda x, t: F.binary_cross_entropy_with_logits(x, t, reduction=reduction, pos_weight=w),
                     x, t, seed=seed, verbose=False)


def test_bce_gradient_at_zero_is_half_minus_target():
    # d/dx at x = 0 is sigmoid(0) - y = 1/2 - y; torch's abs'(0) = 0 with clamp'(0) = 1 would give 1 - y.
    x = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    L.binary_cross_entropy_with_logits(x, torch.tensor([0.0, 1.0], dtype=torch.float64), reduction="sum").backward()
    assert x.grad.tolist() == [0.5, -0.5]
    assert L.binary_cross_entropy_with_logits(torch.tensor([1000.0, -1000.0]), torch.tensor([0.0, 1.0]),
                                              reduction="none").tolist() == [1000.0, 1000.0]


def test_triplet_margin_defaults_are_torchs():
    g = torch.Generator().manual_seed(0)
    anchor, positive, negative = (torch.randn(6, 5, generator=g) for _ in range(3))
    torch.testing.assert_close(L.triplet_margin_loss(anchor, positive, negative),
                               F.triplet_margin_loss(anchor, positive, negative))   # margin 1, p 2, no swap


def test_huber_default_delta_is_torchs():
    pred, target = torch.tensor([0.0, 0.5, 1.5, -3.0]), torch.zeros(4)    # |d| on both sides of 1 and of 2
    torch.testing.assert_close(L.huber_loss(pred, target), F.huber_loss(pred, target), atol=0, rtol=0)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("delta", [1.0, 0.3, 2.5])
def test_huber_matches_torch(delta, reduction, seed):
    g = _gen(seed)
    pred, target = torch.randn(8, 5, generator=g) * 3, torch.randn(8, 5, generator=g)
    pred[0, :2] = target[0, :2] + torch.tensor([delta, -delta])     # exactly on the seam
    check_like_torch("huber", lambda p, t: L.huber_loss(p, t, reduction, delta),
                     lambda p, t: F.huber_loss(p, t, reduction=reduction, delta=delta), pred, target, verbose=False)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p, swap", [(2, False), (2, True), (1, False), (3, True)])
@pytest.mark.parametrize("margin", [1.0, 0.2])
def test_triplet_margin_matches_torch(margin, p, swap, reduction, seed):
    g = _gen(seed)
    a, pos, neg = (torch.randn(9, 6, generator=g) for _ in range(3))
    pos[0] = a[0]                                             # distance 0: the norm's gradient needs eps
    check_like_torch("triplet", lambda a, q, n: L.triplet_margin_loss(a, q, n, margin, p, swap=swap, reduction=reduction),
                     lambda a, q, n: F.triplet_margin_loss(a, q, n, margin=margin, p=p, swap=swap, reduction=reduction),
                     a, pos, neg, seed=seed, verbose=False)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="reduction"):
        L.mse_loss(torch.zeros(2), torch.zeros(2), reduction="avg")
    with pytest.raises(ValueError, match=r"\(4, 1\) vs \(N,\)|must match"):
        L.mse_loss(torch.zeros(4, 1), torch.zeros(4))
    with pytest.raises(ValueError, match="outside 0..2"):
        L.cross_entropy(torch.zeros(2, 3), torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="label_smoothing"):
        L.cross_entropy(torch.zeros(2, 3), torch.tensor([0, 1]), label_smoothing=1.5)
    with pytest.raises(ValueError, match="delta"):
        L.huber_loss(torch.zeros(2), torch.zeros(2), delta=0)


def test_built_only_from_elementary_ops(monkeypatch):
    """The references never call torch's own losses or softmax: make them explode and run ours."""
    def boom(*args, **kwargs):
        raise AssertionError("called a built-in")
    for name in ["mse_loss", "cross_entropy", "nll_loss", "binary_cross_entropy_with_logits", "binary_cross_entropy",
                 "huber_loss", "smooth_l1_loss", "triplet_margin_loss", "pairwise_distance", "log_softmax", "softmax",
                 "softplus", "logsigmoid"]:
        monkeypatch.setattr(F, name, boom)
    for name in ["log_softmax", "softmax", "sigmoid", "logsumexp", "cdist", "norm"]:
        monkeypatch.setattr(torch, name, boom)
    x = torch.randn(4, 3, requires_grad=True)
    y = torch.tensor([0, 2, 1, 0])
    total = (L.mse_loss(x, torch.zeros(4, 3)) + L.cross_entropy(x, y, label_smoothing=0.1)
             + L.binary_cross_entropy_with_logits(x, torch.ones(4, 3)) + L.huber_loss(x, torch.zeros(4, 3))
             + L.triplet_margin_loss(x, x.flip(0), x.roll(1, 0)))
    total.backward()


# The exercise checks of chapter 05 pass right answers, report placeholders, and reject the usual mistakes.

def _focal(logits, targets, alpha=0.25, gamma=2.0, naive=False, use_alpha=True):
    p = torch.sigmoid(logits)
    p_t = p * targets + (1 - p) * (1 - targets)
    bce = -torch.log(p_t) if naive else L.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    loss = bce * (1 - p_t) ** gamma
    if use_alpha and alpha >= 0:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    return loss


def _ce_backward(logits, y, eps=0.0, mass=None, stable=True):
    n, c = logits.shape
    off = eps / c if mass is None else mass(eps, c)
    q = (1 - eps) * F.one_hot(y, c).to(logits.dtype) + off
    p = torch.softmax(logits, 1) if stable else torch.exp(logits) / torch.exp(logits).sum(1, keepdim=True)
    return (p - q) / n


@pytest.mark.parametrize("check, right, wrongs", [
    (exercises.check_focal_loss, _focal,
     [lambda x, t, alpha=0.25, gamma=2.0: _focal(x, t, alpha, gamma, naive=True),       # log(0) at x = -200
      lambda x, t, alpha=0.25, gamma=2.0: _focal(x, t, alpha, gamma, use_alpha=False)]),  # alpha forgotten
    (exercises.check_kl_divergence, lambda lq, p: (torch.xlogy(p, p) - p * lq).sum(1).mean(),
     [lambda lq, p: (torch.xlogy(p, p) - p * lq).mean(),                 # "mean" over elements, not batchmean
      lambda lq, p: (p * (torch.log(p) - lq)).sum(1).mean(),             # 0 log 0 = nan
      lambda lq, p: (lq.exp() * (lq - torch.log(p.clamp_min(1e-12)))).sum(1).mean()]),   # KL(q || p)
    (exercises.check_cross_entropy_backward, _ce_backward,
     [lambda z, y, eps=0.0: _ce_backward(z, y, eps, mass=lambda e, c: e / (c - 1)),     # eps / (C - 1)
      lambda z, y, eps=0.0: _ce_backward(z, y, eps) * len(y),                           # sum, not mean
      lambda z, y, eps=0.0: _ce_backward(z, y, eps, stable=False)]),                    # no max shift
], ids=["focal", "kl", "ce_backward"])
def test_exercise_checks(check, right, wrongs, exercise_check):
    exercise_check(check, right, wrongs)
