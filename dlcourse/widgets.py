"""Interactive explorers for the notebooks, built on ipywidgets and matplotlib.

Each widget keeps its drawing in a pure function (an ``Axes`` in, numbers out), so the
picture can be tested without a browser and reused in static figures; the widget only
wires sliders to that function.

- ``draw_linear_boundary(ax, X, y, w, b)``: points, the line w·x + b = 0, the side it calls
  positive, and the misclassified points; returns how many there are.
- ``perceptron_explorer(X, y, w, b)``: sliders for w1, w2 and b that move that line
  (chapter 02).
- ``draw_descent(ax, paths)``: optimizer paths over the contours of the Rosenbrock valley;
  returns each path's final loss.
- ``descent_explorer(optimizers)``: an optimizer menu and a learning-rate slider that redraw
  its path down the valley (chapter 06).
- ``apply_filter(image, kernel)``, ``draw_filtered(axes, image, kernel)``: a 3x3 kernel applied
  to a grey image with dlcourse.conv.conv2d, drawn as input | kernel | output.
- ``filter_explorer(image)``: a menu of classic filters (blur, sharpen, Sobel...) and an editable
  3x3 kernel, applied to the image (chapter 09).
- ``draw_attention(ax, weights, tokens)``: a (queries, keys) heatmap with the tokens on its axes;
  returns each query's strongest key.
- ``attention_explorer(tokens, weights)``: layer and head menus and a query slider over a
  sentence's attention maps (chapter 19).
"""
from __future__ import annotations

import io
from typing import Sequence

import numpy as np

__all__ = ["draw_linear_boundary", "linear_mistakes", "perceptron_explorer", "draw_descent", "descent_explorer",
           "FILTERS", "apply_filter", "draw_filtered", "filter_explorer", "draw_attention", "attention_explorer"]


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


# ----------------------------------------------------------------------------- chapter 06
VALLEY = dict(xlim=(-2.0, 2.0), ylim=(-1.0, 3.0))  # the window onto the Rosenbrock valley


def draw_descent(ax, paths: dict, *, xlim=VALLEY["xlim"], ylim=VALLEY["ylim"]) -> dict[str, float]:
    """Each path ((steps + 1, 2) points) over log-spaced contours of the Rosenbrock function.

    The minimum (1, 1) is a star; a path that leaves the window or overflows is drawn up to its
    last finite point. Returns each path's final loss (inf for one that diverged).
    """
    import torch

    from .optim import rosenbrock

    ax.clear()
    gx, gy = np.meshgrid(np.linspace(*xlim, 200), np.linspace(*ylim, 200))
    surface = rosenbrock(torch.from_numpy(np.stack([gx, gy], axis=-1))).numpy()
    ax.contour(gx, gy, np.log10(surface + 1e-3), levels=20, cmap="Greys", linewidths=0.6)
    ax.plot(1, 1, "*", color="gold", markersize=14, markeredgecolor="k", label="minimum (1, 1)")
    finals = {}
    for name, path in paths.items():
        path = np.asarray(path, dtype=np.float64)
        finite = np.isfinite(path).all(axis=1)
        shown = path[: int(np.argmin(finite)) if not finite.all() else len(path)]
        loss = float(rosenbrock(torch.from_numpy(path[-1]))) if finite.all() else float("inf")
        finals[name] = loss if np.isfinite(loss) else float("inf")
        ax.plot(shown[:, 0], shown[:, 1], ".-", markersize=2, lw=1, label=f"{name}: loss {finals[name]:.2g}")
        ax.plot(*shown[0], "ko", markersize=4)
    ax.set(xlim=xlim, ylim=ylim, xlabel="x", ylabel="y")
    ax.legend(loc="upper left", fontsize=7)
    return finals


def descent_explorer(optimizers: dict, *, steps: int = 300, start=(-1.5, 2.0)):
    """A menu of optimizers and a log-scale learning-rate slider; shows the chosen one's path.

    optimizers: {name: (optimizer class, {hyper-parameters, with a starting "lr"})}. Choosing
    an optimizer moves the slider to its starting lr. The returned VBox exposes ``.menu``,
    ``.lr`` (the slider), ``.final_loss``, ``.image`` and ``.redraw()``, so it can be driven
    from code.
    """
    import ipywidgets as widgets
    import torch
    from matplotlib.figure import Figure

    from .optim import trajectory

    names = list(optimizers)
    menu = widgets.Dropdown(options=names, value=names[0], description="optimizer")
    lr = widgets.FloatLogSlider(value=optimizers[names[0]][1]["lr"], base=10, min=-5, max=0.5, step=0.05,
                                description="lr", readout_format=".1e", continuous_update=False,
                                layout=widgets.Layout(width="420px"))
    status = widgets.HTML()
    image = widgets.Image(format="png", layout=widgets.Layout(width="480px"))
    fig = Figure(figsize=(5, 4.2), dpi=100)  # not registered with pyplot: no stray copy (see perceptron_explorer)
    ax = fig.add_subplot()
    box = widgets.VBox([widgets.HBox([menu, lr]), status, image])

    def redraw(_change=None) -> float:
        cls, hyper = optimizers[menu.value]
        with np.errstate(all="ignore"):
            path = trajectory(cls, "rosenbrock", steps, params=[torch.tensor(start)], **{**hyper, "lr": lr.value})[0]
        box.final_loss = draw_descent(ax, {menu.value: path.numpy()})[menu.value]
        ax.set_title(f"{menu.value}, lr = {lr.value:.1e}, {steps} steps", fontsize=9)
        fig.tight_layout()
        verdict = "diverged" if not np.isfinite(box.final_loss) else f"final loss {box.final_loss:.3g}"
        status.value = f"<b>{verdict}</b> (the minimum is 0 at (1, 1))"
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        image.value = buffer.getvalue()
        return box.final_loss

    def choose(_change=None) -> None:
        lr.unobserve(redraw, names="value")
        lr.value = optimizers[menu.value][1]["lr"]
        lr.observe(redraw, names="value")
        redraw()

    menu.observe(choose, names="value")
    lr.observe(redraw, names="value")
    box.menu, box.lr, box.image, box.figure, box.redraw = menu, lr, image, fig, redraw
    redraw()
    return box


# ----------------------------------------------------------------------------- chapter 09
# Classic 3x3 image filters (cross-correlation kernels, as conv2d applies them).
FILTERS = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "box blur": [[1 / 9] * 3] * 3,
    "Gaussian blur": [[1 / 16, 2 / 16, 1 / 16], [2 / 16, 4 / 16, 2 / 16], [1 / 16, 2 / 16, 1 / 16]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "edges (Laplacian)": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "Sobel x (vertical edges)": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "Sobel y (horizontal edges)": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
}


def apply_filter(image, kernel) -> np.ndarray:
    """The 3x3 ``kernel`` slid over a 2-D ``image`` by dlcourse.conv.conv2d, zero padding 1: same size out."""
    import torch

    from .conv import conv2d

    img = torch.as_tensor(np.asarray(image.detach().cpu() if hasattr(image, "detach") else image, dtype=np.float32))
    img = img.squeeze()
    if img.dim() != 2:
        raise ValueError(f"apply_filter: expected one grey image (H, W) (or (1, H, W)), got shape "
                         f"{tuple(np.shape(image))}; pick one, e.g. images[0, 0].")
    k = torch.as_tensor(np.asarray(kernel, dtype=np.float32))
    if k.shape != (3, 3):
        raise ValueError(f"apply_filter: expected a 3x3 kernel, got shape {tuple(k.shape)}.")
    return conv2d(img[None, None], k[None, None], padding=1)[0, 0].numpy()


def draw_filtered(axes, image, kernel, *, name: str = "") -> np.ndarray:
    """Three panels on ``axes``: the image, the kernel with its numbers, the filtered image; returns the latter.

    The result is drawn on a scale symmetric about 0 (red positive, blue negative) when it has
    negative values (edge filters), in greys otherwise.
    """
    image = np.asarray(image.detach().cpu() if hasattr(image, "detach") else image, dtype=np.float32).squeeze()
    kernel = np.asarray(kernel, dtype=np.float32)
    out = apply_filter(image, kernel)
    ax_in, ax_k, ax_out = axes
    for ax in axes:
        ax.clear()
        ax.set_xticks([]), ax.set_yticks([])
    ax_in.imshow(image, cmap="gray")
    ax_in.set_title("input", fontsize=9)
    bound = float(np.abs(kernel).max()) or 1.0
    ax_k.imshow(kernel, cmap="coolwarm", vmin=-bound, vmax=bound)
    for (r, c), v in np.ndenumerate(kernel):
        ax_k.text(c, r, f"{v:.2g}", ha="center", va="center", fontsize=10)
    ax_k.set_title(f"kernel{': ' + name if name else ''}", fontsize=9)
    if out.min() < 0:
        top = float(np.abs(out).max()) or 1.0
        ax_out.imshow(out, cmap="coolwarm", vmin=-top, vmax=top)
    else:
        ax_out.imshow(out, cmap="gray")
    ax_out.set_title(f"output: min {out.min():.2g}, max {out.max():.2g}", fontsize=9)
    return out


def filter_explorer(image, kernel: str = "Sobel x (vertical edges)", *, filters: dict | None = None):
    """A menu of classic 3x3 filters and a 3x3 grid of editable numbers, applied to ``image`` (chapter 09).

    Choosing a filter fills the grid; editing a number redraws with the hand-edited kernel.
    The returned VBox exposes ``.menu``, ``.cells`` (3x3 FloatText), ``.kernel`` (the current
    3x3 array), ``.result`` (the filtered image), ``.image`` (the PNG it shows) and ``.redraw()``.
    """
    import ipywidgets as widgets
    from matplotlib.figure import Figure

    filters = dict(FILTERS if filters is None else filters)
    if kernel not in filters:
        raise ValueError(f"filter_explorer: unknown filter {kernel!r}; choose one of {sorted(filters)}.")
    menu = widgets.Dropdown(options=list(filters) + ["(hand-edited)"], value=kernel, description="filter")
    cells = [[widgets.FloatText(value=float(filters[kernel][r][c]), step=0.5, layout=widgets.Layout(width="70px"))
              for c in range(3)] for r in range(3)]
    grid = widgets.VBox([widgets.HBox(row) for row in cells])
    image_widget = widgets.Image(format="png", layout=widgets.Layout(width="720px"))
    fig = Figure(figsize=(9, 3.2), dpi=80)   # not registered with pyplot: no stray copy (see perceptron_explorer)
    axes = fig.subplots(1, 3)
    box = widgets.VBox([widgets.HBox([menu, grid]), image_widget])
    filling = []                                # True while the menu writes into the cells

    def redraw(_change=None) -> np.ndarray:
        box.kernel = np.array([[cell.value for cell in row] for row in cells], dtype=np.float32)
        box.result = draw_filtered(axes, image, box.kernel, name=menu.value)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        image_widget.value = buffer.getvalue()
        return box.result

    def choose(_change=None) -> None:
        if menu.value not in filters:
            return
        filling.append(True)
        for r in range(3):
            for c in range(3):
                cells[r][c].value = float(filters[menu.value][r][c])
        filling.pop()
        redraw()

    def edited(_change=None) -> None:
        if filling:
            return
        values = [[cell.value for cell in row] for row in cells]
        matches = [name for name, k in filters.items() if np.allclose(values, k)]
        if menu.value not in matches:           # no longer the named filter: say so
            menu.unobserve(choose, names="value")
            menu.value = matches[0] if matches else "(hand-edited)"
            menu.observe(choose, names="value")
        redraw()

    menu.observe(choose, names="value")
    for row in cells:
        for cell in row:
            cell.observe(edited, names="value")
    box.menu, box.cells, box.image, box.figure, box.redraw = menu, cells, image_widget, fig, redraw
    redraw()
    return box

    redraw()
    return box


# ----------------------------------------------------------------------------- chapter 19
def _as_weights(weights, n_queries: int, n_keys: int) -> np.ndarray:
    w = np.asarray(weights.detach().float().cpu() if hasattr(weights, "detach") else weights, dtype=np.float64)
    if w.ndim != 2 or w.shape != (n_queries, n_keys):
        raise ValueError(f"expected attention weights of shape (queries, keys) = ({n_queries}, {n_keys}), got "
                         f"{w.shape}; pick one example and one head, e.g. weights[0, head].")
    return w


def draw_attention(ax, weights, query_tokens: Sequence[str], key_tokens: Sequence[str] | None = None, *,
                   highlight: int | None = None, title: str | None = None) -> np.ndarray:
    """A heatmap of (queries, keys) attention weights, tokens on both axes; returns each query's top key.

    Row i is what query token i attends to (rows sum to one). ``highlight`` outlines one query's
    row and marks its strongest key.
    """
    from matplotlib.patches import Rectangle

    key_tokens = query_tokens if key_tokens is None else key_tokens
    w = _as_weights(weights, len(query_tokens), len(key_tokens))
    ax.clear()
    ax.imshow(w, cmap="viridis", vmin=0.0, vmax=max(float(w.max()), 1e-9), aspect="auto")
    ax.set_xticks(range(len(key_tokens)), key_tokens, rotation=90, fontsize=8)
    ax.set_yticks(range(len(query_tokens)), query_tokens, fontsize=8)
    ax.set(xlabel="key (attended to)", ylabel="query (attending)")
    top = w.argmax(axis=1)
    if highlight is not None:
        ax.add_patch(Rectangle((-0.5, highlight - 0.5), len(key_tokens), 1, fill=False, edgecolor="red", lw=2))
        ax.plot(top[highlight], highlight, "r*", markersize=10)
    if title:
        ax.set_title(title, fontsize=9)
    return top


def attention_explorer(tokens: Sequence[str], weights: dict, key_tokens: Sequence[str] | None = None):
    """Menus for the layer and the head, a slider for the query token; shows that head's attention.

    weights: {layer name: (heads, queries, keys)} for one example (e.g. what
    ``dlcourse.models.capture_attention`` recorded, indexed at the example). The head menu also
    offers "mean" (the average over heads, what nn.MultiheadAttention returns by default). The
    returned VBox exposes ``.layer``, ``.head``, ``.query``, ``.top_keys`` (the chosen query's
    three strongest keys, strongest first), ``.image`` and ``.redraw()``.
    """
    import ipywidgets as widgets
    from matplotlib.figure import Figure

    key_tokens = list(tokens if key_tokens is None else key_tokens)
    tokens = list(tokens)
    tables = {name: np.asarray(w.detach().float().cpu() if hasattr(w, "detach") else w) for name, w in weights.items()}
    for name, w in tables.items():
        if w.ndim != 3 or w.shape[1:] != (len(tokens), len(key_tokens)):
            raise ValueError(f"attention_explorer: weights[{name!r}] must be (heads, {len(tokens)} queries, "
                             f"{len(key_tokens)} keys) for one example; got {w.shape}.")
    names = list(tables)
    heads = next(iter(tables.values())).shape[0]
    layer = widgets.Dropdown(options=names, value=names[0], description="layer")
    head = widgets.Dropdown(options=["mean", *range(heads)], value=0, description="head")
    query = widgets.IntSlider(value=0, min=0, max=len(tokens) - 1, description="query", continuous_update=False)
    status = widgets.HTML()
    image = widgets.Image(format="png", layout=widgets.Layout(width="520px"))
    size = 2.5 + 0.32 * max(len(tokens), len(key_tokens))
    fig = Figure(figsize=(size, size), dpi=90)  # not registered with pyplot: no stray copy (see perceptron_explorer)
    ax = fig.add_subplot()
    box = widgets.VBox([widgets.HBox([layer, head]), query, status, image])

    def redraw(_change=None) -> list[str]:
        w = tables[layer.value]
        w = w.mean(axis=0) if head.value == "mean" else w[head.value]
        draw_attention(ax, w, tokens, key_tokens, highlight=query.value, title=f"{layer.value}, head {head.value}")
        fig.tight_layout()
        order = np.argsort(-w[query.value], kind="stable")[:3]
        box.top_keys = [key_tokens[j] for j in order]
        status.value = (f"<b>{tokens[query.value]}</b> attends most to: " +
                        ", ".join(f"{key_tokens[j]} ({w[query.value, j]:.2f})" for j in order))
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        image.value = buffer.getvalue()
        return box.top_keys

    for control in (layer, head, query):
        control.observe(redraw, names="value")
    box.layer, box.head, box.query, box.image, box.figure, box.redraw = layer, head, query, image, fig, redraw
    redraw()
    return box
