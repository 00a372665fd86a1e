"""The autoencoder and the variational autoencoder (Kingma & Welling 2014, "Auto-Encoding
Variational Bayes"), as chapter 24 builds them: multilayer perceptrons on flattened images.

An ``Autoencoder`` squeezes an image through a small code and learns to rebuild it; nothing makes
its code space *fill* a known distribution, so a code drawn at random decodes to a blur. The
``VAE`` makes the code a distribution: the encoder gives a Gaussian q(z|x) = N(mu, diag(sigma^2))
per image, a code is drawn from it by the reparameterisation trick (z = mu + sigma * eps, eps ~
N(0, I), so gradients reach mu and sigma), and the training loss is the negative evidence lower
bound (ELBO), per image in nats:

    -ELBO(x) = E_q[-log p(x|z)] + KL(q(z|x) || N(0, I))
             = reconstruction (a sum over pixels)  + 1/2 sum_j (mu_j^2 + sigma_j^2 - log sigma_j^2 - 1)

With ``likelihood="bernoulli"`` each pixel's grey level in [0, 1] is scored by the binary
cross-entropy against the decoder's sigmoid, as in PyTorch's examples/vae (its test loss, about
105 after 10 epochs with 784-400-20, is this quantity). On grey levels that is not a normalised
density (the continuous Bernoulli's normaliser is left out, as everyone does); on binarised pixels
it is the exact Bernoulli likelihood, and the number is a true bound on -log p(x).

``VAE(hidden=(400,), latent=20)`` is examples/vae's network; its keys map onto it by
``EXAMPLES_VAE_KEYS`` (``fc1`` -> ``encoder.net.0``, ``fc21`` -> ``mu``, ...; encoder and decoder are
the course's ``MLP``), and
``tests/test_vae.py`` loads its weights by that key copy and compares the loss and every
gradient with examples/vae's own ``loss_function``.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .config import KeyMap
from .mlp import MLP

__all__ = ["Autoencoder", "VAE", "reparameterise", "gaussian_kl", "reconstruction_nll", "negative_elbo",
           "vae_step", "EXAMPLES_VAE_KEYS"]

# pytorch/examples vae/main.py's keys -> ours, for the default VAE(hidden=(400,), latent=20)
EXAMPLES_VAE_KEYS = KeyMap(rename=[(r"^fc1\.", "encoder.net.0."), (r"^fc21\.", "mu."), (r"^fc22\.", "logvar."),
                                   (r"^fc3\.", "decoder.net.0."), (r"^fc4\.", "decoder.net.2.")])


class Autoencoder(nn.Module):
    """Encoder 784 -> hidden -> latent (a code, no distribution), decoder back to 784 pixel logits."""

    def __init__(self, in_features: int = 784, hidden: Sequence[int] = (400,), latent: int = 20):
        super().__init__()
        self.in_features, self.latent = in_features, latent
        self.encoder = MLP([in_features, *hidden, latent])
        self.decoder = MLP([latent, *reversed(hidden), in_features])

    def encode(self, x: torch.Tensor) -> torch.Tensor:          # (N, 784) or (N, 1, 28, 28) -> (N, latent)
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:          # (N, latent) -> (N, 784) logits
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:         # (N, 784) -> (N, 784) logits
        return self.decode(self.encode(x))


class VAE(nn.Module):
    """Encoder to the mean and log-variance of q(z|x); decoder from a code to pixel logits."""

    def __init__(self, in_features: int = 784, hidden: Sequence[int] = (400,), latent: int = 20):
        super().__init__()
        self.in_features, self.latent = in_features, latent
        self.encoder = MLP([in_features, *hidden], output_activation="relu")
        self.mu = nn.Linear(hidden[-1], latent)
        self.logvar = nn.Linear(hidden[-1], latent)
        self.decoder = MLP([latent, *reversed(hidden), in_features])

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:   # (N, 784) -> 2 x (N, latent)
        h = self.encoder(x)
        return self.mu(h), self.logvar(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:          # (N, latent) -> (N, 784) logits
        return self.decoder(z)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None):
        """(N, 784) -> (logits (N, 784), mu, logvar): one code drawn per image, in training and in eval
        (the ELBO is an expectation over q; eval mode still estimates it with one draw)."""
        mu, logvar = self.encode(x)
        return self.decode(reparameterise(mu, logvar, generator)), mu, logvar

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` images (n, 784) in [0, 1]: codes from the prior N(0, I), decoded, the sigmoid's mean."""
        device = self.mu.weight.device
        z = torch.randn(n, self.latent, generator=generator, device=device)
        return torch.sigmoid(self.decode(z))


def reparameterise(mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """z = mu + sigma * eps with eps ~ N(0, I): a draw from N(mu, sigma^2) that is differentiable in mu, logvar."""
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
    return mu + torch.exp(0.5 * logvar) * eps


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) per row, in nats: (N, latent) -> (N,)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(-1)


def reconstruction_nll(logits: torch.Tensor, x: torch.Tensor, likelihood: str = "bernoulli") -> torch.Tensor:
    """-log p(x|z) per image, summed over pixels: (N, 784) logits and targets in [0, 1] -> (N,).

    ``"bernoulli"``: binary cross-entropy from the logits (stable where a sigmoid would give 0 or 1).
    """
    if likelihood != "bernoulli":
        raise ValueError(f"unknown likelihood {likelihood!r}: the course's VAE uses 'bernoulli' (pixels in [0, 1]).")
    target = x.reshape(logits.shape)
    if target.min() < 0 or target.max() > 1:
        raise ValueError(f"a Bernoulli likelihood needs pixels in [0, 1]; got values in [{float(target.min()):.3g}, "
                         f"{float(target.max()):.3g}]: load MNIST with mnist(..., normalise=False).")
    return F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(-1)


def negative_elbo(logits: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
                  beta: float = 1.0) -> dict[str, torch.Tensor]:
    """The mean over the batch of -ELBO = reconstruction + beta * KL (beta = 1: the ELBO itself), nats per image."""
    reconstruction, kl = reconstruction_nll(logits, x).mean(), gaussian_kl(mu, logvar).mean()
    return {"loss": reconstruction + beta * kl, "reconstruction": reconstruction.detach(), "kl": kl.detach()}


def vae_step(model: VAE, batch) -> dict[str, torch.Tensor]:
    """``dlcourse.fit``'s step for a VAE: batch (images in [0, 1], labels unused) -> -ELBO and its two terms."""
    x = batch[0] if isinstance(batch, (tuple, list)) else batch
    logits, mu, logvar = model(x)
    return negative_elbo(logits.float(), x.float(), mu.float(), logvar.float())
