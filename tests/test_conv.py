"""dlcourse.conv equals torch: conv2d, max_pool2d, avg_pool2d (values and every gradient) over a grid of
stride, padding, dilation, groups, rectangular kernels and batch sizes; the receptive-field arithmetic
equals the region a pixel's gradient reaches; typical bugs (stride and dilation swapped, a flipped
kernel, a forgotten bias, stride ignored in the receptive field...) are caught by the same tests."""
from __future__ import annotations

import itertools

import pytest

pytestmark = pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel")  # torch warns about its own copy
import torch
import torch.nn.functional as F
from torch import nn

from dlcourse.checks import CheckError, check_like_torch
from dlcourse.conv import (Conv2d, avg_pool2d, conv2d, conv_output_size, im2col, max_pool2d, receptive_field,
                           receptive_field_box, receptive_fields)

C_IN, C_OUT = 4, 8
GRID = [dict(kernel=k, stride=s, padding=p, dilation=d, groups=g, batch=n)
        for (k, s, p, d, g), n in zip(itertools.product([(3, 3), (2, 3), (1, 1)], [1, (2, 1), 3], [0, (1, 2)],
                                                        [1, (2, 1)], [1, 2]), itertools.cycle([1, 3]))]
GRID += [dict(kernel=(3, 3), stride=1, padding="same", dilation=2, groups=1, batch=2),
         dict(kernel=(2, 4), stride=1, padding="same", dilation=(1, 2), groups=4, batch=2),   # even kernel: odd pad last
         dict(kernel=(3, 3), stride=2, padding="valid", dilation=1, groups=4, batch=2),       # depthwise
         dict(kernel=(5, 5), stride=1, padding=2, dilation=1, groups=1, batch=5),             # LeNet's first layer
         dict(kernel=(11, 10), stride=1, padding=0, dilation=1, groups=1, batch=2)]           # kernel == input


def _case(cfg, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(cfg["batch"], C_IN, 11, 10, generator=g, dtype=dtype)
    w = torch.randn(C_OUT, C_IN // cfg["groups"], *cfg["kernel"], generator=g, dtype=dtype)
    b = torch.randn(C_OUT, generator=g, dtype=dtype)
    return x, w, b


def _check_conv(ours, cfg, dtype=torch.float32, **tol):
    args = dict(stride=cfg["stride"], padding=cfg["padding"], dilation=cfg["dilation"], groups=cfg["groups"])
    check_like_torch(f"conv2d {cfg}", lambda x, w, b: ours(x, w, b, **args),
                     lambda x, w, b: F.conv2d(x, w, b, **args), *_case(cfg, dtype), verbose=False, **tol)


@pytest.mark.parametrize("cfg", GRID, ids=str)
def test_conv2d_equals_torch_in_values_and_gradients(cfg):
    # fp32: the weight's gradient sums N H_out W_out products, so it gets a slightly wider absolute floor.
    _check_conv(conv2d, cfg, atol=1e-5, rtol=1e-5, grad_atol=5e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_conv2d_and_pooling_equal_torch_on_cuda(monkeypatch):
    # cuDNN may use TF32 (10-bit mantissas) for float32 convolutions by default; compare true float32.
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)
    for cfg in GRID:
        args = dict(stride=cfg["stride"], padding=cfg["padding"], dilation=cfg["dilation"], groups=cfg["groups"])
        check_like_torch(f"conv2d on cuda {cfg}", lambda x, w, b: conv2d(x, w, b, **args),
                         lambda x, w, b: F.conv2d(x, w, b, **args), *(t.cuda() for t in _case(cfg)),
                         verbose=False, atol=5e-5, grad_atol=5e-5)   # cuDNN sums up to 440 products in its own order
    x = torch.randn(3, 4, 9, 8, device="cuda")
    check_like_torch("max_pool2d on cuda", lambda x: max_pool2d(x, 3, 2, 1), lambda x: F.max_pool2d(x, 3, 2, 1), x,
                     verbose=False, grad_atol=1e-6)
    check_like_torch("avg_pool2d on cuda", lambda x: avg_pool2d(x, 3, 2, 1), lambda x: F.avg_pool2d(x, 3, 2, 1), x,
                     verbose=False)


@pytest.mark.parametrize("cfg", GRID[::7], ids=str)
def test_conv2d_equals_torch_in_float64(cfg):
    _check_conv(conv2d, cfg, torch.float64, atol=1e-12, rtol=1e-12)


def test_conv2d_without_bias_and_im2col_equal_torch():
    x, w, _ = _case(GRID[0])
    check_like_torch("conv2d, no bias", lambda x, w: conv2d(x, w, None, 2, 1), lambda x, w: F.conv2d(x, w, None, 2, 1),
                     x, w, verbose=False)
    # by name: im2col takes conv2d's order (stride, padding, dilation), F.unfold (dilation, padding, stride)
    check_like_torch("im2col", lambda x: im2col(x, (2, 3), stride=(1, 2), padding=(1, 0), dilation=(2, 1)),
                     lambda x: F.unfold(x, (2, 3), stride=(1, 2), padding=(1, 0), dilation=(2, 1)), x, verbose=False,
                     atol=0, rtol=0,
                     grad_atol=1e-6)   # the values are copies (exact); overlapping windows add up gradients in another order


def test_conv2d_module_is_a_key_copy_of_nn_conv2d():
    torch.manual_seed(0)
    theirs = nn.Conv2d(4, 6, (3, 2), stride=(1, 2), padding=1, dilation=(2, 1), groups=2)
    ours = Conv2d(4, 6, (3, 2), stride=(1, 2), padding=1, dilation=(2, 1), groups=2)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in theirs.state_dict().items()}
    ours.load_state_dict(theirs.state_dict())
    check_like_torch("Conv2d module", ours, theirs, torch.randn(2, 4, 9, 8), verbose=False)
    # the same default initialisation: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    bound = 1 / (2 * 3 * 2) ** 0.5
    ours.reset_parameters()
    assert float(ours.weight.detach().abs().max()) <= bound
    assert float(ours.weight.detach().abs().max()) > 0.8 * bound


POOLS = [dict(kernel=2, stride=None, padding=0, batch=1), dict(kernel=3, stride=2, padding=1, batch=3),
         dict(kernel=(2, 3), stride=(1, 2), padding=(1, 1), batch=2), dict(kernel=(3, 1), stride=1, padding=(1, 0), batch=2)]


@pytest.mark.parametrize("cfg", POOLS, ids=str)
def test_pooling_equals_torch_in_values_and_gradients(cfg):
    x = torch.randn(cfg["batch"], 3, 9, 8, generator=torch.Generator().manual_seed(1))
    k, s, p = cfg["kernel"], cfg["stride"], cfg["padding"]
    check_like_torch(f"max_pool2d {cfg}", lambda x: max_pool2d(x, k, s, p), lambda x: F.max_pool2d(x, k, s, p), x,
                     verbose=False, atol=0, rtol=0, grad_atol=1e-6)  # overlapping windows: sums in another order
    for include in (True, False):
        check_like_torch(f"avg_pool2d {cfg} count_include_pad={include}",
                         lambda x: avg_pool2d(x, k, s, p, count_include_pad=include),
                         lambda x: F.avg_pool2d(x, k, s, p, count_include_pad=include), x, verbose=False)


# sizes where a ceil_mode window is cut off (10 = 2 * 4 + 2 rows with kernel 3, stride 2), or starts in the padding
CEIL = [dict(kernel=3, stride=2, padding=0, size=(10, 7)), dict(kernel=(2, 3), stride=(3, 2), padding=(1, 1), size=(8, 9)),
        dict(kernel=3, stride=2, padding=1, size=(6, 5)), dict(kernel=2, stride=None, padding=1, size=(5, 6)),
        dict(kernel=4, stride=3, padding=2, size=(5, 5))]


@pytest.mark.parametrize("ceil_mode", [False, True], ids=["floor", "ceil"])
@pytest.mark.parametrize("cfg", CEIL, ids=str)
def test_pooling_options_equal_torch_called_positionally(cfg, ceil_mode):
    # torch's order: avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
    x = torch.randn(2, 3, *cfg["size"], generator=torch.Generator().manual_seed(3))
    k, s, p = cfg["kernel"], cfg["stride"], cfg["padding"]
    for include, divisor in itertools.product((True, False), (None, 5)):
        args = (k, s, p, ceil_mode, include, divisor)
        check_like_torch(f"avg_pool2d{args}", lambda x: avg_pool2d(x, *args), lambda x: F.avg_pool2d(x, *args), x,
                         verbose=False, atol=1e-6, rtol=1e-6)
    for dilation in (1, 2) if min(cfg["size"]) > 6 else (1,):
        args = (k, s, p, dilation, ceil_mode)
        check_like_torch(f"max_pool2d{args}", lambda x: max_pool2d(x, *args), lambda x: F.max_pool2d(x, *args), x,
                         verbose=False, atol=0, rtol=0, grad_atol=1e-6)
        ours, where = max_pool2d(x, *args, True)
        theirs, expected = F.max_pool2d(x, *args, True)
        assert torch.equal(ours, theirs) and where.dtype == expected.dtype == torch.int64
        assert torch.equal(where, expected), f"max_pool2d{args} return_indices: other positions than torch's"


def test_max_pool2d_indices_unpool_to_where_the_maxima_were():
    x = torch.randn(2, 3, 8, 8)
    values, where = max_pool2d(x, 2, return_indices=True)
    restored = F.max_unpool2d(values, where, 2)
    assert torch.equal(restored, F.max_unpool2d(*F.max_pool2d(x, 2, return_indices=True), 2))
    assert torch.equal(restored[restored != 0], x[restored != 0])


def test_max_pool2d_sends_the_gradient_to_the_same_input_on_ties():
    x = torch.relu(torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(2))).round()  # many equal values
    check_like_torch("max_pool2d with ties", lambda x: max_pool2d(x, 2), lambda x: F.max_pool2d(x, 2), x,
                     verbose=False, atol=0, rtol=0)


def test_max_pool2d_with_dilation_equals_torch():
    x = torch.randn(2, 2, 10, 9)
    check_like_torch("max_pool2d dilation 2", lambda x: max_pool2d(x, 3, 1, 1, dilation=2),
                     lambda x: F.max_pool2d(x, 3, 1, 1, dilation=2), x, verbose=False, atol=0, rtol=0, grad_atol=1e-6)


# ----------------------------------------------------------------------------- a wrong build is caught
MUTANTS = {
    "stride and dilation swapped": lambda x, w, b, stride, padding, dilation, groups:
        conv2d(x, w, b, dilation, padding, stride, groups),
    "kernel flipped (a true convolution)": lambda x, w, b, stride, padding, dilation, groups:
        conv2d(x, w.flip(-2, -1), b, stride, padding, dilation, groups),
    "bias forgotten": lambda x, w, b, stride, padding, dilation, groups:
        conv2d(x, w, None, stride, padding, dilation, groups),
    "padding rows and columns swapped": lambda x, w, b, stride, padding, dilation, groups:
        conv2d(x, w, b, stride, padding[::-1] if isinstance(padding, tuple) else padding, dilation, groups),
}


@pytest.mark.parametrize("mutant", MUTANTS, ids=str)
def test_the_grid_catches_a_wrong_conv2d(mutant):
    caught = 0
    for cfg in GRID:
        try:
            _check_conv(MUTANTS[mutant], cfg, grad_atol=5e-5)
        except (CheckError, ValueError, RuntimeError):
            caught += 1
    assert caught, f"no case of the grid tells '{mutant}' from F.conv2d"


# ----------------------------------------------------------------------------- sizes and receptive fields
@pytest.mark.parametrize("cfg", GRID, ids=str)
def test_conv_output_size_is_the_size_torch_returns(cfg):
    if isinstance(cfg["padding"], str):
        return
    out = F.conv2d(*_case(cfg), stride=cfg["stride"], padding=cfg["padding"], dilation=cfg["dilation"],
                   groups=cfg["groups"])
    assert conv_output_size((11, 10), cfg["kernel"], cfg["stride"], cfg["padding"], cfg["dilation"]) == out.shape[2:]
    assert conv_output_size(28, 5, 1, 2) == 28 and conv_output_size(28, 5) == 24 and conv_output_size(32, 3, 2, 1) == 16


STACKS = {
    "LeNet-like": [(5, 1, 2), (2, 2), (5, 1, 0), (2, 2)],
    "VGG-like 3x3": [(3, 1, 1), (3, 1, 1), (2, 2), (3, 1, 1), (3, 1, 1), (2, 2)],
    "dilated": [(3, 1, 1, 1), (3, 1, 2, 2), (3, 1, 4, 4)],
    "rectangular, strided": [((3, 5), (1, 2), (1, 2)), ((2, 2), 2), ((3, 1), (2, 1), 0, (2, 1))],
    "even kernels": [(2, 1, 0), (4, 2, 1), (2, 2)],
}


def _torch_stack(layers) -> nn.Sequential:
    """The stack as torch modules with positive weights: convolutions and average pooling (whose gradient
    reaches every pixel of its window, where a max pool's reaches one), so no gradient cancels to zero."""
    mods = []
    for layer in layers:
        k, s, p, d = tuple(layer) + (1, 0, 1)[len(layer) - 1:]
        if d == 1 and k == s and p == 0:
            mods.append(nn.AvgPool2d(k, s))
        else:
            conv = nn.Conv2d(1, 1, k, s, p, d, bias=False).double()
            nn.init.uniform_(conv.weight, 0.5, 1.0)
            mods.append(conv)
    return nn.Sequential(*mods)


def _gradient_box(layers, row=None, col=None, size=48):
    """(top, left, bottom, right) of the input pixels with a non-zero gradient of output pixel (row, col)
    (by default the middle one), and the output's (rows, cols)."""
    x = torch.ones(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    out = _torch_stack(layers)(x)[0, 0]
    row, col = out.shape[0] // 2 if row is None else row, out.shape[1] // 2 if col is None else col
    out[row, col].backward()
    rows, cols = torch.nonzero(x.grad[0, 0], as_tuple=True)
    return (int(rows.min()), int(cols.min()), int(rows.max()), int(cols.max())), tuple(out.shape)


@pytest.mark.parametrize("name", STACKS)
def test_receptive_field_is_where_the_gradient_of_one_output_pixel_reaches(name):
    layers = STACKS[name]
    for row, col in [(0, 0), (3, 2), (1, 4)]:          # (0, 0): the field reaches into the padding, clipped
        expected, _ = _gradient_box(layers, row, col)
        assert receptive_field_box(layers, row, col, image_size=48) == expected, (name, row, col)
    (top, left, bottom, right), (h, w) = _gradient_box(layers)      # the middle pixel: its whole field
    assert top > 0 and left > 0 and bottom < 47 and right < 47, "the field should lie inside the image"
    assert receptive_field_box(layers, h // 2, w // 2) == (top, left, bottom, right)
    rf = receptive_field(layers)
    size = rf.size if isinstance(rf.size, tuple) else (rf.size, rf.size)
    assert (bottom - top + 1, right - left + 1) == size


def test_receptive_field_numbers_of_known_stacks():
    lenet = receptive_fields(STACKS["LeNet-like"])
    assert [(r.size, r.jump) for r in lenet] == [(1, 1), (5, 1), (6, 2), (14, 2), (16, 4)]
    assert receptive_field([(3, 1, 1)] * 3).size == 7                  # three 3x3 see what one 7x7 sees (VGG)
    assert receptive_field([(3, 1, 1, 1), (3, 1, 2, 2), (3, 1, 4, 4)]).size == 15     # dilation grows it fast
    assert receptive_field([(3, (1, 2), 1, (1, 2))]) == ((3, 5), (1, 2), (0.0, 1.0))
    modules = [nn.Conv2d(1, 6, 5, padding=2), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.AvgPool2d(2)]
    assert receptive_fields(modules) == lenet
    same = [nn.Conv2d(1, 1, 3, padding="same"), nn.Conv2d(1, 1, 4, padding="same", dilation=2)]
    assert receptive_fields(same) == receptive_fields([(3, 1, 1), (4, 1, 3, 2)])    # 3 before, 3 after


def _rf_stride_ignored(layers):
    """A typical slip: the jump never grows, so later layers add k - 1 pixels instead of (k - 1) x jump."""
    return receptive_field([tuple(layer[:1]) + (1,) + tuple(layer[2:]) for layer in layers])


def test_the_gradient_test_catches_a_receptive_field_that_ignores_the_stride():
    layers = STACKS["LeNet-like"]
    (top, left, bottom, right), _ = _gradient_box(layers)
    assert receptive_field(layers).size == bottom - top + 1
    assert _rf_stride_ignored(layers).size != bottom - top + 1


# ----------------------------------------------------------------------------- clear errors
@pytest.mark.parametrize("call, words", [
    (lambda: conv2d(torch.randn(8, 8), torch.randn(2, 3, 3, 3)), "or (C, H, W) for one image"),   # (C, H, W) runs
    (lambda: conv2d(torch.randn(1, 3, 8, 8), torch.randn(2, 1, 3, 3)), "in_channels / groups = 3"),
    (lambda: conv2d(torch.randn(1, 4, 8, 8), torch.randn(6, 2, 3, 3), groups=3), "common divisors"),
    (lambda: conv2d(torch.randn(1, 3, 8, 8), torch.randn(2, 3, 3, 3), torch.randn(3)), "one entry per output"),
    (lambda: conv2d(torch.randn(1, 3, 4, 4), torch.randn(2, 3, 5, 5)), "add padding"),
    (lambda: conv2d(torch.randn(1, 3, 8, 8), torch.randn(2, 3, 3, 3), stride=2, padding="same"), "stride 1"),
    (lambda: conv2d(torch.randn(1, 3, 8, 8), torch.randn(2, 3, 3, 3).double()), "x.to(weight.dtype)"),
    (lambda: conv2d(torch.randn(1, 3, 8, 8), torch.randn(2, 3, 3, 3), stride=0), "at least 1"),
    (lambda: max_pool2d(torch.randn(1, 3, 8, 8), 2, padding=2), "at most half the kernel"),
    (lambda: avg_pool2d(torch.randn(1, 3, 8, 8), 2, divisor_override=0), "nonzero int"),
    (lambda: Conv2d(3, 4, 3, 1, 1, 1, 1, True, "reflect"), "left out of dlcourse on purpose"),
    (lambda: receptive_field([nn.ReLU()]), "activations do not change"),
])
def test_bad_input_gets_an_error_that_names_the_fix(call, words):
    with pytest.raises((ValueError, TypeError)) as err:
        call()
    assert words in str(err.value)
