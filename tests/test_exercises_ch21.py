"""Chapter 21's exercise checks pass the worked solutions (test_chapter_solutions.py), reject the typical
wrong answers with a hint that names the mistake, and report a placeholder as not attempted."""
import pytest
import torch

from dlcourse.checks import CheckError
from dlcourse.exercises.chapters import ch21_bert as ch21


def wordpiece(word, vocab, hashes=True, shortest=False, partial_unk=False):
    """Right by default; the keywords make the usual mistakes."""
    pieces, start = [], 0
    while start < len(word):
        ends = range(start + 1, len(word) + 1) if shortest else range(len(word), start, -1)
        for end in ends:
            piece = ("##" if start and hashes else "") + word[start:end]
            if piece in vocab:
                break
        else:
            return pieces + ["[UNK]"] if partial_unk else ["[UNK]"]
        pieces.append(piece)
        start = end
    return pieces


def mean_pool(states, mask):
    m = mask[..., None].to(states.dtype)
    return (states * m).sum(1) / m.sum(1)


RIGHT = [(ch21.check_wordpiece, wordpiece), (ch21.check_mean_pool, mean_pool)]

WRONG = {  # id: (check, wrong answer, a phrase its hint must hold)
    "no-hashes": (ch21.check_wordpiece, lambda w, v: wordpiece(w, v, hashes=False), "'##' prefix"),
    "shortest-first": (ch21.check_wordpiece, lambda w, v: wordpiece(w, v, shortest=True), "LONGEST"),
    "partial-unk": (ch21.check_wordpiece, lambda w, v: wordpiece(w, v, partial_unk=True), "WHOLE word"),
    "a-string": (ch21.check_wordpiece, lambda w, v: " ".join(wordpiece(w, v)), "list of strings"),
    "padding-averaged": (ch21.check_mean_pool, lambda s, m: s.mean(dim=1), "padding is averaged in"),
    "divided-by-T": (ch21.check_mean_pool, lambda s, m: (s * m[..., None]).sum(1) / s.size(1), "divided by T"),
    "mean-over-features": (ch21.check_mean_pool, lambda s, m: (s * m[..., None]).mean(-1), "over the features"),
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


def test_the_words_exercise_every_rule():
    vocab = set(ch21._vocab())
    right = [wordpiece(w, vocab) for w in ch21.WORDS]
    assert ["[UNK]"] in right and any(len(p) > 2 for p in right), "an [UNK] word and a many-piece word"
    assert torch.is_tensor(ch21._states()[0])
