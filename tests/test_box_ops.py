"""dlcourse.box_ops against torchvision.ops: IoU, NMS (ties, empty, all overlapping), batched NMS,
RoIAlign (values and gradients, sampling ratios, aligned on and off, scales, boxes off the map)."""
from __future__ import annotations

import pytest
import torch
import torchvision

from dlcourse import box_ops
from dlcourse.checks import check_close, check_like_torch


def _random_boxes(n, seed, size=50.0):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * size
    wh = torch.rand(n, 2, generator=g) * size / 2
    return torch.cat([xy, xy + wh], 1)


def test_box_iou_and_area_equal_torchvision():
    a, b = _random_boxes(30, 0), _random_boxes(20, 1)
    a[3] = b[5]                        # an identical pair: IoU exactly 1
    a[4] = torch.tensor([0.0, 0.0, 1.0, 1.0])
    b[6] = torch.tensor([2.0, 2.0, 3.0, 3.0])   # disjoint: exactly 0
    check_close("box_area", box_ops.box_area(a), torchvision.ops.box_area(a), verbose=False)
    ours, theirs = box_ops.box_iou(a, b), torchvision.ops.box_iou(a, b)
    check_close("box_iou", ours, theirs, verbose=False)
    assert ours[3, 5] == 1 and ours[4, 6] == 0
    assert box_ops.box_iou(a[:0], b).shape == (0, 20)


@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 0.7, 1.0])
@pytest.mark.parametrize("seed", range(4))
def test_nms_keeps_what_torchvision_keeps(seed, threshold):
    boxes = _random_boxes(200, seed)
    scores = torch.rand(200, generator=torch.Generator().manual_seed(seed + 10))
    assert torch.equal(box_ops.nms(boxes, scores, threshold), torchvision.ops.nms(boxes, scores, threshold))


def test_nms_edge_cases():
    """Ties keep their input order, an empty input keeps nothing, all-overlapping boxes keep one."""
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10], [50, 50, 60, 60]], dtype=torch.float32)
    tied = torch.tensor([0.9, 0.9, 0.9, 0.9])
    for scores in (tied, torch.tensor([0.1, 0.9, 0.5, 0.2])):
        assert torch.equal(box_ops.nms(boxes, scores, 0.5), torchvision.ops.nms(boxes, scores, 0.5))
    same = torch.tensor([[5.0, 5.0, 20.0, 20.0]]).repeat(6, 1)
    scores = torch.tensor([0.1, 0.5, 0.3, 0.5, 0.2, 0.4])
    assert box_ops.nms(same, scores, 0.5).tolist() == torchvision.ops.nms(same, scores, 0.5).tolist() == [1]
    empty = torch.zeros(0, 4)
    assert box_ops.nms(empty, torch.zeros(0), 0.5).shape == torchvision.ops.nms(empty, torch.zeros(0), 0.5).shape
    with pytest.raises(ValueError, match=r"\(N, 4\) boxes"):
        box_ops.nms(torch.zeros(3, 5), torch.zeros(3), 0.5)
    with pytest.raises(ValueError, match="one per box"):
        box_ops.nms(boxes, torch.zeros(3), 0.5)


@pytest.mark.parametrize("seed", range(3))
def test_batched_nms_never_suppresses_across_classes(seed):
    boxes = _random_boxes(150, seed)
    scores = torch.rand(150, generator=torch.Generator().manual_seed(seed + 20))
    idxs = torch.randint(0, 5, (150,), generator=torch.Generator().manual_seed(seed + 30))
    assert torch.equal(box_ops.batched_nms(boxes, scores, idxs, 0.5),
                       torchvision.ops.batched_nms(boxes, scores, idxs, 0.5))
    twins = torch.tensor([[0.0, 0, 10, 10], [0, 0, 10, 10]])
    assert box_ops.batched_nms(twins, torch.tensor([0.9, 0.8]), torch.tensor([0, 1]), 0.5).tolist() == [0, 1]
    assert box_ops.batched_nms(torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, dtype=torch.long), 0.5).numel() == 0


ROIS = torch.tensor([[0, 1.3, 2.1, 7.7, 8.2],      # inside
                     [1, -2.0, -1.5, 4.0, 3.0],     # partly off the map: clamped and zeroed samples
                     [0, 5.0, 5.0, 5.2, 5.1],       # smaller than a pixel (aligned=False widens it)
                     [1, 9.0, 6.0, 14.0, 12.0],     # past the right and bottom edges
                     [0, 0.0, 0.0, 11.9, 9.9]])     # the whole map


@pytest.mark.parametrize("aligned", [False, True])
@pytest.mark.parametrize("sampling_ratio", [-1, 1, 2, 3])
@pytest.mark.parametrize("spatial_scale", [1.0, 0.5])
def test_roi_align_equals_torchvision_in_values_and_gradients(aligned, sampling_ratio, spatial_scale):
    x = torch.randn(2, 3, 10, 12, generator=torch.Generator().manual_seed(0))
    args = (ROIS, (3, 4), spatial_scale, sampling_ratio, aligned)
    check_like_torch(f"roi_align(aligned={aligned}, sampling_ratio={sampling_ratio}, scale={spatial_scale})",
                     lambda t: box_ops.roi_align(t, *args), lambda t: torchvision.ops.roi_align(t, *args), x,
                     verbose=False)


def test_roi_align_takes_a_list_of_boxes_per_image_and_refuses_bad_shapes():
    x = torch.randn(2, 4, 16, 16)
    per_image = [torch.tensor([[1.0, 1.0, 9.0, 9.0]]), torch.tensor([[2.0, 3.0, 15.0, 12.0], [0, 0, 4, 4.0]])]
    check_close("roi_align(list)", box_ops.roi_align(x, per_image, 2, sampling_ratio=2),
                torchvision.ops.roi_align(x, per_image, 2, sampling_ratio=2), verbose=False)
    assert box_ops.roi_align(x, torch.zeros(0, 5), 2).shape == (0, 4, 2, 2)
    with pytest.raises(ValueError, match=r"\(K, 5\) rows"):
        box_ops.roi_align(x, torch.zeros(3, 4), 2)


def test_a_wrong_roi_align_fails_the_same_check():
    """The test can fail: without aligned's half-pixel shift the values move."""
    x = torch.randn(2, 3, 10, 12, generator=torch.Generator().manual_seed(0))
    with pytest.raises(AssertionError):
        check_like_torch("roi_align", lambda t: box_ops.roi_align(t, ROIS, 3, 1.0, 2, False),
                         lambda t: torchvision.ops.roi_align(t, ROIS, 3, 1.0, 2, True), x, verbose=False)
