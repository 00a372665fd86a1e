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
# # 12 · ResNet
#
# By 2015 convolutional networks had grown from 8 layers (AlexNet) to 19 (VGG) and 22
# (GoogLeNet), and stacking more stopped helping: a deeper *plain* network reached a *higher
# training* error than a shallower one. That is not overfitting (the training error itself is
# worse) but an optimisation failure, the *degradation problem*. He, Zhang, Ren and Sun's fix
# is one addition: each block computes a correction $F(x)$ and outputs $F(x) + x$. A block that
# should do nothing only has to push $F$ to zero, and the gradient reaches early layers through
# the additions unchanged. With it they trained 152 layers and won ImageNet 2015.
#
# **What you will build**
#
# - the `BasicBlock` (two 3x3 convolutions) and the `Bottleneck` (1x1 reduce, 3x3, 1x1 expand),
#   from `nn.Conv2d` and `nn.BatchNorm2d`, equal to torchvision's blocks with the same weights,
#   forward and backward;
# - ResNet-18 to ResNet-152 from a list of blocks per stage, with parameter counts equal to
#   torchvision's and the paper's Table 1, and ResNet-18's outputs equal to torchvision's;
# - the degradation experiment on real CIFAR-10 images: plain and residual networks of two
#   depths (20 and 56 layers in full mode), training curves and gradient norms layer by layer.
#
# **Prerequisites**: [09 · Convolutions] (what `nn.Conv2d` computes; stride and padding),
# [07 · Regularization and normalization](../part2_training/07_regularization.ipynb) (batch norm),
# [08 · Schedules and stability](../part2_training/08_schedules.ipynb) (one-cycle, exploding gradients).
#
# **Run time**: CPU (2 cores): fast mode 41 s measured on a machine shared with a load of 11 (12 s of
# CPU time); full mode (`DLCOURSE_FAST=0`) trains four nets on 10,000 images for 12 epochs: 29.6
# minutes of wall time on one CPU thread while another notebook ran on the second core (29 of them
# training); GPU: not measured yet.

# %% [markdown]
# ## Setup

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torch.utils.data import DataLoader

import dlcourse
from dlcourse.data import cifar10
from dlcourse.exercises.chapters import ch12_resnet as exercises
from dlcourse.models import resnet as ref                 # the course's reference implementation
from dlcourse.profiling import count_params

device = dlcourse.setup(seed=0)

# %% [markdown]
# The budget. `FAST` is set by CI (`DLCOURSE_FAST=1`): the same real images, fewer of them,
# shallower nets and fewer epochs. Full mode uses the paper's depths 20 and 56.

# %% tags=["parameters"]
FAST = dlcourse.fast_mode()
DEPTHS = (8, 14) if FAST else (20, 56)      # 6n + 2 layers: the shallow and the deep net of the experiment
TRAIN_LIMIT = 512 if FAST else 10_000       # CIFAR-10 training images
TEST_LIMIT = 256 if FAST else 2_000         # CIFAR-10 test images
EPOCHS = 1 if FAST else 12
BATCH_SIZE = 128

# %% [markdown]
# ## 1. The residual block
#
# A `BasicBlock` maps $x$ with $C_{in}$ channels to $\operatorname{relu}(F(x) + s(x))$, where
#
# $$ F(x) = \mathrm{BN}_2(\mathrm{conv}_2(\mathrm{relu}(\mathrm{BN}_1(\mathrm{conv}_1\, x)))) $$
#
# with two 3x3 convolutions of `planes` channels (the first one strided when the block halves
# the image), and $s$ the *shortcut*: the identity when $F(x)$ has the shape of $x$, otherwise a
# 1x1 convolution with the same stride followed by batch norm, a *projection* (the paper's
# option B). The convolutions have no bias: the batch norm after each has its own shift.
#
# We use torchvision's attribute names (`conv1`, `bn1`, ..., `downsample`), so a state dict
# copies from one to the other key for key: that is how we compare.

# %%
class BasicBlock(nn.Module):
    expansion = 1                                       # output channels = planes * expansion

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample                    # None: the identity shortcut

    def forward(self, x):                               # (N, C_in, H, W) -> (N, planes, H/s, W/s)
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))                 # F(x)
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(out + shortcut)                   # relu(F(x) + x)


def projection(inplanes, out_planes, stride):
    """Option B: a 1x1 convolution (strided) and batch norm bring x to F(x)'s shape."""
    return nn.Sequential(nn.Conv2d(inplanes, out_planes, 1, stride=stride, bias=False), nn.BatchNorm2d(out_planes))


# %% [markdown]
# The check: the same weights in ours, in `dlcourse`'s reference and in torchvision's block; the
# same input; outputs and input gradients compared in training mode (batch statistics), for a
# block that keeps the shape and one that halves the image and doubles the channels.

# %%
def same_weights(*modules):
    """Copy the first module's state dict into the others (strict: every key must match), after
    giving its BatchNorms non-trivial weights and statistics: fresh ones are all 1 and 0, and a
    block that swapped bn1 and bn2 would pass."""
    dlcourse.checks.randomise_batchnorm(modules[0])
    for m in modules[1:]:
        m.load_state_dict(modules[0].state_dict(), strict=True)
    return modules


x = torch.randn(2, 16, 8, 8)
for inplanes, planes, stride in ((16, 16, 1), (16, 32, 2)):
    down = projection(inplanes, planes, stride) if stride != 1 or inplanes != planes else None
    torch.manual_seed(1)
    ours = BasicBlock(inplanes, planes, stride, down)
    theirs = torchvision.models.resnet.BasicBlock(inplanes, planes, stride, projection(inplanes, planes, stride)
                                                  if down is not None else None)
    reference = ref.BasicBlock(inplanes, planes, stride, projection(inplanes, planes, stride)
                               if down is not None else None)
    same_weights(ours, theirs, reference)
    dlcourse.check_like_torch(f"BasicBlock({inplanes}, {planes}, stride={stride}) vs torchvision", ours, theirs, x)
    dlcourse.check_like_torch(f"BasicBlock({inplanes}, {planes}, stride={stride}) vs dlcourse", ours, reference, x)

# %% [markdown]
# ## 2. The bottleneck block
#
# Deeper nets (50 layers and more) use a cheaper block: a 1x1 convolution *reduces* the channels
# to `planes`, the 3x3 convolution works there, and a second 1x1 convolution *expands* them to
# `4 * planes`. For 256 channels in and out, two 3x3 convolutions cost $2 \cdot 9 \cdot 256^2
# \approx 1.18$M weights; the bottleneck with `planes = 64` costs $256 \cdot 64 + 9 \cdot 64^2 + 64
# \cdot 256 \approx 0.07$M, so 3 layers cost less than the BasicBlock's 2. The stride sits on the
# 3x3 convolution, as in torchvision ("ResNet v1.5"; the paper strided the first 1x1, which
# simply skips three quarters of the pixels).

# %%
class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)                          # reduce
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)  # the spatial work
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)                        # expand
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = downsample

    def forward(self, x):                               # (N, C_in, H, W) -> (N, 4 planes, H/s, W/s)
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(out + shortcut)


x = torch.randn(2, 64, 8, 8)
for inplanes, planes, stride in ((64, 16, 1), (64, 32, 2)):
    torch.manual_seed(2)
    ours = Bottleneck(inplanes, planes, stride, projection(inplanes, planes * 4, stride)
                      if stride != 1 or inplanes != planes * 4 else None)
    theirs = torchvision.models.resnet.Bottleneck(inplanes, planes, stride, projection(inplanes, planes * 4, stride)
                                                  if ours.downsample is not None else None)
    same_weights(ours, theirs)
    dlcourse.check_like_torch(f"Bottleneck({inplanes}, {planes}, stride={stride}) vs torchvision", ours, theirs, x)

# %% [markdown]
# ## 3. The whole network: ResNet-18 to ResNet-152
#
# A ResNet is a *stem* (a 7x7 convolution with stride 2 and a 3x3 max-pool with stride 2:
# 224x224 becomes 56x56), four *stages* of blocks at widths 64, 128, 256, 512, global average
# pooling and one linear layer. Each stage after the first halves the image in its first block.
# The variants differ only by the block and the number of blocks per stage (Table 1). The name
# counts the layers with weights: ResNet-18 is 1 stem convolution + 8 blocks × 2 convolutions + 1
# linear layer (the projections are not counted); ResNet-50 is 1 + 16 × 3 + 1.
#
# Where does a stage need a projection shortcut? Exactly where its first block changes the shape:
# a stride, or a channel count that differs from what comes in. In ResNet-50 that includes the
# first stage (64 channels in, 256 out) even though it keeps the image size.

# %%
class ResNet(nn.Module):
    def __init__(self, block, layers, num_classes=1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self.make_stage(block, 64, layers[0], stride=1)
        self.layer2 = self.make_stage(block, 128, layers[1], stride=2)
        self.layer3 = self.make_stage(block, 256, layers[2], stride=2)
        self.layer4 = self.make_stage(block, 512, layers[3], stride=2)
        self.fc = nn.Linear(512 * block.expansion, num_classes)

    def make_stage(self, block, planes, blocks, stride):
        out = planes * block.expansion
        down = projection(self.inplanes, out, stride) if stride != 1 or self.inplanes != out else None
        stage = [block(self.inplanes, planes, stride, down)]
        self.inplanes = out
        stage += [block(out, planes) for _ in range(blocks - 1)]
        return nn.Sequential(*stage)

    def forward(self, x):                               # (N, 3, H, W) -> (N, num_classes)
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))               # (N, 64, H/4, W/4)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))       # (N, 512 e, H/32, W/32)
        return self.fc(x.mean(dim=(2, 3)))                              # global average pool, then (N, classes)


TABLE_1 = {"resnet18": (BasicBlock, [2, 2, 2, 2]), "resnet34": (BasicBlock, [3, 4, 6, 3]),
           "resnet50": (Bottleneck, [3, 4, 6, 3]), "resnet101": (Bottleneck, [3, 4, 23, 3]),
           "resnet152": (Bottleneck, [3, 8, 36, 3])}

# %% [markdown]
# Parameter counts, built on PyTorch's `meta` device (shapes without memory: ResNet-152's 60M
# weights would take seconds to initialise), ours against `dlcourse` and torchvision:

# %%
print(f"{'model':10s} {'ours':>12s} {'dlcourse':>12s} {'torchvision':>12s}")
for name, (block, layers) in TABLE_1.items():
    with torch.device("meta"):
        counts = [count_params(ResNet(block, layers)), count_params(getattr(ref, name)()),
                  count_params(getattr(torchvision.models, name)(weights=None))]
    assert counts[0] == counts[1] == counts[2], f"{name}: {counts}"
    print(f"{name:10s} " + " ".join(f"{c:12,d}" for c in counts))

# %% [markdown]
# Equal counts could still hide a wrong wiring. So we load torchvision's ResNet-18 weights into
# ours (every key must match) and compare outputs and the input's gradient on a 64x64 image:

# %%
torch.manual_seed(3)
theirs18 = torchvision.models.resnet18(weights=None)
ours18 = ResNet(BasicBlock, [2, 2, 2, 2])
same_weights(theirs18, ours18)
dlcourse.check_like_torch("ResNet-18 vs torchvision (train mode)", ours18, theirs18, torch.randn(2, 3, 64, 64))

# %% [markdown]
# ## 4. The CIFAR-10 networks of the paper, and their plain twins
#
# For 32x32 images the paper (section 4.2) uses a 3x3 stem without pooling and three stages of
# $n$ BasicBlocks at widths 16, 32, 64: $6n + 2$ layers. Its shortcut where the width doubles is
# *option A*: subsample $x$ and pad the new channels with zeros, no parameters. The *plain*
# twin is the same net with every shortcut removed. In `dlcourse` both are options of the same
# `ResNet` class (`ref.resnet_cifar(depth, plain=...)`), and the parameter counts are the
# paper's: 0.27M for ResNet-20 and 0.85M for ResNet-56.

# %%
for depth in (20, 56):
    print(f"ResNet-{depth}: {count_params(ref.resnet_cifar(depth)):,} parameters; plain-{depth}: "
          f"{count_params(ref.resnet_cifar(depth, plain=True)):,}")

# %% [markdown]
# ## 5. The degradation problem on CIFAR-10
#
# Four nets, trained the same way from the same seed on the same images: plain and residual, at
# depths `DEPTHS`. SGD with momentum 0.9, weight decay 1e-4 and batch 128 as in the paper, with
# a one-cycle learning rate peaking at 0.1 instead of its 64,000 steps. No augmentation: the
# question is how well each net *fits* its training set.

# %%
train_set, test_set = cifar10("train", limit=TRAIN_LIMIT), cifar10("test", limit=TEST_LIMIT)
print(f"{len(train_set)} training and {len(test_set)} test images of {train_set.tensors[0].shape[1:]}")


def train_net(depth, plain):
    torch.manual_seed(0)
    model = ref.resnet_cifar(depth, plain=plain)
    loader = DataLoader(train_set, BATCH_SIZE, shuffle=True, generator=torch.Generator().manual_seed(0))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=EPOCHS * len(loader))
    history = dlcourse.fit(model, loader, optimizer, epochs=EPOCHS, scheduler=scheduler, scheduler_interval="step",
                           val_loader=DataLoader(test_set, 500), device=device, log_every=5,
                           title=f"{'plain' if plain else 'ResNet'}-{depth}", live_plot=False, progress=not FAST)
    return model, history


runs = {}
for depth in DEPTHS:
    for plain in (True, False):
        name = f"{'plain' if plain else 'ResNet'}-{depth}"
        runs[name] = train_net(depth, plain)
        h = runs[name][1]
        print(f"{name:10s} train loss {h.last('train_loss'):.3f}  train accuracy {h.last('train_accuracy'):.3f}  "
              f"test accuracy {h.last('val_accuracy'):.3f}  ({sum(h['time']):.0f} s)")

# %% [markdown]
# The training loss, logged every 5 batches, of the four nets. The paper's Fig. 6 (left: plain,
# middle: residual) is what to look for in full mode: the 56-layer plain net's training error
# stays *above* the 20-layer plain net's, while the 56-layer residual net ends below the 20-layer
# one. Our full-mode run (12 epochs on 10,000 images, one CPU thread) showed exactly that, on the
# *training* set: plain-20 reached 78.1% training accuracy, plain-56 only 33.8% (training loss
# 0.64 against 1.80); ResNet-20 95.2%, ResNet-56 98.6% (loss 0.21 against 0.07). On 2,000 test
# images: 61.7%, 33.0%, 64.4%, 63.3% (10,000 unaugmented images are too few for the deeper
# residual net to generalise better; the paper's nets saw 50,000 augmented ones for 64,000 steps).
# In fast mode the nets are shallow and train for one epoch: the curves only show that the
# pipeline runs.

# %%
fig, ax = plt.subplots(figsize=(7, 4))
for name, (_, h) in runs.items():
    ax.plot(h.steps["step"], h.steps["train_loss"], ("--" if name.startswith("plain") else "-"), label=name)
ax.set(xlabel="optimizer step", ylabel="training loss", title="Plain (dashed) vs residual (solid)")
ax.legend()
plt.show()

# %% [markdown]
# ## 6. Looking inside: gradient norms layer by layer
#
# Why does the plain net train worse? Look at the gradient each convolution receives from one
# batch at initialisation. In the residual net the identity paths carry the loss's gradient
# to every block directly, $\partial (F(x) + x) / \partial x = \partial F / \partial x + I$; in
# the plain net it has to pass through every layer above, and its size drifts with depth.

# %%
def conv_grad_norms(model, images, labels):
    model.train()
    model.zero_grad()
    F.cross_entropy(model(images), labels).backward()
    return [m.weight.grad.norm().item() for m in model.modules() if isinstance(m, nn.Conv2d)]


images, labels = train_set.tensors[0][:BATCH_SIZE], train_set.tensors[1][:BATCH_SIZE]
deep = DEPTHS[-1]
fig, ax = plt.subplots(figsize=(7, 4))
for plain in (True, False):
    torch.manual_seed(0)
    norms = conv_grad_norms(ref.resnet_cifar(deep, plain=plain), images, labels)
    ax.semilogy(range(1, len(norms) + 1), norms, ("--" if plain else "-"),
                label=f"{'plain' if plain else 'ResNet'}-{deep}")
ax.set(xlabel="convolution (input side → output side)", ylabel="‖∂loss/∂W‖ (log scale)",
       title="Gradient norm per layer at initialisation")
ax.legend()
plt.show()

# %% [markdown]
# ## 7. Exercises
#
# Each exercise cell holds a placeholder. Replace it, run the cell, then run the check cell under
# it: it says whether your answer is right and, if not, what to change. The checks live in
# `dlcourse.exercises.chapters.ch12_resnet`; worked solutions are in `solutions/chapters/12_resnet.py`.
#
# ### Exercise 1: a block's parameters, by hand
#
# Write `block_params(kind, inplanes, planes, stride)` returning the number of parameters of a
# `"basic"` or `"bottleneck"` block, with the projection shortcut (1x1 convolution + batch norm)
# exactly where section 1 says it is needed. Count with formulas, not by building the block.

# %%
def block_params(kind, inplanes, planes, stride):
    """Parameters of a BasicBlock ("basic") or Bottleneck ("bottleneck"), shortcut included."""
    return None     # YOUR CODE HERE


# %%
exercises.check_block_params(block_params)

# %% [markdown]
# ### Exercise 2: the option-A shortcut
#
# Write `pad_shortcut(x, planes, stride)`: the parameter-free shortcut of the CIFAR ResNets. It
# keeps every `stride`-th row and column of `x` $(N, C, H, W)$ and appends `planes - C` channels
# of zeros. It must equal `dlcourse.models.resnet.PadShortcut`.

# %%
def pad_shortcut(x, planes, stride):
    """x subsampled by stride and zero-padded to planes channels."""
    return None     # YOUR CODE HERE


# %%
exercises.check_pad_shortcut(pad_shortcut)

# %% [markdown]
# The graded assignment `release/a04_resnet_cifar10` builds a ResNet and trains it on CIFAR-10.
# The benchmark `benchmarks/recipes/resnet_cifar.py` trains a residual net of the same family on all
# 50,000 images: airbench94's whitened stem and recipe with identity shortcuts like these blocks'
# (`dlcourse.models.resnet_whitened`; its accuracy and time are in `benchmarks/RESULTS.md`).
#
# ## 8. Summary
#
# - A residual block outputs $\operatorname{relu}(F(x) + x)$; where $F$ changes the shape, a
#   1x1 projection (option B) or zero padding (option A) brings $x$ to it.
# - The BasicBlock (two 3x3 convolutions) builds ResNet-18/34; the Bottleneck (1x1, 3x3, 1x1 with
#   4x expansion) makes 50, 101 and 152 layers affordable. Ours equal torchvision's blocks in
#   value and gradient, and the five networks have torchvision's parameter counts.
# - ResNets differ only in the block and the blocks per stage; the CIFAR nets of the paper are
#   the same classes with a 3x3 stem, three stages of widths 16-32-64 and 0.27M (ResNet-20) or
#   0.85M (ResNet-56) parameters.
# - Degradation: a deeper plain net fits its training set worse than a shallower one; the same
#   depth with shortcuts does not. The identity paths give every layer a direct gradient.
#
# ## References
#
# - K. He, X. Zhang, S. Ren and J. Sun (2016). *Deep residual learning for image recognition.* CVPR
#   (Table 1: the ImageNet nets; section 4.2: the CIFAR-10 nets; Fig. 1 and 6: degradation).
# - K. He, X. Zhang, S. Ren and J. Sun (2016). *Identity mappings in deep residual networks.* ECCV.
# - S. Ioffe and C. Szegedy (2015). *Batch normalization.* ICML.
# - P. Goyal et al. (2017). *Accurate, large minibatch SGD: training ImageNet in 1 hour.*
#   arXiv:1706.02677 (zero-initialised last batch norm of each block).
# - A. Krizhevsky (2009). *Learning multiple layers of features from tiny images.* Technical report (CIFAR-10).
