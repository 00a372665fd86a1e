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
# # 04 · Backprop by hand
#
# In chapter 03, `loss.backward()` filled in every gradient for us. This chapter opens the
# box. Backpropagation (Rumelhart, Hinton & Williams 1986) is the chain rule applied in
# reverse order through the network, reusing what the forward pass computed; written with
# matrices, one pass handles a whole batch. Knowing it by hand is what lets you write a
# new layer, find a gradient bug, and understand why some networks do not train.
#
# **What you will build**
#
# - the backward pass of an MLP in matrix form, one piece at a time: the softmax
#   cross-entropy gradient $(P - Y)/N$, a linear layer's $dW = \delta^\top A$,
#   $db = \sum_i \delta_i$, $dA = \delta W$, and the activations' derivatives;
# - every gradient checked against `torch.autograd`, then against the course's reference
#   `dlcourse.models.ManualMLP`;
# - gradient checking with central differences: why float64, what error to expect, and a
#   deliberately buggy backward pass caught by it;
# - Xavier/Glorot and He initialisation derived from a variance argument, checked against
#   `torch.nn.init`, and seen at work in a 10-layer network;
# - a hand-written MLP trained on real digits with plain SGD and *our* gradients.
#
# **Prerequisites**: [03 · MLP and activations](03_mlp_activations.ipynb) (layers,
# activations and their derivatives, softmax). Matrix products and the chain rule.
#
# **Run time**: CPU (2 cores): about 22 s full mode, 12 s fast mode; GPU: not measured yet.
# (The hand-written network runs wherever its tensors are; this chapter keeps it on the
# CPU, where an MLP of this size is fastest.)

# %% [markdown]
# ## Setup

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from sklearn.model_selection import train_test_split
from torch import nn

import dlcourse
from dlcourse import weight_init
from dlcourse.activations import TORCH_ACTIVATIONS, log_softmax, relu, sigmoid, softmax, tanh
from dlcourse.checks import max_relative_error, numerical_gradient
from dlcourse.exercises.chapters import ch04_backprop as exercises
from dlcourse.models import MLP, ManualMLP
from dlcourse.plot import LivePlot
from dlcourse.train import accuracy            # accuracy(logits, labels): the share of correct argmaxes

device = dlcourse.setup(seed=0)

# %% [markdown]
# The budget. `FAST` is set by CI (`DLCOURSE_FAST=1`): the same real data, fewer epochs.

# %% tags=["parameters"]
FAST = dlcourse.fast_mode()
EPOCHS = 5 if FAST else 30          # SGD passes over the 1,149 training digits
LR = 0.1                            # SGD step size
BATCH_SIZE = 32
DEPTH = 10                          # layers of the deep net in the initialisation study

# %% [markdown]
# ## 1. The forward pass, and what it must remember
#
# We use chapter 03's notation, with the examples of a batch as the rows of a matrix. For
# an MLP with $D$ linear layers (its depth) and activation $f$:
#
# $$ A_0 = X, \qquad Z_l = A_{l-1}W_l^\top + \mathbf{1}\mathbf{b}_l^\top, \qquad A_l = f(Z_l)
#    \quad (l = 1, \dots, D-1), \qquad Z_D = \text{logits}, $$
#
# with $X$ of shape $(N, d_0)$, $W_l$ of shape $(d_l, d_{l-1})$ (as in `nn.Linear`), and the
# mean cross-entropy loss
#
# $$ L = -\frac{1}{N} \sum_{i=1}^{N} \log \operatorname{softmax}(Z_D)_{i, y_i} . $$
#
# One letter, one meaning: $L$ is always the loss, $D$ the number of layers, $l$ one layer.
#
# The backward pass will need, for every layer, its input $A_{l-1}$ and weights $W_l$ (for
# $dW_l$ and $dA_{l-1}$) and its pre-activation $Z_l$ (for $f'(Z_l)$). So every piece of the
# network follows one convention, the course's for any hand-written layer (`dlcourse.layers`
# and later chapters use it too):
#
# - `<piece>_forward(inputs)` returns `(out, cache)`: the output, and what the backward
#   pass of this piece will need;
# - `<piece>_backward(dout, cache)` takes $\partial L/\partial\,\text{out}$ and returns
#   $\partial L/\partial$ each input, in the forward's order.
#
# The whole network is a piece too: `forward(X, weights, biases)` returns the logits and
# the list of its layers' caches, and `backward(dlogits, cache)` (section 5) returns the
# gradients of the weights and biases. The activations `relu`, `sigmoid`, `tanh`, `softmax`,
# `log_softmax` are the ones we built in chapter 03, imported from `dlcourse.activations`.

# %%
ACTIVATIONS = {"relu": relu, "sigmoid": sigmoid, "tanh": tanh}     # name -> function, as in dlcourse.activations


def linear_forward(A, W, b):
    """Z = A W^T + b, and the cache its backward pass needs: (A, W)."""
    return A @ W.T + b, (A, W)


def activation_forward(Z, act):
    """A = f(Z), and the cache its backward pass needs: (Z, act)."""
    return ACTIVATIONS[act](Z), (Z, act)


def forward(X, weights, biases, act="relu"):
    """Logits of the MLP, and the cache [(linear cache, activation cache) for every layer]."""
    A, cache = X, []
    for l, (W, b) in enumerate(zip(weights, biases)):
        Z, linear_cache = linear_forward(A, W, b)
        if l < len(weights) - 1:
            A, act_cache = activation_forward(Z, act)
        else:
            A, act_cache = Z, None                      # no activation after the last layer
        cache.append((linear_cache, act_cache))
    return A, cache


def cross_entropy_forward(logits, y):
    """Mean of -log softmax(logits)[i, y_i], and the cache: (logits, y)."""
    return -log_softmax(logits)[torch.arange(len(y)), y].mean(), (logits, y)


# %% [markdown]
# A small random network and batch to test on: 20 inputs, hidden layers of 32 and 16
# units, 5 classes, 8 examples. The parameters get `requires_grad` so that autograd can
# compute the reference gradients.

# %%
SIZES = [20, 32, 16, 5]
g = torch.Generator().manual_seed(0)
weights = [(torch.randn(n_out, n_in, generator=g) / math.sqrt(n_in)).requires_grad_()
           for n_in, n_out in zip(SIZES[:-1], SIZES[1:])]
biases = [(0.1 * torch.randn(n_out, generator=g)).requires_grad_() for n_out in SIZES[1:]]
X_small = torch.randn(8, SIZES[0], generator=g)
y_small = torch.randint(0, SIZES[-1], (8,), generator=g)

logits, cache = forward(X_small, weights, biases)
loss, _ = cross_entropy_forward(logits, y_small)
loss.backward()                                     # autograd's answer, in .grad
dlcourse.check_close("our cross-entropy vs F.cross_entropy", loss, F.cross_entropy(logits, y_small))
print("logits", tuple(logits.shape), "| loss", round(loss.item(), 4))

# %% [markdown]
# ## 2. The top: softmax and cross-entropy together
#
# Take one example with logits $\mathbf{z}$ and label $y$. With $p = \operatorname{softmax}
# (\mathbf{z})$, its loss is
#
# $$ \ell = -\log p_y = -z_y + \log \sum_j e^{z_j} . $$
#
# Differentiate with respect to $z_k$. The first term gives $-[k = y]$; the second gives
# $e^{z_k} / \sum_j e^{z_j} = p_k$. So
#
# $$ \frac{\partial \ell}{\partial z_k} = p_k - [k = y], \qquad\text{i.e.}\qquad
#    \frac{\partial \ell}{\partial \mathbf{z}} = \mathbf{p} - \mathbf{e}_y , $$
#
# the predicted distribution minus the one-hot target. The softmax Jacobian of chapter 03
# and the derivative of the log cancel into this one subtraction, which is why frameworks
# fuse softmax and cross-entropy (`F.cross_entropy` takes logits). For the batch mean,
# every row is divided by $N$:
#
# $$ \delta_D \equiv \frac{\partial L}{\partial Z_D} = \frac{P - Y}{N}, \qquad Y = \text{one-hot}(\mathbf{y}) . $$
#
# In the convention, the loss is the top piece: its output is $L$ itself, so its `dout` is
# $\partial L/\partial L = 1$ (the check below passes a random number instead, and the
# gradient scales with it).

# %%
def cross_entropy_backward(dloss, cache):
    """dL/dlogits for L = mean cross-entropy: dloss * (softmax(logits) - onehot(y)) / N."""
    logits, y = cache
    P = softmax(logits)
    Y = F.one_hot(y, num_classes=logits.shape[1]).to(logits.dtype)
    return dloss * (P - Y) / len(y)


dlcourse.check_like_torch("cross-entropy", lambda logits, y: cross_entropy_forward(logits, y)[0], F.cross_entropy,
                          logits, y_small, backward=lambda g, logits, y: cross_entropy_backward(g, (logits, y)))

# %% [markdown]
# ## 3. A linear layer, backwards
#
# Suppose we know $\delta = \partial L / \partial Z$ for a layer $Z = AW^\top +
# \mathbf{1}\mathbf{b}^\top$: a matrix of shape $(N, d_\text{out})$, one row per example.
# Write the layer entry by entry, $Z_{ik} = \sum_j A_{ij}W_{kj} + b_k$, and apply the chain
# rule, summing over every $Z_{ik}$ that the parameter touches:
#
# $$ \frac{\partial L}{\partial W_{kj}} = \sum_i \delta_{ik} A_{ij}
#    \;\Rightarrow\; dW = \delta^\top A, \qquad
#    \frac{\partial L}{\partial b_k} = \sum_i \delta_{ik}
#    \;\Rightarrow\; d\mathbf{b} = \textstyle\sum_i \delta_{i,:}, \qquad
#    \frac{\partial L}{\partial A_{ij}} = \sum_k \delta_{ik} W_{kj}
#    \;\Rightarrow\; dA = \delta W . $$
#
# Three things to notice:
#
# - **Shapes check the algebra.** $dW$ must have $W$'s shape $(d_\text{out},
#   d_\text{in})$; from $\delta$ $(N, d_\text{out})$ and $A$ $(N, d_\text{in})$ the only
#   product that gives it is $\delta^\top A$. Likewise $dA$ $(N, d_\text{in})$ can only be
#   $\delta W$.
# - **The batch dimension is summed** in $dW$ and $d\mathbf{b}$: each example contributes
#   its own outer product $\delta_i A_i^\top$. The $1/N$ of the mean is already inside $\delta$.
# - **$dA$ is what flows on** to the layer below: the backward pass of a layer is
#   itself a linear map, with the transposed weights.

# %%
def linear_backward(delta, cache):
    """Given delta = dL/dZ for Z = A W^T + b and the cache (A, W), return (dL/dA, dL/dW, dL/db)."""
    A, W = cache
    dA = delta @ W                  # (N, out) @ (out, in) -> (N, in)
    dW = delta.T @ A                # (out, N) @ (N, in)   -> (out, in)
    db = delta.sum(dim=0)           # (out,)
    return dA, dW, db


# %% [markdown]
# To test a piece in isolation, use a random *upstream gradient* $G$: for $L = \sum
# G \odot Z$ we have $\partial L/\partial Z = G$ exactly, so autograd's gradients of this
# $L$ are what `linear_backward(G, cache)` must return. That is what
# `dlcourse.check_like_torch` does (chapter 03): it runs our layer and PyTorch's `F.linear`
# on the same inputs, backpropagates the same random $G$ through both, and compares the
# outputs, autograd's gradients and those of our hand-written backward pass, given as a
# function of $(G, \text{inputs})$.

# %%
A, W, b = torch.randn(6, 4), torch.randn(3, 4), torch.randn(3)
dlcourse.check_like_torch("linear", lambda A, W, b: linear_forward(A, W, b)[0], F.linear, A, W, b,
                          backward=lambda G, A, W, b: linear_backward(G, linear_forward(A, W, b)[1]))

# %% [markdown]
# ## 4. An activation, backwards
#
# $A = f(Z)$ acts entry by entry, so its Jacobian is diagonal, and the chain rule is an
# elementwise product:
#
# $$ \frac{\partial L}{\partial Z} = \frac{\partial L}{\partial A} \odot f'(Z) . $$
#
# The derivatives are chapter 03's:
# $\operatorname{ReLU}'(z) = [z > 0]$, $\sigma'(z) = \sigma(z)(1 - \sigma(z))$,
# $\tanh'(z) = 1 - \tanh^2 z$.

# %%
DERIVATIVES = {
    "relu": lambda z: (z > 0).to(z.dtype),
    "sigmoid": lambda z: sigmoid(z) * (1 - sigmoid(z)),
    "tanh": lambda z: 1 - tanh(z) ** 2,
}



def activation_backward(dA, cache):
    """dL/dZ = dL/dA * f'(Z), from the cache (Z, act)."""
    Z, act = cache
    return dA * DERIVATIVES[act](Z)


Z = torch.randn(6, 5)
for name in ACTIVATIONS:
    dlcourse.check_like_torch(name, lambda Z, name=name: activation_forward(Z, name)[0], TORCH_ACTIVATIONS[name], Z,
                              backward=lambda dA, Z, name=name: activation_backward(dA, activation_forward(Z, name)[1]))

# %% [markdown]
# ## 5. The whole backward pass
#
# Now chain the pieces from the top down. Start with $\delta_D = (P - Y)/N$; at each layer
# $l$, from $D$ down to $1$:
#
# $$ dW_l = \delta_l^\top A_{l-1}, \qquad d\mathbf{b}_l = \textstyle\sum_i (\delta_l)_{i,:},
#    \qquad \delta_{l-1} = (\delta_l W_l) \odot f'(Z_{l-1}) . $$
#
# Each step uses only $\delta_l$ and what the forward pass cached for that layer, so the
# backward pass costs about as much as the forward pass (two matrix products per layer
# instead of one). That economy, rather than the chain rule itself, is what made
# backpropagation practical.

# %%
def backward(dlogits, cache):
    """Given dlogits = dL/dZ_D and forward's cache, return dL/dW_l and dL/db_l for every layer."""
    n_layers = len(cache)
    grads_W, grads_b = [None] * n_layers, [None] * n_layers
    delta = dlogits
    for l in reversed(range(n_layers)):
        linear_cache, _ = cache[l]
        dA_prev, grads_W[l], grads_b[l] = linear_backward(delta, linear_cache)
        if l > 0:
            delta = activation_backward(dA_prev, cache[l - 1][1])    # through the activation below
    return grads_W, grads_b


def loss_and_gradients(X, y, weights, biases, act="relu"):
    """One forward and one backward pass: the loss, then the gradients of every W_l and b_l."""
    logits, cache = forward(X, weights, biases, act)
    loss, loss_cache = cross_entropy_forward(logits, y)
    grads_W, grads_b = backward(cross_entropy_backward(1.0, loss_cache), cache)
    return loss, grads_W, grads_b


# %% [markdown]
# Every gradient, checked against autograd (which we ran in section 1):

# %%
with torch.no_grad():
    _, grads_W, grads_b = loss_and_gradients(X_small, y_small, weights, biases)
for l in range(len(weights)):
    dlcourse.check_close(f"dW{l + 1}", grads_W[l], weights[l].grad)
    dlcourse.check_close(f"db{l + 1}", grads_b[l], biases[l].grad)

# %% [markdown]
# The same for the other two activations, one summary line each:

# %%
def mlp_loss(act):
    """The loss as a function of all the parameters, W_1..W_D then b_1..b_D."""
    def loss(*params):
        n = len(params) // 2
        return cross_entropy_forward(forward(X_small, list(params[:n]), list(params[n:]), act)[0], y_small)[0]
    return loss


def hand_gradients(act):
    """Our backward pass, in the form check_like_torch takes: (upstream g, *params) -> gradients."""
    def grads(g, *params):
        n = len(params) // 2
        logits, cache = forward(X_small, list(params[:n]), list(params[n:]), act)
        _, loss_cache = cross_entropy_forward(logits, y_small)
        grads_W, grads_b = backward(cross_entropy_backward(g, loss_cache), cache)
        return grads_W + grads_b
    return grads


for act in ("sigmoid", "tanh"):
    dlcourse.check_like_torch(f"{act} MLP", None, mlp_loss(act), *weights, *biases,
                              backward=hand_gradients(act), verbose=False)
    print(f"OK {act}: all {2 * len(weights)} hand-written gradients match autograd")

# %% [markdown]
# ## 6. Against the reference and PyTorch's MLP
#
# `dlcourse.models.ManualMLP` is the course's reference for this chapter: the same matrix
# backward pass, in a class with `forward`, `loss`, `backward` and `step`, built from
# `dlcourse.layers`, which holds the pieces of sections 1 to 4 in the same convention. Three ways to
# get the gradients of one network, which must agree: our functions, the reference, and
# autograd on the `nn.Module` version `dlcourse.models.MLP` (same weights, copied with
# `ManualMLP.from_linear`).

# %%
torch.manual_seed(0)
mlp = MLP(SIZES, activation="tanh")
manual = ManualMLP.from_linear(mlp)
our_W = [lin.weight.detach().clone() for lin in mlp.net if isinstance(lin, nn.Linear)]
our_b = [lin.bias.detach().clone() for lin in mlp.net if isinstance(lin, nn.Linear)]

F.cross_entropy(mlp(X_small), y_small).backward()                # 1. autograd
ref_loss = manual.loss(X_small, y_small)                          # 2. the reference
ref_W, ref_b = manual.backward(y_small)
our_loss, grads_W, grads_b = loss_and_gradients(X_small, y_small, our_W, our_b, "tanh")   # 3. ours

dlcourse.check_close("loss: ours vs ManualMLP", our_loss, ref_loss)
linears = [m for m in mlp.net if isinstance(m, nn.Linear)]
for l, lin in enumerate(linears, start=1):
    dlcourse.check_close(f"dW{l}: ours vs ManualMLP", grads_W[l - 1], ref_W[l - 1], verbose=False)
    dlcourse.check_close(f"db{l}: ours vs ManualMLP", grads_b[l - 1], ref_b[l - 1], verbose=False)
    dlcourse.check_close(f"dW{l}: ours vs autograd on nn.Linear", grads_W[l - 1], lin.weight.grad, verbose=False)
    dlcourse.check_close(f"db{l}: ours vs autograd on nn.Linear", grads_b[l - 1], lin.bias.grad, verbose=False)
print(f"OK all {4 * len(linears)} comparisons: ours == ManualMLP == autograd on dlcourse.models.MLP")

# %% [markdown]
# ## 7. Gradient checking
#
# Comparing with autograd works only when an autograd version exists. For a new layer, or
# to test autograd itself, compare with the definition of the derivative instead. The
# **central difference**
#
# $$ \frac{\partial f}{\partial x_i} \approx \frac{f(\mathbf{x} + \varepsilon\mathbf{e}_i) -
#    f(\mathbf{x} - \varepsilon\mathbf{e}_i)}{2\varepsilon} $$
#
# has error $O(\varepsilon^2)$: in the Taylor expansions of $f(x \pm \varepsilon)$ the
# even-order terms cancel, leaving $\varepsilon^2 f'''(x)/6$. The one-sided difference
# $(f(x + \varepsilon) - f(x))/\varepsilon$ keeps the $\varepsilon f''(x)/2$ term: error
# $O(\varepsilon)$.
#
# **Why float64.** So small $\varepsilon$ is better? Only until rounding takes over. $f$ is
# computed with a relative rounding error of about $u$ (the unit roundoff: $6 \times
# 10^{-8}$ in float32, $1.1 \times 10^{-16}$ in float64), and dividing the difference by
# $2\varepsilon$ magnifies it to about $u|f|/\varepsilon$. The total error
# $\approx \varepsilon^2|f'''|/6 + u|f|/\varepsilon$ is smallest near $\varepsilon \approx
# u^{1/3}$: in float64 that is $\varepsilon \approx 10^{-5}$ with an error around
# $10^{-10}$; in float32, $\varepsilon \approx 10^{-2}$ with an error around $10^{-4}$, too
# close to the size of a real bug. Let us measure it, on the derivative of our tanh
# network's loss with respect to one weight:

# %%
def loss_wrt_w11(w, dtype):
    """The small tanh network's loss as a function of its first weight W1[0, 0] alone."""
    Ws = [W.detach().to(dtype).clone() for W in our_W]
    bs = [b.detach().to(dtype) for b in our_b]
    Ws[0][0, 0] = w
    return cross_entropy_forward(forward(X_small.to(dtype), Ws, bs, "tanh")[0], y_small)[0].item()


w0 = our_W[0][0, 0].item()
with torch.no_grad():                               # the exact value: our backward pass, in float64
    W64, b64, X64 = [W.double() for W in our_W], [b.double() for b in our_b], X_small.double()
    _, grads_W64, grads_b64 = loss_and_gradients(X64, y_small, W64, b64, "tanh")
exact = grads_W64[0][0, 0].item()
epsilons = np.logspace(-12, 0, 49)
errors = {"central, float64": [], "one-sided, float64": [], "central, float32": []}
for eps in epsilons:
    for dtype, label in ((torch.float64, "float64"), (torch.float32, "float32")):
        w_lo, w_hi = torch.tensor(w0 - eps, dtype=dtype), torch.tensor(w0 + eps, dtype=dtype)
        central = (loss_wrt_w11(w_hi, dtype) - loss_wrt_w11(w_lo, dtype)) / (2 * eps)
        errors[f"central, {label}"].append(abs(central - exact) / abs(exact))
    one_sided = (loss_wrt_w11(torch.tensor(w0 + eps, dtype=torch.float64), torch.float64)
                 - loss_wrt_w11(torch.tensor(w0, dtype=torch.float64), torch.float64)) / eps
    errors["one-sided, float64"].append(abs(one_sided - exact) / abs(exact))

# %%
fig, ax = plt.subplots(figsize=(7, 4))
for label, errs in errors.items():
    ax.loglog(epsilons, np.maximum(errs, 1e-12), marker=".", label=label)
ax.set(xlabel="ε", ylabel="relative error of the numerical derivative",
       title="finite differences: truncation (right) vs rounding (left)", ylim=(1e-12, 10))
ax.legend()
plt.show()

# %% [markdown]
# Read the V shapes from the right: the truncation error falls as $\varepsilon^2$ for
# central differences (steep slope) but only as $\varepsilon$ for the one-sided one; then,
# to the left of the minimum, rounding error grows as $1/\varepsilon$. In float64 the best
# central difference, near $\varepsilon = 10^{-5}$, is good to about $10^{-10}$. In float32
# the best is around $10^{-3}$ to $10^{-4}$, for $\varepsilon$ between $10^{-4}$ and
# $10^{-2}$, and for tiny $\varepsilon$ the perturbation vanishes entirely ($w \pm
# \varepsilon$ rounds to $w$: the estimate is $0$, an error of $100\%$).
#
# **What error to expect.** Compare analytic and numerical gradients entry by entry with
# the *relative* error $|a - n| / (|a| + |n|)$, which does not depend on the scale of the
# loss, and report the largest. In float64 with $\varepsilon$ around $10^{-5}$ to $10^{-6}$,
# a correct gradient gives about $10^{-10}$ to $10^{-8}$ on typical entries. Entries much
# smaller than the rest fare worse, because the rounding error $u|f|/\varepsilon$ is an
# *absolute* error: on an entry of $10^{-5}$ it can reach $10^{-6}$ relative. Kinks (ReLU,
# max) also raise it when $x \pm \varepsilon$ lands on two sides of the kink. A real bug gives
# $10^{-3}$ or more. So (a CS231n rule of thumb, adjusted for float64): below $10^{-6}$ is
# right, $10^{-6}$ to $10^{-3}$ needs a look at *which* entries are off, above $10^{-2}$
# is a bug.
#
# `dlcourse.checks.numerical_gradient(f, x)` perturbs every entry of `x` in turn.
# We compare the first layer's weight gradient from our float64 backward pass (computed
# above) with $\varepsilon = 10^{-5}$, near the optimum we derived:

# %%
def loss_of_W1(W1):
    return cross_entropy_forward(forward(X64, [W1] + W64[1:], b64, "tanh")[0], y_small)[0]


numerical = numerical_gradient(loss_of_W1, W64[0], eps=1e-5)
rel = (grads_W64[0] - numerical).abs() / (grads_W64[0].abs() + numerical.abs())
print(f"dW1: {numerical.numel()} entries; relative error: median {rel.median():.1e}, "
      f"max {rel.max():.1e} (on an entry of size {grads_W64[0].flatten()[rel.argmax()].abs():.1e}; "
      f"the largest entry is {grads_W64[0].abs().max():.1e})")

# %% [markdown]
# `dlcourse.grad_check(f, inputs, analytic=...)` does this for every input of `f` at once
# (promoting them to float64) and fails with a message if any relative error exceeds `tol`:

# %%
def loss_of_params(*params):
    Ws, bs = list(params[:3]), list(params[3:])
    return cross_entropy_forward(forward(X64, Ws, bs, "tanh")[0], y_small)[0]


dlcourse.grad_check(loss_of_params, W64 + b64, analytic=grads_W64 + grads_b64, eps=1e-5, tol=1e-6)

# %% [markdown]
# **A bug, caught.** Here is a classic one. For the sigmoid, $\sigma'(z) = a(1 - a)$ with
# $a = \sigma(z)$, so it is tempting to reuse the activation. But `DERIVATIVES` takes $Z$,
# and a tired programmer passes the activation $A_{l-1} = \sigma(Z_{l-1})$, which sits right
# there in layer $l$'s linear cache, to `DERIVATIVES["sigmoid"]`, which applies $\sigma$ a second time: $\sigma'(\sigma(z))$
# instead of $\sigma'(z)$. Nothing crashes, the shapes are right, and the "gradient" even
# points roughly downhill, because $\sigma'$ is always positive. Only the gradient check
# notices:

# %%
def buggy_backward(dlogits, cache):
    delta = dlogits
    grads_W, grads_b = [None] * len(cache), [None] * len(cache)
    for l in reversed(range(len(cache))):
        linear_cache, _ = cache[l]
        dA_prev, grads_W[l], grads_b[l] = linear_backward(delta, linear_cache)
        if l > 0:
            A_prev = linear_cache[0]
            delta = dA_prev * DERIVATIVES["sigmoid"](A_prev)   # BUG: A_{l-1}, not Z_{l-1}
    return grads_W, grads_b


logits64, cache64 = forward(X64, W64, b64, "sigmoid")
bad_W, bad_b = buggy_backward(cross_entropy_backward(1.0, (logits64, y_small)), cache64)


def sigmoid_loss(*params):
    return cross_entropy_forward(forward(X64, list(params[:3]), list(params[3:]), "sigmoid")[0], y_small)[0]


try:
    dlcourse.grad_check(sigmoid_loss, W64 + b64, analytic=bad_W + bad_b, eps=1e-5, tol=1e-6)
except dlcourse.CheckError as err:
    print("the gradient check caught it:\n ", err)
for l in range(3):
    def loss_of_Wl(W, l=l):
        return sigmoid_loss(*(W64[:l] + [W] + W64[l + 1:] + b64))
    err = max_relative_error(bad_W[l], numerical_gradient(loss_of_Wl, W64[l], eps=1e-5))
    print(f"  layer {l + 1}: relative error of the buggy dW{l + 1}: {err:.1e}")

# %% [markdown]
# The last layer's gradient is still right (the bug only enters below it), and the error
# appears from layer 2 down: the per-layer check tells you *where* to look.
#
# ## 8. Initialisation: keeping the signal alive
#
# Chapter 03 gave each deep network "a weight scale suited to its activation". Here is
# where those scales come from. Consider one unit of layer $l$,
#
# $$ z = \sum_{j=1}^{n_\text{in}} w_j a_j , $$
#
# with the weights $w_j$ drawn independently with mean $0$ and variance $\sigma_w^2$,
# independent of the inputs $a_j$. Then $\mathbb{E}[z] = 0$ and
#
# $$ \operatorname{Var}(z) = \sum_j \mathbb{E}[w_j^2]\,\mathbb{E}[a_j^2] = n_\text{in}\,\sigma_w^2\,\mathbb{E}[a^2] . $$
#
# Through $D$ layers these factors *multiply*. If $n_\text{in}\sigma_w^2\,\mathbb{E}[a^2]
# / \operatorname{Var}(z_\text{prev})$ is $0.5$, after 10 layers the signal is $0.5^{10}
# \approx 10^{-3}$ of its size; if it is $2$, it is $10^3$ times larger. We want it to be $1$.
#
# - **Tanh (and sigmoid-like) units, Xavier/Glorot.** Near $0$, $\tanh z \approx z$, so
#   $\mathbb{E}[a^2] \approx \operatorname{Var}(z_\text{prev})$ and the forward pass keeps its
#   variance when $\sigma_w^2 = 1/n_\text{in}$. The backward pass, $\delta_{l-1} = (\delta_l
#   W_l) \odot f'$, sums over the $n_\text{out}$ units *above*, and keeps its variance when
#   $\sigma_w^2 = 1/n_\text{out}$. Glorot & Bengio (2010) compromise:
#
#   $$ \sigma_w^2 = \frac{2}{n_\text{in} + n_\text{out}}, \qquad\text{e.g. } W \sim
#      U\bigl(-a, a\bigr),\ a = \sqrt{\frac{6}{n_\text{in} + n_\text{out}}} $$
#
#   (a uniform on $[-a, a]$ has variance $a^2/3$).
# - **ReLU units, He.** ReLU zeroes the negative half of a symmetric $z$, so
#   $\mathbb{E}[\operatorname{ReLU}(z)^2] = \tfrac12\operatorname{Var}(z)$: each layer
#   halves the signal. He et al. (2015) double the variance to compensate:
#
#   $$ \sigma_w^2 = \frac{2}{n_\text{in}}, \qquad W \sim \mathcal{N}\bigl(0, 2/n_\text{in}\bigr) . $$
#
# - **The naive choice**, $\mathcal{N}(0, 0.01^2)$ whatever the width: with $n_\text{in} =
#   256$ the factor is $256 \times 10^{-4} \approx 0.026$ per layer.
#
# Frameworks write $\text{std} = \text{gain}/\sqrt{\text{fan}}$, with gain $1$ for linear
# and sigmoid, $5/3$ for tanh, $\sqrt 2$ for ReLU (`torch.nn.init.calculate_gain`).
#
# From scratch, both fit in two lines. A weight of shape $(n_\text{out}, n_\text{in})$ has
# fan-in $n_\text{in}$ and fan-out $n_\text{out}$:

# %%
def xavier_uniform(shape, generator=None):
    n_out, n_in = shape
    a = math.sqrt(6 / (n_in + n_out))
    return torch.empty(shape).uniform_(-a, a, generator=generator)


def he_normal(shape, generator=None):
    n_out, n_in = shape
    return torch.empty(shape).normal_(0, math.sqrt(2 / n_in), generator=generator)


# %% [markdown]
# With the same random generator state they must give *the same numbers* as
# `torch.nn.init` and the reference `dlcourse.weight_init`, and their variance must be the formula's:

# %%
shape = (256, 128)
gen = lambda: torch.Generator().manual_seed(0)          # a fresh generator with seed 0
w_ours = xavier_uniform(shape, gen())
dlcourse.check_close("xavier_uniform vs torch.nn.init", w_ours, nn.init.xavier_uniform_(torch.empty(shape), generator=gen()))
dlcourse.check_close("xavier_uniform vs dlcourse.weight_init", w_ours, weight_init.xavier_uniform_(torch.empty(shape), generator=gen()))
w_he = he_normal(shape, gen())
dlcourse.check_close("he_normal vs torch.nn.init.kaiming_normal_", w_he,
                     nn.init.kaiming_normal_(torch.empty(shape), nonlinearity="relu", generator=gen()))
dlcourse.check_close("he_normal vs dlcourse.weight_init.kaiming_normal_", w_he,
                     weight_init.kaiming_normal_(torch.empty(shape), nonlinearity="relu", generator=gen()))
print(f"Xavier: variance {w_ours.var():.5f}, formula 2/(n_in + n_out) = {2 / sum(shape):.5f}")
print(f"He:     variance {w_he.var():.5f}, formula 2/n_in = {2 / shape[1]:.5f}")

# %% [markdown]
# **Seeing it.** A 10-layer network of 256 units per layer, fed a batch of 512 standard
# normal inputs. For each activation and each initialisation we record the standard
# deviation of every layer's activations (forward), and of every layer's weight gradient
# as our `backward` computes it (backward), for a random labelling of the batch.

# %%
def layer_statistics(act, init, depth=DEPTH, width=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    sizes = [64] + [width] * depth + [10]
    Ws = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        if init == "naive N(0, 0.01²)":
            Ws.append(torch.randn(n_out, n_in, generator=g) * 0.01)
        elif init == "Xavier":
            Ws.append(xavier_uniform((n_out, n_in), g))
        else:
            Ws.append(he_normal((n_out, n_in), g))
    bs = [torch.zeros(n) for n in sizes[1:]]
    X = torch.randn(512, 64, generator=g)
    y = torch.randint(0, 10, (512,), generator=g)
    logits, cache = forward(X, Ws, bs, act)
    grads_W, _ = backward(cross_entropy_backward(1.0, (logits, y)), cache)
    act_std = [A.std().item() for (A, _), _ in cache[1:]]     # hidden layers: the inputs of layers 2..D
    grad_std = [dW.std().item() for dW in grads_W[:-1]]
    return act_std, grad_std


INITS = ["naive N(0, 0.01²)", "Xavier", "He"]
stats = {(act, init): layer_statistics(act, init) for act in ("tanh", "relu") for init in INITS}

# %%
fig, axes = plt.subplots(2, 2, figsize=(11, 6.5), sharex=True)
for col, act in enumerate(("tanh", "relu")):
    for init in INITS:
        act_std, grad_std = stats[act, init]
        layers = range(1, len(act_std) + 1)
        axes[0, col].semilogy(layers, act_std, marker="o", label=init)
        axes[1, col].semilogy(layers, grad_std, marker="o", label=init)
    axes[0, col].set(title=f"{act}: forward, std of activations", ylabel="std")
    axes[1, col].set(title=f"{act}: backward, std of dL/dW", ylabel="std", xlabel="hidden layer")
axes[0, 0].legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# What the four panels say:
#
# - **Naive** $\mathcal{N}(0, 0.01^2)$: the activations shrink by a factor of about $6$
#   (tanh; $1/\sqrt{0.026}$) or $9$ (ReLU, which also halves the variance) per layer, to
#   $10^{-8}$ and $10^{-10}$ at layer 10: the network gives almost the same output for
#   every input. The weight gradients are flat across layers but tiny, $10^{-11}$ and
#   $10^{-12}$: $dW_l = \delta_l^\top A_{l-1}$ multiplies a backward signal that shrinks
#   towards the input by activations that shrink towards the output, so the two effects
#   cancel in the profile but not in the size. No learning rate rescues that.
# - **Xavier** keeps tanh's signal roughly steady (it drifts down slowly because tanh
#   compresses; the gain $5/3$ corrects that). For ReLU it is too small by exactly the
#   factor $2$ of He's argument: the activations' variance halves at every layer (the
#   std falls from $0.4$ to $0.02$), and the gradients are $100$ times smaller than He's.
# - **He** keeps ReLU's activations level through all 10 layers, which is why chapter
#   03's 10-layer ReLU network could train. For tanh, He's $\sqrt{2/n}$ is close to the
#   $\tfrac53/\sqrt{n}$ that `calculate_gain("tanh")` recommends, and works as well.
#
# Initialisation fixes the *start* of training. Normalisation layers (chapter 07) keep the
# statistics in range during training, and residual connections (chapter 12) give the
# gradient a path around each layer. PyTorch's `nn.Linear` default, $U(\pm1/\sqrt{n_\text{in}})$,
# has variance $1/(3n_\text{in})$, a third of the forward-preserving value: fine for a few
# layers, which is why this chapter and the last chose the initialisation explicitly for
# the deep nets.

# %% [markdown]
# ## 9. Training with our own gradients
#
# Time to use the backward pass for what it is for. We train a network with *this
# chapter's* functions: `loss_and_gradients` (our `forward`, `cross_entropy_forward`,
# `cross_entropy_backward` and `backward`, no autograd anywhere) and plain mini-batch SGD,
# $W \leftarrow W - \eta\,dW$, on chapter 03's digits. Same data split and scaling as
# chapter 03.

# %%
X_all, y_all = dlcourse.data.load_digits()
X_trval, X_test, y_trval, y_test = train_test_split(X_all, y_all, test_size=0.2, stratify=y_all, random_state=0)
X_train, X_val, y_train, y_val = train_test_split(X_trval, y_trval, test_size=0.2, stratify=y_trval,
                                                  random_state=0)
PIXEL_MEAN, PIXEL_STD = (X_train / 16).mean(), (X_train / 16).std()


def to_tensors(X, y):
    return torch.from_numpy(((X / 16 - PIXEL_MEAN) / PIXEL_STD).astype(np.float32)), torch.from_numpy(y)


(Xtr, ytr), (Xva, yva), (Xte, yte) = to_tensors(X_train, y_train), to_tensors(X_val, y_val), to_tensors(X_test, y_test)
print(f"train {len(ytr)}, validation {len(yva)}, test {len(yte)}")

# %% [markdown]
# The model: 64 inputs, hidden layers of 256 and 128 ReLU units, 10 classes, with our
# `he_normal` initialisation from section 8 (the units are ReLUs) and zero biases.

# %%
DIGIT_SIZES = [64, 256, 128, 10]
init_gen = torch.Generator().manual_seed(0)
Ws = [he_normal((n_out, n_in), init_gen) for n_in, n_out in zip(DIGIT_SIZES[:-1], DIGIT_SIZES[1:])]
bs = [torch.zeros(n_out) for n_out in DIGIT_SIZES[1:]]


def scores(X, y):
    """(loss, accuracy) of the current Ws, bs on X, y."""
    logits, _ = forward(X, Ws, bs)
    return cross_entropy_forward(logits, y)[0].item(), accuracy(logits, y)


val_loss, val_acc = scores(Xva, yva)
print(f"{sum(p.numel() for p in Ws + bs)} parameters; before training: val loss {val_loss:.3f} "
      f"(ln 10 = {math.log(10):.3f}), val accuracy {val_acc:.1%}, logits' std {forward(Xva, Ws, bs)[0].std():.2f}")

# %% [markdown]
# **Why not $\ln 10 \approx 2.30$?** That is the loss of a network that gives all ten
# classes the same logit. He initialisation does not aim for that: it keeps the *variance*
# of the pre-activations steady from layer to layer, and our standardised inputs have mean
# square 1. The first layer's weights (variance $2/n_\text{in}$) make $\operatorname{Var}(Z_1)
# \approx 2$; each later layer halves it through the ReLU and doubles it back with its own
# weights. So the logits come out with variance about 2 (std about 1.4), differently for each
# class and each digit. For logits drawn with variance $s^2$ the expected loss is a little
# under $\ln 10 + s^2/2 \approx 3.3$ (from $\mathbb{E}[e^{z}] = e^{s^2/2}$ inside the
# log-sum-exp): the network starts confidently wrong on many digits. That is harmless here,
# since the first few SGD steps shrink the logits. To start at exactly $\ln 10$, scale the
# last layer's weights down (or set them to zero): the hidden layers keep He's variance and
# the logits start near 0.
#
# The training loop is all there is to it: shuffle, then for each mini-batch one forward
# and one backward pass and an SGD step on every weight. `dlcourse`'s `History` and
# `LivePlot` draw the same live loss plot as `dlcourse.fit`.

# %%
history, plot = dlcourse.History(), LivePlot("our forward/backward on digits, plain SGD")
order = torch.Generator().manual_seed(0)
for epoch in range(EPOCHS):
    total = 0.0
    for idx in torch.randperm(len(ytr), generator=order).split(BATCH_SIZE):
        loss, grads_W, grads_b = loss_and_gradients(Xtr[idx], ytr[idx], Ws, bs)
        for p, grad in zip(Ws + bs, grads_W + grads_b):
            p -= LR * grad                       # SGD, in place: W <- W - lr * dW
        total += loss.item() * len(idx)
    (val_loss, val_acc), (_, train_acc) = scores(Xva, yva), scores(Xtr, ytr)
    history.log(train_loss=total / len(ytr), val_loss=val_loss, train_accuracy=train_acc, val_accuracy=val_acc)
    plot.update(history)
figure = plot.close(history)
print(f"after {EPOCHS} epochs: train loss {history.last('train_loss'):.4f}, "
      f"val accuracy {history.last('val_accuracy'):.1%}")

# %% [markdown]
# The first epoch's training loss sits well above its validation loss, and that is no
# bug: `train_loss` is the average over the epoch's batches, each scored by the network *as
# it was at that batch* (the first ones near 3.1, untrained), while `val_loss` is measured
# once, by the network at the end of the epoch. From then on the network changes less within
# an epoch and the two curves come together.

# %%
test_loss, test_acc = scores(Xte, yte)
print(f"test accuracy of our hand-written MLP: {test_acc:.1%} (test loss {test_loss:.3f})")

# %% [markdown]
# About 97% on digits it has never seen, close to chapter 03's autograd-trained MLP
# with Adam. Any remaining doubt that our gradients are autograd's? Train both for one
# epoch from the same weights, on the same batches: `torch.optim.SGD` with autograd's
# gradients on `MLP`, and our functions with ours. The weights must still agree.

# %%
torch.manual_seed(1)
twin = MLP(DIGIT_SIZES, activation="relu")
twin_linears = [m for m in twin.net if isinstance(m, nn.Linear)]
Ws_ours = [lin.weight.detach().clone() for lin in twin_linears]
bs_ours = [lin.bias.detach().clone() for lin in twin_linears]
opt = torch.optim.SGD(twin.parameters(), lr=LR)
for idx in torch.randperm(len(ytr), generator=torch.Generator().manual_seed(0)).split(BATCH_SIZE):
    opt.zero_grad()
    F.cross_entropy(twin(Xtr[idx]), ytr[idx]).backward()
    opt.step()
    _, grads_W, grads_b = loss_and_gradients(Xtr[idx], ytr[idx], Ws_ours, bs_ours)
    for p, grad in zip(Ws_ours + bs_ours, grads_W + grads_b):
        p -= LR * grad
for l, (lin, W, b) in enumerate(zip(twin_linears, Ws_ours, bs_ours), start=1):
    dlcourse.check_close(f"W{l} after one epoch: autograd + torch.optim.SGD vs ours", W, lin.weight)
    dlcourse.check_close(f"b{l} after one epoch: autograd + torch.optim.SGD vs ours", b, lin.bias)

# %% [markdown]
# After 36 steps the two sets of weights still agree to float32 rounding: the hand-written
# backward pass and autograd take the same path downhill. (`ManualMLP` trains the same way,
# `loss`, `backward`, `step`, with the same pieces from `dlcourse.layers`.)
#
# ## 10. Exercises
#
# Each exercise cell holds a placeholder. Replace it, run the cell, then run the check cell
# under it: it says whether your answer is right and, if not, what to change (the checks
# live in `dlcourse.exercises.chapters.ch04_backprop`). Worked solutions are in
# `solutions/chapters/04_backprop.py` (try first!).
#
# ### Exercise 1: ELU, backwards
#
# Write `elu_backward(dA, cache)` in the chapter's convention: an `elu_forward(Z, alpha)`
# would store `cache = (Z, alpha)`; given the upstream gradient $dA = \partial L/\partial A$
# for $A = \operatorname{ELU}(Z)$, return $\partial L/\partial Z$. (Chapter 03 derived
# $\operatorname{ELU}'$; at $z = 0$ use the negative branch, as PyTorch does.)

# %%
def elu_backward(dA, cache):
    """dL/dZ for A = ELU(Z), given dA = dL/dA and cache = (Z, alpha)."""
    return None     # YOUR CODE HERE


# %%
exercises.check_elu_backward(elu_backward)

# %% [markdown]
# ### Exercise 2: the gradient of the mean squared error
#
# For regression the loss is often $L = \frac{1}{M}\sum_{k}(\hat y_k - y_k)^2$, averaged
# over all $M$ entries of the prediction (this is `F.mse_loss`). Derive $\partial L /
# \partial \hat y$ and write `mse_backward(dloss, cache)`, with `cache = (pred, target)`
# and `dloss` the upstream gradient (1 at the top of a network), like
# `cross_entropy_backward`. It plays the part of $(P - Y)/N$ at the top of a regression
# network.

# %%
def mse_backward(dloss, cache):
    """dL/dpred for L = mean((pred - target)^2), times dloss; cache = (pred, target)."""
    return None     # YOUR CODE HERE


# %%
exercises.check_mse_backward(mse_backward)

# %% [markdown]
# ### Exercise 3: LeCun initialisation
#
# Before Xavier there was LeCun et al. (1998): $\sigma_w^2 = 1/n_\text{in}$, the
# forward-only version of the argument in section 8 (it is what SELU networks use).
# Write `lecun_normal(shape, generator)` for a weight of shape $(n_\text{out},
# n_\text{in})$, drawing from $\mathcal{N}(0, 1/n_\text{in})$ with `.normal_(...,
# generator=generator)` as `he_normal` does.

# %%
def lecun_normal(shape, generator=None):
    """A (n_out, n_in) weight drawn from N(0, 1 / n_in)."""
    return None     # YOUR CODE HERE


# %%
exercises.check_lecun_normal(lecun_normal)

# %% [markdown]
# **Graded practice.** The assignment `a01_activations_backprop` (in
# `release/a01_activations_backprop/`) asks for the forward and backward pass of a 2-layer
# MLP in matrix form and a central-difference `numerical_gradient`, checked the way this
# chapter checks them, with partial credit per task.
#
# ## 11. Summary
#
# - Backpropagation is the chain rule applied from the loss down, reusing the forward
#   pass's cached inputs $A_{l-1}$ and pre-activations $Z_l$. Per layer:
#   $dW_l = \delta_l^\top A_{l-1}$, $d\mathbf{b}_l = \sum_i (\delta_l)_i$,
#   $\delta_{l-1} = (\delta_l W_l) \odot f'(Z_{l-1})$, starting from $\delta_D = (P - Y)/N$
#   for softmax cross-entropy. Shapes check the algebra.
# - It costs about as much as the forward pass, and our version equals `torch.autograd`,
#   the reference `ManualMLP`, and a `torch.optim.SGD` training run step for step.
# - Gradient checking: central differences (error $O(\varepsilon^2)$), in float64, with
#   $\varepsilon \approx 10^{-5}$; relative errors below $10^{-6}$ mean correct, above
#   $10^{-2}$ mean a bug. Kinks and near-zero entries need judgment. Bugs that crash nothing
#   and still lower the loss are caught this way.
# - Initialisation keeps the variance of activations and gradients constant across layers:
#   Xavier/Glorot $\sigma_w^2 = 2/(n_\text{in} + n_\text{out})$ for tanh-like units, He
#   $\sigma_w^2 = 2/n_\text{in}$ for ReLU. A fixed small scale makes deep signals vanish.
#
# ## References
#
# - S. Linnainmaa (1970). *The representation of the cumulative rounding error of an
#   algorithm as a Taylor expansion of the local rounding errors.* Master's thesis,
#   University of Helsinki (reverse-mode differentiation).
# - P. J. Werbos (1974). *Beyond regression: new tools for prediction and analysis in the
#   behavioral sciences.* PhD thesis, Harvard University.
# - D. E. Rumelhart, G. E. Hinton and R. J. Williams (1986). *Learning representations by
#   back-propagating errors.* Nature 323, 533–536.
# - S. Hochreiter (1991). *Untersuchungen zu dynamischen neuronalen Netzen.* Diploma thesis,
#   TU München.
# - Y. Bengio, P. Simard and P. Frasconi (1994). *Learning long-term dependencies with
#   gradient descent is difficult.* IEEE Transactions on Neural Networks 5(2), 157–166.
# - Y. LeCun, L. Bottou, G. B. Orr and K.-R. Müller (1998). *Efficient BackProp.* In
#   Neural Networks: Tricks of the Trade, Springer.
# - X. Glorot and Y. Bengio (2010). *Understanding the difficulty of training deep
#   feedforward neural networks.* AISTATS.
# - K. He, X. Zhang, S. Ren and J. Sun (2015). *Delving deep into rectifiers: surpassing
#   human-level performance on ImageNet classification.* ICCV.
# - A. Karpathy et al. *CS231n: Convolutional Neural Networks for Visual Recognition*,
#   course notes, Stanford ("Gradient checks"; "Backpropagation, intuitions").
# - A. G. Baydin, B. A. Pearlmutter, A. A. Radul and J. M. Siskind (2018). *Automatic
#   differentiation in machine learning: a survey.* JMLR 18(153), 1–43.
