"""Decoding a sequence-to-sequence model: greedy search, beam search, exact-sequence accuracy.

Works with any model that has ``encode(src) -> state`` (a tuple of batch-first tensors) and
``decode(ys, state) -> (N, T, vocab)`` logits, as ``dlcourse.models.seq2seq``'s models do. Each
step re-runs the decoder over the whole prefix: simple and exact, and cheap for the short
outputs of the course's toy tasks (chapter 22 adds a key-value cache for long ones).

Beam search (Sutskever, Vinyals & Le 2014; Wu et al. 2016 for the length penalty) keeps the
``beam_size`` most probable prefixes instead of greedy's one: a first word that looks best
alone may lead to a worse sentence. A finished hypothesis (one that produced <eos>) stays in
the beam with its score frozen, and the search ends when every beam has finished.
"""
from __future__ import annotations

import torch
import torch.nn as nn

__all__ = ["greedy_decode", "beam_search", "sequence_accuracy"]

PAD, BOS, EOS = 0, 1, 2


def _select(state, index: torch.Tensor):
    """Rows ``index`` of every tensor of a state (its batch dimension is 0)."""
    return tuple(s.index_select(0, index) for s in state)


@torch.no_grad()
def greedy_decode(model: nn.Module, src: torch.Tensor, max_len: int, bos: int = BOS, eos: int = EOS,
                  pad: int = PAD) -> torch.Tensor:
    """(N, S) source ids -> (N, <= max_len + 1) ids: <bos>, then the arg-max token at each step.

    A sequence that has produced <eos> is padded with ``pad`` while the others go on.
    """
    model.eval()
    state = model.encode(src)
    ys = torch.full((src.size(0), 1), bos, dtype=torch.long, device=src.device)
    done = torch.zeros(src.size(0), dtype=torch.bool, device=src.device)
    for _ in range(max_len):
        logits = model.decode(ys, state)[:, -1]
        logits[:, [pad, bos]] = float("-inf")                 # never predicted: only <eos> ends a sequence
        token = logits.argmax(-1).masked_fill(done, pad)
        ys = torch.cat([ys, token[:, None]], 1)
        done |= token == eos
        if done.all():
            break
    return ys


@torch.no_grad()
def beam_search(model: nn.Module, src: torch.Tensor, beam_size: int, max_len: int, length_penalty: float = 0.0,
                bos: int = BOS, eos: int = EOS, pad: int = PAD) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``beam_size`` best prefixes at every step; returns each source's best (N, T) and its score.

    The score is the sum of the tokens' log-probabilities (<eos> included), divided by
    ((5 + length) / 6) ** length_penalty (Wu et al. 2016; 0 compares raw log-probabilities, which
    favours short outputs). beam_size=1 is greedy search.
    """
    if beam_size < 1:
        raise ValueError(f"beam_search: beam_size must be >= 1, got {beam_size}.")
    model.eval()
    N, K, device = src.size(0), beam_size, src.device
    state = _select(model.encode(src), torch.arange(N, device=device).repeat_interleave(K))   # (N * K, ...)
    ys = torch.full((N * K, 1), bos, dtype=torch.long, device=device)
    scores = torch.full((N, K), float("-inf"), device=device)
    scores[:, 0] = 0.0                              # all beams start identical: keep one, or K copies would tie
    finished = torch.zeros(N, K, dtype=torch.bool, device=device)
    lengths = torch.zeros(N, K, device=device)      # tokens after <bos>, <eos> included
    for _ in range(max_len):
        logits = model.decode(ys, state)[:, -1].float()
        logits[:, [pad, bos]] = float("-inf")                 # as in greedy_decode
        logp = logits.log_softmax(-1)                                           # (N * K, V)
        V = logp.size(-1)
        # A finished beam may only continue with padding, at no cost: it keeps its place and its score.
        logp = logp.masked_fill(finished.view(-1, 1), float("-inf"))
        logp[:, pad] = torch.where(finished.view(-1), 0.0, float("-inf"))
        candidates = (scores.unsqueeze(-1) + logp.view(N, K, V)).view(N, K * V)
        scores, flat = candidates.topk(K, dim=-1)                                # (N, K)
        beam, token = flat // V, flat % V
        rows = (torch.arange(N, device=device).unsqueeze(1) * K + beam).view(-1)
        ys = torch.cat([ys.index_select(0, rows), token.view(-1, 1)], 1)
        state = _select(state, rows)
        was_finished = finished.gather(1, beam)
        lengths = lengths.gather(1, beam) + (~was_finished).float()
        finished = was_finished | (token == eos)
        if finished.all():
            break
    final = scores / ((5 + lengths) / 6) ** length_penalty if length_penalty else scores
    best = final.argmax(-1)                                                       # (N,)
    rows = torch.arange(N, device=device) * K + best
    return ys.index_select(0, rows), final.gather(1, best[:, None]).squeeze(1)


def sequence_accuracy(predicted: torch.Tensor, target: torch.Tensor, eos: int = EOS, pad: int = PAD) -> torch.Tensor:
    """Per row, True when the prediction equals the target up to and including <eos>.

    Both are (N, T) with <bos> first (lengths may differ); whatever follows <eos> is ignored.
    A prediction that never produced <eos> is wrong.
    """
    def upto_eos(ids):
        out = []
        for row in ids.tolist():
            out.append(tuple(row[: row.index(eos) + 1]) if eos in row else None)
        return out
    return torch.tensor([p is not None and p == t for p, t in zip(upto_eos(predicted), upto_eos(target))])
