"""dlcourse.models.mask_rcnn against torchvision's Mask R-CNN: the mask branch's state dict (strict,
both ways), outputs and gradients; maskrcnn_resnet50_fpn's branch size; the mask loss and its
targets equal to roi_heads.maskrcnn_loss / project_masks_on_boxes, empty case included."""
from __future__ import annotations

import pytest
import torch
from torchvision.models.detection import roi_heads
from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor

from dlcourse.data.scenes import scenes
from dlcourse.models.mask_rcnn import MaskHead, mask_loss, mask_targets
from dlcourse.profiling import count_params


class TorchvisionBranch(torch.nn.Module):
    """The two modules maskrcnn_resnet50_fpn puts in its roi_heads, under the names it gives them."""

    def __init__(self, in_channels, layers, dim_reduced, num_classes):
        super().__init__()
        self.mask_head = MaskRCNNHeads(in_channels, layers, 1)
        self.mask_predictor = MaskRCNNPredictor(layers[-1], dim_reduced, num_classes)

    def forward(self, x):
        return self.mask_predictor(self.mask_head(x))


def test_the_default_is_maskrcnn_resnet50_fpns_branch():
    theirs = TorchvisionBranch(256, [256] * 4, 256, 91)
    by_hand = 4 * (3 * 3 * 256 * 256 + 256) + (2 * 2 * 256 * 256 + 256) + (256 * 91 + 91)   # 4 convs, up-conv, logits
    assert count_params(MaskHead()) == count_params(theirs) == by_hand == 2_646_107
    assert list(MaskHead().state_dict()) == list(theirs.state_dict())


@pytest.mark.parametrize("config", [(8, (6, 6), 5, 3), (4, (7,), 3, 10)])
def test_the_branch_equals_torchvision_with_the_same_weights(config):
    in_channels, layers, dim_reduced, classes = config
    torch.manual_seed(0)
    ours, theirs = MaskHead(in_channels, layers, dim_reduced, classes), TorchvisionBranch(in_channels, list(layers),
                                                                                          dim_reduced, classes)
    for p in theirs.parameters():                  # non-zero biases too, so a missing bias would show
        torch.nn.init.normal_(p, std=0.3)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    theirs.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(5, in_channels, 14, 14, requires_grad=True)
    a, b = ours(x), theirs(x)
    assert a.shape == (5, classes, 28, 28)
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    g = torch.randn_like(a)
    (ga,) = torch.autograd.grad(a, x, g, retain_graph=True)
    (gb,) = torch.autograd.grad(b, x, g, retain_graph=True)
    torch.testing.assert_close(ga, gb, rtol=1e-5, atol=1e-6)
    a.backward(g), b.backward(g)
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-5, atol=1e-5, msg=name)


def _scene_masks(n=3):
    data = scenes(n, seed=3, clutter=1)
    return [data[i][1] for i in range(n)]


def test_mask_targets_and_loss_equal_torchvision():
    targets = _scene_masks()
    g = torch.Generator().manual_seed(0)
    proposals, matched = [], []
    for t in targets:
        k = len(t["labels"])
        idx = torch.randint(0, k, (2 * k,), generator=g)
        proposals.append(t["boxes"][idx] + torch.randn(2 * k, 4, generator=g))     # regions near the true boxes
        matched.append(idx)
    masks, labels = [t["masks"] for t in targets], [t["labels"] for t in targets]
    for m, p, i in zip(masks, proposals, matched):
        torch.testing.assert_close(mask_targets(m, p, i, 28), roi_heads.project_masks_on_boxes(m, p, i, 28),
                                   rtol=0, atol=1e-6)
    logits = torch.randn(sum(len(p) for p in proposals), 10, 28, 28, requires_grad=True)
    ours = mask_loss(logits, proposals, masks, labels, matched)
    theirs = roi_heads.maskrcnn_loss(logits, proposals, masks, labels, matched)
    torch.testing.assert_close(ours, theirs, rtol=1e-6, atol=1e-7)
    (ga,) = torch.autograd.grad(ours, logits)
    (gb,) = torch.autograd.grad(theirs, logits)
    torch.testing.assert_close(ga, gb, rtol=1e-6, atol=1e-9)
    true_class = torch.cat([l[i] for l, i in zip(labels, matched)])
    rows = torch.arange(len(ga))
    assert (ga[rows, true_class] != 0).any(dim=(1, 2)).all()         # each region's true-class map learns
    assert (ga[rows, (true_class + 1) % 10] == 0).all()              # and no other class's map does


def test_no_region_gives_a_zero_loss_with_a_gradient():
    logits = torch.randn(0, 10, 28, 28, requires_grad=True)
    empty = [torch.zeros(0, 4)], [torch.zeros(0, 64, 64, dtype=torch.bool)], [torch.zeros(0, dtype=torch.long)]
    loss = mask_loss(logits, empty[0], empty[1], empty[2], [torch.zeros(0, dtype=torch.long)])
    assert loss.item() == 0 and loss.requires_grad
