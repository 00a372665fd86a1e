"""The exercise checks of chapters 01-03 (dlcourse/exercises): the notebook's placeholder is "not
attempted yet", the worked solution passes, and each typical wrong answer raises CheckError."""
import math

import numpy as np
import pytest
import torch

from dlcourse.autograd import Value
from dlcourse.exercises.chapters import ch01_tensors_autograd as ch01
from dlcourse.exercises.chapters import ch02_perceptron as ch02
from dlcourse.exercises.chapters import ch03_mlp_activations as ch03


# ---- chapter 01 ------------------------------------------------------------------------
SHAPES = [(5, 3, 4), "error", (4, 4), (2, 2), (8, 7, 6, 5)]


def _value_sigmoid(v, stable=True, local=lambda s, v: s * (1 - s), children=True):
    """A sigmoid Value node; the keyword arguments plant one typical mistake each."""
    if stable and v.data < 0:
        s = math.exp(v.data) / (1 + math.exp(v.data))
    else:
        s = 1 / (1 + math.exp(-v.data))
    out = Value(s, (v,) if children else (), "sigmoid")

    def _backward():
        v.grad += local(s, v.data) * out.grad
    out._backward = _backward
    return out


@pytest.mark.parametrize("check, right, wrongs, stub", [
    (ch01.check_broadcast_shapes, SHAPES,
     [[(5, 3, 4), "error", (4,), (2, 2), (8, 7, 6, 5)],            # the (N, 1) + (N,) trap read as (N,)
      [(5, 3, 4), (2, 3), (4, 4), (2, 2), (8, 7, 6, 5)],           # (2, 3) + (2,) aligned from the left
      [(5, 1, 4), "error", (4, 4), (2, 2), (8, 7, 6, 5)],          # the size-1 axis kept, not stretched
      SHAPES[:4]], None),                                           # an answer missing
    (ch01.check_value_sigmoid, _value_sigmoid,
     [lambda v: _value_sigmoid(v, stable=False),                   # math.exp(1000) overflows
      lambda v: _value_sigmoid(v, local=lambda s, x: s),           # sigma' taken as sigma
      lambda v: _value_sigmoid(v, local=lambda s, x: x * (1 - x)),  # sigma' from the input, not the output
      lambda v: _value_sigmoid(v, children=False)], lambda v: None),
    (ch01.check_gradient_by_hand, (6.0, -4.0),
     [(6.0, 4.0),                                                  # the minus sign of (a - b) lost
      (1.0, 1.0),                                                  # only one path per input: (a - b) each
      (5.0, 5.0)], None),                                          # the factor (a + b) alone
], ids=["broadcast", "value_sigmoid", "gradient_by_hand"])
def test_chapter01_checks(check, right, wrongs, stub, exercise_check):
    exercise_check(check, right, wrongs, stub=stub)


# ---- chapter 02 ------------------------------------------------------------------------
def _margin(w, b, X, t, norm=True, bias=True, signed=True):
    w = np.asarray(w, dtype=np.float64)
    scores = t * (X @ w + (b if bias else 0.0))
    scores = scores if signed else np.abs(scores)
    return float(np.min(scores) / (np.linalg.norm(w) if norm else 1.0))


@pytest.mark.parametrize("check, right, wrongs, stub", [
    (lambda answer: ch02.check_and_gate(*answer), ((1.0, 1.0), -1.5),
     [((1.0, 1.0), -0.5),                                          # the OR gate
      ((1.0, 1.0), 0.0),                                           # no bias: the line through the origin
      ((1.0, 1.0), -2.5),                                          # too negative: every corner negative
      ((-1.0, -1.0), 1.5)], (None, None)),                         # w and b flipped: NAND
    (ch02.check_margin, _margin,
     [lambda w, b, X, t: _margin(w, b, X, t, norm=False),          # functional, not geometric, margin
      lambda w, b, X, t: _margin(w, b, X, t, bias=False),          # b forgotten
      lambda w, b, X, t: _margin(w, b, X, t, signed=False),        # distance without the side
      lambda w, b, X, t: float(np.max(t * (X @ w + b)) / np.linalg.norm(w))],   # max, not min
     lambda *args: None),
    (ch02.check_xor_features, lambda X: np.c_[X, X[:, 0] * X[:, 1]],
     [lambda X: X,                                                 # the raw inputs: XOR not separable
      lambda X: np.c_[X, X[:, 0] + X[:, 1]],                       # a linear feature adds nothing
      lambda X: X[:, 0] * X[:, 1]],                                # the product alone, as a 1-D array
     lambda X: None),
], ids=["and_gate", "margin", "xor_features"])
def test_chapter02_checks(check, right, wrongs, stub, exercise_check):
    exercise_check(check, right, wrongs, stub=stub)


# ---- chapter 03 ------------------------------------------------------------------------
@pytest.mark.parametrize("check, right, wrongs", [
    (ch03.check_softplus, lambda x: torch.clamp(x, min=0) + torch.log1p(torch.exp(-x.abs())),
     [lambda x: torch.log(1 + torch.exp(x)),                       # overflows to inf at x = 100
      lambda x: x + torch.log1p(torch.exp(-x)),                    # the x > 0 form everywhere: inf at -100
      lambda x: torch.clamp(x, min=0)]),                           # ReLU: log 2 off at 0
    (ch03.check_d_silu, lambda x: torch.sigmoid(x) * (1 + x * (1 - torch.sigmoid(x))),
     [lambda x: torch.sigmoid(x),                                  # the second product-rule term lost
      lambda x: torch.sigmoid(x) * (1 - torch.sigmoid(x)),         # sigmoid's derivative, not SiLU's
      lambda x: torch.sigmoid(x) + x * torch.sigmoid(x)]),         # sigma' taken as sigma
    (ch03.check_count_parameters, lambda s: sum((a + 1) * b for a, b in zip(s[:-1], s[1:])),
     [lambda s: sum(a * b for a, b in zip(s[:-1], s[1:])),         # the biases forgotten
      lambda s: sum(a * (b + 1) for a, b in zip(s[:-1], s[1:])),   # one bias per input, not per output
      lambda s: sum((a + 1) * b for a, b in zip(s[:-2], s[1:-1]))]),  # the output layer left out
], ids=["softplus", "d_silu", "count_parameters"])
def test_chapter03_checks(check, right, wrongs, exercise_check):
    exercise_check(check, right, wrongs)


def test_checks_use_the_pairs_the_notebook_shows():
    """Exercise 1 of chapter 01 lists its pairs in the notebook: the check must grade those."""
    import ast
    from pathlib import Path
    notebook = Path(__file__).resolve().parents[1] / "notebooks" / "part1_foundations" / "01_tensors_autograd.py"
    text = notebook.read_text()
    line = next(line for line in text.splitlines() if line.startswith("QUIZ = "))
    assert ast.literal_eval(line.split("=", 1)[1].strip()) == ch01.BROADCAST_QUIZ
