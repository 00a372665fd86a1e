"""The checks of assignment a11 (a small GPT): causal attention, causal self-attention, attention
with a KV cache, and a character-level GPT trained on Tiny Shakespeare.

Tasks 1-3 compare the student's code with PyTorch's ``F.scaled_dot_product_attention`` and the
course's ``dlcourse.models.gpt`` (proven equal to transformers' GPT-2 in ``tests/test_gpt.py``)
given the same inputs and weights, in values and gradients (``check_parity``: the student's code
runs where it lives, only outputs and gradients come back as data), and name the usual mistakes:
the mask off by one or the wrong way round, the softmax over the queries, heads split the wrong
way, the cache appended on the wrong axis or its mask aligned top-left. Task 4's model class
crosses once as data (``designs.rebuilt_design``): the grader rebuilds it, starts it as PyTorch
starts each layer, measures its loss at initialisation, trains it on Tiny Shakespeare with the
course's loop in float64 on one thread (the same number on every machine) and scores it on the
validation text, all in the grader's process.
"""
from __future__ import annotations

import functools
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from dlcourse.checks import CheckError, predict
from dlcourse.exercises.assignments.a09_transformer import token_loss
from dlcourse.exercises.assignments.designs import on_rebuilt, rebuilt_design, sequences
from dlcourse.exercises.assignments.sequence_checks import check_parity
from dlcourse.models import gpt

__all__ = ["CHAPTER", "READY_MADE_ATTENTION", "check_causal_attention", "check_self_attention",
           "check_cached_attention", "small_gpt", "check_small_gpt", "trained_loss", "check_training"]

CHAPTER = "22_gpt"   # the chapter notebook this assignment practises
TRAINS_ON = ()       # nothing: the grader trains Task 4's design itself (grading.data_view)

READY_MADE_ATTENTION = ("torch.nn.functional.scaled_dot_product_attention", "torch.nn.MultiheadAttention",
                        "torch.nn.functional.multi_head_attention_forward",
                        "dlcourse.models.attention.scaled_dot_product_attention",
                        "dlcourse.models.attention.attention_weights")
RULE_1 = "Task 1 writes causal attention from its formula (matrix products, masked_fill, torch.softmax)"
SHAPE_HINTS = {"cannot be multiplied": "Check the transposes: scores = q @ k.transpose(-2, -1).",
               "view size is not compatible": "After a transpose the tensor is not contiguous: use .reshape "
                                              "or .contiguous().view.",
               "Sizes of tensors must match": "The cache grows along the time axis: torch.cat([past_k, k], dim=2)."}
BLOCK, STEPS, TIER = 32, 300, 2.35     # Task 4: context, training steps, the validation loss to reach


# ----------------------------------------------------------------------------- Task 1
def _masked(q, k, v, diagonal=0, upper=False, dim=-1, scale=True):
    T, S = q.size(-2), k.size(-2)
    sees = torch.ones(T, S, dtype=torch.bool).tril(diagonal + S - T)
    sees = sees.T.contiguous() if upper and T == S else sees
    scores = q @ k.transpose(-2, -1) / (math.sqrt(q.size(-1)) if scale else 1.0)
    return torch.softmax(scores.masked_fill(~sees, float("-inf")), dim=dim).nan_to_num() @ v


ATTENTION_MISTAKES = {
    "attention with no mask": (lambda q, k, v: F.scaled_dot_product_attention(q, k, v),
                               "hide every key after its query: scores.masked_fill(~torch.ones(T, T, "
                               "dtype=torch.bool).tril(), float('-inf')) before the softmax."),
    "a mask that hides the diagonal": (lambda q, k, v: _masked(q, k, v, diagonal=-1),
                                       "position t must see itself: tril() with its default diagonal=0."),
    "a mask the wrong way round": (lambda q, k, v: _masked(q, k, v, upper=True),
                                   "keep the lower triangle (the past), hide the upper one (the future)."),
    "a softmax over the queries (dim=-2)": (lambda q, k, v: _masked(q, k, v, dim=-2),
                                            "each query's weights over its keys sum to 1: softmax(..., dim=-1)."),
    "attention without the 1/sqrt(d) scale": (lambda q, k, v: _masked(q, k, v, scale=False),
                                              "divide the scores by math.sqrt(q.size(-1)) before the softmax."),
}


def _randn(*shape, seed):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def check_causal_attention(causal_attention, N=2, H=3, T=6, d=16, seed=0) -> None:
    """``causal_attention(q, k, v)`` (N, H, T, d) == F.scaled_dot_product_attention(..., is_causal=True)."""
    __tracebackhide__ = True
    inputs = [_randn(N, H, T, d, seed=seed + i) for i in range(3)]
    check_parity(f"causal_attention(q, k, v of shape {(N, H, T, d)})", causal_attention,
                 lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), inputs,
                 mistakes=ATTENTION_MISTAKES, forbidden=READY_MADE_ATTENTION, rule=RULE_1, hints=SHAPE_HINTS,
                 output_names=["output"], input_names=["q", "k", "v"])


# ----------------------------------------------------------------------------- Task 2
class ReferenceSelfAttention(gpt.CausalSelfAttention):
    """The course's GPT attention, built as the assignment's: CausalSelfAttention(n_embd, n_head)."""

    def __init__(self, n_embd, n_head):
        super().__init__(gpt.GPTConfig(vocab_size=1, block_size=1, n_layer=1, n_head=n_head, n_embd=n_embd))

    def forward(self, x):
        return super().forward(x)


class _NoMask(ReferenceSelfAttention):
    def forward(self, x):
        N, T, C = x.shape
        q, k, v = (t.view(N, T, self.n_head, C // self.n_head).transpose(1, 2) for t in self.c_attn(x).split(C, 2))
        return self.c_proj(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(N, T, C))


class _HeadsInterleaved(ReferenceSelfAttention):
    def forward(self, x):
        N, T, C = x.shape
        q, k, v = (t.view(N, T, C // self.n_head, self.n_head).transpose(1, 3).transpose(2, 3)
                   for t in self.c_attn(x).split(C, 2))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(2, 3).transpose(1, 3).reshape(N, T, C))


class _KeysFirst(ReferenceSelfAttention):
    def forward(self, x):
        N, T, C = x.shape
        k, q, v = (t.view(N, T, self.n_head, C // self.n_head).transpose(1, 2) for t in self.c_attn(x).split(C, 2))
        return self.c_proj(F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(N, T, C))


SELF_ATTENTION_MISTAKES = {
    "self-attention with no causal mask": (_NoMask, "pass is_causal=True to F.scaled_dot_product_attention."),
    "heads that interleave the features": (_HeadsInterleaved, "head h reads the features h*d .. (h+1)*d - 1: "
                                           "view(N, T, n_head, C // n_head).transpose(1, 2)."),
    "c_attn's outputs read as key, query, value": (_KeysFirst, "c_attn's output is [queries | keys | values]: "
                                                   "q, k, v = self.c_attn(x).split(C, dim=2)."),
}


def check_self_attention(attention_class, n_embd=32, n_head=4, N=2, T=7, seed=0) -> None:
    """``attention_class(n_embd, n_head)`` with given weights == the course's GPT attention."""
    __tracebackhide__ = True
    torch.manual_seed(seed)
    ref = ReferenceSelfAttention(n_embd, n_head)
    with torch.no_grad():
        for p in ref.parameters():
            p.add_(torch.randn(p.shape) * 0.2)      # zero biases would hide a bias in the wrong place
    check_parity(f"CausalSelfAttention({n_embd}, {n_head}) on ({N}, {T}, {n_embd})", attention_class,
                 ReferenceSelfAttention, [_randn(N, T, n_embd, seed=seed + 1)],
                 init=dict(n_embd=n_embd, n_head=n_head), state={k: v.clone() for k, v in ref.state_dict().items()},
                 mistakes=SELF_ATTENTION_MISTAKES, forbidden=READY_MADE_ATTENTION[1:], hints=SHAPE_HINTS,
                 rule="Task 2 uses F.scaled_dot_product_attention, not a ready-made attention module",
                 output_names=["output"], input_names=["x"])


# ----------------------------------------------------------------------------- Task 3
def reference_cached(q, k, v, past_k, past_v):
    """(output, all keys, all values): the new queries see every past position and the new ones up to
    their own (the causal mask aligned bottom-right), as ``gpt.CausalSelfAttention`` with a KVCache."""
    k_all, v_all = torch.cat([past_k, k], dim=2), torch.cat([past_v, v], dim=2)
    T, S = q.size(-2), k_all.size(-2)
    sees = torch.ones(T, S, dtype=torch.bool).tril(S - T)
    return F.scaled_dot_product_attention(q, k_all, v_all, attn_mask=sees), k_all, v_all


def _top_left(q, k, v, past_k, past_v):
    k_all, v_all = torch.cat([past_k, k], dim=2), torch.cat([past_v, v], dim=2)
    return F.scaled_dot_product_attention(q, k_all, v_all, is_causal=True), k_all, v_all


def _new_first(q, k, v, past_k, past_v):
    k_all, v_all = torch.cat([k, past_k], dim=2), torch.cat([v, past_v], dim=2)
    T, S = q.size(-2), k_all.size(-2)
    return F.scaled_dot_product_attention(q, k_all, v_all, attn_mask=torch.ones(T, S, dtype=torch.bool).tril(S - T)), \
        k_all, v_all


def _no_mask(q, k, v, past_k, past_v):
    k_all, v_all = torch.cat([past_k, k], dim=2), torch.cat([past_v, v], dim=2)
    return F.scaled_dot_product_attention(q, k_all, v_all), k_all, v_all


CACHE_MISTAKES = {
    "the causal mask aligned top-left (is_causal=True with a longer key axis)": (
        _top_left, "the new queries come after the P cached positions: query i sees keys 0 .. P + i, the mask "
                   "torch.ones(T, P + T, dtype=torch.bool).tril(P)."),
    "the new keys placed before the cached ones": (
        _new_first, "the cache holds the past: torch.cat([past_k, k], dim=2), past first."),
    "the new tokens attending to one another's future": (
        _no_mask, "with several new tokens the mask matters among them: tril(P) on a (T, P + T) mask."),
}


def check_cached_attention(attend_with_cache, N=2, H=3, past=5, T=3, d=8, seed=0) -> None:
    """``attend_with_cache(q, k, v, past_k, past_v)`` -> (output, k_all, v_all) == ``reference_cached``."""
    __tracebackhide__ = True
    new = [_randn(N, H, T, d, seed=seed + i) for i in range(3)]
    cached = [_randn(N, H, past, d, seed=seed + 10 + i) for i in range(2)]
    check_parity(f"attend_with_cache({T} new positions after {past} cached, (N, H, T, d) = {(N, H, T, d)})",
                 attend_with_cache, reference_cached, new + cached, mistakes=CACHE_MISTAKES, hints=SHAPE_HINTS,
                 output_names=["output", "k_all", "v_all"], input_names=["q", "k", "v", "past_k", "past_v"])


# ----------------------------------------------------------------------------- Task 4
@functools.lru_cache(maxsize=1)
def _streams() -> tuple[torch.Tensor, torch.Tensor, int]:
    """(train ids, validation ids, vocabulary size): Tiny Shakespeare by character, nanoGPT's 90/10
    contiguous split; read and encoded once per grading process (each test cell asks again)."""
    from dlcourse.data import CharTokenizer, load_tinyshakespeare, split_stream

    text = load_tinyshakespeare()
    tok = CharTokenizer(text)
    return (*split_stream(torch.tensor(tok.encode(text))), len(tok))


def _text(seed: int = 0):
    """(train ids, validation windows, targets, vocabulary size): 256 seeded validation windows, drawn here."""
    from dlcourse.data import window_loader

    train, val, vocab = _streams()
    x, y = next(iter(window_loader(val, BLOCK, 256, 1, seed=1000 + seed)))
    return train, x, y, vocab


def small_gpt(model_class, vocab_size: int = 65, seed: int = 0) -> nn.Module:
    """``model_class(vocab_size, BLOCK)`` rebuilt here in float64 from its trace on (N, BLOCK) ids."""
    __tracebackhide__ = True
    return rebuilt_design(model_class, (vocab_size, BLOCK), inputs=sequences(BLOCK, vocab_size), name="SmallGPT",
                          dtype=torch.float64, seed=seed)


def _probe(model, x, y) -> dict:
    from dlcourse.device import graded_run

    with graded_run(), torch.no_grad():
        logits = model.eval()(x[:3])
        return {"shape": list(logits.shape), "loss": float(token_loss(model(x), y))}


def check_small_gpt(model_class, seed: int = 0) -> None:
    """The logits' shape, and the loss at initialisation (the grader's start: PyTorch's for each layer)."""
    __tracebackhide__ = True
    _, x, y, vocab = _text(seed)
    got = on_rebuilt(f"SmallGPT({vocab}, {BLOCK}) on ids of shape (3, {BLOCK})", _probe,
                     small_gpt(model_class, vocab, seed), x, y)
    if got["shape"] != [3, BLOCK, vocab]:
        raise CheckError(f"SmallGPT({vocab}, {BLOCK}) returned {got['shape']} for ids (3, {BLOCK}), expected "
                         f"[3, {BLOCK}, {vocab}]: next-token logits at every position.")
    uniform = math.log(vocab)
    if abs(got["loss"] - uniform) > 0.5:
        raise CheckError(f"SmallGPT: the loss at initialisation is {got['loss']:.2f}, far from ln({vocab}) = "
                         f"{uniform:.2f}: an untrained model should predict nearly uniformly. Too-large "
                         "logits at the start usually come from a head tied to nn.Embedding's N(0, 1) weights "
                         "without a final LayerNorm, or from scaling the embeddings up.")
    print(f"OK SmallGPT({vocab}, {BLOCK}): logits {got['shape']}; loss at initialisation {got['loss']:.3f} "
          f"(ln {vocab} = {uniform:.3f})")


def train_small_gpt(model, train_ids, seed: int = 0) -> None:
    """STEPS steps of AdamW (lr 3e-3) on batches of 32 random windows, with dlcourse.fit, in float64."""
    from dlcourse.data import window_loader
    from dlcourse.device import graded_run
    from dlcourse.train import fit

    with graded_run():  # float64 on one thread: the same score on every machine
        torch.manual_seed(seed)
        fit(model, window_loader(train_ids, BLOCK, 32, STEPS, seed=seed), torch.optim.AdamW(model.parameters(),
            lr=3e-3), loss_fn=token_loss, metrics=(), device="cpu", amp=False, progress=False, live_plot=False)


def trained_loss(model_class, seed: int = 0) -> float:
    """The validation loss of the student's design rebuilt, trained and scored here: what
    ``check_training`` grades (and ``benchmarks/tier_margins.py`` measures)."""
    __tracebackhide__ = True
    train, x, y, vocab = _text(seed)
    model = small_gpt(model_class, vocab, seed)
    on_rebuilt(f"training SmallGPT (seed {seed})", train_small_gpt, model, train, seed)
    from dlcourse.device import graded_run

    with graded_run():
        return float(token_loss(predict(model, x), y))


def check_training(model_class, seed: int = 0, threshold: float = TIER) -> None:
    """Train the student's design here and require a validation loss of at most ``threshold``."""
    __tracebackhide__ = True
    loss = trained_loss(model_class, seed)
    if not loss <= threshold:
        raise CheckError(f"SmallGPT (seed {seed}): validation loss {loss:.3f} after {STEPS} steps, above "
                         f"{threshold}. A model that reads only the current character (a bigram) stays near 2.5: "
                         "the blocks must reach the context (causal self-attention over learned positions, "
                         "pre-LN blocks with residual additions, a final LayerNorm); n_embd 64, 2-4 layers.")
    print(f"OK SmallGPT (seed {seed}): validation loss {loss:.3f} after {STEPS} steps (needed at most {threshold})")
