"""Gradient clipping, equal to ``torch.nn.utils.clip_grad_norm_`` / ``clip_grad_value_``.

Call either after ``backward`` and before ``optimizer.step``: before backward there is no
gradient of this step to clip (``dlcourse.fit(clip_grad=...)`` calls it at the right place).
"""
from __future__ import annotations

from typing import Iterable

import torch

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _grads(parameters: Iterable[torch.Tensor] | torch.Tensor) -> list[torch.Tensor]:
    params = [parameters] if isinstance(parameters, torch.Tensor) else list(parameters)
    return [p.grad for p in params if p.grad is not None]


def clip_grad_norm_(parameters: Iterable[torch.Tensor] | torch.Tensor, max_norm: float,
                    norm_type: float = 2.0) -> torch.Tensor:
    """Scale all gradients together so that their joint ``norm_type``-norm is at most max_norm.

    The norm is over every gradient entry of every parameter, as if concatenated into one
    vector: the p-norm of the per-tensor p-norms (for inf, the max of the maxima). Scaling
    keeps the direction of the update and shrinks only its length. Returns the norm before
    clipping (a tensor: reading it would wait for the device).
    """
    grads = _grads(parameters)
    if not grads:
        return torch.tensor(0.0)
    device = grads[0].device
    per_tensor = torch.stack([torch.linalg.vector_norm(g.detach(), norm_type).to(device) for g in grads])
    total = torch.linalg.vector_norm(per_tensor, norm_type)
    # torch's 1e-6 keeps a zero gradient from dividing by zero; clamp(max=1) never scales up.
    # Multiplying by 1 instead of branching on `total > max_norm` avoids a host synchronisation.
    scale = (max_norm / (total + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.detach().mul_(scale.to(g.device, g.dtype))
    return total


def clip_grad_value_(parameters: Iterable[torch.Tensor] | torch.Tensor, clip_value: float) -> None:
    """Clamp every gradient entry into [-clip_value, clip_value], each on its own: unlike
    clipping by norm this changes the direction of the update."""
    for g in _grads(parameters):
        g.detach().clamp_(-clip_value, clip_value)
