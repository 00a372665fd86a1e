"""3x3 image filters applied with dlcourse.conv, and the filter explorer (chapter 09)."""
from __future__ import annotations

import io

import numpy as np

__all__ = ["FILTERS", "apply_filter", "draw_filtered", "filter_explorer"]


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

    from ..conv import conv2d

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
