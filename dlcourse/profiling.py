"""What a network costs: parameters, multiply-adds per image, and measured latency.

``count_macs`` counts the multiply-accumulates of every convolution and linear layer in one
forward pass, read off forward hooks (the output's shape says how many positions each filter
visited). That is the number the papers tabulate: MobileNet's "Mult-Adds", EfficientNet's
"FLOPs" (0.39B for B0) are both multiply-adds. ``torch.utils.flop_counter.FlopCounterMode``
counts 2 FLOPs per multiply-add (one multiply, one add), so it reports twice our number for
the same layers; tests/test_cnn_efficient.py checks both against a hand count. Pooling,
normalization, activations and the SE gate's products are left out, as in the papers: they
are a few percent of the total.
"""
from __future__ import annotations

import statistics
import time

import torch
from torch import nn

__all__ = ["count_params", "count_macs", "measure_latency"]


def count_params(model: nn.Module) -> int:
    """Trainable and frozen parameters (not buffers such as BatchNorm's running statistics): the
    course's one parameter counter (Part 1 writes the sum out once; later chapters call this)."""
    return sum(p.numel() for p in model.parameters())


def _conv_macs(module: nn.Conv2d, out: torch.Tensor) -> int:
    # each output value is a dot product over (C_in / groups) x k_h x k_w inputs
    k_h, k_w = module.kernel_size
    return out.numel() // out.shape[0] * (module.in_channels // module.groups) * k_h * k_w


def _linear_macs(module: nn.Linear, out: torch.Tensor) -> int:
    return out.numel() // out.shape[0] * module.in_features


@torch.no_grad()
def count_macs(model: nn.Module, input_size=(3, 224, 224), per_layer: bool = False):
    """Multiply-adds of one forward pass of one image of ``input_size`` (C, H, W), in eval mode.

    per_layer: also return {module name: multiply-adds} for every conv and linear layer.
    """
    counts: dict[str, int] = {}
    hooks = []
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            hooks.append(module.register_forward_hook(lambda m, i, o, name=name: counts.__setitem__(
                name, counts.get(name, 0) + _conv_macs(m, o))))
        elif isinstance(module, nn.Linear):
            hooks.append(module.register_forward_hook(lambda m, i, o, name=name: counts.__setitem__(
                name, counts.get(name, 0) + _linear_macs(m, o))))
    was_training = model.training
    model.eval()
    try:
        parameter = next(model.parameters())
        model(torch.zeros(1, *input_size, device=parameter.device, dtype=parameter.dtype))
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    total = sum(counts.values())
    return (total, counts) if per_layer else total


@torch.no_grad()
def measure_latency(model: nn.Module, input_size=(3, 224, 224), batch_size: int = 1, repeats: int = 10,
                    warmup: int = 2, device: torch.device | str | None = None) -> float:
    """Median seconds of one eval-mode forward pass of a batch, after ``warmup`` untimed passes.

    On a GPU, kernels run asynchronously: the clock is read after ``torch.cuda.synchronize()``.
    A median, not a mean: a shared machine's occasional stall would drag a mean up.
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model = model.to(device).eval()
    x = torch.randn(batch_size, *input_size, device=device)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for _ in range(warmup):
        model(x)
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model(x)
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
