# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 13 · Inception, MobileNet, EfficientNet
#
# VGG (chapter 11) reached its accuracy by stacking ever wider 3x3 convolutions: 138 million
# weights and 15 billion multiply-adds per image. The networks of this chapter reach more with
# far less, each by one idea about where a convolution's cost goes and how to stop paying
# for what does not help: Inception's 1x1 *reductions*, MobileNet's *depthwise separable*
# convolution and *inverted residual*, EfficientNet's *squeeze-and-excitation* gate and
# *compound scaling*. We build each block from tensor operations, prove it equal to
# torchvision's with the same weights, count what it costs, measure what it costs on this
# machine (not the same thing), and train one on real CIFAR-10 photographs.
#
# **What you will build**
#
# - the cost of a convolution in parameters and multiply-adds, and a counter that reads it
#   off any network (checked against PyTorch's own FLOP counter);
# - the Inception module, equal to torchvision's and `dlcourse.models.Inception`; GoogLeNet;
# - a depthwise convolution as a loop over channels, equal to a grouped `F.conv2d`; the
#   depthwise separable block and its 8-9x saving; MobileNet v1 with exactly the paper's
#   4,231,976 parameters;
# - MobileNet v2's inverted residual with its linear bottleneck (and why the bottleneck must
#   be linear, in a picture), equal to torchvision's;
# - squeeze-and-excitation, stochastic depth and the MBConv block of EfficientNet, equal to
#   torchvision's in evaluation *and* training; compound scaling B0-B7 as a table;
# - a table and plots of parameters, multiply-adds and measured latency of GoogLeNet,
#   MobileNet v1/v2 and EfficientNet-B0 at 224x224 and in their CIFAR-sized variants;
# - a MobileNet v2 trained on CIFAR-10 with `dlcourse.fit`, and its depthwise filters.
#
# **Prerequisites**: [09 · Convolutions](09_convolutions.ipynb) (stride, padding, groups),
# [12 · ResNet](12_resnet.ipynb) (residual connections, bottlenecks),
# [07 · Regularization and normalization](../part2_training/07_regularization.ipynb) (batch norm, dropout).
#
# **Run time**: fast mode 61 s of wall time and 17 s of CPU time, measured on 2 CPU cores
# shared with about eight other jobs (load ~11; most of the wall time is waiting for a core,
# about 20 s of it importing torchvision). Full mode (`DLCOURSE_FAST=0`): 21.5 minutes of wall
# time on one CPU thread while another notebook ran on the second core, 21 of them training the
# MobileNet v2 of section 8 on 10,000 images for 10 epochs (its depthwise convolutions run at a
# few percent of a dense convolution's speed on a CPU: section 7). All of CIFAR-10 for 30 epochs
# (the parameters cell says how) is a GPU job: about 5 hours at that thread's 79 images a second.
# GPU: not measured yet.

# %% [markdown]
# ## Setup

# %%
import math
import time

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
import torchvision.models as tvm
from torch import nn
from torch.utils.data import DataLoader
from torch.utils.flop_counter import FlopCounterMode
from torchvision.models.efficientnet import MBConv as TorchvisionMBConv
from torchvision.models.efficientnet import MBConvConfig
from torchvision.models.googlenet import Inception as TorchvisionInception
from torchvision.models.mobilenetv2 import InvertedResidual as TorchvisionInvertedResidual
from torchvision.ops import SqueezeExcitation as TorchvisionSE
from torchvision.ops import StochasticDepth as TorchvisionStochasticDepth
from torchvision.transforms import v2

import dlcourse
from dlcourse import models
from dlcourse.exercises.chapters import ch13_efficient_cnns as exercises
from dlcourse.models import efficientnet as ref_effnet          # the course's reference implementations
from dlcourse.models import googlenet as ref_googlenet
from dlcourse.models import mobilenet as ref_mobilenet
from dlcourse.profiling import count_macs, count_params, measure_latency

device = dlcourse.setup(seed=0)

# %% [markdown]
# The budget. `FAST` is set by CI (`DLCOURSE_FAST=1`): the same real data, fewer images and
# epochs, fewer timing repeats.

# %% tags=["parameters"]
FAST = dlcourse.fast_mode()
# Full mode is sized for a 2-core CPU; on a GPU, TRAIN_LIMIT = TEST_LIMIT = None and EPOCHS = 30
TRAIN_LIMIT = 64 if FAST else 10_000     # CIFAR-10 training images (None: all 50,000)
TEST_LIMIT = 128 if FAST else 2_000      # CIFAR-10 test images it is measured on (None: all 10,000)
EPOCHS = 1 if FAST else 10
BATCH_SIZE = 32 if FAST else 128
WIDTH = 0.5                              # MobileNet v2's width multiplier for the trained network
LATENCY_REPEATS = 1 if FAST else 20      # timed forward passes per model (the median is reported)
LATENCY_WARMUP = 0 if FAST else 3        # untimed passes before them (the first pass also allocates)

# %% [markdown]
# ## 1. What a convolution costs
#
# A convolution from $C_\text{in}$ to $C_\text{out}$ channels with a $k \times k$ kernel holds
# $k^2 C_\text{in} C_\text{out}$ weights (plus $C_\text{out}$ biases). Every output value is a
# dot product of one filter with a $k \times k \times C_\text{in}$ patch, so an output of
# $H \times W$ pixels costs
#
# $$ \text{multiply-adds} = k^2 \, C_\text{in} \, C_\text{out} \, H W . $$
#
# With `groups` $= g$, each filter sees only $C_\text{in}/g$ channels: both numbers shrink by
# $g$. Papers call these multiply-adds "Mult-Adds" (MobileNet) or "FLOPs" (EfficientNet's
# 0.39B for B0 are multiply-adds); PyTorch's `FlopCounterMode` counts a multiply and an add as
# two FLOPs. Written out:

# %%
def conv_cost(c_in, c_out, k, h_out, w_out, groups=1, bias=False):
    """(parameters, multiply-adds) of one k x k convolution producing an h_out x w_out image."""
    weights = k * k * (c_in // groups) * c_out
    return weights + (c_out if bias else 0), weights * h_out * w_out


conv = nn.Conv2d(64, 128, 3, stride=2, padding=1, bias=False)
params, macs = conv_cost(64, 128, 3, 16, 16)
print(f"by hand: {params:,} parameters, {macs:,} multiply-adds for a 32x32 input")
print(f"dlcourse.profiling: {count_params(conv):,} parameters, {count_macs(conv, (64, 32, 32)):,} multiply-adds")
with FlopCounterMode(display=False) as flops:
    conv(torch.zeros(1, 64, 32, 32))
print(f"torch's FlopCounterMode: {flops.get_total_flops():,} FLOPs = 2 x {flops.get_total_flops() // 2:,}")

# %% [markdown]
# `count_macs` hooks every convolution and linear layer of a network, reads the shape of its
# output during one forward pass, and applies the formula above; `tests/test_cnn_efficient.py`
# checks it against a hand count and against `FlopCounterMode`. Normalization, activations and
# pooling are left out, as in the papers (a few percent).
#
# ## 2. Inception: 1x1 reductions before the expensive filters
#
# Which kernel size should a layer use? Szegedy et al. (2015) answered "all of them": an
# **Inception module** runs a 1x1, a 3x3 and a 5x5 convolution and a 3x3 max-pool side by side
# on the same input and concatenates their outputs along the channels. Run naively, the 5x5
# branch on 192 input channels would be ruinous, so each expensive branch first passes through a
# **1x1 convolution that reduces the channels** (16 instead of 192 before the 5x5 of module 3a),
# and the pool branch is projected by a 1x1 convolution so it does not simply pass all 192
# channels on. A 1x1 convolution is a linear layer applied at every pixel: cheap, and with a
# ReLU after it, one more nonlinearity.
#
# Each convolution here is followed by batch norm and ReLU, as in torchvision's port (the 2014
# network predates batch norm); the sub-module names (`conv`, `bn`, `branch1`...) are
# torchvision's, so its weights load into our build by key.

# %%
class ConvBNReLU(nn.Module):
    def __init__(self, c_in, c_out, k, **kwargs):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, k, bias=False, **kwargs)   # no bias: batch norm's shift replaces it
        self.bn = nn.BatchNorm2d(c_out, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class InceptionModule(nn.Module):
    def __init__(self, c_in, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj, k5=5):
        super().__init__()
        self.branch1 = ConvBNReLU(c_in, ch1x1, 1)
        self.branch2 = nn.Sequential(ConvBNReLU(c_in, ch3x3red, 1), ConvBNReLU(ch3x3red, ch3x3, 3, padding=1))
        self.branch3 = nn.Sequential(ConvBNReLU(c_in, ch5x5red, 1), ConvBNReLU(ch5x5red, ch5x5, k5, padding=k5 // 2))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True),
                                     ConvBNReLU(c_in, pool_proj, 1))

    def forward(self, x):                           # (N, C_in, H, W) -> (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W)
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], dim=1)


# %% [markdown]
# One detail before checking: torchvision's "5x5" branch has a 3x3 kernel, a slip in its port
# that the published weights now depend on (pytorch/vision#906). Our module takes the kernel as
# an argument (`k5`); with `k5=3` it must equal torchvision's module and the course's reference
# for any weights, so we randomise batch norm's statistics and affine parameters first (fresh
# ones are the identity, which would hide a misplaced norm):

# %%
def randomize_batch_norms(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(1 + 0.2 * torch.randn(c, generator=g))
                m.bias.copy_(0.2 * torch.randn(c, generator=g))
                m.running_mean.copy_(0.1 * torch.randn(c, generator=g))
                m.running_var.copy_(0.5 + torch.rand(c, generator=g))
    return model


table_3a = ref_googlenet.INCEPTION_TABLE["3a"]           # Table 1 of the paper: 192 -> 64 + 128 + 32 + 32
ours = InceptionModule(*table_3a, k5=3).eval()
theirs = randomize_batch_norms(TorchvisionInception(*table_3a)).eval()
reference = ref_googlenet.Inception(*table_3a).eval()
ours.load_state_dict(theirs.state_dict())
reference.load_state_dict(theirs.state_dict())
x = torch.randn(2, 192, 28, 28)
dlcourse.check_like_torch("Inception 3a vs torchvision", ours, theirs, x)
dlcourse.check_like_torch("Inception 3a vs dlcourse.models.Inception", ours, reference, x, verbose=False)
print("output shape:", tuple(ours(x).shape))

# %% [markdown]
# What the reductions buy. Module 3a as the paper drew it (5x5), the same without its 1x1
# reductions (every branch reading all 192 channels, the pool branch passed through), and
# torchvision's 3x3 slip, on a 28x28 input:

# %%
def describe(name, module, input_size=(192, 28, 28)):
    macs = count_macs(module, input_size)
    print(f"{name:44s} {count_params(module):>10,} parameters {macs / 1e6:8.1f} M multiply-adds")


class NaiveInception(nn.Module):
    """No 1x1 reductions: 1x1, 3x3 and 5x5 convolutions on all input channels, and the pooled input itself."""
    def __init__(self, c_in, ch1x1, ch3x3, ch5x5):
        super().__init__()
        self.b1, self.b3, self.b5 = ConvBNReLU(c_in, ch1x1, 1), ConvBNReLU(c_in, ch3x3, 3, padding=1), \
            ConvBNReLU(c_in, ch5x5, 5, padding=2)
        self.pool = nn.MaxPool2d(3, stride=1, padding=1)

    def forward(self, x):
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.pool(x)], dim=1)


describe("Inception 3a, paper (5x5 branch)", InceptionModule(*table_3a, k5=5))
describe("Inception 3a, torchvision (3x3 in its place)", InceptionModule(*table_3a, k5=3))
describe("naive: no reductions (outputs 416 channels)", NaiveInception(192, 64, 128, 32))
describe("one plain 3x3 convolution, 192 -> 256", ConvBNReLU(192, 256, 3, padding=1))

# %% [markdown]
# The module produces 256 channels from four kinds of filter for about a third of the cost of
# one plain 3x3 layer of the same width, and less than half the naive module's (whose output
# would also keep growing from module to module: its pool branch passes every input channel
# on). GoogLeNet stacks nine such modules; Table 1 of the paper gives each one's six widths.
# How each module shares its output channels among the branches, and the whole network's size:

# %%
names = list(ref_googlenet.INCEPTION_TABLE)
widths = torch.tensor([[row[1], row[3], row[5], row[6]] for row in ref_googlenet.INCEPTION_TABLE.values()])
fig, ax = plt.subplots(figsize=(8, 3))
bottom = torch.zeros(len(names))
for j, label in enumerate(["1x1", "3x3", "5x5", "pool proj"]):
    ax.bar(names, widths[:, j], bottom=bottom, label=label)
    bottom += widths[:, j]
ax.set(title="GoogLeNet's Inception modules: output channels per branch (Table 1)", xlabel="module",
       ylabel="channels")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
googlenet = ref_googlenet.googlenet(aux_logits=False, init_weights=False)
print(f"GoogLeNet: {count_params(googlenet):,} parameters (torchvision: "
      f"{count_params(tvm.googlenet(weights=None, aux_logits=False, init_weights=False)):,}), "
      f"{count_macs(googlenet) / 1e9:.2f} G multiply-adds at 224x224 (VGG-16: 138M parameters, 15.5G)")

# %% [markdown]
# ## 3. Depthwise separable convolutions: MobileNet v1
#
# A standard convolution does two jobs at once: it filters each channel spatially, and it mixes
# channels. Howard et al. (2017) separate them. A **depthwise** convolution filters each input
# channel with its own $k \times k$ kernel and never mixes channels ($k^2 C_\text{in}$ weights);
# a **pointwise** 1x1 convolution then mixes the channels at each pixel ($C_\text{in}
# C_\text{out}$). Their cost relative to the standard convolution (section 3.1 of the paper):
#
# $$ \frac{k^2 C_\text{in} H W + C_\text{in} C_\text{out} H W}{k^2 C_\text{in} C_\text{out} H W}
#    = \frac{1}{C_\text{out}} + \frac{1}{k^2} . $$
#
# A depthwise convolution, written as what it is: one single-channel convolution per channel.

# %%
def depthwise_conv_loop(x, weight, stride=1, padding=1):
    """x (N, C, H, W), weight (C, 1, k, k): channel c filtered by kernel c alone."""
    return torch.cat([F.conv2d(x[:, c:c + 1], weight[c:c + 1], stride=stride, padding=padding)
                      for c in range(x.shape[1])], dim=1)


x, w_dw = torch.randn(2, 16, 12, 12), torch.randn(16, 1, 3, 3)
for stride in (1, 2):
    dlcourse.check_like_torch(f"per-channel loop == F.conv2d(groups=C), stride {stride}",
                              lambda x, w: depthwise_conv_loop(x, w, stride),
                              lambda x, w: F.conv2d(x, w, stride=stride, padding=1, groups=16), x, w_dw,
                              verbose=stride == 2)

# %% [markdown]
# PyTorch's `groups=C` is exactly this (the loop is only for understanding; exercise 1 builds
# it again from `F.unfold`, without any convolution). The saving, counted on a layer of
# MobileNet's middle (512 -> 512 channels, 3x3, 14x14):

# %%
c, k, hw = 512, 3, 14
standard = nn.Conv2d(c, c, k, padding=1, bias=False)
separable = nn.Sequential(nn.Conv2d(c, c, k, padding=1, groups=c, bias=False), nn.Conv2d(c, c, 1, bias=False))
for name, module in [("standard 3x3", standard), ("depthwise 3x3 + pointwise 1x1", separable)]:
    macs = count_macs(module, (c, hw, hw))
    print(f"{name:32s} {count_params(module):>9,} parameters {macs / 1e6:7.1f} M multiply-adds")
ratio = count_macs(separable, (c, hw, hw)) / count_macs(standard, (c, hw, hw))
print(f"ratio {ratio:.4f} = 1/C_out + 1/k^2 = {1 / c + 1 / k ** 2:.4f}: {1 / ratio:.1f}x fewer")

# %% [markdown]
# **MobileNet v1** (Table 1 of the paper) is a 3x3 stride-2 stem with 32 channels and 13
# depthwise separable blocks, each convolution followed by batch norm and ReLU, then global
# average pooling and one linear layer. The paper gives its size as "4.2M" parameters; the
# exact number, counted from the table by hand (convolutions have no bias: batch norm's
# $\gamma, \beta$ replace it):

# %%
blocks = ref_mobilenet.MOBILENET_V1_TABLE                # (output channels, stride), Table 1
total, c_in = 3 * 3 * 3 * 32 + 2 * 32, 32                # stem conv + its batch norm
for c_out, _ in blocks:
    total += 3 * 3 * c_in + 2 * c_in                     # depthwise 3x3 + batch norm
    total += c_in * c_out + 2 * c_out                    # pointwise 1x1 + batch norm
    c_in = c_out
total += 1024 * 1000 + 1000                              # the classifier
print(f"by hand from Table 1: {total:,}; dlcourse.models.mobilenet_v1(): {count_params(models.mobilenet_v1()):,}")
assert total == count_params(models.mobilenet_v1()) == 4_231_976

# %% [markdown]
# torchvision has no MobileNet v1, so the paper's count is our check (and
# `tests/test_cnn_efficient.py` also rebuilds one block from `F.conv2d` and `F.batch_norm`).
# The **width multiplier** $\alpha$ (section 4.2) thins every layer to $\alpha C$ channels:
# parameters and multiply-adds shrink roughly as $\alpha^2$. The paper's Table 6 lists 4.2M,
# 2.6M, 1.3M, 0.5M parameters and 569M, 325M, 149M, 41M multiply-adds:

# %%
for alpha in (1.0, 0.75, 0.5, 0.25):
    net = models.mobilenet_v1(width_mult=alpha)
    print(f"alpha {alpha:4.2f}: {count_params(net) / 1e6:4.1f}M parameters, "
          f"{count_macs(net) / 1e6:4.0f}M multiply-adds")

# %% [markdown]
# All eight numbers agree with the paper's. Where the multiply-adds of MobileNet v1 go, by
# kind of layer:

# %%
def macs_by_kind(model, input_size=(3, 224, 224)):
    _, per_layer = count_macs(model, input_size, per_layer=True)
    kinds = {"depthwise": 0, "pointwise 1x1": 0, "dense kxk": 0, "linear": 0}
    for name, module in model.named_modules():
        if name in per_layer:
            if isinstance(module, nn.Linear):
                kinds["linear"] += per_layer[name]
            elif module.groups > 1:
                kinds["depthwise"] += per_layer[name]
            elif module.kernel_size == (1, 1):
                kinds["pointwise 1x1"] += per_layer[name]
            else:
                kinds["dense kxk"] += per_layer[name]
    return kinds


v1_kinds = macs_by_kind(models.mobilenet_v1())
print({kind: f"{n / sum(v1_kinds.values()):.1%}" for kind, n in v1_kinds.items()})

# %% [markdown]
# 95% of the arithmetic is now in 1x1 convolutions: a plain matrix product, which every
# library runs fast (the paper's Table 2 reports the same 95%). Section 7 shows that "fast" is
# not evenly true for the other 3%.

# %% [markdown]
# ## 4. The inverted residual: MobileNet v2
#
# ResNet's bottleneck (chapter 12) is wide -> thin -> wide, with the residual joining the wide
# ends. Sandler et al. (2018) turn it inside out. The tensors passed between blocks are *thin*
# (16 to 320 channels); inside a block a 1x1 convolution **expands** them $t = 6$ times, a 3x3
# depthwise convolution filters the wide tensor (cheap: depthwise cost grows only linearly with
# the width), and a 1x1 convolution **projects** back down. The residual joins the thin ends
# whenever stride and width allow. Activations are ReLU6, $\min(\max(x, 0), 6)$, robust in
# low-precision arithmetic.
#
# The projection has **no activation**: a *linear bottleneck*. The paper's Figure 1 shows why.
# Embed a 2-D spiral into $n$ dimensions with a random matrix $T$, apply ReLU, and map back with
# $T$'s pseudo-inverse: in few dimensions ReLU destroys the points it clips; in many, enough of
# the coordinates survive to reconstruct them. The thin tensors are where a ReLU would do damage,
# so the thin end stays linear.

# %%
g = torch.Generator().manual_seed(0)
angle = torch.linspace(0, 4 * math.pi, 400)
spiral = torch.stack([angle * torch.cos(angle), angle * torch.sin(angle)], dim=1) / (4 * math.pi)   # (400, 2)
fig, axes = plt.subplots(1, 5, figsize=(12, 2.6))
for ax, n in zip(axes, (None, 2, 3, 15, 30)):
    if n is None:
        points, title = spiral, "input"
    else:
        T = torch.randn(2, n, generator=g)
        points, title = F.relu(spiral @ T) @ torch.linalg.pinv(T), f"ReLU in {n} dimensions"
    ax.scatter(points[:, 0], points[:, 1], c=angle, s=2, cmap="viridis")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([]), ax.set_yticks([])
fig.tight_layout()
plt.show()

# %% [markdown]
# The block, with torchvision's names (`conv` holds expand, depthwise, projection and its batch
# norm, in that order; a `nn.Sequential` of conv, norm and activation has the keys `.0`, `.1`):

# %%
def conv_norm_act(c_in, c_out, k=3, stride=1, groups=1, activation=nn.ReLU6):
    layers = [nn.Conv2d(c_in, c_out, k, stride, (k - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(c_out)]
    return nn.Sequential(*layers, *([activation()] if activation else []))


class InvertedResidualBlock(nn.Module):
    def __init__(self, c_in, c_out, stride, expand_ratio):
        super().__init__()
        hidden = c_in * expand_ratio
        self.use_res_connect = stride == 1 and c_in == c_out
        expand = [conv_norm_act(c_in, hidden, 1)] if expand_ratio != 1 else []
        self.conv = nn.Sequential(*expand,
                                  conv_norm_act(hidden, hidden, 3, stride, groups=hidden),       # depthwise
                                  nn.Conv2d(hidden, c_out, 1, bias=False), nn.BatchNorm2d(c_out))  # linear projection

    def forward(self, x):                  # (N, C_in, H, W) -> (N, C_out, H / stride, W / stride)
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


x = torch.randn(2, 24, 16, 16)
for c_out, stride, t in [(24, 1, 6), (32, 2, 6), (24, 1, 1)]:
    ours = InvertedResidualBlock(24, c_out, stride, t).eval()
    theirs = randomize_batch_norms(TorchvisionInvertedResidual(24, c_out, stride, t)).eval()
    reference = ref_mobilenet.InvertedResidual(24, c_out, stride, t).eval()
    ours.load_state_dict(theirs.state_dict()), reference.load_state_dict(theirs.state_dict())
    label = f"inverted residual 24 -> {c_out}, stride {stride}, t = {t}"
    dlcourse.check_like_torch(label, ours, theirs, x, verbose=c_out == 32)
    dlcourse.check_like_torch(label + " vs dlcourse", ours, reference, x, verbose=False)

# %% [markdown]
# MobileNet v2 (Table 2 of the paper: `ref_mobilenet.MOBILENET_V2_TABLE`) is a stem, 17 such
# blocks in 7 stages and a 1x1 convolution to 1280 channels. Ours has torchvision's state-dict
# keys, so its weights load by key copy; the test suite proves the outputs equal. The widths
# along the network show the inverted shape: thin between blocks, six times wider inside.

# %%
mnv2 = models.mobilenet_v2()
thin, wide = [], []
for block in mnv2.features:
    if isinstance(block, ref_mobilenet.InvertedResidual):
        thin.append(block.out_channels)
        wide.append(max(m.out_channels for m in block.modules() if isinstance(m, nn.Conv2d)))
fig, ax = plt.subplots(figsize=(8, 2.8))
ax.bar(range(len(wide)), wide, color="tab:orange", label="inside the block (after the expansion)")
ax.bar(range(len(thin)), thin, color="tab:blue", label="between blocks (the bottleneck)")
ax.set(title="MobileNet v2: channels of each inverted residual", xlabel="block", ylabel="channels")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
print(f"MobileNet v2: {count_params(mnv2):,} parameters (torchvision: {count_params(tvm.mobilenet_v2()):,}), "
      f"{count_macs(mnv2) / 1e6:.0f}M multiply-adds at 224x224 (paper, Table 4: 3.4M and 300M)")

# %% [markdown]
# ## 5. MBConv: squeeze-and-excitation and stochastic depth
#
# EfficientNet's block is MobileNet v2's inverted residual (with SiLU, $x\,\sigma(x)$, for
# ReLU6) plus two additions.
#
# **Squeeze-and-excitation** (Hu et al. 2018). A convolution sees a $k \times k$ window; nothing
# in it knows what the rest of the image looks like. SE *squeezes* each channel to one number,
# its mean over the image, passes the $C$ numbers through a small bottleneck ($C \to S \to C$)
# and a sigmoid, and *excites*: multiplies every channel by its gate in $(0, 1)$. The network
# can turn channels up or down depending on the whole image, for about 2% more weights.
# torchvision writes the two fully connected layers as 1x1 convolutions on the $(N, C, 1, 1)$
# means; we keep its names (`fc1`, `fc2`) so its weights load:

# %%
class SqueezeExcite(nn.Module):
    def __init__(self, channels, squeezed):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, squeezed, 1)
        self.fc2 = nn.Conv2d(squeezed, channels, 1)

    def forward(self, x):                                             # (N, C, H, W) -> (N, C, H, W)
        s = x.mean(dim=(2, 3), keepdim=True)                          # squeeze: (N, C, 1, 1)
        gate = torch.sigmoid(self.fc2(F.silu(self.fc1(s))))           # excite: one gate per example and channel
        return x * gate


ours, theirs = SqueezeExcite(32, 8), TorchvisionSE(32, 8, activation=nn.SiLU)
ours.load_state_dict(theirs.state_dict())
dlcourse.check_like_torch("squeeze-excitation vs torchvision.ops", ours, theirs, torch.randn(2, 32, 7, 7))

# %% [markdown]
# **Stochastic depth** (Huang et al. 2016): in training, each residual block's branch is
# dropped for a whole example with probability $p$ (the block becomes the identity for it)
# and scaled by $1/(1-p)$ otherwise, so its expected output is unchanged; in evaluation
# nothing is dropped. A deep network trains as an ensemble of shallower ones. EfficientNet
# raises $p$ linearly from 0 at the first block to 0.2 at the last. With the same seed, our
# version draws the same coins as `torchvision.ops.StochasticDepth`:

# %%
class DropPath(nn.Module):
    def __init__(self, p):
        super().__init__()
        self.p = p

    def forward(self, x):                                             # (N, ...) -> (N, ...)
        if not self.training or self.p == 0:
            return x
        keep = torch.empty([x.shape[0]] + [1] * (x.dim() - 1)).bernoulli_(1 - self.p)   # one coin per example
        return x * keep / (1 - self.p)


def seeded(fn, seed=0):
    def run(*args):
        torch.manual_seed(seed)
        return fn(*args)
    return run


x = torch.randn(16, 8, 4, 4)
dlcourse.check_like_torch("stochastic depth, training", seeded(DropPath(0.3)),
                          seeded(TorchvisionStochasticDepth(0.3, "row")), x)
print("examples whose branch was dropped:", int((seeded(DropPath(0.3))(x).flatten(1) == 0).all(1).sum()), "of 16")

# %% [markdown]
# **MBConv** puts it together: [1x1 expand -> BN -> SiLU] -> $k \times k$ depthwise -> BN ->
# SiLU -> SE (squeezed to a quarter of the block's *input* channels) -> 1x1 project -> BN, and
# the residual, through stochastic depth, when the shapes allow. torchvision calls the sequence
# `block`; it builds a block from an `MBConvConfig` (expand ratio, kernel, stride, in, out, layers):

# %%
class MBConvBlock(nn.Module):
    def __init__(self, c_in, c_out, expand_ratio, kernel, stride, drop_p):
        super().__init__()
        hidden = ref_mobilenet.make_divisible(c_in * expand_ratio)       # widths are multiples of 8
        self.use_res_connect = stride == 1 and c_in == c_out
        expand = [conv_norm_act(c_in, hidden, 1, activation=nn.SiLU)] if hidden != c_in else []
        self.block = nn.Sequential(*expand,
                                   conv_norm_act(hidden, hidden, kernel, stride, groups=hidden, activation=nn.SiLU),
                                   SqueezeExcite(hidden, max(1, c_in // 4)),
                                   conv_norm_act(hidden, c_out, 1, activation=None))
        self.stochastic_depth = DropPath(drop_p)

    def forward(self, x):                  # (N, C_in, H, W) -> (N, C_out, H / stride, W / stride)
        out = self.block(x)
        return self.stochastic_depth(out) + x if self.use_res_connect else out


x = torch.randn(4, 40, 14, 14)
ours = MBConvBlock(40, 40, 6, 5, 1, drop_p=0.2)
theirs = randomize_batch_norms(TorchvisionMBConv(MBConvConfig(6, 5, 1, 40, 40, 1), 0.2, nn.BatchNorm2d))
reference = ref_effnet.MBConv(40, 40, 6, 5, 1, 0.2)
ours.load_state_dict(theirs.state_dict()), reference.load_state_dict(theirs.state_dict())
for mode in ("eval", "train"):             # training: batch statistics, and stochastic depth's coins
    for m in (ours, theirs, reference):
        m.train(mode == "train")
    dlcourse.check_like_torch(f"MBConv 40 -> 40, k=5, {mode}", seeded(ours), seeded(theirs), x)
    dlcourse.check_like_torch(f"MBConv vs dlcourse, {mode}", seeded(ours), seeded(reference), x, verbose=False)

# %% [markdown]
# ## 6. Compound scaling: EfficientNet-B0 to B7
#
# Given more compute, how should a network grow: deeper (ResNet-18 -> 152), wider
# (Wide ResNet), or on larger images? Tan & Le (2019) found that growing any one dimension
# saturates quickly, and proposed growing all three together: depth by $\alpha^\phi$, width by
# $\beta^\phi$, resolution by $\gamma^\phi$, with $\alpha = 1.2, \beta = 1.1, \gamma = 1.15$
# found by a small grid search on B0 under the constraint $\alpha \beta^2 \gamma^2 \approx 2$
# (a convolution's cost grows linearly with depth and quadratically with width and
# resolution), so each step of $\phi$ doubles the multiply-adds. B0 itself (Table 1 of the
# paper, `ref_effnet.B0_STAGES`) came from an architecture search over MBConv blocks.
#
# The released B1-B7 use rounded multipliers (`ref_effnet.SCALING`, from the authors' code and
# torchvision) rather than exact powers. Each stage's width becomes the nearest multiple of 8
# and its number of blocks is rounded *up*; exercise 3 writes that rule. Building B0..B7 on
# PyTorch's `meta` device gives every shape without allocating or computing anything, so even
# B7 at 600x600 is counted in a moment. Accuracy is torchvision's published ImageNet top-1 of
# its ported weights (read from its metadata, not measured here):

# %%
alpha, beta, gamma = 1.2, 1.1, 1.15
rows = []
print(f"{'':3s} {'width':>5s} {'depth':>5s} {'res':>4s} | {'phi':>3s} {'beta^phi':>8s} {'alpha^phi':>9s} "
      f"{'224 gamma^phi':>13s} | {'params':>7s} {'mult-adds':>9s} {'top-1':>6s}")
for phi, (name, (width, depth, resolution, dropout)) in enumerate(ref_effnet.SCALING.items()):
    with torch.device("meta"):
        net = ref_effnet.build_efficientnet(name)
    weights = getattr(tvm, f"EfficientNet_{name.upper()}_Weights").IMAGENET1K_V1
    top1 = weights.meta["_metrics"]["ImageNet-1K"]["acc@1"]
    rows.append((name, count_params(net), count_macs(net, (3, resolution, resolution)), top1))
    print(f"{name:3s} {width:5.1f} {depth:5.1f} {resolution:4d} | {phi:3d} {beta ** phi:8.2f} {alpha ** phi:9.2f} "
          f"{224 * gamma ** phi:13.0f} | {rows[-1][1] / 1e6:6.1f}M {rows[-1][2] / 1e9:8.2f}G {top1:5.1f}%")

# %% [markdown]
# The parameters and multiply-adds are the paper's Table 2 (5.3M / 0.39B for B0 ... 66M / 37B
# for B7); the released multipliers grow more slowly than $\alpha^\phi, \beta^\phi$ would. What
# the doubling buys, in the style of the paper's Figure 1:

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot([r[2] / 1e9 for r in rows], [r[3] for r in rows], "o-")
for name, _, macs, top1 in rows:
    ax.annotate(name.upper(), (macs / 1e9, top1), textcoords="offset points", xytext=(4, -10), fontsize=8)
ax.set_xscale("log")
ax.set(title="EfficientNet B0-B7 (torchvision's published top-1)", xlabel="G multiply-adds per image (log)",
       ylabel="ImageNet top-1 (%)")
fig.tight_layout()
plt.show()

# %% [markdown]
# Each doubling of the compute buys less: from B0 to B1 one point of accuracy for 1.8x the
# arithmetic, from B6 to B7 0.1 point for 2x.
#
# ## 7. Parameters, multiply-adds and measured latency
#
# Now the four families side by side, at ImageNet's 224x224 and in their CIFAR-sized variants
# (the same classes with `small_input=True`: the stem, and the first stride-2 stage, keep
# stride 1, so a 32x32 image ends at 4x4 rather than 1x1; the weights are unchanged, only the
# strides). Latency is the median time of one forward pass of one image on this notebook's
# device, measured now, so it depends on the machine and on what else runs on it.

# %%
FAMILIES = {
    "GoogLeNet": (lambda: ref_googlenet.googlenet(aux_logits=False, init_weights=False),
                  lambda: models.googlenet_cifar(init_weights=False)),
    "MobileNet v1": (models.mobilenet_v1, models.mobilenet_v1_cifar),
    "MobileNet v2": (models.mobilenet_v2, models.mobilenet_v2_cifar),
    "EfficientNet-B0": (models.efficientnet_b0, models.efficientnet_b0_cifar),
}
results = []
for family, builders in FAMILIES.items():
    for builder, size in zip(builders, (224, 32)):
        net = builder().to(device)
        seconds = measure_latency(net, (3, size, size), repeats=LATENCY_REPEATS, warmup=LATENCY_WARMUP)
        results.append((family, size, count_params(net), count_macs(net, (3, size, size)), seconds))
print(f"{'model':16s} {'input':>7s} {'params':>8s} {'mult-adds':>10s} {'latency':>9s} {'mult-adds/s':>12s}")
for family, size, params, macs, seconds in results:
    print(f"{family:16s} {size:4d}^2 {params / 1e6:7.2f}M {macs / 1e6:9.0f}M {seconds * 1e3:7.1f}ms "
          f"{macs / seconds / 1e9:9.1f} G/s")

# %%
fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
for ax, (label, column, scale) in zip(axes, [("parameters (M)", 2, 1e6), ("multiply-adds (M)", 3, 1e6),
                                             ("latency, batch 1 (ms)", 4, 1e-3)]):
    for k, size in enumerate((224, 32)):
        values = [r[column] / scale for r in results if r[1] == size]
        ax.bar([i + 0.4 * k for i in range(len(FAMILIES))], values, width=0.4, label=f"{size}x{size}")
    ax.set_xticks([i + 0.2 for i in range(len(FAMILIES))], list(FAMILIES), rotation=20, fontsize=8)
    ax.set_title(label)
axes[0].legend(fontsize=8)
fig.suptitle(f"measured on {device}", fontsize=9)
fig.tight_layout()
plt.show()

# %% [markdown]
# Fewer multiply-adds did not mean proportionally less time. The last column says how fast each
# network's arithmetic ran. In a run we made on one CPU thread (medians of 5 passes at 224x224:
# GoogLeNet 309 ms, MobileNet v1 76 ms, v2 111 ms, EfficientNet-B0 122 ms), MobileNet v2 and
# EfficientNet-B0 computed at 55-65% of GoogLeNet's rate (2.7 and 3.2 against 4.9 G
# multiply-adds per second), so their 4-5x fewer multiply-adds bought a 2.5-3x shorter latency;
# MobileNet v1, whose arithmetic is almost all in large 1x1 convolutions, ran fastest of all
# (7.5 G/s). (Fast mode times a single pass on a shared machine: its numbers are noisy.)
# **Look inside** one forward pass of MobileNet v2 to see where the time goes: a hook before
# and after every convolution times it (on a CPU each layer finishes before the next starts,
# so the clock is honest), summed by kind of convolution.

# %%
def time_by_kind(model, input_size=(3, 224, 224)):
    seconds, started, hooks = {}, {}, []
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            kind = "depthwise" if m.groups > 1 else "pointwise 1x1" if m.kernel_size == (1, 1) else "dense kxk"
            hooks.append(m.register_forward_pre_hook(
                lambda m, i, name=name: started.__setitem__(name, time.perf_counter())))
            hooks.append(m.register_forward_hook(lambda m, i, o, name=name, kind=kind: seconds.__setitem__(
                kind, seconds.get(kind, 0.0) + time.perf_counter() - started[name])))
    with torch.no_grad():
        model.eval()(torch.randn(1, *input_size))
    for h in hooks:
        h.remove()
    return seconds


v2_seconds, v2_macs = time_by_kind(mnv2), macs_by_kind(mnv2)
total_s, total_macs = sum(v2_seconds.values()), sum(v2_macs[k] for k in v2_seconds)
for kind in v2_seconds:
    print(f"{kind:14s} {v2_macs[kind] / total_macs:6.1%} of the multiply-adds, "
          f"{v2_seconds[kind] / total_s:6.1%} of the time")

# %% [markdown]
# On a CPU the depthwise convolutions take a share of the time many times their share of the
# arithmetic: each weight is used for one channel only, so there is little reuse of what has
# been loaded, and libraries tune their kernels for dense matrix products. (On the shared,
# heavily loaded 2-core CPU this notebook was written on, PyTorch's depthwise 3x3 convolution
# of a (64, 96, 16, 16) batch ran at about 0.13 G multiply-adds per second, a dense 3x3 at
# about 8.) Multiply-adds are a proxy for speed; measure on the device you deploy to. This is
# why MobileNet v3 and EfficientNet-Lite were searched for latency measured on phones, and why
# EfficientNetV2 puts dense "fused" MBConv blocks back in the early stages.

# %% [markdown]
# ## 8. Training a MobileNet v2 on CIFAR-10
#
# The CIFAR-sized MobileNet v2 at half width (`WIDTH = 0.5`: 0.7M parameters, 28M
# multiply-adds per 32x32 image), trained with `dlcourse.fit` on real CIFAR-10 photographs:
# random crops and flips, SGD with Nesterov momentum, a one-cycle learning rate stepped
# after every batch, label smoothing 0.1. Batch norm after every convolution lets the
# rate be high. `channels_last` memory order speeds up the depthwise convolutions on CPUs.

# %%
crop_flip = v2.Compose([v2.RandomCrop(32, padding=4), v2.RandomHorizontalFlip()])
train_set = dlcourse.data.cifar10_augmented("train", crop_flip, limit=TRAIN_LIMIT)
test_loader = DataLoader(dlcourse.data.cifar10("test", limit=TEST_LIMIT), batch_size=500)
loader = DataLoader(train_set, BATCH_SIZE, shuffle=True, generator=torch.Generator().manual_seed(0))
torch.manual_seed(0)
model = models.mobilenet_v2_cifar(width_mult=WIDTH).to(memory_format=torch.channels_last)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=4e-5)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.2, total_steps=EPOCHS * len(loader))
history = dlcourse.fit(model, loader, optimizer, epochs=EPOCHS, val_loader=test_loader, scheduler=scheduler,
                       scheduler_interval="step", loss_fn=lambda out, y: F.cross_entropy(out, y, label_smoothing=0.1),
                       device=device, title="MobileNet v2 (width 0.5) on CIFAR-10")
print(f"{count_params(model):,} parameters; test accuracy {history.last('val_accuracy'):.1%} after {EPOCHS} "
      f"epoch(s) on {len(train_set):,} images, {sum(history['time']):.0f} s")

# %% [markdown]
# (The training accuracy is measured on augmented images with dropout active, averaged over
# each epoch; the test accuracy in evaluation mode.) In fast mode the network sees 64 images
# once: the numbers show that the code runs, not what the network can learn. Full mode trains
# on 10,000 images for 10 epochs; in our run (one CPU thread, 21 minutes) the network reached
# 57.6% on 2,000 test images, below the small VGG of chapter 11 (62.4% after 8 epochs on the
# same 10,000 images): a network this thin needs more data and epochs than a CPU affords here.
# On a GPU, set `TRAIN_LIMIT = TEST_LIMIT = None` and `EPOCHS = 30`; MobileNet v2 at full width
# reaches about 94% on CIFAR-10 with 200 epochs (kuangliu/pytorch-cifar).
#
# **Look inside: the first filters.** The stem is an ordinary 3x3 convolution over the three
# colour channels; the first block's depthwise convolution has one 3x3 kernel per channel,
# applied to that channel alone, so each is a purely spatial pattern (an edge direction, a
# blob, a shift), with no mixing of channels: that is the pointwise convolution's job.

# %%
stem = model.features[0][0].weight.detach().float().cpu()                 # (16, 3, 3, 3)
depthwise = model.features[1].conv[0][0].weight.detach().float().cpu()    # (16, 1, 3, 3)
fig, axes = plt.subplots(2, 16, figsize=(12, 1.9))
for j in range(16):
    rgb = stem[j].permute(1, 2, 0)
    axes[0, j].imshow((rgb - rgb.min()) / (rgb.max() - rgb.min() + 1e-8))
    axes[1, j].imshow(depthwise[j, 0], cmap="RdBu_r")
for ax in axes.flat:
    ax.set_xticks([]), ax.set_yticks([])
axes[0, 0].set_ylabel("stem", fontsize=8)
axes[1, 0].set_ylabel("depthwise", fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 9. Exercises
#
# Each exercise cell holds a placeholder. Replace it, run the cell, then run the check cell
# under it: it says whether your answer is right and, if not, what to change. The checks
# live in `dlcourse.exercises.chapters.ch13_efficient_cnns`; worked solutions are in
# `solutions/chapters/13_efficient_cnns.py` (try first!).
#
# ### Exercise 1: a depthwise convolution without a convolution
#
# `F.unfold(x, k, padding=p, stride=s)` returns every $k \times k$ patch of `x` as a column:
# shape $(N, C k^2, L)$ with $L$ output positions, each channel's $k^2$ values together. Write
# `depthwise_conv2d(x, weight, stride, padding)` for `x` $(N, C, H, W)$ and `weight`
# $(C, 1, k, k)$ from `F.unfold` and tensor arithmetic; it must equal
# `F.conv2d(x, weight, stride=stride, padding=padding, groups=C)`. Calling `F.conv2d` is not
# allowed here (the check says so if you try).

# %%
def depthwise_conv2d(x, weight, stride=1, padding=0):
    """x (N, C, H, W), weight (C, 1, k, k) -> (N, C, H_out, W_out), one filter per channel."""
    return None     # YOUR CODE HERE


# %%
exercises.check_depthwise_conv2d(depthwise_conv2d)

# %% [markdown]
# ### Exercise 2: squeeze-and-excitation as a function
#
# Write `squeeze_excitation(x, w1, b1, w2, b2)`: squeeze `x` $(N, C, H, W)$ to its channel
# means, compute the gates $\sigma(W_2\,\mathrm{SiLU}(W_1 m + b_1) + b_2)$ with `w1` $(S, C)$,
# `w2` $(C, S)$, and return `x` scaled channel by channel. The check compares it, with the same
# weights, to `torchvision.ops.SqueezeExcitation` with SiLU, outputs and gradients.

# %%
def squeeze_excitation(x, w1, b1, w2, b2):
    """x (N, C, H, W); w1 (S, C), b1 (S,), w2 (C, S), b2 (C,) -> x gated per channel."""
    return None     # YOUR CODE HERE


# %%
exercises.check_squeeze_excitation(squeeze_excitation)

# %% [markdown]
# ### Exercise 3: compound scaling of one stage
#
# Write `scale_stage(channels, layers, width_mult, depth_mult)` returning the scaled stage as
# `(channels, layers)`, with EfficientNet's rounding (section 6): the width to the nearest
# multiple of 8 (at least 8, and 8 more if rounding lost over 10%), the number of blocks
# rounded up. The check runs it on every stage of B0's table under the multipliers of B0..B7
# and compares with torchvision's configurations.

# %%
def scale_stage(channels, layers, width_mult, depth_mult):
    """(channels, layers) of a B0 stage scaled by a width and a depth multiplier."""
    return None     # YOUR CODE HERE


# %%
exercises.check_scale_stage(scale_stage)

# %% [markdown]
# The graded assignment of this part, `a05_custom_cnn`, asks for a CNN within a parameter and
# time budget: the blocks of this chapter are the tools for it.
#
# ## 10. Summary
#
# - A $k \times k$ convolution costs $k^2 C_\text{in} C_\text{out}$ weights and that many
#   multiply-adds per output pixel; the papers' "FLOPs" are multiply-adds.
# - Inception runs 1x1, 3x3, 5x5 and pooling branches side by side and reduces channels with
#   1x1 convolutions before the expensive ones: module 3a costs a third of one plain 3x3 layer
#   of its width. torchvision's "5x5" branch is 3x3.
# - A depthwise separable convolution (depthwise $k \times k$, then pointwise 1x1) costs
#   $1/C_\text{out} + 1/k^2$ of a standard one, 8-9x less for 3x3; MobileNet v1 is 13 of
#   them, 4,231,976 parameters and 569M multiply-adds, 95% of them in 1x1 convolutions.
# - MobileNet v2's inverted residual expands thin tensors 6x, filters them depthwise and
#   projects back without an activation (ReLU on a thin tensor destroys information).
# - EfficientNet's MBConv adds squeeze-and-excitation (a per-channel gate computed from the
#   whole image) and stochastic depth; compound scaling grows depth, width and resolution
#   together, B0 (0.39G multiply-adds) to B7 (37.7G) at about 2x per step.
# - Multiply-adds are not time: on a CPU depthwise convolutions ran at a fraction of the rate
#   of dense ones and took half of MobileNet v2's time for 7% of its arithmetic. Measure.
#
# ## References
#
# - C. Szegedy, W. Liu, Y. Jia, P. Sermanet, S. Reed, D. Anguelov, D. Erhan, V. Vanhoucke and
#   A. Rabinovich (2015). *Going deeper with convolutions.* CVPR (arXiv:1409.4842, 2014).
# - M. Lin, Q. Chen and S. Yan (2014). *Network in network.* ICLR (1x1 convolutions, global
#   average pooling).
# - S. Ioffe and C. Szegedy (2015). *Batch normalization.* ICML.
# - A. G. Howard, M. Zhu, B. Chen, D. Kalenichenko, W. Wang, T. Weyand, M. Andreetto and
#   H. Adam (2017). *MobileNets: efficient convolutional neural networks for mobile vision
#   applications.* arXiv:1704.04861.
# - M. Sandler, A. Howard, M. Zhu, A. Zhmoginov and L.-C. Chen (2018). *MobileNetV2: inverted
#   residuals and linear bottlenecks.* CVPR.
# - J. Hu, L. Shen and G. Sun (2018). *Squeeze-and-excitation networks.* CVPR.
# - G. Huang, Y. Sun, Z. Liu, D. Sedra and K. Q. Weinberger (2016). *Deep networks with
#   stochastic depth.* ECCV.
# - P. Ramachandran, B. Zoph and Q. V. Le (2017). *Searching for activation functions.*
#   arXiv:1710.05941 (swish / SiLU).
# - M. Tan and Q. V. Le (2019). *EfficientNet: rethinking model scaling for convolutional
#   neural networks.* ICML.
# - M. Tan and Q. V. Le (2021). *EfficientNetV2: smaller models and faster training.* ICML.
# - L. N. Smith and N. Topin (2019). *Super-convergence.* (one-cycle learning rate).
# - A. Krizhevsky (2009). *Learning multiple layers of features from tiny images.* Technical
#   report, University of Toronto (CIFAR-10).
