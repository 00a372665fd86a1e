"""Chapter 22's exercise checks pass the worked solutions (test_chapter_solutions.py), reject the typical
wrong answers with a hint that names the mistake, and report a placeholder as not attempted."""
import math

import pytest
import torch

from dlcourse.checks import CheckError
from dlcourse.exercises.chapters import ch22_gpt as ch22


def causal_attention(q, k, v, diagonal=0, upper=False, dim=-1, scale=True, mask=True):
    """Right by default; the keywords make the usual mistakes."""
    T = q.size(-2)
    scores = q @ k.transpose(-2, -1) / (math.sqrt(q.size(-1)) if scale else 1.0)
    sees = torch.ones(T, T, dtype=torch.bool).tril(diagonal)
    sees = sees.T if upper else sees
    if mask:
        scores = scores.masked_fill(~sees, float("-inf"))
    return torch.softmax(scores, dim=dim).nan_to_num() @ v


def top_k_logits(logits, k, smallest=False, fill=float("-inf"), extra=0):
    kth = torch.topk(logits, k + extra, dim=-1, largest=not smallest).values[..., -1:]
    drop = logits > kth if smallest else logits < kth
    return logits.masked_fill(drop, fill)


RIGHT = [(ch22.check_causal_attention, causal_attention), (ch22.check_top_k, top_k_logits)]

WRONG = {  # id: (check, wrong answer, a phrase its hint must hold)
    "no-mask": (ch22.check_causal_attention, lambda q, k, v: causal_attention(q, k, v, mask=False), "No mask"),
    "diagonal-hidden": (ch22.check_causal_attention, lambda q, k, v: causal_attention(q, k, v, diagonal=-1),
                        "off by one"),
    "mask-upside-down": (ch22.check_causal_attention, lambda q, k, v: causal_attention(q, k, v, upper=True),
                         "wrong way round"),
    "softmax-over-queries": (ch22.check_causal_attention, lambda q, k, v: causal_attention(q, k, v, dim=-2),
                             "over the queries"),
    "no-scaling": (ch22.check_causal_attention, lambda q, k, v: causal_attention(q, k, v, scale=False),
                   "not divided by sqrt(d)"),
    "k-smallest": (ch22.check_top_k, lambda z, k: top_k_logits(z, k, smallest=True), "SMALLEST"),
    "zeros": (ch22.check_top_k, lambda z, k: top_k_logits(z, k, fill=0.0), "to 0"),
    "one-too-many": (ch22.check_top_k, lambda z, k: top_k_logits(z, k, extra=1), "keeps [6, 6, 6, 6]"),
}


@pytest.mark.parametrize("check, answer", RIGHT, ids=["causal_attention", "top_k"])
def test_a_right_answer_passes(check, answer, capsys):
    check(answer)
    assert "not attempted" not in capsys.readouterr().out


@pytest.mark.parametrize("case", WRONG, ids=list(WRONG))
def test_each_usual_mistake_gets_its_hint(case):
    check, answer, words = WRONG[case]
    with pytest.raises(CheckError) as info:
        check(answer)
    assert words in str(info.value), str(info.value)


@pytest.mark.parametrize("check", [ch22.check_causal_attention, ch22.check_top_k])
def test_a_placeholder_is_not_attempted(check, capsys):
    check(lambda *args: None)
    assert "not attempted yet" in capsys.readouterr().out


def test_attention_that_reads_one_later_key_is_caught():
    """Not one of the named mistakes: the mask's diagonal shifted up by one (a query reads the next
    key). The comparison with torch fails it, and the hint says what to compute."""
    with pytest.raises(CheckError, match="-inf above the diagonal"):
        ch22.check_causal_attention(lambda q, k, v: causal_attention(q, k, v, diagonal=1))
