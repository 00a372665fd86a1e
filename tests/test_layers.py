"""dlcourse.layers: each hand-written piece, forward and backward(dout, cache), equals torch.autograd."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from dlcourse.activations import TORCH_ACTIVATIONS
from dlcourse.checks import check_like_torch
from dlcourse.layers import (activation_backward, activation_forward, cross_entropy_backward, cross_entropy_forward,
                             linear_backward, linear_forward)

G = torch.Generator().manual_seed(0)


def test_linear_forward_and_backward_equal_autograd():
    A, W, b = (torch.randn(*s, generator=G, dtype=torch.float64) for s in ((6, 4), (3, 4), (3,)))
    check_like_torch("linear", lambda A, W, b: linear_forward(A, W, b)[0], F.linear, A, W, b,
                     backward=lambda dZ, A, W, b: linear_backward(dZ, linear_forward(A, W, b)[1]),
                     atol=1e-12, verbose=False)


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh"])
def test_activation_forward_and_backward_equal_autograd(name):
    Z = torch.cat([torch.randn(20, generator=G, dtype=torch.float64) * 3, torch.zeros(2, dtype=torch.float64)])
    check_like_torch(name, lambda Z: activation_forward(Z, name)[0], TORCH_ACTIVATIONS[name], Z,
                     backward=lambda dA, Z: activation_backward(dA, activation_forward(Z, name)[1]),
                     atol=1e-12, verbose=False)                        # z = 0 included: ReLU's slope there is 0


def test_cross_entropy_forward_and_backward_equal_autograd():
    logits = torch.randn(5, 7, generator=G, dtype=torch.float64)
    y = torch.tensor([0, 6, 3, 3, 1])
    check_like_torch("cross-entropy", lambda logits, y: cross_entropy_forward(logits, y)[0], F.cross_entropy,
                     logits, y, backward=lambda g, logits, y: cross_entropy_backward(g, (logits, y)),
                     atol=1e-12, verbose=False)


def test_an_activation_without_a_backward_is_refused():
    with pytest.raises(ValueError, match="one of \\['relu', 'sigmoid', 'tanh'\\]"):
        activation_forward(torch.zeros(2), "gelu")
