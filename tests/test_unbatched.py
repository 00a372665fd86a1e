"""Unbatched inputs wherever the torch twin takes them (issue 22): one (C, H, W) image through
conv2d, Conv2d, the poolings and im2col, one example's logits (C,) through cross_entropy, compared
with torch in shape, values and gradients (``check_like_torch``, allowed error measured from a
float64 shadow). MultiheadAttention and the recurrent layers are in test_attention_options.py and
test_rnn_options.py; BatchNorm takes no unbatched input in torch either, and refuses it here too.
"""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call

from dlcourse import activations, conv, losses, normalization
from dlcourse.checks import check_like_torch, randomise_weights


def _x(*shape, seed=0, dtype=torch.float32):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype)


IMAGE = _x(3, 9, 11)                                    # (C, H, W), no batch axis


@pytest.mark.parametrize("kw", [{}, {"stride": 2, "padding": 1}, {"padding": "same", "dilation": 2},
                                {"groups": 3, "stride": (2, 1)}], ids=["plain", "stride_pad", "same_dilated", "groups"])
def test_conv2d_takes_one_image_as_F_conv2d(kw):
    weight, bias = _x(6, 3 // kw.get("groups", 1), 3, 3, seed=1), _x(6, seed=2)
    check_like_torch("conv2d unbatched", lambda x, w, b: conv.conv2d(x, w, b, **kw),
                     lambda x, w, b: F.conv2d(x, w, b, **kw), IMAGE, weight, bias, verbose=False)
    assert conv.conv2d(IMAGE, weight, bias, **kw).shape == F.conv2d(IMAGE, weight, bias, **kw).shape


def test_Conv2d_takes_one_image_as_nn_Conv2d():
    theirs = randomise_weights(nn.Conv2d(3, 4, 3, stride=2, padding=1))
    ours = conv.Conv2d(3, 4, 3, stride=2, padding=1)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    names = [n for n, _ in theirs.named_parameters()]

    def run(module):
        return lambda x, *ps: functional_call(module, dict(zip(names, ps)), (x,))
    check_like_torch("Conv2d unbatched", run(ours), run(theirs), IMAGE,
                     *[p.detach() for p in theirs.parameters()], verbose=False)    # weight and bias gradients too
    assert ours(IMAGE).shape == (4, 5, 6)


@pytest.mark.parametrize("kw", [{"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
                                {"kernel_size": (2, 3), "dilation": 2}], ids=["2x2", "ceil_pad", "dilated"])
def test_max_pool2d_takes_one_image_with_its_indices(kw):
    check_like_torch("max_pool2d unbatched", lambda x: conv.max_pool2d(x, **kw), lambda x: F.max_pool2d(x, **kw),
                     IMAGE, verbose=False)
    values, where = conv.max_pool2d(IMAGE, **kw, return_indices=True)
    values_t, where_t = F.max_pool2d(IMAGE, **kw, return_indices=True)
    assert values.shape == values_t.shape and torch.equal(where, where_t)


@pytest.mark.parametrize("kw", [{"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1,
                                                     "count_include_pad": False, "ceil_mode": True},
                                {"kernel_size": 3, "divisor_override": 5}], ids=["2x2", "exclude_pad_ceil", "divisor"])
def test_avg_pool2d_takes_one_image(kw):
    check_like_torch("avg_pool2d unbatched", lambda x: conv.avg_pool2d(x, **kw), lambda x: F.avg_pool2d(x, **kw),
                     IMAGE, verbose=False)


def test_im2col_takes_one_image_as_F_unfold():
    check_like_torch("im2col unbatched", lambda x: conv.im2col(x, 3, stride=2, padding=1, dilation=1),
                     lambda x: F.unfold(x, 3, dilation=1, padding=1, stride=2), IMAGE, verbose=False)
    assert conv.patches(IMAGE, 3).shape == (3, 7, 9, 3, 3)


def test_images_of_other_ranks_are_named():
    for bad in (_x(9, 11), _x(1, 1, 3, 9, 11)):
        with pytest.raises(ValueError, match=r"expected x of shape \(N, C, H, W\), or \(C, H, W\) for one image"):
            conv.conv2d(bad, _x(2, 3, 3, 3))


@pytest.mark.parametrize("kw", [{}, {"label_smoothing": 0.2}, {"weight": _x(5, seed=3).abs()},
                                {"reduction": "none"}, {"reduction": "sum", "label_smoothing": 0.1}],
                         ids=["plain", "smoothing", "weight", "none", "sum_smoothing"])
@pytest.mark.parametrize("target", ["index", "probabilities"])
def test_cross_entropy_takes_one_example_as_F_cross_entropy(target, kw):
    y = torch.tensor(3) if target == "index" else torch.softmax(_x(5, seed=4), 0)
    check_like_torch("cross_entropy unbatched", lambda z: losses.cross_entropy(z, y, **kw),
                     lambda z: F.cross_entropy(z, y, **kw), _x(5, seed=5), verbose=False)
    assert losses.cross_entropy(_x(5), y, **kw).shape == ()


def test_cross_entropy_of_one_ignored_example_is_torchs_nan():
    ignored = torch.tensor(-100)                     # 0 / 0 in the mean, as in torch
    assert losses.cross_entropy(_x(5), ignored).isnan() and F.cross_entropy(_x(5), ignored).isnan()


def test_layers_that_took_unbatched_input_already_still_do():
    theirs = randomise_weights(nn.LayerNorm(11))
    ours = normalization.LayerNorm(11)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    check_like_torch("LayerNorm unbatched", lambda x, w, b: functional_call(ours, {"weight": w, "bias": b}, (x,)),
                     lambda x, w, b: functional_call(theirs, {"weight": w, "bias": b}, (x,)), IMAGE,
                     theirs.weight.detach(), theirs.bias.detach(), verbose=False)
    check_like_torch("prelu of a vector", activations.prelu, F.prelu, _x(7), torch.tensor([0.3]), verbose=False)


def test_batch_norm_refuses_one_image_as_torch_does():
    with pytest.raises(ValueError):
        nn.BatchNorm2d(3)(IMAGE)
    with pytest.raises(ValueError, match="expects input of 4 dimensions"):
        normalization.BatchNorm2d(3)(IMAGE)
