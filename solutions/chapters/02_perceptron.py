"""Worked solutions to the exercises of chapter 02 · The perceptron.

Run from the repository root:  python solutions/chapters/02_perceptron.py
It rebuilds what exercise 2 compares with from the notebook; each solution is followed by
the same check the notebook runs (``dlcourse.exercises.chapters.ch02_perceptron``); every check must pass.
"""
import numpy as np
from sklearn.svm import SVC

import dlcourse
from dlcourse.exercises.chapters import ch02_perceptron as exercises

dlcourse.setup(seed=0, quiet=True)

# ---- from the notebook: the data and the from-scratch perceptron ----------------------
X_all, y_all = dlcourse.data.load_iris()
keep = y_all < 2
X = X_all[keep][:, [0, 2]].astype(np.float64)
y = y_all[keep]
t = np.where(y == 1, 1.0, -1.0)


def perceptron_update(w, b, x_i, t_i, lr=1.0):
    if t_i * (w @ x_i + b) <= 0:
        return w + lr * t_i * x_i, b + lr * t_i, True
    return w, b, False


def perceptron_fit(X, t, epochs=10, lr=1.0):
    w, b = np.zeros(X.shape[1]), 0.0
    mistakes, path = [], [(w, b)]
    for _ in range(epochs):
        n_wrong = 0
        for x_i, t_i in zip(X, t):
            w, b, wrong = perceptron_update(w, b, x_i, t_i, lr)
            if wrong:
                n_wrong += 1
                path.append((w, b))
        mistakes.append(n_wrong)
        if n_wrong == 0:
            break
    return w, b, mistakes, path


w, b, mistakes, path = perceptron_fit(X, t, epochs=10)

# ---- Exercise 1: the AND gate by hand ------------------------------------------------
# The line x1 + x2 = 1.5 has (1, 1) alone on its positive side: 1 + 1 - 1.5 > 0, while
# the other corners give -1.5 and -0.5. Any w with positive entries and a bias between
# -(w1 + w2) and -max(w1, w2) works.
and_w, and_b = (1.0, 1.0), -1.5

exercises.check_and_gate(and_w, and_b)


# ---- Exercise 2: the margin of a line ------------------------------------------------
def margin(w, b, X, t):
    """Geometric margin: min over examples of t_i (w·x_i + b) / ||w||."""
    w = np.asarray(w, dtype=np.float64)
    return float(np.min(t * (X @ w + b)) / np.linalg.norm(w))


exercises.check_margin(margin)
svm = SVC(kernel="linear", C=1e6).fit(X, y)
m_perceptron, m_svm = margin(w, b, X, t), margin(svm.coef_[0], svm.intercept_[0], X, t)
print(f"perceptron's line: margin {m_perceptron:.3f} cm; max-margin line: {m_svm:.3f} cm")
assert 0 < m_perceptron < m_svm


# ---- Exercise 3: make XOR separable with a new feature -------------------------------
def xor_features(X):
    """(x1, x2, x1 * x2): with 0/1 inputs, XOR = x1 + x2 - 2 x1 x2, linear in these features."""
    X = np.asarray(X, dtype=np.float64)
    return np.c_[X, X[:, 0] * X[:, 1]]


exercises.check_xor_features(xor_features)

print("chapter 02: all exercise checks pass")
