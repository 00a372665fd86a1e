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
# # 07 · Regularization and normalization
#
# A network with enough weights can memorise its training set: the training accuracy
# keeps climbing while the accuracy on images it has never seen stalls, then falls. This chapter
# builds the tools that close that gap (*regularizers*) and the normalization layers that
# make deep networks train at all, each from tensor operations, each proven equal to PyTorch,
# and then uses them on real CIFAR-10 photographs: a small network that overfits, cured.
#
# **What you will build**
#
# - inverted dropout, equal to `F.dropout` mask for mask, after the version that forgets to
#   rescale fails its check;
# - weight decay and the L2 penalty: identical under SGD, different under Adam, shown
#   numerically (and why AdamW exists);
# - batch normalization with its training and evaluation modes and running statistics, equal
#   to `nn.BatchNorm2d` buffer for buffer; layer normalization equal to `nn.LayerNorm`;
# - data augmentation with torchvision's transforms v2 (flip, crop, rotation, colour jitter)
#   on real CIFAR-10 images, and mixup and CutMix from scratch, equal to torchvision's
#   `MixUp` and `CutMix` given the same random draws;
# - an experiment: a small CNN trained on 2,000 CIFAR-10 images, whose training accuracy
#   runs away from its test accuracy, then the same network with dropout and weight decay,
#   with augmentation, and with batch norm.
#
# **Prerequisites**: [05 · Losses](05_losses.ipynb) (cross-entropy, also with soft targets),
# [04 · Backprop by hand](../part1_foundations/04_backprop.ipynb) (gradients through a layer).
# Adam's update rule (chapter 06) helps for section 3; it is restated there.
#
# **Run time**: CPU (2 cores, shared with other jobs): about 8 minutes full mode (7.6 measured;
# 24 on an overloaded machine), 11 s fast mode; GPU: not measured yet.

# %% [markdown]
# ## Setup

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from torchvision.transforms import v2

import dlcourse
from dlcourse import normalization as ref_norm        # the course's reference implementations
from dlcourse import regularization as ref_reg
from dlcourse.data import CIFAR10_CLASSES
from dlcourse.exercises.chapters import ch07_regularization as exercises
from dlcourse.models import SmallCNN

device = dlcourse.setup(seed=0)

# %% [markdown]
# The checks below compare our builds with PyTorch in float32. The training runs of section 8
# let `dlcourse.fit` use mixed precision where the line above reports it (bfloat16 makes
# convolutions about 3x faster on CPUs that have it); batch norm keeps its statistics in
# float32 either way.
#
# The budget. `FAST` is set by CI (`DLCOURSE_FAST=1`): the same real data, fewer images and epochs.

# %% tags=["parameters"]
FAST = dlcourse.fast_mode()
TRAIN_LIMIT = 320 if FAST else 2000      # CIFAR-10 training images for the overfitting experiment
TEST_LIMIT = 320 if FAST else 2000       # CIFAR-10 test images it is measured on
EPOCHS = 2 if FAST else 25               # passes over the training images, per run
BATCH_SIZE = 64

# %% [markdown]
# ## 1. Overfitting, and what a regularizer is
#
# Training minimises the loss on the training images; what we want is a low error on images
# the network has not seen. When the network can fit the training set in ways that do not
# carry over (memorising each image's noise rather than what makes a cat a cat), the two
# part: the training loss keeps falling while the test loss turns back up. A *regularizer*
# is anything that makes the memorising solutions harder to reach than the general ones: a
# penalty on large weights, noise in the activations (dropout) or in the inputs
# (augmentation, mixup), or stopping before the memorising starts (early stopping). Section 8
# shows all of it on real images; first we build the pieces.
#
# ## 2. Dropout
#
# Dropout (Srivastava et al. 2014) sets each activation to zero with probability $p$ during
# training, so no unit can rely on any particular other one. Plainly written, it makes the
# activations smaller in training than in evaluation (where nothing is dropped): by a factor
# $1 - p$ on average. *Inverted* dropout divides the survivors by $1 - p$ during training,
# so the expected activation is unchanged and evaluation is simply the identity:
#
# $$ \operatorname{dropout}(x)_i = \frac{m_i\,x_i}{1 - p}, \qquad m_i \sim \operatorname{Bernoulli}(1 - p),
#    \qquad \mathbb{E}[\operatorname{dropout}(x)_i] = x_i . $$
#
# To compare with PyTorch mask for mask we draw the mask with the same call PyTorch makes
# (`bernoulli_(1 - p)` on an empty tensor) after the same seed.

# %%
def dropout_unscaled(x, p=0.5):
    keep = torch.empty_like(x).bernoulli_(1 - p)
    return x * keep                                   # forgot to divide by 1 - p


def dropout(x, p=0.5, training=True):
    if not training or p == 0:
        return x
    keep = torch.empty_like(x).bernoulli_(1 - p)      # 1 with probability 1 - p
    return x * keep / (1 - p)


def seeded(fn, seed=0):
    """fn, run right after seeding torch: ours and theirs draw the same mask."""
    def run(*args):
        torch.manual_seed(seed)
        return fn(*args)
    return run


x = torch.randn(256, 64)
dlcourse.check_like_torch("dropout(p=0.3)", seeded(lambda x: dropout(x, 0.3)), seeded(lambda x: F.dropout(x, 0.3)),
                          x, rtol=1e-6)
try:
    dlcourse.check_like_torch("dropout without rescaling", seeded(lambda x: dropout_unscaled(x, 0.3)),
                              seeded(lambda x: F.dropout(x, 0.3)), x, verbose=False)
except dlcourse.CheckError as err:
    print("caught:", err)

# %% [markdown]
# The gradient is the same mask divided by $1 - p$: a dropped unit passes no gradient back.
# Averaged over many masks, the inverted version keeps the activation where it was and the
# unscaled one shrinks it to $1 - p$ of it, which is exactly the mismatch between training and
# evaluation that the rescaling removes:

# %%
ones = torch.ones(1_000_000)
print(f"mean of dropout(1) with p = 0.3: inverted {dropout(ones, 0.3).mean():.4f}, "
      f"unscaled {dropout_unscaled(ones, 0.3).mean():.4f}, "
      f"in evaluation {dropout(ones, 0.3, training=False).mean():.1f}")
dlcourse.check_like_torch("dropout vs dlcourse.regularization", seeded(lambda x: dropout(x, 0.3)),
                          seeded(lambda x: ref_reg.dropout(x, 0.3)), x, rtol=1e-6)

# %% [markdown]
# `dlcourse.regularization.Dropout` is the module form: active after `model.train()`, the
# identity after `model.eval()`, which `dlcourse.fit` and `dlcourse.evaluate` call for you.
#
# ## 3. Weight decay and the L2 penalty
#
# Two ways to keep weights small. The **L2 penalty** adds $\frac\lambda2\lVert\theta\rVert^2$
# to the loss, so the gradient gains $\lambda\theta$. **Weight decay** shrinks the weights
# directly at each step, $\theta \leftarrow \theta - \eta\lambda\theta$, outside the
# gradient. For plain SGD they are the same update:
#
# $$ \theta \leftarrow \theta - \eta\,(g + \lambda\theta) = (1 - \eta\lambda)\,\theta - \eta g . $$
#
# Adam (Kingma & Ba 2015) divides each coordinate's step by the running root-mean-square of its
# gradients, $\theta \leftarrow \theta - \eta\,\hat m / (\sqrt{\hat v} + \epsilon)$. Put the
# L2 term into the gradient and it is divided too: a weight whose loss gradients are large
# is hardly decayed at all, a weight with small gradients is decayed hard. Loshchilov &
# Hutter (2019) pointed this out and proposed **AdamW**, which applies the decay outside
# Adam's division. `torch.optim.Adam(weight_decay=λ)` is the L2 penalty;
# `torch.optim.AdamW(weight_decay=λ)` is weight decay.
#
# First the identities: SGD with `weight_decay` equals SGD on the loss plus the penalty, and
# Adam with `weight_decay` equals Adam on the loss plus the penalty.

# %%
def train_two_weights(make_optimizer, l2=0.0, steps=300):
    """Two weights, both 1.0. Weight 0's loss gradient alternates +-10, weight 1's +-0.1: zero on
    average, so any shrinking comes from the regularizer. l2 adds the penalty's gradient l2 * w."""
    w = torch.ones(2, requires_grad=True)
    optimizer = make_optimizer([w])
    scale = torch.tensor([10.0, 0.1])
    for t in range(steps):
        optimizer.zero_grad()
        w.grad = scale * (-1.0) ** t + l2 * w.detach()
        optimizer.step()
    return w.detach()


lr, lam = 0.01, 0.1
dlcourse.check_close("SGD(weight_decay) == SGD + L2 penalty",
                     train_two_weights(lambda p: torch.optim.SGD(p, lr=lr, weight_decay=lam)),
                     train_two_weights(lambda p: torch.optim.SGD(p, lr=lr), l2=lam))
dlcourse.check_close("Adam(weight_decay) == Adam + L2 penalty",
                     train_two_weights(lambda p: torch.optim.Adam(p, lr=lr, weight_decay=lam)),
                     train_two_weights(lambda p: torch.optim.Adam(p, lr=lr), l2=lam))

# %% [markdown]
# Now the difference. After 300 steps with $\eta\lambda = 10^{-3}$, pure decay would leave
# $(1 - 10^{-3})^{300} \approx 0.74$ of each weight:

# %%
runs = {
    "SGD + L2 (= SGD weight decay)": train_two_weights(lambda p: torch.optim.SGD(p, lr=lr), l2=lam),
    "Adam + L2 (= Adam weight_decay)": train_two_weights(lambda p: torch.optim.Adam(p, lr=lr), l2=lam),
    "AdamW (decoupled weight decay)": train_two_weights(lambda p: torch.optim.AdamW(p, lr=lr, weight_decay=lam)),
    "Adam, no regularizer": train_two_weights(lambda p: torch.optim.Adam(p, lr=lr)),
}
print(f"{'':34s} {'large gradients':>16s} {'small gradients':>16s}")
for name, w in runs.items():
    print(f"{name:34s} {w[0]:16.3f} {w[1]:16.3f}")
print(f"{'pure decay (1 - lr lam)^300':34s} {(1 - lr * lam) ** 300:16.3f} {(1 - lr * lam) ** 300:16.3f}")

# %% [markdown]
# SGD's oscillating gradients cancel, and both weights end near the pure decay's $0.74$.
# Adam with the L2 penalty barely touches the weight with large gradients (its
# $\lambda\theta$ is divided by $\sqrt{v} \approx 10$) and drives the one with small
# gradients close to zero (divided by $\sqrt{v} \approx 0.1$, the penalty dominates its
# step). AdamW shrinks both by one and the same factor, whatever their gradients: Adam alone
# leaves both at about $0.98$, and AdamW's result is that times the pure decay. That is
# the point of the decoupling: with Adam, "L2" and
# "weight decay" are different regularizers, and the decoupled one is the one whose strength
# you can reason about.
#
# ## 4. Batch normalization
#
# Batch norm (Ioffe & Szegedy 2015) normalises every channel of a layer's output to zero mean
# and unit variance *over the batch* (and, for images, over every pixel), then lets the
# network choose a new scale $\gamma$ and shift $\beta$:
#
# $$ \mu_c = \frac1m\sum x_{\cdot c \cdot\cdot}, \qquad \sigma^2_c = \frac1m\sum (x_{\cdot c\cdot\cdot} - \mu_c)^2,
#    \qquad y = \gamma_c\,\frac{x - \mu_c}{\sqrt{\sigma_c^2 + \epsilon}} + \beta_c , $$
#
# with $m = N \cdot H \cdot W$ values per channel. It makes a deep network's training far less
# sensitive to initialisation and learning rate, and the batch-to-batch noise in
# $\mu, \sigma$ acts as a mild regularizer. A single test image has no batch, so during training
# the layer also keeps **running statistics**, an exponential average of the batches'
# $\mu$ and $\sigma^2$, and evaluation normalises with those. Three conventions must match
# PyTorch's exactly:
#
# - the batch is normalised with the *biased* variance (divide by $m$), but the running
#   variance is updated with the *unbiased* one (divide by $m - 1$);
# - `momentum` is the weight of the *new* batch:
#   $\text{running} \leftarrow (1 - \text{momentum})\,\text{running} + \text{momentum}\cdot\text{batch}$,
#   with `momentum=0.1`; an optimizer's momentum is the weight of the *old* value;
# - the running mean starts at 0, the running variance at 1, and `num_batches_tracked` counts
#   training batches.

# %%
class BatchNorm2d(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(num_features))        # gamma
        self.bias = nn.Parameter(torch.zeros(num_features))         # beta
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.register_buffer("num_batches_tracked", torch.tensor(0))

    def forward(self, x):                                   # (N, C, H, W) -> (N, C, H, W)
        if self.training:
            m = x.numel() // x.shape[1]                     # values per channel
            mean = x.mean(dim=(0, 2, 3))
            var = ((x - mean.view(1, -1, 1, 1)) ** 2).mean(dim=(0, 2, 3))     # biased
            with torch.no_grad():
                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)
                self.running_var.mul_(1 - self.momentum).add_(self.momentum * var * m / (m - 1))
                self.num_batches_tracked += 1
        else:
            mean, var = self.running_mean, self.running_var
        x_hat = (x - mean.view(1, -1, 1, 1)) / torch.sqrt(var.view(1, -1, 1, 1) + self.eps)
        return self.weight.view(1, -1, 1, 1) * x_hat + self.bias.view(1, -1, 1, 1)


# %% [markdown]
# The parameter and buffer names are PyTorch's, so checking against `nn.BatchNorm2d` starts
# with loading its state dict into ours, key for key. Then five training steps on batches
# whose statistics drift (each batch a little larger and shifted), comparing outputs and
# gradients each step and the running buffers after it, then evaluation mode:

# %%
torch.manual_seed(0)
theirs = nn.BatchNorm2d(8)
with torch.no_grad():
    theirs.weight.normal_(1, 0.3), theirs.bias.normal_(0, 0.3)    # not the defaults, so a mix-up shows
ours = BatchNorm2d(8)
ours.load_state_dict(theirs.state_dict())
print("state dict keys:", list(ours.state_dict()))
for step in range(5):
    batch = torch.randn(16, 8, 6, 6) * (1 + step) + step
    dlcourse.check_like_torch(f"train step {step}", ours, theirs, batch, verbose=step == 4)
    for name in ("running_mean", "running_var"):
        dlcourse.check_close(f"{name} after step {step}", getattr(ours, name), getattr(theirs, name),
                             verbose=step == 4)
ours.eval(), theirs.eval()
dlcourse.check_like_torch("eval mode (running statistics)", ours, theirs, torch.randn(4, 8, 6, 6))
print("batches tracked:", int(ours.num_batches_tracked), int(theirs.num_batches_tracked))

# %% [markdown]
# The same against the course's reference, `dlcourse.normalization.BatchNorm2d`, which also
# covers `BatchNorm1d`, `momentum=None` (a plain cumulative average), `affine=False` and
# `track_running_stats=False`, and folds the normalisation, scale and shift into one
# multiply-add per value (faster, same numbers):

# %%
reference = ref_norm.BatchNorm2d(8)
reference.load_state_dict(ours.state_dict())
reference.eval()
dlcourse.check_like_torch("ours vs dlcourse.normalization.BatchNorm2d (eval)", ours, reference,
                          torch.randn(4, 8, 6, 6))

# %% [markdown]
# **Train and eval differ.** In training, an image's output depends on the other images in
# its batch; in evaluation it does not. With a fresh layer (running statistics still 0 and 1)
# the two modes disagree completely; after many batches they agree closely, which is why a
# model must be switched with `model.eval()` before it is evaluated, and why batch norm is
# troublesome with batches of one or two.

# %%
images = torch.randn(32, 3, 8, 8) * 4 + 2                  # a batch with mean 2 and std 4
for seen in (0, 1, 10, 100):
    bn = ref_norm.BatchNorm2d(3)                            # a fresh layer: running mean 0, variance 1
    bn.train()
    for _ in range(seen):
        bn(torch.randn(32, 3, 8, 8) * 4 + 2)
    bn.eval()
    with torch.no_grad():
        eval_out = bn(images)
    bn.train()
    with torch.no_grad():
        train_out = bn(images)
    print(f"after {seen:3d} training batches: eval output mean {eval_out.mean():6.3f}, std {eval_out.std():5.3f}; "
          f"train output mean {train_out.mean():6.3f}, std {train_out.std():5.3f}")

# %% [markdown]
# ## 5. Layer normalization
#
# Layer norm (Ba, Kiros & Hinton 2016) normalises each *example* over its own features
# instead of each feature over the batch: no batch statistics, no running buffers, the same
# computation in training and evaluation, and any batch size, even one. That is why
# transformers (chapter 20) use it. Its scale and shift have the shape of the normalised
# dimensions:

# %%
def layer_norm(x, normalized_shape, weight, bias, eps=1e-5):
    dims = tuple(range(-len(normalized_shape), 0))           # the last len(normalized_shape) axes
    mean = x.mean(dim=dims, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)     # biased, as in batch norm
    return (x - mean) / torch.sqrt(var + eps) * weight + bias


tokens = torch.randn(4, 7, 16) * 3 + 1                      # (batch, positions, features)
w, b = torch.randn(16) * 0.3 + 1, torch.randn(16) * 0.3
dlcourse.check_like_torch("layer_norm over the last axis", lambda x, w, b: layer_norm(x, (16,), w, b),
                          lambda x, w, b: F.layer_norm(x, (16,), w, b), tokens, w, b)
ln_theirs = nn.LayerNorm(16)
ln_ref = ref_norm.LayerNorm(16)
ln_ref.load_state_dict(ln_theirs.state_dict())
dlcourse.check_like_torch("dlcourse.normalization.LayerNorm vs nn.LayerNorm", ln_ref, ln_theirs, tokens)

# %% [markdown]
# ## 6. Data augmentation
#
# The strongest regularizer for images is more images. Augmentation manufactures them: each
# time an image is fetched it is flipped, cropped, rotated or recoloured at random, so the
# network never sees exactly the same picture twice, and learns that a cat facing left is a
# cat. torchvision's `transforms.v2` work on uint8 image tensors `(3, H, W)` and draw new
# random parameters at every call. Here are real CIFAR-10 training images under four of
# them (a flip is done with probability 1 to show it):

# %%
pixels, labels = dlcourse.data.load_cifar10("train")
sample = torch.from_numpy(pixels[:6]).permute(0, 3, 1, 2)   # (6, 3, 32, 32) uint8
AUGMENTATIONS = {
    "original": v2.Identity(),
    "horizontal flip": v2.RandomHorizontalFlip(p=1.0),
    "crop, padding 4": v2.RandomCrop(32, padding=4),
    "rotation ±20°": v2.RandomRotation(20),
    "colour jitter": v2.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1),
}
torch.manual_seed(0)
fig, axes = plt.subplots(len(AUGMENTATIONS), len(sample), figsize=(1.5 * len(sample), 1.6 * len(AUGMENTATIONS)))
for row, (name, transform) in enumerate(AUGMENTATIONS.items()):
    for col, image in enumerate(sample):
        axes[row, col].imshow(transform(image).permute(1, 2, 0))
        axes[row, col].set_xticks([]), axes[row, col].set_yticks([])
        if row == 0:
            axes[row, col].set_title(CIFAR10_CLASSES[labels[col]], fontsize=8)
    axes[row, 0].set_ylabel(name, fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# An augmentation must keep the label true: a horizontal flip keeps a truck a truck, but a
# vertical flip of a digit 6 makes a 9. `dlcourse.data.cifar10_augmented(split, transform)`
# runs a transform on each uint8 image as the loader fetches it, then normalises it exactly
# as `dlcourse.data.cifar10` does; section 8 trains with it.
#
# ## 7. Mixup and CutMix
#
# Two augmentations that mix *pairs* of images, and their labels with them. **Mixup** (Zhang
# et al. 2018) blends two images, $\tilde x = \lambda x_i + (1 - \lambda) x_j$, and the one-hot
# labels alike, with $\lambda \sim \operatorname{Beta}(\alpha, \alpha)$. **CutMix** (Yun et al.
# 2019) pastes a rectangle of $x_j$ into $x_i$ and mixes the labels by the fraction of pixels
# each image contributes. The network is trained with cross-entropy against these soft labels
# (chapter 05's cross-entropy takes probability targets too).
#
# torchvision's `v2.MixUp` and `v2.CutMix` work on a whole batch: they pair each image with
# the one *before* it in the batch (`roll(1)`; the loader's shuffling makes the pairs
# random), draw one $\lambda$ for the batch, and for CutMix a box centre uniformly in the
# image with sides $\sqrt{1 - \lambda}$ of the image's, clipped at the border. The label
# weight is then recomputed from the clipped box's real area. Here is the same, from
# scratch, drawing its random numbers in torchvision's order:

# %%
def mixup(images, labels, num_classes, alpha=1.0):
    lam = float(torch.distributions.Beta(torch.tensor([alpha]), torch.tensor([alpha])).sample(()))
    y = F.one_hot(labels, num_classes).float()
    return lam * images + (1 - lam) * images.roll(1, 0), lam * y + (1 - lam) * y.roll(1, 0)


def cutmix(images, labels, num_classes, alpha=1.0):
    lam = float(torch.distributions.Beta(torch.tensor([alpha]), torch.tensor([alpha])).sample(()))
    height, width = images.shape[-2:]
    cx, cy = int(torch.randint(width, (1,))), int(torch.randint(height, (1,)))     # the box's centre
    half_w, half_h = int(0.5 * (1 - lam) ** 0.5 * width), int(0.5 * (1 - lam) ** 0.5 * height)
    x1, x2 = max(cx - half_w, 0), min(cx + half_w, width)
    y1, y2 = max(cy - half_h, 0), min(cy + half_h, height)
    out = images.clone()
    out[..., y1:y2, x1:x2] = images.roll(1, 0)[..., y1:y2, x1:x2]
    kept = 1 - (x2 - x1) * (y2 - y1) / (width * height)     # the share of its own pixels each image keeps
    y = F.one_hot(labels, num_classes).float()
    return out, kept * y + (1 - kept) * y.roll(1, 0)


batch_images = torch.from_numpy(pixels[:8]).permute(0, 3, 1, 2).float() / 255
batch_labels = torch.from_numpy(labels[:8])
for seed in range(3):
    dlcourse.check_like_torch(f"mixup, seed {seed}", seeded(lambda x: mixup(x, batch_labels, 10), seed),
                              seeded(lambda x: v2.MixUp(num_classes=10)(x, batch_labels), seed), batch_images,
                              atol=0, rtol=0, verbose=seed == 0)
    dlcourse.check_like_torch(f"cutmix, seed {seed}", seeded(lambda x: cutmix(x, batch_labels, 10), seed),
                              seeded(lambda x: v2.CutMix(num_classes=10)(x, batch_labels), seed), batch_images,
                              atol=0, rtol=0, verbose=seed == 0)
    dlcourse.check_like_torch(f"cutmix vs dlcourse.regularization, seed {seed}",
                              seeded(lambda x: cutmix(x, batch_labels, 10), seed),
                              seeded(lambda x: ref_reg.cutmix(x, batch_labels, 10), seed), batch_images,
                              atol=0, rtol=0, verbose=False)

# %% [markdown]
# Equal to the last bit, images and labels, with the gradient with respect to the images
# too. What a batch looks like, with the two largest label weights as titles:

# %%
torch.manual_seed(1)
mixed = {"mixup": ref_reg.mixup(batch_images, batch_labels, 10),
         "CutMix": ref_reg.cutmix(batch_images, batch_labels, 10)}
fig, axes = plt.subplots(2, 6, figsize=(10, 4))
for row, (name, (imgs, soft)) in enumerate(mixed.items()):
    for col in range(6):
        top = soft[col].topk(2)
        title = " + ".join(f"{w:.2f} {CIFAR10_CLASSES[int(c)]}" for w, c in zip(top.values, top.indices) if w > 0)
        axes[row, col].imshow(imgs[col].permute(1, 2, 0).clamp(0, 1))
        axes[row, col].set_title(title.replace(" + ", "\n+ "), fontsize=7)
        axes[row, col].set_xticks([]), axes[row, col].set_yticks([])
    axes[row, 0].set_ylabel(name)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 8. Overfitting a small real subset, then curing it
#
# A small convolutional network (`dlcourse.models.SmallCNN`: three stages of two 3x3
# convolutions and a max-pool, 16, 32 and 64 channels, global average pooling, about 70,000
# weights) trained on a few CIFAR-10 training images, measured on as many test images that
# it never trains on, four times from the same initial weights:
#
# 1. **no regularizer**: AdamW with no weight decay;
# 2. **dropout and weight decay**: dropout 0.3 before the classifier, AdamW weight decay 0.1;
# 3. **augmentation**: random crops (padding 4) and horizontal flips, drawn per image and epoch;
# 4. **all of them, with batch norm** (our `BatchNorm2d`) after every convolution.
#
# Nothing is tuned on the test images; they only measure the gap between what the network
# learned and what it memorised.

# %%
train_plain = dlcourse.data.cifar10_augmented("train", limit=TRAIN_LIMIT)
crop_flip = v2.Compose([v2.RandomCrop(32, padding=4), v2.RandomHorizontalFlip()])
train_augmented = dlcourse.data.cifar10_augmented("train", crop_flip, limit=TRAIN_LIMIT)
test_loader = DataLoader(dlcourse.data.cifar10("test", limit=TEST_LIMIT), batch_size=500)
RUNS = {   # name: (training images, dropout, weight decay, normalization layer)
    "no regularizer": (train_plain, 0.0, 0.0, None),
    "dropout + weight decay": (train_plain, 0.3, 0.1, None),
    "augmentation": (train_augmented, 0.0, 0.0, None),
    "all + batch norm": (train_augmented, 0.3, 0.1, ref_norm.BatchNorm2d),
}
histories = {}
for name, (train_set, p, decay, norm_layer) in RUNS.items():
    torch.manual_seed(0)
    model = SmallCNN((16, 32, 64), norm_layer=norm_layer, dropout=p)
    loader = DataLoader(train_set, BATCH_SIZE, shuffle=True, generator=torch.Generator().manual_seed(0))
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=decay)
    histories[name] = dlcourse.fit(model, loader, optimizer, epochs=EPOCHS, val_loader=test_loader,
                                   progress=False, live_plot=False)
    h = histories[name]
    print(f"{name:24s} train accuracy {h.last('train_accuracy'):.1%}, test accuracy {h.last('val_accuracy'):.1%} "
          f"(best {h.best('val_accuracy'):.1%}), gap {h.last('train_accuracy') - h.last('val_accuracy'):+.1%}")

# %% [markdown]
# (The training accuracy is measured on the images as the network saw them, augmented and
# with dropout active, averaged over the epoch; the test accuracy in evaluation mode.)

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True)
for name, h in histories.items():
    epochs = range(1, len(h["val_accuracy"]) + 1)
    line, = axes[0].plot(epochs, h["train_accuracy"], label=name)
    axes[1].plot(epochs, h["val_accuracy"], color=line.get_color(), label=name)
axes[0].set(title="training images", xlabel="epoch", ylabel="accuracy")
axes[1].set(title="test images (never trained on)", xlabel="epoch")
for ax in axes:
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# Read the two panels together: the gap between them is what the network learned about
# *these* 2,000 images and not about CIFAR-10. In full mode (2,000 images, 25 epochs) we
# measured, as final training / test accuracy:
#
# | run | train | test (best epoch) | gap |
# |---|---|---|---|
# | no regularizer | 54.6% | 41.7% (44.5%) | 13.0 points |
# | dropout + weight decay | 51.8% | 44.4% (44.8%) | 7.4 points |
# | augmentation | 45.2% | 39.7% (39.7%) | 5.5 points |
# | all + batch norm | 61.5% | 52.6% (52.6%) | 8.9 points |
#
# Without a regularizer the test accuracy peaked at 44.5% and had fallen to 41.7% by the last
# epoch, while the training accuracy ended 13 points above it: overfitting. Dropout and weight decay halved the gap and ended higher on the
# test images. Augmentation closed the gap the most, but within 25 epochs it also held the
# training accuracy down: a network that never sees the same image twice needs more epochs
# (its best test accuracy came in the last epoch). Batch norm on top let the network fit faster *and*
# generalise: the best test accuracy of the four. (Fast mode trains on 320 images for 2
# epochs; its numbers show that the code runs, not these effects.) Early stopping is the
# remaining cure on the list: `dlcourse.fit(...,
# early_stopping=5)` stops once the validation loss has not improved for 5 epochs and
# restores the best weights (with a validation split of the *training* images, never the
# test set, when you use it to choose).
#
# **Look inside: what batch norm learned.** Each of the network's batch-norm layers ends
# training with a running mean and variance per channel: the statistics its convolution's
# outputs had on the training images, which evaluation now uses. The last run's first layer:

# %%
first_bn = next(m for m in model.modules() if isinstance(m, ref_norm.BatchNorm2d))
fig, axes = plt.subplots(1, 3, figsize=(11, 2.8))
channels = range(first_bn.num_features)
axes[0].bar(channels, first_bn.running_mean.cpu())
axes[0].set(title="running mean per channel", xlabel="channel")
axes[1].bar(channels, first_bn.running_var.cpu())
axes[1].set(title="running variance per channel", xlabel="channel")
axes[2].bar(channels, first_bn.weight.detach().cpu())
axes[2].set(title="learned scale γ per channel", xlabel="channel")
fig.tight_layout()
plt.show()
print(f"batches seen by this layer: {int(first_bn.num_batches_tracked)}")

# %% [markdown]
# ## 9. Exercises
#
# Each exercise cell holds a placeholder. Replace it, run the cell, then run the check cell
# under it: it says whether your answer is right and, if not, what to change. The checks
# live in `dlcourse.exercises.chapters.ch07_regularization`; worked solutions are in
# `solutions/chapters/07_regularization.py` (try first!).
#
# ### Exercise 1: group normalization
#
# Group norm (Wu & He 2018) splits the $C$ channels into $G$ groups and normalises each
# example's group over its channels and pixels: no batch statistics, so it works with batches
# of one (detection and segmentation networks, chapters 15–16). $G = 1$ is layer norm over
# $(C, H, W)$; $G = C$ is instance norm. Write `group_norm(x, num_groups, weight, bias, eps)`
# for `x` of shape $(N, C, H, W)$, with a scale and shift per *channel*; it must equal
# `F.group_norm`.

# %%
def group_norm(x, num_groups, weight, bias, eps=1e-5):
    """x (N, C, H, W) normalised per example and group of C // num_groups channels."""
    return None     # YOUR CODE HERE


# %%
exercises.check_group_norm(group_norm)

# %% [markdown]
# ### Exercise 2: batch norm's backward pass, by hand
#
# Write `batch_norm_backward(dout, x, weight, eps)` returning `(dx, dweight, dbias)` for
# training-mode batch norm of `x` $(N, C, H, W)$, given the upstream gradient `dout`, without
# autograd. Mind that the batch mean and variance depend on `x` too. The check compares all
# three with autograd through `F.batch_norm`.

# %%
def batch_norm_backward(dout, x, weight, eps=1e-5):
    """(dx, dweight, dbias) of training-mode batch norm."""
    return None     # YOUR CODE HERE


# %%
exercises.check_batch_norm_backward(batch_norm_backward)

# %% [markdown]
# ### Exercise 3: mixup's loss, as two cross-entropies
#
# Cross-entropy is linear in its target distribution, so the loss against mixup's soft label
# can be written with the two hard labels instead. Write `mixup_cross_entropy(logits,
# labels, lam)`: the mean cross-entropy of a batch that `v2.MixUp` mixed with weight `lam`,
# from the *original* integer labels. It must equal `F.cross_entropy(logits, soft_labels)`
# (mind which neighbour each image was mixed with).

# %%
def mixup_cross_entropy(logits, labels, lam):
    """Cross-entropy of a mixup batch, from the original labels and lam."""
    return None     # YOUR CODE HERE


# %%
exercises.check_mixup_cross_entropy(mixup_cross_entropy)

# %% [markdown]
# The graded assignment of Part 2, `a02_optimizers`, implements SGD with momentum, Adam and
# AdamW, and its AdamW must decay the weights the decoupled way of section 3.
#
# ## 10. Summary
#
# - Inverted dropout zeroes each activation with probability $p$ and divides the rest by
#   $1 - p$, so evaluation is the identity; forgetting the division makes training and
#   evaluation see activations of different sizes.
# - An L2 penalty and weight decay are the same update for SGD. Adam divides the penalty's
#   gradient by each weight's gradient scale, so weights with large gradients escape it;
#   AdamW decays every weight by the same factor.
# - Batch norm normalises each channel over the batch with the biased variance, keeps an
#   exponential average of the batches' statistics (unbiased variance, `momentum` weighing
#   the new batch) and uses it in evaluation: call `model.eval()`. Layer norm normalises each
#   example over its features and behaves the same in training and evaluation.
# - Augmentation makes new training images from old ones while keeping the label true;
#   mixup and CutMix mix pairs of images and their labels, and torchvision pairs each image
#   with its predecessor in the batch.
# - On 2,000 CIFAR-10 images a small CNN's training accuracy ran 13 points ahead of its test
#   accuracy; dropout and weight decay halved the gap, augmentation closed it most (at the
#   price of slower fitting), and batch norm with all of them gave the best test accuracy.
#
# ## References
#
# - A. Krogh and J. A. Hertz (1992). *A simple weight decay can improve generalization.* NIPS.
# - L. Prechelt (1998). *Early stopping — but when?* In Neural Networks: Tricks of the Trade, Springer.
# - N. Srivastava, G. Hinton, A. Krizhevsky, I. Sutskever and R. Salakhutdinov (2014).
#   *Dropout: a simple way to prevent neural networks from overfitting.* JMLR 15, 1929–1958.
# - S. Ioffe and C. Szegedy (2015). *Batch normalization: accelerating deep network training
#   by reducing internal covariate shift.* ICML.
# - D. P. Kingma and J. Ba (2015). *Adam: a method for stochastic optimization.* ICLR.
# - J. L. Ba, J. R. Kiros and G. E. Hinton (2016). *Layer normalization.* arXiv:1607.06450.
# - H. Zhang, M. Cisse, Y. N. Dauphin and D. Lopez-Paz (2018). *mixup: beyond empirical risk
#   minimization.* ICLR.
# - Y. Wu and K. He (2018). *Group normalization.* ECCV.
# - I. Loshchilov and F. Hutter (2019). *Decoupled weight decay regularization.* ICLR (AdamW).
# - S. Yun, D. Han, S. J. Oh, S. Chun, J. Choe and Y. Yoo (2019). *CutMix: regularization
#   strategy to train strong classifiers with localizable features.* ICCV.
# - A. Krizhevsky (2009). *Learning multiple layers of features from tiny images.* Technical
#   report, University of Toronto (CIFAR-10).
