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
# # 08 · Schedules and stability
#
# The learning rate is the one setting that decides whether a network trains at all. Too
# small and nothing moves; too large and the loss explodes; and the best value changes
# during a run: large early, to cross the landscape, small late, to settle into a minimum.
# This chapter builds the schedules that change it, a tool that finds its range, and the
# two cures for gradients that blow up: clipping and normalization.
#
# **What you will build**
#
# - step decay, cosine annealing with warm restarts (SGDR), linear warmup and Smith's
#   one-cycle policy, each a function of the step, equal to `torch.optim.lr_scheduler`
#   step for step;
# - the learning-rate range test ("LR finder") on real CIFAR-10 images, and a one-cycle
#   run trained with the rate it suggests, scheduled per step by `dlcourse.fit`;
# - exploding gradients in a deep plain network, measured layer by layer, then tamed by
#   clipping (by norm and by value, both from scratch, equal to `torch.nn.utils`) and by
#   normalization (BatchNorm, LayerNorm).
#
# **Prerequisites**: [04 · Backprop by hand](../part1_foundations/04_backprop.ipynb)
# (He initialisation), [05 · Losses](05_losses.ipynb) (cross-entropy), SGD with momentum.
#
# **Run time**: CPU (2 cores): full mode about 50 s of CPU time, fast mode about 12 s (on
# two cores shared four ways with other jobs the cells took 160 s and 25–45 s of wall time);
# GPU: not measured yet.

# %% [markdown]
# ## Setup

# %%
import math
from functools import partial

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim import lr_scheduler as L
from torch.utils.data import DataLoader

import dlcourse
from dlcourse import schedules as ref                 # the course's reference schedules
from dlcourse import clipping as ref_clip
from dlcourse.exercises.chapters import ch08_schedules as exercises
from dlcourse.lr_finder import lr_find, smoothed_losses

device = dlcourse.setup(seed=0)

# %% [markdown]
# Learning rates are compared below to rounding error and gradient norms measured as they
# are, so every run here is in float32 (`amp=False`), whatever mixed precision the line
# above reports.
#
# The budget. `FAST` is set by CI (`DLCOURSE_FAST=1`): the same real images, fewer of them.

# %% tags=["parameters"]
FAST = dlcourse.fast_mode()
TRAIN_LIMIT = 2000 if FAST else 10000   # CIFAR-10 training images (of 50,000)
TEST_LIMIT = 1000 if FAST else None     # CIFAR-10 test images (None: all 10,000)
FINDER_STEPS = 60 if FAST else 100      # batches of the learning-rate range test
EPOCHS = 3 if FAST else 8               # constant rate vs one-cycle
DEEP_EPOCHS = 1 if FAST else 4          # the deep plain network and its cures
DEPTH = 20                              # hidden layers of the deep network
BATCH_SIZE = 128

# %% [markdown]
# ## 1. A schedule is a function of the step
#
# An optimizer step uses the rate $\eta_t = \eta \cdot f(t)$: the rate we set, $\eta$, times
# a factor $f$ of the step count $t = 0, 1, 2, \dots$. Writing each schedule as such a
# function keeps it short, lets us plot it without an optimizer, and turns into a real
# scheduler with one line: `torch.optim.lr_scheduler.LambdaLR(optimizer, f)` multiplies
# each parameter group's rate by `f(t)` (that is what `dlcourse.schedules.as_scheduler`
# does). Each function below is checked two ways: against torch's own scheduler, run for a
# whole schedule on a real optimizer (`schedule_trace` records the rate of every step),
# and against the course's reference `dlcourse.schedules`.

# %%
LR = 0.1


def rates(f, steps):
    return torch.tensor([LR * f(t) for t in range(steps)], dtype=torch.float64)


def check_schedule(name, ours, make_theirs, reference, steps):
    """Our schedule against torch's scheduler and the package's, over `steps` optimizer steps."""
    theirs = torch.tensor(ref.schedule_trace(make_theirs, steps, LR), dtype=torch.float64)
    # torch updates most rates recursively (lr *= ...), we use closed forms: equal up to rounding
    dlcourse.check_close(f"{name} == torch", rates(ours, steps), theirs, atol=1e-12 * LR, rtol=1e-9)
    dlcourse.check_close(f"{name} == dlcourse.schedules", rates(ours, steps), rates(reference, steps),
                         atol=1e-15, rtol=1e-12)
    return theirs


# %% [markdown]
# ## 2. Step decay
#
# The classic recipe (torchvision trains ResNets on ImageNet dividing by 10 every 30 epochs): $f(t) =
# \gamma^{\lfloor t / s \rfloor}$. Integer division does the work; the classic bug is an
# off-by-one that moves every drop a step earlier or later.

# %%
def step_decay(t, step_size, gamma=0.1):
    return gamma ** (t // step_size)


curves = {"step decay": check_schedule(
    "step decay", lambda t: step_decay(t, 30, 0.5), lambda o: L.StepLR(o, step_size=30, gamma=0.5),
    partial(ref.step_decay, step_size=30, gamma=0.5), 150)}

# %% [markdown]
# ## 3. Cosine annealing with warm restarts (SGDR)
#
# Loshchilov & Hutter (2017) decay along half a cosine, then jump back up ("restart") and
# decay again; each cycle may be $T_\text{mult}$ times longer than the last. Inside a cycle
# of length $T_i$, at step $T_\text{cur}$ of it,
#
# $$ f = f_\text{min} + (1 - f_\text{min})\,\tfrac12\bigl(1 + \cos(\pi\,T_\text{cur}/T_i)\bigr). $$
#
# Finding the cycle is the only subtle part. A closed form needs a logarithm base
# $T_\text{mult}$, and floating point computes `math.log(1000, 10)` as $2.9999999999999996$:
# with $T_0 = 1, T_\text{mult} = 10$ step 111 would land a cycle early. Subtracting whole
# cycles in integers cannot go wrong.

# %%
def cosine_warm_restarts(t, T_0, T_mult=1, min_factor=0.0):
    period = T_0
    while t >= period:            # skip whole cycles
        t -= period
        period *= T_mult
    return min_factor + (1 - min_factor) * (1 + math.cos(math.pi * t / period)) / 2


for T_mult in (1, 2):
    curves[f"SGDR, T_0 = 10, T_mult = {T_mult}"] = check_schedule(
        f"SGDR (T_mult={T_mult})", lambda t: cosine_warm_restarts(t, 10, T_mult, 0.05),
        lambda o: L.CosineAnnealingWarmRestarts(o, T_0=10, T_mult=T_mult, eta_min=0.05 * LR),
        partial(ref.cosine_warm_restarts, T_0=10, T_mult=T_mult, min_factor=0.05), 150)

# %% [markdown]
# ## 4. Linear warmup
#
# In the first steps the weights are random and, for Adam, the second-moment estimates
# rest on a handful of gradients: a full-size step can throw the network somewhere it
# never recovers from. Warmup grows the rate linearly from a small fraction to its full
# value (Goyal et al. 2017 used it to train ResNet-50 with batches of 8,192; transformers
# are almost always trained with it), then hands over to a constant rate or a decay. torch builds
# this from two schedulers glued by `SequentialLR`; as a function it is an `if`.

# %%
def linear_warmup(t, warmup_steps, start_factor, then=None):
    if t < warmup_steps:
        return start_factor + (1 - start_factor) * t / warmup_steps
    return 1.0 if then is None else then(t - warmup_steps)


def cosine_decay(t, total_steps, min_factor=0.0):
    return min_factor + (1 - min_factor) * (1 + math.cos(math.pi * min(t, total_steps) / total_steps)) / 2


curves["warmup 20, then cosine"] = check_schedule(
    "warmup then cosine", lambda t: linear_warmup(t, 20, 0.01, then=lambda s: cosine_decay(s, 130)),
    lambda o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.01, total_iters=20), L.CosineAnnealingLR(o, T_max=130)],
                             milestones=[20]),
    partial(ref.linear_warmup, warmup_steps=20, start_factor=0.01,
            then=partial(ref.cosine_decay, total_steps=130)), 150)
check_schedule("warmup then constant", lambda t: linear_warmup(t, 20, 0.1),
               lambda o: L.LinearLR(o, start_factor=0.1, total_iters=20),
               partial(ref.linear_warmup, warmup_steps=20, start_factor=0.1), 60);

# %% [markdown]
# ## 5. One-cycle
#
# Smith (2018; Smith & Topin 2019) found that one long cycle trains faster than a decay:
# warm up from $\eta/25$ to the peak $\eta$ over the first 30% of the steps, then anneal to
# $\eta/(25 \cdot 10^4)$ by the last step; the large rates in the middle regularise, the
# tiny ones at the end settle. torch's phase ends are real numbers: phase 1 ends at step
# $p\,T - 1$ (with $T = 101$, at $29.3$, between two steps) and the last phase at $T - 1$,
# where the rate reaches its floor exactly. Rounding the phase end to an integer is the
# bug this check catches.

# %%
def anneal(start, end, progress):
    return end + (start - end) * (1 + math.cos(math.pi * progress)) / 2


def one_cycle(t, total_steps, pct_start=0.3, div_factor=25.0, final_div_factor=1e4):
    start, floor = 1 / div_factor, 1 / div_factor / final_div_factor
    peak_at, end_at = pct_start * total_steps - 1, total_steps - 1
    if t <= peak_at:
        return anneal(start, 1.0, t / peak_at)
    return anneal(1.0, floor, (t - peak_at) / (end_at - peak_at))


curves["one-cycle"] = check_schedule("one-cycle", lambda t: one_cycle(t, 150),
                                     lambda o: L.OneCycleLR(o, max_lr=LR, total_steps=150),
                                     partial(ref.one_cycle, total_steps=150), 150)
check_schedule("one-cycle, T = 101", lambda t: one_cycle(t, 101), lambda o: L.OneCycleLR(o, LR, total_steps=101),
               partial(ref.one_cycle, total_steps=101), 101);

# %% [markdown]
# All five, as torch computed them (ours lie on top, to rounding):

# %%
fig, axes = plt.subplots(1, len(curves), figsize=(15, 2.8), sharey=True)
for ax, (name, lr) in zip(axes, curves.items()):
    ax.plot(lr)
    ax.set(title=name, xlabel="optimizer step")
axes[0].set_ylabel("learning rate")
fig.tight_layout()
plt.show()

# %% [markdown]
# (`OneCycleLR` also cycles momentum the other way, high while the rate is low: exercise 2.
# `ref.as_scheduler(optimizer, ref.one_cycle, ...)` does the same by default, with torch's
# `cycle_momentum=True`, `base_momentum=0.85` and `max_momentum=0.95`; `cycle_momentum=False`
# schedules the rate only.)
#
# ## 6. The learning-rate range test
#
# Which peak rate? Smith (2015/2017) proposed a test that costs a fraction of an epoch:
# train while the rate grows exponentially from $10^{-7}$ to $10$, one step each, and watch
# the loss. It first barely moves, then falls, then explodes. The rate where it falls
# fastest is a good rate to train at; the rate of the minimum is already too large
# (fastai's rule: a tenth of it). Each step sees a different batch, so the per-step loss is
# noisy: the finder smooths it with an exponential moving average corrected for its start
# at zero (as Adam corrects its moments; exercise 3), and stops once the smoothed loss is
# four times its minimum. `dlcourse.lr_finder.lr_find` runs it through `dlcourse.fit` (a
# `LambdaLR` for the sweep, fit's `stop=` hook for divergence) and restores the model's
# weights and the optimizer's state afterwards.
#
# The data: real CIFAR-10 photos (32×32, 10 classes), and a two-hidden-layer MLP on their
# pixels. Convolutions, which suit images far better, come in chapter 09; what matters
# here is the rate.

# %%
train_set = dlcourse.data.cifar10("train", limit=TRAIN_LIMIT)
test_set = dlcourse.data.cifar10("test", limit=TEST_LIMIT)
test_loader = DataLoader(test_set, batch_size=1000)
print(f"train {len(train_set)}, test {len(test_set)} images of shape {tuple(train_set[0][0].shape)}")


def loader(seed=0):
    return DataLoader(train_set, BATCH_SIZE, shuffle=True, generator=torch.Generator().manual_seed(seed))


def mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                         nn.Linear(128, 10))


def sgd(model, lr):
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)


model = mlp()
found = lr_find(model, loader(), sgd(model, 0.01), start_lr=1e-6, end_lr=10.0, num_steps=FINDER_STEPS, amp=False)
found.plot()
plt.show()
print(f"{len(found.lrs)} steps; steepest descent at lr {found.steepest():.2g}, minimum at {found.minimum():.2g}")

# %% [markdown]
# ## 7. Training with one-cycle, scheduled per step
#
# Two runs of the same network on the same batches, both at the finder's rate, a tenth
# of the minimum: once constant, once as the peak of a one-cycle schedule. Only the
# schedule differs: the one-cycle run's rate, and its momentum, which it cycles between 0.95
# and 0.85 as `OneCycleLR` does (the constant run keeps SGD's 0.9). One-cycle changes the
# rate after every optimizer step, so `fit` gets `scheduler_interval="step"` and the
# schedule counts `EPOCHS * len(train_loader)` steps; `history.steps` records the rate each
# step used.

# %%
runs = {}
lr = found.minimum() / 10
for name in ("constant", "one-cycle"):
    model, train_loader = mlp(), loader()
    optimizer = sgd(model, lr)
    schedule = None if name == "constant" else ref.as_scheduler(optimizer, ref.one_cycle,
                                                                 total_steps=EPOCHS * len(train_loader))
    runs[name] = dlcourse.fit(model, train_loader, optimizer, epochs=EPOCHS, val_loader=test_loader,
                              scheduler=schedule, scheduler_interval="step", log_every=4, amp=False,
                              progress=False, live_plot=False)
    print(f"{name:9s} lr {lr:.3f}: test accuracy per epoch {[round(a, 3) for a in runs[name]['val_accuracy']]}")

fig, axes = plt.subplots(1, 2, figsize=(11, 3.2))
for name, history in runs.items():
    axes[0].plot(history.steps["step"], history.steps["lr"], label=name)
    axes[1].plot(history.steps["step"], history.steps["train_loss"], label=name)
axes[0].set(title="learning rate", xlabel="optimizer step")
axes[1].set(title="training loss (mean over 4 batches)", xlabel="optimizer step")
axes[1].legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# In full mode (10,000 images, 8 epochs) we measured 44.0% test accuracy with the
# constant rate and 48.0% with one-cycle, at the same cost and the same peak rate. The
# curves tell why: the constant run's test accuracy wobbles around 42% from epoch 4 on,
# while one-cycle's keeps climbing as its rate comes down, and its loss falls steeply in
# the last third. (Fast mode's three short epochs are too few to show it.)
#
# ## 8. Exploding gradients
#
# Backpropagation multiplies one Jacobian per layer (chapter 04). If each layer amplifies
# the signal by a factor $g > 1$, a stack of $L$ layers amplifies it by $g^L$ (Pascanu,
# Mikolov & Bengio 2013): $1.3^{20} \approx 190$. Below, a plain network of `DEPTH` ReLU
# layers whose weights are drawn $1.3$ times wider than He initialisation asks, a small
# slip, and the same network with He's width and with a normalization layer before
# each ReLU. We measure each weight matrix's gradient norm on one batch.

# %%
def deep_net(gain=1.0, norm=None, width=128):
    torch.manual_seed(0)
    layers = [nn.Flatten(), nn.Linear(3 * 32 * 32, width)]
    for _ in range(DEPTH):
        layers += ([norm(width)] if norm else []) + [nn.ReLU(), nn.Linear(width, width)]
    net = nn.Sequential(*layers, nn.ReLU(), nn.Linear(width, 10))
    for layer in net:
        if isinstance(layer, nn.Linear):         # He: std sqrt(2 / fan_in), times the gain
            nn.init.normal_(layer.weight, 0, gain * math.sqrt(2 / layer.in_features))
            nn.init.zeros_(layer.bias)
    return net


def weight_grad_norms(net, x, y):
    net.zero_grad()
    loss = F.cross_entropy(net(x), y)
    loss.backward()
    return loss.item(), [p.grad.norm().item() for p in net.parameters() if p.dim() == 2]


NETS = {"plain, 1.3 × He": dict(gain=1.3), "plain, He": dict(gain=1.0),
        "BatchNorm, 1.3 × He": dict(gain=1.3, norm=nn.BatchNorm1d),
        "LayerNorm, 1.3 × He": dict(gain=1.3, norm=nn.LayerNorm)}
x, y = next(iter(loader()))
fig, ax = plt.subplots(figsize=(7, 3.2))
for name, options in NETS.items():
    loss, norms = weight_grad_norms(deep_net(**options), x, y)
    print(f"{name:20s} loss {loss:7.3g}, gradient norms from {min(norms):.2g} to {max(norms):.2g}")
    ax.semilogy(range(1, len(norms) + 1), norms, marker=".", label=f"{name}: loss {loss:.3g}")
ax.set(xlabel="layer (1 = input)", ylabel="‖∂loss/∂W‖", title="gradient norm per layer, at initialisation")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# The over-wide plain network starts with a loss of 600 (its logits are about
# $1.3^{20}$ times too large) and gradient norms of 600 to 2,000 in every layer, where
# He's width and LayerNorm give 1 to 7 and BatchNorm at most 170. The norms are similar
# across layers because the activations grow towards the output as the backpropagated
# signal grows towards the input, and a weight's gradient is the product of the two.
# One SGD step of any sensible size then throws the weights far away, and the loss turns
# into `nan`; `fit` stops and says so:

# %%
def train_deep(name, options, clip_grad=None):
    net = deep_net(**options)
    try:
        history = dlcourse.fit(net, loader(), torch.optim.SGD(net.parameters(), lr=0.02, momentum=0.9),
                               epochs=DEEP_EPOCHS, val_loader=test_loader, clip_grad=clip_grad, amp=False,
                               progress=False, live_plot=False)
    except FloatingPointError as err:
        print(f"{name}: {err}")
        return None
    print(f"{name}: train loss per epoch {[round(v, 2) for v in history['train_loss']]}, "
          f"test accuracy {history['val_accuracy'][-1]:.1%}")
    return history


train_deep("plain, 1.3 × He", NETS["plain, 1.3 × He"]);

# %% [markdown]
# ### Clipping, from scratch
#
# Clipping bounds each step after `backward` and before `optimizer.step` (called before
# `backward`, it would clip the previous step's gradients, or nothing). **By norm**: treat
# all gradients as one vector $\mathbf g$; if $\lVert\mathbf g\rVert > c$, scale it to
# length $c$. The direction is kept. torch adds $10^{-6}$ to the norm (no division by
# zero) and always multiplies by $\min(1, c / (\lVert\mathbf g\rVert + 10^{-6}))$: an `if`
# would have to read the norm from the GPU. **By value**: clamp every entry into $[-c, c]$,
# which changes the direction, but costs nothing.

# %%
def clip_grad_norm_(parameters, max_norm):
    grads = [p.grad for p in parameters if p.grad is not None]
    total = torch.stack([g.norm() for g in grads]).norm()       # the norm of all of them, concatenated
    scale = (max_norm / (total + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(scale)
    return total


def clip_grad_value_(parameters, clip_value):
    for p in parameters:
        if p.grad is not None:
            p.grad.clamp_(-clip_value, clip_value)


net = deep_net(gain=1.3)
weight_grad_norms(net, x, y)
saved = [p.grad.clone() for p in net.parameters()]
for name, ours, theirs, reference, c in [
        ("clip_grad_norm_", clip_grad_norm_, nn.utils.clip_grad_norm_, ref_clip.clip_grad_norm_, 1.0),
        ("clip_grad_value_", clip_grad_value_, nn.utils.clip_grad_value_, ref_clip.clip_grad_value_, 0.01)]:
    clipped = []
    for fn in (ours, theirs, reference):
        for p, g in zip(net.parameters(), saved):
            p.grad = g.clone()
        fn(net.parameters(), c)
        clipped.append(torch.cat([p.grad.flatten() for p in net.parameters()]))
    dlcourse.check_close(f"{name} == torch.nn.utils", clipped[0], clipped[1], atol=1e-7, rtol=1e-5)
    dlcourse.check_close(f"{name} == dlcourse.clipping", clipped[0], clipped[2], atol=1e-7, rtol=1e-5)
print(f"gradient norm before clipping {torch.cat([g.flatten() for g in saved]).norm():.3g}; after clipping "
      f"by norm it is 1, by value every entry lies in [-0.01, 0.01]")

# %% [markdown]
# `fit(clip_grad=...)` takes a number (the norm) or a function, which it calls at the
# right moment with the model's parameters: ours, for both kinds.

# %%
cures = {"clip by norm (1.0)": train_deep("clip by norm", NETS["plain, 1.3 × He"],
                                          clip_grad=partial(clip_grad_norm_, max_norm=1.0)),
         "clip by value (0.01)": train_deep("clip by value", NETS["plain, 1.3 × He"],
                                            clip_grad=partial(clip_grad_value_, clip_value=0.01))}

# %% [markdown]
# Clipping stops the explosion, but it only limits the step: the network still starts
# with absurd logits and has to shrink its weights by many small steps. Normalization
# removes the cause: BatchNorm (Ioffe & Szegedy 2015) rescales every unit over the batch,
# LayerNorm (Ba et al. 2016) every example over its units, so each layer's input has a
# fixed scale whatever the weights' scale (chapter 07 builds both from scratch).

# %%
for name in ("BatchNorm, 1.3 × He", "LayerNorm, 1.3 × He"):
    cures[name] = train_deep(name, NETS[name])
fig, ax = plt.subplots(figsize=(7, 3.2))
for name, history in cures.items():
    ax.plot(range(1, DEEP_EPOCHS + 1), history["val_accuracy"], marker="o", label=name)
ax.set(xlabel="epoch", ylabel="test accuracy", title=f"a {DEPTH}-layer network, 1.3 × He initialisation")
ax.xaxis.get_major_locator().set_params(integer=True)
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# In full mode (10,000 images, 4 epochs) we measured 18.6% and 18.1% test accuracy with
# clipping by norm and by value, 25.9% with BatchNorm and 18.0% with LayerNorm (chance is
# 10%). All four survive where the plain network died in its first epoch. The clipped
# networks spend their first epoch shrinking absurd weights (mean training loss 37 and 24
# in epoch 1), the normalized ones start near $\ln 10 \approx 2.3$; BatchNorm learns
# fastest. Deep stacks of plain layers remain poor image models either way: depth pays off
# with convolutions and residual connections (chapters 09 and 12).
#
# ## 9. Exercises
#
# Each exercise cell holds a placeholder. Replace it, run the cell, then run the check cell
# under it. The checks live in `dlcourse.exercises.chapters.ch08_schedules`; worked solutions are
# in `solutions/chapters/08_schedules.py` (try first!).
#
# ### Exercise 1: polynomial decay
#
# Write the factor of `torch.optim.lr_scheduler.PolynomialLR`: $f(t) = (1 - \min(t, T)/T)^p$
# for `polynomial_decay(step, total_steps, power)`. It must reach $0$ at step $T$ and
# stay there.

# %%
def polynomial_decay(step, total_steps, power=1.0):
    """The factor of the learning rate at `step`: (1 - step / total_steps) ** power, 0 after the end."""
    return None     # YOUR CODE HERE


# %%
exercises.check_polynomial_decay(polynomial_decay)

# %% [markdown]
# ### Exercise 2: one-cycle's momentum
#
# `OneCycleLR` moves SGD's momentum opposite to the rate: from `max_momentum` (0.95) down
# to `base_momentum` (0.85) while the rate climbs, and back up to 0.95 while it falls, on
# the same cosine and the same phase ends as section 5 (Smith 2018: with a large rate, a
# smaller momentum keeps the effective step in check). Write `one_cycle_momentum(step,
# total_steps, pct_start=0.3, base_momentum=0.85, max_momentum=0.95)`.

# %%
def one_cycle_momentum(step, total_steps, pct_start=0.3, base_momentum=0.85, max_momentum=0.95):
    """SGD's momentum at `step` of a one-cycle schedule of total_steps steps."""
    return None     # YOUR CODE HERE


# %%
exercises.check_one_cycle_momentum(one_cycle_momentum)

# %% [markdown]
# ### Exercise 3: the finder's smoothed loss
#
# Write `smoothed(losses, beta)`: the running average $a_i = \beta a_{i-1} + (1 - \beta)
# \ell_i$ from $a_0 = 0$, returned as $a_i / (1 - \beta^i)$ for $i = 1, 2, \dots$ (without
# the division the first values are dragged towards $0$). It should equal
# `dlcourse.lr_finder.smoothed_losses` and the weighted mean $\sum_j \beta^{i-j} \ell_j /
# \sum_j \beta^{i-j}$. Then plot it over `found.losses` with `beta = 0.9` and `0.99`: which
# one would stop the finder too early, and which too late?

# %%
def smoothed(losses, beta=0.98):
    """Bias-corrected exponential moving average of a list of losses (one value per loss)."""
    return None     # YOUR CODE HERE


# %%
exercises.check_smoothed(smoothed)

# %% [markdown]
# The graded assignment `a02_optimizers` builds the optimizers these schedules drive.
#
# ## 10. Summary
#
# - A schedule is a factor $f(t)$ of the step; `LambdaLR` turns any such function into a
#   scheduler. Step decay, SGDR, warmup and one-cycle are each a few lines, and equal to
#   torch's classes step for step; the details that matter are where phases end (one-cycle's
#   are real numbers) and where counting starts.
# - Schedules that change the rate within an epoch (warmup, one-cycle) step once per
#   optimizer step: `fit(..., scheduler_interval="step")`.
# - The LR range test sweeps the rate exponentially over a few dozen batches; train near the
#   steepest descent of the smoothed loss, or a tenth of its minimum, or peak one-cycle there.
# - Gradients explode when every layer amplifies the backward signal: the product over
#   depth grows geometrically. Clipping by norm (direction kept) or by value (entries
#   clamped) bounds each step, after `backward` and before the optimizer step;
#   normalization fixes the scale at every layer and lets the deep network train.
#
# ## References
#
# - R. Pascanu, T. Mikolov and Y. Bengio (2013). *On the difficulty of training recurrent
#   neural networks.* ICML (exploding gradients, clipping by norm).
# - S. Ioffe and C. Szegedy (2015). *Batch normalization: accelerating deep network training
#   by reducing internal covariate shift.* ICML.
# - J. L. Ba, J. R. Kiros and G. E. Hinton (2016). *Layer normalization.* arXiv:1607.06450.
# - L. N. Smith (2017). *Cyclical learning rates for training neural networks.* WACV (first
#   circulated 2015; the LR range test).
# - I. Loshchilov and F. Hutter (2017). *SGDR: stochastic gradient descent with warm
#   restarts.* ICLR.
# - P. Goyal et al. (2017). *Accurate, large minibatch SGD: training ImageNet in 1 hour.*
#   arXiv:1706.02677 (linear warmup).
# - L. N. Smith (2018). *A disciplined approach to neural network hyper-parameters: part 1 —
#   learning rate, batch size, momentum, and weight decay.* arXiv:1803.09820 (one-cycle).
# - L. N. Smith and N. Topin (2019). *Super-convergence: very fast training of neural networks
#   using large learning rates.* SPIE.
# - A. Krizhevsky (2009). *Learning multiple layers of features from tiny images.* (CIFAR-10.)
