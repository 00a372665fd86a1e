"""Chapters 19 and 20's exercise checks pass the worked solutions (test_chapter_solutions.py), reject the
typical wrong answers with a hint that names the mistake, and report a placeholder as not attempted."""
import math

import pytest
import torch

from dlcourse.checks import CheckError
from dlcourse.exercises.chapters import ch19_attention as ch19
from dlcourse.exercises.chapters import ch20_transformer as ch20


def attention(q, k, v, mask=None, scale=None, keep_means_hide=False, softmax_dim=-1):
    """Right by default; the keywords make the usual mistakes."""
    scores = q @ k.transpose(-2, -1) * (1 / math.sqrt(q.size(-1)) if scale is None else scale)
    if mask is not None:
        scores = scores.masked_fill(mask if keep_means_hide else ~mask, float("-inf"))
    return torch.softmax(scores, dim=softmax_dim) @ v


def table(max_len, d_model, base_exponent="2i", swap=False):
    pos = torch.arange(max_len, dtype=torch.float64)[:, None]
    i = torch.arange(0, d_model, 2, dtype=torch.float64) if base_exponent == "2i" else torch.arange(d_model // 2)
    angle = pos / 10000 ** (i / d_model)
    pe = torch.zeros(max_len, d_model)
    pe[:, 0::2], pe[:, 1::2] = (angle.cos(), angle.sin()) if swap else (angle.sin(), angle.cos())
    return pe


RIGHT = [
    (ch19.check_attention, attention),
    (ch19.check_padding_mask, lambda lengths, n: torch.arange(n)[None, :] >= lengths[:, None]),
    (ch19.check_split_heads, lambda x, h: x.view(x.size(0), x.size(1), h, -1).transpose(1, 2)),
    (ch20.check_sinusoidal_table, table),
    (ch20.check_subsequent_mask, lambda n: torch.full((n, n), float("-inf")).triu(1)),
    (ch20.check_teacher_forcing, lambda tgt: (tgt[:, :-1], tgt[:, 1:])),
]

WRONG = {  # id: (check, wrong answer, a phrase its hint must hold)
    "no-sqrt-dk": (ch19.check_attention, lambda q, k, v, m: attention(q, k, v, m, scale=1.0), "sqrt(d_k)"),
    "divide-by-dk": (ch19.check_attention, lambda q, k, v, m: attention(q, k, v, m, scale=1 / q.size(-1)),
                     "divided by d_k"),
    "mask-wrong-sign": (ch19.check_attention, lambda q, k, v, m: attention(q, k, v, m, keep_means_hide=True),
                        "wrong way round"),
    "mask-ignored": (ch19.check_attention, lambda q, k, v, m: attention(q, k, v, None), "mask is ignored"),
    "softmax-over-queries": (ch19.check_attention, lambda q, k, v, m: attention(q, k, v, m, softmax_dim=-2),
                             "over the queries"),
    "padding-inverted": (ch19.check_padding_mask, lambda lengths, n: torch.arange(n)[None, :] < lengths[:, None],
                         "HIDDEN"),
    "padding-off-by-one": (ch19.check_padding_mask, lambda lengths, n: torch.arange(n)[None, :] > lengths[:, None],
                           "Off by one"),
    "padding-float": (ch19.check_padding_mask,
                      lambda lengths, n: (torch.arange(n)[None, :] >= lengths[:, None]).float(), "torch.bool"),
    "heads-interleaved": (ch19.check_split_heads,
                          lambda x, h: x.view(x.size(0), x.size(1), -1, h).permute(0, 3, 1, 2), "interleaved"),
    "heads-plain-view": (ch19.check_split_heads, lambda x, h: x.reshape(x.size(0), h, x.size(1), -1),
                         "mixes positions"),
    "sin-cos-swapped": (ch20.check_sinusoidal_table, lambda n, d: table(n, d, swap=True), "swapped"),
    "frequency-exponent-i": (ch20.check_sinusoidal_table, lambda n, d: table(n, d, base_exponent="i"), "exponent"),
    "table-transposed": (ch20.check_sinusoidal_table, lambda n, d: table(d, n).T, "transposed"),
    "mask-diagonal": (ch20.check_subsequent_mask, lambda n: torch.full((n, n), float("-inf")).triu(0), "see itself"),
    "mask-past": (ch20.check_subsequent_mask, lambda n: torch.full((n, n), float("-inf")).tril(-1), "ABOVE"),
    "mask-bool": (ch20.check_subsequent_mask, lambda n: torch.ones(n, n, dtype=torch.bool).triu(1), "boolean"),
    "mask-ones": (ch20.check_subsequent_mask,
                  lambda n: torch.where(torch.ones(n, n).triu(1).bool(), float("-inf"), 1.0), "ADDED"),
    "forcing-copy": (ch20.check_teacher_forcing, lambda tgt: (tgt, tgt[:, 1:]), "copy"),
    "forcing-swapped": (ch20.check_teacher_forcing, lambda tgt: (tgt[:, 1:], tgt[:, :-1]), "swapped"),
}


@pytest.mark.parametrize("check, right", RIGHT, ids=lambda x: getattr(x, "__name__", ""))
def test_the_right_answer_passes(check, right, capsys):
    check(right)
    assert "not attempted" not in capsys.readouterr().out


@pytest.mark.parametrize("name", sorted(WRONG))
def test_typical_mistakes_fail_with_a_hint_that_names_them(name):
    check, wrong, phrase = WRONG[name]
    with pytest.raises(CheckError) as err:
        check(wrong)
    assert phrase in str(err.value), f"the hint should name the mistake ({phrase!r}); got: {err.value}"


@pytest.mark.parametrize("check", [check for check, _ in RIGHT], ids=lambda c: c.__name__)
def test_a_placeholder_is_reported_as_not_attempted(check, capsys):
    check(lambda *args: None)
    assert "not attempted yet" in capsys.readouterr().out
