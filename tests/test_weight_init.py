"""Xavier/He initialisation from the formulas == torch.nn.init, bit for bit with the same seed."""
import math

import pytest
import torch
import torch.nn as nn

from dlcourse import weight_init as I

SHAPES = {"linear": (20, 30), "conv2d": (16, 3, 5, 5), "conv1d": (8, 4, 3)}

CASES = [
    ("xavier_uniform_", {}),
    ("xavier_uniform_", {"gain": 5 / 3}),
    ("xavier_normal_", {}),
    ("xavier_normal_", {"gain": math.sqrt(2)}),
    ("kaiming_uniform_", {}),
    ("kaiming_uniform_", {"a": math.sqrt(5)}),                       # nn.Linear's default
    ("kaiming_uniform_", {"mode": "fan_out", "nonlinearity": "relu"}),
    ("kaiming_normal_", {}),
    ("kaiming_normal_", {"nonlinearity": "relu"}),
    ("kaiming_normal_", {"a": 0.2, "mode": "fan_out"}),
    ("kaiming_normal_", {"nonlinearity": "tanh"}),
]


@pytest.mark.parametrize("shape", list(SHAPES.values()), ids=list(SHAPES))
@pytest.mark.parametrize("fn, kwargs", CASES, ids=[f"{f}{k}" for f, k in CASES])
def test_bit_identical_to_torch_with_global_seed(fn, kwargs, shape):
    torch.manual_seed(123)
    ours = getattr(I, fn)(torch.empty(shape), **kwargs)
    torch.manual_seed(123)
    ref = getattr(nn.init, fn)(torch.empty(shape), **kwargs)
    assert torch.equal(ours, ref)


@pytest.mark.parametrize("fn, kwargs", CASES, ids=[f"{f}{k}" for f, k in CASES])
def test_bit_identical_to_torch_with_generator(fn, kwargs):
    ours = getattr(I, fn)(torch.empty(SHAPES["conv2d"]), **kwargs, generator=torch.Generator().manual_seed(7))
    ref = getattr(nn.init, fn)(torch.empty(SHAPES["conv2d"]), **kwargs, generator=torch.Generator().manual_seed(7))
    assert torch.equal(ours, ref)


def test_reproduces_nn_linear_default_init():
    torch.manual_seed(0)
    layer = nn.Linear(30, 20)
    torch.manual_seed(0)
    w = I.kaiming_uniform_(torch.empty(20, 30), a=math.sqrt(5))
    assert torch.equal(w, layer.weight.detach())


def test_in_place_and_outside_the_graph():
    w = nn.Parameter(torch.empty(5, 4))
    out = I.kaiming_normal_(w, generator=torch.Generator().manual_seed(0))
    assert out is w and w.grad_fn is None and w.requires_grad


@pytest.mark.parametrize("nonlinearity, param", [
    ("linear", None), ("conv1d", None), ("conv2d", None), ("conv3d", None), ("conv_transpose2d", None),
    ("sigmoid", None), ("tanh", None), ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
    ("leaky_relu", 1), ("leaky_relu", math.sqrt(5)), ("selu", None)])
def test_gain_equals_torch(nonlinearity, param):
    assert I.calculate_gain(nonlinearity, param) == nn.init.calculate_gain(nonlinearity, param)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        I.calculate_gain("swish")
    with pytest.raises(ValueError, match="negative_slope"):
        I.calculate_gain("leaky_relu", "0.1")
    with pytest.raises(ValueError, match="at least 2 dims"):
        I.xavier_uniform_(torch.empty(10))
    with pytest.raises(ValueError, match="fan_in"):
        I.kaiming_normal_(torch.empty(3, 4), mode="fan_avg")


@pytest.mark.parametrize("shape", [(20, 30), (16, 3, 5, 5), (8, 4, 3), (2, 3, 4, 5, 6)])
def test_fans_equal_torch(shape):
    assert I.fan_in_and_fan_out(torch.empty(shape)) == nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


def test_variances_follow_the_papers():
    # He: Var = 2 / fan_in keeps the ReLU signal's second moment constant (He et al. 2015, eq. 10).
    g = torch.Generator().manual_seed(0)
    w = I.kaiming_normal_(torch.empty(400, 1000), nonlinearity="relu", generator=g)
    assert w.var().item() == pytest.approx(2 / 1000, rel=0.02)
    # Glorot: Var = 2 / (fan_in + fan_out), uniform on +-sqrt(6 / (fan_in + fan_out)).
    w = I.xavier_uniform_(torch.empty(400, 1000), generator=g)
    assert w.var().item() == pytest.approx(2 / 1400, rel=0.02)
    assert w.abs().max().item() <= math.sqrt(6 / 1400)
