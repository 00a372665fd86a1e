"""ResNet (He, Zhang, Ren & Sun, "Deep residual learning for image recognition", CVPR 2016).

A residual block learns F(x) and outputs relu(F(x) + x): when the best thing a block can do
is nothing, it only has to drive F to zero, which a stack of plain layers cannot easily do
(the *degradation problem*, the paper's Fig. 1: a 56-layer plain net trains worse than a
20-layer one). Shaped like torchvision's ``models/resnet.py``, whose parameter names it keeps,
so torchvision's state dicts load here by key copy and ours load there.

Table 1 of the paper (ImageNet, 224x224 input; "BasicBlock" = two 3x3 convolutions,
"Bottleneck" = 1x1 reduce, 3x3, 1x1 expand by 4):

    name        block       blocks per stage   parameters (1000 classes)
    resnet18    BasicBlock  [2, 2, 2, 2]       11,689,512
    resnet34    BasicBlock  [3, 4, 6, 3]       21,797,672
    resnet50    Bottleneck  [3, 4, 6, 3]       25,557,032
    resnet101   Bottleneck  [3, 4, 23, 3]      44,549,160
    resnet152   Bottleneck  [3, 8, 36, 3]      60,192,808

The stem is a 7x7 convolution with stride 2 and a 3x3 max-pool with stride 2; stages 2-4
halve the image in their first block (in the Bottleneck on the 3x3 convolution, as
torchvision does: "ResNet v1.5"; the paper strided the first 1x1) and double the width.

The CIFAR-10 networks of section 4.2 are the same classes with other options: a 3x3 stem
without max-pool (``small_input=True``, the name every family here uses for its CIFAR variant), three stages of widths 16, 32, 64 with n BasicBlocks each
(6n + 2 layers: ``resnet_cifar(20)`` is ResNet-20 with 0.27M parameters, ``resnet_cifar(56)``
ResNet-56 with 0.85M), and shortcut option A (``shortcut="A"``): where a stage halves the image
and doubles the width, the shortcut subsamples x and pads the new channels with zeros, so it
has no parameters. Option B (torchvision's, the default) uses a 1x1 convolution + BatchNorm
there ("projection"). ``plain=True`` removes every shortcut: the paper's plain baselines.

As a backbone for detection and segmentation (torchvision's options, same meaning):
``replace_stride_with_dilation=[False, True, True]`` keeps stages 3-4 at stride 1 and dilates their
3x3 convolutions instead, so the last feature map is 1/8 of the image, not 1/32 (DeepLab, FCN);
``model.features(x)`` returns every stage's output by name (``{"layer1": ..., "layer4": ...}``),
what a feature pyramid (FPN) or a segmentation head reads.

The residual airbench94 net for CIFAR-10 (``resnet_whitened``) is in ``dlcourse.models.airbench``.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from dlcourse.models.blocks import NormLayer, conv1x1, conv3x3

__all__ = ["BasicBlock", "Bottleneck", "PadShortcut", "ResNet", "resnet18", "resnet34", "resnet50", "resnet101",
           "resnet152", "resnet_cifar", "resnet_fast"]


class PadShortcut(nn.Module):
    """Shortcut option A (section 4.2): x subsampled by ``stride`` and zero-padded to ``planes``
    channels. Parameter-free, so the CIFAR ResNets have exactly the paper's counts."""

    def __init__(self, planes: int, stride: int):
        super().__init__()
        self.planes, self.stride = planes, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:     # (N, C, H, W) -> (N, planes, H/s, W/s)
        x = x[:, :, ::self.stride, ::self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.planes - x.shape[1]))


class BasicBlock(nn.Module):
    """relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)); two 3x3 convolutions (ResNet-18/34, CIFAR)."""

    expansion = 1  # output channels = planes * expansion

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 norm_layer: NormLayer | None = None, plain: bool = False, dilation: int = 1):
        super().__init__()
        if dilation > 1:   # as torchvision: dilated backbones are built from Bottlenecks
            raise NotImplementedError("BasicBlock has no dilated version (torchvision neither); "
                                      "use a Bottleneck ResNet (resnet50 and up) with replace_stride_with_dilation.")
        norm_layer = norm_layer or nn.BatchNorm2d
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample   # None: identity shortcut (shapes agree) or no shortcut (plain)
        self.stride, self.plain = stride, plain

    def forward(self, x: torch.Tensor) -> torch.Tensor:     # (N, C_in, H, W) -> (N, planes, H/s, W/s)
        out = self.relu(self.bn1(self.conv1(x)))              # (N, planes, H/s, W/s)
        out = self.bn2(self.conv2(out))                       # F(x)
        if not self.plain:
            out = out + (x if self.downsample is None else self.downsample(x))   # F(x) + x
        return self.relu(out)


class Bottleneck(nn.Module):
    """1x1 reduce to ``planes``, 3x3 (strided), 1x1 expand to 4 * planes, + shortcut (ResNet-50/101/152):
    the 3x3 convolution works on a quarter of the channels, so deep nets stay affordable."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 norm_layer: NormLayer | None = None, plain: bool = False, dilation: int = 1):
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        self.conv1 = conv1x1(inplanes, planes)
        self.bn1 = norm_layer(planes)
        self.conv2 = conv3x3(planes, planes, stride, dilation)  # the stride sits here (torchvision's v1.5)
        self.bn2 = norm_layer(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride, self.plain = stride, plain

    def forward(self, x: torch.Tensor) -> torch.Tensor:     # (N, C_in, H, W) -> (N, 4 planes, H/s, W/s)
        out = self.relu(self.bn1(self.conv1(x)))              # (N, planes, H, W)
        out = self.relu(self.bn2(self.conv2(out)))            # (N, planes, H/s, W/s)
        out = self.bn3(self.conv3(out))                       # (N, 4 planes, H/s, W/s)
        if not self.plain:
            out = out + (x if self.downsample is None else self.downsample(x))
        return self.relu(out)


class ResNet(nn.Module):
    """stem -> stages ``layer1``, ``layer2``, ... of ``layers[i]`` blocks of width ``widths[i]``
    (the first block of a stage with stride ``strides[i]``) -> global average pool -> ``fc``.

    small_input: False, the ImageNet stem (7x7 stride 2, 3x3 max-pool stride 2); True, the CIFAR
        stem (3x3 stride 1, no pool), as ``small_input`` in the other families.
    replace_stride_with_dilation: one bool per stage after the first (torchvision's option): True
        keeps that stage at stride 1 and dilates its 3x3 convolutions instead (Bottleneck only).
    shortcut: "B" a 1x1 projection where a block changes the shape (torchvision), "A" zero padding.
    plain: no shortcuts at all (the paper's plain nets). zero_init_residual: each block's last
        BatchNorm starts at 0, so every block starts as the identity (Goyal et al. 2017).
    """

    def __init__(self, block: type[BasicBlock] | type[Bottleneck], layers: Sequence[int], num_classes: int = 1000,
                 *, widths: Sequence[int] = (64, 128, 256, 512), strides: Sequence[int] | None = None,
                 small_input: bool = False, stem_width: int | None = None, in_channels: int = 3,
                 shortcut: str = "B", plain: bool = False, zero_init_residual: bool = False,
                 norm_layer: NormLayer | None = None, replace_stride_with_dilation: Sequence[bool] | None = None):
        super().__init__()
        strides = tuple(strides) if strides is not None else (1,) + (2,) * (len(layers) - 1)
        if not (len(layers) == len(widths) == len(strides)):
            raise ValueError(f"layers, widths and strides need one entry per stage; got {len(layers)} "
                             f"{len(widths)} {len(strides)}.")
        dilate = list(replace_stride_with_dilation or [False] * (len(layers) - 1))
        if len(dilate) != len(layers) - 1:
            raise ValueError(f"replace_stride_with_dilation needs one bool per stage after the first "
                             f"({len(layers) - 1}); got {dilate}.")
        if shortcut not in ("A", "B"):
            raise ValueError(f"shortcut is 'A' (zero padding) or 'B' (projection); got {shortcut!r}.")
        self.block, self.shortcut, self.plain = block, shortcut, plain
        self._norm_layer = norm_layer or nn.BatchNorm2d
        self.inplanes, self.dilation = stem_width or widths[0], 1
        if not small_input:
            self.conv1 = nn.Conv2d(in_channels, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
            self.maxpool: nn.Module = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        else:
            self.conv1 = conv3x3(in_channels, self.inplanes)
            self.maxpool = nn.Identity()
        self.bn1 = self._norm_layer(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.stage_names = [f"layer{i + 1}" for i in range(len(layers))]
        for name, width, n, stride, dil in zip(self.stage_names, widths, layers, strides, [False] + dilate):
            setattr(self, name, self._make_layer(width, n, stride, dil))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[-1] * block.expansion, num_classes)
        self._init_weights(zero_init_residual)

    def _make_layer(self, planes: int, blocks: int, stride: int, dilate: bool = False) -> nn.Sequential:
        """One stage. Its first block gets a shortcut that changes shape exactly when x's shape changes
        (stride > 1 or other channels); the others keep the shape, so their shortcut is the identity.
        ``dilate``: the stride becomes dilation (torchvision's rule: the first block keeps the previous
        stage's dilation, the rest use the new one)."""
        previous_dilation = self.dilation
        if dilate:
            self.dilation, stride = self.dilation * stride, 1
        downsample = None
        out_planes = planes * self.block.expansion
        if not self.plain and (stride != 1 or self.inplanes != out_planes):
            if self.shortcut == "B":
                downsample = nn.Sequential(conv1x1(self.inplanes, out_planes, stride), self._norm_layer(out_planes))
            else:
                downsample = PadShortcut(out_planes, stride)
        stage = [self.block(self.inplanes, planes, stride, downsample, self._norm_layer, self.plain,
                            dilation=previous_dilation)]
        self.inplanes = out_planes
        stage += [self.block(self.inplanes, planes, norm_layer=self._norm_layer, plain=self.plain,
                             dilation=self.dilation) for _ in range(1, blocks)]
        return nn.Sequential(*stage)

    def _init_weights(self, zero_init_residual: bool) -> None:
        """He (Kaiming) normal init, fan-out, for convolutions (the paper's ref. [13]); norms start at 1, 0."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, (BasicBlock, Bottleneck)):
                    last = m.bn3 if isinstance(m, Bottleneck) else m.bn2
                    nn.init.constant_(last.weight, 0)

    def features(self, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        """Every stage's output by name, ``{"layer1": (N, C1, H/4, W/4), ..., "layer4": (N, C4, H/32, W/32)}``
        for the ImageNet stem (a dilated stage keeps its input's size): the taps a detection or
        segmentation head reads (torchvision's ``IntermediateLayerGetter`` gives the same tensors)."""
        if x.dim() != 4:
            raise ValueError(f"ResNet takes images (N, C, H, W); got shape {tuple(x.shape)}. "
                             "Add a batch axis with x.unsqueeze(0) for a single image.")
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # ImageNet stem: (N, 64, H/4, W/4); small: (N, w, H, W)
        taps = OrderedDict()
        for name in self.stage_names:
            x = taps[name] = getattr(self, name)(x)           # each stage after the first: H/2, W/2, more channels
        return taps

    def forward(self, x: torch.Tensor) -> torch.Tensor:     # (N, 3, H, W) -> (N, num_classes)
        x = self.features(x)[self.stage_names[-1]]
        x = torch.flatten(self.avgpool(x), 1)                 # (N, C_last)
        return self.fc(x)                                     # (N, num_classes)


def resnet18(num_classes: int = 1000, **kwargs) -> ResNet:
    """ResNet-18: BasicBlock x [2, 2, 2, 2] (Table 1)."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes, **kwargs)


def resnet34(num_classes: int = 1000, **kwargs) -> ResNet:
    """ResNet-34: BasicBlock x [3, 4, 6, 3] (Table 1)."""
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes, **kwargs)


def resnet50(num_classes: int = 1000, **kwargs) -> ResNet:
    """ResNet-50: Bottleneck x [3, 4, 6, 3] (Table 1)."""
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes, **kwargs)


def resnet101(num_classes: int = 1000, **kwargs) -> ResNet:
    """ResNet-101: Bottleneck x [3, 4, 23, 3] (Table 1)."""
    return ResNet(Bottleneck, [3, 4, 23, 3], num_classes, **kwargs)


def resnet152(num_classes: int = 1000, **kwargs) -> ResNet:
    """ResNet-152: Bottleneck x [3, 8, 36, 3] (Table 1)."""
    return ResNet(Bottleneck, [3, 8, 36, 3], num_classes, **kwargs)


def resnet_cifar(depth: int = 20, num_classes: int = 10, *, plain: bool = False, shortcut: str = "A",
                 **kwargs) -> ResNet:
    """The CIFAR-10 ResNet of section 4.2: depth = 6n + 2 (20, 32, 44, 56, 110), widths 16-32-64,
    a 3x3 stem, option-A shortcuts. ResNet-20: 269,722 parameters (0.27M); ResNet-56: 853,018 (0.85M)."""
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(f"a CIFAR ResNet has 6n + 2 layers (20, 32, 44, 56, 110); got depth={depth}.")
    n = (depth - 2) // 6
    return ResNet(BasicBlock, [n, n, n], num_classes, widths=(16, 32, 64), small_input=True, shortcut=shortcut,
                  plain=plain, **kwargs)


def resnet_fast(num_classes: int = 10, widths: Sequence[int] = (64, 128, 256, 512), **kwargs) -> ResNet:
    """The small fast CIFAR net of ``benchmarks/recipes/resnet_cifar.py``, in the spirit of Page's ResNet-9
    (2018): a 3x3 stem and one BasicBlock per stage ([1, 1, 1, 1], 10 layers), each stage after the first
    halving the image with a strided first convolution and a projection shortcut."""
    return ResNet(BasicBlock, [1] * len(widths), num_classes, widths=widths, small_input=True, **kwargs)
