"""a11's checks name the fix for each usual mistake, pass a right answer, and grade the model's design
on the grader's own copy. The "students" run in this process, as the visible tests run them;
tests/test_grading.py covers the graded round trip (with the training run and the attack)."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from dlcourse.checks import CheckError
from dlcourse.exercises.assignments import a11_small_gpt as a11


def causal_attention(q, k, v):
    T = q.size(-2)
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    return torch.softmax(scores.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float("-inf")), -1) @ v


@pytest.mark.parametrize("answer, words", [
    (lambda q, k, v: a11._masked(q, k, v, diagonal=-1), "hides the diagonal"),
    (lambda q, k, v: a11._masked(q, k, v, upper=True), "wrong way round"),
    (lambda q, k, v: a11._masked(q, k, v, dim=-2), "over the queries"),
    (lambda q, k, v: a11._masked(q, k, v, scale=False), "1/sqrt(d) scale"),
    (lambda q, k, v: torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.size(-1)), -1) @ v, "no mask"),
    (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), "not allowed here"),
], ids=["diagonal-hidden", "upside-down", "softmax-over-queries", "no-scale", "no-mask", "ready-made"])
def test_causal_attention_mistakes_are_named(answer, words):
    with pytest.raises(CheckError) as info:
        a11.check_causal_attention(answer)
    assert words in str(info.value), str(info.value)


def test_right_answers_pass_every_task():
    a11.check_causal_attention(causal_attention)
    a11.check_causal_attention(causal_attention, N=3, H=1, T=1, d=4, seed=42)
    a11.check_self_attention(a11.ReferenceSelfAttention)
    a11.check_cached_attention(lambda *args: a11.reference_cached(*args))


@pytest.mark.parametrize("variant, words", [(a11._NoMask, "no causal mask"),
                                            (a11._HeadsInterleaved, "interleave the features"),
                                            (a11._KeysFirst, "key, query, value")],
                         ids=["no-mask", "heads-interleaved", "keys-first"])
def test_self_attention_mistakes_are_named(variant, words):
    with pytest.raises(CheckError) as info:
        a11.check_self_attention(variant)
    assert words in str(info.value), str(info.value)


def _cat_heads(q, k, v, past_k, past_v):
    return a11.reference_cached(q, k, v, past_k, past_v)[0], torch.cat([past_k, k], 1), torch.cat([past_v, v], 1)


@pytest.mark.parametrize("answer, words", [(a11._top_left, "aligned top-left"), (a11._new_first, "before the cached"),
                                           (a11._no_mask, "one another's future"), (_cat_heads, "grows along the time axis")],
                         ids=["top-left", "new-first", "no-mask", "wrong-axis"])
def test_cache_mistakes_are_named(answer, words):
    with pytest.raises(CheckError) as info:
        a11.check_cached_attention(answer)
    assert words in str(info.value), str(info.value)


class Design(nn.Module):
    """The worked solution's design, written with the course's GPT blocks (allowed in this test)."""

    def __init__(self, vocab_size, block_size, tied_raw=False, n_embd=64):
        super().__init__()
        from dlcourse.models.gpt import Block, GPTConfig
        cfg = GPTConfig(vocab_size=vocab_size, block_size=block_size, n_layer=2, n_head=4, n_embd=n_embd)
        self.wte, self.wpe = nn.Embedding(vocab_size, n_embd), nn.Embedding(block_size, n_embd)
        self.h = nn.ModuleList(Block(cfg) for _ in range(2))
        self.ln_f = nn.Identity() if tied_raw else nn.LayerNorm(n_embd)
        self.tied_raw = tied_raw
        self.lm_head = nn.Linear(n_embd, vocab_size, bias=False)

    def forward(self, idx):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for block in self.h:
            x = block(x)
        x = self.ln_f(x)
        return F.linear(x, self.wte.weight) if self.tied_raw else self.lm_head(x)


def test_a_tied_head_without_a_final_norm_starts_far_from_uniform():
    with pytest.raises(CheckError, match=r"loss at initialisation is .* far from ln\(65\)"):
        a11.check_small_gpt(lambda v, b: Design(v, b, tied_raw=True))


def test_a_bigram_model_misses_the_tier_and_the_design_clears_it(capsys):
    class Bigram(nn.Module):
        def __init__(self, vocab_size, block_size):
            super().__init__()
            self.wte, self.ln, self.head = nn.Embedding(vocab_size, 64), nn.LayerNorm(64), nn.Linear(64, vocab_size)

        def forward(self, idx):
            return self.head(self.ln(self.wte(idx)))

    a11.check_small_gpt(Bigram)                       # it starts right ...
    with pytest.raises(CheckError, match=r"validation loss 2\.\d+ after 300 steps, above 2.35"):
        a11.check_training(Bigram)                    # ... but cannot use the context
    a11.check_small_gpt(Design)
    a11.check_training(Design)
    assert "OK SmallGPT (seed 0): validation loss" in capsys.readouterr().out
