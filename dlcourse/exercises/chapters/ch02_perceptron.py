"""Checks of chapter 02's exercises (the perceptron): the AND gate, the margin of a line, features for XOR."""
from __future__ import annotations

from typing import Callable

import numpy as np

from dlcourse.checks import check_close, check_shape
from dlcourse.exercises import not_attempted
from dlcourse.models import Perceptron

__all__ = ["X_AND", "T_AND", "X_XOR", "T_XOR", "check_and_gate", "check_margin", "check_xor_features"]

# The four corners of the unit square, with the AND and XOR targets in {-1, +1}.
X_AND = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
T_AND = np.array([-1.0, -1.0, -1.0, 1.0])
X_XOR = X_AND.copy()
T_XOR = np.array([-1.0, 1.0, 1.0, -1.0])


def check_and_gate(and_w, and_b) -> None:
    """Exercise 1: the line w·x + b = 0 has (1, 1) alone on its positive side."""
    __tracebackhide__ = True
    if not_attempted(None if and_w is None or and_b is None else and_w, 1,
                      "set and_w = (w1, w2) and and_b so that only (1, 1) has w·x + b > 0."):
        return
    predictions = np.where(X_AND @ np.asarray(and_w, dtype=float) + float(and_b) > 0, 1.0, -1.0)
    check_close("AND predictions", predictions, T_AND,
                hint="That corner is on the wrong side of your line: slide it with b "
                     "(more negative b moves it towards (1, 1)) or turn it with w.")


def check_margin(margin: Callable) -> None:
    """Exercise 2: margin(w, b, X, t) = min_i t_i (w·x_i + b) / ||w||, on five hand-made lines."""
    __tracebackhide__ = True
    if not_attempted(margin(np.array([0.0, 1.0]), 0.0, np.array([[0.0, 2.0]]), np.array([1.0])), 2,
                      "make margin() return min_i t_i (w·x_i + b) / ||w||."):
        return
    X_m, t_m = np.array([[0.0, 2.0], [0.0, -1.0]]), np.array([1.0, -1.0])
    cases = [((0.0, 1.0), 0.0), ((0.0, 3.0), 0.0), ((0.0, 1.0), -1.5), ((0.0, -1.0), 0.0), ((3.0, 4.0), 0.0)]
    got = [float(margin(np.array(w_c), b_c, X_m, t_m)) for w_c, b_c in cases]
    check_close("margin on 5 hand-made lines", np.array(got), np.array([1.0, 1.0, 0.5, -2.0, 0.8]),
                hint="(index 1: scale w, same margin: divide by ||w||; index 2: a shifted line: "
                     "include b; index 3: a wrong line must give a negative margin: keep the sign "
                     "of t_i, and take the minimum, not the minimum of absolute values.)")


def check_xor_features(xor_features: Callable) -> None:
    """Exercise 3: on xor_features(X_XOR) the perceptron (fixed order) ends an epoch without a mistake."""
    __tracebackhide__ = True
    features = xor_features(X_XOR.copy())
    if not_attempted(features, 3, "return an (N, k) array of features built from X's columns."):
        return
    features = np.asarray(features, dtype=np.float64)
    check_shape("xor_features(X_xor)", features, (4, None), hint="Return one row of features per input row.")
    m_feat = Perceptron().fit(features, (T_XOR > 0).astype(int), epochs=50)
    check_close("mistakes in the last epoch", float(m_feat[-1]), 0.0,
                hint="XOR is still not separable with these features; the label depends on "
                     "x1 and x2 *together*: try a feature that multiplies them.")
    print(f"XOR learned in {len(m_feat)} epochs; mistakes per epoch: {m_feat}")
