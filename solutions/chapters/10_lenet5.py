"""Worked solutions to the exercises of chapter 10 · LeNet-5.

Run it from the repository root: ``python solutions/chapters/10_lenet5.py``. Each solution is
checked by the same function the notebook calls (``dlcourse.exercises.chapters.ch10_lenet5``); a wrong
answer raises ``dlcourse.CheckError``.
"""
import torch
import torch.nn.functional as F

import dlcourse
from dlcourse.exercises.chapters import ch10_lenet5 as exercises

dlcourse.setup(seed=0, quiet=True)


# %% Exercise 1: the size of a feature map
#
# Padding adds `padding` pixels on both sides; the k-wide window then fits at the positions
# 0, stride, 2 stride, ... as long as it stays inside: floor((size + 2p - k) / stride) + 1.
def feature_map_size(size, kernel, stride=1, padding=0):
    """Side of the output map."""
    return (size + 2 * padding - kernel) // stride + 1


exercises.check_feature_map_size(feature_map_size)


# %% Exercise 2: the paper's trainable subsampling
#
# The sum of a 2x2 window is 4 times its mean; one coefficient and one bias per map broadcast
# over the batch and the pixels when shaped (1, C, 1, 1).
def subsampling(x, weight, bias):
    """LeNet-5's S2/S4 layer: weight[c] * (sum of each 2x2 window) + bias[c]."""
    window_sum = F.avg_pool2d(x, 2) * 4
    return window_sum * weight.view(1, -1, 1, 1) + bias.view(1, -1, 1, 1)


exercises.check_subsampling(subsampling)


# %% Exercise 3: a confusion matrix
#
# Each (true, predicted) pair is one cell; numbering the cells true * K + predicted turns the
# counting into one bincount, reshaped to K x K (rows: true classes).
def confusion_matrix(predictions, labels, num_classes):
    """counts[i, j]: examples of true class i predicted as class j."""
    cells = labels.long() * num_classes + predictions.long()
    return torch.bincount(cells, minlength=num_classes ** 2).view(num_classes, num_classes)


exercises.check_confusion_matrix(confusion_matrix)
