"""Denoising diffusion (Ho, Jain & Abbeel 2020, "DDPM"; Song, Meng & Ermon 2021, "DDIM"), the
schedules and samplers chapter 26 builds, written from the papers' equations.

The forward process adds Gaussian noise in T small steps, q(x_t | x_{t-1}) = N(sqrt(1 - beta_t)
x_{t-1}, beta_t I), so that in closed form x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps with
abar_t = prod_{s <= t} (1 - beta_s) and eps ~ N(0, I). A network eps_theta(x_t, t) learns to
predict that eps (a mean-squared error); sampling runs the process backwards:

- DDPM (Ho et al., Algorithm 2): x_{t-1} = the posterior mean of q(x_{t-1} | x_t, x_0) at the
  predicted x_0, plus sigma_t z with sigma_t^2 = beta~_t = (1 - abar_{t-1}) / (1 - abar_t) beta_t,
  written as the two-coefficient form of their Eq. 7;
- DDIM (Song et al., Eq. 12): x_{t'} = sqrt(abar_t') x0_hat + sqrt(1 - abar_t' - sigma^2) eps_hat
  + sigma z on a subsequence of the steps, with sigma = eta sqrt((1 - abar_t') / (1 - abar_t)
  (1 - abar_t / abar_t')): eta = 0 is deterministic, eta = 1 is DDPM's noise level.

``NoiseSchedule.linear`` is the paper's beta_1 = 1e-4 ... beta_T = 0.02; ``NoiseSchedule.cosine`` is
Nichol & Dhariwal's (2021) abar(t) = cos^2(((t / T) + s) / (1 + s) pi / 2), betas capped at 0.999.
``tests/test_diffusion.py`` holds every piece equal to ``diffusers``' ``DDPMScheduler`` and
``DDIMScheduler`` (same betas, same noise, same model output: the same x_{t-1} at every step).

Classifier-free guidance (Ho & Salimans 2021): one network trained with the class label dropped
to a "no class" token some of the time predicts eps both ways, and sampling uses
eps_uncond + w (eps_cond - eps_uncond); ``guided_eps`` does that.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from .models.gan import from_unit

__all__ = ["NoiseSchedule", "guided_eps", "diffusion_loss", "diffusion_step", "ddpm_sample", "ddim_sample"]


@dataclass
class NoiseSchedule:
    """betas (T,) and what follows from them; a timestep t indexes 0 .. T-1 (the paper's t = 1 .. T)."""

    betas: torch.Tensor

    def __post_init__(self):
        self.betas = torch.as_tensor(self.betas)
        if self.betas.dim() != 1 or not ((self.betas > 0) & (self.betas < 1)).all():
            raise ValueError("betas must be a 1-D tensor of variances in (0, 1), one per step.")
        self.alphas = 1.0 - self.betas
        self.alphas_cumprod = torch.cumprod(self.alphas, dim=0)

    @property
    def num_steps(self) -> int:
        return len(self.betas)

    @classmethod
    def linear(cls, num_steps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> "NoiseSchedule":
        """Ho et al.'s schedule: betas evenly spaced from beta_start to beta_end (float32, as diffusers)."""
        return cls(torch.linspace(beta_start, beta_end, num_steps, dtype=torch.float32))

    @classmethod
    def cosine(cls, num_steps: int = 1000, s: float = 0.008, max_beta: float = 0.999) -> "NoiseSchedule":
        """Nichol & Dhariwal's schedule: abar follows a squared cosine; beta_t = 1 - abar(t+1) / abar(t), capped."""
        abar = lambda u: math.cos((u + s) / (1 + s) * math.pi / 2) ** 2     # noqa: E731
        betas = [min(1 - abar((i + 1) / num_steps) / abar(i / num_steps), max_beta) for i in range(num_steps)]
        return cls(torch.tensor(betas, dtype=torch.float32))

    def _at(self, values: torch.Tensor, t, like: torch.Tensor) -> torch.Tensor:
        """values[t] shaped to broadcast over a batch like ``like`` (N, ...)."""
        t = torch.as_tensor(t, device=values.device).long()
        out = values[t].to(like.device, like.dtype)
        return out.reshape(-1, *([1] * (like.dim() - 1))) if out.dim() else out

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, t) -> torch.Tensor:
        """x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps: the forward process in one jump (t: int or (N,))."""
        abar = self._at(self.alphas_cumprod, t, x0)
        return abar.sqrt() * x0 + (1 - abar).sqrt() * noise

    def predicted_x0(self, eps: torch.Tensor, t: int, x_t: torch.Tensor, clip: bool = False) -> torch.Tensor:
        """x_0 from x_t and a predicted eps, inverting add_noise; ``clip`` clamps it to the data's [-1, 1]."""
        abar = self._at(self.alphas_cumprod, t, x_t)
        x0 = (x_t - (1 - abar).sqrt() * eps) / abar.sqrt()
        return x0.clamp(-1, 1) if clip else x0

    def ddpm_step(self, eps: torch.Tensor, t: int, x_t: torch.Tensor, noise: torch.Tensor | None = None,
                  clip: bool = False) -> torch.Tensor:
        """x_{t-1}: the posterior mean at the predicted x_0 plus sqrt(beta~_t) z (no noise at t = 0)."""
        abar_t = self.alphas_cumprod[t]
        abar_prev = self.alphas_cumprod[t - 1] if t > 0 else torch.ones((), dtype=abar_t.dtype)
        beta_t = 1 - abar_t / abar_prev
        x0 = self.predicted_x0(eps, t, x_t, clip)
        mean = (abar_prev.sqrt() * beta_t / (1 - abar_t)) * x0 + ((1 - beta_t).sqrt() * (1 - abar_prev) / (1 - abar_t)) * x_t
        if t == 0:
            return mean
        variance = ((1 - abar_prev) / (1 - abar_t) * beta_t).clamp(min=1e-20)
        noise = torch.randn_like(x_t) if noise is None else noise
        return mean + variance.sqrt() * noise

    def ddim_timesteps(self, steps: int) -> list[int]:
        """The ``steps`` timesteps DDIM visits, high to low, evenly spaced from 0 ("leading" spacing, as diffusers)."""
        if not 1 <= steps <= self.num_steps:
            raise ValueError(f"DDIM takes between 1 and {self.num_steps} steps; got {steps}.")
        ratio = self.num_steps // steps
        return [i * ratio for i in range(steps)][::-1]

    def ddim_step(self, eps: torch.Tensor, t: int, prev_t: int, x_t: torch.Tensor, eta: float = 0.0,
                  noise: torch.Tensor | None = None, clip: bool = False, clipped_eps: bool = False) -> torch.Tensor:
        """x_{prev_t} by Song et al.'s Eq. 12 (prev_t < 0: the last step, to abar = 1).

        clipped_eps: with ``clip``, re-derive eps from the clipped x_0, so that x_{prev_t} is the noising of
        the x_0 it claims (GLIDE's and improved-diffusion's choice; diffusers' use_clipped_model_output=True).
        By default a clipped x_0 keeps the network's eps (diffusers' default).
        """
        abar_t = self.alphas_cumprod[t]
        abar_prev = self.alphas_cumprod[prev_t] if prev_t >= 0 else torch.ones((), dtype=abar_t.dtype)
        x0 = self.predicted_x0(eps, t, x_t, clip)
        if clip and clipped_eps:
            eps = (x_t - abar_t.sqrt() * x0) / (1 - abar_t).sqrt()
        sigma = eta * ((1 - abar_prev) / (1 - abar_t) * (1 - abar_t / abar_prev)).sqrt()
        out = abar_prev.sqrt() * x0 + (1 - abar_prev - sigma ** 2).sqrt() * eps
        if eta > 0:
            out = out + sigma * (torch.randn_like(x_t) if noise is None else noise)
        return out


def guided_eps(model: Callable, x_t: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None,
               guidance: float, null_label: int | None) -> torch.Tensor:
    """eps_theta(x_t, t, y), or with classifier-free guidance w: eps(no class) + w (eps(y) - eps(no class))."""
    if labels is None or guidance == 1.0:
        return model(x_t, t, labels)
    if null_label is None:
        raise ValueError("classifier-free guidance needs the model's 'no class' label (null_label).")
    both = model(torch.cat([x_t, x_t]), torch.cat([t, t]), torch.cat([labels, torch.full_like(labels, null_label)]))
    conditional, unconditional = both.chunk(2)
    return unconditional + guidance * (conditional - unconditional)


def diffusion_loss(model: Callable, x0: torch.Tensor, schedule: NoiseSchedule, labels: torch.Tensor | None = None,
                   null_label: int | None = None, drop: float = 0.0) -> torch.Tensor:
    """Ho et al.'s simplified loss: a random t per image, x_t from add_noise, MSE of the predicted eps.

    With ``drop`` > 0 a share of the labels becomes ``null_label``, so the same network also learns
    the unconditional eps that classifier-free guidance needs.
    """
    t = torch.randint(0, schedule.num_steps, (len(x0),), device=x0.device)
    noise = torch.randn_like(x0)
    if labels is not None and drop > 0:
        labels = torch.where(torch.rand(len(labels), device=labels.device) < drop,
                             torch.full_like(labels, null_label), labels)
    return F.mse_loss(model(schedule.add_noise(x0, noise, t), t, labels).float(), noise.float())


def diffusion_step(schedule: NoiseSchedule, conditional: bool = False, null_label: int | None = None,
                   drop: float = 0.1) -> Callable:
    """``dlcourse.fit``'s step: a batch (images in [0, 1], labels) -> ``diffusion_loss`` on the images in [-1, 1].

    conditional: the network reads the labels, each dropped to ``null_label`` with probability ``drop``
    (classifier-free guidance's training); otherwise the labels are ignored.
    """
    if conditional and null_label is None:
        raise ValueError("a conditional diffusion step needs the model's 'no class' label: pass null_label="
                         "model.null_label.")

    def step(model: Callable, batch) -> torch.Tensor:
        x0 = from_unit(batch[0])                 # [0, 1] -> [-1, 1], the range the samplers clip to
        labels = batch[1] if conditional else None
        return diffusion_loss(model, x0, schedule, labels, null_label, drop if conditional else 0.0)
    return step


@torch.no_grad()
def ddpm_sample(model: Callable, schedule: NoiseSchedule, shape, labels: torch.Tensor | None = None,
                guidance: float = 1.0, null_label: int | None = None, generator: torch.Generator | None = None,
                clip: bool = True, trace_every: int = 0) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """T steps from pure noise; returns x_0 and, every ``trace_every`` steps, the chain (for drawing it)."""
    x = torch.randn(shape, generator=generator)
    trace = []
    for t in reversed(range(schedule.num_steps)):
        eps = guided_eps(model, x, torch.full((shape[0],), t), labels, guidance, null_label)
        x = schedule.ddpm_step(eps, t, x, torch.randn(shape, generator=generator), clip)
        if trace_every and t % trace_every == 0:
            trace.append(x)
    return x, trace


@torch.no_grad()
def ddim_sample(model: Callable, schedule: NoiseSchedule, shape, steps: int = 50, eta: float = 0.0,
                labels: torch.Tensor | None = None, guidance: float = 1.0, null_label: int | None = None,
                generator: torch.Generator | None = None, clip: bool = True, clipped_eps: bool = True) -> torch.Tensor:
    """``steps`` DDIM steps from pure noise (eta = 0: deterministic given the starting noise).

    clipped_eps defaults to True here (``ddim_step``'s default, False, is diffusers'): keeping the network's
    eps beside a clipped x_0 drew guided MNIST digits the judge read as intended 54% of the time at 50
    steps, against 96% with the eps re-derived (the same network, noise and labels).
    """
    x = torch.randn(shape, generator=generator)
    timesteps = schedule.ddim_timesteps(steps)
    ratio = schedule.num_steps // steps
    for t in timesteps:
        eps = guided_eps(model, x, torch.full((shape[0],), t), labels, guidance, null_label)
        noise = torch.randn(shape, generator=generator) if eta > 0 else None
        x = schedule.ddim_step(eps, t, t - ratio, x, eta, noise, clip, clipped_eps)
    return x
