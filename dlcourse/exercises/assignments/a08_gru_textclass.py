"""The checks of assignment a08 (a GRU for text classification): the cell, a masked mean over the
real steps of a padded batch, and a question classifier trained on TREC.

``check_gru_cell`` compares the student's cell with nn.GRUCell given the same weights, in values
and gradients, and names the usual mistakes: the reset gate applied to h before its linear map
(Cho et al.'s form, not PyTorch's), z and 1 - z swapped, the gate blocks in another order.
``check_masked_mean`` puts non-zero values at padded steps, so a mean that counts them fails.
The classifier is checked for padding and trained on TREC
by ``text_checks``, on the grader's own copy of the design (traced once, rebuilt and started in
the grader), so no code of the student's sees a held-out sentence.
"""
from __future__ import annotations

import itertools

import torch
import torch.nn as nn

from dlcourse.exercises.assignments.sequence_checks import check_parity
from dlcourse.exercises.assignments.text_checks import check_padding_invariance, check_text_training

__all__ = ["CHAPTER", "READY_MADE_GRUS", "check_gru_cell", "check_masked_mean", "check_classifier_padding",
           "check_classifier_training", "TREC_THRESHOLD"]

CHAPTER = "18_lstm_gru"   # the chapter notebook this assignment practises
TRAINS_ON = ("trec",)  # all the grading sandbox may read (grading.data_view)

READY_MADE_GRUS = ("torch.nn.GRUCell", "torch.nn.GRU", "torch.gru_cell", "torch.gru", "dlcourse.models.rnn.GRUCell",
                   "dlcourse.models.rnn.GRU", "dlcourse.models.rnn.gru_step")
RULE = "Task 1 builds the GRU cell from its equations (tensor operations, torch.sigmoid, torch.tanh)"
SHAPE_HINTS = {"cannot be multiplied": "A weight is (3 * hidden_size, in_features): multiply by its transpose, "
                                       "x @ weight_ih.T, h @ weight_hh.T.",
               "size of tensor a": "Check the shapes: split each (N, 3 * hidden_size) product into r, z, n with "
                                   ".chunk(3, dim=1); lengths (N,) broadcasts as lengths[:, None]."}
GATES = ("r", "z", "n")
TREC_THRESHOLD = 0.75   # test accuracy after 2 epochs; the suggested design reaches 0.83-0.86 (seeds 0-4)


def gru_inputs(n: int = 3, d: int = 4, h: int = 5, seed: int = 0) -> list[torch.Tensor]:
    """[x, h, weight_ih (3h, d), weight_hh (3h, h), bias_ih, bias_hh], seeded."""
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, d, generator=g), torch.randn(n, h, generator=g), torch.randn(3 * h, d, generator=g) * 0.6,
            torch.randn(3 * h, h, generator=g) * 0.6, torch.randn(3 * h, generator=g) * 0.4,
            torch.randn(3 * h, generator=g) * 0.4]


def _torch_cell(x, h, w_ih, w_hh, b_ih, b_hh):
    cell = nn.GRUCell(w_ih.shape[1], w_hh.shape[1])
    return torch.func.functional_call(cell, {"weight_ih": w_ih, "weight_hh": w_hh, "bias_ih": b_ih, "bias_hh": b_hh},
                                      (x, h))


def _cell_variant(order=GATES, cho=False, swap_z=False, no_reset=False):
    def cell(x, h, w_ih, w_hh, b_ih, b_hh):
        gx = dict(zip(order, (x @ w_ih.T + b_ih).chunk(3, dim=1)))
        w = dict(zip(order, w_hh.chunk(3)))
        b = dict(zip(order, b_hh.chunk(3)))
        r = torch.sigmoid(gx["r"] + h @ w["r"].T + b["r"])
        z = torch.sigmoid(gx["z"] + h @ w["z"].T + b["z"])
        if cho:
            hn = (r * h) @ w["n"].T + b["n"]
        else:
            hn = (h @ w["n"].T + b["n"]) * (1 if no_reset else r)
        n = torch.tanh(gx["n"] + hn)
        return z * n + (1 - z) * h if swap_z else (1 - z) * n + z * h
    return cell


CELL_MISTAKES = {
    "the reset gate applied to h before its linear map, W_hn (r * h) (Cho et al.'s form)": (
        _cell_variant(cho=True), "PyTorch (and cuDNN) apply r to the hidden state's linear part: "
                                 "n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))."),
    "z and 1 - z swapped": (_cell_variant(swap_z=True), "z is how much of the OLD state is kept: "
                                                        "h' = (1 - z) * n + z * h."),
    "a cell without its reset gate": (_cell_variant(no_reset=True), "multiply the hidden part of n by r: "
                                                                     "r * (h W_hn^T + b_hn)."),
    **{f"gates read in the order ({', '.join(order)})": (_cell_variant(order=order),
                                                         "PyTorch stacks the gate blocks as r, z, n: "
                                                         "r, z, n = gates.chunk(3, dim=1), for both products.")
       for order in itertools.permutations(GATES) if order != GATES},
}


def check_gru_cell(gru_cell, n: int = 3, d: int = 4, h: int = 5, seed: int = 0) -> None:
    """The student's ``gru_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh)`` -> h' == nn.GRUCell."""
    __tracebackhide__ = True
    check_parity(f"gru_cell (N={n}, input {d}, hidden {h})", gru_cell, _torch_cell, gru_inputs(n, d, h, seed),
                 mistakes=CELL_MISTAKES, forbidden=READY_MADE_GRUS, rule=RULE, hints=SHAPE_HINTS, output_names=["h'"],
                 input_names=["x", "h", "weight_ih", "weight_hh", "bias_ih", "bias_hh"])


# ----------------------------------------------------------------------------- Task 2
def _masked_mean(outputs, lengths):
    mask = (torch.arange(outputs.shape[1])[None, :] < lengths[:, None]).to(outputs.dtype)      # (N, T)
    return (outputs * mask[..., None]).sum(1) / lengths[:, None].to(outputs.dtype)


MEAN_MISTAKES = {
    "the mean over every step, padding included": (lambda outputs, lengths: outputs.mean(1),
                                                   "average over each sequence's first lengths[n] steps only: "
                                                   "multiply by a (N, T, 1) mask of the real steps, sum over time, "
                                                   "divide by lengths."),
    "a sum over every step divided by the lengths (padded steps summed)": (
        lambda outputs, lengths: outputs.sum(1) / lengths[:, None],
        "the padded steps hold values too (an RNN keeps running over padding): zero them with the mask before "
        "summing."),
    "the masked sum divided by the padded length T": (
        lambda outputs, lengths: _masked_mean(outputs, lengths) * lengths[:, None] / outputs.shape[1],
        "divide by each sequence's own length, lengths[:, None], not by T."),
}


def check_masked_mean(masked_mean, lengths=(3, 5, 1, 5), hidden: int = 3, seed: int = 0) -> None:
    """The student's ``masked_mean(outputs, lengths)`` -> (N, H), the mean of each sequence's real steps."""
    __tracebackhide__ = True
    lengths = torch.tensor(lengths)
    g = torch.Generator().manual_seed(seed)
    outputs = torch.randn(len(lengths), int(lengths.max()), hidden, generator=g) + 0.5   # padding not zero
    check_parity(f"masked_mean(outputs {tuple(outputs.shape)}, lengths {lengths.tolist()})", masked_mean,
                 _masked_mean, [outputs, lengths], mistakes=MEAN_MISTAKES, hints=SHAPE_HINTS, output_names=["mean"],
                 input_names=["outputs", "lengths"])


# ----------------------------------------------------------------------------- Task 3
def check_classifier_padding(model_class, vocab_size: int = 50, seed: int = 0) -> None:
    __tracebackhide__ = True
    check_padding_invariance(model_class, vocab_size, 6, seed, name="QuestionGRU")


def check_classifier_training(model_class, seed: int = 0) -> None:
    __tracebackhide__ = True
    check_text_training(model_class, "trec", TREC_THRESHOLD, seed, name="QuestionGRU")
