"""Rosenblatt's perceptron == scikit-learn's Perceptron, epoch by epoch; XOR is never learned.

scikit-learn's ``Perceptron`` is SGD on the perceptron loss max(0, -y (w·x + b)) with a
constant learning rate ``eta0``; its subgradient step is exactly Rosenblatt's update, and
it too counts y (w·x + b) = 0 as a mistake. ``shuffle=False`` visits samples in order,
``tol=None`` turns off its "loss stopped improving" stop (it would otherwise end a
non-separable run after ``n_iter_no_change`` epochs), ``max_iter`` is the number of
epochs, and ``penalty=None`` (so ``alpha`` is unused) leaves plain updates. It maps the
larger label to +1, the other to -1, as ours does.
"""
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Perceptron as SkPerceptron

from dlcourse.models import Perceptron


def sklearn_after(X, y, epochs, lr):
    clf = SkPerceptron(eta0=lr, shuffle=False, max_iter=epochs, tol=None, penalty=None, alpha=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)   # "max_iter reached": on purpose
        clf.fit(X, y)
    return clf.coef_[0], clf.intercept_[0]


def blobs(n=40, seed=0, margin=0.15):
    """Points labelled by the line x1 - 2 x2 = 2 (shifted off the origin, so the bias
    matters), those closer than ``margin`` dropped: separable, but it takes the
    perceptron several epochs and dozens of updates."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-3, 3, (4 * n, 2)) + [4.0, 1.0]
    s = X @ np.array([1.0, -2.0]) - 2.0
    keep = np.abs(s) > margin
    return X[keep][:n], (s[keep][:n] > 0).astype(int)


def iris_pair(a, b):
    X, y = load_iris(return_X_y=True)
    keep = np.isin(y, [a, b])
    return X[keep], y[keep]


def assert_same_as_sklearn(X, y, max_epochs, lr):
    for k in range(1, max_epochs + 1):
        p = Perceptron()
        p.fit(X, y, epochs=k, lr=lr)
        w, b = sklearn_after(X, y, k, lr)
        # Bit-identical here; a tolerance of 1e-12 only allows for a different summation
        # order inside the dot product on other BLAS builds.
        np.testing.assert_allclose(p.w, w, rtol=0, atol=1e-12, err_msg=f"weights after {k} epochs")
        assert p.b == pytest.approx(b, abs=1e-12), f"intercept after {k} epochs"


@pytest.mark.parametrize("lr", [1.0, 0.3])
def test_separable_blobs_match_sklearn_and_converge(lr):
    X, y = blobs()
    assert_same_as_sklearn(X, y, 10, lr)
    p = Perceptron()
    mistakes = p.fit(X, y, epochs=50, lr=lr)
    assert mistakes[-1] == 0 and 3 <= len(mistakes) < 50   # stopped early, at zero mistakes
    assert all(m > 0 for m in mistakes[:-1]) and sum(mistakes) >= 10
    assert mistakes[0] >= 1                              # w = 0 puts the first sample on the boundary
    assert (p.predict(X) == y).all() and set(p.predict(X)) <= {0, 1}


@pytest.mark.parametrize("pair, epochs", [((0, 1), 6), ((1, 2), 15)], ids=["setosa-versicolor", "versicolor-virginica"])
def test_iris_matches_sklearn(pair, epochs):
    X, y = iris_pair(*pair)
    assert_same_as_sklearn(X, y, epochs, lr=1.0)
    assert_same_as_sklearn(X, y, 3, lr=0.1)


def test_iris_separable_pair_reaches_zero_mistakes():
    X, y = iris_pair(0, 1)
    p = Perceptron()
    mistakes = p.fit(X, y, epochs=100)
    assert mistakes[-1] == 0 and p.score(X, y) == 1.0
    assert p.w.shape == (4,) and isinstance(p.b, float)


def test_label_conventions_give_the_same_model():
    X, y01 = blobs(seed=1)
    y_pm = np.where(y01 == 1, 1, -1)
    p01, ppm = Perceptron(), Perceptron()
    assert p01.fit(X, y01) == ppm.fit(X, y_pm)
    np.testing.assert_array_equal(p01.w, ppm.w)
    assert p01.b == ppm.b
    assert set(ppm.predict(X)) <= {-1, 1}
    np.testing.assert_array_equal(ppm.predict(X) == 1, p01.predict(X) == 1)
    w, b = sklearn_after(X, y_pm, len(ppm.mistakes_), 1.0)
    np.testing.assert_allclose(ppm.w, w, rtol=0, atol=1e-12)


def test_xor_is_never_learned():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    p = Perceptron()
    mistakes = p.fit(X, y, epochs=200)
    assert len(mistakes) == 200 and min(mistakes) > 0   # no line separates XOR (Minsky & Papert 1969)
    assert p.score(X, y) < 1.0


def test_decision_function_and_boundary_convention():
    X, y = blobs(seed=2)
    p = Perceptron()
    p.fit(X, y)
    np.testing.assert_allclose(p.decision_function(X), X @ p.w + p.b)
    p.w, p.b = np.array([1.0, 0.0]), 0.0
    assert p.predict(np.array([[0.0, 5.0], [1e-9, 0.0]])).tolist() == [0, 1]   # 0 is the negative side


def test_shuffle_is_seeded_and_still_converges():
    X, y = blobs(seed=3)
    runs = [Perceptron() for _ in range(3)]
    m0 = runs[0].fit(X, y, epochs=50, shuffle=True, seed=5)
    m1 = runs[1].fit(X, y, epochs=50, shuffle=True, seed=5)
    runs[2].fit(X, y, epochs=50, shuffle=True, seed=6)
    assert m0 == m1 and m0[-1] == 0
    np.testing.assert_array_equal(runs[0].w, runs[1].w)
    assert len(runs[0].history_) == len(m0) + 1
    assert m0 != Perceptron().fit(X, y, epochs=50)            # shuffling changes the visiting order


def test_history_holds_the_weights_after_each_epoch():
    """history_[k] is the model after k epochs: a fresh fit for k epochs must end there (copies, not one array)."""
    X, y = blobs(seed=3)
    full = Perceptron()
    mistakes = full.fit(X, y, epochs=6)
    assert mistakes == [8, 8, 6, 3, 0]                      # one count per update (a regression pin)
    assert len(full.history_) == len(mistakes) + 1 and not full.history_[0][0].any()
    for k in range(1, len(full.history_)):
        part = Perceptron()
        part.fit(X, y, epochs=k)
        np.testing.assert_array_equal(full.history_[k][0], part.w)
        assert full.history_[k][1] == part.b


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="two classes"):
        Perceptron().fit(np.zeros((3, 2)), [0, 1, 2])
    with pytest.raises(ValueError, match="2-D"):
        Perceptron().fit(np.zeros(3), [0, 1, 0])
    with pytest.raises(RuntimeError, match="fit"):
        Perceptron().predict(np.zeros((1, 2)))
    p = Perceptron()
    p.fit(*blobs())
    with pytest.raises(ValueError, match="features"):
        p.predict(np.zeros((1, 3)))
