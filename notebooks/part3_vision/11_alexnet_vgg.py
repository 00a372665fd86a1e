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
# # 11 · AlexNet and VGG
#
# LeNet-5 read digits. Fourteen years later, in 2012, **AlexNet** (Krizhevsky, Sutskever and
# Hinton) won the ImageNet challenge (1.2 million photographs, 1000 classes) with a top-5 error
# of 15.3%, against 26.2% for the runner-up, and started the deep-learning era. Its plan is
# LeNet's, larger: five convolutional layers and three fully connected ones, 61 million weights.
# What made it work was a handful of innovations, measured below. Two years later **VGG**
# (Simonyan and Zisserman) showed that depth alone, built from one repeated 3x3 block, went
# further still; its networks are written as a list of numbers.
#
# **What you will build**
#
# - AlexNet, layer by layer, shapes printed at 224x224; its weights loaded from torchvision's
#   model into `dlcourse.models.alexnet` and the outputs proved equal; the 1000-class
#   parameter count, 61,100,840, and the paper's two-GPU version with grouped convolutions
#   (60,965,224);
# - AlexNet's innovations, each measured: ReLU against tanh (the paper's Fig. 1, on real
#   CIFAR-10 images), dropout, data augmentation, and the two-GPU split;
# - VGG from a config list: `make_layers` from scratch, VGG-11/13/16/19 parameter counts equal
#   to torchvision's, our VGG-11 equal to torchvision's given the same weights; why stacks of
#   3x3 convolutions;
# - a small VGG with batch norm trained on CIFAR-10 with `dlcourse.fit`.
#
# **Prerequisites**: [10 · LeNet-5](10_lenet5.ipynb) (convolution, pooling, feature maps);
# [07 · Regularization](../part2_training/07_regularization.ipynb) (dropout, batch norm,
# augmentation).
#
# **Run time**: CPU (2 cores, shared with other jobs): fast mode 19 s, full mode 233 s (4 minutes;
# 57 s and 21 minutes when other jobs loaded the machine heavily); GPU: not measured yet.

# %% [markdown]
# ## Setup

# %%
import matplotlib.pyplot as plt
import torch
import torchvision
from torch import nn
from torch.utils.data import DataLoader
from torchvision.transforms import v2

import dlcourse
from dlcourse.exercises.chapters import ch11_alexnet_vgg as exercises
from dlcourse.models import vgg
from dlcourse.models.alexnet import alexnet
from dlcourse.models.vgg import cfgs
from dlcourse.plot import show_images
from dlcourse.profiling import count_params

device = dlcourse.setup(seed=0)

# %% [markdown]
# The budget. `FAST` is set by CI (`DLCOURSE_FAST=1`): the same real CIFAR-10 images, fewer
# of them and fewer epochs.

# %% tags=["parameters"]
FAST = dlcourse.fast_mode()
RELU_TRAIN_LIMIT = 1000 if FAST else 4000   # CIFAR-10 images for the ReLU-vs-tanh race
RELU_EPOCHS = 1 if FAST else 6
VGG_TRAIN_LIMIT = 1000 if FAST else 10000   # CIFAR-10 images for the small VGG
VGG_EPOCHS = 1 if FAST else 8
TEST_LIMIT = 500 if FAST else 10000         # CIFAR-10 test images
BATCH_SIZE = 128

# %% [markdown]
# ## 1. AlexNet, layer by layer
#
# The paper's network (Fig. 2) ran on two GTX 580 GPUs of 3 GB each, half its kernels on
# each. torchvision, and `dlcourse`, build the single-tower version Krizhevsky published in
# 2014 ("One weird trick"): 64, 192, 384, 256 and 256 kernels, without the paper's local
# response normalization (which later work found to add little). Five convolutions, three of
# them followed by an *overlapping* 3x3 max-pool of stride 2, then three fully connected
# layers with dropout:

# %%
features = nn.Sequential(
    nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
    nn.MaxPool2d(kernel_size=3, stride=2),
    nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),
    nn.MaxPool2d(kernel_size=3, stride=2),
    nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
    nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
    nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
    nn.MaxPool2d(kernel_size=3, stride=2),
)
classifier = nn.Sequential(
    nn.Dropout(0.5), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
    nn.Dropout(0.5), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
    nn.Linear(4096, 1000),
)
x = torch.randn(1, 3, 224, 224)
for i, layer in enumerate(features):
    x = layer(x)
    if not isinstance(layer, nn.ReLU):
        print(f"features.{i:<2d} {type(layer).__name__:10s} -> {tuple(x.shape)}, {count_params(layer):>9,} parameters")
print(f"classifier: 9216 -> 4096 -> 4096 -> 1000, {count_params(classifier):,} parameters")
print(f"total {count_params(features) + count_params(classifier):,}; the convolutions hold {count_params(features) / 1e6:.1f} M")

# %% [markdown]
# The image shrinks 224 → 55 → 27 → 13 → 6 while the channels grow 3 → 256; 96% of the
# weights sit in the fully connected layers, and 92% of the multiply-adds in the convolutions
# (655 million of 714 million per image).
#
# **Check.** Our layers, under torchvision's names (`features`, `avgpool`, `classifier`), take
# the state dict of torchvision's AlexNet by key; so does `dlcourse.models.alexnet`. Random
# weights (no download), the same outputs in evaluation mode (dropout off):

# %%
class MyAlexNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features, self.avgpool, self.classifier = features, nn.AdaptiveAvgPool2d((6, 6)), classifier

    def forward(self, x):                                   # (N, 3, 224, 224)
        x = self.avgpool(self.features(x))                  # (N, 256, 6, 6)
        return self.classifier(torch.flatten(x, 1))         # (N, 1000)


torch.manual_seed(0)
theirs = torchvision.models.alexnet(weights=None).eval()
mine, reference = MyAlexNet().eval(), alexnet().eval()
mine.load_state_dict(theirs.state_dict(), strict=True)
reference.load_state_dict(theirs.state_dict(), strict=True)
images = torch.randn(2, 3, 224, 224)
dlcourse.check_like_torch("our AlexNet vs torchvision", mine, theirs, images)
dlcourse.check_like_torch("dlcourse.models.alexnet vs torchvision", reference, theirs, images)
print(f"parameters: ours {count_params(mine):,}, dlcourse {count_params(reference):,}, torchvision {count_params(theirs):,}")

# %% [markdown]
# ## 2. What made AlexNet work
#
# ### ReLU instead of tanh
#
# "Deep convolutional neural networks with ReLUs train several times faster than their
# equivalents with tanh units" (section 3.1, Fig. 1: a four-layer network reached 25% training
# error on CIFAR-10 six times sooner). A tanh saturates: for large inputs its slope is nearly 0,
# so gradients shrink layer after layer; ReLU's slope is 1 wherever it is active. The same
# race, on real CIFAR-10 images: the same small VGG-style network (below) with each
# activation, the same initial weights, plain SGD with momentum as in the paper.
#
# First the network builder, from a config as VGG writes it (section 4 explains it), with the
# activation as an argument:

# %%
def make_layers(cfg, batch_norm=False, in_channels=3, activation=nn.ReLU):
    """3x3 convolutions (an int: output channels), each + BatchNorm + activation; "M": a 2x2 max-pool."""
    layers = []
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers.append(nn.Conv2d(in_channels, v, kernel_size=3, padding=1))
            layers += [nn.BatchNorm2d(v)] if batch_norm else []
            layers.append(activation())
            in_channels = v
    return nn.Sequential(*layers)


SMALL_CFG = [16, "M", 32, "M", 64, 64, "M", 128, 128, "M"]     # four pools: 32x32 -> 2x2

# %%
crop_flip = v2.Compose([v2.RandomCrop(32, padding=4), v2.RandomHorizontalFlip()])
race_set = dlcourse.data.cifar10("train", limit=RELU_TRAIN_LIMIT)
race = {}
for name, act in (("ReLU", nn.ReLU), ("tanh", nn.Tanh)):
    torch.manual_seed(0)
    model = nn.Sequential(make_layers(SMALL_CFG, activation=act), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(128, 10))
    loader = DataLoader(race_set, 64, shuffle=True, generator=torch.Generator().manual_seed(0))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    race[name] = dlcourse.fit(model, loader, optimizer, epochs=RELU_EPOCHS, device=device, progress=False,
                              live_plot=False)
    print(f"{name:5s}: training error per epoch {[round(1 - a, 3) for a in race[name]['train_accuracy']]}")

# %%
fig, ax = plt.subplots(figsize=(5.5, 3.2))
for name, h in race.items():
    ax.plot(range(1, len(h["train_accuracy"]) + 1), [1 - a for a in h["train_accuracy"]], "o-", label=name)
ax.set(xlabel="epoch", ylabel="training error", title="ReLU vs tanh, same network and start (cf. Fig. 1)")
ax.legend()
plt.show()

# %% [markdown]
# Read the result, not the legend of the paper. In full mode (4,000 images, 6 epochs, on our
# CPU) the tanh network's training error fell *faster*: 0.86, 0.74, 0.70, 0.66, 0.62, 0.59
# against ReLU's 0.90, 0.87, 0.80, 0.77, 0.72, 0.71. With PyTorch's default initialisation
# (small weights, chosen without the activation in mind) tanh works in its near-linear range
# while ReLU discards half the signal at each of the six layers, so the ReLU network starts
# slowly. With He initialisation and each activation's gain (√2 for ReLU, 5/3 for tanh), tanh
# still led in a 2,000-image, 4-epoch run (learning rate 0.01; final errors 0.68 for ReLU, 0.62
# for tanh).
# The paper's sixfold speed-up was measured on its own 4-layer network and learning rates, and
# it says so: "the magnitude of the effect varies with network architecture". ReLU's advantage
# is expected to grow with depth, where tanh's saturation shrinks the gradients layer by layer
# (chapter 03): rerun the race with a deeper config to see whether it does here.
#
# ### Dropout
#
# 96% of AlexNet's weights are in its three fully connected layers, which overfit easily on
# 1.2 million images. The paper sets each hidden unit of the first two to 0 with probability
# 0.5 while training ("dropout", section 4.2; chapter 07 builds it), which "roughly doubles
# the number of iterations required to converge" but without which the network "exhibits
# substantial overfitting". In evaluation the layers do nothing:

# %%
dropout = reference.classifier[0]
h = torch.ones(1, 8)
print("training:  ", dropout.train()(h)[0].tolist())
print("evaluation:", dropout.eval()(h)[0].tolist())

# %% [markdown]
# ### Data augmentation
#
# The paper's other cure for overfitting (section 4.1): train on random 224x224 crops of the
# 256x256 images and their mirror images (a factor of 2048 more distinct inputs), and jitter the
# colours along their principal components. On CIFAR-10 the same idea is a random crop of the
# image padded by 4 pixels and a horizontal flip: one real image, eight draws:

# %%
image, label = race_set[3]
draws = torch.stack([crop_flip(image) for _ in range(8)])
show_images(torch.cat([image[None], draws]), ncols=9, title=f"a '{dlcourse.data.CIFAR10_CLASSES[label]}' "
            "and 8 random crops + flips")
plt.show()

# %% [markdown]
# ### Two GPUs: grouped convolutions
#
# One GTX 580 had 3 GB of memory, too little for the network, so the paper split every layer's
# kernels over two GPUs, and let conv2, conv4 and conv5 read only the maps of their own GPU.
# In PyTorch this is a convolution with `groups=2`: the input channels are cut into two halves,
# each convolved with its own half of the filters, and the results concatenated. Each filter
# reads half the channels, so the layer has half the weights:

# %%
full = nn.Conv2d(96, 256, kernel_size=5, padding=2)
split = nn.Conv2d(96, 256, kernel_size=5, padding=2, groups=2)
print(f"conv2 of the paper: all-to-all {count_params(full):,} parameters, two GPUs (groups=2) {count_params(split):,}")

# %% [markdown]
# The paper's own two-tower network (96-256-384-384-256 kernels; conv3 and the fully connected
# layers talk across GPUs), counted:

# %%
paper_alexnet = nn.Sequential(
    nn.Conv2d(3, 96, 11, stride=4, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
    nn.Conv2d(96, 256, 5, padding=2, groups=2), nn.ReLU(), nn.MaxPool2d(3, 2),
    nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(),
    nn.Conv2d(384, 384, 3, padding=1, groups=2), nn.ReLU(),
    nn.Conv2d(384, 256, 3, padding=1, groups=2), nn.ReLU(), nn.MaxPool2d(3, 2), nn.Flatten(),
    nn.Linear(256 * 6 * 6, 4096), nn.ReLU(), nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, 1000),
)
print(f"the paper's AlexNet: {count_params(paper_alexnet):,} parameters ('60 million', section 1); "
      f"output {tuple(paper_alexnet(torch.randn(1, 3, 224, 224)).shape)}")

# %% [markdown]
# Today one GPU holds the whole network, and grouped convolutions live on for speed: ResNeXt
# uses 32 groups and MobileNet (chapter 13) one group per channel. Exercise 2 builds one.
#
# ## 3. VGG: depth from one repeated block
#
# VGG asks one question (section 1): what does *depth* alone buy? Every convolution is 3x3
# with padding 1 (the image size is kept), every pool is 2x2 (it halves it), the channels
# double after each pool from 64 to 512, and the network is a list: Table 1's columns A
# (VGG-11) to E (VGG-19). The same `make_layers` as above builds all of them; torchvision's
# `cfgs` and `dlcourse.models.vgg.cfgs` hold the same lists:

# %%
for key, depth in (("A", 11), ("B", 13), ("D", 16), ("E", 19)):
    convs = sum(v != "M" for v in cfgs[key])
    print(f"VGG-{depth} ({key}): {convs} convolutions + 3 fully connected: {cfgs[key]}")

# %% [markdown]
# **Why 3x3.** Two stacked 3x3 convolutions see a 5x5 patch of their input, three see 7x7
# (exercise 3 computes this for any stack). With $C$ channels in and out, three 3x3 layers
# hold $3 \cdot 9 C^2 = 27 C^2$ weights against $49 C^2$ for one 7x7 layer, and put three
# non-linearities where there was one (section 2.3).

# %%
c = 256
print(f"one 7x7 conv: {count_params(nn.Conv2d(c, c, 7, bias=False)):,} weights; "
      f"three 3x3 convs: {3 * count_params(nn.Conv2d(c, c, 3, bias=False)):,}")

# %% [markdown]
# **The counts**, ours against torchvision's (built on PyTorch's `meta` device: shapes without
# memory, so the 140-million-weight networks cost nothing to count). The paper's Table 2 gives
# 133, 133, 134 (C, with 1x1 convolutions, which torchvision does not build), 138 and 144 million.

# %%
class MyVGG(nn.Module):
    """features from make_layers, torchvision's names; the classifier of the paper (4096-4096-classes)."""

    def __init__(self, features, num_classes=1000):
        super().__init__()
        self.features, self.avgpool = features, nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(0.5),
                                        nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(0.5),
                                        nn.Linear(4096, num_classes))

    def forward(self, x):                                   # (N, 3, 224, 224)
        x = self.avgpool(self.features(x))                  # (N, 512, 7, 7)
        return self.classifier(torch.flatten(x, 1))         # (N, num_classes)


with torch.device("meta"):
    for key, name in (("A", "vgg11"), ("B", "vgg13"), ("D", "vgg16"), ("E", "vgg19")):
        for bn in (False, True):
            full_name = name + ("_bn" if bn else "")
            counts = [count_params(MyVGG(make_layers(cfgs[key], bn))), count_params(getattr(vgg, full_name)()),
                      count_params(getattr(torchvision.models, full_name)(weights=None))]
            assert len(set(counts)) == 1, f"{full_name}: {counts}"
            print(f"{full_name:9s} ours = dlcourse = torchvision = {counts[0]:,}")

# %% [markdown]
# **Check.** Our VGG-11 takes torchvision's VGG-11 weights by key and gives its outputs on a
# 224x224 image (evaluation mode):

# %%
torch.manual_seed(0)
theirs = torchvision.models.vgg11(weights=None).eval()
mine = MyVGG(make_layers(cfgs["A"])).eval()
mine.load_state_dict(theirs.state_dict(), strict=True)
with torch.no_grad():
    image = torch.randn(1, 3, 224, 224)
    dlcourse.check_close("our VGG-11 vs torchvision's vgg11", mine(image), theirs(image))
del theirs, mine        # 1 GB of weights

# %% [markdown]
# ## 4. A small VGG on CIFAR-10
#
# CIFAR-10's images are 32x32, so four pools leave 2x2 maps; `dlcourse.models.vgg.vgg_cifar`
# is the same `VGG` class with a smaller config, a 1x1 average pool and a 256-unit classifier.
# With batch norm (Ioffe and Szegedy 2015, a year after VGG: the original deeper networks were
# initialised from trained shallower ones instead), random crops and flips, dropout in the
# classifier, and a one-cycle schedule, trained with `dlcourse.fit` (bfloat16 autocast where the
# CPU has it):

# %%
train_set = dlcourse.data.cifar10_augmented("train", crop_flip, limit=VGG_TRAIN_LIMIT)
test_loader = DataLoader(dlcourse.data.cifar10("test", limit=TEST_LIMIT), 500)
torch.manual_seed(0)
small_vgg = vgg.vgg_cifar(SMALL_CFG, num_classes=10, batch_norm=True, dropout=0.3)
print(f"small VGG: {count_params(small_vgg):,} parameters")
loader = DataLoader(train_set, BATCH_SIZE, shuffle=True, generator=torch.Generator().manual_seed(0))
optimizer = torch.optim.SGD(small_vgg.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4, nesterov=True)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=VGG_EPOCHS * len(loader))
history = dlcourse.fit(small_vgg, loader, optimizer, epochs=VGG_EPOCHS, val_loader=test_loader, scheduler=scheduler,
                       scheduler_interval="step", device=device, title="small VGG on CIFAR-10")
print(f"test accuracy {history.last('val_accuracy'):.1%} after {VGG_EPOCHS} epoch(s), {sum(history['time']):.0f} s")

# %% [markdown]
# In full mode (10,000 training images, 8 epochs) we measured 62.4% test accuracy on the 10,000
# test images (29% after the first epoch, still climbing when the schedule ended), in 147 s on
# our 2-core CPU, about what the `regular_cifar` benchmark (chapters 07–08) reached with
# `SmallCNN` on the same budget (63.0%). More epochs and all 50,000 images are what it needs next.
#
# One detail mattered more than any other here: initialisation. torchvision's VGG draws its
# linear layers from N(0, 0.01), which suits 4096-wide layers; in our 256-wide head that shrinks
# the signal about 40 times per layer, the logits start near 0.0005, and the first run of this
# cell sat at chance (10%) for a whole epoch and ended at 54.1%. `vgg_cifar` therefore gives its
# head PyTorch's default initialisation, and the same run reached 62.4%.
#
# **Look inside: the first layer's filters.** Sixteen 3x3 colour filters: too small to show
# much shape, but look for the colour contrasts and light-dark edges that AlexNet's 96 11x11
# filters show at a larger scale (the paper's Fig. 3).

# %%
first = small_vgg.features[0].weight.detach().float().cpu()
show_images(first, ncols=16, size=0.7, title="small VGG, conv1 filters (3x3, RGB, each rescaled)")
plt.show()

# %% [markdown]
# ## 5. Exercises
#
# Each exercise cell holds a placeholder. Replace it, run the cell, then run the check cell
# under it. The checks live in `dlcourse.exercises.chapters.ch11_alexnet_vgg`; worked solutions are in
# `solutions/chapters/11_alexnet_vgg.py` (try first!).
#
# ### Exercise 1: count a VGG from its config
#
# Write `count_vgg_parameters(cfg, in_channels, batch_norm)`: the number of trainable
# parameters of `make_layers(cfg, batch_norm, in_channels)`, computed from the list alone
# (no modules). The check compares it with the modules' counts for VGG-11, VGG-16, VGG-19 with
# batch norm and a one-channel toy.

# %%
def count_vgg_parameters(cfg, in_channels=3, batch_norm=False):
    """Trainable parameters of the convolutional body built from cfg."""
    return None     # YOUR CODE HERE


# %%
exercises.check_count_vgg_parameters(count_vgg_parameters)

# %% [markdown]
# ### Exercise 2: AlexNet's two GPUs, by hand
#
# Write `grouped_conv(x, weight, bias, groups)` with 3x3 kernels and padding 1 out of `groups`
# ordinary convolutions (`F.conv2d` without its `groups` argument): `weight` has shape
# $(C_{out}, C_{in}/g, 3, 3)$. It must equal `F.conv2d(x, weight, bias, padding=1, groups=groups)`.

# %%
def grouped_conv(x, weight, bias, groups):
    """A grouped 3x3 convolution (padding 1) from `groups` ordinary ones."""
    return None     # YOUR CODE HERE


# %%
exercises.check_grouped_conv(grouped_conv)

# %% [markdown]
# ### Exercise 3: the receptive field of a VGG stack
#
# Write `receptive_field(cfg)`: the side of the input patch that one output unit of
# `make_layers(cfg)` depends on (3x3 convolutions with stride 1, 2x2 pools with stride 2). The
# check measures it with autograd: the input pixels whose gradient is non-zero for one
# central output unit.

# %%
def receptive_field(cfg):
    """Side of the input patch one output unit of the stack sees."""
    return None     # YOUR CODE HERE


# %%
exercises.check_receptive_field(receptive_field)

# %% [markdown]
# The graded assignments of Part 3 (`a04_resnet_cifar10`, `a05_custom_cnn`) build on these
# networks: the next chapter adds the residual connection that took depth from 19 layers to 152.
#
# ## 6. Summary
#
# - AlexNet is LeNet grown: 5 convolutions (11x11 stride 4 first) and 3 fully connected layers,
#   61.1 million weights in torchvision's single-tower form (60,965,224 in the paper's two-GPU
#   form), 96% of them in the fully connected layers.
# - Its innovations: ReLU (no saturation; several times faster than tanh in the paper's network,
#   not in our small one with its default initialisation), dropout and data
#   augmentation (against overfitting 60 million weights), overlapping pooling, and training on
#   GPUs, split over two by grouped convolutions.
# - VGG is a list: 3x3 convolutions (padding 1) and 2x2 pools, channels doubling after each
#   pool. Stacked 3x3 layers see as far as one large kernel with fewer weights and more
#   non-linearities. VGG-11/13/16/19 have 132.9/133.0/138.4/143.7 million parameters, equal to
#   torchvision's.
# - On CIFAR-10, a small VGG with batch norm and augmentation reached 62% on 10,000 images in
#   8 epochs, in under 3 minutes on a CPU; an initialisation sized for another width cost it 8 points.
#
# ## References
#
# - A. Krizhevsky, I. Sutskever and G. E. Hinton (2012). *ImageNet classification with deep
#   convolutional neural networks.* NIPS (AlexNet: Fig. 1, Fig. 2, sections 3–4).
# - A. Krizhevsky (2014). *One weird trick for parallelizing convolutional neural networks.*
#   arXiv:1404.5997 (the single-tower AlexNet of torchvision).
# - K. Simonyan and A. Zisserman (2015). *Very deep convolutional networks for large-scale
#   image recognition.* ICLR (VGG: Tables 1–2, section 2.3).
# - V. Nair and G. E. Hinton (2010). *Rectified linear units improve restricted Boltzmann
#   machines.* ICML.
# - N. Srivastava, G. Hinton, A. Krizhevsky, I. Sutskever and R. Salakhutdinov (2014).
#   *Dropout: a simple way to prevent neural networks from overfitting.* JMLR 15.
# - S. Ioffe and C. Szegedy (2015). *Batch normalization.* ICML.
# - S. Xie, R. Girshick, P. Dollár, Z. Tu and K. He (2017). *Aggregated residual transformations
#   for deep neural networks.* CVPR (ResNeXt, grouped convolutions).
# - A. Krizhevsky (2009). *Learning multiple layers of features from tiny images.* (CIFAR-10)
