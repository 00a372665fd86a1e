"""2-D convolution and pooling as im2col + matmul, and receptive-field arithmetic (chapter 09).

``conv2d``, ``max_pool2d`` and ``avg_pool2d`` take the arguments of their namesakes in
``torch.nn.functional``, in the same order (ceil_mode, return_indices, count_include_pad and
divisor_override included), take one unbatched (C, H, W) image as they do, and return the same
values and gradients (tests/test_conv.py, tests/test_unbatched.py). They are
vectorised: the input is cut into patches once (``patches``, a strided view of the padded input,
no Python loop over the batch or the pixels), then a convolution is one batched matrix product
with the filters (Chellapilla et al. 2006, "High performance convolutional neural networks for
document processing"), and a pooling a max or a mean over each patch.

Sizes along one axis (Dumoulin & Visin 2016, "A guide to convolution arithmetic"):

    out = floor((in + 2 padding - dilation (kernel - 1) - 1) / stride) + 1       conv_output_size

and for a stack of layers, the receptive field of one output pixel (Araujo et al. 2019,
"Computing receptive fields of convolutional neural networks"), with the input as layer 0
(size 1, jump 1, start 0), for each layer of kernel k, stride s, padding p, dilation d:

    size  += d (k - 1) * jump         the input pixels one output pixel sees, per axis
    start += (d (k - 1) / 2 - p) * jump   the input coordinate of output pixel 0's centre
    jump  *= s                        the input distance between neighbouring output pixels
"""
from __future__ import annotations

import functools
from typing import NamedTuple, Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["conv_output_size", "patches", "im2col", "conv2d", "max_pool2d", "avg_pool2d", "Conv2d",
           "ReceptiveField", "receptive_field", "receptive_fields", "receptive_field_box"]

IntOrPair = int | Sequence[int]


def _pair(name: str, value, minimum: int) -> tuple[int, int]:
    """(value, value) for an int, the two ints of a pair; a clear error for anything else."""
    pair = (value, value) if isinstance(value, int) else tuple(value) if isinstance(value, (tuple, list)) else None
    if pair is None or len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair):
        raise ValueError(f"{name} must be an int or a pair of ints (rows, columns), got {value!r}.")
    if min(pair) < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value!r}.")
    return pair


def conv_output_size(size: IntOrPair, kernel_size: IntOrPair, stride: IntOrPair = 1, padding: IntOrPair = 0,
                     dilation: IntOrPair = 1) -> int | tuple[int, int]:
    """floor((size + 2 padding - dilation (kernel_size - 1) - 1) / stride) + 1, per axis.

    Ints in, an int out; any pair in, a pair out. Also the size of a pooling's output (dilation 1).
    """
    pairs = [_pair(n, v, m) for n, v, m in (("size", size, 1), ("kernel_size", kernel_size, 1),
                                            ("stride", stride, 1), ("padding", padding, 0),
                                            ("dilation", dilation, 1))]
    out = tuple((n + 2 * p - d * (k - 1) - 1) // s + 1 for n, k, s, p, d in zip(*pairs))
    scalar = all(isinstance(v, int) for v in (size, kernel_size, stride, padding, dilation))
    return out[0] if scalar else out


def _check_image(name: str, x) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: expected x to be a torch.Tensor, got {type(x).__name__}.")
    if x.dim() not in (3, 4):
        raise ValueError(f"{name}: expected x of shape (N, C, H, W), or (C, H, W) for one image, got shape "
                         f"{tuple(x.shape)}.")


def _one_image(fn):
    """Let ``fn``, written for (N, C, H, W), take one (C, H, W) image as its torch twin does: the
    image runs as a batch of one, and every output loses that batch axis again."""
    @functools.wraps(fn)
    def wrapper(x, *args, **kwargs):
        _check_image(fn.__name__, x)
        if x.dim() == 4:
            return fn(x, *args, **kwargs)
        out = fn(x.unsqueeze(0), *args, **kwargs)
        return tuple(o.squeeze(0) for o in out) if isinstance(out, tuple) else out.squeeze(0)
    return wrapper


def _same_padding(kernel, dilation) -> tuple[int, int, int, int]:
    """(left, right, top, bottom) padding that keeps the size at stride 1; torch puts the odd pixel last."""
    (kh, kw), (dh, dw) = kernel, dilation
    th, tw = dh * (kh - 1), dw * (kw - 1)
    return tw // 2, tw - tw // 2, th // 2, th - th // 2


@_one_image
def patches(x: torch.Tensor, kernel_size: IntOrPair, stride: IntOrPair = 1, padding: IntOrPair | str = 0,
            dilation: IntOrPair = 1, pad_value: float = 0.0) -> torch.Tensor:
    """Every (dilated) kernel-sized window of x: (N, C, H, W) -> (N, C, H_out, W_out, kh, kw).

    A view of the padded input (no copy): ``Tensor.unfold`` slides a window of the dilated span
    along each axis, and a step of ``dilation`` inside the window keeps the taps the kernel uses.
    padding: ints, a pair, or "same" / "valid" (as F.conv2d); pad_value fills the border.
    """
    _check_image("patches", x)
    kernel, step, dil = _pair("kernel_size", kernel_size, 1), _pair("stride", stride, 1), _pair("dilation", dilation, 1)
    if padding == "valid":
        pads = (0, 0, 0, 0)
    elif padding == "same":
        if step != (1, 1):
            raise ValueError(f"padding='same' needs stride 1 (as in F.conv2d), got stride {stride!r}; give the "
                             "padding as numbers instead.")
        pads = _same_padding(kernel, dil)
    elif isinstance(padding, str):
        raise ValueError(f"padding must be an int, a pair, 'same' or 'valid', got {padding!r}.")
    else:
        ph, pw = _pair("padding", padding, 0)
        pads = (pw, pw, ph, ph)
    if any(pads):
        x = F.pad(x, pads, value=pad_value)
    span = [d * (k - 1) + 1 for k, d in zip(kernel, dil)]           # the dilated kernel's extent
    if x.shape[2] < span[0] or x.shape[3] < span[1]:
        raise ValueError(f"the kernel spans {span[0]}x{span[1]} pixels (kernel {kernel[0]}x{kernel[1]}, dilation "
                         f"{dil[0]}x{dil[1]}) but the padded input is only {x.shape[2]}x{x.shape[3]}: add padding, "
                         "or use a smaller kernel or dilation.")
    windows = x.unfold(2, span[0], step[0]).unfold(3, span[1], step[1])  # (N, C, H_out, W_out, span_h, span_w)
    return windows[..., ::dil[0], ::dil[1]]


@_one_image
def im2col(x: torch.Tensor, kernel_size: IntOrPair, stride: IntOrPair = 1, padding: IntOrPair | str = 0,
           dilation: IntOrPair = 1) -> torch.Tensor:
    """The patches as columns, (N, C kh kw, H_out W_out): the layout of ``F.unfold``.

    The arguments come in conv2d's order (stride, padding, dilation), the first half of conv2d,
    not in F.unfold's (dilation, padding, stride): name them when porting an F.unfold call.
    """
    p = patches(x, kernel_size, stride, padding, dilation)
    n, c, ho, wo, kh, kw = p.shape
    return p.permute(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, ho * wo)


@_one_image
def conv2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, stride: IntOrPair = 1,
           padding: IntOrPair | str = 0, dilation: IntOrPair = 1, groups: int = 1) -> torch.Tensor:
    """F.conv2d as im2col + one batched matmul: (N, C, H, W), (O, C / groups, kh, kw) -> (N, O, H_out, W_out).

    Like every deep-learning library this is a cross-correlation (the kernel is not flipped).
    groups: the channels are split into ``groups`` blocks, and output block g sees input block g only.
    """
    _check_image("conv2d", x)
    if not isinstance(weight, torch.Tensor) or weight.dim() != 4:
        raise ValueError(f"conv2d: expected weight of shape (out_channels, in_channels / groups, kh, kw), got "
                         f"{tuple(weight.shape) if isinstance(weight, torch.Tensor) else type(weight).__name__}.")
    if not isinstance(groups, int) or groups < 1:
        raise ValueError(f"conv2d: groups must be a positive int, got {groups!r}.")
    n, c = x.shape[:2]
    o, c_per_group, kh, kw = weight.shape
    if c % groups or o % groups:
        raise ValueError(f"conv2d: groups={groups} must divide both the input channels ({c}) and the output "
                         f"channels ({o}); pick groups among the common divisors of {c} and {o}.")
    if c_per_group * groups != c:
        raise ValueError(f"conv2d: x has {c} channels but weight {tuple(weight.shape)} expects "
                         f"{c_per_group} x groups={groups} = {c_per_group * groups}; the weight's second axis must "
                         f"be in_channels / groups = {c // groups} (is x laid out as (N, C, H, W), not (N, H, W, C)?).")
    if bias is not None and tuple(bias.shape) != (o,):
        raise ValueError(f"conv2d: bias must have one entry per output channel, shape ({o},), got {tuple(bias.shape)}.")
    if weight.dtype != x.dtype:
        raise TypeError(f"conv2d: x is {x.dtype} but weight is {weight.dtype}; convert one, e.g. x.to(weight.dtype).")
    p = patches(x, (kh, kw), stride, padding, dilation)              # (N, C, H_out, W_out, kh, kw), a view
    ho, wo = p.shape[2:4]
    # im2col: one column per output pixel holding its C/G kh kw inputs, per group; then (filters x taps) @
    # (taps x pixels). Columns in (C, kh, kw) x (H_out W_out) order keep the copy's innermost loop along W,
    # and the product comes out already in (N, O, H_out, W_out) order: 2x faster than pixels-as-rows here.
    cols = p.reshape(n, groups, c_per_group, ho, wo, kh, kw).permute(0, 1, 2, 5, 6, 3, 4)
    cols = cols.reshape(n, groups, c_per_group * kh * kw, ho * wo)    # the one copy: N G (C/G kh kw) L
    filters = weight.reshape(groups, o // groups, c_per_group * kh * kw)           # (G, O/G, C/G kh kw)
    out = (filters @ cols).reshape(n, o, ho, wo)                      # (N, G, O/G, H_out W_out), no copy
    return out if bias is None else out + bias.view(1, o, 1, 1)


def _pool_args(name: str, x, kernel_size, stride, padding, dilation=1, ceil_mode=False) -> tuple:
    """kernel, stride, padding and dilation pairs, and the (left, right, top, bottom) padding to apply.

    ceil_mode (torch's rule): one more window per axis wherever the last one would be cut off,
    as long as it starts inside the input or its left padding; the extra pixels it reaches past
    the right padding are padded too (they never win a max and never count in a mean).
    """
    _check_image(name, x)
    kernel = _pair("kernel_size", kernel_size, 1)
    step = kernel if stride is None or stride == [] else _pair("stride", stride, 1)   # torch's default: = kernel
    pad, dil = _pair("padding", padding, 0), _pair("dilation", dilation, 1)
    if pad[0] > kernel[0] // 2 or pad[1] > kernel[1] // 2:
        raise ValueError(f"{name}: padding {padding!r} must be at most half the kernel {kernel_size!r} (as in torch): "
                         "a window made only of padding has no value to pool.")
    extra = []
    for n, k, s, p, d in zip(x.shape[2:], kernel, step, pad, dil):
        span = d * (k - 1) + 1
        out = (n + 2 * p - span + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (out - 1) * s >= n + p:        # a last window that would start in the right padding
            out -= 1
        extra.append(max(0, (out - 1) * s + span - (n + 2 * p)))
    return kernel, step, pad, dil, (pad[1], pad[1] + extra[1], pad[0], pad[0] + extra[0])


def _padded_patches(x, kernel, step, pads, dil=(1, 1), value=0.0) -> torch.Tensor:
    return patches(F.pad(x, pads, value=value) if any(pads) else x, kernel, step, 0, dil)


@_one_image
def max_pool2d(x: torch.Tensor, kernel_size: IntOrPair, stride: IntOrPair | None = None,
               padding: IntOrPair = 0, dilation: IntOrPair = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """F.max_pool2d: the largest value of each window; the border is padded with -inf.

    The gradient goes to one input per window (the first maximum on ties, as torch's does).
    ceil_mode: keep a last, partial window (see ``_pool_args``). return_indices: also return
    where each maximum is, as torch does, an index into the flattened H x W plane of the
    unpadded input (what ``F.max_unpool2d`` takes).
    """
    kernel, step, _, dil, pads = _pool_args("max_pool2d", x, kernel_size, stride, padding, dilation, ceil_mode)
    values, where = _padded_patches(x, kernel, step, pads, dil, float("-inf")).flatten(-2).max(dim=-1)
    if not return_indices:
        return values
    # window-local tap (i, j) of output pixel (r, c) is input pixel (r s - p + i d, c s - p + j d)
    ho, wo = values.shape[2:]
    rows = torch.arange(ho, device=x.device).view(ho, 1) * step[0] - pads[2] + (where // kernel[1]) * dil[0]
    cols = torch.arange(wo, device=x.device).view(1, wo) * step[1] - pads[0] + (where % kernel[1]) * dil[1]
    return values, rows * x.shape[3] + cols


@_one_image
def avg_pool2d(x: torch.Tensor, kernel_size: IntOrPair, stride: IntOrPair | None = None, padding: IntOrPair = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> torch.Tensor:
    """F.avg_pool2d: the mean of each window, with F.avg_pool2d's arguments in its order.

    count_include_pad: the zero padding counts in the mean (True, torch's default) or only the
    real pixels do; either way the extra pixels of a ceil_mode window never count (torch's rule).
    divisor_override: divide every window's sum by this number instead.
    """
    kernel, step, pad, _, pads = _pool_args("avg_pool2d", x, kernel_size, stride, padding, 1, ceil_mode)
    if divisor_override is not None and (not isinstance(divisor_override, int) or divisor_override == 0):
        raise ValueError(f"avg_pool2d: divisor_override must be a nonzero int (as in torch), got {divisor_override!r}.")
    total = _padded_patches(x, kernel, step, pads).sum(dim=(-2, -1))
    if divisor_override is not None:
        return total / divisor_override
    if pads == (0, 0, 0, 0) or (count_include_pad and pads[1::2] == pads[0::2]):
        return total / (kernel[0] * kernel[1])
    # the pixels each window counts: the input's (and its padding's, with count_include_pad), not ceil_mode's extra
    ones = torch.ones((1, 1) + x.shape[2:], dtype=x.dtype, device=x.device)
    counted = pads
    if count_include_pad:
        ones = F.pad(ones, (pad[1], pad[1], pad[0], pad[0]), value=1.0)
        counted = (0, pads[1] - pad[1], 0, pads[3] - pad[0])
    return total / _padded_patches(ones, kernel, step, counted).sum(dim=(-2, -1))


class Conv2d(nn.Module):
    """nn.Conv2d on top of ``conv2d``: the same parameters, names, shapes and initialisation.

    ``Conv2d(...).load_state_dict(nn.Conv2d(...).state_dict())`` works both ways.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrPair, stride: IntOrPair = 1,
                 padding: IntOrPair | str = 0, dilation: IntOrPair = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros"):
        super().__init__()
        if padding_mode != "zeros":     # in nn.Conv2d's slot, so a positional call lands where torch's would
            raise ValueError(f"Conv2d: padding_mode={padding_mode!r} is left out of dlcourse on purpose (only "
                             "zero padding, 'zeros'); pad the input yourself with F.pad(x, ..., mode=...).")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv2d: groups={groups} must divide in_channels={in_channels} and "
                             f"out_channels={out_channels}.")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _pair("kernel_size", kernel_size, 1)
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels // groups, *self.kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # nn.Conv2d's default: kaiming_uniform with a = sqrt(5), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
        nn.init.kaiming_uniform_(self.weight, a=5 ** 0.5)
        if self.bias is not None:
            bound = 1 / (self.weight[0].numel() ** 0.5)
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:   # (N, C_in, H, W) -> (N, C_out, H_out, W_out), or unbatched
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, groups={self.groups}, bias={self.bias is not None}")


# ----------------------------------------------------------------------------- receptive fields
class ReceptiveField(NamedTuple):
    """One layer's output pixel as seen from the input, per axis (ints, or (rows, cols) pairs).

    size: input pixels it sees; jump: input pixels between neighbouring outputs (the
    effective stride); start: input coordinate of output pixel 0's centre (negative: in the padding).
    """
    size: int | tuple[int, int]
    jump: int | tuple[int, int]
    start: float | tuple[float, float]


def _layer(layer) -> tuple:
    """(kernel, stride, padding, dilation) pairs from a tuple of 1 to 4 entries, a dict, or a conv/pool module."""
    if isinstance(layer, nn.Module):
        if not hasattr(layer, "kernel_size"):
            raise ValueError(f"receptive_field: {type(layer).__name__} has no kernel; give convolution and "
                             "pooling layers only (activations do not change the receptive field).")
        def plain(v):   # modules store pairs even for square kernels: (5, 5) -> 5, so ints stay ints
            return v[0] if isinstance(v, tuple) and len(v) == 2 and v[0] == v[1] else v
        k = plain(layer.kernel_size)
        layer = {"kernel": k, "stride": plain(getattr(layer, "stride", 1) or k),
                 "padding": plain(getattr(layer, "padding", 0)), "dilation": plain(getattr(layer, "dilation", 1))}
    if isinstance(layer, dict):
        layer = (layer["kernel"], layer.get("stride", 1), layer.get("padding", 0), layer.get("dilation", 1))
    if isinstance(layer, int):
        layer = (layer,)
    if not isinstance(layer, (tuple, list)) or not 1 <= len(layer) <= 4:
        raise ValueError(f"receptive_field: each layer is (kernel, stride=1, padding=0, dilation=1), a dict with "
                         f"those keys, or a conv/pool module; got {layer!r}.")
    kernel, stride, padding, dilation = tuple(layer) + (1, 0, 1)[len(layer) - 1:]
    if padding in ("same", "valid"):   # "same": the padding before the first pixel (torch puts any odd one last)
        before = [d * (k - 1) // 2 for k, d in zip(_pair("kernel", kernel, 1), _pair("dilation", dilation, 1))]
        padding = 0 if padding == "valid" else before[0] if before[0] == before[1] else tuple(before)
    return (_pair("kernel", kernel, 1), _pair("stride", stride, 1), _pair("padding", padding, 0),
            _pair("dilation", dilation, 1), any(not isinstance(v, int) for v in (kernel, stride, padding, dilation)))


def receptive_fields(layers: Sequence) -> list[ReceptiveField]:
    """The ReceptiveField after each layer of a stack, input first (size 1, jump 1, start 0).

    layers: (kernel, stride, padding, dilation) tuples (trailing entries optional, each an int or a
    pair), dicts with those keys, or conv/pool modules (nn.Conv2d, nn.MaxPool2d, Conv2d...).
    Ints everywhere give ints; any pair gives (rows, cols) pairs.
    """
    parsed = [_layer(layer) for layer in layers]
    as_pairs = any(p[-1] for p in parsed)
    size, jump, start = [1, 1], [1, 1], [0.0, 0.0]
    out = []

    def record():
        out.append(ReceptiveField(tuple(size), tuple(jump), tuple(start)) if as_pairs
                   else ReceptiveField(size[0], jump[0], start[0]))
    record()
    for kernel, stride, padding, dilation, _ in parsed:
        for a in (0, 1):
            extent = dilation[a] * (kernel[a] - 1)       # the dilated kernel's span minus one
            size[a] += extent * jump[a]
            start[a] += (extent / 2 - padding[a]) * jump[a]
            jump[a] *= stride[a]
        record()
    return out


def receptive_field(layers: Sequence) -> ReceptiveField:
    """size, jump (effective stride) and start of the last layer of the stack; see ``receptive_fields``."""
    return receptive_fields(layers)[-1]


def receptive_field_box(layers: Sequence, row: int, col: int, image_size: IntOrPair | None = None
                        ) -> tuple[int, int, int, int]:
    """(top, left, bottom, right), inclusive input pixels seen by output pixel (row, col) of the stack.

    image_size: clip the box to the image (the rest of the field lies in the padding).
    """
    rf = receptive_fields(layers)[-1]
    size, jump, start = ((rf.size,) * 2, (rf.jump,) * 2, (rf.start,) * 2) if isinstance(rf.size, int) else rf
    box = []
    for a, i in ((0, row), (1, col)):
        centre = start[a] + i * jump[a]
        box.append((round(centre - (size[a] - 1) / 2), round(centre + (size[a] - 1) / 2)))
    (top, bottom), (left, right) = box
    if image_size is not None:
        h, w = _pair("image_size", image_size, 1)
        top, left, bottom, right = max(top, 0), max(left, 0), min(bottom, h - 1), min(right, w - 1)
    return top, left, bottom, right
