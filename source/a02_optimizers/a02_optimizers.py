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
# # Assignment 2: optimizers that match `torch.optim`
#
# In this assignment you write three optimizers from their update equations, as subclasses
# of `torch.optim.Optimizer`, and prove each equal to PyTorch's: chapter 06 (optimizers)
# explains them.
#
# | task | what you write | points |
# |---|---|---|
# | Task 1 | `SGDMomentum.step`: SGD with momentum and weight decay | 4 |
# | Task 2 | `Adam.step`: Adam with bias correction and L2 weight decay | 5 |
# | Task 3 | `AdamW.step`: Adam with decoupled weight decay | 4 |
# | total | | 13 |
#
# **How to work.**
#
# 1. Run the setup cell below first.
# 2. In each class, replace `# YOUR CODE HERE` / `raise NotImplementedError()` in `step` with
#    your code. Keep `__init__` as it is.
# 3. Run the test cell under each task. It runs your optimizer for 100 steps on a small
#    network (a 64-16-10 MLP on 256 of scikit-learn's digits, full batch, so every step's
#    gradient depends only on the parameters) and compares every parameter after every step
#    with `torch.optim`'s; a correct answer differs by rounding only (about 1e-6; the test
#    allows 1e-5 + 1e-4 × |value|). A failing test says which mistake your path follows, or
#    at which step it leaves PyTorch's, and what to change. When you are graded, the same
#    cells run hidden tests with other hyper-parameters, param groups and a one-parameter
#    problem. Every test cell scores only its own task, so partial work earns partial credit;
#    in particular `AdamW` must not depend on your `Adam`.
# 4. Before you submit: *Kernel → Restart & Run All* (or the **Validate** button) must run
#    with no errors. The notebook runs in well under a minute on a laptop CPU.
#
# **Rules.**
#
# * Use tensor arithmetic and any torch function (`torch.zeros_like`, `.sqrt()`, `.mul_()`,
#   `.add_()`, `torch._foreach_*`...), but not a ready-made optimizer: `torch.optim.SGD`,
#   `torch.optim.Adam`, `torch.optim.AdamW`, their functional forms and `dlcourse.optim`'s are
#   forbidden while the tests run your code (the exact list is
#   `dlcourse.exercises.assignments.a02_optimizers.READY_MADE_OPTIMIZERS`).
# * `step()` changes each parameter **in place** (`p -= ...`, `p.add_(...)`) and runs under
#   `torch.no_grad()` (the decorator is already there). Skip parameters whose `p.grad` is `None`.
# * Keep what you remember between steps **per parameter**, in `self.state[p]`: a dict that is
#   empty the first time `p` is seen. Read each hyper-parameter from the parameter's group,
#   `group["lr"]` and so on, not from `self`: param groups may set different values.
# * Do not change the test cells (they are read-only and are replaced by the originals at
#   grading time).

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import torch
from torch.optim import Optimizer

from dlcourse.checks import CheckError
from dlcourse.exercises.assignments.a02_optimizers import ADAM_MISTAKES, ADAMW_MISTAKES, SGD_MISTAKES, check_optimizer

_ = torch.manual_seed(0)  # `_ =`: no output

# %% [markdown]
# ## Task 1: SGD with momentum (4 points)
#
# With $g_t = \nabla L(\theta_{t-1}) + \lambda\,\theta_{t-1}$ (weight decay $\lambda$ added to
# the gradient), PyTorch's momentum keeps a buffer $b$ per parameter:
#
# $$ b_1 = g_1, \qquad b_t = \mu\, b_{t-1} + g_t \;(t > 1), \qquad \theta_t = \theta_{t-1} - \eta\, b_t . $$
#
# With `momentum=0` this is plain SGD: $\theta_t = \theta_{t-1} - \eta\, g_t$ (no buffer needed).
# Note there is no $(1 - \mu)$ factor: that would be an exponential average, which PyTorch's
# SGD does not use.

# %% nbgrader={"grade": false, "grade_id": "task1_sgd_momentum", "locked": false, "schema_version": 3, "solution": true, "task": false}
class SGDMomentum(Optimizer):
    """SGD with momentum and L2 weight decay, equal to torch.optim.SGD(params, lr, momentum, weight_decay=...)."""

    def __init__(self, params, lr=1e-3, momentum=0.0, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self):
        """One update of every parameter that has a gradient."""
        ### BEGIN SOLUTION
        for group in self.param_groups:
            lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad + wd * p
                if mu != 0:
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = g.clone()         # b_1 = g_1
                    else:
                        state["momentum_buffer"].mul_(mu).add_(g)    # b_t = mu b_{t-1} + g_t
                    g = state["momentum_buffer"]
                p -= lr * g
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task1_sgd_momentum_test", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# Task 1 tests: SGDMomentum against torch.optim.SGD, 100 steps each
check_optimizer("SGDMomentum", SGDMomentum, torch.optim.SGD, dict(lr=0.1), mistakes=SGD_MISTAKES)
check_optimizer("SGDMomentum", SGDMomentum, torch.optim.SGD, dict(lr=0.05, momentum=0.9), mistakes=SGD_MISTAKES)
check_optimizer("SGDMomentum", SGDMomentum, torch.optim.SGD, dict(lr=0.05, momentum=0.9, weight_decay=1e-2),
                mistakes=SGD_MISTAKES)
### BEGIN HIDDEN TESTS
check_optimizer("SGDMomentum", SGDMomentum, torch.optim.SGD, dict(lr=0.02, momentum=0.5, weight_decay=0.1),
                mistakes=SGD_MISTAKES)
check_optimizer("SGDMomentum on one tensor", SGDMomentum, torch.optim.SGD, dict(lr=1e-3, momentum=0.9),
                problem="rosenbrock", steps=200)
check_optimizer("SGDMomentum with param groups", SGDMomentum, torch.optim.SGD,
                dict(lr=0.05, momentum=0.9, groups=[{"params": [0, 2]}, {"params": [1, 3], "lr": 0.01,
                                                                           "momentum": 0.0}]))
### END HIDDEN TESTS
print("SGDMomentum: tests passed")

# %% [markdown]
# ## Task 2: Adam (5 points)
#
# With $g_t = \nabla L(\theta_{t-1}) + \lambda\,\theta_{t-1}$ (Adam's `weight_decay` is L2, on
# the gradient), and per parameter $m_0 = v_0 = 0$ and a step count $t$ starting at 1:
#
# $$ m_t = \beta_1 m_{t-1} + (1-\beta_1)\, g_t, \qquad v_t = \beta_2 v_{t-1} + (1-\beta_2)\, g_t^2, $$
# $$ \hat m_t = \frac{m_t}{1 - \beta_1^t}, \qquad \hat v_t = \frac{v_t}{1 - \beta_2^t}, \qquad
#    \theta_t = \theta_{t-1} - \eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}. $$
#
# The bias corrections $1 - \beta^t$ undo the zero start of $m$ and $v$. Keep $t$ in the
# parameter's state, next to $m$ and $v$.

# %% nbgrader={"grade": false, "grade_id": "task2_adam", "locked": false, "schema_version": 3, "solution": true, "task": false}
class Adam(Optimizer):
    """Adam with L2 weight decay, equal to torch.optim.Adam(params, lr, betas, eps, weight_decay)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self):
        """One update of every parameter that has a gradient."""
        ### BEGIN SOLUTION
        for group in self.param_groups:
            lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad + wd * p
                state = self.state[p]
                if not state:
                    state.update(t=0, m=torch.zeros_like(p), v=torch.zeros_like(p))
                state["t"] += 1
                t, m, v = state["t"], state["m"], state["v"]
                m.mul_(beta1).add_((1 - beta1) * g)
                v.mul_(beta2).add_((1 - beta2) * g * g)
                m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
                p -= lr * m_hat / (v_hat.sqrt() + eps)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task2_adam_test", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
# Task 2 tests: Adam against torch.optim.Adam, 100 steps each
check_optimizer("Adam", Adam, torch.optim.Adam, dict(lr=1e-2), mistakes=ADAM_MISTAKES)
check_optimizer("Adam", Adam, torch.optim.Adam, dict(lr=1e-3, betas=(0.8, 0.95), eps=1e-6),
                mistakes=ADAM_MISTAKES)
check_optimizer("Adam", Adam, torch.optim.Adam, dict(lr=1e-2, weight_decay=0.1), mistakes=ADAM_MISTAKES)
### BEGIN HIDDEN TESTS
check_optimizer("Adam", Adam, torch.optim.Adam, dict(lr=3e-3, betas=(0.9, 0.99), eps=1e-4, weight_decay=1e-2),
                mistakes=ADAM_MISTAKES)
check_optimizer("Adam on one tensor", Adam, torch.optim.Adam, dict(lr=1e-2), problem="rosenbrock", steps=200)
check_optimizer("Adam with param groups", Adam, torch.optim.Adam,
                dict(lr=1e-2, weight_decay=0.05, groups=[{"params": [0, 2]}, {"params": [1, 3], "lr": 1e-3,
                                                                               "weight_decay": 0.0}]))
### END HIDDEN TESTS
print("Adam: tests passed")

# %% [markdown]
# ## Task 3: AdamW (4 points)
#
# AdamW (Loshchilov & Hutter 2019) takes the decay out of the gradient: first shrink the
# weights, then take the Adam step of Task 2 with $\lambda = 0$, on the loss's own gradient:
#
# $$ \theta \leftarrow \theta\,(1 - \eta\lambda), \qquad
#    \text{then } m, v, \hat m, \hat v \text{ from } g_t = \nabla L(\theta_{t-1}), \qquad
#    \theta_t = \theta - \eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}. $$
#
# The default `weight_decay` is $10^{-2}$, as in PyTorch. Write the whole step here (do not
# call your `Adam` from Task 2: each task is graded on its own).

# %% nbgrader={"grade": false, "grade_id": "task3_adamw", "locked": false, "schema_version": 3, "solution": true, "task": false}
class AdamW(Optimizer):
    """Adam with decoupled weight decay, equal to torch.optim.AdamW(params, lr, betas, eps, weight_decay)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self):
        """One update of every parameter that has a gradient."""
        ### BEGIN SOLUTION
        for group in self.param_groups:
            lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                p.mul_(1 - lr * wd)                                  # the decay, on the weights
                g, state = p.grad, self.state[p]
                if not state:
                    state.update(t=0, m=torch.zeros_like(p), v=torch.zeros_like(p))
                state["t"] += 1
                t, m, v = state["t"], state["m"], state["v"]
                m.mul_(beta1).add_((1 - beta1) * g)
                v.mul_(beta2).add_((1 - beta2) * g * g)
                m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
                p -= lr * m_hat / (v_hat.sqrt() + eps)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task3_adamw_test", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
# Task 3 tests: AdamW against torch.optim.AdamW, 100 steps each
check_optimizer("AdamW", AdamW, torch.optim.AdamW, dict(lr=1e-2, weight_decay=0.1), mistakes=ADAMW_MISTAKES)
check_optimizer("AdamW", AdamW, torch.optim.AdamW, dict(lr=1e-3, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.5),
                mistakes=ADAMW_MISTAKES)
### BEGIN HIDDEN TESTS
check_optimizer("AdamW (default weight_decay)", AdamW, torch.optim.AdamW, dict(lr=3e-3), mistakes=ADAMW_MISTAKES)
check_optimizer("AdamW on one tensor", AdamW, torch.optim.AdamW, dict(lr=1e-2, weight_decay=0.5),
                problem="rosenbrock", steps=200)
check_optimizer("AdamW with param groups", AdamW, torch.optim.AdamW,
                dict(lr=1e-2, weight_decay=0.2, groups=[{"params": [0, 2]}, {"params": [1, 3], "weight_decay": 0.0}]))
### END HIDDEN TESTS
print("AdamW: tests passed")
