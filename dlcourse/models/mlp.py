"""The multilayer perceptron, twice: as an ``nn.Module``, and with backprop written by hand.

An MLP stacks layers h_l = act(W_l h_(l-1) + b_l) and ends with a linear layer that gives
the logits. With one hidden layer and a non-linear activation it can represent any
continuous function on a compact set (Cybenko 1989; Hornik 1991), and in particular it
solves XOR, which a single perceptron cannot.

``MLP`` is the module the notebooks train. ``ManualMLP`` holds the same weights as plain
tensors and computes the gradient of the mean softmax cross-entropy with the matrix form
of backpropagation (Rumelhart, Hinton & Williams 1986). For a batch X (N, d_0) with
rows as samples, D layers and the loss L:

    forward:   Z_l = A_(l-1) W_l^T + b_l,   A_l = act(Z_l),   A_0 = X,  logits = Z_D
    output:    dZ_D = (softmax(Z_D) - onehot(y)) / N          (softmax + CE, averaged)
    layer l:   dW_l = dZ_l^T A_(l-1),   db_l = sum over rows of dZ_l
               dA_(l-1) = dZ_l W_l,     dZ_(l-1) = dA_(l-1) * act'(Z_(l-1))

``tests/test_mlp.py`` shows these equal torch.autograd's gradients to float64 precision.
"""
from __future__ import annotations

from typing import Iterable

import torch
import torch.nn as nn

from dlcourse import weight_init
from dlcourse.layers import (DERIVATIVES, activation_backward, activation_forward, cross_entropy_backward,
                             cross_entropy_forward, linear_backward, linear_forward)

__all__ = ["MLP", "ManualMLP", "HIDDEN_ACTIVATIONS"]

# name -> torch's own module for it; a fresh instance per layer (PReLU has parameters).
HIDDEN_ACTIVATIONS = {
    "relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "elu": nn.ELU, "gelu": nn.GELU,
    "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "prelu": nn.PReLU,
}
_OUTPUT_ACTIVATIONS = {**HIDDEN_ACTIVATIONS,
                       "softmax": lambda: nn.Softmax(dim=-1), "log_softmax": lambda: nn.LogSoftmax(dim=-1)}


def _make(table: dict, name: str, what: str) -> nn.Module:
    if name not in table:
        raise ValueError(f"MLP: unknown {what} {name!r}; choose one of {sorted(table)}.")
    return table[name]()


def _flatten(x: torch.Tensor, in_features: int, who: str) -> torch.Tensor:
    """Images (N, C, H, W) become rows (N, C*H*W); then the width must match the first layer."""
    if x.dim() > 2:
        x = x.flatten(1)
    if x.shape[-1] != in_features:
        raise ValueError(f"{who}: expected {in_features} input features, got {x.shape[-1]} "
                         f"(input shape {tuple(x.shape)}); is sizes[0] right for this data?")
    return x


class MLP(nn.Module):
    """Linear -> act -> [dropout] -> ... -> Linear [-> output_activation], in ``self.net``.

    sizes: [in, hidden..., out], e.g. [64, 128, 10] for digits. The parameter count is
    sum over layers of (in + 1) * out, plus one slope per hidden layer for "prelu".
    """

    def __init__(self, sizes: list[int], activation: str = "relu", dropout: float = 0.0,
                 output_activation: str | None = None):
        super().__init__()
        if len(sizes) < 2:
            raise ValueError(f"MLP: sizes needs at least [in, out], got {sizes}.")
        self.sizes, self.activation = list(sizes), activation
        self.dropout, self.output_activation = dropout, output_activation
        layers: list[nn.Module] = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(n_in, n_out))
            if i < len(sizes) - 2:                           # hidden layer
                layers.append(_make(HIDDEN_ACTIVATIONS, activation, "activation"))
                if dropout > 0:
                    layers.append(nn.Dropout(dropout))
        if output_activation is not None:
            layers.append(_make(_OUTPUT_ACTIVATIONS, output_activation, "output_activation"))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(_flatten(x, self.sizes[0], "MLP"))

    def activations(self, x: torch.Tensor, return_output: bool = False):
        """[(pre, post), ...] for every hidden layer: Z_l = W h + b and act(Z_l).

        The tensors stay in the graph and keep their ``.grad`` (``retain_grad``), so after
        ``loss.backward()`` one can plot, layer by layer, how small the gradients get
        (vanishing gradients with sigmoid in deep nets). Pass ``return_output=True`` to
        also get the network's output from the same pass: ``(acts, out)``.
        """
        n_linear, seen = len(self.sizes) - 1, 0
        acts, pre = [], None
        h = _flatten(x, self.sizes[0], "MLP")
        for module in self.net:
            h = module(h)
            if isinstance(module, nn.Linear):
                seen, pre = seen + 1, h
            elif not isinstance(module, nn.Dropout) and seen < n_linear:   # a hidden activation
                acts.append((pre, h))
        if torch.is_grad_enabled():
            for t in (t for pair in acts for t in pair):
                if t.requires_grad:
                    t.retain_grad()
        return (acts, h) if return_output else acts


class ManualMLP:
    """An MLP with explicit ``weights`` (out, in) and ``biases`` (out,) and a hand-written backward.

    Usage: ``loss = m.loss(x, y); grads_w, grads_b = m.backward(y); m.step(lr)``.
    ``forward`` returns logits (no output activation); the loss is softmax cross-entropy.
    Built from ``dlcourse.layers``: forward keeps each piece's cache, backward calls the
    pieces' backward functions in reverse order.
    """

    def __init__(self, sizes: list[int], activation: str = "relu", *, init: str | None = "he",
                 generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32,
                 device: torch.device | str | None = None):
        if activation not in DERIVATIVES:
            raise ValueError(f"ManualMLP: activation must be one of {sorted(DERIVATIVES)}, got {activation!r}.")
        if len(sizes) < 2:
            raise ValueError(f"ManualMLP: sizes needs at least [in, out], got {sizes}.")
        self.sizes, self.activation = list(sizes), activation
        self.weights = [torch.zeros(o, i, dtype=dtype, device=device) for i, o in zip(sizes[:-1], sizes[1:])]
        self.biases = [torch.zeros(o, dtype=dtype, device=device) for o in sizes[1:]]
        self.grads_w: list[torch.Tensor] | None = None
        self.grads_b: list[torch.Tensor] | None = None
        self._cache = None
        if init is not None:
            self.init(init, generator)

    def init(self, kind: str = "he", generator: torch.Generator | None = None, std: float = 0.01) -> "ManualMLP":
        """Re-initialise the weights (biases to 0) and return self.

        "he": N(0, 2 / fan_in), for ReLU (He et al. 2015). "xavier": U(+-sqrt(6 / (fan_in +
        fan_out))), Glorot & Bengio's "normalized initialization" (2010). "normal": N(0, std^2)
        with a fixed small std, the old recipe whose signal shrinks layer after layer.
        """
        for w, b in zip(self.weights, self.biases):
            if kind == "he":
                weight_init.kaiming_normal_(w, nonlinearity="relu", generator=generator)
            elif kind == "xavier":
                weight_init.xavier_uniform_(w, generator=generator)
            elif kind == "normal":
                with torch.no_grad():
                    w.normal_(0, std, generator=generator)
            else:
                raise ValueError(f"ManualMLP.init: kind must be 'he', 'xavier' or 'normal', got {kind!r}.")
            b.zero_()
        return self

    @classmethod
    def from_linear(cls, mlp: MLP | Iterable[nn.Linear], activation: str | None = None) -> "ManualMLP":
        """A ManualMLP holding copies of the weights of an ``MLP`` (or of a list of nn.Linear)."""
        if isinstance(mlp, MLP):
            if mlp.output_activation is not None:
                raise ValueError("ManualMLP.from_linear: ManualMLP outputs logits, but this MLP has "
                                 f"output_activation={mlp.output_activation!r}; build it with None.")
            activation = activation or mlp.activation
            linears = [m for m in mlp.net if isinstance(m, nn.Linear)]
        else:
            linears = [m for m in (mlp.modules() if isinstance(mlp, nn.Module) else mlp) if isinstance(m, nn.Linear)]
        if not linears or activation is None:
            raise ValueError("ManualMLP.from_linear: pass an MLP, or nn.Linear layers plus activation=...")
        w0 = linears[0].weight
        sizes = [linears[0].in_features] + [lin.out_features for lin in linears]
        out = cls(sizes, activation, init=None, dtype=w0.dtype, device=w0.device)
        with torch.no_grad():
            for w, b, lin in zip(out.weights, out.biases, linears):
                w.copy_(lin.weight)
                b.copy_(lin.bias)
        return out

    def parameters(self) -> list[torch.Tensor]:
        return self.weights + self.biases

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, n_classes); keeps every piece's cache for ``backward``."""
        a = _flatten(x, self.sizes[0], "ManualMLP").to(self.weights[0].dtype)
        caches = []                                   # per layer: (linear cache, activation cache)
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            z, linear_cache = linear_forward(a, w, b)     # all N samples at once
            a, act_cache = activation_forward(z, self.activation) if l < len(self.weights) - 1 else (z, None)
            caches.append((linear_cache, act_cache))
        self._cache = (caches, a)
        return a

    __call__ = forward

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean softmax cross-entropy: -mean_i log softmax(logits_i)[y_i]. Runs forward."""
        logits = self.forward(x)
        return cross_entropy_forward(logits, self._check_targets(y, logits))[0]

    def _check_targets(self, y: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        if not isinstance(y, torch.Tensor) or y.dtype not in (torch.int64, torch.int32, torch.uint8):
            raise ValueError("ManualMLP: y must be a tensor of integer class indices (N,), "
                             f"got {getattr(y, 'dtype', type(y).__name__)}; e.g. torch.as_tensor(y).long().")
        if y.shape != logits.shape[:1]:
            raise ValueError(f"ManualMLP: y has shape {tuple(y.shape)} but the batch has "
                             f"{logits.shape[0]} samples; y should be ({logits.shape[0]},).")
        return y.long()

    @torch.no_grad()
    def backward(self, y: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Gradients of the mean cross-entropy of the last ``forward`` w.r.t. every W_l and b_l."""
        if self._cache is None:
            raise RuntimeError("ManualMLP.backward: call forward(x) or loss(x, y) first.")
        caches, logits = self._cache
        dz = cross_entropy_backward(1.0, (logits, self._check_targets(y, logits)))    # dL/dZ_D
        grads_w, grads_b = [None] * len(self.weights), [None] * len(self.weights)
        for l in reversed(range(len(self.weights))):
            da, grads_w[l], grads_b[l] = linear_backward(dz, caches[l][0])
            if l > 0:                                  # through the activation of layer l-1
                dz = activation_backward(da, caches[l - 1][1])
        self.grads_w, self.grads_b = grads_w, grads_b
        return grads_w, grads_b

    @torch.no_grad()
    def step(self, lr: float) -> None:
        """Plain gradient descent, W <- W - lr dW, written as torch.optim.SGD writes it."""
        if self.grads_w is None:
            raise RuntimeError("ManualMLP.step: call backward(y) first.")
        for p, g in zip(self.parameters(), self.grads_w + self.grads_b):
            p.add_(g, alpha=-lr)
