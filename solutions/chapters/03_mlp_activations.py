"""Worked solutions to the exercises of chapter 03 · MLP and activations.

Run it from the repository root: ``python solutions/chapters/03_mlp_activations.py``.
Each solution is followed by the same check the notebook runs
(``dlcourse.exercises.chapters.ch03_mlp_activations``); a wrong answer raises
``dlcourse.CheckError``.
"""
import torch

import dlcourse
from dlcourse.exercises.chapters import ch03_mlp_activations as exercises

dlcourse.setup(seed=0, quiet=True)


def sigmoid(x):
    """The notebook's stable sigmoid: exp only ever sees -|x| <= 0."""
    e = torch.exp(torch.where(x >= 0, -x, x))
    return torch.where(x >= 0, 1 / (1 + e), e / (1 + e))


# %% Exercise 1: a stable softplus
#
# log(1 + e^x) = max(x, 0) + log(1 + e^{-|x|}):
#   for x >= 0: log(e^x (e^{-x} + 1)) = x + log(1 + e^{-x});
#   for x <  0: nothing to rewrite, and -|x| = x.
# e^{-|x|} is in (0, 1], so nothing overflows, and log1p keeps the digits of log(1 + u)
# when u is tiny (for x = -30 the answer is about e^-30 = 9e-14, not 0).
def softplus(x):
    """log(1 + exp(x)), stable for any x."""
    return torch.clamp(x, min=0) + torch.log1p(torch.exp(-x.abs()))


exercises.check_softplus(softplus)


# %% Exercise 2: the derivative of SiLU by hand
#
# d/dx [x sigma(x)] = sigma(x) + x sigma'(x) = sigma(x) + x sigma(x)(1 - sigma(x))
#                   = sigma(x) (1 + x (1 - sigma(x))).
def d_silu(x):
    """The derivative of x * sigmoid(x), by hand."""
    s = sigmoid(x)
    return s * (1 + x * (1 - s))


exercises.check_d_silu(d_silu)


# %% Exercise 3: count the parameters of an MLP
#
# Layer l maps sizes[l] inputs to sizes[l+1] outputs: a (sizes[l+1], sizes[l]) weight
# matrix plus sizes[l+1] biases, i.e. (sizes[l] + 1) * sizes[l+1] numbers.
def count_parameters(sizes):
    """Number of weights and biases of an MLP with layer widths sizes = [in, hidden..., out]."""
    return sum((n_in + 1) * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))


exercises.check_count_parameters(count_parameters)

# The digit classifier of the chapter, layer by layer: the 256 -> 128 layer holds most of it.
digits = [64, 256, 128, 10]
per_layer = [(n_in + 1) * n_out for n_in, n_out in zip(digits[:-1], digits[1:])]
print(f"digit MLP {digits}: {count_parameters(digits)} parameters, per layer {per_layer}")
assert per_layer == [16640, 32896, 1290]
print("all chapter 03 exercise checks passed")
