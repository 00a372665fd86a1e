"""Hand-written layers with a backward pass, in the course's one convention.

Every piece is a pair of functions::

    out, cache = <piece>_forward(*inputs)       # cache: what the backward pass needs
    grads = <piece>_backward(dout, cache)       # dL/d(each input), in forward's order

``dout`` is dL/dout for the scalar loss L above the piece; for a loss, whose output is L
itself, it is 1 (or a random upstream gradient when a check wants one). A piece with one
input returns one tensor, a piece with several a tuple. The model's backward pass calls the
pieces' backward functions in reverse order of their forward calls (CS231n's layer
convention). Chapter 04 builds these functions in front of the student; ``ManualMLP`` uses
them; ``tests/test_layers.py`` proves each equal to torch.autograd.
"""
from __future__ import annotations

import torch

from dlcourse.activations import ACTIVATIONS, log_softmax, sigmoid, softmax, tanh

__all__ = ["linear_forward", "linear_backward", "activation_forward", "activation_backward",
           "cross_entropy_forward", "cross_entropy_backward", "DERIVATIVES"]

# name -> f'(Z) for the activations that have a hand-written backward here, written in terms
# of the pre-activation Z that the cache holds (chapter 04 writes them the same way).
DERIVATIVES = {
    "relu": lambda z: (z > 0).to(z.dtype),        # slope 0 at z = 0, as torch
    "sigmoid": lambda z: sigmoid(z) * (1 - sigmoid(z)),
    "tanh": lambda z: 1 - tanh(z) ** 2,
}


def linear_forward(A: torch.Tensor, W: torch.Tensor, b: torch.Tensor):
    """Z = A W^T + b for A (N, in), W (out, in), b (out,); cache (A, W)."""
    return A @ W.T + b, (A, W)


def linear_backward(dZ: torch.Tensor, cache) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(dA, dW, db): dZ W, dZ^T A (summed over the batch), and the column sums of dZ."""
    A, W = cache
    return dZ @ W, dZ.T @ A, dZ.sum(dim=0)


def activation_forward(Z: torch.Tensor, name: str):
    """A = f(Z) for f = dlcourse.activations.ACTIVATIONS[name]; cache (Z, name)."""
    if name not in DERIVATIVES:
        raise ValueError(f"activation must be one of {sorted(DERIVATIVES)}, got {name!r}.")
    return ACTIVATIONS[name](Z), (Z, name)


def activation_backward(dA: torch.Tensor, cache) -> torch.Tensor:
    """dZ = dA * f'(Z): f acts entry by entry, so its Jacobian is diagonal."""
    Z, name = cache
    return dA * DERIVATIVES[name](Z)


def cross_entropy_forward(logits: torch.Tensor, y: torch.Tensor):
    """Mean of -log softmax(logits)[i, y_i] over the N rows; cache (logits, y)."""
    rows = torch.arange(len(y), device=logits.device)
    return -log_softmax(logits, dim=1)[rows, y].mean(), (logits, y)


def cross_entropy_backward(dloss, cache) -> torch.Tensor:
    """dlogits = dloss * (softmax(logits) - onehot(y)) / N: softmax and log cancel to a subtraction."""
    logits, y = cache
    onehot = torch.nn.functional.one_hot(y, logits.shape[1]).to(logits.dtype)
    return (softmax(logits, dim=1) - onehot) * (dloss / len(y))
