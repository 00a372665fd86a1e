"""a09's checks name the fix for each usual mistake and pass right answers (the round trip through
the grader is tests/test_grading.py). The "students" are functions and modules with one realistic
bug each; the checks run them in this process, as the student's own visible tests do."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from dlcourse.checks import CheckError
from dlcourse.exercises.assignments import a09_transformer as a09


def attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


class EncoderBlock(nn.Module):
    def __init__(self, d_model, nhead, dim_feedforward):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, nhead, batch_first=True)
        self.linear1, self.linear2 = nn.Linear(d_model, dim_feedforward), nn.Linear(dim_feedforward, d_model)
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)

    def forward(self, x, key_padding_mask=None):
        z = self.norm1(x)
        x = x + self.self_attn(z, z, z, key_padding_mask=key_padding_mask, need_weights=False)[0]
        return x + self.linear2(torch.relu(self.linear1(self.norm2(x))))


def test_right_answers_pass_and_print_the_tolerance(capsys):
    a09.check_attention(attention, mask="padding")
    a09.check_multihead(a09._mha(), padding=True)        # the mistake class with no mistake switched on
    a09.check_encoder_block(EncoderBlock, padding=True)
    out = capsys.readouterr().out
    assert out.count("OK ") == (2 + 3) + (1 + 3 + 4) + (1 + 1 + 12) and "allowed there" in out


@pytest.mark.parametrize("what", list(a09.ATTENTION_MISTAKES))
def test_each_attention_mistake_is_named_with_its_fix(what):
    variant, fix = a09.ATTENTION_MISTAKES[what]
    with pytest.raises(CheckError) as info:
        a09.check_attention(variant, mask="causal")
    assert what in str(info.value) and fix in str(info.value)


@pytest.mark.parametrize("what", list(a09.MHA_MISTAKES))
def test_each_multihead_mistake_is_named_with_its_fix(what):
    variant, fix = a09.MHA_MISTAKES[what]
    with pytest.raises(CheckError) as info:
        a09.check_multihead(variant, padding=True)
    assert what in str(info.value) and fix in str(info.value)


@pytest.mark.parametrize("what", list(a09.BLOCK_MISTAKES))
def test_each_block_mistake_is_named_with_its_fix(what):
    variant, fix = a09.BLOCK_MISTAKES[what]
    with pytest.raises(CheckError) as info:
        a09.check_encoder_block(variant)
    assert what in str(info.value) and fix in str(info.value)


def _ready_made(q, k, v, mask=None):
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask), None


class RenamedBlock(EncoderBlock):
    def __init__(self, d_model, nhead, dim_feedforward):
        super().__init__(d_model, nhead, dim_feedforward)
        self.ln1 = self.norm1
        del self.norm1


class TorchMHA(nn.Module):
    """A student who wraps nn.MultiheadAttention: the rule forbids it."""

    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.inner = nn.MultiheadAttention(embed_dim, num_heads, batch_first=True)

    def forward(self, query, key, value, key_padding_mask=None):
        return self.inner(query, key, value, key_padding_mask=key_padding_mask)[0]


def test_other_mistakes_get_an_actionable_message():
    with pytest.raises(CheckError, match="scaled_dot_product_attention, which is not allowed here"):
        a09.check_attention(_ready_made)
    with pytest.raises(CheckError, match=r"unexpected \['ln1.bias', 'ln1.weight'\]. Name the submodules"):
        a09.check_encoder_block(RenamedBlock)
    with pytest.raises(CheckError, match="torch.nn.MultiheadAttention, which is not allowed here"):
        a09.check_multihead(TorchMHA)


class NoPositions(nn.Module):
    """Embeddings and blocks but no positional encoding: attention sees a set and cannot reverse."""

    def __init__(self, vocab_size, max_len, d_model=32):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, d_model)
        self.block = nn.TransformerEncoderLayer(d_model, 4, 64, dropout=0.0, batch_first=True, norm_first=True)
        self.head = nn.Linear(d_model, vocab_size)

    def forward(self, ids):
        return self.head(self.block(self.embed(ids)))


def test_a_model_without_positions_fails_training_with_the_fix():
    a09.check_reverser_shape(NoPositions)
    with pytest.raises(CheckError, match="add a positional encoding"):
        a09.check_reverser(NoPositions, seed=0, length=6)
