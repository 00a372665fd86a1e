"""Worked solutions to the exercises of chapter 16 · Semantic segmentation.

Run it from the repository root: ``python solutions/chapters/16_segmentation.py``. Each solution
is checked by the same function the notebook calls (``dlcourse.exercises.chapters.ch16_segmentation``);
a wrong answer raises ``dlcourse.CheckError``.
"""
import torch
import torch.nn.functional as F

import dlcourse
from dlcourse.exercises.chapters import ch16_segmentation as exercises

dlcourse.setup(seed=0, quiet=True)


# %% Exercise 1: IoU per class
#
# One confusion matrix over every pixel (bincount of true * C + predicted); its diagonal is the
# true positives, column sums minus it the false positives, row sums minus it the false
# negatives. 0 / 0 stays NaN: a class in neither map has no IoU.
def iou_per_class(pred, target, num_classes):
    index = target.reshape(-1) * num_classes + pred.reshape(-1)
    cm = torch.bincount(index, minlength=num_classes ** 2).reshape(num_classes, num_classes).double()
    tp = cm.diagonal()
    return tp / (cm.sum(0) + cm.sum(1) - tp)


exercises.check_iou_per_class(iou_per_class)


# %% Exercise 2: the soft Dice loss
#
# Probabilities instead of the argmax, so that the loss has a gradient; sums over the batch and
# the pixels, one ratio per class, each smoothed by +1 on both sides, averaged over classes.
def soft_dice_loss(logits, target):
    probs = logits.softmax(1)
    onehot = F.one_hot(target, logits.shape[1]).movedim(-1, 1).to(probs.dtype)
    inter = (probs * onehot).sum((0, 2, 3))
    total = probs.sum((0, 2, 3)) + onehot.sum((0, 2, 3))
    return 1 - ((2 * inter + 1) / (total + 1)).mean()


exercises.check_soft_dice_loss(soft_dice_loss)


# %% Exercise 3: the size the paper's U-Net gives
#
# Down: two unpadded 3x3 convolutions (-4), then a 2x2 max-pool (/2) except at the bottom.
# Up: a 2x2 up-convolution (x2), then two 3x3 convolutions (-4).
def valid_unet_output(size, levels):
    for level in range(levels):
        size -= 4
        if size <= 0:
            raise ValueError(f"the side falls to {size} at level {level}")
        if level < levels - 1:
            if size % 2:
                raise ValueError(f"a max-pool meets the odd side {size} at level {level}")
            size //= 2
    for _ in range(levels - 1):
        size = 2 * size - 4
    return size


exercises.check_valid_unet_output(valid_unet_output)
