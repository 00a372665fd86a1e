"""Checks of chapter 10's exercises (LeNet-5): feature-map sizes, the trainable subsampling layer,
a confusion matrix."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from dlcourse.checks import check_close, check_like_torch
from dlcourse.exercises import not_attempted

__all__ = ["SIZE_CASES", "check_feature_map_size", "check_subsampling", "check_confusion_matrix"]

# (size, kernel, stride, padding): LeNet's layers, then strides that do not divide evenly
SIZE_CASES = [(32, 5, 1, 0), (28, 5, 1, 2), (28, 2, 2, 0), (10, 2, 2, 0), (5, 5, 1, 0), (224, 11, 4, 2),
              (55, 3, 2, 0), (27, 5, 1, 2), (7, 3, 2, 1), (9, 4, 3, 1), (13, 3, 2, 0)]


def check_feature_map_size(feature_map_size: Callable) -> None:
    """Exercise 1: feature_map_size(size, kernel, stride, padding) == the side F.conv2d gives."""
    __tracebackhide__ = True
    if not_attempted(feature_map_size(32, 5, 1, 0), 1,
                     "make feature_map_size(size, kernel, stride, padding) return the output side."):
        return
    got = torch.tensor([float(feature_map_size(*case)) for case in SIZE_CASES])
    expected = torch.tensor([float(F.conv2d(torch.zeros(1, 1, s, s), torch.zeros(1, 1, k, k), stride=st,
                                            padding=p).shape[-1]) for s, k, st, p in SIZE_CASES])
    check_close(f"feature_map_size on {len(SIZE_CASES)} layers (LeNet's, AlexNet's, odd strides)", got, expected,
                atol=0, rtol=0,
                hint="The window fits floor((size + 2 padding - kernel) / stride) + 1 times: padding adds to both "
                     "sides, and a stride that does not divide evenly drops the last partial step (floor, "
                     "i.e. // in Python).")


def check_subsampling(subsampling: Callable) -> None:
    """Exercise 2: subsampling(x, weight, bias) == dlcourse.models.lenet.Subsampling (S2 of the paper)."""
    __tracebackhide__ = True
    from dlcourse.models.lenet import Subsampling
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 6, 14, 14, generator=g)
    reference = Subsampling(6)
    with torch.no_grad():
        reference.weight.copy_(torch.randn(6, generator=g))
        reference.bias.copy_(torch.randn(6, generator=g))
    if not_attempted(subsampling(x.clone(), reference.weight.detach(), reference.bias.detach()), 2,
                     "make subsampling(x, weight, bias) add each 2x2 window, scale it by its map's weight and add "
                     "its map's bias."):
        return

    def theirs(x, weight, bias):                      # the reference layer, run with the inputs as its parameters
        return torch.func.functional_call(reference, {"weight": weight, "bias": bias}, (x,))

    check_like_torch("subsampling (S2)", subsampling, theirs, x, reference.weight.detach(), reference.bias.detach(),
                     hint="Each unit is weight[c] * (sum of its 2x2 window) + bias[c]: the sum, 4x the average "
                          "(F.avg_pool2d(x, 2) * 4), and one weight and one bias per map, shaped (1, C, 1, 1) "
                          "to broadcast over the batch and the pixels.")


def check_confusion_matrix(confusion_matrix: Callable) -> None:
    """Exercise 3: confusion_matrix(predictions, labels, num_classes) == scikit-learn's (rows: true labels)."""
    __tracebackhide__ = True
    from sklearn.metrics import confusion_matrix as sklearn_confusion_matrix
    g = torch.Generator().manual_seed(1)
    labels = torch.randint(0, 10, (500,), generator=g)
    wrong = torch.rand(500, generator=g) < 0.3
    predictions = torch.where(wrong, torch.randint(0, 10, (500,), generator=g), labels)
    predictions[labels == 9] = 4                       # an asymmetric mistake: 9 read as 4, never 4 as 9
    if not_attempted(confusion_matrix(predictions, labels, 10), 3,
                     "make confusion_matrix(predictions, labels, num_classes) count each (true, predicted) pair."):
        return
    got = torch.as_tensor(confusion_matrix(predictions, labels, 10)).float()
    expected = torch.from_numpy(sklearn_confusion_matrix(labels.numpy(), predictions.numpy(),
                                                         labels=list(range(10)))).float()
    check_close("confusion_matrix (500 predictions, 10 classes)", got, expected, atol=0, rtol=0,
                hint="Entry [i, j] counts the images of true class i predicted as j: rows are the true labels "
                     "(transposed, the 9-read-as-4 column becomes a row). One vectorised way: "
                     "torch.bincount(labels * num_classes + predictions, minlength=num_classes ** 2)"
                     ".view(num_classes, num_classes).")
