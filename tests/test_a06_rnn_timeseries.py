"""a06's checks name the fix for each usual mistake and pass right answers (the round trip through
the grader is tests/test_grading.py). The "students" are functions with one realistic bug each;
the checks run them in this process, as the student's own visible tests do."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from dlcourse.checks import CheckError
from dlcourse.exercises.assignments import a06_rnn_timeseries as a06


def rnn_cell(x, h, w_ih, w_hh, b_ih, b_hh):
    return torch.tanh(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh)


def rnn_layer(x, h0, w_ih, w_hh, b_ih, b_hh):
    h, states = h0, []
    for t in range(x.shape[1]):
        h = torch.tanh(x[:, t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh)
        states.append(h)
    return torch.stack(states, 1), h


def test_right_answers_pass_and_print_the_tolerance(capsys):
    a06.check_rnn_cell(rnn_cell)
    a06.check_rnn_layer(rnn_layer)
    a06.check_make_windows(lambda s, w: (s.unfold(0, w, 1)[:-1].unsqueeze(-1), s[w:]), torch.arange(6.0), 2)
    out = capsys.readouterr().out
    assert out.count("OK ") == 7 + 8 + 2 and "allowed there" in out


@pytest.mark.parametrize("what", list(a06.CELL_MISTAKES))
def test_each_cell_mistake_is_named_with_its_fix(what):
    variant, fix = a06.CELL_MISTAKES[what]
    with pytest.raises(CheckError) as info:
        a06.check_rnn_cell(variant)
    assert what in str(info.value) and fix in str(info.value)


@pytest.mark.parametrize("what", list(a06.LAYER_MISTAKES))
def test_each_layer_mistake_is_named_with_its_fix(what):
    variant, fix = a06.LAYER_MISTAKES[what]
    with pytest.raises(CheckError) as info:
        a06.check_rnn_layer(variant)
    assert what in str(info.value) and fix in str(info.value)


def _untransposed(x, h, w_ih, w_hh, b_ih, b_hh):
    return torch.tanh(x @ w_ih + b_ih + h @ w_hh + b_hh)


def _ready_made(x, h, w_ih, w_hh, b_ih, b_hh):
    return nn.RNNCell(w_ih.shape[1], w_ih.shape[0])(x, h)


def _placeholder(*args):
    raise NotImplementedError()


def _detached(x, h, w_ih, w_hh, b_ih, b_hh):
    return torch.tensor(rnn_cell(x, h, w_ih, w_hh, b_ih, b_hh).tolist())


@pytest.mark.parametrize("student, words", [
    (_untransposed, "x @ weight_ih.T"),
    (_ready_made, "torch.nn.RNNCell, which is not allowed here"),
    (_placeholder, "still raises NotImplementedError"),
    (_detached, "no gradient reaches x"),
], ids=["untransposed", "ready-made", "placeholder", "detached"])
def test_other_cell_mistakes_get_an_actionable_message(student, words):
    with pytest.raises(CheckError) as info:
        a06.check_rnn_cell(student)
    assert words in str(info.value), str(info.value)


@pytest.mark.parametrize("student, words", [
    (lambda s, w: (s.unfold(0, w, 1)[:-1], s[w:]), "Add the feature dimension"),
    (lambda s, w: (s.unfold(0, w, 1).unsqueeze(-1), s[w - 1:]), "the last one ends just before"),
    (lambda s, w: (s.unfold(0, w, 1)[:-1].unsqueeze(-1), s[w - 1:-1]), "y[i] = series[i + window]"),
    (lambda s, w: s.unfold(0, w, 1), "return the pair (X, y)"),
], ids=["no-feature-dim", "one-window-too-many", "target-is-last-input", "one-tensor"])
def test_window_mistakes_get_an_actionable_message(student, words):
    with pytest.raises(CheckError) as info:
        a06.check_make_windows(student, torch.arange(8.0), 3)
    assert words in str(info.value), str(info.value)


class FlatForecaster(nn.Module):
    """Returns (N, 1): the head's output not squeezed."""

    def __init__(self):
        super().__init__()
        self.rnn, self.head = nn.RNN(1, 8, batch_first=True), nn.Linear(8, 1)

    def forward(self, x):
        return self.head(self.rnn(x)[1][-1])


class ConstantForecaster(FlatForecaster):
    """Learns one number (the training mean): far worse than persistence on the test years."""

    def __init__(self):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return self.bias.expand(len(x)) + 0 * super().forward(x).squeeze(-1).detach()


def test_forecaster_mistakes_fail_with_the_fix():
    with pytest.raises(CheckError, match=r"expected \[4\].*squeeze\(-1\)"):
        a06.check_forecaster_shape(FlatForecaster)
    with pytest.raises(CheckError, match="not below the persistence forecast's 32.9"):
        a06.check_forecaster(ConstantForecaster, seed=0, window=4)


def test_the_grader_sees_its_own_timeouts_and_the_students_errors_as_messages():
    """call_student (shared by a06-a09) turns the student's exceptions, which arrive from their
    process as RemoteError, into a CheckError with the fix, but never a timeout of the grading wire:
    the judge must see that one to stop the student's process."""
    from dlcourse.exercises.assignments.sequence_checks import call_student
    from dlcourse.grading import wire

    def raising(error):
        def student(*args):
            raise error
        return student

    with pytest.raises(wire.Deadline):
        call_student("rnn_cell", raising(wire.Deadline("past the limit")))
    with pytest.raises(CheckError, match="rnn_cell: your code still raises NotImplementedError"):
        call_student("rnn_cell", raising(wire.RemoteError("NotImplementedError", "")))
    with pytest.raises(CheckError, match="raised RuntimeError: mat1 and mat2 shapes cannot be multiplied.*weight_ih.T"):
        call_student("rnn_cell", raising(wire.RemoteError("RuntimeError", "mat1 and mat2 shapes cannot be multiplied")),
                     hints=a06.SHAPE_HINTS)
