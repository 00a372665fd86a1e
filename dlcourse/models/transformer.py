"""The Transformer (Vaswani et al. 2017, "Attention Is All You Need"), built as torch.nn builds it.

Read top to bottom: positional encodings (section 3.5) -> encoder layer -> decoder layer ->
the stacks -> the encoder-decoder ``Transformer`` (Figure 1). Each class takes the arguments of
its ``nn.`` namesake and names its submodules the same (self_attn, multihead_attn, linear1,
linear2, norm1..3, encoder.layers.0...), so ``ours.load_state_dict(theirs.state_dict())`` works
both ways and the same seed gives the same initial weights. Attention is in ``attention.py``.

Two LayerNorm placements (norm_first):
- post-LN, the paper's: x = LayerNorm(x + sublayer(x)). Needs warm-up to train deep stacks.
- pre-LN (GPT-2, most models since; Xiong et al. 2020): x = x + sublayer(LayerNorm(x)). The
  residual path stays an identity, so gradients reach early layers undamped.

One difference from torch, on purpose: torch's *inference* fast path (eval mode, no gradients,
a key padding mask) packs the encoder's input into nested tensors, so its layers return 0 at
padded positions (the final LayerNorm maps them to its bias); ours returns the ordinary
computation there. Real tokens agree either way.
"""
from __future__ import annotations

import copy
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from dlcourse.models.attention import MultiheadAttention, causal_mask

__all__ = ["SinusoidalPositionalEncoding", "LearnedPositionalEncoding", "TransformerEncoderLayer",
           "TransformerDecoderLayer", "TransformerEncoder", "TransformerDecoder", "Transformer"]


# ----------------------------------------------------------------------------- positions
class SinusoidalPositionalEncoding(nn.Module):
    """x + PE[:L], then dropout. PE[pos, 2i] = sin(pos / 10000^(2i/d)), PE[pos, 2i+1] = cos(same).

    Each pair of features is a clock of its own frequency, so PE[pos + k] is a rotation of
    PE[pos]: relative offsets are linear functions the attention can learn. Nothing is learned;
    the table is a buffer kept out of the state dict (a checkpoint does not need it).
    """

    def __init__(self, d_model: int, max_len: int = 5000, dropout: float = 0.0, batch_first: bool = False):
        super().__init__()
        self.batch_first = batch_first
        self.dropout = nn.Dropout(dropout)
        # Computed in float64 and rounded once: in float32, pos * frequency would already be off by
        # ~1e-4 radians at pos 5000.
        pos = torch.arange(max_len, dtype=torch.float64).unsqueeze(1)                     # (max_len, 1)
        frequency = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float64) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, d_model, dtype=torch.float64)
        pe[:, 0::2] = torch.sin(pos * frequency)
        pe[:, 1::2] = torch.cos(pos * frequency)[:, : d_model // 2]                       # odd d_model: one fewer cos
        self.register_buffer("pe", pe.to(torch.get_default_dtype()), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:          # (L, N, E) or (N, L, E) -> same
        return self.dropout(x + _positions(self.pe, x, self.batch_first, type(self).__name__))


class LearnedPositionalEncoding(nn.Module):
    """x + P[:L] with P (max_len, d_model) learned (BERT, GPT-2), then dropout.

    The table is called ``weight``, as nn.Embedding's, so a model that names this module as its
    checkpoint does (GPT-2's ``wpe``, BERT's ``position_embeddings``) loads it by key copy.
    Initialised N(0, 0.02^2) as BERT and GPT-2 do: nn.Embedding's N(0, 1) would drown the tokens.
    """

    def __init__(self, d_model: int, max_len: int, dropout: float = 0.0, batch_first: bool = False):
        super().__init__()
        self.batch_first = batch_first
        self.weight = nn.Parameter(torch.empty(max_len, d_model))
        nn.init.normal_(self.weight, std=0.02)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:          # (L, N, E) or (N, L, E) -> same
        return self.dropout(x + _positions(self.weight, x, self.batch_first, type(self).__name__))


def _positions(table: torch.Tensor, x: torch.Tensor, batch_first: bool, who: str) -> torch.Tensor:
    """The first L rows of the table, shaped to add to x: (L, E) batch first, else (L, 1, E)."""
    L = x.size(1 if batch_first else 0)
    if L > table.size(0) or x.size(-1) != table.size(1):
        raise ValueError(f"{who}: got a sequence of length {L} with {x.size(-1)} features; the table holds "
                         f"{table.size(0)} positions of {table.size(1)} (max_len, d_model). Is batch_first right?")
    return table[:L] if batch_first else table[:L].unsqueeze(1)


# ----------------------------------------------------------------------------- layers
def _activation(name):
    if callable(name):
        return name
    if name not in ("relu", "gelu"):
        raise ValueError(f"Transformer: activation must be 'relu', 'gelu' or a function, got {name!r}.")
    return F.relu if name == "relu" else F.gelu


class TransformerEncoderLayer(nn.Module):
    """Self-attention, then a position-wise feed-forward net, each with a residual and a LayerNorm.

    == nn.TransformerEncoderLayer (same arguments, same parameter names).
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation="relu", layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None, dtype=None):
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            **factory)
        self.linear1 = nn.Linear(d_model, dim_feedforward, bias=bias, **factory)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, d_model, bias=bias, **factory)
        self.norm_first = norm_first
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.activation = _activation(activation)

    def forward(self, src: torch.Tensor, src_mask: torch.Tensor | None = None,
                src_key_padding_mask: torch.Tensor | None = None, is_causal: bool = False) -> torch.Tensor:
        """(S, N, E) or, batch first, (N, S, E) -> same shape. Masks: True (or -inf) = hidden."""
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        """FFN(x) = W2 act(W1 x + b1) + b2, the same at every position (section 3.3)."""
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerDecoderLayer(nn.Module):
    """Masked self-attention, cross-attention over the encoder's memory, feed-forward; each residual.

    == nn.TransformerDecoderLayer (same arguments, same parameter names).
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation="relu", layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None, dtype=None):
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first,
                                            **factory)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                 batch_first=batch_first, **factory)
        self.linear1 = nn.Linear(d_model, dim_feedforward, bias=bias, **factory)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, d_model, bias=bias, **factory)
        self.norm_first = norm_first
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.norm3 = nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)
        self.activation = _activation(activation)

    def forward(self, tgt: torch.Tensor, memory: torch.Tensor, tgt_mask: torch.Tensor | None = None,
                memory_mask: torch.Tensor | None = None, tgt_key_padding_mask: torch.Tensor | None = None,
                memory_key_padding_mask: torch.Tensor | None = None, tgt_is_causal: bool = False,
                memory_is_causal: bool = False) -> torch.Tensor:
        """(T, N, E) targets, (S, N, E) memory (batch first: (N, T, E), (N, S, E)) -> (T, N, E)."""
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal)
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal))
            x = self.norm3(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _mha_block(self, x, memory, attn_mask, key_padding_mask, is_causal):
        """Queries from the decoder, keys and values from the encoder's output."""
        x = self.multihead_attn(x, memory, memory, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                                need_weights=False, is_causal=is_causal)[0]
        return self.dropout2(x)

    def _ff_block(self, x):
        return self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(x)))))


# ----------------------------------------------------------------------------- stacks
class TransformerEncoder(nn.Module):
    """num_layers copies of encoder_layer (``layers.0``...), then an optional final LayerNorm.

    is_causal=True lets attention use its causal kernel. Torch also compares the mask with the
    causal one to find that out; ours takes the flag only (the values are the same either way).
    """

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int, norm: nn.Module | None = None):
        super().__init__()
        self.layers = nn.ModuleList(copy.deepcopy(encoder_layer) for _ in range(num_layers))
        self.num_layers, self.norm = num_layers, norm

    def forward(self, src: torch.Tensor, mask: torch.Tensor | None = None,
                src_key_padding_mask: torch.Tensor | None = None, is_causal: bool | None = None) -> torch.Tensor:
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=bool(is_causal))
        return x if self.norm is None else self.norm(x)


class TransformerDecoder(nn.Module):
    """num_layers copies of decoder_layer, each attending to the same memory; optional final LayerNorm."""

    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int, norm: nn.Module | None = None):
        super().__init__()
        self.layers = nn.ModuleList(copy.deepcopy(decoder_layer) for _ in range(num_layers))
        self.num_layers, self.norm = num_layers, norm

    def forward(self, tgt: torch.Tensor, memory: torch.Tensor, tgt_mask: torch.Tensor | None = None,
                memory_mask: torch.Tensor | None = None, tgt_key_padding_mask: torch.Tensor | None = None,
                memory_key_padding_mask: torch.Tensor | None = None, tgt_is_causal: bool | None = None,
                memory_is_causal: bool = False) -> torch.Tensor:
        x = tgt
        for layer in self.layers:
            x = layer(x, memory, tgt_mask=tgt_mask, memory_mask=memory_mask, tgt_key_padding_mask=tgt_key_padding_mask,
                      memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=bool(tgt_is_causal),
                      memory_is_causal=memory_is_causal)
        return x if self.norm is None else self.norm(x)


# ----------------------------------------------------------------------------- the model
class Transformer(nn.Module):
    """Encoder-decoder (Figure 1) == nn.Transformer: embeddings in, decoder states out.

    Like torch's, it holds no token embeddings, positions or output layer (a chapter's model
    adds them), and ends each stack with a LayerNorm whichever norm_first is.
    """

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation="relu", layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None, dtype=None):
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        layer_args = (d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, batch_first,
                      norm_first, bias)
        self.encoder = TransformerEncoder(TransformerEncoderLayer(*layer_args, **factory), num_encoder_layers,
                                          nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory))
        self.decoder = TransformerDecoder(TransformerDecoderLayer(*layer_args, **factory), num_decoder_layers,
                                          nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory))
        self._reset_parameters()
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def _reset_parameters(self) -> None:
        """torch's choice: Xavier-uniform for every matrix (the layers' own inits are overwritten)."""
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    def forward(self, src: torch.Tensor, tgt: torch.Tensor, src_mask: torch.Tensor | None = None,
                tgt_mask: torch.Tensor | None = None, memory_mask: torch.Tensor | None = None,
                src_key_padding_mask: torch.Tensor | None = None, tgt_key_padding_mask: torch.Tensor | None = None,
                memory_key_padding_mask: torch.Tensor | None = None, src_is_causal: bool | None = None,
                tgt_is_causal: bool | None = None, memory_is_causal: bool = False) -> torch.Tensor:
        """(S, N, E) source and (T, N, E) target (batch first: (N, S, E), (N, T, E)) -> (T, N, E).

        One pair of sequences, as torch takes it: (S, E) and (T, E) -> (T, E), padding masks (S,), (T,).
        tgt_mask is usually ``generate_square_subsequent_mask(T)``: position t sees targets <= t.
        """
        batch = 0 if self.batch_first else 1
        one_pair = src.dim() == 2 and tgt.dim() == 2
        if not one_pair and (src.dim() != 3 or tgt.dim() != 3 or src.size(batch) != tgt.size(batch)):
            raise ValueError(f"Transformer: src {tuple(src.shape)} and tgt {tuple(tgt.shape)} must be 3-d with the "
                             f"same batch size in dimension {batch} (batch_first={self.batch_first}), or both "
                             "2-d (one source and one target sequence).")
        if src.size(-1) != self.d_model or tgt.size(-1) != self.d_model:
            raise ValueError(f"Transformer: src and tgt need d_model = {self.d_model} features, got "
                             f"{src.size(-1)} and {tgt.size(-1)}.")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=tgt_is_causal,
                            memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device=None, dtype=None) -> torch.Tensor:
        """(sz, sz): 0 on and below the diagonal, -inf above; == nn.Transformer's."""
        return causal_mask(sz, device=device, dtype=dtype)
