"""Attention (Vaswani et al. 2017, "Attention Is All You Need", section 3.2), as PyTorch computes it.

    scaled_dot_product_attention   softmax(Q K^T / sqrt(d_k) + mask) V, written out
                                   == F.scaled_dot_product_attention
    MultiheadAttention             h heads side by side == nn.MultiheadAttention (kdim, vdim, one sequence
                                   unbatched); state dicts load both ways
    AdditiveAttention              Bahdanau et al. 2015's score v^T tanh(W_q q + W_k k), the first attention
    capture_attention              records every MultiheadAttention's per-head weights during a forward pass

Two mask conventions, both PyTorch's, and the classic place to get a sign wrong:

- ``scaled_dot_product_attention`` (ours and ``F.``'s) takes a boolean mask of the keys a query
  MAY attend to: True = attend.
- ``MultiheadAttention`` and the ``Transformer*`` modules (ours and ``nn.``'s) take boolean masks
  of what is HIDDEN: True = masked (a padding key, a future position).

A float mask means the same in both: it is added to the scores, 0 keeps a key and -inf removes it.
``tests/test_transformer.py`` proves both equal to torch in values and gradients.
"""
from __future__ import annotations

import contextlib
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["causal_mask", "attention_weights", "scaled_dot_product_attention", "MultiheadAttention",
           "AdditiveAttention", "capture_attention"]


def causal_mask(size: int, keys: int | None = None, *, device=None, dtype=None) -> torch.Tensor:
    """(size, keys) additive mask: 0 where query i may see key j <= i, -inf above the diagonal.

    Square, it equals ``nn.Transformer.generate_square_subsequent_mask(size)``; with more or fewer
    keys it is aligned top-left, as the ``is_causal=True`` of ``F.scaled_dot_product_attention``.
    """
    keys = size if keys is None else keys
    return torch.full((size, keys), float("-inf"), device=device, dtype=dtype).triu(1)


def attention_weights(query: torch.Tensor, key: torch.Tensor, attn_mask: torch.Tensor | None = None,
                      is_causal: bool = False, scale: float | None = None) -> torch.Tensor:
    """softmax(Q K^T * scale + mask) over the keys: (..., L, E), (..., S, E) -> (..., L, S).

    attn_mask: boolean (True = may attend) or float (added), broadcastable to (..., L, S).
    scale: 1/sqrt(E) by default. Why: for unit-variance q and k, q.k sums E products and has
    variance E; unscaled, the softmax saturates as E grows (one weight near 1, gradients near 0).
    """
    L, S = query.size(-2), key.size(-2)
    scale = 1.0 / math.sqrt(query.size(-1)) if scale is None else scale
    scores = query @ key.transpose(-2, -1) * scale                       # (..., L, S)
    if is_causal:
        if attn_mask is not None:
            raise ValueError("attention: give attn_mask or is_causal=True, not both "
                             "(as F.scaled_dot_product_attention).")
        attn_mask = causal_mask(L, S, device=scores.device, dtype=scores.dtype)
    if attn_mask is None:
        return torch.softmax(scores, dim=-1)
    if attn_mask.dtype == torch.bool:
        scores = scores.masked_fill(~attn_mask, float("-inf"))
    else:
        scores = scores + attn_mask
    # A query whose every key is masked has only -inf scores, and softmax would give 0/0 = NaN.
    # F.scaled_dot_product_attention (torch >= 2.5) gives such a row zero weights (it attends to nothing, its
    # output is 0, no gradient flows); so do we, without ever putting a NaN into the graph.
    dead = torch.isneginf(scores).all(dim=-1, keepdim=True)
    return torch.softmax(scores.masked_fill(dead, 0.0), dim=-1).masked_fill(dead, 0.0)


def scaled_dot_product_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                                 attn_mask: torch.Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None) -> torch.Tensor:
    """The explicit form of F.scaled_dot_product_attention, same arguments: (..., L, E) -> (..., L, Ev).

    Dropout, as in torch, drops attention weights (a query loses some keys), not outputs; with
    the same seed it drops the same ones as torch's math kernel.
    """
    weights = attention_weights(query, key, attn_mask, is_causal, scale)
    if dropout_p > 0:
        weights = F.dropout(weights, dropout_p)
    return weights @ value


def _additive(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """torch.nn's convention, made additive: a boolean True (hidden) becomes -inf; a float mask is kept."""
    if mask.dtype == torch.bool:
        return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill_(mask, float("-inf"))
    return mask.to(dtype)


class MultiheadAttention(nn.Module):
    """num_heads attentions, each in its own d = embed_dim / num_heads features (section 3.2.2).

    The arguments are nn.MultiheadAttention's, in its order. Parameters are named as its are, so
    state dicts load both ways (strictly): ``in_proj_weight`` (3E, E) is [W_q; W_k; W_v] stacked,
    ``in_proj_bias`` (3E,), ``out_proj`` a Linear E -> E. Head h reads features h*d .. (h+1)*d - 1
    of each projection. Cross-attention from other widths (``kdim``, ``vdim``: keys with kdim
    features, values with vdim) cannot stack the three weights, so, as in torch, they are then
    ``q_proj_weight`` (E, E), ``k_proj_weight`` (E, kdim) and ``v_proj_weight`` (E, vdim), and
    ``in_proj_weight`` is None; the bias stays stacked.

    A query that may see no key at all (every key of its row padded in key_padding_mask, or
    masked by attn_mask) gets zero attention weights here: it attends to nothing, its output is
    ``out_proj``'s bias, and no NaN enters the graph (its gradient through the attention is 0).
    torch's softmax gives 0/0 there: with need_weights=True (its default) its weights and
    outputs are NaN, and so are its eval-mode no-grad fast path's; with need_weights=False its
    fused kernel gives 0, as ours does. ``tests/test_attention_options.py`` shows both.

    fused (keyword only): True computes attention with F.scaled_dot_product_attention (a fused
    kernel where the device has one) whenever the weights are not asked for; False always runs
    the explicit ``attention_weights`` above (for reading and checking; slower). Left out on
    purpose (torch's rarely used options, refused in words): add_bias_kv, add_zero_attn.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device=None, dtype=None, *, fused: bool = True):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0 or embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be a positive multiple of "
                             f"num_heads ({num_heads}); each head gets embed_dim / num_heads features.")
        for name, on in (("add_bias_kv", add_bias_kv), ("add_zero_attn", add_zero_attn)):
            if on:   # in nn.MultiheadAttention's slots, so a positional call lands where torch's would
                raise ValueError(f"MultiheadAttention: {name}=True is left out of dlcourse on purpose (it appends an "
                                 "extra key and value to every sequence, which the course does not use); leave it "
                                 "False, or use torch.nn.MultiheadAttention for it.")
        factory = {"device": device, "dtype": dtype}
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim    # torch's attribute name
        self.dropout, self.batch_first, self.fused = dropout, batch_first, fused
        # Registered in torch's order, so named_parameters() lists the same names in the same order
        # and the same seed draws the same initial weights as nn.MultiheadAttention.
        if self._qkv_same_embed_dim:
            self.in_proj_weight = nn.Parameter(torch.empty(3 * embed_dim, embed_dim, **factory))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = nn.Parameter(torch.empty(embed_dim, embed_dim, **factory))
            self.k_proj_weight = nn.Parameter(torch.empty(embed_dim, self.kdim, **factory))
            self.v_proj_weight = nn.Parameter(torch.empty(embed_dim, self.vdim, **factory))
            self.register_parameter("in_proj_weight", None)
        self.in_proj_bias = nn.Parameter(torch.empty(3 * embed_dim, **factory)) if bias else None
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias, **factory)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """torch's initialisation: Xavier-uniform over the stacked projection (or each of the three), zero biases."""
        if self._qkv_same_embed_dim:
            nn.init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                nn.init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            nn.init.zeros_(self.in_proj_bias)
            nn.init.zeros_(self.out_proj.bias)

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                key_padding_mask: torch.Tensor | None = None, need_weights: bool = True,
                attn_mask: torch.Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(L, N, E) queries, (S, N, kdim) keys, (S, N, vdim) values -> (L, N, E) and the weights (N, L, S) or None.

        With batch_first: (N, L, E), (N, S, kdim), (N, S, vdim). One sequence, as torch takes it:
        (L, E), (S, kdim), (S, vdim) -> (L, E) and weights (L, S); its key_padding_mask is (S,) and
        its 3-d attn_mask (num_heads, L, S). Masks follow torch.nn (True = hidden):
        key_padding_mask (N, S) marks padding keys; attn_mask (L, S) or (N * num_heads, L, S).
        is_causal=True applies the causal mask; attn_mask may then be None (torch requires it,
        as a hint, and also ignores it when it can use the causal kernel). The weights are averaged
        over heads unless average_attn_weights=False: (N, num_heads, L, S).
        """
        unbatched = self._check_inputs(query, key, value)
        shared_kv, shared_qkv = key is value, query is key and key is value    # before reshapes make new tensors
        if unbatched:           # one sequence: a batch of one, taken off again at the end
            if key_padding_mask is not None:
                if key_padding_mask.shape != key.shape[:1]:
                    raise ValueError(f"MultiheadAttention: for one sequence key_padding_mask must have shape "
                                     f"(S,) = ({key.size(0)},), True at padding keys; "
                                     f"got {tuple(key_padding_mask.shape)}.")
                key_padding_mask = key_padding_mask.unsqueeze(0)
            axis = 0 if self.batch_first else 1
            query, key, value = query.unsqueeze(axis), key.unsqueeze(axis), value.unsqueeze(axis)
        if not self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        N, L, E = query.shape
        S = key.size(1)
        q, k, v = self._project(query, key, value, shared_kv, shared_qkv)   # (N, L, E), (N, S, E), (N, S, E)
        q, k, v = self._split_heads(q), self._split_heads(k), self._split_heads(v)   # (N, H, L or S, d)
        causal_kernel = is_causal and key_padding_mask is None and not need_weights and self.fused
        mask = None if causal_kernel else self._merge_masks(attn_mask, key_padding_mask, is_causal, N, L, S, q.dtype)
        dropout_p = self.dropout if self.training else 0.0
        weights = None
        if need_weights or not self.fused:
            weights = attention_weights(q, k, mask)                           # (N, H, L, S)
            if dropout_p > 0:   # torch returns the weights after dropout too
                weights = F.dropout(weights, dropout_p)
            y = weights @ v
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout_p, is_causal=causal_kernel)
        y = self.out_proj(self._merge_heads(y))                               # (L, N, E)
        if self.batch_first:
            y = y.transpose(0, 1)
        if not need_weights:
            weights = None
        elif average_attn_weights:
            weights = weights.mean(dim=1)
        if unbatched:
            y = y.squeeze(0 if self.batch_first else 1)
            weights = None if weights is None else weights.squeeze(0)
        return y, weights

    def _check_inputs(self, query, key, value) -> bool:
        """Shapes and widths as torch checks them; True for one unbatched sequence."""
        dims = (query.dim(), key.dim(), value.dim())
        if dims not in ((3, 3, 3), (2, 2, 2)):
            raise ValueError(f"MultiheadAttention: expected query, key and value all 3-d (a batch: (L, N, E), or "
                             f"(N, L, E) with batch_first) or all 2-d (one sequence: (L, E)); got shapes "
                             f"{tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}.")
        if (query.size(-1) != self.embed_dim or key.size(-1) != self.kdim or value.size(-1) != self.vdim
                or key.shape[:-1] != value.shape[:-1]):
            raise ValueError(f"MultiheadAttention: query needs embed_dim = {self.embed_dim} features, key kdim = "
                             f"{self.kdim} and value vdim = {self.vdim}, and key and value the same shape apart from "
                             f"their features; got {tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}.")
        return dims == (2, 2, 2)

    def _project(self, query, key, value, shared_kv: bool, shared_qkv: bool):
        """Q, K, V = x W^T + b with the three blocks of in_proj, in as few matmuls as torch uses."""
        E, b = self.embed_dim, self.in_proj_bias
        b_q, b_k, b_v = b.chunk(3) if b is not None else (None, None, None)
        if not self._qkv_same_embed_dim:    # three widths, three weights (torch's _in_projection)
            return (F.linear(query, self.q_proj_weight, b_q), F.linear(key, self.k_proj_weight, b_k),
                    F.linear(value, self.v_proj_weight, b_v))
        w = self.in_proj_weight
        if shared_qkv:          # self-attention: one matmul gives all three
            return F.linear(query, w, b).chunk(3, dim=-1)
        w_q, w_kv = w.split([E, 2 * E])
        b_kv = b.split([E, 2 * E])[1] if b is not None else None
        if shared_kv:           # attention over a memory (the decoder's cross-attention)
            return (F.linear(query, w_q, b_q), *F.linear(key, w_kv, b_kv).chunk(2, dim=-1))
        w_k, w_v = w_kv.chunk(2)
        return F.linear(query, w_q, b_q), F.linear(key, w_k, b_k), F.linear(value, w_v, b_v)

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(N, L, E) -> (N, H, L, d): feature h*d + i is head h's i-th feature (torch's order)."""
        N, L, _ = x.shape
        return x.view(N, L, self.num_heads, self.head_dim).transpose(1, 2)

    def _merge_heads(self, y: torch.Tensor) -> torch.Tensor:
        """(N, H, L, d) -> (L, N, E): the heads side by side again, before out_proj mixes them.

        Sequence first in memory, as torch lays it out whatever batch_first is: a dropout after
        this layer then draws its random mask over the same memory order, so the same seed drops
        the same entries as torch's (dropout follows memory order, not index order).
        """
        N, H, L, d = y.shape
        return y.permute(2, 0, 1, 3).reshape(L, N, H * d)

    def _merge_masks(self, attn_mask, key_padding_mask, is_causal, N, L, S, dtype) -> torch.Tensor | None:
        """One additive mask broadcastable to (N, H, L, S): 0 where attention is allowed."""
        if is_causal and attn_mask is None:
            attn_mask = causal_mask(L, S, device=self.out_proj.weight.device, dtype=dtype)
        mask = None
        if attn_mask is not None:
            if attn_mask.shape not in ((L, S), (N * self.num_heads, L, S)):
                raise ValueError(f"MultiheadAttention: attn_mask must have shape ({L}, {S}) or "
                                 f"({N * self.num_heads}, {L}, {S}) (batch-major, then heads), "
                                 f"got {tuple(attn_mask.shape)}.")
            mask = _additive(attn_mask, dtype)
            if mask.dim() == 3:
                mask = mask.view(N, self.num_heads, L, S)
        if key_padding_mask is not None:
            if key_padding_mask.shape != (N, S):
                raise ValueError(f"MultiheadAttention: key_padding_mask must have shape (N, S) = ({N}, {S}), "
                                 f"True at padding keys; got {tuple(key_padding_mask.shape)}.")
            padding = _additive(key_padding_mask, dtype).view(N, 1, 1, S)
            mask = padding if mask is None else mask + padding
        return mask


class AdditiveAttention(nn.Module):
    """Bahdanau, Cho & Bengio 2015 ("Neural machine translation by jointly learning to align and
    translate", appendix A.1.2): score(q, k) = v^T tanh(W_q q + W_k k), softmax over the keys.

    The score is a one-hidden-layer MLP of the query and the key, so queries and keys may have
    different widths (a decoder state and a bidirectional encoder's output). A key padding mask
    follows torch.nn's convention, True = hidden. Returns (context (N, L, Dv), weights (N, L, S));
    a query given as (N, Dq) gets (N, Dv) and (N, S).
    """

    def __init__(self, query_dim: int, key_dim: int, hidden_dim: int):
        super().__init__()
        self.query_proj = nn.Linear(query_dim, hidden_dim, bias=False)      # W_q
        self.key_proj = nn.Linear(key_dim, hidden_dim, bias=True)           # W_k (and the MLP's bias)
        self.score = nn.Linear(hidden_dim, 1, bias=False)                   # v

    def forward(self, query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor | None = None,
                key_padding_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        single = query.dim() == 2
        q = query.unsqueeze(1) if single else query                          # (N, L, Dq)
        values = keys if values is None else values                          # (N, S, Dv)
        if keys.dim() != 3 or q.size(0) != keys.size(0) or keys.shape[:2] != values.shape[:2]:
            raise ValueError(f"AdditiveAttention: expected query (N, Dq) or (N, L, Dq) and keys, values (N, S, D) with "
                             f"the same N and S; got {tuple(query.shape)}, {tuple(keys.shape)}, {tuple(values.shape)}.")
        # (N, L, 1, h) + (N, 1, S, h): every query against every key, then v^T tanh(.)
        hidden = torch.tanh(self.query_proj(q).unsqueeze(2) + self.key_proj(keys).unsqueeze(1))
        scores = self.score(hidden).squeeze(-1)                              # (N, L, S)
        if key_padding_mask is not None:
            if key_padding_mask.shape != keys.shape[:2]:
                raise ValueError(f"AdditiveAttention: key_padding_mask must be (N, S) = {tuple(keys.shape[:2])}, "
                                 f"True at padding; got {tuple(key_padding_mask.shape)}.")
            scores = scores.masked_fill(key_padding_mask.unsqueeze(1), float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        context = weights @ values                                           # (N, L, Dv)
        return (context.squeeze(1), weights.squeeze(1)) if single else (context, weights)


@contextlib.contextmanager
def capture_attention(model: nn.Module):
    """Within the block, every MultiheadAttention inside ``model`` returns and records its weights.

    Yields a dict {module name: [(N, num_heads, L, S), ...]}, one tensor per call (a decoder run
    step by step calls each layer many times). The layers themselves ask for no weights (the fused
    kernel is faster); a pre-hook asks for them, per head, and the layers discard them as usual::

        with capture_attention(model) as maps:
            model(src, tgt)
        maps["transformer.decoder.layers.0.multihead_attn"][-1]     # cross-attention of layer 0
    """
    maps: dict[str, list[torch.Tensor]] = {}
    handles = []
    for name, module in model.named_modules():
        if isinstance(module, (MultiheadAttention, nn.MultiheadAttention)):
            def ask(_module, args, kwargs):
                return args, {**kwargs, "need_weights": True, "average_attn_weights": False}

            def keep(_module, _args, output, name=name):
                maps.setdefault(name, []).append(output[1].detach())

            handles += [module.register_forward_pre_hook(ask, with_kwargs=True), module.register_forward_hook(keep)]
    try:
        yield maps
    finally:
        for handle in handles:
            handle.remove()
