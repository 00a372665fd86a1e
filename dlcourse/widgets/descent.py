"""Optimizer paths down the Rosenbrock valley and a learning-rate slider (chapter 06)."""
from __future__ import annotations

import io

import numpy as np

__all__ = ["VALLEY", "draw_descent", "descent_explorer"]


VALLEY = dict(xlim=(-2.0, 2.0), ylim=(-1.0, 3.0))  # the window onto the Rosenbrock valley


def draw_descent(ax, paths: dict, *, xlim=VALLEY["xlim"], ylim=VALLEY["ylim"]) -> dict[str, float]:
    """Each path ((steps + 1, 2) points) over log-spaced contours of the Rosenbrock function.

    The minimum (1, 1) is a star; a path that leaves the window or overflows is drawn up to its
    last finite point. Returns each path's final loss (inf for one that diverged).
    """
    import torch

    from ..optim import rosenbrock

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

    from ..optim import trajectory

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
