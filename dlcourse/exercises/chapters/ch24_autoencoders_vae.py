"""Checks of chapter 24's exercises: the reparameterisation trick and the KL term of the ELBO."""
from __future__ import annotations

from typing import Callable

import torch

from dlcourse.checks import CheckError, check_close
from dlcourse.exercises import not_attempted
from dlcourse.models.vae import gaussian_kl

__all__ = ["check_reparameterise", "check_kl_to_prior"]

CHAPTER = "24_autoencoders_vae"


def check_reparameterise(reparameterise: Callable) -> None:
    """Exercise 1: reparameterise(mu, logvar) draws from N(mu, exp(logvar)) with gradients to mu and logvar."""
    __tracebackhide__ = True
    n = 100_000
    mu = torch.tensor([2.0, -1.0], dtype=torch.float64).repeat(n, 1).requires_grad_()
    logvar = torch.tensor([0.0, 2 * torch.log(torch.tensor(3.0)).item()], dtype=torch.float64).repeat(n, 1)
    logvar.requires_grad_()
    torch.manual_seed(0)
    z = reparameterise(mu, logvar)
    if not_attempted(z, 1, "make reparameterise return mu + sigma * eps, with eps ~ N(0, I) and sigma = exp(logvar / 2)."):
        return
    if not isinstance(z, torch.Tensor) or z.shape != mu.shape:
        raise CheckError(f"reparameterise must return a tensor shaped like mu, {tuple(mu.shape)}; got "
                         f"{type(z).__name__} {tuple(getattr(z, 'shape', ()))}.")
    if not z.requires_grad:
        raise CheckError("the draw has no gradient: torch.normal(mu, std) and Normal(...).sample() cut it. Draw "
                         "eps = torch.randn_like(mu) and return mu + std * eps, so that mu and logvar get gradients.")
    spread = z.detach().std(0)
    if float(spread.max()) < 1e-6:
        raise CheckError("every draw equals mu: add the noise, mu + exp(logvar / 2) * eps with eps = torch.randn_like(mu).")
    if abs(float(spread[1]) - 9.0) < 0.3:
        raise CheckError(f"the second coordinate's spread is {float(spread[1]):.2f}, the variance exp(logvar) = 9: "
                         "sigma is the square root, exp(logvar / 2) (logvar is log sigma^2).")
    check_close("mean of 100,000 draws", z.detach().mean(0), torch.tensor([2.0, -1.0], dtype=torch.float64),
                atol=0.03, rtol=0, hint="the draws should centre on mu")
    check_close("spread of 100,000 draws", spread, torch.tensor([1.0, 3.0], dtype=torch.float64), atol=0.03, rtol=0,
                hint="sigma = exp(logvar / 2) multiplies eps ~ N(0, 1)")
    z.sum().backward()
    if mu.grad is None or logvar.grad is None or float(mu.grad.abs().max()) == 0:
        raise CheckError("no gradient reaches mu and logvar through the draw (torch.normal's is zero). Draw "
                         "eps = torch.randn_like(mu) and return mu + std * eps.")
    eps = ((z - mu) / (0.5 * logvar).exp()).detach()
    check_close("d z / d mu", mu.grad, torch.ones_like(mu), atol=1e-12, rtol=0)
    check_close("d z / d logvar", logvar.grad, 0.5 * (0.5 * logvar.detach()).exp() * eps,
                hint="z = mu + exp(logvar / 2) * eps, so dz/dlogvar = eps * exp(logvar / 2) / 2")
    print("OK reparameterise: draws from N(mu, exp(logvar)), gradients reach mu and logvar")


def check_kl_to_prior(kl: Callable) -> None:
    """Exercise 2: kl(mu, logvar) == KL(N(mu, exp(logvar)) || N(0, I)) per row (== torch.distributions)."""
    __tracebackhide__ = True
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(6, 4, generator=g, dtype=torch.float64, requires_grad=True)
    logvar = torch.randn(6, 4, generator=g, dtype=torch.float64, requires_grad=True)
    got = kl(mu, logvar)
    if not_attempted(got, 2, "make kl_to_prior return the (N,) KL divergence of each row's Gaussian to N(0, I)."):
        return
    got = torch.as_tensor(got)
    expected = gaussian_kl(mu, logvar)
    if tuple(got.shape) != (6,):
        hint = " (sum over the latent dimension, -1)" if tuple(got.shape) in ((6, 4), ()) else ""
        raise CheckError(f"kl_to_prior gave shape {tuple(got.shape)}, expected (N,) = (6,): one KL per image{hint}.")
    got64 = got.detach().double()
    terms = (mu.pow(2) + logvar.exp() - logvar - 1).detach()
    if torch.allclose(got64, -expected.detach(), atol=1e-9):
        raise CheckError("the sign is flipped: KL is never negative, 0.5 * sum(mu^2 + exp(logvar) - logvar - 1).")
    if torch.allclose(got64, 2 * expected.detach(), atol=1e-9):
        raise CheckError("twice the KL: keep the factor 1/2 in front of the sum.")
    if torch.allclose(got64, 0.5 * terms.mean(-1), atol=1e-9):
        raise CheckError("that is the mean over the latent dimensions: the KL of independent coordinates is their sum.")
    sigma_as_logvar = 0.5 * (mu.pow(2) + (2 * logvar).exp() - 2 * logvar - 1).sum(-1).detach()
    if torch.allclose(got64, sigma_as_logvar, atol=1e-9):
        raise CheckError("logvar is log sigma^2, not log sigma: the variance is exp(logvar).")
    check_close("KL(q || N(0, I)) per row", got, expected,
                hint="0.5 * sum over dims of (mu^2 + exp(logvar) - logvar - 1)")
    if not got.requires_grad:
        raise CheckError("kl_to_prior's result has no gradient: compute it with torch operations on mu and logvar.")
    print("OK kl_to_prior: equal to the closed form (== torch.distributions.kl_divergence), with gradients")
