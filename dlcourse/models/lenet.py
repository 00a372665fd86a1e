"""LeNet-5 (LeCun, Bottou, Bengio & Haffner 1998), the 1998 structure and its modern variant.

Paper: Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-based learning applied to
document recognition", Proceedings of the IEEE 86(11), 1998, section II.B (Fig. 2, Table I).

The layers, named as in the paper (C: convolution, S: subsampling, F: fully connected), on a
32x32 input (MNIST's 28x28 digits padded by 2 in C1, which changes no parameter count):

    layer  maps        paper variant (variant="paper")                     trainable   modern variant
    C1     6 @ 28x28   conv 5x5                                                  156   same, ReLU
    S2     6 @ 14x14   2x2 sum x trainable coefficient + bias, squashed           12   max-pool (0)
    C3     16 @ 10x10  conv 5x5, each map reads the S2 maps of Table I          1,516   all 6 maps: 2,416
    S4     16 @ 5x5    as S2                                                      32   max-pool (0)
    C5     120 @ 1x1   conv 5x5 (on 5x5 maps: a full connection)              48,120   same
    F6     84          full connection, squashed                              10,164   same, ReLU
    output 10          Euclidean RBF units on fixed +-1 codes                      0   Linear: 850
    total                                                                     60,000   61,706

The per-layer counts are the paper's (section II.B); their sum, 60,000, is its "about 60,000
free parameters". The squashing function is f(a) = A tanh(S a) with A = 1.7159 and S = 2/3
(Appendix A). The paper's RBF codes are stylised 7x12 bitmaps of the characters, chosen by hand
and kept fixed; we keep fixed codes too, drawn as seeded random +-1 vectors, so the output
layer has no trainable weights, and return minus each squared distance as the logit (the
nearest code wins; cross-entropy on these logits plays the part of the paper's loss, eq. 9).
The modern variant (ReLU, max-pooling, all-to-all C3, a linear output) is what most courses
and PyTorch tutorials call LeNet-5 today; both share the module names below.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["LeNet5", "ScaledTanh", "Subsampling", "PartialConv2d", "RBFOutput", "C3_TABLE", "lenet5"]

# Table I: which S2 maps (rows 0-5) each C3 map (0-15) reads. Maps 0-5 read three neighbours,
# 6-11 four neighbours, 12-14 four non-neighbours, 15 all six: "to break the symmetry".
C3_TABLE: tuple[tuple[int, ...], ...] = (
    *((i, (i + 1) % 6, (i + 2) % 6) for i in range(6)),
    *((i, (i + 1) % 6, (i + 2) % 6, (i + 3) % 6) for i in range(6)),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)


class ScaledTanh(nn.Module):
    """f(a) = 1.7159 tanh(2a / 3) (Appendix A): f(+-1) = +-1, and the steepest slope sits at 0."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 1.7159 * torch.tanh(x * (2.0 / 3.0))


class Subsampling(nn.Module):
    """S2/S4: each unit adds a 2x2 window, times a trainable coefficient, plus a trainable bias
    (one of each per map: 2 x channels parameters)."""

    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.full((channels,), 0.25))   # 0.25: starts as the window's mean
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:           # (N, C, H, W) -> (N, C, H/2, W/2)
        window_sum = F.avg_pool2d(x, 2) * 4
        return window_sum * self.weight.view(1, -1, 1, 1) + self.bias.view(1, -1, 1, 1)


class PartialConv2d(nn.Module):
    """A convolution in which output map o reads only the input maps table[o] (C3's Table I).

    Only the connected kernels are parameters (``weight``: one k x k kernel per connection),
    so the parameter count is the paper's; forward scatters them into a full, zero-filled
    (out, in, k, k) kernel and runs one ``F.conv2d``."""

    def __init__(self, in_channels: int, table: tuple[tuple[int, ...], ...], kernel_size: int = 5):
        super().__init__()
        self.in_channels, self.out_channels, self.kernel_size = in_channels, len(table), kernel_size
        pairs = [(o, i) for o, inputs in enumerate(table) for i in inputs]
        self.register_buffer("index", torch.tensor([o * in_channels + i for o, i in pairs]), persistent=False)
        fan_in = torch.tensor([len(table[o]) * kernel_size ** 2 for o, _ in pairs], dtype=torch.float)
        bound = (1 / fan_in).sqrt().view(-1, 1, 1)                  # nn.Conv2d's default init, per map's fan-in
        self.weight = nn.Parameter((torch.rand(len(pairs), kernel_size, kernel_size) * 2 - 1) * bound)
        self.bias = nn.Parameter((torch.rand(len(table)) * 2 - 1) / torch.tensor([len(t) * kernel_size ** 2
                                                                                  for t in table]).sqrt())

    def full_weight(self) -> torch.Tensor:                         # (out, in, k, k), zeros where unconnected
        k = self.kernel_size
        full = self.weight.new_zeros(self.out_channels * self.in_channels, k, k).index_copy(0, self.index, self.weight)
        return full.view(self.out_channels, self.in_channels, k, k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:           # (N, in, H, W) -> (N, out, H-k+1, W-k+1)
        return F.conv2d(x, self.full_weight(), self.bias)


class RBFOutput(nn.Module):
    """Output units y_i = sum_j (x_j - w_ij)^2 with fixed codes w_i (a buffer, not trained);
    returns -y_i, so the arg-max is the nearest code and cross-entropy applies."""

    def __init__(self, in_features: int = 84, num_classes: int = 10, seed: int = 0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.register_buffer("codes", torch.randint(0, 2, (num_classes, in_features), generator=g).float() * 2 - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:           # (N, F) -> (N, num_classes)
        return -((x.unsqueeze(1) - self.codes) ** 2).sum(-1)


class LeNet5(nn.Module):
    """LeNet-5. variant="paper": the 1998 network (60,000 trainable parameters);
    variant="modern": ReLU, max-pooling, full C3, linear output (61,706).
    input_size: 32 (the paper's field) or 28 (MNIST as it comes: C1 pads it by 2)."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1, input_size: int = 28, variant: str = "modern"):
        super().__init__()
        if variant not in ("paper", "modern"):
            raise ValueError(f"variant must be 'paper' (LeCun et al. 1998) or 'modern' (ReLU, max-pool); "
                             f"got {variant!r}")
        if input_size not in (28, 32):
            raise ValueError(f"LeNet-5 takes 32x32 images, or 28x28 ones padded to 32 by C1; "
                             f"got input_size={input_size}")
        paper = variant == "paper"
        self.variant = variant
        self.c1 = nn.Conv2d(in_channels, 6, 5, padding=(32 - input_size) // 2)
        self.s2 = Subsampling(6) if paper else nn.MaxPool2d(2)
        self.c3 = PartialConv2d(6, C3_TABLE) if paper else nn.Conv2d(6, 16, 5)
        self.s4 = Subsampling(16) if paper else nn.MaxPool2d(2)
        self.c5 = nn.Conv2d(16, 120, 5)
        self.f6 = nn.Linear(120, 84)
        self.output = RBFOutput(84, num_classes) if paper else nn.Linear(84, num_classes)
        self.act = ScaledTanh() if paper else nn.ReLU()

    def feature_maps(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every layer's output, by the paper's layer names (for looking inside)."""
        out = {}
        out["C1"] = x = self.act(self.c1(x))                     # (N, 6, 28, 28)
        out["S2"] = x = self._pool(self.s2, x)                   # (N, 6, 14, 14)
        out["C3"] = x = self.act(self.c3(x))                     # (N, 16, 10, 10)
        out["S4"] = x = self._pool(self.s4, x)                   # (N, 16, 5, 5)
        out["C5"] = x = self.act(self.c5(x)).flatten(1)          # (N, 120)
        out["F6"] = x = self.act(self.f6(x))                     # (N, 84)
        out["output"] = self.output(x)                           # (N, num_classes)
        return out

    def _pool(self, pool: nn.Module, x: torch.Tensor) -> torch.Tensor:
        # the paper squashes after its trainable subsampling; a max-pool of ReLU outputs needs nothing more
        return self.act(pool(x)) if isinstance(pool, Subsampling) else pool(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:           # (N, C, 28 or 32, same) -> (N, num_classes)
        if x.dim() != 4 or x.shape[-2:] != (32 - 2 * self.c1.padding[0],) * 2:
            raise ValueError(f"LeNet5 expects images (N, {self.c1.in_channels}, {32 - 2 * self.c1.padding[0]}, "
                             f"{32 - 2 * self.c1.padding[0]}); got {tuple(x.shape)}. MNIST from dlcourse.data.mnist() "
                             f"without flatten=True has that shape; set input_size= to the image size.")
        x = self.act(self.c1(x))                                 # (N, 6, 28, 28)
        x = self._pool(self.s2, x)                               # (N, 6, 14, 14)
        x = self.act(self.c3(x))                                 # (N, 16, 10, 10)
        x = self._pool(self.s4, x)                               # (N, 16, 5, 5)
        x = self.act(self.c5(x)).flatten(1)                      # (N, 120)
        x = self.act(self.f6(x))                                 # (N, 84)
        return self.output(x)                                    # (N, num_classes)


def lenet5(num_classes: int = 10, input_size: int = 28, variant: str = "modern") -> LeNet5:
    """LeNet-5 for 1-channel digits: "modern" (61,706 parameters) or "paper" (60,000, section II.B)."""
    return LeNet5(num_classes, 1, input_size, variant)
