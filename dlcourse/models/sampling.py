"""Choosing the next token from a language model's logits: temperature, top-k, top-p (nucleus).

Each filter takes logits (N, V) and returns logits of the same shape with the tokens it rules
out set to -inf, so they compose in the order ``transformers``' logits processors apply them in
``generate`` (temperature, then top-k, then top-p) and ``tests/test_gpt.py`` compares each with
``TemperatureLogitsWarper``, ``TopKLogitsWarper`` and ``TopPLogitsWarper`` on the same logits.

- temperature T: logits / T. T < 1 sharpens the distribution (T -> 0 is the arg-max), T > 1
  flattens it (T -> infinity is uniform).
- top-k: keep the k largest logits (ties with the k-th kept too, as torch.topk's threshold does).
- top-p (Holtzman et al. 2020): keep the smallest set of most likely tokens whose probabilities
  add up to at least p; the most likely token always stays.
"""
from __future__ import annotations

import torch

__all__ = ["apply_temperature", "top_k_filter", "top_p_filter", "filter_logits", "sample_next"]


def apply_temperature(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}: for the arg-max, use greedy=True.")
    return logits / temperature


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Every logit below the k-th largest of its row set to -inf."""
    if k < 1:
        raise ValueError(f"top_k must be at least 1, got {k}.")
    k = min(k, logits.size(-1))
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf"))


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Keep the most likely tokens until their probabilities reach ``p``; -inf for the rest.

    Sorted ascending, a token is dropped when the probability mass up to and including it is
    at most 1 - p (all the mass above it is then still >= p): transformers' rule, ties included."""
    if not 0 < p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {p}.")
    ascending, order = torch.sort(logits, dim=-1, descending=False)
    mass = ascending.softmax(dim=-1).cumsum(dim=-1)
    drop_sorted = mass <= (1 - p)
    drop_sorted[..., -1:] = False                      # the most likely token always stays
    drop = drop_sorted.scatter(-1, order, drop_sorted)
    return logits.masked_fill(drop, float("-inf"))


def filter_logits(logits: torch.Tensor, *, temperature: float = 1.0, top_k: int | None = None,
                  top_p: float | None = None) -> torch.Tensor:
    """Temperature, then top-k, then top-p (transformers' order)."""
    logits = apply_temperature(logits, temperature)
    if top_k is not None:
        logits = top_k_filter(logits, top_k)
    if top_p is not None and top_p < 1.0:
        logits = top_p_filter(logits, top_p)
    return logits


def sample_next(logits: torch.Tensor, *, temperature: float = 1.0, top_k: int | None = None,
                top_p: float | None = None, greedy: bool = False,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """The next token of each row, (N, V) -> (N, 1): the arg-max, or a draw from the filtered softmax."""
    if greedy:
        return logits.argmax(dim=-1, keepdim=True)
    probs = filter_logits(logits.float(), temperature=temperature, top_k=top_k, top_p=top_p).softmax(dim=-1)
    return torch.multinomial(probs, 1, generator=generator)
