"""Plot helpers return figures, agree with scikit-learn, and reject bad shapes clearly."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from dlcourse import plot
from dlcourse.train import History


def test_confusion_matrix_equals_sklearn():
    rng = np.random.default_rng(0)
    t, p = rng.integers(0, 5, 300), rng.integers(0, 5, 300)
    assert np.array_equal(plot.confusion_matrix(t, p, 5), sk_confusion_matrix(t, p, labels=range(5)))
    fig = plot.plot_confusion_matrix(torch.from_numpy(t), torch.from_numpy(p), classes=list("abcde"), normalize=True)
    assert len(fig.axes) == 2  # the matrix and its colour bar


def test_show_images_accepts_the_usual_layouts_and_rejects_others():
    for images in (torch.rand(6, 28, 28), torch.rand(6, 1, 28, 28), torch.rand(6, 3, 32, 32), np.random.rand(6, 32, 32, 3)):
        fig = plot.show_images(images, labels=[0, 1, 2, 3, 4, 5], predictions=[0, 1, 2, 3, 4, 0], ncols=3)
        assert len(fig.axes) == 6
    assert fig.axes[5].title.get_color() == "red"  # the wrong prediction
    with pytest.raises(ValueError, match="batch of images"):
        plot.show_images(torch.rand(28))


def test_decision_boundary_and_history():
    X = np.array([[0, 0], [1, 1], [0, 1], [1, 0]], dtype=np.float32)
    fig = plot.plot_decision_boundary(lambda g: (g[:, 0] > 0.5).astype(int), X, [0, 1, 0, 1], resolution=20)
    assert fig.axes
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        plot.plot_decision_boundary(lambda g: g[:, 0], np.zeros((4, 3)), [0, 1, 0, 1])
    h = History()
    h.log(train_loss=1.0, val_loss=1.2, val_accuracy=0.5)
    h.log(train_loss=0.5, val_loss=0.7, val_accuracy=0.8)
    fig = plot.plot_history(h)
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 2
    for ax in fig.axes:                     # two epochs: ticks at whole epochs only, never 1.5
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
    h.log(lr=0.1, lr_g=0.1, lr_d=0.2)  # learning rates (one per optimizer of a GAN) are not metrics
    assert len(plot.plot_history(h).axes[1].lines) == 1


def test_live_plot_is_static_outside_a_notebook():
    live = plot.LivePlot(live=None)
    assert not live.live
    live.update({"train_loss": [1.0]})
    assert live.close({"train_loss": [1.0, 0.5]}) is not None
