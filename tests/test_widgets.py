"""The widgets work without a browser: sliders moved from code redraw the picture and the count."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dlcourse.widgets import draw_descent, draw_linear_boundary, linear_mistakes, perceptron_explorer  # noqa: E402

# Four hand-placed points: class 1 on the right of x1 = 0, class 0 on the left.
X = np.array([[-2.0, 1.0], [-1.0, -1.0], [1.0, 1.0], [2.0, -1.0]])
y = np.array([0, 0, 1, 1])


def _line_xy(ax):
    """The (x, y) data of the boundary line drawn on ``ax``."""
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == "w·x + b = 0"]
    return np.asarray(line.get_xdata()), np.asarray(line.get_ydata())


@pytest.mark.parametrize("w, b, expected", [
    ((1.0, 0.0), 0.0, 0),     # the vertical line x1 = 0 separates them
    ((-1.0, 0.0), 0.0, 4),    # same line, sides swapped: every point wrong
    ((0.0, 1.0), 0.0, 2),     # the horizontal line x2 = 0: one of each class wrong
    ((1.0, 0.0), -1.5, 1),    # x1 = 1.5: the point (1, 1) falls on the negative side
    ((1.0, 0.0), -1.0, 1),    # x1 = 1 passes through (1, 1): on the line counts as negative
    ((0.0, 0.0), 0.0, 2),     # no line: everything predicted class 0
])
def test_draw_linear_boundary_counts_mistakes(w, b, expected):
    fig, ax = plt.subplots()
    assert draw_linear_boundary(ax, X, y, w, b) == expected
    assert int(linear_mistakes(X, y, w, b).sum()) == expected
    assert f"{expected} of 4 misclassified" in ax.get_title()
    plt.close(fig)


def test_labels_minus_one_plus_one_are_accepted():
    fig, ax = plt.subplots()
    assert draw_linear_boundary(ax, X, 2 * y - 1, (1.0, 0.0), 0.0) == 0
    plt.close(fig)


def test_the_line_drawn_satisfies_w_dot_x_plus_b_equals_zero():
    fig, ax = plt.subplots()
    w, b = (0.7, -1.3), 0.4
    draw_linear_boundary(ax, X, y, w, b)
    xs, ys = _line_xy(ax)
    np.testing.assert_allclose(w[0] * xs + w[1] * ys + b, 0.0, atol=1e-9)
    plt.close(fig)


def test_bad_input_gets_a_clear_error():
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        draw_linear_boundary(ax, np.zeros((4, 3)), y, (1, 0), 0)
    with pytest.raises(ValueError, match="binary labels"):
        draw_linear_boundary(ax, X, np.array([0, 1, 2, 1]), (1, 0), 0)
    plt.close(fig)


def test_explorer_sliders_move_the_line_and_update_the_count():
    box = perceptron_explorer(X, y, w=(1.0, 0.0), b=0.0)
    assert set(box.sliders) == {"w1", "w2", "b"}
    assert box.mistakes == 0
    assert "0 of 4" in box.children[2].value          # the status line
    first_png = box.image.value
    assert first_png[:8] == b"\x89PNG\r\n\x1a\n"      # a picture is shown

    box.sliders["w1"].value = -1.0                   # flip the normal: every point wrong
    assert box.mistakes == 4
    assert "4 of 4" in box.axes.get_title() and "4 of 4" in box.children[2].value
    assert box.image.value != first_png              # ... and the picture was redrawn

    box.sliders["w1"].value = 1.0
    box.sliders["b"].value = -1.5                    # shift the line to x1 = 1.5
    assert box.mistakes == 1
    xs, ys = _line_xy(box.axes)
    np.testing.assert_allclose(xs, 1.5, atol=1e-9)   # a vertical line at x1 = 1.5

    box.sliders["w2"].value = 1.0                    # tilt it: x1 + x2 = 1.5
    xs, ys = _line_xy(box.axes)
    np.testing.assert_allclose(xs + ys - 1.5, 0.0, atol=1e-9)
    assert box.mistakes == int(linear_mistakes(X, y, (1.0, 1.0), -1.5).sum())


def test_explorer_slider_ranges_cover_the_start_values():
    box = perceptron_explorer(X * 10, y, w=(8.0, -3.0), b=25.0)
    assert box.sliders["w1"].value == 8.0 and box.sliders["b"].value == 25.0
    assert box.sliders["b"].max >= 25.0


def test_names_label_the_axes_and_the_legend():
    fig, ax = plt.subplots()
    draw_linear_boundary(ax, X, y, (1.0, 0.0), 0.0, feature_names=("sepal", "petal"),
                         class_names=("setosa", "versicolor"))
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("sepal", "petal")
    assert {"setosa", "versicolor"} <= {t.get_text() for t in ax.get_legend().get_texts()}
    plt.close(fig)


def test_descent_explorer_redraws_for_each_optimizer_and_learning_rate():
    import torch

    from dlcourse import optim
    from dlcourse.widgets import descent_explorer
    box = descent_explorer({"SGD + momentum": (optim.SGD, dict(lr=1e-3, momentum=0.9)),
                            "Adam": (optim.Adam, dict(lr=5e-2))}, steps=200)
    first, image = box.final_loss, bytes(box.image.value)
    expected = optim.rosenbrock(optim.trajectory(optim.SGD, "rosenbrock", 200, lr=1e-3, momentum=0.9)[0][-1])
    assert first == pytest.approx(float(expected)) and image.startswith(b"\x89PNG")
    box.lr.value = 1e-5                 # too small to get anywhere in 200 steps
    assert box.final_loss > first and bytes(box.image.value) != image
    box.lr.value = 3e-2                 # far too large for plain momentum on this valley
    assert box.final_loss == float("inf")
    box.menu.value = "Adam"             # choosing an optimizer restores its own learning rate
    assert box.lr.value == pytest.approx(5e-2) and np.isfinite(box.final_loss)
    assert box.final_loss == pytest.approx(float(optim.rosenbrock(
        optim.trajectory(optim.Adam, "rosenbrock", 200, lr=5e-2)[0][-1])))


def test_draw_descent_stops_a_diverging_path_at_its_last_finite_point():
    fig, ax = plt.subplots()
    path = np.array([[-1.5, 2.0], [-1.0, 1.0], [np.inf, np.nan]])
    finals = draw_descent(ax, {"bad": path, "good": np.array([[0.0, 0.0], [1.0, 1.0]])})
    assert finals == {"bad": float("inf"), "good": 0.0}
    (bad,) = [ln for ln in ax.get_lines() if ln.get_label().startswith("bad")]
    assert len(bad.get_xdata()) == 2
    plt.close(fig)


# ----------------------------------------------------------------------------- chapter 19: attention maps
TOKENS = ["the", "film", "is", "not", "good"]


def _attention(heads=2, seed=0):
    """(heads, 5, 5) rows that sum to one; head 0 attends from each token to the next (the last to itself)."""
    rng = np.random.default_rng(seed)
    w = rng.random((heads, 5, 5))
    w[0] = np.eye(5, k=1) * 0.9 + 0.02
    w[0, 4] = [0.02, 0.02, 0.02, 0.02, 0.92]
    return w / w.sum(-1, keepdims=True)


def test_draw_attention_shows_the_weights_and_returns_each_querys_top_key():
    from dlcourse.widgets import draw_attention
    fig, ax = plt.subplots()
    w = _attention()[0]
    top = draw_attention(ax, w, TOKENS, highlight=3)
    assert top.tolist() == [1, 2, 3, 4, 4]
    np.testing.assert_allclose(ax.images[0].get_array(), w)
    assert [t.get_text() for t in ax.get_xticklabels()] == TOKENS == [t.get_text() for t in ax.get_yticklabels()]
    (star,) = [ln for ln in ax.get_lines() if ln.get_marker() == "*"]
    assert (star.get_xdata()[0], star.get_ydata()[0]) == (4, 3)      # query "not" -> key "good"
    with pytest.raises(ValueError, match=r"\(queries, keys\) = \(5, 5\)"):
        draw_attention(ax, np.ones((2, 5, 5)), TOKENS)
    plt.close(fig)


def test_attention_explorer_follows_the_layer_head_and_query():
    from dlcourse.widgets import attention_explorer
    maps = {"layer 0": _attention(seed=0), "layer 1": _attention(seed=1)[::-1].copy()}
    box = attention_explorer(TOKENS, maps)
    assert box.top_keys[0] == "film" and bytes(box.image.value).startswith(b"\x89PNG")
    first = bytes(box.image.value)
    box.query.value = 3
    assert box.top_keys[0] == "good" and "<b>not</b>" in box.children[2].value
    box.head.value = 1
    expected = np.argsort(-maps["layer 0"][1, 3], kind="stable")[:3]
    assert box.top_keys == [TOKENS[j] for j in expected] and bytes(box.image.value) != first
    box.layer.value = "layer 1"                        # layer 1's head 1 is layer 0's head 0
    assert box.top_keys[0] == "good"
    box.head.value = "mean"
    mean = maps["layer 1"].mean(0)[3]
    assert box.top_keys[0] == TOKENS[int(mean.argmax())]
    with pytest.raises(ValueError, match="heads, 5 queries, 5 keys"):
        attention_explorer(TOKENS, {"bad": np.ones((2, 4, 5))})
