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
# # 05 · Losses
#
# Training a network means lowering one number, the loss. Which number decides what the
# network learns (a class, a probability, a value, a distance), how hard each example pulls
# on the weights, and whether the arithmetic survives a confident prediction at all. This
# chapter builds the five losses that later chapters train with, each from elementary tensor
# operations, and proves each equal to `torch.nn.functional` in value *and* gradient.
#
# **What you will build**
#
# - mean squared error, and why "mean" means every element, not every example;
# - cross-entropy from a numerically stable log-softmax, with label smoothing, after
#   watching the textbook formula turn into `nan` at large logits;
# - binary cross-entropy *with logits*, stable at any logit, after the naive version fails;
# - the Huber loss, which treats outliers gently, and the triplet margin loss, which
#   learns distances between embeddings;
# - pictures of each loss and its gradient against the margin or the residual;
# - a logistic regression on real MNIST digits trained with four different losses: same
#   model, same data, different results.
#
# **Prerequisites**: [03 · MLP and activations](../part1_foundations/03_mlp_activations.ipynb)
# (stable sigmoid, softmax and log-softmax), [04 · Backprop by hand](../part1_foundations/04_backprop.ipynb)
# (the cross-entropy gradient $(P - Y)/N$).
#
# **Run time**: CPU (2 cores): about 50 s full mode, 9 s fast mode; GPU: not measured yet.

# %% [markdown]
# ## Setup

# %%
import math

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, random_split

import dlcourse
from dlcourse import losses as ref                   # the course's reference implementations
from dlcourse.activations import log_softmax, sigmoid, softmax
from dlcourse.exercises.chapters import ch05_losses as exercises

device = dlcourse.setup(seed=0)

# %% [markdown]
# If the line above reports mixed precision (bfloat16 on some CPUs and GPUs), that is what
# `dlcourse.fit` *could* use. This chapter compares losses down to rounding error, so
# everything here runs in float32: the checks use float32 tensors, and the training runs
# pass `amp=False` to `fit`.

# %% [markdown]
# The budget. `FAST` is set by CI (`DLCOURSE_FAST=1`): the same real data, fewer images and epochs.

# %% tags=["parameters"]
FAST = dlcourse.fast_mode()
TRAIN_LIMIT = 3000 if FAST else None     # MNIST training images (None: all 60,000)
TEST_LIMIT = 1000 if FAST else None      # MNIST test images (None: all 10,000)
EPOCHS = 2 if FAST else 8                # passes over the training images, per loss
BATCH_SIZE = 128

# %% [markdown]
# ## 1. What a loss is
#
# A loss compares a prediction with a target and returns a number per example (per
# element, for a regression of several values); the *reduction* turns those into the one
# number we minimise: their mean (the default everywhere in PyTorch), their sum, or
# nothing (`reduction="none"`, to inspect or weight them). Every loss below is checked the
# way chapter 03 checked the activations: `dlcourse.check_like_torch(name, ours, theirs,
# *inputs)` runs the same inputs through both, compares the values, backpropagates the same
# random upstream gradient through both, and compares every input's gradient, one line
# per comparison.
#
# ## 2. Mean squared error
#
# For predictions $\hat y$ and targets $y$ with $M$ entries in all,
#
# $$ \operatorname{MSE} = \frac1M \sum_{k=1}^{M} (\hat y_k - y_k)^2, \qquad
#    \frac{\partial\,\operatorname{MSE}}{\partial \hat y_k} = \frac{2}{M}(\hat y_k - y_k). $$
#
# It is the negative log-likelihood of a Gaussian with fixed variance, up to constants,
# which is why it is the default for regression.

# %%
def mse(pred, target):
    diff = pred - target
    return (diff * diff).mean()


torch.manual_seed(0)
pred, target = torch.randn(16, 3), torch.randn(16, 3)
dlcourse.check_like_torch("mse", mse, F.mse_loss, pred, target)

# %% [markdown]
# **"Mean" means every element.** With a batch of $N$ examples of $D$ values each, $M = ND$.
# A common hand-written version sums each example's errors and averages over the batch:
# the same minimiser, but a loss and gradients $D$ times larger, so a learning rate tuned
# for one is wrong for the other. The check catches it at once:

# %%
def mse_per_example(pred, target):
    return ((pred - target) ** 2).sum(dim=1).mean()


try:
    dlcourse.check_like_torch("mse summed per example", mse_per_example, F.mse_loss, pred, target)
except dlcourse.CheckError as err:
    print("caught:", err)
print(f"ratio of the two: {mse_per_example(pred, target) / mse(pred, target):.1f} (D = {pred.shape[1]})")

# %% [markdown]
# ## 3. Cross-entropy, from a stable log-softmax
#
# A classifier outputs $C$ logits $\mathbf{z}$; softmax turns them into probabilities
# $p_c = e^{z_c} / \sum_j e^{z_j}$, and the cross-entropy of the true class $y$ is
# $-\log p_y$. Written exactly like that it breaks on a confident network. A logit of
# $1000$ makes $e^{1000}$ overflow to `inf`, and `inf / inf` is `nan`:

# %%
def naive_cross_entropy(logits, y):
    p = torch.exp(logits) / torch.exp(logits).sum(dim=1, keepdim=True)
    return -torch.log(p[torch.arange(len(y)), y]).mean()


ordinary = torch.tensor([[2.0, 0.5, -1.0]])
confident = torch.tensor([[1000.0, 0.0, -1000.0]])
for logits in (ordinary, confident):
    z = logits.clone().requires_grad_(True)
    loss = naive_cross_entropy(z, torch.tensor([1]))
    loss.backward()
    print(f"logits {logits.tolist()[0]}: naive loss {loss.item():.4f}, gradient {z.grad.tolist()[0]}, "
          f"F.cross_entropy {F.cross_entropy(logits, torch.tensor([1])).item():.4f}")

# %% [markdown]
# PyTorch answers $1000$ for the confident row (the true class's logit is $1000$ below the
# top one), while the naive formula gives `inf`, and a gradient of `nan`. Even after shifting the logits by their
# maximum, $\log p_y$ would still fail: $p_y = e^{-1000}$ underflows to $0$ and $\log 0 =
# -\infty$. The fix is to never form $p_y$: work in the log domain (chapter 03's
# log-sum-exp trick), with $m = \max_j z_j$,
#
# $$ \log p_c = (z_c - m) - \log \sum_j e^{z_j - m}, \qquad
#    \ell = -\log p_y . $$
#
# Every exponent is $\le 0$ and the sum is $\ge 1$, so nothing overflows and the log never
# sees $0$. Its gradient is the one chapter 04 derived: $\partial \ell / \partial
# \mathbf{z} = \mathbf{p} - \mathbf{e}_y$.
#
# **Label smoothing** (Szegedy et al. 2016) replaces the one-hot target by a mixture with
# the uniform distribution: the true class gets $1 - \varepsilon + \varepsilon/C$ and every
# other class $\varepsilon / C$. The loss becomes
#
# $$ \ell_\varepsilon = -\sum_c q_c \log p_c = (1 - \varepsilon)(-\log p_y) +
#    \varepsilon \cdot \frac1C \sum_c (-\log p_c), \qquad
#    \frac{\partial \ell_\varepsilon}{\partial \mathbf{z}} = \mathbf{p} - \mathbf{q}. $$
#
# With a one-hot target the loss keeps falling as the logit gap grows, forever; with
# smoothing it has a minimum at a finite gap, so the network stops pushing its logits
# apart (section 8 draws it).

# %%
def cross_entropy(logits, y, label_smoothing=0.0):
    """Mean of -sum_c q_c log softmax(logits)_c over the batch; logits (N, C), y (N,)."""
    logp = log_softmax(logits, dim=1)                       # chapter 03: shifted by the max
    nll = -logp[torch.arange(len(y)), y]                    # -log p_y, one per example
    smooth = -logp.mean(dim=1)                              # (1/C) sum_c -log p_c
    return ((1 - label_smoothing) * nll + label_smoothing * smooth).mean()


logits = torch.randn(32, 10) * 3
logits[:4] *= 1000                                          # four rows far beyond exp's range
y = torch.randint(0, 10, (32,))
for eps in (0.0, 0.1):
    dlcourse.check_like_torch(f"cross_entropy(label_smoothing={eps})",
                              lambda logits, y: cross_entropy(logits, y, eps),
                              lambda logits, y: F.cross_entropy(logits, y, label_smoothing=eps), logits, y)

# %% [markdown]
# The labels `y` are integers, so only the logits get a gradient. The gradient formula
# $\mathbf{p} - \mathbf{q}$ is worth checking by hand too: `check_like_torch`'s `backward=`
# takes a hand-written backward pass (the upstream gradient $g$ is a scalar here, since the
# loss is). Exercise 3 asks you to write this one yourself; here it is, for the plain loss:

# %%
def cross_entropy_grad(logits, y):
    """d(mean cross-entropy)/d logits = (softmax(logits) - onehot(y)) / N."""
    return (softmax(logits, dim=1) - F.one_hot(y, logits.shape[1]).to(logits.dtype)) / len(y)


dlcourse.check_like_torch("cross-entropy gradient", None, lambda logits, y: F.cross_entropy(logits, y), logits, y,
                          backward=lambda g, z, y: g * cross_entropy_grad(z, y))

# %% [markdown]
# ## 4. Binary cross-entropy, with logits
#
# For a yes/no target $y \in [0, 1]$ and one logit $x$ per output, with $p = \sigma(x)$:
#
# $$ \ell = -\bigl[y \log p + (1 - y) \log(1 - p)\bigr], \qquad \frac{\partial \ell}{\partial x} = p - y . $$
#
# Several outputs each get their own (multi-label classification, a GAN's discriminator,
# a detector's objectness). The textbook form fails at both ends: at $x = 100$,
# $\sigma(x)$ rounds to exactly $1$ in float32, so $\log(1 - p) = -\infty$; the gradient
# becomes `nan`.

# %%
def naive_bce(x, y):
    p = 1 / (1 + torch.exp(-x))
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()


x_big = torch.tensor([-100.0, 0.0, 100.0], requires_grad=True)
y_big = torch.tensor([1.0, 1.0, 0.0])
loss = naive_bce(x_big, y_big)
loss.backward()
print(f"naive BCE: {loss.item()}, gradient {x_big.grad.tolist()}")
print(f"F.binary_cross_entropy_with_logits: {F.binary_cross_entropy_with_logits(x_big.detach(), y_big).item():.4f}")

# %% [markdown]
# The stable form never computes $p$. Since $\log \sigma(x) = -\log(1 + e^{-x})$ and
# $\log(1 - \sigma(x)) = -x - \log(1 + e^{-x})$,
#
# $$ \ell = (1 - y)\,x + \log(1 + e^{-x}), \qquad
#    \log(1 + e^{-x}) = \max(-x, 0) + \log\bigl(1 + e^{-|x|}\bigr). $$
#
# The right-hand form (chapter 03's softplus exercise) feeds `exp` only $-|x| \le 0$, and
# `log1p` keeps the digits when $e^{-|x|}$ is tiny. One trap remains, at exactly $x = 0$:
# PyTorch's derivative of `abs` there is $0$ and that of `clamp(min=0)` is $1$, which
# together give a gradient $1 - y$ instead of $\tfrac12 - y$. Writing both pieces with the
# same `where` on $x \ge 0$ keeps their derivatives consistent. This is why
# `F.binary_cross_entropy_with_logits` takes logits: `F.binary_cross_entropy` takes
# probabilities and cannot recover what rounding lost.

# %%
def bce_with_logits(x, y):
    pos = x >= 0
    neg_abs = torch.where(pos, -x, x)                            # -|x|, derivative -sign(x) with sign(0) = 1
    softplus_neg = torch.where(pos, 0.0, -x) + torch.log1p(torch.exp(neg_abs))   # log(1 + e^-x)
    return ((1 - y) * x + softplus_neg).mean()


x = torch.cat([torch.randn(60) * 4, torch.tensor([0.0, -30.0, 30.0, -100.0, 100.0, -1000.0, 1000.0])])
t = torch.rand(len(x))                                            # soft targets in [0, 1] work too
dlcourse.check_like_torch("bce_with_logits", bce_with_logits, F.binary_cross_entropy_with_logits, x, t)

# %% [markdown]
# (The targets get a gradient as well, $-x$ per element: it is what a distillation or a
# GAN that learns its targets would use.)
#
# ## 5. Huber loss: robust regression
#
# MSE's gradient $2d$ grows with the residual $d = \hat y - y$, so one wild outlier can
# dominate a batch. The absolute error has a constant pull but a kink at $0$. Huber (1964)
# joins them: quadratic up to $\delta$, linear beyond, with matching value and slope at
# $|d| = \delta$:
#
# $$ \operatorname{Huber}_\delta(d) = \begin{cases} \tfrac12 d^2 & |d| < \delta \\
#    \delta\,\bigl(|d| - \tfrac12\delta\bigr) & |d| \ge \delta \end{cases}, \qquad
#    \frac{\partial}{\partial d} = \operatorname{clamp}(d, -\delta, \delta). $$

# %%
def huber(pred, target, delta=1.0):
    d = pred - target
    return torch.where(d.abs() < delta, 0.5 * d * d, delta * (d.abs() - 0.5 * delta)).mean()


pred = torch.randn(40) * 3
target = torch.randn(40)
for delta in (1.0, 0.5):
    dlcourse.check_like_torch(f"huber(delta={delta})", lambda p, t: huber(p, t, delta),
                              lambda p, t: F.huber_loss(p, t, delta=delta), pred, target)

# %% [markdown]
# (`F.smooth_l1_loss` with parameter $\beta$ is the same curve divided by $\beta$: Fast
# R-CNN's box regression loss, chapter 15.)
#
# ## 6. Triplet margin loss: learning distances
#
# Some networks output an *embedding* rather than a class: a face, a signature, a sentence
# as a vector, compared by distance. The triplet loss (Weinberger & Saul 2009; FaceNet,
# Schroff et al. 2015) takes an anchor $a$, a positive $p$ (same identity) and a negative
# $n$ (different), and asks the negative to be farther than the positive by a margin $\alpha$:
#
# $$ \ell = \max\bigl(0,\ d(a, p) - d(a, n) + \alpha\bigr), \qquad d(u, v) = \lVert u - v + \epsilon \rVert_2 . $$
#
# The small $\epsilon$ ($10^{-6}$ in PyTorch) is not decoration: the gradient of
# $\lVert u - v\rVert$ is $(u - v)/\lVert u - v \rVert$, which is $0/0$ when $u = v$, as
# happens when a batch pairs an example with itself. Triplets that already satisfy the
# margin give $0$ loss and no gradient; training spends its effort on the others.

# %%
def pairwise_distance(u, v, eps=1e-6):
    diff = u - v + eps
    return (diff * diff).sum(dim=-1).sqrt()


def triplet_margin(anchor, positive, negative, margin=1.0):
    return (pairwise_distance(anchor, positive) - pairwise_distance(anchor, negative) + margin).clamp_min(0).mean()


anchor, positive, negative = torch.randn(3, 12, 8).unbind(0)
positive[0] = anchor[0]                                     # a pair at distance 0: the eps matters
dlcourse.check_like_torch("triplet_margin", triplet_margin, F.triplet_margin_loss, anchor, positive, negative)

# %% [markdown]
# ## 7. Against the course's reference
#
# `dlcourse.losses` holds the reference versions that later chapters import, with the
# same arguments as their `F.*` twins (reductions, `pos_weight`, probability targets,
# extra dimensions, `p`-norms and `swap` for the triplet loss). Ours must agree with them:

# %%
dlcourse.check_close("mse vs dlcourse.losses", mse(pred, target), ref.mse_loss(pred, target))
for eps in (0.0, 0.1):
    dlcourse.check_close(f"cross_entropy(label_smoothing={eps}) vs dlcourse.losses",
                         cross_entropy(logits, y, eps), ref.cross_entropy(logits, y, label_smoothing=eps))
dlcourse.check_close("bce_with_logits vs dlcourse.losses", bce_with_logits(x, t),
                     ref.binary_cross_entropy_with_logits(x, t))
dlcourse.check_close("huber vs dlcourse.losses", huber(pred, target), ref.huber_loss(pred, target))
dlcourse.check_close("triplet_margin vs dlcourse.losses", triplet_margin(anchor, positive, negative),
                     ref.triplet_margin_loss(anchor, positive, negative))

# %% [markdown]
# ## 8. Look inside: each loss against its margin
#
# For a binary classifier with label $s \in \{-1, +1\}$, the *margin* $m = s\,x$ is
# positive when the logit points the right way. Plotted against it, the losses differ in
# what they do with examples that are already right ($m > 0$) and with the badly wrong
# ones ($m \ll 0$). Squared error on the probability, $(\sigma(x) - y)^2$, is bounded: its
# gradient *vanishes* for a confidently wrong example, which is why a sigmoid output is
# trained with cross-entropy. For regression, plotted against the residual, the Huber loss
# caps the pull of an outlier at $\delta$ while MSE's grows without bound.

# %%
m = torch.linspace(-6, 6, 601, requires_grad=True)
ones = torch.ones_like(m)
curves = {
    "BCE with logits": ref.binary_cross_entropy_with_logits(m, ones, reduction="none"),
    "squared error on σ(m)": (sigmoid(m) - 1) ** 2,
    "0-1 loss": (m.detach() <= 0).float(),
}
d = torch.linspace(-4, 4, 401, requires_grad=True)
regression = {"MSE": ref.mse_loss(d, torch.zeros_like(d), reduction="none"),
              "Huber, δ = 1": ref.huber_loss(d, torch.zeros_like(d), reduction="none"),
              "absolute error": d.abs()}
fig, axes = plt.subplots(2, 2, figsize=(11, 6.5))
for name, value in curves.items():
    axes[0, 0].plot(m.detach(), value.detach(), label=name)
    if value.requires_grad:
        axes[1, 0].plot(m.detach(), torch.autograd.grad(value.sum(), m)[0], label=name)
for name, value in regression.items():
    axes[0, 1].plot(d.detach(), value.detach(), label=name)
    axes[1, 1].plot(d.detach(), torch.autograd.grad(value.sum(), d)[0], label=name)
axes[0, 0].set(title="binary classification, label +1", xlabel="margin m = s·x", ylabel="loss", ylim=(-0.1, 4))
axes[1, 0].set(title="its gradient", xlabel="margin m = s·x", ylabel="∂loss/∂m")
axes[0, 1].set(title="regression", xlabel="residual d = ŷ − y", ylabel="loss", ylim=(-0.1, 6))
axes[1, 1].set(title="its gradient", xlabel="residual d = ŷ − y", ylabel="∂loss/∂d")
for ax in axes.flat:
    ax.axhline(0, color="gray", lw=0.5)
    ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# Two more curves. Left: cross-entropy of the true class against the gap $g$ between its
# logit and the $C - 1 = 9$ others (all equal). Without smoothing the loss keeps
# falling as the gap grows, so training keeps inflating the logits; with $\varepsilon =
# 0.1$ it has a minimum at $g^* = \log\frac{(1 - \varepsilon)C + \varepsilon}{\varepsilon}$,
# about $4.5$ here. Right: the triplet loss against $d(a, n) - d(a, p)$: zero, and no
# gradient, once the negative is a margin farther than the positive.

# %%
C = 10
gap = torch.linspace(-2, 12, 281)
gap_logits = torch.zeros(len(gap), C)
gap_logits[:, 0] = gap
labels0 = torch.zeros(len(gap), dtype=torch.long)
fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
for eps in (0.0, 0.1, 0.3):
    axes[0].plot(gap, ref.cross_entropy(gap_logits, labels0, reduction="none", label_smoothing=eps),
                 label=f"ε = {eps}")
g_star = math.log(((1 - 0.1) * C + 0.1) / 0.1)
axes[0].axvline(g_star, color="gray", ls=":", label=f"minimum for ε = 0.1: {g_star:.2f}")
axes[0].set(title="cross-entropy vs logit gap, C = 10", xlabel="logit gap g", ylabel="loss", ylim=(0, 3))
axes[0].legend(fontsize=8)
separation = torch.linspace(-3, 3, 301)
for margin in (0.5, 1.0, 2.0):
    axes[1].plot(separation, (margin - separation).clamp_min(0), label=f"margin {margin}")
axes[1].set(title="triplet loss", xlabel="d(a, n) − d(a, p)", ylabel="loss")
axes[1].legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 9. Same model, four losses: MNIST
#
# A logistic regression (one `nn.Linear(784, 10)`, no hidden layer) on MNIST, trained four
# times from the same initial weights on the same batches, with plain SGD. Only the loss
# changes:
#
# - **cross-entropy**, the standard;
# - **cross-entropy with label smoothing** $\varepsilon = 0.1$;
# - **one-vs-rest BCE**: ten independent yes/no questions, one per digit, on the logits;
# - **squared error on the softmax probabilities** against the one-hot target, the way
#   1980s networks were often trained.
#
# `dlcourse.fit` takes the loss as `loss_fn(outputs, labels)`, so each is a line. The
# losses' values live on different scales, so compare accuracy, not loss.

# %%
train_full = dlcourse.data.mnist("train", flatten=True, limit=TRAIN_LIMIT)
n_val = len(train_full) // 10
train_set, val_set = random_split(train_full, [len(train_full) - n_val, n_val],
                                  generator=torch.Generator().manual_seed(0))
test_set = dlcourse.data.mnist("test", flatten=True, limit=TEST_LIMIT)
val_loader = DataLoader(val_set, batch_size=1024)
test_loader = DataLoader(test_set, batch_size=1024)
print(f"train {len(train_set)}, validation {len(val_set)}, test {len(test_set)}")


def one_hot(labels):
    return F.one_hot(labels, 10).float()


LOSSES = {
    "cross-entropy": lambda out, y: ref.cross_entropy(out, y),
    "label smoothing 0.1": lambda out, y: ref.cross_entropy(out, y, label_smoothing=0.1),
    "one-vs-rest BCE": lambda out, y: ref.binary_cross_entropy_with_logits(out, one_hot(y)),
    "squared error on softmax": lambda out, y: ref.mse_loss(softmax(out, dim=1), one_hot(y)),
}
runs = {}
for name, loss_fn in LOSSES.items():
    torch.manual_seed(0)
    model = nn.Linear(784, 10)
    train_loader = DataLoader(train_set, batch_size=BATCH_SIZE, shuffle=True,
                              generator=torch.Generator().manual_seed(0))
    history = dlcourse.fit(model, train_loader, torch.optim.SGD(model.parameters(), lr=0.1), epochs=EPOCHS,
                           loss_fn=loss_fn, val_loader=val_loader, amp=False, progress=False, live_plot=False)
    test = dlcourse.evaluate(model, test_loader, loss_fn=loss_fn, amp=False)
    runs[name] = (model, history, test["accuracy"])
    print(f"{name:26s} val accuracy per epoch {[round(a, 3) for a in history['val_accuracy']]}, "
          f"test accuracy {test['accuracy']:.1%}")

# %% [markdown]
# The loss changes the *speed* more than the destination. In fast mode (2,700 images, 2
# epochs) squared error on the softmax trails far behind: its gradient is the probability
# error multiplied by the softmax's own derivative, which is small wherever the softmax is
# confident, right *or wrong* (the bounded curve of section 8), and at the start it is
# confidently wrong about many images (Golik, Doetsch & Ney 2013 compare the two losses in
# depth). In full mode (54,000 images, 8 epochs) it catches
# up; we measured test accuracies of 92.2% (cross-entropy), 91.6% (squared error on the
# softmax), 91.1% (one-vs-rest BCE) and 90.6% (label smoothing), about what a linear model
# can do on raw MNIST pixels (LeCun et al. 1998 report 12% error for theirs). Label
# smoothing costs a little here: a linear model cannot overfit MNIST, and smoothing is a
# regulariser for large networks that can.
#
# **Look inside: confidence.** What label smoothing changes is not so much *which* digit
# is predicted as *how sure* the model is. The histograms show the largest softmax
# probability on each test image:

# %%
fig, ax = plt.subplots(figsize=(7, 3.2))
x_test = torch.stack([test_set[i][0] for i in range(len(test_set))])
for name in ("cross-entropy", "label smoothing 0.1"):
    with torch.no_grad():
        confidence = softmax(runs[name][0].cpu()(x_test), dim=1).amax(dim=1)
    ax.hist(confidence, bins=40, range=(0, 1), alpha=0.6, label=f"{name}: mean {confidence.mean():.2f}")
ax.set(xlabel="largest softmax probability", ylabel="test images", title="how confident is the model?")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# With smoothing the model's probabilities stay away from $1$ (the target it aims at is
# $0.91$): it is less over-confident, one reason Müller, Kornblith & Hinton (2019) find it
# improves calibration, and one reason a teacher network trained with it is a worse
# teacher for distillation (chapter 28).
#
# ## 10. Exercises
#
# Each exercise cell holds a placeholder. Replace it, run the cell, then run the check cell
# under it: it says whether your answer is right and, if not, what to change. The checks
# live in `dlcourse.exercises.chapters.ch05_losses`; worked solutions are in
# `solutions/chapters/05_losses.py` (try first!).
#
# ### Exercise 1: focal loss
#
# Object detectors see thousands of easy background boxes for every object. The focal loss
# (Lin et al. 2017, RetinaNet) multiplies each element's BCE by $(1 - p_t)^\gamma$, where
# $p_t = p$ if the target is $1$ and $1 - p$ if it is $0$: confident, correct examples fade
# out. An extra weight $\alpha_t$ ($\alpha$ for positives, $1 - \alpha$ for negatives;
# no weight when $\alpha < 0$) balances the classes:
#
# $$ \operatorname{FL} = \alpha_t\,(1 - p_t)^\gamma \cdot \operatorname{BCE}(x, y). $$
#
# Write `sigmoid_focal_loss(logits, targets, alpha=0.25, gamma=2.0)` returning the loss
# per element (no reduction); it must equal `torchvision.ops.sigmoid_focal_loss`, at
# logits of $\pm 200$ too. Use `ref.binary_cross_entropy_with_logits(..., reduction="none")`
# for the BCE.

# %%
def sigmoid_focal_loss(logits, targets, alpha=0.25, gamma=2.0):
    """Per-element focal loss of logits against 0/1 targets."""
    return None     # YOUR CODE HERE


# %%
exercises.check_focal_loss(sigmoid_focal_loss)

# %% [markdown]
# ### Exercise 2: KL divergence
#
# The Kullback–Leibler divergence of a predicted distribution $q$ from a target $p$,
# $\operatorname{KL}(p \,\|\, q) = \sum_c p_c(\log p_c - \log q_c)$, is the cross-entropy
# minus the target's own entropy: it is $0$ exactly when $q = p$. Distillation (chapter
# 28) and the VAE (chapter 24) minimise it. Write `kl_divergence(log_q, p)` for a batch
# `(N, C)` of log-probabilities and of probabilities, averaged over the batch: it must equal
# `F.kl_div(log_q, p, reduction="batchmean")`. A target row may contain zeros
# ($0 \log 0 = 0$).

# %%
def kl_divergence(log_q, p):
    """Mean over the batch of sum_c p_c (log p_c - log_q_c)."""
    return None     # YOUR CODE HERE


# %%
exercises.check_kl_divergence(kl_divergence)

# %% [markdown]
# ### Exercise 3: the cross-entropy gradient with label smoothing, by hand
#
# Write `cross_entropy_backward(logits, y, label_smoothing)`: the gradient of the *mean*
# cross-entropy with label smoothing with respect to the logits, $(P - Q)/N$, without
# autograd. Build $Q$ from section 3's description of the smoothed target.

# %%
def cross_entropy_backward(logits, y, label_smoothing=0.0):
    """d/dlogits of the mean label-smoothed cross-entropy, for logits (N, C) and labels y (N,)."""
    return None     # YOUR CODE HERE


# %%
exercises.check_cross_entropy_backward(cross_entropy_backward)

# %% [markdown]
# ## 11. Summary
#
# - A loss reduces per-element values to one number; "mean" averages over every element
#   (MSE of an $(N, D)$ batch divides by $ND$), and a per-example sum changes the gradient's
#   scale by $D$.
# - Cross-entropy is computed from log-softmax, never as $\log(\operatorname{softmax})$:
#   the max shift removes overflow, the log domain removes $\log 0$. Its gradient is
#   $\mathbf{p} - \mathbf{q}$; label smoothing puts $\varepsilon/C$ on every class, gives
#   the loss a finite optimum and makes the model less over-confident.
# - Binary cross-entropy takes logits: $(1 - y)x + \max(-x, 0) + \log(1 + e^{-|x|})$ is
#   exact at any $x$, where $\log\sigma(x)$ is not. Its gradient is $\sigma(x) - y$.
# - Huber is MSE near zero and linear beyond $\delta$: outliers pull with at most
#   $\delta$. The triplet loss asks a negative to be a margin farther than a positive, and
#   needs an $\epsilon$ to keep its gradient finite at distance $0$.
# - On MNIST, the same linear model learns fastest with cross-entropy, and slowest with
#   squared error on the softmax, whose gradient vanishes on confident mistakes; given
#   enough epochs all four end within two points of each other.
#
# ## References
#
# - P. J. Huber (1964). *Robust estimation of a location parameter.* Annals of
#   Mathematical Statistics 35(1), 73–101.
# - S. Kullback and R. A. Leibler (1951). *On information and sufficiency.* Annals of
#   Mathematical Statistics 22(1), 79–86.
# - J. S. Bridle (1990). *Probabilistic interpretation of feedforward classification
#   network outputs, with relationships to statistical pattern recognition.*
#   Neurocomputing, Springer (softmax and cross-entropy).
# - Y. LeCun, L. Bottou, Y. Bengio and P. Haffner (1998). *Gradient-based learning applied
#   to document recognition.* Proceedings of the IEEE 86(11) (MNIST and its linear baselines).
# - K. Q. Weinberger and L. K. Saul (2009). *Distance metric learning for large margin
#   nearest neighbor classification.* JMLR 10, 207–244.
# - P. Golik, P. Doetsch and H. Ney (2013). *Cross-entropy vs. squared error training: a
#   theoretical and experimental comparison.* Interspeech.
# - F. Schroff, D. Kalenichenko and J. Philbin (2015). *FaceNet: a unified embedding for
#   face recognition and clustering.* CVPR (the triplet loss).
# - V. Balntas, E. Riba, D. Ponsa and K. Mikolajczyk (2016). *Learning local feature
#   descriptors with triplets and shallow convolutional neural networks.* BMVC (`swap`).
# - C. Szegedy, V. Vanhoucke, S. Ioffe, J. Shlens and Z. Wojna (2016). *Rethinking the
#   Inception architecture for computer vision.* CVPR (label smoothing).
# - T.-Y. Lin, P. Goyal, R. Girshick, K. He and P. Dollár (2017). *Focal loss for dense
#   object detection.* ICCV.
# - R. Müller, S. Kornblith and G. E. Hinton (2019). *When does label smoothing help?*
#   NeurIPS.
