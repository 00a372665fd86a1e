"""Box operations of detection, from scratch (chapter 15): IoU, non-maximum suppression, RoIAlign.

Each matches its namesake in ``torchvision.ops`` (same arguments, same results, same gradients:
``tests/test_box_ops.py``), written to be read: the loops are the algorithm, vectorised only
where that does not hide it. Boxes are ``(x1, y1, x2, y2)`` in pixels, ``x1 <= x2, y1 <= y2``.
"""
from __future__ import annotations

import math

import torch

__all__ = ["box_area", "box_iou", "nms", "batched_nms", "roi_align"]


def _check_boxes(name: str, boxes: torch.Tensor) -> None:
    if boxes.dim() != 2 or boxes.shape[-1] != 4:
        raise ValueError(f"{name} must be (N, 4) boxes x1, y1, x2, y2; got shape {tuple(boxes.shape)}")


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    """(N,) areas of (N, 4) boxes: width times height."""
    _check_boxes("boxes", boxes)
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def box_iou(boxes1: torch.Tensor, boxes2: torch.Tensor) -> torch.Tensor:
    """(N, M) intersection over union of every pair: |A ∩ B| / (|A| + |B| - |A ∩ B|)."""
    _check_boxes("boxes1", boxes1), _check_boxes("boxes2", boxes2)
    top_left = torch.max(boxes1[:, None, :2], boxes2[None, :, :2])       # (N, M, 2): the intersection's corners
    bottom_right = torch.min(boxes1[:, None, 2:], boxes2[None, :, 2:])
    wh = (bottom_right - top_left).clamp(min=0)                          # no overlap: an empty intersection
    inter = wh[..., 0] * wh[..., 1]
    return inter / (box_area(boxes1)[:, None] + box_area(boxes2)[None, :] - inter)


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Indices of the boxes kept, by decreasing score: the best box is kept, every box that overlaps
    it with IoU > ``iou_threshold`` is dropped, and so on down the list. Equal scores keep their
    input order (a stable sort, as torchvision's kernels)."""
    _check_boxes("boxes", boxes)
    if scores.shape != boxes.shape[:1]:
        raise ValueError(f"scores must be ({boxes.shape[0]},), one per box; got {tuple(scores.shape)}")
    order = torch.sort(scores, descending=True, stable=True).indices
    iou = box_iou(boxes, boxes)
    suppressed = torch.zeros(len(boxes), dtype=torch.bool)
    keep = []
    for i in order.tolist():
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= iou[i] > iou_threshold
    return torch.tensor(keep, dtype=torch.int64)


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, idxs: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """NMS within each category ``idxs`` (boxes of different classes never suppress each other),
    indices by decreasing score. Done as one NMS: each category's boxes are moved far from the
    others' (by ``idxs * (max coordinate + 1)``), so no cross-category pair overlaps."""
    _check_boxes("boxes", boxes)
    if boxes.numel() == 0:
        return torch.empty(0, dtype=torch.int64)
    offsets = idxs.to(boxes) * (boxes.max() + 1)
    return nms(boxes + offsets[:, None], scores, iou_threshold)


def _bilinear(feature: torch.Tensor, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """(C, S) values of ``feature`` (C, H, W) at S points, as torchvision's RoIAlign samples: points
    more than one pixel outside the map give 0, points just outside are clamped to the edge."""
    C, H, W = feature.shape
    outside = (y < -1.0) | (y > H) | (x < -1.0) | (x > W)
    y, x = y.clamp(min=0), x.clamp(min=0)
    y_low, x_low = y.floor().long(), x.floor().long()
    at_edge_y, at_edge_x = y_low >= H - 1, x_low >= W - 1
    y_low, x_low = y_low.clamp(max=H - 1), x_low.clamp(max=W - 1)
    y = torch.where(at_edge_y, y_low.to(y), y)
    x = torch.where(at_edge_x, x_low.to(x), x)
    y_high, x_high = (y_low + 1).clamp(max=H - 1), (x_low + 1).clamp(max=W - 1)
    ly, lx = y - y_low, x - x_low
    hy, hx = 1 - ly, 1 - lx
    value = (hy * hx * feature[:, y_low, x_low] + hy * lx * feature[:, y_low, x_high]
             + ly * hx * feature[:, y_high, x_low] + ly * lx * feature[:, y_high, x_high])
    return value.masked_fill(outside, 0.0)


def roi_align(input: torch.Tensor, boxes, output_size, spatial_scale: float = 1.0, sampling_ratio: int = -1,
              aligned: bool = False) -> torch.Tensor:
    """(K, C, h, w) features of K regions of ``input`` (N, C, H, W), as ``torchvision.ops.roi_align``.

    ``boxes``: (K, 5) rows ``(batch index, x1, y1, x2, y2)`` or a list of (K_i, 4) per image. Each
    region is cut into h x w bins; each bin averages a grid of bilinear samples
    (``sampling_ratio`` per side, or ceil(region size / bins) when it is <= 0). ``aligned=True``
    shifts by half a pixel so that a box's corners are pixel corners, not pixel centres.
    """
    if isinstance(boxes, (list, tuple)):
        boxes = torch.cat([torch.cat([torch.full_like(b[:, :1], i), b], 1) for i, b in enumerate(boxes)])
    if boxes.dim() != 2 or boxes.shape[1] != 5:
        raise ValueError(f"boxes must be (K, 5) rows (batch index, x1, y1, x2, y2) or a list of (K_i, 4); "
                         f"got shape {tuple(boxes.shape)}")
    ph, pw = (output_size, output_size) if isinstance(output_size, int) else tuple(output_size)
    offset = 0.5 if aligned else 0.0
    out = []
    for row in boxes:
        b, r = int(row[0]), row.to(input.dtype)
        # in the input's dtype and in torchvision's order, so that each sample lands where its does
        start_x, start_y = r[1] * spatial_scale - offset, r[2] * spatial_scale - offset
        roi_w, roi_h = r[3] * spatial_scale - offset - start_x, r[4] * spatial_scale - offset - start_y
        if not aligned:            # the original RoIAlign: no region smaller than one pixel
            roi_w, roi_h = roi_w.clamp(min=1.0), roi_h.clamp(min=1.0)
        bin_w, bin_h = roi_w / pw, roi_h / ph
        grid_h = sampling_ratio if sampling_ratio > 0 else math.ceil(float(roi_h / ph))
        grid_w = sampling_ratio if sampling_ratio > 0 else math.ceil(float(roi_w / pw))
        count = max(grid_h * grid_w, 1)
        # sample (bin p, grid point i): start + p * bin + (i + 0.5) * bin / grid
        ys = ((start_y + torch.arange(ph, dtype=input.dtype) * bin_h)[:, None]
              + (torch.arange(grid_h, dtype=input.dtype) + 0.5) * bin_h / grid_h)            # (ph, grid_h)
        xs = ((start_x + torch.arange(pw, dtype=input.dtype) * bin_w)[:, None]
              + (torch.arange(grid_w, dtype=input.dtype) + 0.5) * bin_w / grid_w)            # (pw, grid_w)
        ys = ys.reshape(ph, 1, grid_h, 1).expand(ph, pw, grid_h, grid_w)
        xs = xs.reshape(1, pw, 1, grid_w).expand(ph, pw, grid_h, grid_w)
        samples = _bilinear(input[b], ys.reshape(-1), xs.reshape(-1))     # (C, ph * pw * gh * gw)
        out.append(samples.reshape(-1, ph, pw, grid_h * grid_w).sum(-1) / count)
    if not out:
        return input.new_zeros(0, input.shape[1], ph, pw)
    return torch.stack(out)
