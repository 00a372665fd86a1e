"""A single-stage detector in the manner of YOLO (Redmon et al. 2016), sized for the course's
scenes (chapter 15).

The image is cut into an S x S grid by a strided CNN. Each cell predicts, for the one object
whose centre falls in it: an objectness logit, the centre's offset inside the cell (sigmoid,
in cells), the box's width and height (exp, in cells, relative to ``prior`` cells: YOLOv2's
anchor idea, one anchor), and class logits. Training assigns each true box to the cell of its
centre (``targets_to_grid``); the loss is binary cross-entropy on objectness everywhere, plus,
on assigned cells, an L1 loss on the box in cell units and cross-entropy on the class. To
detect, every cell's score is sigmoid(objectness) times its best class probability, boxes are
decoded to pixels, and class-wise non-maximum suppression keeps the best of overlapping boxes.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dlcourse.box_ops import batched_nms
from dlcourse.models.blocks import ConvNormAct

__all__ = ["TinyYOLO", "targets_to_grid", "yolo_loss", "decode_detections"]


class TinyYOLO(nn.Module):
    """(N, in_channels, H, W) -> (N, 5 + num_classes, H / 8, W / 8): per cell objectness, box, classes."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1, widths=(32, 64, 128), prior: float = 3.0):
        super().__init__()
        layers, c = [], in_channels
        for w in widths:      # each stage halves the map: stride 8 after three
            layers += [*ConvNormAct(c, w, 3, norm_layer=nn.BatchNorm2d), *ConvNormAct(w, w, 3, stride=2,
                                                                                      norm_layer=nn.BatchNorm2d)]
            c = w
        self.features = nn.Sequential(*layers)
        self.head = nn.Conv2d(c, 5 + num_classes, 1)
        self.num_classes, self.stride, self.prior = num_classes, 2 ** len(widths), prior
        nn.init.constant_(self.head.bias[0], -4.0)   # few cells hold an object: start near "no object"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def targets_to_grid(targets: list[dict], grid: int, stride: int, prior: float) -> dict:
    """Each true box assigned to the cell of its centre: (N, S, S) objectness and class, (N, S, S, 4)
    box targets (centre offset in the cell, log of width / height over the prior, all in cells).
    Two centres in one cell: the later box wins (rare in the scenes)."""
    n = len(targets)
    obj = torch.zeros(n, grid, grid)
    cls = torch.zeros(n, grid, grid, dtype=torch.long)
    box = torch.zeros(n, grid, grid, 4)
    for i, t in enumerate(targets):
        b = t["boxes"] / stride
        if len(b) == 0:
            continue
        cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
        gx, gy = cx.long().clamp(0, grid - 1), cy.long().clamp(0, grid - 1)
        obj[i, gy, gx] = 1
        cls[i, gy, gx] = t["labels"]
        box[i, gy, gx] = torch.stack([cx - gx, cy - gy, ((b[:, 2] - b[:, 0]) / prior).log(),
                                      ((b[:, 3] - b[:, 1]) / prior).log()], 1)
    return {"obj": obj, "cls": cls, "box": box}


def yolo_loss(model: TinyYOLO, images: torch.Tensor, targets: list[dict], box_weight: float = 5.0) -> dict:
    """The training step's losses (a dict for ``dlcourse.fit(step=...)``): objectness BCE over all
    cells, and box L1 + class cross-entropy over the cells that hold an object."""
    out = model(images).float()                                     # (N, 5 + C, S, S)
    want = targets_to_grid(targets, out.shape[-1], model.stride, model.prior)
    want = {k: v.to(out.device) for k, v in want.items()}
    pos = want["obj"] > 0
    objectness = F.binary_cross_entropy_with_logits(out[:, 0], want["obj"])
    pred = out.permute(0, 2, 3, 1)[pos]                              # (P, 5 + C) at assigned cells
    if len(pred):
        box = F.l1_loss(torch.cat([pred[:, 1:3].sigmoid(), pred[:, 3:5]], 1), want["box"][pos])
        cls = F.cross_entropy(pred[:, 5:], want["cls"][pos])
    else:
        box = cls = out.sum() * 0
    loss = objectness + box_weight * box + cls
    return {"loss": loss, "objectness": objectness.detach(), "box": box.detach(), "class": cls.detach()}


@torch.no_grad()
def decode_detections(model: TinyYOLO, images: torch.Tensor, score_threshold: float = 0.05,
                      iou_threshold: float = 0.5, max_detections: int = 100) -> list[dict]:
    """One dict per image, ``boxes`` (k, 4) in pixels, ``scores``, ``labels``: the cells above
    ``score_threshold``, then class-wise NMS at ``iou_threshold``, best ``max_detections`` kept."""
    out = model(images).float()
    n, _, s, _ = out.shape
    ys, xs = torch.meshgrid(torch.arange(s, device=out.device), torch.arange(s, device=out.device), indexing="ij")
    cx = (xs + out[:, 1].sigmoid()) * model.stride
    cy = (ys + out[:, 2].sigmoid()) * model.stride
    w = out[:, 3].clamp(max=6).exp() * model.prior * model.stride
    h = out[:, 4].clamp(max=6).exp() * model.prior * model.stride
    boxes = torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], -1).reshape(n, -1, 4)
    probs = out[:, 5:].softmax(1).amax(1).reshape(n, -1)
    labels = out[:, 5:].argmax(1).reshape(n, -1)
    scores = out[:, 0].sigmoid().reshape(n, -1) * probs
    results = []
    for i in range(n):
        keep = scores[i] > score_threshold
        b, sc, lb = boxes[i][keep].cpu(), scores[i][keep].cpu(), labels[i][keep].cpu()
        kept = batched_nms(b, sc, lb, iou_threshold)[:max_detections]
        results.append({"boxes": b[kept], "scores": sc[kept], "labels": lb[kept]})
    return results
