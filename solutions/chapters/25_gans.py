"""Worked solutions to the exercises of chapter 25 · GANs.

Run it from the repository root: ``python solutions/chapters/25_gans.py``. Each solution is checked
by the same function the notebook calls (``dlcourse.exercises.chapters.ch25_gans``); a wrong answer
raises ``dlcourse.CheckError``.
"""
import torch
import torch.nn.functional as F

import dlcourse
from dlcourse.exercises.chapters import ch25_gans as exercises

dlcourse.setup(seed=0, quiet=True)


# %% Exercise 1: the non-saturating generator loss
#
# -log sigmoid(l) = log(1 + exp(-l)) = softplus(-l): computed that way it never takes log(0).
def non_saturating_loss(fake_logits):
    return F.softplus(-fake_logits).mean()


exercises.check_non_saturating_loss(non_saturating_loss)


# %% Exercise 2: adaptive instance normalisation
#
# Statistics per image and per channel (over the pixels, dims 2 and 3), the biased variance, then
# the style's scale and shift broadcast over the pixels.
def adain(x, scale, shift):
    mean = x.mean((2, 3), keepdim=True)
    var = x.var((2, 3), keepdim=True, unbiased=False)
    return scale[:, :, None, None] * (x - mean) / torch.sqrt(var + 1e-5) + shift[:, :, None, None]


exercises.check_adain(adain)
