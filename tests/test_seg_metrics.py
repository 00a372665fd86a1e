"""dlcourse.seg_metrics against torchmetrics (per-class IoU = multiclass_jaccard_index, Dice = the
pixel F1), absent classes left out of the mean, and the scenes' class maps."""
from __future__ import annotations

import pytest
import torch

from dlcourse.data.scenes import collate_semantic, scenes
from dlcourse.seg_metrics import confusion_matrix, dice_loss, dice_per_class, iou_per_class, mean_iou, semantic_target

import torchmetrics.functional.classification as tmf  # noqa: E402


def _maps(seed, n=4, size=24, classes=5, agree=0.7):
    g = torch.Generator().manual_seed(seed)
    target = torch.randint(0, classes, (n, size, size), generator=g)
    noise = torch.randint(0, classes, (n, size, size), generator=g)
    return torch.where(torch.rand(n, size, size, generator=g) < agree, target, noise), target


@pytest.mark.parametrize("seed", range(4))
def test_iou_and_dice_equal_torchmetrics(seed):
    pred, target = _maps(seed)
    theirs_iou = tmf.multiclass_jaccard_index(pred, target, 5, average=None)
    theirs_dice = tmf.multiclass_f1_score(pred, target, 5, average=None, multidim_average="global")
    torch.testing.assert_close(iou_per_class(pred, target, 5).float(), theirs_iou, rtol=0, atol=1e-6)
    torch.testing.assert_close(dice_per_class(pred, target, 5).float(), theirs_dice, rtol=0, atol=1e-6)
    torch.testing.assert_close(torch.tensor(mean_iou(pred, target, 5)).float(),
                               tmf.multiclass_jaccard_index(pred, target, 5, average="macro"), rtol=0, atol=1e-6)
    assert confusion_matrix(pred, target, 5).sum() == pred.numel()


def test_an_absent_class_is_left_out_of_the_mean():
    target = torch.tensor([[0, 0, 1, 1]])
    pred = torch.tensor([[0, 1, 1, 1]])
    per_class = iou_per_class(pred, target, 3)
    assert per_class[:2].tolist() == [0.5, 2 / 3] and per_class[2].isnan()
    assert mean_iou(pred, target, 3) == pytest.approx((0.5 + 2 / 3) / 2)
    with pytest.raises(ValueError, match="argmax"):
        mean_iou(torch.rand(1, 4), target, 3)


def test_a_scene_becomes_a_class_map():
    image, target = scenes(3, seed=0)[1]
    classes = semantic_target(target, image.shape[-2:])
    assert classes.shape == (64, 64) and classes.dtype == torch.long
    assert sorted(set(classes.unique().tolist()) - {0}) == sorted({int(l) + 1 for l in target["labels"]})
    assert (classes > 0).sum() == target["masks"].sum()


def test_dice_loss_of_a_hard_prediction_is_one_minus_the_mean_dice():
    pred, target = _maps(7, classes=5)
    logits = 60.0 * torch.nn.functional.one_hot(pred, 5).movedim(-1, 1).double()
    expected = 1 - dice_per_class(pred, target, 5).mean()
    torch.testing.assert_close(dice_loss(logits, target, smooth=0), expected, rtol=0, atol=1e-12)
    assert dice_loss(60.0 * torch.nn.functional.one_hot(target, 5).movedim(-1, 1).double(), target) < 1e-12


def test_dice_loss_gradient_and_absent_classes():
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(2, 4, 5, 5, generator=g, dtype=torch.float64, requires_grad=True)
    target = torch.randint(0, 3, (2, 5, 5), generator=g)          # class 3 absent: smoothing keeps it finite
    assert torch.autograd.gradcheck(lambda z: dice_loss(z, target), (logits,))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        dice_loss(logits, target[0])


def test_collate_semantic_gives_images_and_class_maps():
    data = scenes(4, seed=0, clutter=2)
    images, maps = collate_semantic([data[i] for i in range(4)])
    assert images.shape == (4, 1, 64, 64) and maps.shape == (4, 64, 64) and maps.dtype == torch.long
    for k in range(4):
        torch.testing.assert_close(maps[k], semantic_target(data[k][1], (64, 64)))
