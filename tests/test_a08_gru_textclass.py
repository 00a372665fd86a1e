"""a08's checks name the fix for each usual mistake and pass right answers (the round trip through
the grader is tests/test_grading.py): the reset gate in Cho et al.'s place is named, padding that
counts in a mean is caught, in the function and in the classifier."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from dlcourse.checks import CheckError
from dlcourse.exercises.assignments import a08_gru_textclass as a08


def gru_cell(x, h, w_ih, w_hh, b_ih, b_hh):
    x_r, x_z, x_n = (x @ w_ih.T + b_ih).chunk(3, dim=1)
    h_r, h_z, h_n = (h @ w_hh.T + b_hh).chunk(3, dim=1)
    r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
    return (1 - z) * torch.tanh(x_n + r * h_n) + z * h


class QuestionGRU(nn.Module):
    def __init__(self, vocab_size, num_classes=6):
        super().__init__()
        self.embed, self.gru = nn.Embedding(vocab_size, 8, padding_idx=0), nn.GRU(8, 8, batch_first=True)
        self.out = nn.Linear(8, num_classes)

    def forward(self, ids, lengths):
        outputs, _ = self.gru(self.embed(ids))
        mask = (torch.arange(ids.shape[1])[None] < lengths[:, None]).unsqueeze(-1)
        return self.out((outputs * mask).sum(1) / lengths[:, None])


class PlainMean(QuestionGRU):
    def forward(self, ids, lengths):
        return self.out(self.gru(self.embed(ids))[0].mean(1))


def test_right_answers_pass_and_print_the_tolerance(capsys):
    a08.check_gru_cell(gru_cell)
    a08.check_masked_mean(a08._masked_mean)
    a08.check_classifier_padding(QuestionGRU)
    out = capsys.readouterr().out
    assert out.count("OK ") == 7 + 2 + 2 and "allowed there" in out


@pytest.mark.parametrize("what", list(a08.CELL_MISTAKES))
def test_each_cell_mistake_is_named_with_its_fix(what):
    variant, fix = a08.CELL_MISTAKES[what]
    with pytest.raises(CheckError) as info:
        a08.check_gru_cell(variant)
    assert what in str(info.value) and fix in str(info.value)


@pytest.mark.parametrize("what", list(a08.MEAN_MISTAKES))
def test_each_masked_mean_mistake_is_named_with_its_fix(what):
    variant, fix = a08.MEAN_MISTAKES[what]
    with pytest.raises(CheckError) as info:
        a08.check_masked_mean(variant)
    assert what in str(info.value) and fix in str(info.value)


def test_other_mistakes_get_an_actionable_message():
    with pytest.raises(CheckError, match="torch.nn.GRUCell, which is not allowed here"):
        a08.check_gru_cell(lambda x, h, *w: nn.GRUCell(x.shape[1], h.shape[1])(x, h))
    with pytest.raises(CheckError, match="lengths\\[:, None\\]"):     # lengths (N,) against sums (N, H)
        a08.check_masked_mean(lambda outputs, lengths: outputs.sum(1) / lengths)
    with pytest.raises(CheckError, match="the logits change when 3 more padding tokens follow"):
        a08.check_classifier_padding(PlainMean)
