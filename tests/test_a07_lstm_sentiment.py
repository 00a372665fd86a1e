"""a07's checks name the fix for each usual mistake and pass right answers (the round trip through
the grader is tests/test_grading.py): every wrong order of the LSTM's gate blocks is named, and a
classifier that reads the last padded step is caught before any training."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from dlcourse.checks import CheckError
from dlcourse.exercises.assignments import a07_lstm_sentiment as a07


def lstm_cell(x, h, c, w_ih, w_hh, b_ih, b_hh):
    i, f, g, o = (x @ w_ih.T + b_ih + h @ w_hh.T + b_hh).chunk(4, dim=1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


class SentimentLSTM(nn.Module):
    def __init__(self, vocab_size, num_classes=2):
        super().__init__()
        self.embed, self.lstm = nn.Embedding(vocab_size, 8, padding_idx=0), nn.LSTM(8, 8, batch_first=True)
        self.out = nn.Linear(8, num_classes)

    def forward(self, ids, lengths):
        outputs, _ = self.lstm(self.embed(ids))
        return self.out(outputs[torch.arange(len(ids)), lengths - 1])


class LastPaddedStep(SentimentLSTM):
    def forward(self, ids, lengths):
        return self.out(self.lstm(self.embed(ids))[0][:, -1])


def test_right_answers_pass_and_print_the_tolerance(capsys):
    a07.check_lstm_cell(lstm_cell)
    a07.check_last_step(lambda outputs, lengths: outputs[torch.arange(len(lengths)), lengths - 1])
    a07.check_sentiment_padding(SentimentLSTM)
    out = capsys.readouterr().out
    assert out.count("OK ") == 9 + 2 + 2 and "allowed there" in out


def test_the_mistakes_include_every_wrong_gate_order():
    assert sum(what.startswith("gates read in the order") for what in a07.CELL_MISTAKES) == 23


@pytest.mark.parametrize("what", list(a07.CELL_MISTAKES))
def test_each_cell_mistake_is_named_with_its_fix(what):
    variant, fix = a07.CELL_MISTAKES[what]
    with pytest.raises(CheckError) as info:
        a07.check_lstm_cell(variant)
    assert what in str(info.value) and fix in str(info.value)


@pytest.mark.parametrize("what", list(a07.LAST_STEP_MISTAKES))
def test_each_last_step_mistake_is_named_with_its_fix(what):
    variant, fix = a07.LAST_STEP_MISTAKES[what]
    with pytest.raises(CheckError) as info:
        a07.check_last_step(variant)
    assert what in str(info.value) and fix in str(info.value)


def test_other_mistakes_get_an_actionable_message():
    with pytest.raises(CheckError, match="index n - 1"):   # outputs[arange, lengths]: out of bounds
        a07.check_last_step(lambda outputs, lengths: outputs[torch.arange(len(lengths)), lengths])
    with pytest.raises(CheckError, match="torch.nn.LSTMCell, which is not allowed here"):
        a07.check_lstm_cell(lambda x, h, c, *w: nn.LSTMCell(x.shape[1], h.shape[1])(x, (h, c)))
    with pytest.raises(CheckError, match="the logits change when 3 more padding tokens follow"):
        a07.check_sentiment_padding(LastPaddedStep)
