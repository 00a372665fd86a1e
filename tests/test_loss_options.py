"""dlcourse.losses take F.*'s arguments in F.*'s order, options included: cross-entropy's class
weights and ignore_index (torch's weighted mean over the targets that count), BCE's weight and
pos_weight, MSE's and Huber's per-element weights, each equal to torch in values and in the
gradients of the inputs and targets (of MSE's and Huber's weights too: torch has no gradient for
cross-entropy's or BCE's weights)."""
import pytest
import torch
import torch.nn.functional as F

from dlcourse import losses as L
from dlcourse.checks import check_like_torch

TOL = dict(atol=1e-5, rtol=1e-5)
REDUCTIONS = ["mean", "sum", "none"]


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _labels(shape, classes, seed, ignore_index=None):
    """Class indices, a third of them set to ignore_index when one is given."""
    y = torch.randint(0, classes, shape, generator=_gen(seed))
    if ignore_index is not None:
        y[torch.rand(shape, generator=_gen(seed + 1)) < 0.33] = ignore_index
    return y


def test_losses_take_torchs_positional_order():
    # Every argument positional, as a student copying an F.* call would write it; today's third
    # argument of cross_entropy (weight) used to be read as the reduction.
    g = _gen(0)
    z, w = torch.randn(8, 5, generator=g), torch.rand(5, generator=g) + 0.5
    y = _labels((8,), 5, 1, ignore_index=3)
    # (torch's class weights are constants: it has no gradient for them, so they are not an input here)
    check_like_torch("cross_entropy, positional", lambda z: L.cross_entropy(z, y, w, None, 3, None, "sum", 0.1),
                     lambda z: F.cross_entropy(z, y, w, None, 3, None, "sum", 0.1), z, verbose=False, **TOL)
    x, t, pw = torch.randn(6, 4, generator=g), torch.rand(6, 4, generator=g), torch.rand(4, generator=g) + 0.5
    bw = torch.rand(6, 4, generator=g)
    check_like_torch("bce_with_logits, positional",
                     lambda x, t: L.binary_cross_entropy_with_logits(x, t, bw, None, None, "sum", pw),
                     lambda x, t: F.binary_cross_entropy_with_logits(x, t, bw, None, None, "sum", pw),
                     x, t, verbose=False, **TOL)
    check_like_torch("mse, positional", lambda x: L.mse_loss(x, t, None, None, "sum"),
                     lambda x: F.mse_loss(x, t, None, None, "sum"), x, verbose=False, **TOL)
    a, p, n = (torch.randn(5, 3, generator=g) for _ in range(3))
    check_like_torch("triplet, positional", lambda a: L.triplet_margin_loss(a, p, n, 0.5, 1, 1e-6, True, None, None, "sum"),
                     lambda a: F.triplet_margin_loss(a, p, n, 0.5, 1, 1e-6, True, None, None, "sum"), a,
                     verbose=False, **TOL)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("ignore_index", [None, -100, 2], ids=["none-ignored", "ignore-100", "ignore2"])
@pytest.mark.parametrize("shape", [(12, 6), (3, 6, 4, 5)], ids=["NC", "NCHW"])
def test_cross_entropy_weight_and_ignore_index_match_torch(shape, ignore_index, weighted, smoothing, reduction):
    z = torch.randn(shape, generator=_gen(2)) * 3
    y = _labels(shape[:1] + shape[2:], shape[1], 3, ignore_index)
    extra = {} if ignore_index is None else dict(ignore_index=ignore_index)
    args = dict(reduction=reduction, label_smoothing=smoothing, **extra)
    if weighted:
        args["weight"] = torch.rand(shape[1], generator=_gen(4)) * 2 + 0.1
    check_like_torch(f"cross_entropy {args}", lambda z: L.cross_entropy(z, y, **args),
                     lambda z: F.cross_entropy(z, y, **args), z, verbose=False, **TOL)


def test_cross_entropy_mean_is_over_the_weights_of_the_targets_that_count():
    # by hand: two counted targets of classes 0 and 1 (weights 1 and 3), one ignored
    z = torch.zeros(3, 2)
    loss = L.cross_entropy(z, torch.tensor([0, 1, -100]), weight=torch.tensor([1.0, 3.0]))
    assert float(loss) == pytest.approx((1 + 3) * 0.6931472 / (1 + 3))
    assert torch.isnan(L.cross_entropy(z, torch.full((3,), -100)))            # nothing counts: 0 / 0, as torch


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_weight_with_probability_targets_matches_torch(smoothing, reduction):
    z = torch.randn(7, 4, generator=_gen(5))
    q = torch.softmax(torch.randn(7, 4, generator=_gen(6)), dim=1)
    w = torch.rand(4, generator=_gen(7)) + 0.2
    args = dict(reduction=reduction, label_smoothing=smoothing)
    check_like_torch("cross_entropy soft, weight", lambda z, q: L.cross_entropy(z, q, w, **args),
                     lambda z, q: F.cross_entropy(z, q, w, **args), z, q, verbose=False, **TOL)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weight_shape, pos_weight", [((9, 4), False), ((4,), True), ((9, 1), True), (None, True)],
                         ids=["weight", "class-weight+pos", "row-weight+pos", "pos"])
def test_bce_weight_and_pos_weight_match_torch(weight_shape, pos_weight, reduction):
    x = torch.randn(9, 4, generator=_gen(8)) * 4
    x[0] = torch.tensor([0.0, 30.0, -30.0, 1000.0])
    t = torch.rand(9, 4, generator=_gen(9))
    t[:4] = t[:4].round()
    g = _gen(10)
    w = None if weight_shape is None else torch.rand(weight_shape, generator=g) * 2
    pw = torch.rand(4, generator=g) * 3 + 0.1 if pos_weight else None
    args = dict(weight=w, pos_weight=pw, reduction=reduction)   # constants: torch has no gradient for them
    check_like_torch("bce_with_logits, weights", lambda x, t: L.binary_cross_entropy_with_logits(x, t, **args),
                     lambda x, t: F.binary_cross_entropy_with_logits(x, t, **args), x, t, verbose=False, **TOL)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_and_huber_weights_match_torch(reduction):
    g = _gen(11)
    p, t, w = torch.randn(6, 5, generator=g) * 3, torch.randn(6, 5, generator=g), torch.rand(6, 5, generator=g)
    check_like_torch("mse, weight", lambda p, w: L.mse_loss(p, t, reduction=reduction, weight=w),
                     lambda p, w: F.mse_loss(p, t, reduction=reduction, weight=w), p, w, verbose=False, **TOL)
    check_like_torch("huber, weight", lambda p, w: L.huber_loss(p, t, reduction, 1.5, w),
                     lambda p, w: F.huber_loss(p, t, reduction, 1.5, w), p, w, verbose=False, **TOL)


@pytest.mark.parametrize("call, words", [
    (lambda: L.cross_entropy(torch.zeros(2, 3), torch.tensor([0, 1]), None, True), "deprecated in torch"),
    (lambda: L.mse_loss(torch.zeros(2), torch.zeros(2), reduce=False), "reduction="),
    (lambda: L.binary_cross_entropy_with_logits(torch.zeros(2), torch.zeros(2), None, False), "left out"),
    (lambda: L.cross_entropy(torch.zeros(2, 3), torch.tensor([0, 1]), torch.ones(2)), "one value per class"),
    (lambda: L.cross_entropy(torch.zeros(2, 3), torch.tensor([0, 5]), ignore_index=3), "ignore_index=3"),
    (lambda: L.mse_loss(torch.zeros(2, 3), torch.zeros(2, 3), weight=torch.ones(3)), "one weight per element"),
])
def test_left_out_and_wrong_options_get_errors_that_say_so(call, words):
    with pytest.raises(ValueError, match=words):
        call()
