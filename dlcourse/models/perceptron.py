"""Rosenblatt's perceptron (1958), the first learning rule for a linear classifier.

F. Rosenblatt, "The perceptron: a probabilistic model for information storage and
organization in the brain", Psychological Review 65(6), 1958.

The model is a single threshold unit, ŷ = sign(w·x + b). The learning rule visits the
samples one at a time and, whenever a sample is on the wrong side of the hyperplane,
moves the hyperplane towards it:

    if y (w·x + b) <= 0:   w <- w + lr * y * x,   b <- b + lr * y        (y in {-1, +1})

Novikoff (1962) proved that on linearly separable data it makes at most (R / gamma)^2
mistakes (R the radius of the data, gamma the margin) and then stops changing; on data
that are not separable, such as XOR, it never stops making mistakes.

Implementation notes:
* NumPy float64: the rule is sequential (each update changes the weights the next sample
  sees), so the loop over samples *is* the algorithm and cannot be vectorised; float64
  lets the result be compared with scikit-learn to the last few bits.
* "Mistake" means y (w·x + b) <= 0, so a point exactly on the boundary counts as wrong.
  That is why the very first sample always triggers an update (w = 0, b = 0 give 0).
  scikit-learn's ``Perceptron`` uses the same rule (its perceptron loss is a hinge with
  threshold 0), and with ``shuffle=False`` both reach the same weights epoch by epoch.
"""
from __future__ import annotations

import numpy as np

__all__ = ["Perceptron"]


class Perceptron:
    """A binary linear classifier trained with Rosenblatt's rule.

    Labels can be any two values, e.g. {0, 1} or {-1, +1}: the larger one (``classes_[1]``)
    is the positive class, as in scikit-learn, and ``predict`` returns the labels it was
    given. After ``fit``: ``w`` (n_features,), ``b`` (float), ``mistakes_`` (per epoch) and
    ``history_`` ((w, b) at the start and after each epoch, for drawing the boundary move).
    """

    def __init__(self):
        self.w: np.ndarray | None = None
        self.b: float = 0.0
        self.classes_: np.ndarray | None = None
        self.mistakes_: list[int] = []
        self.history_: list[tuple[np.ndarray, float]] = []

    def _check_X(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise ValueError(f"Perceptron: X must be 2-D (n_samples, n_features), got shape {X.shape}; "
                             "reshape a single sample with X.reshape(1, -1).")
        if self.w is not None and X.shape[1] != self.w.shape[0]:
            raise ValueError(f"Perceptron: X has {X.shape[1]} features but the model was fitted with "
                             f"{self.w.shape[0]}.")
        return X

    def fit(self, X, y, epochs: int = 10, lr: float = 1.0, shuffle: bool = False, seed: int = 0) -> list[int]:
        """Train from w = 0, b = 0; return the number of mistakes (updates) in each epoch.

        Stops early after the first epoch without a mistake: the data are then separated,
        and further epochs would change nothing. ``shuffle`` visits the samples in a new
        random order (``np.random.default_rng(seed)``) every epoch.
        """
        self.w = None
        X = self._check_X(X)
        y = np.asarray(y).ravel()
        if len(y) != len(X):
            raise ValueError(f"Perceptron: X has {len(X)} samples but y has {len(y)} labels.")
        self.classes_ = np.unique(y)
        if len(self.classes_) != 2:
            raise ValueError(f"Perceptron: needs exactly two classes, got {len(self.classes_)}: "
                             f"{self.classes_[:10].tolist()}.")
        t = np.where(y == self.classes_[1], 1.0, -1.0)     # targets in {-1, +1}

        w, b = np.zeros(X.shape[1]), 0.0
        rng = np.random.default_rng(seed)
        self.mistakes_, self.history_ = [], [(w.copy(), b)]
        for _ in range(epochs):
            order = rng.permutation(len(X)) if shuffle else range(len(X))
            mistakes = 0
            for i in order:
                if t[i] * (X[i] @ w + b) <= 0:    # wrong side, or on the boundary
                    step = lr * t[i]
                    w += step * X[i]
                    b += step
                    mistakes += 1
            self.mistakes_.append(mistakes)
            self.history_.append((w.copy(), b))
            if mistakes == 0:
                break
        self.w, self.b = w, float(b)
        return self.mistakes_

    def decision_function(self, X) -> np.ndarray:
        """w·x + b for every row: its sign is the side of the hyperplane."""
        if self.w is None:
            raise RuntimeError("Perceptron: call fit(X, y) before decision_function/predict.")
        return self._check_X(X) @ self.w + self.b

    def predict(self, X) -> np.ndarray:
        """The positive label where w·x + b > 0, the negative one otherwise (0 counts as negative)."""
        return self.classes_[(self.decision_function(X) > 0).astype(int)]

    def score(self, X, y) -> float:
        """Accuracy: the fraction of samples classified correctly."""
        return float(np.mean(self.predict(X) == np.asarray(y).ravel()))
