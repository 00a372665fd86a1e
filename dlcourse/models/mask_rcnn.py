"""The mask branch of Mask R-CNN (He, Gkioxari, Dollár & Girshick 2017), chapter 16.

Mask R-CNN adds one branch to Faster R-CNN's RoI head: for every region, RoIAlign crops the
feature map to 14x14, four 3x3 conv-ReLU layers and a 2x2 transposed convolution make it 28x28,
and a 1x1 convolution gives one mask logit map *per class*. The loss reads only the map of the
region's true class (binary cross-entropy against the true mask cropped to the same region by
RoIAlign), so classes do not compete for a pixel: the classifier decides the class, the mask
branch only the shape.

``MaskHead`` holds torchvision's ``roi_heads.mask_head`` and ``roi_heads.mask_predictor`` under
the same state-dict keys (``mask_head.0.0.weight``, ``mask_predictor.conv5_mask.weight``, ...);
``MaskHead()`` is maskrcnn_resnet50_fpn's branch (2,646,107 weights). ``mask_loss`` takes
torchvision's ``maskrcnn_loss`` arguments and gives its value; ``mask_targets`` crops with
``torchvision.ops.roi_align``, which chapter 15 proved equal to the course's ``box_ops.roi_align``:
the targets are cut for every batch, and the course's Python loop over regions took 40 ms for
80 regions against the library's 1.2 ms. ``tests/test_mask_rcnn.py`` holds all three equal.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import roi_align

__all__ = ["MaskHead", "mask_targets", "mask_loss", "masks_of_class"]


class MaskHead(nn.Module):
    """(K, in_channels, 14, 14) RoI features -> (K, num_classes, 28, 28) mask logits."""

    def __init__(self, in_channels: int = 256, layers=(256, 256, 256, 256), dim_reduced: int = 256,
                 num_classes: int = 91):
        super().__init__()
        blocks, c = [], in_channels
        for width in layers:               # torchvision's Conv2dNormActivation without a norm: conv (bias), ReLU
            blocks.append(nn.Sequential(nn.Conv2d(c, width, 3, padding=1), nn.ReLU(inplace=True)))
            c = width
        self.mask_head = nn.Sequential(*blocks)
        self.mask_predictor = nn.Sequential(OrderedDict([
            ("conv5_mask", nn.ConvTranspose2d(c, dim_reduced, 2, stride=2)),   # 14 -> 28
            ("relu", nn.ReLU(inplace=True)),
            ("mask_fcn_logits", nn.Conv2d(dim_reduced, num_classes, 1)),
        ]))
        for name, p in self.named_parameters():     # the paper's (and torchvision's) He initialisation
            if name.endswith("weight"):
                nn.init.kaiming_normal_(p, mode="fan_out", nonlinearity="relu")
            else:
                nn.init.zeros_(p)

    def forward(self, roi_features: torch.Tensor) -> torch.Tensor:
        return self.mask_predictor(self.mask_head(roi_features))


def mask_targets(masks: torch.Tensor, boxes: torch.Tensor, matched: torch.Tensor, size: int) -> torch.Tensor:
    """The true masks (k, H, W) of one image, cropped to each region (R, 4) and resized to size x size:
    region r takes mask ``matched[r]``. RoIAlign of the 0/1 mask (aligned=False, adaptive sampling,
    as torchvision's Mask R-CNN), so the target holds fractions at the mask's edges."""
    rois = torch.cat([matched.to(boxes)[:, None], boxes], 1)
    return roi_align(masks[:, None].to(boxes), rois, (size, size), 1.0)[:, 0]


def mask_loss(mask_logits: torch.Tensor, proposals: list, gt_masks: list, gt_labels: list,
              mask_matched_idxs: list) -> torch.Tensor:
    """Binary cross-entropy of each region's logit map *of its true class* against its cropped mask.

    mask_logits: (R, C, M, M) for the regions of all images in order; per image: proposals (R_i, 4),
    gt_masks (k_i, H, W), gt_labels (k_i,) and mask_matched_idxs (R_i,), the true object each
    region is matched to (torchvision's ``maskrcnn_loss`` arguments)."""
    size = mask_logits.shape[-1]
    labels = torch.cat([lab[idx] for lab, idx in zip(gt_labels, mask_matched_idxs)])
    targets = torch.cat([mask_targets(m, p, i, size) for m, p, i in zip(gt_masks, proposals, mask_matched_idxs)])
    if targets.numel() == 0:                         # no region: a zero that still has a gradient
        return mask_logits.sum() * 0
    return F.binary_cross_entropy_with_logits(masks_of_class(mask_logits, labels), targets)


def masks_of_class(mask_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(R, C, M, M) -> (R, M, M): each region's map of its class (the truth in training, the
    classifier's choice at inference)."""
    return mask_logits[torch.arange(len(labels), device=labels.device), labels]
