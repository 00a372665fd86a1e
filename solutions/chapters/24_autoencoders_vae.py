"""Worked solutions to the exercises of chapter 24 · Autoencoders and the VAE.

Run it from the repository root: ``python solutions/chapters/24_autoencoders_vae.py``. Each solution
is checked by the same function the notebook calls (``dlcourse.exercises.chapters.ch24_autoencoders_vae``);
a wrong answer raises ``dlcourse.CheckError``.
"""
import torch

import dlcourse
from dlcourse.exercises.chapters import ch24_autoencoders_vae as exercises

dlcourse.setup(seed=0, quiet=True)


# %% Exercise 1: the reparameterisation trick
#
# The noise is drawn on its own, from N(0, I), where no parameter touches it; the draw is then a
# differentiable function of mu and logvar. sigma = exp(logvar / 2), the square root of the variance.
def reparameterise(mu, logvar):
    eps = torch.randn_like(mu)
    return mu + torch.exp(0.5 * logvar) * eps


exercises.check_reparameterise(reparameterise)


# %% Exercise 2: the KL term
#
# For one coordinate, KL(N(m, s^2) || N(0, 1)) = (m^2 + s^2 - log s^2 - 1) / 2; the coordinates are
# independent, so the KL of the whole code is the sum over them.
def kl_to_prior(mu, logvar):
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(-1)


exercises.check_kl_to_prior(kl_to_prior)
