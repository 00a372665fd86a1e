"""Worked solutions to the exercises of chapter 02 · The perceptron.

Run from the repository root:  python solutions/chapters/02_perceptron.py
It rebuilds what the exercises need from the notebook, then runs each exercise's check
cell exactly as the notebook does; every check must pass.
"""
import numpy as np
from sklearn.svm import SVC

import dlcourse

dlcourse.setup(seed=0, quiet=True)

# ---- from the notebook: the data and the from-scratch perceptron ----------------------
X_all, y_all = dlcourse.data.load_iris()
keep = y_all < 2
X = X_all[keep][:, [0, 2]].astype(np.float64)
y = y_all[keep]
t = np.where(y == 1, 1.0, -1.0)


def predict(w, b, X):
    return np.where(X @ w + b > 0, 1.0, -1.0)


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
X_xor = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
t_xor = np.array([-1.0, 1.0, 1.0, -1.0])

# ---- Exercise 1: the AND gate by hand ------------------------------------------------
# The line x1 + x2 = 1.5 has (1, 1) alone on its positive side: 1 + 1 - 1.5 > 0, while
# the other corners give -1.5 and -0.5. Any w with positive entries and a bias between
# -(w1 + w2) and -max(w1, w2) works.
X_and = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
t_and = np.array([-1.0, -1.0, -1.0, 1.0])
and_w, and_b = (1.0, 1.0), -1.5

dlcourse.check_close("AND predictions", predict(np.asarray(and_w, dtype=float), float(and_b), X_and),
                     t_and, hint="That corner is on the wrong side of your line.")


# ---- Exercise 2: the margin of a line ------------------------------------------------
def margin(w, b, X, t):
    """Geometric margin: min over examples of t_i (w·x_i + b) / ||w||."""
    w = np.asarray(w, dtype=np.float64)
    return float(np.min(t * (X @ w + b)) / np.linalg.norm(w))


X_m, t_m = np.array([[0.0, 2.0], [0.0, -1.0]]), np.array([1.0, -1.0])
cases = [((0.0, 1.0), 0.0), ((0.0, 3.0), 0.0), ((0.0, 1.0), -1.5), ((0.0, -1.0), 0.0), ((3.0, 4.0), 0.0)]
got = [float(margin(np.array(w_c), b_c, X_m, t_m)) for w_c, b_c in cases]
dlcourse.check_close("margin on 5 hand-made lines", np.array(got), np.array([1.0, 1.0, 0.5, -2.0, 0.8]))
svm = SVC(kernel="linear", C=1e6).fit(X, y)
m_perceptron, m_svm = margin(w, b, X, t), margin(svm.coef_[0], svm.intercept_[0], X, t)
print(f"perceptron's line: margin {m_perceptron:.3f} cm; max-margin line: {m_svm:.3f} cm")
assert 0 < m_perceptron < m_svm


# ---- Exercise 3: make XOR separable with a new feature -------------------------------
def xor_features(X):
    """(x1, x2, x1 * x2): with 0/1 inputs, XOR = x1 + x2 - 2 x1 x2, linear in these features."""
    X = np.asarray(X, dtype=np.float64)
    return np.c_[X, X[:, 0] * X[:, 1]]


features = xor_features(X_xor)
dlcourse.check_shape("xor_features(X_xor)", np.asarray(features, dtype=np.float64), (4, None))
_, _, m_feat, _ = perceptron_fit(np.asarray(features, dtype=np.float64), t_xor, epochs=50)
dlcourse.check_close("mistakes in the last epoch", float(m_feat[-1]), 0.0)
print(f"XOR learned in {len(m_feat)} epochs; mistakes per epoch: {m_feat}")

print("chapter 02: all exercise checks pass")
