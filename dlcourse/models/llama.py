"""Llama (Touvron et al. 2023): the decoder that today's open models (Llama, Mistral, Qwen, SmolLM)
are variations of. It is GPT-2's pre-norm decoder (``gpt.py``) with four parts replaced:

- RMSNorm instead of LayerNorm (Zhang & Sennrich 2019): no mean, no shift, one statistic;
- rotary position embeddings (RoPE, Su et al. 2021) instead of a learned position table: queries
  and keys are rotated by their position, so attention scores depend on the distance between two
  tokens, and no table limits the length;
- a SwiGLU feed-forward net (Shazeer 2020) instead of GELU: a gated one, down(silu(gate(x)) * up(x));
- grouped-query attention (GQA, Ainslie et al. 2023): fewer key/value heads than query heads, each
  shared by a group of queries, so the KV cache that generation keeps is n_head / n_kv_head times
  smaller, at almost no cost in quality.
No biases anywhere, no dropout, and (in small models such as SmolLM2) the head tied to the embedding.

Read top to bottom: config -> RMSNorm -> RoPE -> SwiGLU -> grouped-query attention (with gpt.py's
``KVCache``) -> the decoder layer -> ``Llama`` -> generation -> the checkpoint key map.

Names follow transformers' ``LlamaForCausalLM`` without its ``model.`` prefix (``layers.0.self_attn.q_proj``,
``layers.0.mlp.gate_proj``, ``norm``, ``lm_head``), so ``LLAMA_KEYS`` loads its state dict by a key copy.
``tests/test_llama.py`` proves each piece and the whole model equal to transformers' in values and
every gradient; ``dlcourse.models.gguf_weights`` loads the real SmolLM2-135M-Instruct into it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import torch
import torch.nn as nn
import torch.nn.functional as F

from dlcourse.models.config import KeyMap, ModelConfig
from dlcourse.models.gpt import KVCache, generate_tokens, positions_after

__all__ = ["LlamaConfig", "RMSNorm", "rotary_cos_sin", "rotate_half", "apply_rotary", "SwiGLU",
           "GroupedQueryAttention", "LlamaLayer", "Llama", "LLAMA_KEYS"]


@dataclass
class LlamaConfig(ModelConfig):
    """Llama's hyper-parameters; the defaults are SmolLM2-135M's (``from_pretrained_config`` reads a
    transformers ``LlamaConfig``: its names on the right of PRETRAINED_FIELDS)."""
    vocab_size: int = 49152
    block_size: int = 8192          # the longest context it was trained on (RoPE itself has no limit)
    n_layer: int = 30
    n_head: int = 9                 # query heads
    n_kv_head: int = 3              # key/value heads, each shared by n_head // n_kv_head query heads
    n_embd: int = 576
    ffn_dim: int = 1536             # SwiGLU's width: ~8/3 n_embd, so its three matrices cost GELU's two
    eps: float = 1e-5
    rope_theta: float = 100000.0    # RoPE's base: the slowest pair turns once in about 2 pi theta positions
    tie_embeddings: bool = True

    PRETRAINED_FIELDS = {"block_size": "max_position_embeddings", "n_layer": "num_hidden_layers",
                         "n_head": "num_attention_heads", "n_kv_head": "num_key_value_heads", "n_embd": "hidden_size",
                         "ffn_dim": "intermediate_size", "eps": "rms_norm_eps", "tie_embeddings": "tie_word_embeddings"}

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    def validate(self) -> None:
        if self.n_embd % self.n_head:
            raise ValueError(f"LlamaConfig: n_embd ({self.n_embd}) must be a multiple of n_head ({self.n_head}).")
        if self.n_head % self.n_kv_head:
            raise ValueError(f"LlamaConfig: n_head ({self.n_head}) must be a multiple of n_kv_head ({self.n_kv_head}): "
                             "each key/value head serves a whole group of query heads.")
        if self.head_dim % 2:
            raise ValueError(f"LlamaConfig: the head size n_embd / n_head = {self.head_dim} must be even: "
                             "RoPE rotates its features in pairs.")

    @classmethod
    def from_pretrained_config(cls, reference, **overrides):
        """Also reads what transformers 5 keeps elsewhere (``rope_parameters["rope_theta"]``; no
        ``num_key_value_heads`` means one per query head), and refuses what this decoder leaves out
        (RoPE scaling as in Llama 3, biases, another activation, a head size other than n_embd / n_head)."""
        get = reference.get if isinstance(reference, Mapping) else (lambda k, d=None: getattr(reference, k, d))
        rope = get("rope_parameters") or get("rope_scaling") or {}
        unsupported = {"rope_type": (rope.get("rope_type", rope.get("type", "default")), "default"),
                       "hidden_act": (get("hidden_act", "silu"), "silu"),
                       "attention_bias": (get("attention_bias", False), False),
                       "mlp_bias": (get("mlp_bias", False), False)}
        hidden, heads = get("hidden_size"), get("num_attention_heads")
        if hidden and heads:
            unsupported["head_dim"] = (get("head_dim") or hidden // heads, hidden // heads)
        wrong = {k: v for k, (v, want) in unsupported.items() if v != want}
        if wrong:
            raise ValueError(f"LlamaConfig: this decoder implements plain Llama; the reference has {wrong}.")
        extra = {}
        theta = rope.get("rope_theta", get("rope_theta"))
        if theta is not None:
            extra["rope_theta"] = float(theta)
        if get("num_key_value_heads") is None and heads:
            extra["n_kv_head"] = heads
        return super().from_pretrained_config(reference, **{**extra, **overrides})


class RMSNorm(nn.Module):
    """y = g * x / sqrt(mean(x^2) + eps) over the features (Zhang & Sennrich 2019).

    LayerNorm without the mean and the shift: the paper found that re-scaling, not re-centring,
    is what steadies training, and one statistic is cheaper than two. Computed in float32 whatever
    the input (a bfloat16 mean of squares drops the small ones) and cast back before the gain, as
    transformers' ``LlamaRMSNorm`` does, so a bfloat16 model rounds where theirs does."""

    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(x.dtype)

    def extra_repr(self) -> str:
        return f"{self.weight.shape[0]}, eps={self.eps}"


def rotary_cos_sin(positions: torch.Tensor, head_dim: int, theta: float,
                   dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of each position's angles, both (T, head_dim), for ``apply_rotary``.

    Feature pair i turns by the angle position * theta^(-2i / head_dim): the first pairs fast (they
    tell neighbours apart), the last slowly (they still differ thousands of tokens away). Each angle
    appears twice, at i and at i + head_dim / 2, the two features ``rotate_half`` pairs. Computed in
    float32 from integer positions, as transformers does: a bfloat16 angle at position 5,000 is off
    by whole radians."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float, device=positions.device) / head_dim))
    angles = positions[:, None].float() * inv_freq[None, :]
    emb = torch.cat([angles, angles], dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """(x1, x2) -> (-x2, x1) on the two halves of the last axis: feature i is paired with i + d/2."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """RoPE (Su et al. 2021): each pair (x_i, x_{i+d/2}) of each head rotated by its position's angle.

    x: (N, H, T, d); cos, sin: (T, d) from ``rotary_cos_sin``. A rotation keeps lengths, and the dot
    product of a query rotated by m theta_i with a key rotated by n theta_i depends on m - n only: the
    attention score sees relative positions, with no position table to learn or to run out of.
    The paper pairs adjacent features (2i, 2i + 1); Llama's code pairs i with i + d/2 ("rotate half").
    Both are the same model up to a fixed reordering of each head's q and k features, which is why
    llama.cpp's converter reorders the q and k weights for its adjacent-pair kernel, and why loading
    those weights here undoes that (``gguf_weights.unpermute_qk``)."""
    return x * cos + rotate_half(x) * sin


class SwiGLU(nn.Module):
    """The gated feed-forward net (Shazeer 2020): down(silu(gate(x)) * up(x)), C -> ffn_dim -> C.

    One projection (passed through SiLU, x * sigmoid(x)) decides, feature by feature, how much of the
    other passes: a multiplicative gate that the paper found better than GELU or ReLU at equal cost."""

    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.gate_proj = nn.Linear(cfg.n_embd, cfg.ffn_dim, bias=False)
        self.up_proj = nn.Linear(cfg.n_embd, cfg.ffn_dim, bias=False)
        self.down_proj = nn.Linear(cfg.ffn_dim, cfg.n_embd, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class GroupedQueryAttention(nn.Module):
    """Causal self-attention with n_head query heads and n_kv_head <= n_head key/value heads.

    Query head h reads key/value head h // (n_head / n_kv_head): consecutive query heads form a group
    around one key/value head (``repeat_interleave``, transformers' ``repeat_kv``). n_kv_head = n_head
    is ordinary multi-head attention, n_kv_head = 1 multi-query attention (Shazeer 2019). The cache
    keeps the n_kv_head heads, before the repeat: that is the memory GQA saves. Keys are cached
    already rotated, so positions continue from the cache's length, and new queries see every cached
    key and the new ones up to their own (the mask aligned bottom-right, as in gpt.py)."""

    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.n_head, self.n_kv_head, self.head_dim = cfg.n_head, cfg.n_kv_head, cfg.head_dim
        self.q_proj = nn.Linear(cfg.n_embd, cfg.n_head * cfg.head_dim, bias=False)
        self.k_proj = nn.Linear(cfg.n_embd, cfg.n_kv_head * cfg.head_dim, bias=False)
        self.v_proj = nn.Linear(cfg.n_embd, cfg.n_kv_head * cfg.head_dim, bias=False)
        self.o_proj = nn.Linear(cfg.n_head * cfg.head_dim, cfg.n_embd, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, cache: KVCache | None = None,
                layer: int = 0) -> torch.Tensor:
        N, T, _ = x.shape                                                                  # (N, T, C)
        q = self.q_proj(x).view(N, T, self.n_head, self.head_dim).transpose(1, 2)          # (N, H, T, d)
        k = self.k_proj(x).view(N, T, self.n_kv_head, self.head_dim).transpose(1, 2)       # (N, H_kv, T, d)
        v = self.v_proj(x).view(N, T, self.n_kv_head, self.head_dim).transpose(1, 2)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        past = 0 if cache is None else cache.seen(layer)
        if cache is not None:
            k, v = cache.update(layer, k, v)
        group = self.n_head // self.n_kv_head
        k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)       # (N, H, P + T, d)
        if past == 0:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            sees = torch.ones(T, past + T, dtype=torch.bool, device=x.device).tril(past)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=sees)
        return self.o_proj(y.transpose(1, 2).reshape(N, T, self.n_head * self.head_dim))


class LlamaLayer(nn.Module):
    """Pre-norm, as GPT-2: x = x + Attn(RMSNorm(x)); x = x + SwiGLU(RMSNorm(x))."""

    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.n_embd, cfg.eps)
        self.self_attn = GroupedQueryAttention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.n_embd, cfg.eps)
        self.mlp = SwiGLU(cfg)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, cache: KVCache | None = None,
                layer: int = 0) -> torch.Tensor:
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, cache, layer)
        return x + self.mlp(self.post_attention_layernorm(x))


class Llama(nn.Module):
    """ids (N, T) -> next-token logits (N, T, vocab) and, given targets (N, T), their mean cross-entropy.

    The contract of gpt.py's ``GPT``: ``model(idx, targets)`` returns ``(logits, loss)`` (loss None
    without targets; target -1 is ignored); with ``cache`` (a :class:`KVCache`) ``idx`` holds only the
    new tokens and positions continue from the cache's length. There is no position table: the
    positions enter each layer's attention through RoPE's cos and sin, computed once per call."""

    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.config = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.layers = nn.ModuleList(LlamaLayer(cfg) for _ in range(cfg.n_layer))
        self.norm = RMSNorm(cfg.n_embd, cfg.eps)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        if cfg.tie_embeddings:
            self.lm_head.weight = self.embed_tokens.weight     # Press & Wolf 2017; SmolLM2 ties, Llama 2 does not
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        """transformers' Llama initialisation: N(0, 0.02^2) for every matrix, RMSNorm gains 1."""
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None,
                cache: KVCache | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        positions = positions_after(idx, cache, self.config.block_size, "Llama")
        x = self.embed_tokens(idx)
        cos, sin = rotary_cos_sin(positions, self.config.head_dim, self.config.rope_theta, x.dtype)
        for i, layer in enumerate(self.layers):
            x = layer(x, cos, sin, cache, i)
        logits = self.lm_head(self.norm(x))
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(), ignore_index=-1)

    def generate(self, idx: torch.Tensor, max_new_tokens: int, **settings) -> torch.Tensor:
        """``idx`` (N, T) continued by up to ``max_new_tokens`` tokens: GPT's loop (``gpt.generate_tokens``:
        temperature, top_k, top_p, greedy, use_cache, stop_token such as SmolLM2's ``<|im_end|>``,
        generator). With or without the cache, the same tokens."""
        return generate_tokens(self, idx, max_new_tokens, n_layer=len(self.layers),
                               block_size=self.config.block_size, **settings)


# transformers' LlamaForCausalLM -> our names: drop ``model.``. Old conversions stored RoPE's inverse
# frequencies as a buffer, which is not a weight (we compute them). A tied checkpoint saved without
# ``lm_head.weight`` needs it added first: state["lm_head.weight"] = state["model.embed_tokens.weight"].
LLAMA_KEYS = KeyMap(rename=[(r"^model\.", "")], ignore=[r"\.rotary_emb\.inv_freq$"])
