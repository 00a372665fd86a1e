"""GPT (Radford et al. 2018, 2019, "Language Models are Unsupervised Multitask Learners"): a
decoder-only Transformer trained to predict the next token.

Read top to bottom: config -> causal self-attention (with its KV cache) -> the pre-LN block ->
``GPT`` (token + learned position embeddings, blocks, final LayerNorm, a head tied to the token
embedding) -> generation -> the checkpoint key map -> builders.

GPT-2's changes to GPT-1 (section 2.3): LayerNorm moved to each sub-block's input (pre-LN) and
one added after the last block; the residual projections initialised with std 0.02 / sqrt(2 L)
(two residual additions per block); context 1,024 tokens, vocabulary 50,257 (byte-level BPE).
GPT-2 small is L=12, H=768, A=12: 124,439,808 weights (the head is the token embedding).

Our names are nanoGPT's, which are GPT-2's own without ``transformer.``: ``h.0.attn.c_attn``,
``h.0.mlp.c_fc``, ``ln_f``. GPT-2 stores those projections as ``Conv1D`` ((in, out), the transpose
of ``nn.Linear``); ``GPT2_KEYS`` renames and transposes, so a ``transformers.GPT2LMHeadModel``
loads by a key copy. ``tests/test_gpt.py`` proves logits and every gradient equal to that model
built from a config, and the cached generation equal to the uncached one token for token.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from dlcourse.models.config import KeyMap, ModelConfig
from dlcourse.models.sampling import sample_next

__all__ = ["GPTConfig", "KVCache", "positions_after", "generate_tokens", "CausalSelfAttention", "FeedForward", "Block", "GPT", "GPT2_KEYS", "gpt2_small"]

_ACTIVATIONS = {"gelu_new": lambda x: F.gelu(x, approximate="tanh"), "gelu": F.gelu, "relu": F.relu}


@dataclass
class GPTConfig(ModelConfig):
    """GPT's hyper-parameters; the defaults are GPT-2 small's (``from_pretrained_config`` reads a
    transformers ``GPT2Config``: its names on the right of PRETRAINED_FIELDS)."""
    vocab_size: int = 50257
    block_size: int = 1024           # the longest context: the position table's length
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    dropout: float = 0.0
    bias: bool = True
    eps: float = 1e-5
    activation: str = "gelu_new"     # GPT-2's tanh approximation of GELU

    PRETRAINED_FIELDS = {"block_size": "n_positions", "eps": "layer_norm_epsilon", "dropout": "resid_pdrop",
                         "activation": "activation_function"}

    def validate(self) -> None:
        if self.n_embd % self.n_head:
            raise ValueError(f"GPTConfig: n_embd ({self.n_embd}) must be a multiple of n_head ({self.n_head}): "
                             "each head reads n_embd / n_head features.")
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"GPTConfig: activation must be one of {sorted(_ACTIVATIONS)}; got {self.activation!r}.")


class KVCache:
    """Each layer's keys and values of every position seen so far, (N, H, T, head_dim): a new token's
    query needs them all, and they do not change once computed (the mask hides the future), so
    generation computes each once instead of once per new token. Appended on the time axis, dim 2."""

    def __init__(self, n_layer: int):
        self.layers: list[tuple[torch.Tensor, torch.Tensor] | None] = [None] * n_layer

    def seen(self, layer: int) -> int:
        """Positions layer ``layer`` holds."""
        held = self.layers[layer]
        return 0 if held is None else held[0].shape[2]

    def __len__(self) -> int:
        """Positions held (by the first layer: during a forward pass it is updated first)."""
        return self.seen(0)

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append this step's keys and values to layer ``layer``'s; all of them, for the attention."""
        held = self.layers[layer]
        if held is not None:
            k, v = torch.cat([held[0], k], dim=2), torch.cat([held[1], v], dim=2)
        self.layers[layer] = (k, v)
        return k, v


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention in which position t sees positions <= t only.

    One projection ``c_attn`` makes queries, keys and values at once (GPT-2's layout), ``c_proj``
    mixes the heads. With a cache holding P earlier positions, T new queries see all P keys and
    the new ones up to their own: the causal mask aligned bottom-right, ``tril(P)``."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.n_head, self.n_embd, self.p = cfg.n_head, cfg.n_embd, cfg.dropout
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.resid_dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        N, T, C = x.shape                                                          # (N, T, C) -> (N, T, C)
        q, k, v = (t.view(N, T, self.n_head, C // self.n_head).transpose(1, 2)     # (N, H, T, d)
                   for t in self.c_attn(x).split(self.n_embd, dim=2))
        past = 0 if cache is None else cache.seen(layer)
        if cache is not None:
            k, v = cache.update(layer, k, v)
        p = self.p if self.training else 0.0
        if past == 0:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        else:
            sees = torch.ones(T, past + T, dtype=torch.bool, device=x.device).tril(past)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=sees, dropout_p=p)
        return self.resid_dropout(self.c_proj(y.transpose(1, 2).reshape(N, T, C)))


class FeedForward(nn.Module):
    """The position-wise feed-forward net: C -> 4C, GELU, -> C."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=cfg.bias)
        self.c_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=cfg.bias)
        self.dropout = nn.Dropout(cfg.dropout)
        self.activation = _ACTIVATIONS[cfg.activation]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.activation(self.c_fc(x))))


class Block(nn.Module):
    """Pre-LN (GPT-2): x = x + Attn(LN(x)); x = x + MLP(LN(x)). The residual path stays an identity."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd, eps=cfg.eps, bias=cfg.bias)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, eps=cfg.eps, bias=cfg.bias)
        self.mlp = FeedForward(cfg)

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x), cache, layer)
        return x + self.mlp(self.ln_2(x))


def positions_after(idx: torch.Tensor, cache: KVCache | None, block_size: int, who: str) -> torch.Tensor:
    """The positions of the tokens ``idx`` (N, T): they continue from the cache's length. A clear
    error for float ids or a context longer than the model's ``block_size``."""
    if idx.dim() != 2 or idx.is_floating_point():
        raise ValueError(f"{who} takes integer token ids of shape (N, T); got {idx.dtype} {tuple(idx.shape)}.")
    start, T = (0 if cache is None else len(cache)), idx.shape[1]
    if start + T > block_size:
        raise ValueError(f"{who}: {start + T} positions, but the model knows {block_size} (block_size): crop "
                         "the context to its last block_size tokens.")
    return torch.arange(start, start + T, device=idx.device)


@torch.no_grad()
def generate_tokens(model: nn.Module, idx: torch.Tensor, max_new_tokens: int, *, n_layer: int, block_size: int,
                    temperature: float = 1.0, top_k: int | None = None, top_p: float | None = None,
                    greedy: bool = False, use_cache: bool = True, stop_token: int | None = None,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """``idx`` (N, T) continued by up to ``max_new_tokens`` tokens of ``model(ids, cache=...)``'s
    next-token logits: the arg-max with ``greedy``, else a draw from the filtered distribution
    (``dlcourse.models.sampling``). GPT's and Llama's ``generate``.

    use_cache: the prompt runs once, then each step feeds only the newest token through the blocks,
    reusing every earlier key and value. Past ``block_size`` positions the context is cropped to its
    last block_size tokens, as nanoGPT does; their positions then shift at every step, so from there
    on each step runs the cropped context afresh, with or without the cache: the tokens stay identical.
    stop_token: an end-of-turn id: a row that has produced it produces only it from then on, and
    generation ends once every row has."""
    cache = KVCache(n_layer) if use_cache else None
    done = torch.zeros(idx.shape[0], 1, dtype=torch.bool, device=idx.device)
    feed = idx
    for _ in range(max_new_tokens):
        if cache is not None and len(cache) + feed.shape[1] > block_size:
            cache = None                                   # the positions ran out: crop from here on
        context = feed if cache is not None else idx[:, -block_size:]
        logits, _ = model(context, cache=cache)
        nxt = sample_next(logits[:, -1, :], temperature=temperature, top_k=top_k, top_p=top_p, greedy=greedy,
                          generator=generator)
        if stop_token is not None:
            nxt = nxt.masked_fill(done, stop_token)
            done = done | (nxt == stop_token)
        idx, feed = torch.cat([idx, nxt], dim=1), nxt
        if stop_token is not None and bool(done.all()):
            break
    return idx


class GPT(nn.Module):
    """ids (N, T) -> next-token logits (N, T, vocab) and, given targets (N, T), their mean cross-entropy.

    ``model(idx, targets)`` returns ``(logits, loss)`` (loss None without targets), nanoGPT's
    contract, so ``dlcourse.fit(..., step=lambda model, batch: model(*batch)[1])`` trains it.
    ``cache``: a :class:`KVCache`; ``idx`` then holds only the new tokens, and positions continue
    from the cache's length."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.config = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)
        self.h = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd, eps=cfg.eps, bias=cfg.bias)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight          # tied (Press & Wolf 2017): one matrix reads and writes tokens
        self.apply(self._init_weights)
        for name, p in self.named_parameters():        # GPT-2: residual projections scaled by 1/sqrt(2 L)
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        """GPT-2's initialisation: N(0, 0.02^2) weights and embeddings, zero biases, LayerNorm 1/0."""
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None,
                cache: KVCache | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        positions = positions_after(idx, cache, self.config.block_size, "GPT")
        x = self.drop(self.wte(idx) + self.wpe(positions))
        for i, block in enumerate(self.h):
            x = block(x, cache, i)
        logits = self.lm_head(self.ln_f(x))
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=-1)

    def generate(self, idx: torch.Tensor, max_new_tokens: int, **settings) -> torch.Tensor:
        """``idx`` (N, T) continued by ``max_new_tokens`` tokens (``generate_tokens``: temperature, top_k,
        top_p, greedy, use_cache, stop_token, generator)."""
        return generate_tokens(self, idx, max_new_tokens, n_layer=len(self.h), block_size=self.config.block_size,
                               **settings)


# transformers' GPT2Model / GPT2LMHeadModel -> our names; Conv1D weights are (in, out): transposed.
GPT2_KEYS = KeyMap(
    rename=[(r"^transformer\.", "")],
    transpose=[r"attn\.c_attn\.weight$", r"attn\.c_proj\.weight$", r"mlp\.c_fc\.weight$", r"mlp\.c_proj\.weight$"],
    ignore=[r"\.attn\.(masked_)?bias$"])                    # older checkpoints' cached causal mask, not a weight


def gpt2_small(**overrides) -> GPT:
    """GPT-2 small: L=12, H=768, A=12, 124,439,808 weights (the head tied to wte), randomly initialised."""
    return GPT(GPTConfig(**overrides))
