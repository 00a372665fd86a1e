"""Pictures every chapter needs: training curves, image grids, confusion matrices,
2-D decision boundaries, and the live loss plot the training loop draws.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.ticker import MaxNLocator

__all__ = ["plot_history", "show_images", "confusion_matrix", "plot_confusion_matrix",
           "plot_decision_boundary", "LivePlot", "in_notebook"]


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where display handles can update a figure in place)."""
    try:
        from IPython import get_ipython
        shell = get_ipython()
        return shell is not None and "IPKernelApp" in shell.config
    except Exception:
        return False


def _to_numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().float().numpy() if x.is_floating_point() else x.detach().cpu().numpy()
    return np.asarray(x)


def plot_history(history: Mapping[str, Sequence[float]], axes=None, title: str | None = None):
    """Loss curves on the left, every other metric (e.g. accuracy) on the right.

    ``history`` maps names like "train_loss", "val_accuracy" to one value per epoch.
    """
    losses = {k: v for k, v in history.items() if k.endswith("loss") and len(v)}
    others = {k: v for k, v in history.items()
              if not k.endswith(("loss", "time")) and k not in ("epoch", "lr") and not k.startswith("lr_") and len(v)}
    if axes is None:
        fig, axes = plt.subplots(1, 2 if others else 1, figsize=(10 if others else 5, 3.2), squeeze=False)
        axes = axes[0]
    for name, values in losses.items():
        axes[0].plot(range(1, len(values) + 1), values, marker="o", ms=3, label=name)
    axes[0].set(xlabel="epoch", ylabel="loss")
    axes[0].legend()
    if others and len(axes) > 1:
        for name, values in others.items():
            axes[1].plot(range(1, len(values) + 1), values, marker="o", ms=3, label=name)
        axes[1].set(xlabel="epoch", ylabel="metric")
        axes[1].legend()
    for ax in axes[:2 if others else 1]:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))    # epochs are whole: no tick at 1.5
    if title:
        axes[0].figure.suptitle(title)
    axes[0].figure.tight_layout()
    return axes[0].figure


def show_images(images, labels: Sequence | None = None, *, ncols: int = 8, classes: Sequence[str] | None = None,
                predictions: Sequence | None = None, title: str | None = None, cmap: str = "gray",
                size: float = 1.3):
    """A grid of images: (N, H, W), (N, 1, H, W) or (N, 3, H, W) tensors/arrays, or (N, H, W, 3).

    Values are rescaled per image to [0, 1], so normalised inputs display correctly.
    Wrong predictions (when given) are titled in red.
    """
    imgs = _to_numpy(images).astype(np.float32)
    if imgs.ndim == 4 and imgs.shape[1] in (1, 3):
        imgs = imgs.transpose(0, 2, 3, 1)
    if imgs.ndim == 4 and imgs.shape[-1] == 1:
        imgs = imgs[..., 0]
    if imgs.ndim not in (3, 4):
        raise ValueError(f"show_images expects a batch of images (N, H, W) or (N, C, H, W); "
                         f"got shape {imgs.shape}. Add a batch dimension with x[None] for one image.")
    n = len(imgs)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.3 if title else 0)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        img = imgs[i]
        lo, hi = img.min(), img.max()
        ax.imshow((img - lo) / (hi - lo + 1e-8), cmap=cmap if img.ndim == 2 else None)
        if labels is not None:
            name = lambda k: classes[int(k)] if classes is not None else str(int(k))
            text, color = name(labels[i]), "black"
            if predictions is not None:
                text = f"{name(predictions[i])} ({text})" if int(predictions[i]) != int(labels[i]) else text
                color = "red" if int(predictions[i]) != int(labels[i]) else "black"
            ax.set_title(text, fontsize=8, color=color)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """counts[i, j] = number of examples of true class i predicted as class j."""
    t, p = _to_numpy(y_true).astype(np.int64).ravel(), _to_numpy(y_pred).astype(np.int64).ravel()
    k = num_classes or int(max(t.max(initial=0), p.max(initial=0)) + 1)
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k)


def plot_confusion_matrix(y_true, y_pred, classes: Sequence[str] | None = None, normalize: bool = False,
                          ax=None, title: str = "confusion matrix"):
    """Rows: true class; columns: predicted class. normalize=True shows each row as fractions."""
    k = len(classes) if classes is not None else None
    cm = confusion_matrix(y_true, y_pred, k)
    shown = cm / cm.sum(axis=1, keepdims=True).clip(min=1) if normalize else cm
    if ax is None:
        fig, ax = plt.subplots(figsize=(0.45 * len(cm) + 2.5, 0.45 * len(cm) + 2))
    im = ax.imshow(shown, cmap="Blues")
    names = classes if classes is not None else [str(i) for i in range(len(cm))]
    ax.set(xticks=range(len(cm)), yticks=range(len(cm)), xticklabels=names, yticklabels=names,
           xlabel="predicted", ylabel="true", title=title)
    plt.setp(ax.get_xticklabels(), rotation=45, ha="right")
    if len(cm) <= 12:
        for i in range(len(cm)):
            for j in range(len(cm)):
                ax.text(j, i, f"{shown[i, j]:.2f}" if normalize else str(cm[i, j]), ha="center", va="center",
                        fontsize=7, color="white" if shown[i, j] > shown.max() / 2 else "black")
    ax.figure.colorbar(im, ax=ax, fraction=0.046)
    ax.figure.tight_layout()
    return ax.figure


def plot_decision_boundary(predict: Callable[[np.ndarray], np.ndarray], X, y, ax=None, resolution: int = 200,
                           padding: float = 0.5, title: str | None = None):
    """Colour the plane by ``predict`` (a function of an (M, 2) array giving M labels) and
    scatter the points ``X`` (N, 2) coloured by ``y``."""
    X, y = _to_numpy(X), _to_numpy(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary needs 2-D points X of shape (N, 2); got {X.shape}. "
                         "Pick two features or project the data first.")
    (x0, y0), (x1, y1) = X.min(0) - padding, X.max(0) + padding
    gx, gy = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    grid = np.c_[gx.ravel(), gy.ravel()].astype(np.float32)
    z = _to_numpy(predict(grid)).reshape(gx.shape)
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.contourf(gx, gy, z, alpha=0.3, cmap="coolwarm", levels=np.unique(z).size if np.unique(z).size > 1 else 2)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", edgecolors="k", s=25)
    ax.set(xlim=(x0, x1), ylim=(y0, y1))
    if title:
        ax.set_title(title)
    return ax.figure


class LivePlot:
    """A loss/metric plot that redraws in place in a notebook after every epoch.

    Outside a notebook (scripts, tests) it draws nothing until ``close()``, which returns
    the final static figure.
    """

    def __init__(self, title: str | None = None, live: bool | None = None):
        self.title = title
        self.live = in_notebook() if live is None else live
        self._handle = None

    def update(self, history: Mapping[str, Sequence[float]]) -> None:
        if not self.live:
            return
        from IPython.display import display
        fig = plot_history(history, title=self.title)
        if self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)
        plt.close(fig)

    def close(self, history: Mapping[str, Sequence[float]]):
        """Draw the final figure (in a notebook: replace the live one) and return it."""
        fig = plot_history(history, title=self.title)
        if self._handle is not None:
            self._handle.update(fig)
            plt.close(fig)
        return fig
