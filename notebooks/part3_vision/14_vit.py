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
# # 14 · The Vision Transformer
#
# Chapters 09 to 13 built vision out of convolutions: small filters slid over the image, so every
# layer assumes that nearby pixels belong together and that a pattern means the same wherever it
# appears. Dosovitskiy et al. (2021) asked what happens without those assumptions. Cut the image
# into 16x16 patches, treat each patch as a word, and run the unchanged Transformer encoder of
# chapter 20 over the sequence: "an image is worth 16x16 words". Trained on 300 million images, it
# beat the best ResNets; trained on ImageNet alone, it did not. Both halves of that sentence are this
# chapter.
#
# **What you will build**
#
# - patches from a view and a permute, and the patch embedding both as a linear map of flattened
#   patches and as a convolution with kernel = stride = p, shown equal;
# - the class token and learned position embeddings;
# - the pre-LN encoder block from the course's `MultiheadAttention`, equal to torchvision's
#   `EncoderBlock` and to chapter 20's `TransformerEncoderLayer(norm_first=True)`;
# - the whole ViT, equal to `torchvision.models.VisionTransformer` weight for weight, with
#   ViT-B/16, B/32 and L/16's parameter counts;
# - a small ViT trained on real CIFAR-10, its attention drawn over the image with attention rollout,
#   its patch filters and position embeddings; and the data-efficiency experiment: a ViT against a
#   ResNet with as many weights, on growing training sets.
#
# **Prerequisites**: [20 · The Transformer](../part4_sequences/20_transformer.ipynb) (encoder layers,
# pre-LN, learned positions), [19 · Attention](../part4_sequences/19_attention.ipynb) (multi-head
# attention), [12 · ResNet](12_resnet.ipynb) (the CIFAR ResNets we compare with).
#
# **Run time**: CPU (2 cores): fast mode 12 s of cells measured on the shared 2-core machine while
# another job trained on one core (a few seconds more to start the kernel); full mode (`DLCOURSE_FAST=0`:
# a 0.46M-weight ViT on 20,000 images for 10 epochs, then six runs of 600 steps for the data-efficiency
# plot) 41 minutes of wall time on one thread, measured 2026-12-06 with the machine's load at 3-5;
# GPU: not measured yet.

# %% [markdown]
# ## Setup

# %%
from collections import OrderedDict

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import dlcourse
from dlcourse.data import CIFAR10_MEAN, CIFAR10_STD, cifar10
from dlcourse.exercises.chapters import ch14_vit as exercises
from dlcourse.models import MultiheadAttention, TransformerEncoderLayer, resnet_cifar
from dlcourse.models import vit as ref                    # the course's reference implementation
from dlcourse.profiling import count_params

device = dlcourse.setup(seed=0)

# %% [markdown]
# The budget. `FAST` is set by CI (`DLCOURSE_FAST=1`): the same real images, fewer of them, a
# smaller ViT, one epoch, and a data-efficiency experiment of a few steps (it only shows the pipeline
# runs). Full mode trains `ref.vit_cifar()` (6 layers of width 96) and compares it with ResNet-32.

# %% tags=["parameters"]
FAST = dlcourse.fast_mode()
VIT_ARGS = dict(num_layers=2, hidden_dim=64, num_heads=2, mlp_dim=128) if FAST else {}   # {}: vit_cifar's own
RESNET_DEPTH = 8 if FAST else 32          # as many weights as the ViT: 75,290 vs 75,082; 464,154 vs 460,906
TRAIN_LIMIT = 512 if FAST else 20_000     # CIFAR-10 training images for section 6
TEST_LIMIT = 256 if FAST else 2_000       # CIFAR-10 test images
EPOCHS = 1 if FAST else 10
SIZES = (128, 512) if FAST else (1_000, 5_000, 20_000)   # training-set sizes of section 8
STEPS = 4 if FAST else 600                # optimizer steps per run in section 8, whatever the size
BATCH_SIZE = 64

# %% [markdown]
# ## 1. An image as a sequence of patches
#
# A Transformer reads a sequence of vectors. An image $(C, H, W)$ becomes one by cutting it into
# $HW / p^2$ non-overlapping $p \times p$ patches, in *raster order* (left to right, then the next row),
# and flattening each into $C p^2$ numbers. A `view` splits each axis into (patch index, pixel in the
# patch), a `permute` brings the two patch indices to the front, and a `reshape` flattens:

# %%
def patchify(x, p):
    """(N, C, H, W) -> (N, HW/p^2, C p^2): raster order, each patch flattened channel, row, column."""
    n, c, h, w = x.shape
    x = x.view(n, c, h // p, p, w // p, p)            # (N, C, rows of patches, p, columns of patches, p)
    x = x.permute(0, 2, 4, 1, 3, 5)                    # (N, rows, columns, C, p, p)
    return x.reshape(n, (h // p) * (w // p), c * p * p)


train_set, test_set = cifar10("train", limit=TRAIN_LIMIT), cifar10("test", limit=TEST_LIMIT)
images, labels = test_set.tensors
patches = patchify(images[:1], 8)
print(f"one image {tuple(images[0].shape)} -> {patches.shape[1]} patches of {patches.shape[2]} numbers")
dlcourse.check_like_torch("patchify vs dlcourse's", lambda x: patchify(x, 4), lambda x: ref.patchify(x, 4),
                          images[:4])
dlcourse.check_like_torch("patchify vs F.unfold", lambda x: patchify(x, 4),
                          lambda x: F.unfold(x, 4, stride=4).transpose(1, 2), images[:4])


# %%
def show(img):
    """A normalised CIFAR image (3, H, W) back to displayable (H, W, 3) in [0, 1]."""
    mean, std = torch.tensor(CIFAR10_MEAN).view(3, 1, 1), torch.tensor(CIFAR10_STD).view(3, 1, 1)
    return (img * std + mean).clamp(0, 1).permute(1, 2, 0)


fig, axes = plt.subplots(1, 17, figsize=(12, 1.2), gridspec_kw=dict(width_ratios=[4] + [1] * 16))
axes[0].imshow(show(images[0])), axes[0].set_title(test_set.classes[labels[0]], fontsize=9)
for k, ax in enumerate(axes[1:]):      # the 16 patches of 8x8, in the order the Transformer reads them
    ax.imshow(show(patches[0, k].view(3, 8, 8)))
    ax.set_title(str(k), fontsize=7)
for ax in axes:
    ax.axis("off")
plt.show()

# %% [markdown]
# ## 2. The patch embedding: a linear map, or a strided convolution
#
# Each flattened patch is projected to $D$ features by one matrix $E$ $(D, C p^2)$ and a bias:
# $z_i = E\,x_i + b$. A convolution with $D$ filters of size $p \times p$ and stride $p$ computes
# exactly that: each filter sees one whole patch, once, and no patch twice. Its weight $(D, C, p, p)$,
# flattened, *is* $E$, in the order `patchify` flattens (channel, row, column). torchvision writes the
# convolution (`conv_proj`); both are the same weights:

# %%
p, D = 4, 64
conv = nn.Conv2d(3, D, kernel_size=p, stride=p)
dlcourse.check_like_torch("patchify @ E^T + b vs Conv2d(kernel = stride = 4)",
                          lambda x: patchify(x, p) @ conv.weight.flatten(1).T + conv.bias,
                          lambda x: conv(x).flatten(2).transpose(1, 2), images[:4])

# %% [markdown]
# ## 3. The class token and the position embeddings
#
# Two learned additions turn the patch embeddings into the encoder's input (the paper's eq. 1):
#
# - a **class token** $x_{\text{class}}$, one learned $D$-vector put in front of the sequence. It
#   belongs to no patch; through attention it gathers from all of them, and its final state is what the
#   classifier reads (BERT's `[CLS]`);
# - **position embeddings** $E_{pos}$ $(1 + HW/p^2, D)$, one learned row per position, added. Attention
#   is blind to order (permute the patches, and the outputs permute with them), so without them the
#   ViT would see a bag of patches. Learned, not sinusoidal: the paper found 2-D-aware variants no
#   better (its appendix D.4); section 7 shows what the learned ones learn.
#
# $$ z_0 = [x_{\text{class}};\ E x_1;\ \dots;\ E x_{HW/p^2}] + E_{pos} $$
#
# Then the encoder (section 4) runs $L$ blocks, and $y = \mathrm{head}(\mathrm{LN}(z_L^0))$.

# %%
class_token = nn.Parameter(torch.zeros(1, 1, D))
pos_embedding = nn.Parameter(torch.randn(1, 1 + (32 // p) ** 2, D) * 0.02)
x = patchify(images[:2], p) @ conv.weight.flatten(1).T + conv.bias      # (2, 64, D)
z0 = torch.cat([class_token.expand(2, -1, -1), x], dim=1) + pos_embedding
print(f"patch embeddings {tuple(x.shape)} -> encoder input {tuple(z0.shape)}: the class token is position 0")

# %% [markdown]
# ## 4. The encoder block
#
# The ViT's block is chapter 20's encoder layer with the LayerNorm *before* each sublayer (pre-LN)
# and a GELU MLP: $z' = z + \mathrm{MSA}(\mathrm{LN}(z))$, then $z' + \mathrm{MLP}(\mathrm{LN}(z'))$.
# We build it from the course's `MultiheadAttention` with torchvision's names (`ln_1`,
# `self_attention`, `mlp.0`, `mlp.3`), so its weights copy key for key:

# %%
class Block(nn.Module):
    def __init__(self, num_heads, hidden_dim, mlp_dim):
        super().__init__()
        self.ln_1 = nn.LayerNorm(hidden_dim, eps=1e-6)
        self.self_attention = MultiheadAttention(hidden_dim, num_heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(hidden_dim, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(hidden_dim, mlp_dim), nn.GELU(), nn.Dropout(0.0),
                                 nn.Linear(mlp_dim, hidden_dim), nn.Dropout(0.0))

    def forward(self, z):                               # (N, L, D) -> (N, L, D)
        h = self.ln_1(z)
        z = z + self.self_attention(h, h, h, need_weights=False)[0]
        return z + self.mlp(self.ln_2(z))


torch.manual_seed(0)
ours_block = Block(4, D, 2 * D)
theirs_block = torchvision.models.vision_transformer.EncoderBlock(4, D, 2 * D, 0.0, 0.0)
dlcourse.checks.randomise_weights(theirs_block)
ours_block.load_state_dict(theirs_block.state_dict(), strict=True)
dlcourse.check_like_torch("Block vs torchvision's EncoderBlock", ours_block, theirs_block, z0.detach())

# chapter 20's layer, pre-LN with GELU, is the same computation under other names (ref.ENCODER_LAYER_KEYS)
layer = TransformerEncoderLayer(D, 4, 2 * D, dropout=0.0, activation="gelu", layer_norm_eps=1e-6,
                                batch_first=True, norm_first=True)
dlcourse.checks.randomise_weights(layer, seed=1)
ref.ENCODER_LAYER_KEYS.load(ours_block, layer.state_dict())
dlcourse.check_like_torch("Block vs TransformerEncoderLayer(norm_first=True, gelu)", ours_block, layer, z0.detach())

# %% [markdown]
# ## 5. The whole ViT, against torchvision's
#
# Patches, embedding, class token, positions, $L$ blocks, a final LayerNorm, and a linear head on the
# class token. The attribute names follow torchvision (`conv_proj`, `class_token`,
# `encoder.pos_embedding`, `encoder.layers.encoder_layer_0`, ..., `encoder.ln`, `heads.head`).

# %%
class ViT(nn.Module):
    def __init__(self, image_size, patch_size, num_layers, num_heads, hidden_dim, mlp_dim, num_classes=1000):
        super().__init__()
        self.patch_size = patch_size
        self.conv_proj = nn.Conv2d(3, hidden_dim, patch_size, stride=patch_size)
        self.class_token = nn.Parameter(torch.zeros(1, 1, hidden_dim))
        self.encoder = nn.Module()
        self.encoder.pos_embedding = nn.Parameter(torch.randn(1, (image_size // patch_size) ** 2 + 1, hidden_dim)
                                                  * 0.02)
        self.encoder.layers = nn.Sequential(OrderedDict((f"encoder_layer_{i}", Block(num_heads, hidden_dim, mlp_dim))
                                                        for i in range(num_layers)))
        self.encoder.ln = nn.LayerNorm(hidden_dim, eps=1e-6)
        self.heads = nn.Sequential()
        self.heads.head = nn.Linear(hidden_dim, num_classes)

    def forward(self, x):                               # (N, 3, H, W) -> (N, num_classes)
        e = self.conv_proj.weight.flatten(1)
        z = patchify(x, self.patch_size) @ e.T + self.conv_proj.bias                 # (N, HW/p^2, D)
        z = torch.cat([self.class_token.expand(len(x), -1, -1), z], dim=1) + self.encoder.pos_embedding
        z = self.encoder.ln(self.encoder.layers(z))                                  # (N, 1 + HW/p^2, D)
        return self.heads.head(z[:, 0])


small = dict(image_size=32, patch_size=4, num_layers=2, num_heads=2, hidden_dim=64, mlp_dim=128, num_classes=10)
torch.manual_seed(1)
theirs = torchvision.models.VisionTransformer(**small)
dlcourse.checks.randomise_weights(theirs)       # torchvision's head and class token start at zero: they hide bugs
ours = ViT(**small)
ours.load_state_dict(theirs.state_dict(), strict=True)                 # every key, every shape, both ways
theirs.load_state_dict(ours.state_dict(), strict=True)
reference = ref.ViT(ref.ViTConfig(**small))
reference.load_state_dict(theirs.state_dict(), strict=True)
dlcourse.check_like_torch("ViT vs torchvision's VisionTransformer", ours, theirs, images[:4])
dlcourse.check_like_torch("ViT vs dlcourse's", ours, reference, images[:4])

# %% [markdown]
# Parameter counts of the paper's models (Table 1), built on the `meta` device (shapes without memory).
# Almost all of ViT-B's 86M weights are in the blocks, $12 \cdot (4D^2 + 2 D \cdot \mathrm{MLP}) \approx 85$M;
# B/32 has *more* than B/16, because its patch vectors are 4 times longer ($3 \cdot 32^2$ against
# $3 \cdot 16^2$), while its 49 positions instead of 196 save less.

# %%
print(f"{'model':9s} {'ours':>12s} {'dlcourse':>12s} {'torchvision':>12s}")
for name, args in {"vit_b_16": (16, 12, 12, 768, 3072), "vit_b_32": (32, 12, 12, 768, 3072),
                   "vit_l_16": (16, 24, 16, 1024, 4096)}.items():
    with torch.device("meta"):
        counts = [count_params(ViT(224, *args)), count_params(getattr(ref, name)()),
                  count_params(getattr(torchvision.models, name)(weights=None))]
    assert counts[0] == counts[1] == counts[2], f"{name}: {counts}"
    print(f"{name:9s} " + " ".join(f"{c:12,d}" for c in counts))

# %% [markdown]
# ## 6. Training a small ViT on CIFAR-10
#
# `ref.vit_cifar()` cuts 32x32 images into 4x4 patches (64 tokens and the class token) and runs 6
# blocks of width 96 with 3 heads: 460,906 weights. ViTs are trained with AdamW, weight decay on the
# matrices only (`ViT.param_groups`), a warm-up then a cosine decay (`OneCycleLR`), and label
# smoothing. Our full-mode run (10 epochs on 20,000 unaugmented images) ended at 78.5% training and
# 56.7% test accuracy: a large gap, the first sign of section 8. The run on all 50,000 images with
# augmentation, `benchmarks/recipes/vit_cifar.py`, reached 57.6% in 3 epochs (`benchmarks/RESULTS.md`).

# %%
def train_model(model, dataset, steps=None, epochs=1, lr=1e-3, title=None):
    torch.manual_seed(0)
    loader = DataLoader(dataset, BATCH_SIZE, shuffle=True, drop_last=len(dataset) > BATCH_SIZE,
                        generator=torch.Generator().manual_seed(0))
    if steps is not None:                               # a fixed number of steps: small sets get more epochs
        epochs = max(1, -(-steps // len(loader)))
    # ViT: decay on its matrices only; the ResNet (no param_groups): decay on everything, as usual for it
    groups = model.param_groups(0.05) if hasattr(model, "param_groups") else model.parameters()
    optimizer = torch.optim.AdamW(groups, lr=lr, weight_decay=0.05)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=epochs * len(loader),
                                                    pct_start=0.1)
    return dlcourse.fit(model, loader, optimizer, epochs=epochs, loss_fn=nn.CrossEntropyLoss(label_smoothing=0.1),
                        scheduler=scheduler, scheduler_interval="step", clip_grad=1.0,
                        val_loader=DataLoader(test_set, 256), device=device, live_plot=False,
                        progress=not FAST, title=title, log_every=5)


torch.manual_seed(0)
model = ref.vit_cifar(**VIT_ARGS)
print(f"ViT: {count_params(model):,} weights, {model.seq_length} tokens")
history = train_model(model, train_set, epochs=EPOCHS, title="ViT on CIFAR-10")
print(f"train accuracy {history.last('train_accuracy'):.3f}, test accuracy {history.last('val_accuracy'):.3f}")
history.plot()
plt.show()

# %% [markdown]
# ## 7. Looking inside
#
# **Attention rollout** (Abnar & Zuidema 2020). One layer's attention says which tokens the class
# token reads, but after layer 1 a token is no longer its patch: it has mixed in others. Rollout follows
# the mixing through every layer. Each layer's attention $A$ (averaged over heads) is mixed with the
# identity for the residual connection, $\tilde A = \frac12 A + \frac12 I$, and the layers multiply,
# $R = \tilde A_L \cdots \tilde A_1$; row 0 of $R$ over the patches says how much each patch reaches the
# class token. In our full-mode run the maps gathered on the object (the planes, the car, the deer);
# in fast mode the net has barely trained.

# %%
maps = ref.rollout_maps(model, images[:6].to(device)).cpu()          # (6, 8, 8), each summing to 1
fig, axes = plt.subplots(2, 6, figsize=(10, 3.6))
for k in range(6):
    axes[0, k].imshow(show(images[k])), axes[0, k].set_title(test_set.classes[labels[k]], fontsize=9)
    axes[1, k].imshow(show(images[k])), axes[1, k].imshow(maps[k], cmap="inferno", alpha=0.6, extent=(0, 32, 32, 0),
                                                           interpolation="bilinear")
for ax in axes.flat:
    ax.axis("off")
fig.suptitle("test images and their attention rollout (bright: reaches the class token)")
plt.show()

# %% [markdown]
# **Patch filters and position embeddings** (the paper's Fig. 7). The rows of $E$, shown as $3 \times 4
# \times 4$ images, are the patch embedding's filters. The cosine similarity of each position's
# embedding with every other's shows what the learned positions encode. After full mode's 10 epochs each
# position was most similar to its neighbours (a bright patch around its own place): a 2-D layout
# learned from a 1-D list. The paper's longer runs also show row and column stripes.

# %%
e = model.conv_proj.weight.detach().cpu()                             # (D, 3, 4, 4)
pos = F.normalize(model.encoder.pos_embedding.detach().cpu()[0, 1:], dim=-1)   # (64, D), the patches' rows
similarity = (pos @ pos.T).view(8, 8, 8, 8)                           # position (r, c) against (r', c')
fig, axes = plt.subplots(1, 2, figsize=(9, 4))
filters = torchvision.utils.make_grid(e[:32], nrow=8, normalize=True, scale_each=True, pad_value=1)
axes[0].imshow(filters.permute(1, 2, 0)), axes[0].set_title("32 patch-embedding filters")
tiles = torchvision.utils.make_grid(similarity.reshape(64, 1, 8, 8), nrow=8, normalize=True, pad_value=1)
axes[1].imshow(tiles[0], cmap="viridis"), axes[1].set_title("position (r, c): similarity to every other")
for ax in axes:
    ax.axis("off")
plt.show()

# %% [markdown]
# ## 8. Data efficiency: a ViT against a ResNet of the same size
#
# A convolution assumes locality and translation equivariance; a ViT has to learn them from data
# (only its patch cut and its MLPs are local). With little data the assumptions are worth a lot. The
# paper (section 4.2, Fig. 3-4) shows a ViT below a ResNet on ImageNet's 1.3M images and above it on
# 300M. Here the same question at CPU scale: ViT and ResNet-`RESNET_DEPTH`, with as many weights,
# trained the same number of steps on `SIZES` CIFAR-10 images, tested on the same held-out images.

# %%
results = {"ViT": [], f"ResNet-{RESNET_DEPTH}": []}
assert max(SIZES) <= TRAIN_LIMIT, "the sizes are prefixes of section 6's training images"
for size in SIZES:
    subset = TensorDataset(*(t[:size] for t in train_set.tensors))    # a random draw already: its prefix is one too
    for name, build in (("ViT", lambda: ref.vit_cifar(**VIT_ARGS)), (f"ResNet-{RESNET_DEPTH}",
                                                                      lambda: resnet_cifar(RESNET_DEPTH))):
        torch.manual_seed(0)
        net = build()
        h = train_model(net, subset, steps=STEPS, lr=1e-3 if name == "ViT" else 2e-3, title=f"{name}, {size}")
        results[name].append(h.last("val_accuracy"))
        print(f"{name:10s} {count_params(net):8,d} weights, {size:6,d} images: test accuracy {results[name][-1]:.3f}")

fig, ax = plt.subplots(figsize=(5, 3.5))
for name, accuracies in results.items():
    ax.semilogx(SIZES, accuracies, "o-", label=name)
ax.set(xlabel="training images", ylabel="test accuracy", title="Data efficiency, same weights, same steps")
ax.legend()
plt.show()

# %% [markdown]
# Our full-mode run (2026-12-06, one CPU thread, 600 steps of 64 images each, the same 2,000 test
# images): ViT 31.7%, 43.7%, 44.9% and ResNet-32 39.6%, 56.6%, 63.2% at 1,000, 5,000 and 20,000
# training images. The ResNet leads at every size, and the ViT gains little from 5,000 to 20,000
# images in the same number of steps: without the convolution's built-in locality it has more to learn
# from what it sees. The paper's ViTs overtake ResNets only past ImageNet's 1.3M images. Fast mode trains
# 4 steps: its numbers are near chance and only show the pipeline runs.
#
# ## 9. Exercises
#
# Each exercise cell holds a placeholder. Replace it, run the cell, then run the check cell under it:
# it says whether your answer is right and, if not, what to change. The checks live in
# `dlcourse.exercises.chapters.ch14_vit`; worked solutions are in `solutions/chapters/14_vit.py`.
#
# ### Exercise 1: from patches back to the image
#
# Write `unpatchify(patches, p, height, width)`, the inverse of `patchify`: $(N, HW/p^2, C p^2)$ →
# $(N, C, H, W)$ (a masked autoencoder's decoder ends this way). `unpatchify(patchify(x, p), p, H, W)`
# must give `x` back, for images that are not square too. Undo section 1's three steps in reverse.

# %%
def unpatchify(patches, p, height, width):
    """(N, HW/p^2, C p^2) -> (N, C, H, W)."""
    return None     # YOUR CODE HERE


# %%
exercises.check_unpatchify(unpatchify)

# %% [markdown]
# ### Exercise 2: a ViT's parameters, by formula
#
# Write `vit_params(image_size, patch_size, num_layers, hidden_dim, mlp_dim, num_classes)` for
# 3-channel images and torchvision's layout: patch embedding, class token, position table, the
# blocks (two LayerNorms, attention with its biases, the MLP), the final LayerNorm, the head.
# Count with formulas (ViT-B/16 must give 86,567,656), not by building the model.

# %%
def vit_params(image_size, patch_size, num_layers, hidden_dim, mlp_dim, num_classes):
    """The number of parameters of that ViT."""
    return None     # YOUR CODE HERE


# %%
exercises.check_vit_params(vit_params)

# %% [markdown]
# ### Exercise 3: attention rollout
#
# Write `rollout(attentions)`: `attentions` is a list of $(N, \text{heads}, L, L)$ maps, first layer
# first. Average the heads, mix each layer with the identity ($\frac12 A + \frac12 I$, rows
# renormalised) and multiply, later layers on the left. Return $(N, L, L)$; it must equal
# `ref.attention_rollout`.

# %%
def rollout(attentions):
    """List of (N, heads, L, L) -> (N, L, L)."""
    return None     # YOUR CODE HERE


# %%
exercises.check_rollout(rollout)

# %% [markdown]
# The graded assignment `release/a09_transformer` builds a Transformer encoder; its blocks are the
# ViT's, with a token embedding where the patch embedding is.
#
# ## 10. Summary
#
# - A ViT reads an image as a sequence: $HW/p^2$ patches, each flattened and projected by one
#   matrix, which is a convolution with kernel = stride = $p$ (the same weights, shown equal).
# - A learned class token in front gathers the image through attention; learned position
#   embeddings give the order that attention alone ignores; the classifier reads the class token.
# - The encoder is chapter 20's, pre-LN with GELU; ours equals torchvision's `VisionTransformer`
#   weight for weight and ViT-B/16's 86,567,656 parameters.
# - Attention rollout multiplies the layers' attention, each half identity for the residual, to show
#   which patches reach the class token.
# - Without the convolution's built-in locality a ViT needs more data: on small training sets a
#   ResNet of the same size wins; the paper's ViT overtakes ResNets only beyond ImageNet's size.
#
# ## References
#
# - A. Dosovitskiy et al. (2021). *An image is worth 16x16 words: Transformers for image recognition
#   at scale.* ICLR (eq. 1-4: the model; Table 1: the variants; section 4.2 and Fig. 3-4: data size;
#   Fig. 7: filters, position embeddings, attention distance).
# - S. Abnar and W. Zuidema (2020). *Quantifying attention flow in transformers.* ACL (attention rollout).
# - H. Touvron et al. (2021). *Training data-efficient image transformers & distillation through
#   attention* (DeiT). ICML (training a ViT on ImageNet alone: AdamW, warm-up, heavy augmentation).
# - A. Hassani et al. (2021). *Escaping the big data paradigm with compact transformers.*
#   arXiv:2104.05704 (small ViTs trained on CIFAR-10 from scratch).
# - R. Xiong et al. (2020). *On layer normalization in the Transformer architecture.* ICML (pre-LN).
# - A. Vaswani et al. (2017). *Attention is all you need.* NeurIPS.
