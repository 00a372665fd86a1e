# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 15 · Object detection
#
# A classifier says *what* is in an image; a detector says what is *where*: a list of boxes,
# each with a class and a score, as many as there are objects. This chapter builds the pieces
# every detector shares, each proven equal to the library the field uses: intersection over
# union, non-maximum suppression and RoIAlign against `torchvision.ops`, mean average precision
# against `pycocotools`' COCOeval (the number detection papers report). Then it trains a
# single-stage detector in the manner of YOLO on scenes of real MNIST digits and measures it.
#
# **What you will build**
#
# - a data set of scenes: MNIST digits pasted on a canvas, with boxes, classes and masks;
# - IoU of two sets of boxes, the naive version shown failing on disjoint boxes;
# - non-maximum suppression, and its batched (class-wise) form;
# - RoIAlign, the bilinear crop a two-stage detector takes its region features with;
# - a YOLO-style detector: a grid of cells, each predicting one object; its loss; its decoding;
# - mAP from scratch, equal to COCOeval on the detector's own predictions.
#
# **Prerequisites**: [09 · Convolutions](09_convolutions.ipynb) (strided convolutions),
# [12 · ResNet](12_resnet.ipynb) (conv-BN-ReLU stages). Chapter 16 segments the same scenes.
#
# **Run time**: CPU (2 cores, shared with another job when measured): fast mode 18 s with the
# kernel's start (768 scenes, 2 epochs of a narrow detector in 7 s: it runs every piece and
# detects nothing yet, mAP 0.000); full mode (8,000 scenes, 8 epochs, the full-width detector) is the
# `detect_scenes` recipe, measured at mAP@0.5 0.904 and COCO mAP@[.5:.95] 0.569 after 657 s of
# training on one thread (`benchmarks/RESULTS.md`); the notebook's own full run is not timed
# yet; GPU: not measured yet.

# %% [markdown]
# ## Setup

# %%
import time

import matplotlib.pyplot as plt
import torch
import torchvision
from matplotlib.patches import Rectangle
from torch.utils.data import DataLoader

import dlcourse
from dlcourse import box_ops
from dlcourse.checks import check_close, check_like_torch
from dlcourse.data.scenes import HELD_OUT_SEED, collate_scenes, scenes
from dlcourse.exercises.chapters import ch15_detection as exercises
from dlcourse.mean_ap import cocoeval_map, mean_average_precision
from dlcourse.models.yolo import TinyYOLO, decode_detections, targets_to_grid, yolo_loss

device = dlcourse.setup(seed=0)

# %% [markdown]
# The budget. `FAST` is set by CI (`DLCOURSE_FAST=1`): the same scenes, fewer of them.

# %% tags=["parameters"]
FAST = dlcourse.fast_mode()
N_TRAIN = 768 if FAST else 8000      # training scenes (digits of MNIST's training split)
N_TEST = 200 if FAST else 1000        # held-out scenes (MNIST's test digits)
EPOCHS = 2 if FAST else 8
WIDTHS = (16, 32, 64) if FAST else (32, 64, 128)

# %% [markdown]
# ## 1. Scenes of digits
#
# `dlcourse.data.scenes` pastes 1 to 4 real MNIST digits, 16 to 32 pixels tall, on a 64x64
# canvas, plus fragments of other digits as clutter (ink that is *not* an object). Each scene
# comes with its targets: a box `(x1, y1, x2, y2)` per digit, its class, and a mask of the
# pixels where it is the visible ink. Scene `i` depends only on `(seed, i)`: the held-out
# scenes (`HELD_OUT_SEED`, MNIST's test digits) are the same on every machine.

# %%
train_set = scenes(N_TRAIN, seed=1, clutter=2)
test_set = scenes(N_TEST, seed=HELD_OUT_SEED, clutter=2)


def draw(ax, image, target, color="lime", scores=None):
    ax.imshow(image[0], cmap="gray"), ax.axis("off")
    for k, (box, label) in enumerate(zip(target["boxes"].tolist(), target["labels"].tolist())):
        x1, y1, x2, y2 = box
        ax.add_patch(Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False, edgecolor=color, lw=1.5))
        text = f"{label}" if scores is None else f"{label} {float(scores[k]):.2f}"
        ax.text(x1, y1 - 1, text, color=color, fontsize=8)


fig, axes = plt.subplots(2, 6, figsize=(12, 4.4))
for i, ax in enumerate(axes[0]):
    draw(ax, *train_set[i])
for i, ax in enumerate(axes[1]):
    image, target = train_set[i]
    ax.imshow(image[0], cmap="gray", alpha=0.4), ax.axis("off")
    ax.imshow((target["masks"] * torch.arange(1, len(target["labels"]) + 1)[:, None, None]).sum(0),
              cmap="tab10", alpha=0.6, vmin=0, vmax=10, interpolation="nearest")
axes[0, 0].set_title("boxes and classes", fontsize=9, loc="left")
axes[1, 0].set_title("instance masks (chapter 16)", fontsize=9, loc="left")
plt.show()

# %% [markdown]
# ## 2. Intersection over union
#
# Two boxes agree by the area they share over the area they cover together:
# $\mathrm{IoU}(A, B) = |A \cap B| / (|A| + |B| - |A \cap B|)$. The intersection is a box
# whose top-left corner is the larger of the two top-lefts and whose bottom-right is the
# smaller bottom-right. The first attempt below forgets one thing:

# %%
def area(b):
    return (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])


def iou_naive(a, b):
    top_left = torch.max(a[:, None, :2], b[None, :, :2])
    bottom_right = torch.min(a[:, None, 2:], b[None, :, 2:])
    inter = (bottom_right - top_left).prod(-1)                   # width * height of the overlap
    return inter / (area(a)[:, None] + area(b)[None, :] - inter)


far_apart = torch.tensor([[0.0, 0, 10, 10]]), torch.tensor([[20.0, 20, 30, 30]])
print("naive IoU of two disjoint boxes:", iou_naive(*far_apart).item())

# %% [markdown]
# Positive: both sides of the "intersection" are negative (-10 x -10), and their product is
# +100. Boxes that do not overlap must have their intersection's sides clamped at zero.

# %%
def iou(a, b):
    top_left = torch.max(a[:, None, :2], b[None, :, :2])
    bottom_right = torch.min(a[:, None, 2:], b[None, :, 2:])
    inter = (bottom_right - top_left).clamp(min=0).prod(-1)      # no overlap: 0, not a negative side
    return inter / (area(a)[:, None] + area(b)[None, :] - inter)


print("IoU of two disjoint boxes:", iou(*far_apart).item())
truth = torch.cat([train_set[i][1]["boxes"] for i in range(20)])
jittered = truth + torch.randn_like(truth)
check_close("iou vs torchvision.ops.box_iou", iou(truth, jittered), torchvision.ops.box_iou(truth, jittered))
check_close("dlcourse.box_ops.box_iou", box_ops.box_iou(truth, jittered), torchvision.ops.box_iou(truth, jittered))

# %% [markdown]
# ## 3. Non-maximum suppression
#
# A detector fires several times on one object (neighbouring cells, several anchors). NMS keeps
# the best-scored box, drops every box that overlaps it by more than a threshold, and repeats
# with the best box left. `dlcourse.box_ops.nms` is those lines; `batched_nms` runs it per
# class (a "1" never suppresses an overlapping "7"). Both keep exactly what torchvision keeps,
# ties included (`tests/test_box_ops.py`).

# %%
box = torch.tensor([[10.0, 10, 40, 40]])
noisy = torch.cat([box + torch.randn(6, 4) * 2, torch.tensor([[30.0, 30, 60, 60]])])
scores = torch.tensor([0.9, 0.75, 0.6, 0.8, 0.5, 0.7, 0.85])
kept = box_ops.nms(noisy, scores, 0.5)
print("ours keeps", kept.tolist(), "| torchvision keeps", torchvision.ops.nms(noisy, scores, 0.5).tolist())
fig, axes = plt.subplots(1, 2, figsize=(6, 3))
for ax, chosen, title in ((axes[0], range(len(noisy)), "before NMS"), (axes[1], kept.tolist(), "after NMS")):
    ax.set_xlim(0, 64), ax.set_ylim(64, 0), ax.set_title(title, fontsize=9), ax.set_aspect("equal")
    for i in chosen:
        x1, y1, x2, y2 = noisy[i].tolist()
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=plt.cm.viridis(float(scores[i]))))
        ax.text(x1, y1, f"{float(scores[i]):.2f}", fontsize=7)
plt.show()

# %% [markdown]
# ## 4. RoIAlign: features of a region
#
# A two-stage detector (Faster R-CNN) first proposes regions, then classifies each from the
# feature map *inside* it, resized to a fixed h x w. RoIPool rounded the region to the feature
# map's cells and lost up to a cell of position; RoIAlign (He et al. 2017, Mask R-CNN) samples
# the map bilinearly at exact points instead: each of the h x w bins averages a small grid of
# samples. `dlcourse.box_ops.roi_align` writes that out; here it is checked against
# `torchvision.ops.roi_align`, values and gradients, with the half-pixel shift (`aligned=True`)
# that makes a box's corners pixel corners.

# %%
features = torch.randn(2, 8, 16, 16)
regions = torch.tensor([[0, 1.3, 2.1, 9.7, 8.2], [1, 4.0, 4.0, 15.5, 12.0], [0, 6.0, 6.0, 6.4, 6.3]])
for aligned in (False, True):
    check_like_torch(f"roi_align(aligned={aligned})",
                     lambda f: box_ops.roi_align(f, regions, (4, 4), 1.0, 2, aligned),
                     lambda f: torchvision.ops.roi_align(f, regions, (4, 4), 1.0, 2, aligned), features)

# %% [markdown]
# ## 5. A single-stage detector
#
# YOLO (Redmon et al. 2016) cuts the image into an S x S grid and lets each cell predict the
# object whose centre falls in it. `TinyYOLO` is three conv-BN-ReLU stages with stride 2 each
# (64 -> 8 cells of 8 pixels), then a 1x1 convolution giving every cell 5 + 10 numbers: an
# objectness logit, the centre's offset inside the cell, the box's width and height (as logs,
# relative to a prior size: YOLOv2's anchor), and ten class logits. `targets_to_grid` writes
# the true boxes into that grid:

# %%
image, target = train_set[0]
grid = targets_to_grid([target], 8, 8, 3.0)
print("true boxes:", target["boxes"].tolist())
print("cells that hold an object:", grid["obj"][0].nonzero().tolist(), "classes:", grid["cls"][0][grid["obj"][0] > 0].tolist())

# %% [markdown]
# The loss (`yolo_loss`, a dict for `dlcourse.fit(step=...)`): binary cross-entropy on
# objectness over all cells, and on the cells that hold an object an L1 loss on the box and
# cross-entropy on the class. The box term is weighted 5x, as YOLO weights its coordinates.

# %%
torch.manual_seed(0)
model = TinyYOLO(widths=WIDTHS)
loader = DataLoader(train_set, 64, shuffle=True, collate_fn=collate_scenes, generator=torch.Generator().manual_seed(0))
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=5e-4)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=EPOCHS * len(loader))
start = time.perf_counter()
history = dlcourse.fit(model, loader, optimizer, epochs=EPOCHS, step=lambda m, batch: yolo_loss(m, *batch),
                       metrics=(), scheduler=scheduler, scheduler_interval="step", device=device, amp=False)
print(f"trained on {N_TRAIN} scenes x {EPOCHS} epochs in {time.perf_counter() - start:.0f} s")

# %% [markdown]
# ## 6. Measuring a detector: mean average precision
#
# A detection is a true positive when it matches an unmatched true box of its class with IoU
# at least t; its score ranks it. Down the ranking, precision and recall trace a curve; COCO
# reads the (interpolated) precision at 101 recalls and averages it: the class's AP. mAP is the
# mean over classes, and COCO's headline number also averages t = 0.50, 0.55, ..., 0.95.
# `dlcourse.mean_ap` writes that algorithm out; on this detector's own predictions it must give
# pycocotools' number (to 1e-12 in `tests/test_mean_ap.py`).

# %%
model.eval().cpu()
images, targets = collate_scenes([test_set[i] for i in range(N_TEST)])
predictions = decode_detections(model, images)
ours = mean_average_precision(predictions, targets)
print(f"held-out scenes: mAP@0.5 {ours['map_50']:.3f}, mAP@0.75 {ours['map_75']:.3f}, "
      f"COCO mAP@[.5:.95] {ours['map']:.3f}")

# %%
theirs = cocoeval_map(predictions, targets)
print(f"pycocotools COCOeval:  mAP@0.5 {theirs['map_50']:.3f}, mAP@0.75 {theirs['map_75']:.3f}, "
      f"mAP@[.5:.95] {theirs['map']:.3f}")
check_close("mAP@[.5:.95], ours vs COCOeval", torch.tensor(ours["map"]), torch.tensor(theirs["map"]), atol=1e-9, rtol=0)

# %% [markdown]
# The detector on held-out scenes (the score threshold hides the weakest boxes; the widget
# below moves it and the NMS threshold):

# %%
def show(score_threshold=0.3, iou_threshold=0.5, first=0):
    shown = decode_detections(model, images[first:first + 6], score_threshold, iou_threshold)
    fig, axes = plt.subplots(1, 6, figsize=(12, 2.4))
    for ax, image, pred in zip(axes, images[first:first + 6], shown):
        draw(ax, image, pred, color="orange", scores=pred["scores"])
    plt.show()


show()

# %%
try:
    import ipywidgets as widgets
    widgets.interact(show, score_threshold=(0.05, 0.95, 0.05), iou_threshold=(0.1, 0.9, 0.05),
                     first=(0, N_TEST - 6, 6))
except ImportError:
    pass

# %% [markdown]
# ## 7. Exercises
#
# Each exercise has a check; a function that still returns `None` is reported as not
# attempted. Worked solutions: `solutions/chapters/15_detection.py`.
#
# ### Exercise 1: IoU of every pair
#
# Write `box_iou(a, b)`: (N, 4) and (M, 4) boxes to the (N, M) IoU of every pair.

# %%
def box_iou(a, b):
    return None     # YOUR CODE HERE


# %%
exercises.check_box_iou(box_iou)

# %% [markdown]
# ### Exercise 2: non-maximum suppression
#
# Write `nms(boxes, scores, iou_threshold)`: the indices of the boxes kept, best score first.

# %%
def nms(boxes, scores, iou_threshold):
    return None     # YOUR CODE HERE


# %%
exercises.check_nms(nms)

# %% [markdown]
# ### Exercise 3: average precision
#
# Write `ap(scores, hits, n_truth)`: NumPy arrays of the detections' scores and whether each
# matched a true box, and the number of true boxes; return COCO's 101-point interpolated AP.

# %%
def ap(scores, hits, n_truth):
    return None     # YOUR CODE HERE


# %%
exercises.check_average_precision(ap)

# %% [markdown]
# ## 8. Summary
#
# - A detector's output is a set: boxes, classes, scores. IoU compares two boxes; clamp the
#   intersection's sides at 0, or disjoint boxes overlap.
# - NMS turns a detector's many overlapping guesses into one box per object, per class.
# - RoIAlign crops features of any region with bilinear samples, no rounding to the grid.
# - A single-stage detector predicts, per grid cell, objectness, a box relative to the cell and
#   a prior, and a class; the loss only trains box and class where an object is.
# - mAP is the area under the interpolated precision-recall curve, per class, averaged; the
#   course's equals COCOeval's, so its numbers compare with papers' numbers.
#
# Not in this chapter yet: the two-stage Faster R-CNN (a region proposal network and a RoI
# head built on section 4's RoIAlign).
#
# ## References
#
# - Redmon, Divvala, Girshick & Farhadi (2016), *You Only Look Once: Unified, Real-Time Object
#   Detection*, CVPR. Redmon & Farhadi (2017), *YOLO9000: Better, Faster, Stronger* (anchors).
# - Ren, He, Girshick & Sun (2015), *Faster R-CNN*, NeurIPS; He, Gkioxari, Dollár & Girshick
#   (2017), *Mask R-CNN*, ICCV (RoIAlign).
# - Lin et al. (2014), *Microsoft COCO: Common Objects in Context*, ECCV; `pycocotools`.
