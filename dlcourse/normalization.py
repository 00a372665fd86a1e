"""Batch normalization and layer normalization from tensor operations, equal to PyTorch's.

Batch norm (Ioffe & Szegedy 2015) normalises each channel over the batch (and the pixels);
layer norm (Ba, Kiros & Hinton 2016) normalises each example over its last dimensions.
Both then scale and shift by learned ``weight`` and ``bias``. The functions mirror
``F.batch_norm`` / ``F.layer_norm``; the modules mirror ``nn.BatchNorm1d/2d`` and
``nn.LayerNorm``, with the same parameter and buffer names, so a state dict loads both ways.

torch's conventions, each a test in tests/test_normalization.py:
- the batch is normalised with the *biased* variance (divide by n), but the running variance
  is updated with the *unbiased* one (divide by n - 1);
- ``momentum`` weighs the new batch: running = (1 - momentum) running + momentum batch
  (the opposite of an optimizer's momentum); ``momentum=None`` keeps a plain cumulative
  average, weighting batch k by 1 / k;
- in eval mode batch norm uses the running statistics, unless it tracks none.
"""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["batch_norm", "layer_norm", "BatchNorm1d", "BatchNorm2d", "LayerNorm"]


def batch_norm(x: torch.Tensor, running_mean: torch.Tensor | None, running_var: torch.Tensor | None,
               weight: torch.Tensor | None = None, bias: torch.Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> torch.Tensor:
    """Normalise x (N, C, *) per channel C; updates the running buffers in place when training.

    Same arguments as ``F.batch_norm``: in training, the batch's statistics normalise x and
    the running ones (if given) move towards them; otherwise the running ones normalise x.
    """
    if x.dim() < 2:
        raise ValueError(f"batch_norm expects (N, C) or (N, C, ...) input, got shape {tuple(x.shape)}.")
    dtype = x.dtype
    if dtype in (torch.float16, torch.bfloat16):             # under autocast: statistics in float32, as torch
        x = x.float()
    dims = [0] + list(range(2, x.dim()))                    # every axis but the channel
    shape = [1, x.shape[1]] + [1] * (x.dim() - 2)            # broadcast a (C,) vector against x
    if training:
        n = x.numel() // x.shape[1]                          # values per channel
        if n <= 1:
            raise ValueError(f"batch_norm needs more than 1 value per channel when training, got input "
                             f"{tuple(x.shape)}: use a batch of at least 2 (or eval mode).")
        var, mean = torch.var_mean(x, dim=dims, unbiased=False)   # biased: what normalises the batch
        if running_mean is not None:
            with torch.no_grad():                            # the buffers are statistics, not graph nodes
                running_mean.mul_(1 - momentum).add_(momentum * mean.detach())
                running_var.mul_(1 - momentum).add_(momentum * var.detach() * n / (n - 1))  # unbiased
    else:
        if running_mean is None:
            raise ValueError("batch_norm in eval mode needs running statistics (or training=True).")
        mean, var = running_mean, running_var
    # (x - mean) * rsqrt(var + eps) * weight + bias, centred first. Folding it into x * scale + (bias -
    # mean * scale) saves a pass but cancels catastrophically once |mean| >> std: x * scale and
    # mean * scale are both large, and autograd's d/dweight = sum(g x) - mean sum(g) loses the digits
    # that sum(g (x - mean)) keeps (at x = randn + 1000, 39x torch's fp32 error in training, 7600x in
    # eval; tests/test_batch_norm_precision.py). x - mean is exact in fp32 where they are that close.
    scale = torch.rsqrt(var + eps)
    if weight is not None:
        scale = scale * weight                               # per channel: one rounding, no cancellation
    out = (x - mean.view(shape)) * scale.view(shape)
    if bias is not None:
        out = out + bias.view(shape)
    return out.to(dtype)


def layer_norm(x: torch.Tensor, normalized_shape: tuple[int, ...], weight: torch.Tensor | None = None,
               bias: torch.Tensor | None = None, eps: float = 1e-5) -> torch.Tensor:
    """Normalise each example over its last ``len(normalized_shape)`` dimensions (biased variance)."""
    normalized_shape = tuple(normalized_shape)
    if tuple(x.shape[x.dim() - len(normalized_shape):]) != normalized_shape:
        raise ValueError(f"layer_norm over {normalized_shape} needs input ending in those sizes, "
                         f"got shape {tuple(x.shape)}.")
    dims = tuple(range(-len(normalized_shape), 0))
    mean = x.mean(dim=dims, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)
    out = (x - mean) / torch.sqrt(var + eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


class _BatchNorm(nn.Module):
    """nn.BatchNorm's state: weight, bias; buffers running_mean, running_var, num_batches_tracked."""
    input_dims: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = nn.Parameter(torch.ones(num_features)) if affine else None
        self.bias = nn.Parameter(torch.zeros(num_features)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", torch.zeros(num_features))
            self.register_buffer("running_var", torch.ones(num_features))
            self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:       # (N, C, *) -> (N, C, *)
        if x.dim() not in self.input_dims or x.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}({self.num_features}) expects input of "
                             f"{' or '.join(f'{d}' for d in self.input_dims)} dimensions with "
                             f"{self.num_features} channels at dim 1, got shape {tuple(x.shape)}.")
        use_batch_stats = self.training or not self.track_running_stats
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:                         # cumulative average: batch k weighs 1/k
                momentum = 1.0 / float(self.num_batches_tracked)
        # without running statistics (track_running_stats=False) the buffers are None: batch stats always
        return batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, use_batch_stats,
                          momentum, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm of (N, C) features or (N, C, L) sequences, per channel C."""
    input_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm of (N, C, H, W) images, per channel C over the batch and every pixel."""
    input_dims = (4,)


class LayerNorm(nn.Module):
    """Layer norm over the trailing ``normalized_shape``; parameters weight and bias as nn.LayerNorm."""

    def __init__(self, normalized_shape: int | tuple[int, ...], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.normalized_shape, self.eps, self.elementwise_affine = shape, eps, elementwise_affine
        self.weight = nn.Parameter(torch.ones(shape)) if elementwise_affine else None
        self.bias = nn.Parameter(torch.zeros(shape)) if elementwise_affine and bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:       # (*, *normalized_shape) -> same
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
