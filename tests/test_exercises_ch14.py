"""Chapter 14's exercise checks pass the right answers (the worked solutions run in test_chapter_solutions.py),
reject the typical wrong answers with a hint that names the mistake, and report a placeholder as not attempted."""
import pytest
import torch
import torch.nn.functional as F

from dlcourse.checks import CheckError
from dlcourse.exercises.chapters import ch14_vit as ch14


def unpatchify(patches, p, height, width, order="right"):
    n, _, cpp = patches.shape
    c, rows, cols = cpp // (p * p), height // p, width // p
    if order == "channel-last":
        grid = patches.reshape(n, rows, cols, p, p, c).permute(0, 5, 1, 3, 2, 4)
    elif order == "columns":
        grid = patches.reshape(n, cols, rows, c, p, p).permute(0, 3, 2, 4, 1, 5)
    else:
        grid = patches.reshape(n, rows, cols, c, p, p).permute(0, 3, 1, 4, 2, 5)
    return grid.reshape(n, c, height, width)


def vit_params(image, p, layers, d, mlp, classes, missing=""):
    tokens = (image // p) ** 2 + (0 if "position" in missing else 1)
    norm = 0 if "norms" in missing else 2 * d
    block = 2 * norm + 4 * d * d + (0 if "attention bias" in missing else 4 * d) + 2 * d * mlp + mlp + d
    return 3 * p * p * d + d + d + tokens * d + layers * block + norm + d * classes + classes


def rollout(attentions, order="right", identity=True, heads="mean"):
    result = None
    for a in attentions:
        a = a.mean(1) if heads == "mean" else a[:, 0]
        if identity:
            a = 0.5 * a + 0.5 * torch.eye(a.size(-1))
        a = a / a.sum(-1, keepdim=True)
        result = a if result is None else (a @ result if order == "right" else result @ a)
    return result


RIGHT = [(ch14.check_unpatchify, unpatchify),
         (ch14.check_unpatchify, lambda t, p, h, w: F.fold(t.transpose(1, 2), (h, w), p, stride=p)),
         (ch14.check_vit_params, vit_params),
         (ch14.check_rollout, rollout)]

WRONG = {  # id: (check, wrong answer, a phrase its hint must hold)
    "unpatch-channel-last": (ch14.check_unpatchify, lambda *a: unpatchify(*a, order="channel-last"),
                             "channel first"),
    "unpatch-column-major": (ch14.check_unpatchify, lambda *a: unpatchify(*a, order="columns"), "down the columns"),
    "unpatch-reshape-only": (ch14.check_unpatchify, lambda t, p, h, w: t.reshape(len(t), -1, h, w), "A reshape alone"),
    "params-no-class-position": (ch14.check_vit_params, lambda *a: vit_params(*a, missing="position"),
                                 "class token has its own position"),
    "params-no-norms": (ch14.check_vit_params, lambda *a: vit_params(*a, missing="norms"), "LayerNorms"),
    "params-no-attention-bias": (ch14.check_vit_params, lambda *a: vit_params(*a, missing="attention bias"),
                                 "biases"),
    "rollout-reversed": (ch14.check_rollout, lambda a: rollout(a, order="left"), "LEFT"),
    "rollout-no-identity": (ch14.check_rollout, lambda a: rollout(a, identity=False), "residual"),
    "rollout-first-head": (ch14.check_rollout, lambda a: rollout(a, heads="first"), "average the heads"),
    "rollout-heads-kept": (ch14.check_rollout, lambda a: torch.stack(a).mean(0), "(N, L, L)"),
}


@pytest.mark.parametrize("check, right", RIGHT, ids=lambda x: getattr(x, "__name__", ""))
def test_the_right_answer_passes(check, right, capsys):
    check(right)
    out = capsys.readouterr().out
    assert "OK" in out and "not attempted" not in out


@pytest.mark.parametrize("name", sorted(WRONG))
def test_typical_mistakes_fail_with_a_hint_that_names_them(name):
    check, wrong, phrase = WRONG[name]
    with pytest.raises(CheckError) as err:
        check(wrong)
    assert phrase in str(err.value), f"the hint should name the mistake ({phrase!r}); got: {err.value}"


@pytest.mark.parametrize("check", sorted({c for c, _ in RIGHT}, key=lambda c: c.__name__), ids=lambda c: c.__name__)
def test_a_placeholder_is_reported_as_not_attempted(check, capsys):
    check(lambda *args: None)
    assert "not attempted yet" in capsys.readouterr().out
