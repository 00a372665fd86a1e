"""The checks of assignment a07 (an LSTM for sentiment): the cell, the last real step of a padded
batch, and a classifier trained on SST-2.

``check_lstm_cell`` compares the student's cell with nn.LSTMCell given the same weights, in
values and gradients; when it differs it tries every other order of the four gate blocks and
says which one the student used (PyTorch stacks them i, f, g, o). The classifier is checked for
padding (its logits must not change when more padding follows a sentence) and trained on SST-2
by ``text_checks``, on the grader's own copy of the design (traced once, rebuilt and started in
the grader), so no code of the student's sees a held-out sentence.
"""
from __future__ import annotations

import itertools

import torch
import torch.nn as nn

from dlcourse.exercises.assignments.sequence_checks import check_parity
from dlcourse.exercises.assignments.text_checks import check_padding_invariance, check_text_training

__all__ = ["CHAPTER", "READY_MADE_LSTMS", "check_lstm_cell", "check_last_step", "check_sentiment_padding",
           "check_sentiment_training", "SST2_THRESHOLD"]

CHAPTER = "18_lstm_gru"   # the chapter notebook this assignment practises
TRAINS_ON = ("sst2",)  # all the grading sandbox may read (grading.data_view)

READY_MADE_LSTMS = ("torch.nn.LSTMCell", "torch.nn.LSTM", "torch.lstm_cell", "torch.lstm",
                    "dlcourse.models.rnn.LSTMCell", "dlcourse.models.rnn.LSTM", "dlcourse.models.rnn.lstm_step")
RULE = "Task 1 builds the LSTM cell from its equations (tensor operations, torch.sigmoid, torch.tanh)"
SHAPE_HINTS = {"cannot be multiplied": "A weight is (4 * hidden_size, in_features): multiply by its transpose, "
                                       "x @ weight_ih.T, h @ weight_hh.T.",
               "out of bounds": "lengths counts steps: the last real step of a sequence of length n has index "
                                "n - 1.",
               "size of tensor a": "Check the shapes: the four gates come from one (N, 4 * hidden_size) tensor; "
                                   "split it with .chunk(4, dim=1)."}
GATES = ("i", "f", "g", "o")
SST2_THRESHOLD = 0.70   # dev accuracy after 2 epochs; the suggested design reaches 0.76-0.78 (seeds 0-4)


def lstm_inputs(n: int = 3, d: int = 4, h: int = 5, seed: int = 0) -> list[torch.Tensor]:
    """[x, h, c, weight_ih (4h, d), weight_hh (4h, h), bias_ih, bias_hh], seeded."""
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, d, generator=g), torch.randn(n, h, generator=g) * 0.5, torch.randn(n, h, generator=g),
            torch.randn(4 * h, d, generator=g) * 0.5, torch.randn(4 * h, h, generator=g) * 0.5,
            torch.randn(4 * h, generator=g) * 0.3, torch.randn(4 * h, generator=g) * 0.3]


def _torch_cell(x, h, c, w_ih, w_hh, b_ih, b_hh):
    cell = nn.LSTMCell(w_ih.shape[1], w_hh.shape[1])
    return torch.func.functional_call(cell, {"weight_ih": w_ih, "weight_hh": w_hh, "bias_ih": b_ih, "bias_hh": b_hh},
                                      (x, (h, c)))


def _cell_variant(order=GATES, tanh_c=True, forget=True):
    """An LSTM cell that reads the gate blocks in ``order`` (or makes another known mistake)."""
    def cell(x, h, c, w_ih, w_hh, b_ih, b_hh):
        blocks = dict(zip(order, (x @ w_ih.T + b_ih + h @ w_hh.T + b_hh).chunk(4, dim=1)))
        i, f, g, o = torch.sigmoid(blocks["i"]), torch.sigmoid(blocks["f"]), torch.tanh(blocks["g"]), \
            torch.sigmoid(blocks["o"])
        c_new = (f * c if forget else c) + i * g
        return o * (torch.tanh(c_new) if tanh_c else c_new), c_new
    return cell


CELL_MISTAKES = {
    **{f"gates read in the order ({', '.join(order)})": (_cell_variant(order=order),
                                                         "PyTorch stacks the gate blocks as i, f, g, o: "
                                                         "i, f, g, o = gates.chunk(4, dim=1).")
       for order in itertools.permutations(GATES) if order != GATES},
    "h = o * c (no tanh)": (_cell_variant(tanh_c=False), "the output is h = o * tanh(c_new)."),
    "a cell without its forget gate": (_cell_variant(forget=False), "the old memory is scaled by the forget gate: "
                                                                    "c_new = f * c + i * g."),
}


def check_lstm_cell(lstm_cell, n: int = 3, d: int = 4, h: int = 5, seed: int = 0) -> None:
    """The student's ``lstm_cell(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh)`` -> (h', c') == nn.LSTMCell."""
    __tracebackhide__ = True
    check_parity(f"lstm_cell (N={n}, input {d}, hidden {h})", lstm_cell, _torch_cell, lstm_inputs(n, d, h, seed),
                 mistakes=CELL_MISTAKES, forbidden=READY_MADE_LSTMS, rule=RULE, hints=SHAPE_HINTS,
                 output_names=["h'", "c'"],
                 input_names=["x", "h", "c", "weight_ih", "weight_hh", "bias_ih", "bias_hh"])


# ----------------------------------------------------------------------------- Task 2
def _last_step(outputs, lengths):
    return outputs[torch.arange(len(lengths)), lengths - 1]


LAST_STEP_MISTAKES = {
    "the output at the last padded position, outputs[:, -1]": (
        lambda outputs, lengths: outputs[:, -1],
        "for a sequence shorter than the batch's longest, outputs[:, -1] is a padding step; take each sequence's "
        "own last step, outputs[torch.arange(N), lengths - 1]."),
    "the step before the last real one": (lambda outputs, lengths: outputs[torch.arange(len(lengths)),
                                                                          (lengths - 2).clamp(min=0)],
                                          "the last real step of a sequence of length n has index n - 1."),
}


def check_last_step(last_step, lengths=(3, 5, 1, 5), hidden: int = 4, seed: int = 0) -> None:
    """The student's ``last_step(outputs, lengths)`` -> (N, H), each sequence's output at index length - 1."""
    __tracebackhide__ = True
    lengths = torch.tensor(lengths)
    g = torch.Generator().manual_seed(seed)
    outputs = torch.randn(len(lengths), int(lengths.max()), hidden, generator=g)
    check_parity(f"last_step(outputs {tuple(outputs.shape)}, lengths {lengths.tolist()})", last_step, _last_step,
                 [outputs, lengths], mistakes=LAST_STEP_MISTAKES, hints=SHAPE_HINTS, output_names=["last"],
                 input_names=["outputs", "lengths"])


# ----------------------------------------------------------------------------- Task 3
def check_sentiment_padding(model_class, vocab_size: int = 50, seed: int = 0) -> None:
    __tracebackhide__ = True
    check_padding_invariance(model_class, vocab_size, 2, seed, name="SentimentLSTM")


def check_sentiment_training(model_class, seed: int = 0) -> None:
    __tracebackhide__ = True
    check_text_training(model_class, "sst2", SST2_THRESHOLD, seed, name="SentimentLSTM")
