"""Recurrent networks on tasks: a sentence classifier and a one-step-ahead forecaster.

``RNNClassifier`` reads the (ids, lengths) batches of ``dlcourse.data.text_loader``: embedding ->
dropout -> (Bi)RNN/LSTM/GRU over the true lengths -> pooling over time -> dropout -> linear. The
pooling is "last" (the final state, of each direction; the classic encoder), "max" or "mean"
over the real steps only (Conneau et al. 2017, "Supervised learning of universal sentence
representations": BiLSTM-max was their best encoder), or "max+mean" (both, concatenated).

``impl`` picks the recurrent layer: "ours" (dlcourse.models.rnn, built from the gate equations
and proven equal to torch) or "torch" (nn.LSTM etc., the same function with fused kernels: faster,
by how much is measured in benchmarks/RESULTS.md). The two share
parameter names, so a trained state dict loads into either.

``RNNForecaster`` maps a window of a series (N, T, features) to the next value (N, 1) from the
last hidden state: the sunspots chapter's model.
"""
from __future__ import annotations

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from dlcourse.models.rnn import recurrent

__all__ = ["RNNClassifier", "RNNForecaster", "POOLINGS"]

POOLINGS = ("last", "max", "mean", "max+mean")


def _torch_layer(kind: str, input_size: int, hidden_size: int, **options) -> nn.RNNBase:
    return {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind](input_size, hidden_size, **options)


class RNNClassifier(nn.Module):
    """Sentence classifier: ``forward((ids, lengths)) -> logits (N, classes)``."""

    def __init__(self, vocab_size: int, classes: int, kind: str = "lstm", embed_dim: int = 128,
                 hidden_size: int = 128, num_layers: int = 1, bidirectional: bool = False, pooling: str = "last",
                 dropout: float = 0.0, embed_dropout: float | None = None, impl: str = "torch", pad_index: int = 0):
        super().__init__()
        if kind not in ("rnn", "lstm", "gru"):
            raise ValueError(f"kind must be 'rnn', 'lstm' or 'gru'; got {kind!r}.")
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}; got {pooling!r}.")
        if impl not in ("ours", "torch"):
            raise ValueError(f"impl must be 'ours' (dlcourse.models.rnn) or 'torch' (nn.{kind.upper()}); got {impl!r}.")
        self.kind, self.pooling, self.impl = kind, pooling, impl
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=pad_index)
        self.embed_dropout = nn.Dropout(dropout if embed_dropout is None else embed_dropout)
        options = dict(num_layers=num_layers, batch_first=True, bidirectional=bidirectional,
                       dropout=dropout if num_layers > 1 else 0.0)
        build = recurrent if impl == "ours" else _torch_layer
        self.rnn = build(kind, embed_dim, hidden_size, **options)
        features = hidden_size * (2 if bidirectional else 1) * (2 if pooling == "max+mean" else 1)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(features, classes)

    def encode(self, ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The RNN's outputs (N, T, D*H), zero at padded steps, and its final states h_n."""
        x = self.embed_dropout(self.embedding(ids))                        # (N, T, E)
        if self.impl == "ours":
            out, h_n = self.rnn(x, lengths=lengths)
        else:  # torch's layers take variable lengths as a PackedSequence
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            out, h_n = self.rnn(packed)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=ids.shape[1])
        return out, h_n[0] if self.kind == "lstm" else h_n

    def forward(self, inputs: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        ids, lengths = inputs                                              # (N, T), (N,)
        out, h_n = self.encode(ids, lengths)                               # (N, T, D*H), (layers*D, N, H)
        mask = (torch.arange(ids.shape[1], device=ids.device)[None, :] < lengths.to(ids.device)[:, None])
        mask = mask.unsqueeze(-1)                                          # (N, T, 1): True at real steps
        pooled = []
        if self.pooling == "last":   # the top layer's final state in each direction
            D = 2 if self.rnn.bidirectional else 1
            pooled.append(torch.cat(list(h_n[-D:]), dim=-1))               # (N, D*H)
        if "max" in self.pooling:
            pooled.append(out.masked_fill(~mask, float("-inf")).amax(dim=1))
        if "mean" in self.pooling:
            pooled.append((out * mask).sum(1) / lengths.to(out.device, out.dtype)[:, None])
        return self.head(self.dropout(torch.cat(pooled, dim=-1)))          # (N, classes)


class RNNForecaster(nn.Module):
    """One-step-ahead forecaster: ``forward(window (N, T, features)) -> next value (N, 1)``."""

    def __init__(self, kind: str = "rnn", input_size: int = 1, hidden_size: int = 32, num_layers: int = 1,
                 impl: str = "ours"):
        super().__init__()
        build = recurrent if impl == "ours" else _torch_layer
        self.rnn = build(kind, input_size, hidden_size, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(window)                                          # (N, T, H)
        return self.head(out[:, -1])                                       # (N, 1)
