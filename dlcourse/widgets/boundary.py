"""A perceptron's decision line and its sliders (chapter 02)."""
from __future__ import annotations

import io
from typing import Sequence

import numpy as np

__all__ = ["draw_linear_boundary", "linear_mistakes", "perceptron_explorer"]


def _as_2d_points(X, y) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X.detach().cpu() if hasattr(X, "detach") else X, dtype=np.float64)
    y = np.asarray(y.detach().cpu() if hasattr(y, "detach") else y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"expected 2-D points X of shape (N, 2), got shape {X.shape}; "
                         "pick two features, e.g. X[:, [0, 2]].")
    if y.shape != (len(X),):
        raise ValueError(f"expected one label per point, shape ({len(X)},), got shape {y.shape}.")
    labels = set(np.unique(y).tolist())
    if not labels <= {0, 1} and not labels <= {-1, 1}:
        raise ValueError(f"expected binary labels in {{0, 1}} or {{-1, +1}}, got {sorted(labels)}; "
                         "keep two classes, e.g. y = (y == 1).astype(int).")
    return X, (y > 0)


def linear_mistakes(X, y, w: Sequence[float], b: float) -> np.ndarray:
    """Boolean mask of the points the rule ``w·x + b > 0 -> positive class`` gets wrong.

    Labels may be {0, 1} or {-1, +1}. A point exactly on the line is predicted negative,
    as scikit-learn's ``predict`` does.
    """
    X, positive = _as_2d_points(X, y)
    w = np.asarray(w, dtype=np.float64).reshape(2)
    return (X @ w + float(b) > 0) != positive


def draw_linear_boundary(ax, X, y, w: Sequence[float], b: float, *, title: bool = True,
                         padding: float = 0.5, feature_names: Sequence[str] = ("$x_1$", "$x_2$"),
                         class_names: Sequence[str] = ("class 0", "class 1")) -> int:
    """Draw points, the line w·x + b = 0 and its positive side on ``ax``; return the mistakes.

    Class 0 (or -1) is blue, class 1 red; misclassified points get a black ring. The
    positive half-plane (w·x + b > 0) is shaded red, and an arrow along ``w`` from the
    line shows which way it points. The axes limits follow the data, not the line.
    feature_names / class_names label the axes and the legend.
    """
    X, positive = _as_2d_points(X, y)
    w = np.asarray(w, dtype=np.float64).reshape(2)
    b = float(b)
    wrong = linear_mistakes(X, positive.astype(int), w, b)
    (x0, y0), (x1, y1) = X.min(0) - padding, X.max(0) + padding

    ax.clear()
    # Shade the positive side: evaluate the score on a coarse grid (exact for a line).
    gx, gy = np.meshgrid(np.linspace(x0, x1, 60), np.linspace(y0, y1, 60))
    score = w[0] * gx + w[1] * gy + b
    ax.contourf(gx, gy, (score > 0).astype(float), levels=[-0.5, 0.5, 1.5],
                colors=["#cfe0ff", "#ffd6d1"], alpha=0.6)
    ax.scatter(X[~positive, 0], X[~positive, 1], c="#3b6fd6", edgecolors="k", s=28, label=class_names[0])
    ax.scatter(X[positive, 0], X[positive, 1], c="#d6453b", edgecolors="k", s=28, label=class_names[1])
    if wrong.any():
        ax.scatter(X[wrong, 0], X[wrong, 1], facecolors="none", edgecolors="k", s=110, linewidths=1.5,
                   label="misclassified")

    norm = float(np.hypot(*w))
    if norm > 0:
        # The line through the point closest to the data's centre, along the direction (-w2, w1).
        centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
        foot = centre - (w @ centre + b) / norm ** 2 * w
        direction = np.array([-w[1], w[0]]) / norm
        span = 2 * float(np.hypot(x1 - x0, y1 - y0))
        ends = np.stack([foot - span * direction, foot + span * direction])
        ax.plot(ends[:, 0], ends[:, 1], "k-", lw=2, label="w·x + b = 0")
        arrow = 0.15 * min(x1 - x0, y1 - y0) * w / norm
        ax.annotate("", xy=foot + arrow, xytext=foot,
                    arrowprops=dict(arrowstyle="-|>", color="k", lw=1.5))
    ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel=feature_names[0], ylabel=feature_names[1])
    ax.legend(loc="best", fontsize=7)
    n_wrong = int(wrong.sum())
    if title:
        ax.set_title(f"w = ({w[0]:.2f}, {w[1]:.2f}), b = {b:.2f}: "
                     f"{n_wrong} of {len(X)} misclassified", fontsize=9)
    return n_wrong


def perceptron_explorer(X, y, w: Sequence[float] = (1.0, -1.0), b: float = 0.0, *,
                        w_range: float | None = None, b_range: float | None = None, step: float = 0.05,
                        feature_names: Sequence[str] = ("$x_1$", "$x_2$"),
                        class_names: Sequence[str] = ("class 0", "class 1")):
    """Sliders w1, w2, b and a plot of the line w·x + b = 0 over the points; returns a VBox.

    w_range / b_range: the sliders' limits (by default wide enough to move the line across
    all the data); feature_names / class_names label the picture.

    The returned widget exposes ``.sliders`` ({"w1", "w2", "b"} -> FloatSlider), ``.mistakes``
    (the current count), ``.image`` (the PNG it shows), ``.figure``, ``.axes`` and
    ``.redraw()``, so it can also be driven from code::

        box = perceptron_explorer(X, y)
        box.sliders["w1"].value = 2.0     # the line moves, box.mistakes updates
    """
    import ipywidgets as widgets
    from matplotlib.figure import Figure

    X, positive = _as_2d_points(X, y)
    labels = positive.astype(int)
    w = np.asarray(w, dtype=np.float64).reshape(2)
    scale = float(np.abs(X).max()) or 1.0
    w_range = float(w_range) if w_range is not None else max(5.0, 2 * float(np.abs(w).max()))
    # A bias large enough to move the line across all the data for |w| up to w_range.
    b_range = float(b_range) if b_range is not None else max(5.0, 2 * abs(float(b)), w_range * scale)

    def slider(name, value, limit):
        return widgets.FloatSlider(value=float(value), min=-limit, max=limit, step=step, description=name,
                                   continuous_update=True, readout_format=".2f",
                                   layout=widgets.Layout(width="320px"))

    sliders = {"w1": slider("w1", w[0], w_range), "w2": slider("w2", w[1], w_range),
               "b": slider("b", b, b_range)}
    status = widgets.HTML()
    # The picture is a PNG in an Image widget: it needs no matplotlib backend in the kernel
    # and no display machinery, so it updates the same way in JupyterLab, in VS Code and in
    # a test. The Figure is not registered with pyplot, so no stray copy is shown either.
    image = widgets.Image(format="png", layout=widgets.Layout(width="500px"))
    fig = Figure(figsize=(5, 4.2), dpi=100)
    ax = fig.add_subplot()
    box = widgets.VBox([widgets.HBox([sliders["w1"], sliders["w2"]]), sliders["b"], status, image])

    def redraw(_change=None) -> int:
        wv = (sliders["w1"].value, sliders["w2"].value)
        bv = sliders["b"].value
        box.mistakes = draw_linear_boundary(ax, X, labels, wv, bv, feature_names=feature_names,
                                            class_names=class_names)
        fig.tight_layout()
        color = "green" if box.mistakes == 0 else "#b03a2e"
        status.value = (f"<b style='color:{color}'>{box.mistakes} of {len(X)} points misclassified</b>"
                        f" &nbsp; line: {wv[0]:.2f}·x1 + {wv[1]:.2f}·x2 + {bv:.2f} = 0")
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        image.value = buffer.getvalue()
        return box.mistakes

    for s in sliders.values():
        s.observe(redraw, names="value")
    box.sliders, box.image, box.figure, box.axes, box.redraw = sliders, image, fig, ax, redraw
    redraw()
    return box
