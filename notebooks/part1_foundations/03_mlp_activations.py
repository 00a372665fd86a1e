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
# # 03 · MLP and activations
#
# Chapter 02 ended with a wall: one perceptron draws one straight line, and XOR needs two.
# The way over the wall is to stack layers, each a linear map followed by a *non-linear*
# activation function. The result, the multilayer perceptron (MLP), is still the workhorse
# inside every transformer block, and its activation functions reappear in every later
# chapter.
#
# **What you will build**
#
# - a fully connected layer $y = f(Wx + b)$ from scratch, and a proof that without $f$ a
#   stack of layers is no better than one layer;
# - every common activation from elementary tensor operations: Sigmoid, Tanh, ReLU, Leaky
#   ReLU, PReLU, ELU, GELU (exact $x\Phi(x)$ and the tanh form) and a numerically stable
#   Softmax, each shown equal to PyTorch in values *and* gradients, and to the course's
#   reference `dlcourse.activations`;
# - plots of each activation and its derivative;
# - XOR solved by a two-hidden-unit MLP, with a look at the hidden layer that makes it work;
# - a classifier of real handwritten digits (scikit-learn's 1,797 8×8 images): test accuracy,
#   confusion matrix, the digits it gets wrong, and what its first layer looks at;
# - vanishing gradients: how the gradient shrinks, layer by layer, in a deep sigmoid network,
#   and why such a network does not learn while a ReLU network of the same depth does.
#
# **Prerequisites**: [01 · Tensors and autograd](01_tensors_autograd.ipynb) (broadcasting,
# `requires_grad`, `.backward()`), [02 · The perceptron](02_perceptron.ipynb) (linear
# separability, XOR). Derivatives of $e^x$ and of a product.
#
# **Run time**: CPU (2 cores): about 23 s full mode, 13 s fast mode; GPU: not measured yet.

# %% [markdown]
# ## Setup
#
# `dlcourse.setup` seeds every random number generator and picks the device (CUDA, then
# Apple MPS, then the CPU). Everything in this chapter is small enough for a laptop CPU.

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.ticker import MaxNLocator
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import dlcourse
from dlcourse import activations as ref          # the course's reference implementations
from dlcourse.exercises.chapters import ch03_mlp_activations as exercises
from dlcourse.models import MLP
from dlcourse.plot import plot_confusion_matrix, plot_decision_boundary, show_images

device = dlcourse.setup(seed=0)

# %% [markdown]
# The budget. `FAST` is set by CI (`DLCOURSE_FAST=1`): the same real data, fewer epochs.

# %% tags=["parameters"]
FAST = dlcourse.fast_mode()
XOR_STEPS = 200 if FAST else 1000       # full-batch gradient steps on the XOR points
EPOCHS = 5 if FAST else 30              # passes over the 1,149 training digits
DEEP_EPOCHS = 2 if FAST else 20         # the 10-layer sigmoid vs ReLU race
BATCH_SIZE = 64

# %% [markdown]
# ## 1. A layer: an affine map, then a non-linearity
#
# A fully connected layer maps an input vector $\mathbf{x} \in \mathbb{R}^{d_\text{in}}$ to
#
# $$ \mathbf{y} = f(W\mathbf{x} + \mathbf{b}), \qquad W \in \mathbb{R}^{d_\text{out} \times d_\text{in}},
#    \quad \mathbf{b} \in \mathbb{R}^{d_\text{out}}, $$
#
# where $f$, the *activation function*, acts on each coordinate separately. Each output
# $y_j = f(\mathbf{w}_j^\top \mathbf{x} + b_j)$ is one perceptron-like unit with a smooth
# (or at least continuous) $f$ in place of the hard threshold.
#
# In code we process a *batch*: $N$ examples stacked as the rows of $X \in \mathbb{R}^{N
# \times d_\text{in}}$. Transposing the formula row by row gives $Y = f(XW^\top +
# \mathbf{b})$, with $\mathbf{b}$ broadcast over the rows. PyTorch's `nn.Linear` stores $W$
# exactly like this, shaped `(out_features, in_features)`.

# %%
def linear(x, W, b):
    """An affine layer: x (N, d_in), W (d_out, d_in), b (d_out,) -> (N, d_out)."""
    return x @ W.T + b


# %% [markdown]
# Check it against `nn.Linear`, using the same weights:

# %%
torch.manual_seed(0)
layer = nn.Linear(5, 3)
x = torch.randn(4, 5)
dlcourse.check_close("linear(x, W, b) vs nn.Linear", linear(x, layer.weight, layer.bias), layer(x))

# %% [markdown]
# **Why the non-linearity?** Stack two layers *without* $f$:
#
# $$ W_2(W_1\mathbf{x} + \mathbf{b}_1) + \mathbf{b}_2 = (W_2W_1)\,\mathbf{x} + (W_2\mathbf{b}_1 + \mathbf{b}_2). $$
#
# That is again one affine map, with weight $W_2W_1$ and bias $W_2\mathbf{b}_1 + \mathbf{b}_2$.
# However many linear layers we stack, the network can only draw straight lines (planes),
# exactly like chapter 02's perceptron. Numerically:

# %%
W1, b1 = torch.randn(8, 5), torch.randn(8)
W2, b2 = torch.randn(3, 8), torch.randn(3)
two_layers = linear(linear(x, W1, b1), W2, b2)
one_layer = linear(x, W2 @ W1, W2 @ b1 + b2)
dlcourse.check_close("two linear layers vs one collapsed layer", two_layers, one_layer, atol=1e-4)

# %% [markdown]
# With a non-linear $f$ between them the collapse no longer happens. The **multilayer
# perceptron** alternates the two:
#
# $$ \mathbf{a}_0 = \mathbf{x}, \qquad \mathbf{a}_l = f(W_l\mathbf{a}_{l-1} + \mathbf{b}_l)
#    \ \ (l = 1, \dots, D-1), \qquad \text{logits} = W_D\mathbf{a}_{D-1} + \mathbf{b}_D , $$
#
# for a network of $D$ linear layers (its depth; the letter $L$ is kept for the loss). The
# last layer has no activation: its outputs, the *logits*, go into softmax and the
# cross-entropy loss (chapter 05). With one hidden layer wide enough, an MLP can approximate
# any continuous function on a bounded region (Cybenko 1989; Hornik 1991). Which $f$ we pick
# decides how easily it *learns*, and that is the subject of the next two sections.

# %% [markdown]
# ## 2. Activation functions, from scratch
#
# For each activation we write the function from elementary operations (`exp`, `where`,
# arithmetic), its derivative **by hand**, and then check three things against PyTorch:
#
# 1. the values, $f(x)$;
# 2. the gradient autograd computes *through our code* against the one it computes for
#    PyTorch's own function;
# 3. our hand-derived $f'(x)$ against the same.
#
# `dlcourse.check_like_torch(name, ours, theirs, *inputs)` does all of it, and every later
# chapter uses it the same way: it runs the same inputs through both functions, compares the
# outputs, backpropagates the same *random* upstream gradient $g$ through both (with
# $g = 1$ everywhere some wrong gradients would cancel out in a sum), and compares the
# gradients. Given `backward=`, a hand-written backward pass that maps $(g, x)$ to
# $\partial L/\partial x$, it checks that too; for an elementwise $f$ that is
# $g \odot f'(x)$. It prints one line per comparison: the largest error, and the tolerance
# that applied at that entry.
#
# The test inputs include the dangerous ones: exactly $0$ (where ReLU has a kink) and
# $\pm 30$, $\pm 100$ (where a careless `exp` overflows).

# %%
X_TEST = torch.cat([torch.linspace(-6, 6, 121),
                    torch.tensor([0.0, -1e-3, 1e-3, -30.0, 30.0, -100.0, 100.0])])


def compare(name, f, df, f_torch, x=X_TEST, atol=1e-6):
    """Check our f, and our hand-written f', against PyTorch in values and gradients."""
    dlcourse.check_like_torch(name, f, f_torch, x, backward=lambda g, x: g * df(x), atol=atol)


# %% [markdown]
# ### 2.1 Sigmoid
#
# The logistic sigmoid squashes any real number into $(0, 1)$:
#
# $$ \sigma(x) = \frac{1}{1 + e^{-x}}, \qquad
#    \sigma'(x) = \frac{e^{-x}}{(1 + e^{-x})^2} = \sigma(x)\,\bigl(1 - \sigma(x)\bigr). $$
#
# It was *the* activation of the 1980s networks (Rumelhart, Hinton & Williams 1986): smooth,
# and the output reads as a probability. Written naively it has a trap. For $x = -100$,
# $e^{100}$ overflows float32 (whose largest value is about $3.4 \times 10^{38} \approx
# e^{88.7}$) to `inf`. The value survives, since $1/(1 + \infty) = 0$, but the gradient
# does not:

# %%
def naive_sigmoid(x):
    return 1 / (1 + torch.exp(-x))


x_big = torch.tensor([-100.0, 0.0, 100.0], requires_grad=True)
naive_sigmoid(x_big).sum().backward()
print("values:   ", naive_sigmoid(x_big).detach())
print("gradients:", x_big.grad, " <- 0 * inf = nan at x = -100")

# %% [markdown]
# The fix: never call `exp` on a positive number. Both $\frac{1}{1 + e^{-x}}$ and the
# equal $\frac{e^{x}}{1 + e^{x}}$ can be computed from $e = e^{-|x|} \in (0, 1]$: use the
# first form for $x \ge 0$ and the second for $x < 0$. We write $-|x|$ with `torch.where`
# rather than `-x.abs()` because PyTorch defines the derivative of $|x|$ at $0$ as $0$,
# which would make our $\sigma'(0) = 0$ instead of $1/4$.

# %%
def sigmoid(x):
    e = torch.exp(torch.where(x >= 0, -x, x))          # e^{-|x|}: never overflows
    return torch.where(x >= 0, 1 / (1 + e), e / (1 + e))


def d_sigmoid(x):
    s = sigmoid(x)
    return s * (1 - s)


compare("sigmoid", sigmoid, d_sigmoid, torch.sigmoid)

# %% [markdown]
# Note the largest value of $\sigma'$: $\sigma'(0) = 1/4$. Every sigmoid layer multiplies the
# gradient passing back through it by at most $1/4$, a fact that comes back in section 6.
#
# ### 2.2 Tanh
#
# $$ \tanh(x) = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}} = 2\sigma(2x) - 1, \qquad
#    \tanh'(x) = 1 - \tanh^2(x). $$
#
# Tanh is a sigmoid stretched to $(-1, 1)$ and centred at zero, so the next layer receives
# inputs of mean about zero (LeCun et al. 1998 recommend it for that reason), and its
# slope at $0$ is $1$ rather than $1/4$. The textbook formula is again a trap: at $x = 100$
# it computes $\infty / \infty$.

# %%
def naive_tanh(x):
    return (torch.exp(x) - torch.exp(-x)) / (torch.exp(x) + torch.exp(-x))


print("naive tanh at [-100, 0, 100]:", naive_tanh(torch.tensor([-100.0, 0.0, 100.0])))

# %% [markdown]
# The identity $\tanh(x) = 2\sigma(2x) - 1$ reuses our stable sigmoid:

# %%
def tanh(x):
    return 2 * sigmoid(2 * x) - 1


def d_tanh(x):
    return 1 - tanh(x) ** 2


compare("tanh", tanh, d_tanh, torch.tanh)

# %% [markdown]
# ### 2.3 ReLU
#
# The rectified linear unit keeps positive inputs and zeroes the rest:
#
# $$ \operatorname{ReLU}(x) = \max(0, x), \qquad
#    \operatorname{ReLU}'(x) = \begin{cases} 1 & x > 0 \\ 0 & x \le 0 . \end{cases} $$
#
# It does not saturate for positive inputs (the slope stays $1$), is as cheap as a
# comparison, and made deep networks trainable without layer-wise pre-training (Nair &
# Hinton 2010; Glorot, Bordes & Bengio 2011; AlexNet 2012). At $x = 0$ it has a kink and no
# derivative; frameworks pick a value and PyTorch picks $0$. Our `where(x > 0, ...)` does
# the same (whereas `x.clamp(min=0)` would give $1$ there).

# %%
def relu(x):
    return torch.where(x > 0, x, torch.zeros_like(x))


def d_relu(x):
    return (x > 0).to(x.dtype)


compare("relu", relu, d_relu, F.relu)

# %% [markdown]
# ### 2.4 Leaky ReLU and PReLU
#
# A ReLU unit whose input is negative for every example gets zero gradient and never
# recovers: a *dead* unit. Leaky ReLU (Maas, Hannun & Ng 2013) keeps a small slope
# $\alpha$ on the negative side; PReLU (He et al. 2015, "Delving deep into rectifiers")
# makes $\alpha$ a parameter learned by gradient descent, one per channel or one shared:
#
# $$ \operatorname{LeakyReLU}(x) = \begin{cases} x & x > 0 \\ \alpha x & x \le 0 \end{cases}, \qquad
#    \frac{\partial}{\partial x} = \begin{cases} 1 & x > 0 \\ \alpha & x \le 0 \end{cases}, \qquad
#    \frac{\partial\,\operatorname{PReLU}}{\partial \alpha} = \begin{cases} 0 & x > 0 \\ x & x \le 0 . \end{cases} $$

# %%
def leaky_relu(x, negative_slope=0.01):
    return torch.where(x > 0, x, negative_slope * x)


def d_leaky_relu(x, negative_slope=0.01):
    return torch.where(x > 0, torch.ones_like(x), torch.full_like(x, negative_slope))


compare("leaky_relu", leaky_relu, d_leaky_relu, F.leaky_relu)

# %% [markdown]
# PReLU is the same function with $\alpha$ a tensor. For a batch of feature vectors
# `(N, C)` and one slope per feature, `weight` has shape `(C,)` and broadcasts over the rows.
# Now there are two gradients to check: with respect to the input and to the slopes.

# %%
def prelu(x, weight):
    """x: (N, C); weight: (C,) slopes, or a single slope of shape (1,)."""
    return torch.where(x > 0, x, weight * x)


xp = torch.randn(6, 3)
wp = torch.tensor([0.25, 0.1, -0.2])


def prelu_backward(g, x, weight):
    """(dL/dx, dL/dweight): the slope where x <= 0, and the sum over the batch of g * x there."""
    negative = x <= 0
    return torch.where(negative, g * weight, g), torch.where(negative, g * x, 0.0).sum(0)


dlcourse.check_like_torch("prelu", prelu, F.prelu, xp, wp, backward=prelu_backward)

# %% [markdown]
# ### 2.5 ELU
#
# The exponential linear unit (Clevert, Unterthiner & Hochreiter 2016) replaces the
# negative half by a smooth curve that saturates at $-\alpha$:
#
# $$ \operatorname{ELU}(x) = \begin{cases} x & x > 0 \\ \alpha\,(e^{x} - 1) & x \le 0 \end{cases}, \qquad
#    \operatorname{ELU}'(x) = \begin{cases} 1 & x > 0 \\ \alpha e^{x} & x \le 0 . \end{cases} $$
#
# Negative outputs pull the mean activation towards zero, which the authors show speeds up
# learning. Writing it with `torch.where` hides a second trap, subtler than overflow:
# `where` computes *both* branches, and backpropagates a zero into the branch it did not
# pick. If that branch is $e^{100} = \infty$, the chain rule multiplies $0 \cdot \infty =$
# `nan`, and the NaN lands in the gradient even though the value is fine:

# %%
x_big = torch.tensor([1.0, 100.0], requires_grad=True)
torch.where(x_big > 0, x_big, torch.expm1(x_big)).sum().backward()
print("gradient of where(x > 0, x, e^x - 1) at [1, 100]:", x_big.grad)

# %% [markdown]
# The fix is to make the unused branch harmless *before* `exp` sees it, with a second
# `where` that feeds it $0$ wherever $x > 0$ (the "double where" trick). `x.clamp(max=0)`
# looks like the same thing but is not quite: its gradient at exactly $x = 0$ is $0$, which
# would make our $\operatorname{ELU}'(0) = 0$ instead of $\alpha$. (`torch.expm1(x)`
# computes $e^x - 1$ without the cancellation that loses digits for small $x$.)

# %%
def elu(x, alpha=1.0):
    safe = torch.where(x > 0, torch.zeros_like(x), x)      # what the exp branch sees: <= 0
    return torch.where(x > 0, x, alpha * torch.expm1(safe))


def d_elu(x, alpha=1.0):
    return torch.where(x > 0, torch.ones_like(x), alpha * torch.exp(torch.where(x > 0, 0.0, x)))


compare("elu", elu, d_elu, F.elu)

# %% [markdown]
# ### 2.6 GELU, exact and tanh form
#
# The Gaussian error linear unit (Hendrycks & Gimpel 2016) weighs its input by the
# probability that a standard normal variable is smaller than it:
#
# $$ \operatorname{GELU}(x) = x\,\Phi(x), \qquad \Phi(x) = \tfrac12\bigl(1 + \operatorname{erf}(x/\sqrt2)\bigr), \qquad
#    \operatorname{GELU}'(x) = \Phi(x) + x\,\varphi(x), $$
#
# with $\varphi(x) = e^{-x^2/2}/\sqrt{2\pi}$ the normal density. It is a smooth ReLU that
# dips slightly below zero around $x \approx -0.75$; BERT, GPT and ViT use it. Because `erf`
# used to be slow on accelerators, the paper also gives a tanh approximation, the form
# BERT and GPT-2 were trained with:
#
# $$ \operatorname{GELU}_{\tanh}(x) = \tfrac12 x\Bigl(1 + \tanh\bigl(\sqrt{2/\pi}\,(x + 0.044715\,x^3)\bigr)\Bigr). $$

# %%
SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def gelu(x):
    return x * 0.5 * (1 + torch.erf(x / math.sqrt(2)))


def d_gelu(x):
    Phi = 0.5 * (1 + torch.erf(x / math.sqrt(2)))
    phi = torch.exp(-0.5 * x**2) / math.sqrt(2 * math.pi)
    return Phi + x * phi


compare("gelu", gelu, d_gelu, F.gelu)

# %% [markdown]
# For the tanh form, write $u = \sqrt{2/\pi}\,(x + 0.044715\,x^3)$ and $t = \tanh u$. The
# product and chain rules give
# $\frac{d}{dx} = \tfrac12(1 + t) + \tfrac12 x\,(1 - t^2)\sqrt{2/\pi}\,(1 + 3 \cdot 0.044715\,x^2)$.

# %%
def gelu_tanh(x):
    return 0.5 * x * (1 + tanh(SQRT_2_OVER_PI * (x + 0.044715 * x**3)))


def d_gelu_tanh(x):
    t = tanh(SQRT_2_OVER_PI * (x + 0.044715 * x**3))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t**2) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x**2)


compare("gelu_tanh", gelu_tanh, d_gelu_tanh, lambda x: F.gelu(x, approximate="tanh"), atol=1e-5)
gap = (gelu(X_TEST) - gelu_tanh(X_TEST)).abs().max()
print(f"largest gap between the exact GELU and its tanh form: {gap:.1e}")

# %% [markdown]
# (The tolerance is $10^{-5}$ here: around $x \approx -5$, $\tanh u$ rounds to exactly $-1$
# in float32 and PyTorch's kernel returns a derivative of $0$, where the true value is about
# $-10^{-6}$; our formula lands on the other side of the truth.)
#
# The two forms differ by less than $10^{-3}$: too little to matter for training, but far
# above the $10^{-5}$ tolerance of a parity test. To reproduce a pretrained model's
# outputs (chapters 21 and 22), use the form it was trained with.
#
# ### 2.7 Softmax, stable
#
# Softmax turns a vector of $K$ scores (logits) into a probability distribution:
#
# $$ \operatorname{softmax}(\mathbf{x})_i = \frac{e^{x_i}}{\sum_{j=1}^{K} e^{x_j}} . $$
#
# It is not elementwise: every output depends on every input. Written as is, it overflows
# as soon as a logit exceeds about 88:

# %%
def naive_softmax(x, dim=-1):
    e = torch.exp(x)
    return e / e.sum(dim=dim, keepdim=True)


print("naive softmax([1, 2, 3])         =", naive_softmax(torch.tensor([1.0, 2.0, 3.0])))
print("naive softmax([1000, 1001, 1002]) =", naive_softmax(torch.tensor([1000.0, 1001.0, 1002.0])))

# %% [markdown]
# The fix uses a symmetry: adding the same constant $c$ to every logit changes nothing,
# because $e^{x_i - c} / \sum_j e^{x_j - c} = e^{-c}e^{x_i} / (e^{-c}\sum_j e^{x_j})$.
# Choose $c = \max_j x_j$: every exponent becomes $\le 0$, so nothing overflows, and the
# largest term is exactly $e^0 = 1$, so the sum cannot underflow to zero either. The same
# shift gives the stable **log-softmax** (the *log-sum-exp trick*), which the cross-entropy
# loss uses:
#
# $$ \log \operatorname{softmax}(\mathbf{x})_i = (x_i - c) - \log \sum_j e^{x_j - c} . $$

# %%
def softmax(x, dim=-1):
    z = x - x.amax(dim=dim, keepdim=True)      # every exponent <= 0
    e = torch.exp(z)
    return e / e.sum(dim=dim, keepdim=True)


def log_softmax(x, dim=-1):
    z = x - x.amax(dim=dim, keepdim=True)
    return z - torch.log(torch.exp(z).sum(dim=dim, keepdim=True))


print("stable softmax([1000, 1001, 1002]) =", softmax(torch.tensor([1000.0, 1001.0, 1002.0])))

# %% [markdown]
# The derivative of softmax is a Jacobian matrix,
# $\partial s_i / \partial x_j = s_i(\delta_{ij} - s_j)$. Backpropagation never builds it:
# it only needs the gradient with respect to $\mathbf{x}$ given the gradient $\mathbf{g}$
# with respect to $\mathbf{s}$, which is $\sum_i g_i s_i(\delta_{ij} - s_j) =
# s_j\,(g_j - \mathbf{g}\cdot\mathbf{s})$. We check values and this vector-Jacobian product
# on a batch of logits with large entries, using a random upstream gradient $\mathbf{g}$
# (with $\mathbf{g} = \mathbf{1}$ the gradient would be $0$, a useless test).

# %%
def softmax_backward(x, g, dim=-1):
    """Gradient w.r.t. x of sum(g * softmax(x)), without building the Jacobian."""
    s = softmax(x, dim)
    return s * (g - (g * s).sum(dim=dim, keepdim=True))


logits = torch.randn(5, 4) * 30                 # entries up to ~100
dlcourse.check_like_torch("softmax", softmax, lambda x: torch.softmax(x, dim=-1), logits,
                          backward=lambda g, x: softmax_backward(x, g))
dlcourse.check_like_torch("log_softmax", log_softmax, lambda x: torch.log_softmax(x, dim=-1), logits)

# %% [markdown]
# ### 2.8 Against the course's reference
#
# `dlcourse.activations` holds the reference versions that later chapters import (with a
# few more safeguards, e.g. for `tanh` near $0$). `ref.ACTIVATIONS` maps each name to the
# reference function (and `ref.TORCH_ACTIVATIONS` to PyTorch's, which we have already
# matched). Ours must agree with the reference too:

# %%
OURS = {"relu": relu, "leaky_relu": leaky_relu, "elu": elu, "gelu": gelu, "gelu_tanh": gelu_tanh,
        "sigmoid": sigmoid, "tanh": tanh}
for name, ours in OURS.items():
    dlcourse.check_close(f"ours vs dlcourse.activations: {name}", ours(X_TEST), ref.ACTIVATIONS[name](X_TEST))
dlcourse.check_close("ours vs dlcourse.activations: prelu", prelu(xp, wp), ref.prelu(xp, wp))
dlcourse.check_close("ours vs dlcourse.activations: softmax", softmax(logits), ref.softmax(logits))
dlcourse.check_close("ours vs dlcourse.activations: log_softmax", log_softmax(logits), ref.log_softmax(logits))

# %% [markdown]
# ### 2.9 The picture
#
# Each panel shows an activation (solid) and its derivative (dashed), from our hand-written
# formulas. Things to look for: where the derivative is close to zero (the function is
# *saturated*: gradients die there), the sigmoid's derivative peaking at only $1/4$, the
# ReLU family's constant slope $1$ on the right, and how close the tanh form of GELU is to
# the exact one (last panel, note the scale).

# %%
x_plot = torch.linspace(-5, 5, 501)
panels = [("sigmoid", sigmoid, d_sigmoid), ("tanh", tanh, d_tanh), ("ReLU", relu, d_relu),
          ("Leaky ReLU (α = 0.1)", lambda x: leaky_relu(x, 0.1), lambda x: d_leaky_relu(x, 0.1)),
          ("PReLU (α = 0.25)", lambda x: prelu(x, torch.tensor(0.25)), lambda x: d_leaky_relu(x, 0.25)),
          ("ELU (α = 1)", elu, d_elu), ("GELU", gelu, d_gelu)]
fig, axes = plt.subplots(2, 4, figsize=(13, 5.5))
for ax, (title, f, df) in zip(axes.flat, panels):
    ax.plot(x_plot, f(x_plot), label="f(x)")
    ax.plot(x_plot, df(x_plot), "--", label="f'(x)")
    ax.axhline(0, color="gray", lw=0.5)
    ax.axvline(0, color="gray", lw=0.5)
    ax.set(title=title, ylim=(-1.6, 3.2))
axes[0, 0].legend(loc="upper left")
axes[1, 3].plot(x_plot, gelu(x_plot) - gelu_tanh(x_plot))
axes[1, 3].set(title="GELU exact − tanh form", ylabel="difference")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 3. XOR, solved
#
# Chapter 02's perceptron could not learn XOR. Here is a noisy version: 200 points around
# the four corners $(\pm1, \pm1)$, labelled $1$ when the two coordinates have different
# signs.

# %%
def make_xor(n, noise, generator):
    """n points near the corners (±1, ±1); label 1 where the signs differ (XOR)."""
    corners = torch.tensor([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
    labels = torch.tensor([0, 1, 1, 0])
    which = torch.randint(0, 4, (n,), generator=generator)
    return corners[which] + noise * torch.randn(n, 2, generator=generator), labels[which]


X_xor, y_xor = make_xor(200, noise=0.25, generator=torch.Generator().manual_seed(0))
print(X_xor.shape, y_xor.bincount())

# %% [markdown]
# The smallest MLP that can solve it has **two hidden units**: $2 \to 2 \to 2$, tanh in the
# hidden layer, two logits out. We write it with our own `linear`, `tanh` and
# `log_softmax`, and train it by full-batch gradient descent on the cross-entropy
# $L = -\frac1N\sum_i \log \operatorname{softmax}(\text{logits}_i)_{y_i}$. Autograd computes
# the gradients for now; chapter 04 derives them by hand.

# %%
def xor_net(x, params, act):
    W1, b1, W2, b2 = params
    hidden = act(linear(x, W1, b1))
    return linear(hidden, W2, b2), hidden


def cross_entropy(logits, y):
    return -log_softmax(logits)[torch.arange(len(y)), y].mean()


def train_xor(act, steps=XOR_STEPS, lr=0.5, seed=0):
    g = torch.Generator().manual_seed(seed)
    params = [torch.randn(2, 2, generator=g), torch.zeros(2),
              torch.randn(2, 2, generator=g) / math.sqrt(2), torch.zeros(2)]
    for p in params:
        p.requires_grad_(True)
    for _ in range(steps):
        loss = cross_entropy(xor_net(X_xor, params, act)[0], y_xor)
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, dp in zip(params, grads):
                p -= lr * dp
    accuracy = (xor_net(X_xor, params, act)[0].argmax(1) == y_xor).float().mean().item()
    return params, loss.item(), accuracy


# %% [markdown]
# Train it twice: once with tanh, and once with the identity "activation", which by
# section 1 makes the whole network one linear map.

# %%
xor_params, xor_loss, xor_acc = train_xor(tanh)
lin_params, lin_loss, lin_acc = train_xor(lambda z: z)
print(f"linear network (no activation): loss {lin_loss:.3f}, accuracy {lin_acc:.0%}")
print(f"2-2-2 tanh MLP:                 loss {xor_loss:.3f}, accuracy {xor_acc:.0%}")

# %% [markdown]
# **Look inside.** The left and middle panels show the decision regions: the linear
# network can only cut the plane with a straight line, while the MLP carves out the two
# diagonal corners. The right panel shows *how*: it plots every point at the position the
# hidden layer maps it to, $(h_1, h_2) = \tanh(W_1\mathbf{x} + \mathbf{b}_1)$. In that
# space the two classes *are* linearly separable, and the output layer is exactly a
# linear classifier (its decision line is drawn). The tanh units saturate, so each cluster
# lands near a corner of the square $[-1, 1]^2$, and the two blue clusters, at opposite
# corners of the input plane, land on the *same* corner. The hidden layer has learned the
# features that chapter 02's last exercise had to invent by hand.

# %%
def xor_predictor(params, act):
    return lambda grid: xor_net(torch.from_numpy(grid), params, act)[0].argmax(1).numpy()


fig, axes = plt.subplots(1, 3, figsize=(13, 4))
plot_decision_boundary(xor_predictor(lin_params, lambda z: z), X_xor, y_xor, ax=axes[0],
                       title=f"no activation: {lin_acc:.0%}")
plot_decision_boundary(xor_predictor(xor_params, tanh), X_xor, y_xor, ax=axes[1],
                       title=f"2-2-2 tanh MLP: {xor_acc:.0%}")
with torch.no_grad():
    hidden = xor_net(X_xor, xor_params, tanh)[1]
    W2, b2 = xor_params[2], xor_params[3]
    w, c = W2[1] - W2[0], b2[1] - b2[0]           # class 1 wins where w·h + c > 0
h1 = torch.linspace(-1.1, 1.1, 50)
axes[2].scatter(hidden[:, 0], hidden[:, 1], c=y_xor, cmap="coolwarm", edgecolors="k", s=25)
axes[2].plot(h1, -(w[0] * h1 + c) / w[1], "k--", label="output layer's line")
axes[2].set(xlim=(-1.15, 1.15), ylim=(-1.15, 1.15), xlabel="$h_1$", ylabel="$h_2$",
            title="the same points in the hidden space")
axes[2].legend(loc="upper right", fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# With only two hidden units, gradient descent is not guaranteed to find the solution:
# some seeds get stuck in a poor local minimum (try `train_xor(tanh, seed=2)`). With 8
# hidden units every seed we tried succeeds: extra width makes the loss surface easier, one
# reason real networks are far wider than the minimum.
#
# ## 4. Real data: handwritten digits
#
# scikit-learn ships 1,797 handwritten digits (from the UCI "optical recognition of
# handwritten digits" set), each an 8×8 image of grey levels $0..16$, with labels $0..9$.
# `dlcourse.data.load_digits()` returns them as `X` `(1797, 64)` float32 and `y` int64.

# %%
X_all, y_all = dlcourse.data.load_digits()
print(X_all.shape, X_all.dtype, y_all.shape, "classes:", np.bincount(y_all))
show_images(X_all[:16].reshape(-1, 8, 8), y_all[:16], title="the first 16 digits")
plt.show()

# %% [markdown]
# **Split** with a fixed seed, stratified so every class keeps its share: 20% test, held
# back until the end, and 20% of the rest as a validation set that `fit` reports on every
# epoch. **Scale** the grey levels to $[0, 1]$, then shift and scale them by the mean and
# standard deviation of all training pixels, so the inputs have mean 0 and standard
# deviation 1 (the statistics come from the *training* split only: the test set must stay
# unseen, even its mean). We use one mean and one standard deviation for all pixels, as is
# usual for images. Standardising each pixel separately would divide the corner pixels,
# almost always 0 in training, by a tiny standard deviation, and a stray test pixel there
# would become an input of 60.

# %%
X_trval, X_test, y_trval, y_test = train_test_split(X_all, y_all, test_size=0.2, stratify=y_all, random_state=0)
X_train, X_val, y_train, y_val = train_test_split(X_trval, y_trval, test_size=0.2, stratify=y_trval,
                                                  random_state=0)
PIXEL_MEAN, PIXEL_STD = (X_train / 16).mean(), (X_train / 16).std()
print(f"training pixels: mean {PIXEL_MEAN:.3f}, std {PIXEL_STD:.3f}")


def to_dataset(X, y):
    x = (X / 16 - PIXEL_MEAN) / PIXEL_STD
    return TensorDataset(torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y))


train_loader = DataLoader(to_dataset(X_train, y_train), batch_size=BATCH_SIZE, shuffle=True,
                          generator=torch.Generator().manual_seed(0))
val_loader = DataLoader(to_dataset(X_val, y_val), batch_size=512)
test_loader = DataLoader(to_dataset(X_test, y_test), batch_size=512)
print(f"train {len(X_train)}, validation {len(X_val)}, test {len(X_test)}")

# %% [markdown]
# **The model** is the reference `dlcourse.models.MLP`: `sizes=[64, 256, 128, 10]` means
# 64 inputs, two hidden layers of 256 and 128 ReLU units, and 10 logits. Its layers sit in
# `model.net`, an `nn.Sequential` of exactly the `Linear → ReLU` blocks of section 1.

# %%
torch.manual_seed(0)
model = MLP([64, 256, 128, 10], activation="relu")
print(model)
print("parameters:", sum(p.numel() for p in model.parameters()))

# %% [markdown]
# **Train** with `dlcourse.fit`: mini-batches of 64, the cross-entropy loss, and the Adam
# optimizer (chapter 06 builds it; here it is simply a good default). It draws the loss
# live and returns a `History` of per-epoch numbers. Mixed precision is switched off:
# for a model this small it costs more than it saves.

# %%
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
history = dlcourse.fit(model, train_loader, optimizer, epochs=EPOCHS, val_loader=val_loader, amp=False)
print(f"after {EPOCHS} epochs: val accuracy {history.last('val_accuracy'):.1%}")

# %% [markdown]
# Why does the first epoch's training loss sit well above its validation loss? They are
# measured differently. `train_loss` is the running average over the epoch's batches, each
# scored by the model *as it was at that batch*, so the early, untrained batches pull it up;
# `val_loss` is measured once, by the model at the end of the epoch. As the model changes
# less from batch to batch the two become comparable; once the training loss falls below
# the validation loss, the model fits its training digits better than new ones.
#
# **Test.** Only now do we touch the test set, once.

# %%
test_scores = dlcourse.evaluate(model, test_loader, amp=False)
print(f"test loss {test_scores['loss']:.3f}, test accuracy {test_scores['accuracy']:.1%}")

# %% [markdown]
# The confusion matrix counts, for each true digit (row), what the model predicted
# (column); everything off the diagonal is a mistake. Then the mistakes themselves, titled
# "predicted (true)":

# %%
logits_test, targets_test = dlcourse.predict(model, test_loader, amp=False)
preds_test = logits_test.argmax(1)
plot_confusion_matrix(targets_test, preds_test, classes=[str(d) for d in range(10)],
                      title="digits: test confusion matrix")
plt.show()

# %%
wrong = (preds_test != targets_test).nonzero().flatten()
print(f"{len(wrong)} of {len(targets_test)} test digits misclassified")
if len(wrong):
    show_images(X_test[wrong.numpy()].reshape(-1, 8, 8), targets_test[wrong], predictions=preds_test[wrong],
                title="misclassified: predicted (true)")
    plt.show()

# %% [markdown]
# Many of these are hard for a person too, at 8×8 pixels.
#
# ## 5. Look inside the digit classifier
#
# **What does a first-layer unit look at?** Unit $j$ of the first layer computes
# $\mathbf{w}_j^\top\mathbf{x} + b_j$, a weighted sum of the 64 pixels. The top row below
# reshapes the weights of 16 units to 8×8: red pixels push the unit up, blue ones down.
# The bottom row shows, for the same units, the average of the 20 test digits that make
# each unit fire most strongly. `model.activations(x)` gives the activations: for each
# hidden layer the pre-activation $\mathbf{z}_l$ and $\mathbf{a}_l =
# \operatorname{ReLU}(\mathbf{z}_l)$.

# %%
x_test_tensor = next(iter(test_loader))[0].to(device)    # all 360 test digits, in order
with torch.no_grad():
    acts = model.activations(x_test_tensor)              # [(z_1, a_1), (z_2, a_2)]
a1 = acts[0][1].cpu()                                    # (360, 256)
top = a1[:, :16].topk(20, dim=0).indices                 # each unit's 20 favourite digits
W_first = model.net[0].weight.detach().cpu()[:16].reshape(-1, 8, 8)
fig, axes = plt.subplots(2, 16, figsize=(13, 2.3))
for j in range(16):
    m = W_first[j].abs().max()
    axes[0, j].imshow(W_first[j], cmap="RdBu_r", vmin=-m, vmax=m)   # white = 0
    axes[1, j].imshow(X_test[top[:, j].numpy()].mean(0).reshape(8, 8), cmap="gray")
for ax in axes.flat:
    ax.set(xticks=[], yticks=[])
axes[0, 0].set_ylabel("weights", fontsize=8)
axes[1, 0].set_ylabel("top-20\naverage", fontsize=8)
plt.show()

# %% [markdown]
# The weights are not tidy digit templates: each unit weighs a scattered mix of pixels,
# partly noise the unit never needed to remove. Yet the digits that excite a unit most are
# mostly of one class: the units have become detectors of shapes, and the next layers
# recognise a digit from the *combination* of 256 such partial, overlapping detectors. (Chapter 09's convolutions add the prior that neighbouring pixels belong
# together, and their filters look far cleaner.)
#
# **How do the hidden units respond?** ReLU makes the code *sparse*: for a given digit many
# units output exactly $0$. A unit that is $0$ for *every* test digit is dead: it passes
# no gradient back, so it cannot learn its way out.

# %%
fig, axes = plt.subplots(1, len(acts), figsize=(10, 3))
for l, (ax, (pre, post)) in enumerate(zip(axes, acts), start=1):
    post = post.cpu()
    zero_share = (post == 0).float().mean().item()
    dead = (post == 0).all(dim=0).sum().item()
    ax.hist(post.flatten(), bins=50, log=True)
    ax.set(title=f"hidden layer {l}: {zero_share:.0%} zeros, {dead} dead units", xlabel="activation")
axes[0].set_ylabel("count (log scale)")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 6. Vanishing gradients
#
# Why did ReLU replace the sigmoid? Look at a **deep** MLP: 10 hidden layers of 64 units.
# By the chain rule, the gradient that reaches layer $l$ is a product of one factor per
# layer above it,
#
# $$ \frac{\partial L}{\partial \mathbf{a}_{l-1}} = W_l^\top \Bigl( f'(\mathbf{z}_l) \odot
#    \frac{\partial L}{\partial \mathbf{a}_l} \Bigr), $$
#
# and for the sigmoid every $f'(\mathbf{z}_l)$ is at most $1/4$. Ten such factors can shrink
# the gradient by $4^{10} \approx 10^6$, so the first layers barely learn. This was
# identified by Hochreiter (1991) and Bengio, Simard & Frasconi (1994) for recurrent
# networks, and by Glorot & Bengio (2010) for deep feed-forward ones.
#
# To see the activation's effect alone, we give every network a weight scale suited to its
# activation (Xavier initialisation for sigmoid and tanh, He initialisation for ReLU:
# chapter 04 derives both), push one batch of training digits through, backpropagate the
# loss, and measure the gradient norm $\lVert \partial L/\partial W_l \rVert$ of each layer.

# %%
def deep_mlp(activation, depth=10, width=64, seed=0):
    torch.manual_seed(seed)
    net = MLP([64] + [width] * depth + [10], activation=activation)
    for layer in net.net:
        if isinstance(layer, nn.Linear):
            if activation == "relu":
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            else:
                nn.init.xavier_normal_(layer.weight)
            nn.init.zeros_(layer.bias)
    return net


def layer_gradient_norms(net, x, y):
    net.zero_grad()
    F.cross_entropy(net(x), y).backward()
    return [layer.weight.grad.norm().item() for layer in net.net if isinstance(layer, nn.Linear)]


x_batch, y_batch = next(iter(DataLoader(train_loader.dataset, batch_size=256)))
grad_norms = {act: layer_gradient_norms(deep_mlp(act), x_batch, y_batch) for act in ("sigmoid", "tanh", "relu")}
for act, norms in grad_norms.items():
    print(f"{act:8s} first layer {norms[0]:.1e}, last layer {norms[-1]:.1e}: ratio {norms[-1] / norms[0]:.0e}")

# %%
fig, ax = plt.subplots(figsize=(7, 3.5))
for act, norms in grad_norms.items():
    ax.plot(range(1, len(norms) + 1), norms, marker="o", label=act)
ax.set(yscale="log", xlabel="layer (1 = next to the input, 11 = output)", ylabel="‖∂L/∂W‖",
       title="gradient norm per layer of an 11-layer MLP, at initialisation")
ax.legend()
plt.show()

# %% [markdown]
# The sigmoid network's gradient falls by about a factor $4$ per layer (the $1/4$ of
# $\sigma'(0)$), six orders of magnitude from the output to the input, while tanh and ReLU
# keep it roughly level. With one learning rate for all layers, the sigmoid network's first layers are
# effectively frozen. Does that matter in practice? Train both deep networks on the digits
# with plain SGD, same learning rate, same number of epochs:

# %%
race = {}
for act in ("sigmoid", "relu"):
    net = deep_mlp(act)
    race[act] = dlcourse.fit(net, train_loader, torch.optim.SGD(net.parameters(), lr=0.05), epochs=DEEP_EPOCHS,
                             val_loader=val_loader, amp=False, progress=False, live_plot=False)
    print(f"10 hidden {act} layers: final train loss {race[act].last('train_loss'):.3f}, "
          f"val accuracy {race[act].last('val_accuracy'):.1%}")

# %%
fig, ax = plt.subplots(figsize=(6, 3.2))
for act, hist in race.items():
    ax.plot(range(1, len(hist["train_loss"]) + 1), hist["train_loss"], marker="o", ms=3, label=act)
ax.axhline(math.log(10), color="gray", ls=":", label="chance: log 10")
ax.set(xlabel="epoch", ylabel="training loss", title="10 hidden layers, plain SGD")
ax.xaxis.set_major_locator(MaxNLocator(integer=True))      # whole epochs only
ax.legend()
plt.show()

# %% [markdown]
# The sigmoid network stays at the loss of random guessing, $\log 10 \approx 2.30$, while
# the ReLU network of the same shape learns. (Adaptive optimizers such as Adam rescale
# each parameter's step and partly hide the problem; normalisation layers, chapter 07, and
# residual connections, chapter 12, remove most of it.) The ReLU family is not immune:
# with a poor initialisation its gradients vanish or explode too, which is where chapter
# 04 picks up.

# %% [markdown]
# ## 7. Exercises
#
# Each exercise cell holds a placeholder. Replace it, run the cell, then run the check cell
# under it: it says whether your answer is right and, if not, what to change (the checks
# live in `dlcourse.exercises.chapters.ch03_mlp_activations`). Worked solutions are in
# `solutions/chapters/03_mlp_activations.py` (try first!).
#
# ### Exercise 1: a stable softplus
#
# $\operatorname{softplus}(x) = \log(1 + e^{x})$ is a smooth ReLU (and its derivative is
# the sigmoid). Written as is, it overflows to `inf` for $x = 100$, where the answer is
# $100$. Implement it so it is exact for every input, without calling `F.softplus`.
# Hint: for $x > 0$, $\log(1 + e^{x}) = x + \log(1 + e^{-x})$, and `torch.log1p(u)` computes
# $\log(1 + u)$ accurately for small $u$.

# %%
def softplus(x):
    """log(1 + exp(x)), stable for any x."""
    return None     # YOUR CODE HERE


# %%
exercises.check_softplus(softplus)

# %% [markdown]
# ### Exercise 2: the derivative of SiLU (Swish) by hand
#
# $\operatorname{SiLU}(x) = x\,\sigma(x)$ (Elfwing et al. 2018; called Swish by Ramachandran
# et al. 2017) is a close cousin of GELU, used in EfficientNet (chapter 13) and LLaMA.
# Derive $\operatorname{SiLU}'(x)$ with the product rule and implement it, using our
# `sigmoid` but no autograd.

# %%
def d_silu(x):
    """The derivative of x * sigmoid(x), by hand."""
    return None     # YOUR CODE HERE


# %%
exercises.check_d_silu(d_silu)

# %% [markdown]
# ### Exercise 3: count the parameters of an MLP
#
# Write `count_parameters(sizes)` for an MLP with layer widths `sizes` (as in
# `MLP(sizes)`), from the shapes of $W_l$ and $\mathbf{b}_l$ alone, without building the
# model. Then use it: how many parameters does the digit classifier above have, and which
# layer holds most of them?

# %%
def count_parameters(sizes):
    """Number of weights and biases of an MLP with layer widths sizes = [in, hidden..., out]."""
    return None     # YOUR CODE HERE


# %%
exercises.check_count_parameters(count_parameters)

# %% [markdown]
# **Graded practice.** The assignment `a01_activations_backprop` (in
# `release/a01_activations_backprop/`) asks you to write ReLU, Leaky ReLU, a stable sigmoid,
# GELU and a stable softmax from elementary operations, their derivatives, and (after
# chapter 04) a 2-layer MLP's backward pass, with visible tests that say what to fix.
#
# ## 8. Summary
#
# - A layer is $\mathbf{y} = f(W\mathbf{x} + \mathbf{b})$; batched, $Y = f(XW^\top +
#   \mathbf{b})$ with $W$ shaped `(out, in)`. Without a non-linear $f$, any stack of layers
#   collapses to a single affine map.
# - Sigmoid and tanh saturate (derivative near $0$ for large $|x|$); $\sigma' \le 1/4$.
#   ReLU keeps slope $1$ for positive inputs but can die; Leaky ReLU and PReLU keep a
#   negative slope; ELU and GELU are smooth variants. GELU's tanh form differs from
#   $x\Phi(x)$ by less than $10^{-3}$.
# - Numerics matter: `exp` overflows above about 88 in float32. Compute sigmoid and tanh
#   from $e^{-|x|}$, shift softmax by its maximum (log-sum-exp), and clamp what `where`
#   must not see, or the *gradient* turns into NaN.
# - Two tanh hidden units solve XOR by mapping the points into a space where a line
#   separates them. A 64-256-128-10 ReLU MLP classifies real 8×8 digits at about 97%.
# - In deep sigmoid networks gradients shrink geometrically towards the input (vanishing
#   gradients) and training stalls; ReLU with a matching initialisation does not have that
#   problem. Chapter 04 derives the backward pass and the initialisations.
#
# ## References
#
# - D. E. Rumelhart, G. E. Hinton and R. J. Williams (1986). *Learning representations by
#   back-propagating errors.* Nature 323, 533–536.
# - G. Cybenko (1989). *Approximation by superpositions of a sigmoidal function.*
#   Mathematics of Control, Signals and Systems 2, 303–314.
# - K. Hornik (1991). *Approximation capabilities of multilayer feedforward networks.*
#   Neural Networks 4(2), 251–257.
# - S. Hochreiter (1991). *Untersuchungen zu dynamischen neuronalen Netzen.* Diploma thesis,
#   TU München (the vanishing gradient problem).
# - Y. Bengio, P. Simard and P. Frasconi (1994). *Learning long-term dependencies with
#   gradient descent is difficult.* IEEE Transactions on Neural Networks 5(2), 157–166.
# - Y. LeCun, L. Bottou, G. B. Orr and K.-R. Müller (1998). *Efficient BackProp.* In
#   Neural Networks: Tricks of the Trade, Springer.
# - X. Glorot and Y. Bengio (2010). *Understanding the difficulty of training deep
#   feedforward neural networks.* AISTATS.
# - V. Nair and G. E. Hinton (2010). *Rectified linear units improve restricted Boltzmann
#   machines.* ICML.
# - X. Glorot, A. Bordes and Y. Bengio (2011). *Deep sparse rectifier neural networks.*
#   AISTATS.
# - A. Krizhevsky, I. Sutskever and G. E. Hinton (2012). *ImageNet classification with deep
#   convolutional neural networks.* NeurIPS (AlexNet).
# - A. L. Maas, A. Y. Hannun and A. Y. Ng (2013). *Rectifier nonlinearities improve neural
#   network acoustic models.* ICML Workshop on Deep Learning for Audio, Speech and Language
#   Processing (Leaky ReLU).
# - K. He, X. Zhang, S. Ren and J. Sun (2015). *Delving deep into rectifiers: surpassing
#   human-level performance on ImageNet classification.* ICCV (PReLU, He initialisation).
# - D.-A. Clevert, T. Unterthiner and S. Hochreiter (2016). *Fast and accurate deep network
#   learning by exponential linear units (ELUs).* ICLR.
# - D. Hendrycks and K. Gimpel (2016). *Gaussian error linear units (GELUs).*
#   arXiv:1606.08415.
# - P. Ramachandran, B. Zoph and Q. V. Le (2017). *Searching for activation functions.*
#   arXiv:1710.05941 (Swish).
# - S. Elfwing, E. Uchibe and K. Doya (2018). *Sigmoid-weighted linear units for neural
#   network function approximation in reinforcement learning.* Neural Networks 107, 3–11.
# - E. Alpaydin and C. Kaynak (1998). *Optical recognition of handwritten digits.* UCI
#   Machine Learning Repository (the digits data).
