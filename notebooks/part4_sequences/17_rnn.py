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
# # 17 · Recurrent neural networks
#
# A feed-forward network sees a fixed-size input. A sentence, a sound or a year-by-year record
# has a length of its own, and its order matters. A *recurrent* network (Elman 1990) reads a
# sequence one step at a time and carries a state $h_t$ from each step to the next: the same
# weights at every step, a memory of what came before. This chapter builds that recurrence
# by hand, proves it equal to PyTorch, trains it by backpropagation through time, measures
# why plain RNNs forget (gradients that vanish or explode through time), and forecasts
# three centuries of real sunspot counts with it.
#
# **What you will build**
#
# - the recurrence $h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})$ unrolled in a
#   Python loop, equal to `dlcourse.models.RNN` and to `nn.RNN` with the same weights;
# - backpropagation through time (BPTT) written by hand, equal to autograd's gradients;
# - a measurement of $\lVert \partial L / \partial h_t \rVert$ against $t$ for recurrent
#   weights of different scales: vanishing below 1, exploding above, plotted;
# - gradient clipping with `dlcourse.clipping`, equal to `torch.nn.utils.clip_grad_norm_`;
# - a one-year-ahead forecast of the yearly sunspot numbers (1700–2008) with an RNN, against
#   the naive persistence forecast "next year = this year" (RMSE of both, plotted).
#
# **Prerequisites**: [04 · Backprop by hand](../part1_foundations/04_backprop.ipynb) (the chain
# rule through a layer), [08 · Schedules and stability](../part2_training/08_schedules.ipynb)
# (exploding gradients and clipping, first met there).
#
# **Run time**: CPU (2 cores, shared with other jobs): 94 s full mode (load ~11), 19 s fast
# mode (load ~4; measured with nbval); GPU: not measured.

# %% [markdown]
# ## Setup

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import dlcourse
from dlcourse import clipping
from dlcourse.data import load_sunspots, persistence_rmse, sliding_windows
from dlcourse.exercises.chapters import ch17_rnn as exercises
from dlcourse.models import RNN, RNNForecaster

device = dlcourse.setup(seed=0)

# %% [markdown]
# The budget. `FAST` is set by CI (`DLCOURSE_FAST=1`): the same real series, fewer epochs.

# %% tags=["parameters"]
FAST = dlcourse.fast_mode()
EPOCHS = 12 if FAST else 60           # passes over the sunspot training windows
WINDOW = 20                            # years the forecaster reads (about two 11-year cycles)
HIDDEN = 32                            # units of the forecasting RNN
TIME_STEPS = 60                        # length of the sequence in the gradient experiment

# %% [markdown]
# ## 1. The recurrence, unrolled by hand
#
# At step $t$ the cell mixes the new input $x_t$ with the previous state $h_{t-1}$:
#
# $$h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}), \qquad t = 1, \dots, T,$$
#
# with $W_{ih}$ of shape (H, D) and $W_{hh}$ of shape (H, H), stored as `nn.Linear` stores
# them (out, in), so in batch form $x_t W_{ih}^\top$. The *same* four tensors are used at every
# step: that weight sharing is what lets the network read a sequence of any length. PyTorch
# keeps two biases where one would do ($b_{ih} + b_{hh}$ is one vector); we keep both, so
# weights copy across by name. The loop below is the whole network.

# %%
def rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
    """x (T, N, D), h0 (N, H) -> outputs h_1..h_T (T, N, H) of a tanh RNN."""
    h, outputs = h0, []
    for x_t in x:                                     # one step per element of the sequence
        h = torch.tanh(x_t @ W_ih.T + b_ih + h @ W_hh.T + b_hh)
        outputs.append(h)
    return torch.stack(outputs)


# %% [markdown]
# Check it with the weights of a PyTorch `nn.RNN`, on a random batch: values and the gradient
# of every input (the sequence, the initial state, the four weight tensors).

# %%
torch.manual_seed(0)
theirs = nn.RNN(input_size=3, hidden_size=8)
x = torch.randn(12, 4, 3)                            # T = 12 steps, N = 4 sequences, D = 3 features
h0 = torch.randn(4, 8)
KEYS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")   # nn.RNN's names for them
weights = [theirs.state_dict()[k] for k in KEYS]


def run_with(module):
    """module's outputs with the given weights put in place (so their gradients reach the check)."""
    return lambda x, h0, *w: torch.func.functional_call(module, dict(zip(KEYS, w)), (x, h0[None]))[0]


dlcourse.check_like_torch("unrolled loop vs nn.RNN", rnn_forward, run_with(theirs), x, h0, *weights)

# %% [markdown]
# The course's reference, `dlcourse.models.RNN`, is the same loop, vectorised: it computes
# $W_{ih} x_t + b_{ih}$ for all steps in one matrix product before the loop, and handles
# several layers, both directions and padded batches. Its parameter names are PyTorch's, so
# `load_state_dict` copies the weights across.

# %%
ours = RNN(3, 8)
ours.load_state_dict(theirs.state_dict())
dlcourse.check_like_torch("unrolled loop vs dlcourse.models.RNN", rnn_forward, run_with(ours), x, h0, *weights)

# %% [markdown]
# ## 2. Backpropagation through time
#
# Unrolled, the RNN is a deep feed-forward network with one layer per time step and the same
# weights in every layer. Backpropagation through it (*BPTT*, Werbos 1990) walks the steps
# backwards. With $a_t = W_{ih} x_t + b + W_{hh} h_{t-1}$ and $h_t = \tanh(a_t)$, the gradient
# reaching $h_t$ comes from two places: the loss at step $t$ (the upstream gradient of the
# output $h_t$) and step $t+1$, which read $h_t$:
#
# $$\frac{\partial L}{\partial h_t} = g_t + W_{hh}^\top \delta_{t+1}, \qquad
#   \delta_t = \frac{\partial L}{\partial a_t} = \frac{\partial L}{\partial h_t} \odot (1 - h_t^2).$$
#
# Every weight's gradient is a *sum over steps*, because the weight is used at every step:
# $\partial L / \partial W_{hh} = \sum_t \delta_t^\top h_{t-1}$, and so on.

# %%
def rnn_backward(g, x, h0, W_ih, W_hh, b_ih, b_hh):
    """Gradients (dx, dh0, dW_ih, dW_hh, db_ih, db_hh) given g = dL/d outputs (T, N, H)."""
    hs = [h0] + list(rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh))   # h_0 .. h_T
    dW_ih, dW_hh, db = torch.zeros_like(W_ih), torch.zeros_like(W_hh), torch.zeros_like(b_ih)
    dx, dh_next = torch.zeros_like(x), torch.zeros_like(h0)          # dh_next: what step t + 1 sends back
    for t in reversed(range(len(x))):
        delta = (g[t] + dh_next) * (1 - hs[t + 1] ** 2)                # through tanh: (N, H)
        dW_ih += delta.T @ x[t]
        dW_hh += delta.T @ hs[t]
        db += delta.sum(0)
        dx[t] = delta @ W_ih
        dh_next = delta @ W_hh                                          # to h_(t-1)
    return dx, dh_next, dW_ih, dW_hh, db, db.clone()                    # db_ih == db_hh: one sum


dlcourse.check_like_torch("BPTT by hand vs autograd", None, rnn_forward, x, h0, *weights, backward=rnn_backward)

# %% [markdown]
# In practice a long sequence is cut into chunks and the state is carried across them without
# its gradient (`h.detach()`): *truncated* BPTT. It bounds the memory and time of a step, and
# the distance over which the network can learn a dependency.
#
# ## 3. Vanishing and exploding gradients, measured
#
# The factor `delta @ W_hh` above is applied once per step back. So the gradient that reaches
# $h_t$ from a loss at the last step $T$ is a product of $T - t$ Jacobians
# $\operatorname{diag}(1 - h^2)\, W_{hh}$ (exercise 2 derives one). If their norms sit below 1,
# the product shrinks geometrically: the far past receives no gradient and the network cannot
# learn long-range dependencies (Hochreiter 1991; Bengio, Simard & Frasconi 1994). Above 1 it
# can grow geometrically and a single step blows the weights away (Pascanu et al. 2013).
#
# We measure it. A random orthogonal $W_{hh}$ scaled by $s$ has all singular values equal to
# $s$; the input weights are small so the tanh stays near its linear range. We put the loss
# on the last state only, keep every $h_t$'s gradient and plot its norm against $t$.

# %%
def gradient_norms_through_time(scale: float, T: int = TIME_STEPS, H: int = 32, seed: int = 0) -> np.ndarray:
    """||dL/dh_t|| for t = 1..T, with L = sum(h_T) and W_hh = scale * a random orthogonal matrix."""
    g = torch.Generator().manual_seed(seed)
    W_hh = (scale * torch.linalg.qr(torch.randn(H, H, generator=g))[0]).requires_grad_()
    W_ih = 0.1 * torch.randn(H, 1, generator=g)
    x = torch.randn(T, 1, 1, generator=g)
    h, states = torch.zeros(1, H), []
    for t in range(T):
        h = torch.tanh(x[t] @ W_ih.T + h @ W_hh.T)
        h.retain_grad()                                   # keep dL/dh_t, which autograd would free
        states.append(h)
    h.sum().backward()
    return np.array([s.grad.norm().item() for s in states])


scales = (0.5, 0.9, 1.0, 1.5, 3.0)
norms = {s: gradient_norms_through_time(s) for s in scales}
fig, ax = plt.subplots(figsize=(7, 3.8))
for s, n in norms.items():
    ax.semilogy(range(1, TIME_STEPS + 1), n, label=f"W_hh scale {s}")
ax.set(xlabel="time step t (the loss is at the last step)", ylabel="||dL / dh_t||",
       title="Gradient reaching each step of a tanh RNN")
ax.legend(fontsize=8)
plt.show()
for s, n in norms.items():
    print(f"scale {s}: ||dL/dh_1|| / ||dL/dh_T|| = {n[0] / n[-1]:.2e}")

# %% [markdown]
# Below 1 the gradient that reaches the first steps is many orders of magnitude smaller than
# at the last (a factor of about $10^{-18}$ at scale 0.5): those steps barely learn. Even an
# orthogonal $W_{hh}$ (scale 1, every singular value 1) loses gradient, because tanh's
# derivative $1 - h^2$ is below 1 at every step. Above 1 the gradient grows going back, by
# eight orders of magnitude at scale 3. The cures: a better cell for vanishing (the LSTM and
# GRU of chapter 18, whose additive state update lets the gradient pass unchanged) and
# clipping for exploding.
#
# ## 4. Gradient clipping
#
# Clipping by norm rescales all gradients together when their joint norm exceeds a threshold:
# the direction of the step is kept, only its length is capped. `dlcourse.clipping` holds the
# reference; `dlcourse.fit(clip_grad=...)` calls it between backward and the optimizer step.

# %%
def exploding_grads(seed=0):
    """The parameters of a ReLU RNN (W_hh: 1.5 x orthogonal) after backward through TIME_STEPS steps."""
    torch.manual_seed(seed)
    rnn = nn.RNN(1, 32, nonlinearity="relu")
    with torch.no_grad():
        rnn.weight_hh_l0.copy_(1.5 * torch.linalg.qr(torch.randn(32, 32))[0])
    out, _ = rnn(torch.randn(TIME_STEPS, 4, 1))
    out[-1].sum().backward()
    return list(rnn.parameters())


ours_params, torch_params = exploding_grads(), exploding_grads()
before = torch.cat([p.grad.flatten() for p in ours_params]).clone()
norm_ours = clipping.clip_grad_norm_(ours_params, max_norm=1.0)
norm_torch = nn.utils.clip_grad_norm_(torch_params, max_norm=1.0)
after = torch.cat([p.grad.flatten() for p in ours_params])
print(f"gradient norm before clipping: {norm_ours.item():.3e} (torch: {norm_torch.item():.3e}); after: {after.norm():.4f}")
print(f"cosine(before, after) = {F.cosine_similarity(before, after, dim=0).item():.6f}: the direction is kept")
for p, q in zip(ours_params, torch_params):
    dlcourse.check_close("clipped gradient vs torch.nn.utils.clip_grad_norm_", p.grad, q.grad, verbose=False)
print("clipped gradients: equal to torch's for every parameter")

# %% [markdown]
# The unclipped gradient of this ReLU RNN is 35 times longer than the threshold; clipped, the
# step has length 1 and points the same way (cosine 1). On a long sequence or later in
# training the ratio can be far larger: a single step would throw the weights away.
#
# ## 5. Forecasting the sunspot cycle
#
# The sun's activity rises and falls in a cycle of about 11 years, of uneven height. The yearly
# mean sunspot numbers since 1700 ship with statsmodels. We forecast the next year from the
# previous `WINDOW` years, train on the targets up to 1948 and test on 1949–2008: a
# chronological split, so the model never sees the future it is scored on.

# %%
years, values = load_sunspots()
split = int(np.searchsorted(years, 1949))
fig, ax = plt.subplots(figsize=(9, 2.8))
ax.plot(years[:split], values[:split], lw=1, label="train (targets 1720-1948)")
ax.plot(years[split:], values[split:], lw=1, label="test (1949-2008)")
ax.set(xlabel="year", ylabel="mean sunspot number", title="Yearly sunspots (statsmodels)")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# The baseline every forecast must beat is *persistence*: next year equals this year. It costs
# nothing and is hard to beat at short horizons for slowly changing series.

# %%
baseline = persistence_rmse(values, split)
print(f"persistence forecast, test RMSE: {baseline:.2f} sunspots")

# %% [markdown]
# Inputs are standardised with the *training* years' mean and standard deviation (the test
# years are not looked at). `sliding_windows` pairs each target year with the `WINDOW` years
# before it; test windows may reach back into training years, which is fine: at forecast time
# the past is known.

# %%
mean, std = values[:split].mean(), values[:split].std()
z = (values - mean) / std
train_set = TensorDataset(*sliding_windows(z, WINDOW, stop=split))
test_set = TensorDataset(*sliding_windows(z, WINDOW, start=split))
print(f"{len(train_set)} training windows, {len(test_set)} test windows, each {tuple(train_set[0][0].shape)}")

# %% [markdown]
# The model: our RNN (`impl="ours"`, the reference proven equal to `nn.RNN` above) with 32
# units reads the window; a linear layer maps its last state to the forecast. Trained with the
# course's loop on the mean squared error, with clipping.

# %%
torch.manual_seed(0)
forecaster = RNNForecaster("rnn", input_size=1, hidden_size=HIDDEN, impl="ours")
history = dlcourse.fit(forecaster, DataLoader(train_set, 32, shuffle=True, generator=torch.Generator().manual_seed(0)),
                       torch.optim.Adam(forecaster.parameters(), lr=3e-3), epochs=EPOCHS, loss_fn=F.mse_loss,
                       metrics=(), val_loader=DataLoader(test_set, 256), clip_grad=1.0, device=device,
                       title="sunspot RNN (MSE, standardised)")

# %%
forecast, target = dlcourse.predict(forecaster, DataLoader(test_set, 256))
forecast, target = forecast.squeeze(1) * std + mean, target.squeeze(1) * std + mean
rnn_rmse = (forecast - target).pow(2).mean().sqrt().item()
print(f"test RMSE, 1949-2008: RNN {rnn_rmse:.2f}, persistence {baseline:.2f} sunspots")
peak = int(target.argmax())
print(f"the highest test year, {years[split + peak]}: observed {target[peak]:.0f}, RNN {forecast[peak]:.0f}, "
      f"persistence {values[split + peak - 1]:.0f}")
fig, ax = plt.subplots(figsize=(9, 3))
ax.plot(years[split:], target, "k-", lw=1.5, label="observed")
ax.plot(years[split:], forecast, "C0-", label=f"RNN (RMSE {rnn_rmse:.1f})")
ax.plot(years[split:], values[split - 1:-1], "C1--", lw=1, label=f"persistence (RMSE {baseline:.1f})")
ax.set(xlabel="year", ylabel="sunspots", title="One-year-ahead forecasts on the test years")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# Persistence is always one year late: it draws the observed curve shifted right, and misses
# most where the series moves fastest, on the steep rises. The RNN has seen the shape of the
# cycle in the 20 years before, so it can anticipate a rise or a fall. In full mode (60
# epochs) its test RMSE was 19.9 against persistence's 32.9 (the recipe
# `benchmarks/recipes/sunspot_rnn.py`, 150 epochs: 21.4; past about 60 epochs it starts to fit
# the training years' noise). For 1957, the highest year on record, it forecast 181 for an
# observed 190, where persistence said 142 (fast mode's 12 epochs: 145, RMSE 23.6).
#
# ## 6. Exercises
#
# Each exercise cell holds a placeholder. Replace it, run the cell, then run the check cell
# under it: it says whether your answer is right and, if not, what to change. The checks
# live in `dlcourse.exercises.chapters.ch17_rnn`; worked solutions are in
# `solutions/chapters/17_rnn.py` (try first!).
#
# ### Exercise 1: the recurrence over a sequence
#
# Without looking at section 1, write `rnn_forward(x, h0, W_ih, W_hh, b_ih, b_hh)` for `x`
# of shape (T, N, D) and `h0` (N, H), returning the outputs $h_1, \dots, h_T$ as (T, N, H).

# %%
def rnn_forward_exercise(x, h0, W_ih, W_hh, b_ih, b_hh):
    """Outputs (T, N, H) of a tanh RNN."""
    return None     # YOUR CODE HERE


# %%
exercises.check_rnn_forward(rnn_forward_exercise)

# %% [markdown]
# ### Exercise 2: the Jacobian of one step
#
# Write `step_jacobian(x, h_prev, W_ih, W_hh, b)`: the (H, H) matrix $\partial h_t / \partial
# h_{t-1}$ of one unbatched tanh step $h_t = \tanh(W_{ih} x + W_{hh} h_{t-1} + b)$ (row $i$:
# output unit $i$). Its norm, multiplied over steps, is what section 3 measured.

# %%
def step_jacobian(x, h_prev, W_ih, W_hh, b):
    """d h_t / d h_(t-1), shape (H, H)."""
    return None     # YOUR CODE HERE


# %%
exercises.check_step_jacobian(step_jacobian)

# %% [markdown]
# ### Exercise 3: the persistence forecast
#
# Write `persistence_rmse_exercise(values, start)`: the root mean squared error of the
# forecast "value[t] = value[t - 1]" over the targets `values[start:]` (a NumPy array).

# %%
def persistence_rmse_exercise(values, start):
    """RMSE of next = this over values[start:]."""
    return None     # YOUR CODE HERE


# %%
exercises.check_persistence_rmse(persistence_rmse_exercise)

# %% [markdown]
# The graded assignment `a06_rnn_timeseries` builds an RNN forecaster for a time series with
# these pieces.
#
# ## 7. Summary
#
# - An RNN applies one cell, with the same weights, at every step:
#   $h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})$. Our loop equals `nn.RNN`
#   and `dlcourse.models.RNN` in values and gradients.
# - BPTT is backpropagation through the unrolled loop: each step adds its term to the shared
#   weights' gradients, and passes $W_{hh}^\top \delta_t$ back to the step before.
# - The gradient reaching step $t$ is a product of $T - t$ Jacobians
#   $\operatorname{diag}(1 - h^2) W_{hh}$: it shrinks geometrically when they are contractive
#   (vanishing: no long-range learning) and grows when they expand (exploding).
# - Clipping by norm caps the step's length and keeps its direction; it cures exploding
#   gradients, not vanishing ones (chapter 18's gated cells do that).
# - On yearly sunspots, a small RNN beats the persistence forecast by learning the cycle's
#   shape; always report the naive baseline next to a forecast.
#
# ## References
#
# - J. L. Elman (1990). *Finding structure in time.* Cognitive Science 14, 179–211.
# - P. J. Werbos (1990). *Backpropagation through time: what it does and how to do it.*
#   Proceedings of the IEEE 78(10).
# - S. Hochreiter (1991). *Untersuchungen zu dynamischen neuronalen Netzen.* Diploma thesis,
#   TU München.
# - Y. Bengio, P. Simard and P. Frasconi (1994). *Learning long-term dependencies with gradient
#   descent is difficult.* IEEE Transactions on Neural Networks 5(2).
# - R. Pascanu, T. Mikolov and Y. Bengio (2013). *On the difficulty of training recurrent
#   neural networks.* ICML.
# - SILSO, Royal Observatory of Belgium: yearly mean sunspot numbers (the statsmodels
#   `sunspots` data set, 1700–2008).
