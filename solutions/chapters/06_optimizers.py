"""Worked solutions to the exercises of chapter 06 · Optimizers.

Run it from the repository root: ``python solutions/chapters/06_optimizers.py``. Each solution
is checked by the same function the notebook calls (``dlcourse.exercises.chapters.ch06_optimizers``);
a wrong answer raises ``dlcourse.CheckError``.
"""
import torch
from torch.optim import Optimizer

import dlcourse
from dlcourse.exercises.chapters import ch06_optimizers as exercises

dlcourse.setup(seed=0, quiet=True)


# %% Exercise 1: Adagrad
#
# The sum G of squared gradients is state: one tensor per parameter, created at the first
# step (zeros shaped like p). It only grows, so each weight's step shrinks like 1/sqrt(t) for
# a steady gradient: fine for convex problems, too early a slow-down for deep nets, which is
# what RMSprop's running average fixes. eps goes outside the square root, as in torch.
class Adagrad(Optimizer):
    def __init__(self, params, lr=1e-2, eps=1e-10):
        super().__init__(params, dict(lr=lr, eps=eps))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["sum"] = torch.zeros_like(p)
                state["sum"] += p.grad * p.grad
                p -= group["lr"] * p.grad / (state["sum"].sqrt() + group["eps"])


exercises.check_adagrad(Adagrad)


# %% Exercise 2: AMSGrad
#
# Adam's two moments and bias corrections as in the chapter, plus v_max, the running maximum
# of v (not of v_hat: torch takes the max of the raw v and divides by sqrt(1 - beta2^t) after).
# Because v_max never decreases, the effective step lr / sqrt(v_max) never grows again.
class AMSGrad(Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g, state = p.grad, self.state[p]
                if not state:
                    state.update(step=0, m=torch.zeros_like(p), v=torch.zeros_like(p), v_max=torch.zeros_like(p))
                state["step"] += 1
                t, m, v, v_max = state["step"], state["m"], state["v"], state["v_max"]
                m.mul_(beta1).add_((1 - beta1) * g)
                v.mul_(beta2).add_((1 - beta2) * g * g)
                torch.maximum(v_max, v, out=v_max)
                m_hat, v_max_hat = m / (1 - beta1 ** t), v_max / (1 - beta2 ** t)
                p -= group["lr"] * m_hat / (v_max_hat.sqrt() + group["eps"])


exercises.check_amsgrad(AMSGrad)
print("all chapter 06 exercise checks passed")
