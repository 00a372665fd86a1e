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
# # 16 · Segmentation
#
# A detector draws a box around each object; a segmenter labels every pixel. That turns the
# network's output from a vector into an image of class scores as large as the input, and it
# asks for two things at once: *what* (which needs a wide view, many layers deep) and *where*
# (which needs the fine detail of the first layers). The U-Net answers with skip connections
# from its encoder to its decoder. This chapter builds it, measures segmentations the way the
# field does (IoU and Dice, proven equal to `torchmetrics`), shows why pixel accuracy misleads,
# and trains a U-Net on the scenes of chapter 15.
#
# **What you will build**
#
# - class maps from the scenes' instance masks: every pixel is background or a digit class;
# - pixel accuracy shown misleading, IoU and Dice from one confusion matrix;
# - the paper's U-Net (572 -> 388 pixels, 31,030,658 weights) and the padded one the course trains;
# - a soft Dice loss beside cross-entropy, and the trained U-Net's masks on held-out scenes;
# - Mask R-CNN's mask branch (== torchvision's), one mask per object, on RoIAlign features.
#
# **Prerequisites**: [12 · ResNet](12_resnet.ipynb) (conv-BN-ReLU stages),
# [15 · Detection](15_detection.ipynb) (the scenes, IoU).
#
# **Run time**: CPU (2 cores, another job on the second core when measured): fast mode 30 s
# with the kernel's start (512 scenes, one epoch: the U-Net begins to find *where* the digits
# are and names almost none, mean IoU 0.09; the mask branch learns nothing yet); full mode
# (8,000 scenes x 5 epochs in fp32, widths 16-128) took 23 min: the U-Net 635 s to mean IoU
# 0.837, the mask branch 710 s to a mean mask IoU of 0.591 given the true boxes. The
# `segment_scenes` recipe trains the same U-Net 7 epochs with bf16 autocast where the CPU has
# fast bf16 and reaches 0.856 in 294 s (`benchmarks/RESULTS.md`); GPU: not measured yet.

# %% [markdown]
# ## Setup

# %%
import time

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torch.utils.data import DataLoader
from torchvision.models.detection.roi_heads import paste_masks_in_image

import dlcourse
from dlcourse.checks import check_close
from dlcourse.data.scenes import HELD_OUT_SEED, collate_scenes, collate_semantic, scenes
from dlcourse.exercises.chapters import ch16_segmentation as exercises
from dlcourse.models.mask_rcnn import MaskHead, mask_loss, masks_of_class
from dlcourse.models.unet import UNet
from dlcourse.profiling import count_params
from dlcourse.seg_metrics import confusion_matrix, dice_loss, dice_per_class, iou_per_class, mean_iou

device = dlcourse.setup(seed=0)

# %% [markdown]
# The budget. `FAST` is set by CI (`DLCOURSE_FAST=1`): the same scenes, fewer of them.

# %% tags=["parameters"]
FAST = dlcourse.fast_mode()
N_TRAIN = 512 if FAST else 8000       # training scenes (digits of MNIST's training split)
N_TEST = 200 if FAST else 1000        # held-out scenes (MNIST's test digits)
EPOCHS = 1 if FAST else 5
BATCH = 16 if FAST else 32
WIDTHS = (8, 16, 32) if FAST else (16, 32, 64, 128)
CLASSES = 11                          # background + the ten digits

# %% [markdown]
# ## 1. From instances to a class map
#
# Each scene of chapter 15 carries one mask per digit (the pixels where it is the visible
# ink). Semantic segmentation forgets which digit is which and keeps the class: one map per
# image, 0 for the background and d + 1 for a digit d. The clutter (fragments of other digits)
# is ink, but not an object: background. `collate_semantic` makes those maps for a batch.

# %%
train_set = scenes(N_TRAIN, seed=1, clutter=2)
test_set = scenes(N_TEST, seed=HELD_OUT_SEED, clutter=2)
images, maps = collate_semantic([train_set[i] for i in range(6)])

fig, axes = plt.subplots(2, 6, figsize=(12, 4.2))
for ax, image, classes in zip(axes.T, images, maps):
    ax[0].imshow(image[0], cmap="gray"), ax[0].axis("off")
    ax[1].imshow(classes, cmap="tab20", vmin=0, vmax=19, interpolation="nearest"), ax[1].axis("off")
axes[0, 0].set_title("scene", fontsize=9, loc="left")
axes[1, 0].set_title("class map (0 = background)", fontsize=9, loc="left")
plt.show()
background = float((maps == 0).float().mean())
print(f"background pixels: {background:.1%} of these scenes")

# %% [markdown]
# ## 2. Measuring a segmentation
#
# The first number that comes to mind is pixel accuracy: the fraction of pixels labelled
# right. Here is a "segmenter" that has learned nothing, every pixel background:

# %%
held_images, held_maps = collate_semantic([test_set[i] for i in range(N_TEST)])
nothing = torch.zeros_like(held_maps)
print(f"all background: pixel accuracy {float((nothing == held_maps).float().mean()):.1%}, "
      f"mean IoU {mean_iou(nothing, held_maps, CLASSES):.3f}")

# %% [markdown]
# Most pixels are background, so doing nothing scores high. IoU asks, per class, how much of
# the union of predicted and true pixels is their intersection: $\mathrm{IoU}_c = TP_c /
# (TP_c + FP_c + FN_c)$, and the mean over classes gives a thin digit the weight of the
# background. The all-background answer gets the background's IoU (its pixel share, about
# 0.95) and 0 for each of the ten digits: a mean near 0.09. Dice, $2TP_c / (2TP_c + FP_c + FN_c)$, is the pixel F1 score: the same ranking, more
# lenient to small errors. Both come from one confusion matrix (row: true class, column:
# predicted), one `bincount` over all pixels. Below, the "prediction" is the truth with a fifth
# of its pixels relabelled at random, and the matrix is checked against the definition, class by
# class with boolean masks; `tests/test_seg_metrics.py` holds it equal to `torchmetrics`'
# `multiclass_jaccard_index` and `multiclass_f1_score` (importing torchmetrics takes longer here
# than this whole section).

# %%
noisy = torch.where(torch.rand(held_maps.shape) < 0.8, held_maps, torch.randint(0, CLASSES, held_maps.shape))
cm = confusion_matrix(noisy, held_maps, CLASSES)
print("confusion matrix, first 4 classes:\n", cm[:4, :4])
both = torch.stack([((noisy == c) & (held_maps == c)).sum() for c in range(CLASSES)]).double()
either = torch.stack([((noisy == c) | (held_maps == c)).sum() for c in range(CLASSES)]).double()
sizes = torch.stack([(noisy == c).sum() + (held_maps == c).sum() for c in range(CLASSES)]).double()
check_close("per-class IoU = |P ∩ T| / |P ∪ T|", iou_per_class(noisy, held_maps, CLASSES), both / either)
check_close("per-class Dice = 2|P ∩ T| / (|P| + |T|)", dice_per_class(noisy, held_maps, CLASSES), 2 * both / sizes)

# %% [markdown]
# ## 3. The U-Net
#
# Ronneberger, Fischer & Brox (2015): an encoder that halves the map and doubles the channels
# four times, a decoder that doubles the map back with 2x2 transposed convolutions, and at
# each level a *skip*: the encoder's map concatenated to the decoder's. The deep path knows
# *what* is there, the skip knows *where*. The paper's convolutions are unpadded, so each 3x3
# convolution trims a pixel from every side, and its Figure 1 turns a 572x572 tile into a
# 388x388 map; the skip maps are centre-cropped to fit. `dlcourse.models.unet.UNet` builds
# that network with `padding=0, norm=False`, and its weights are the sum of Figure 1's layers:

# %%
with torch.device("meta"):        # shapes and sizes only: no memory for weights, nothing computed
    paper = UNet(1, 2, (64, 128, 256, 512, 1024), padding=0, norm=False)
    print(f"the paper's U-Net: {count_params(paper):,} weights;",
          "572 x 572 in ->", tuple(paper(torch.empty(1, 1, 572, 572)).shape[-2:]), "out")

# %% [markdown]
# The course trains the padded variant (the output keeps the input's size, so a 64x64 scene
# gets a 64x64 map) with BatchNorm after each convolution, as most implementations do, and
# far narrower: the scenes are 64x64 and hold ten classes of digit.

# %%
torch.manual_seed(0)
model = UNet(1, CLASSES, WIDTHS)
print(f"the course's U-Net, widths {WIDTHS}: {count_params(model):,} weights;",
      "output", tuple(model(held_images[:2]).shape))

# %% [markdown]
# ## 4. Training: cross-entropy and soft Dice
#
# Cross-entropy per pixel is the classifier's loss on every pixel at once; `F.cross_entropy`
# takes (N, C, H, W) logits and an (N, H, W) class map as is. Like pixel accuracy, it is
# dominated by the background. The soft Dice loss (Milletari et al. 2016) is Dice with the
# softmax probabilities in place of the hard prediction, averaged over classes, so a small
# class weighs as much as a large one; the recipe trains on the sum of the two.
# `dlcourse.seg_metrics.dice_loss` is that formula; on one-hot probabilities it is exactly
# 1 minus the mean Dice of section 2:

# %%
one_hot_logits = 50.0 * F.one_hot(noisy, CLASSES).movedim(-1, 1).double()
check_close("dice_loss of a hard prediction", dice_loss(one_hot_logits, held_maps, smooth=0),
            1 - dice_per_class(noisy, held_maps, CLASSES).mean())


def step(model, batch):
    x, y = batch
    logits = model(x)
    ce, dice = F.cross_entropy(logits, y), dice_loss(logits, y)
    return {"loss": ce + dice, "cross_entropy": ce.detach(), "dice_loss": dice.detach(),
            "pixel_accuracy": (logits.argmax(1) == y).float().mean()}


loader = DataLoader(train_set, BATCH, shuffle=True, collate_fn=collate_semantic, generator=torch.Generator().manual_seed(0))
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=EPOCHS * len(loader))
start = time.perf_counter()
history = dlcourse.fit(model, loader, optimizer, epochs=EPOCHS, step=step, metrics=(), scheduler=scheduler,
                       scheduler_interval="step", device=device, amp=False)
print(f"trained on {N_TRAIN} scenes x {EPOCHS} epochs in {time.perf_counter() - start:.0f} s")

# %% [markdown]
# ## 5. The held-out scenes
#
# Mean IoU over the 11 classes, on scenes whose digits the network has never seen. Per class,
# the digits it confuses show up as the low bars. Beside it, the IoU of "object" (any digit)
# against background: a U-Net learns *where* the objects are long before it learns *what*
# they are (after fast mode's single epoch it has begun to find the digits and names almost
# none of them).

# %%
model.eval().cpu()
with torch.no_grad():
    predicted = torch.cat([model(held_images[i:i + 100]).argmax(1) for i in range(0, N_TEST, 100)])
per_class = iou_per_class(predicted, held_maps, CLASSES)
print(f"held-out scenes: mean IoU {mean_iou(predicted, held_maps, CLASSES):.3f}, "
      f"pixel accuracy {float((predicted == held_maps).float().mean()):.1%}; "
      f"object-vs-background IoU {float(iou_per_class((predicted > 0).long(), (held_maps > 0).long(), 2)[1]):.3f}")
plt.figure(figsize=(6, 2.4))
plt.bar(["bg"] + [str(d) for d in range(10)], per_class.nan_to_num(0).tolist())
plt.ylim(0, 1), plt.ylabel("IoU"), plt.title("IoU per class (held-out scenes)", fontsize=9)
plt.show()

# %%
fig, axes = plt.subplots(3, 6, figsize=(12, 6.2))
for k, ax in enumerate(axes.T):
    ax[0].imshow(held_images[k, 0], cmap="gray")
    ax[1].imshow(held_maps[k], cmap="tab20", vmin=0, vmax=19, interpolation="nearest")
    ax[2].imshow(predicted[k], cmap="tab20", vmin=0, vmax=19, interpolation="nearest")
    for a in ax:
        a.axis("off")
for a, title in zip(axes[:, 0], ("held-out scene", "true classes", "U-Net")):
    a.set_title(title, fontsize=9, loc="left")
plt.show()

# %% [markdown]
# ## 6. Instances: the Mask R-CNN mask head
#
# A class map cannot tell two touching 3s apart. Instance segmentation gives every *object*
# its own mask, and Mask R-CNN does it by adding one branch to a two-stage detector: for each
# region, RoIAlign (chapter 15, section 4) crops the features to 14x14, four 3x3 conv-ReLU
# layers and a 2x2 up-convolution make them 28x28, and a 1x1 convolution gives one mask per
# class. The loss reads only the mask of the region's *true* class, so classes never compete
# for a pixel: the detector's classifier decides what, the branch only the shape.
# `dlcourse.models.mask_rcnn.MaskHead` is that branch with torchvision's state-dict keys
# (strict loads both ways, equal outputs and gradients, and `mask_loss` equal to torchvision's
# `maskrcnn_loss`: `tests/test_mask_rcnn.py`); its default size is maskrcnn_resnet50_fpn's:

# %%
with torch.device("meta"):
    print(f"Mask R-CNN's mask branch (256 channels in, 91 COCO classes): {count_params(MaskHead()):,} weights")

# %% [markdown]
# Here the branch sits on a U-Net's last features (full resolution: an encoder-decoder with
# skips is what Mask R-CNN's feature pyramid is, read at one level), and it is trained on the
# true boxes, as Mask R-CNN trains it on the regions that match a true object. Its target is
# the true mask cropped to the same box by RoIAlign, 28x28 (`mask_targets`).

# %%
class InstanceMasks(nn.Module):
    """images (N, 1, H, W) and boxes per image -> (R, classes, 28, 28) mask logits, R = all boxes."""

    def __init__(self, widths, features=16, classes=10):
        super().__init__()
        self.backbone = UNet(1, features, widths)           # a feature map as large as the image
        self.head = MaskHead(features, (features,) * 4, features, classes)

    def forward(self, images, boxes):
        features = F.relu(self.backbone(images))
        return self.head(torchvision.ops.roi_align(features, boxes, (14, 14), 1.0, 2))


def mask_step(model, batch):
    images, targets = batch
    boxes = [t["boxes"] for t in targets]
    logits = model(images, boxes)
    return mask_loss(logits, boxes, [t["masks"] for t in targets], [t["labels"] for t in targets],
                     [torch.arange(len(b)) for b in boxes])        # region i is true object i


torch.manual_seed(0)
instance_model = InstanceMasks(WIDTHS)
box_loader = DataLoader(train_set, BATCH, shuffle=True, collate_fn=collate_scenes,
                        generator=torch.Generator().manual_seed(0))
optimizer = torch.optim.AdamW(instance_model.parameters(), lr=3e-3, weight_decay=1e-4)
start = time.perf_counter()
dlcourse.fit(instance_model, box_loader, optimizer, epochs=EPOCHS, step=mask_step, metrics=(), device=device,
             amp=False)
print(f"mask branch trained in {time.perf_counter() - start:.0f} s")

# %% [markdown]
# On held-out scenes, given the true boxes and classes (the detector's part), each region's
# 28x28 mask of its class is pasted back into the image at its box (torchvision's
# `paste_masks_in_image`), thresholded at 0.5 and compared with the true instance mask:

# %%
instance_model.eval().cpu()
held_scenes = [test_set[i] for i in range(min(N_TEST, 100))]
mask_ious, pasted_masks = [], []
with torch.no_grad():
    for image, target in held_scenes:
        logits = instance_model(image[None], [target["boxes"]])
        probs = masks_of_class(logits, target["labels"]).sigmoid()
        pasted = paste_masks_in_image(probs[:, None], target["boxes"], image.shape[-2:], padding=1)[:, 0] > 0.5
        inter = (pasted & target["masks"]).flatten(1).sum(1)
        union = (pasted | target["masks"]).flatten(1).sum(1)
        mask_ious.append(inter / union.clamp(min=1))
        pasted_masks.append(pasted)
print(f"mean mask IoU over {sum(len(m) for m in mask_ious)} held-out digits, given their boxes: "
      f"{float(torch.cat(mask_ious).mean()):.3f}")

fig, axes = plt.subplots(2, 6, figsize=(12, 4.2))
for ax, (image, target), pasted in zip(axes.T, held_scenes, pasted_masks):
    for a, masks, title in ((ax[0], target["masks"], "true instances"), (ax[1], pasted, "mask branch")):
        a.imshow(image[0], cmap="gray", alpha=0.4), a.axis("off")
        ids = (masks * torch.arange(1, len(masks) + 1)[:, None, None]).amax(0) if len(masks) else image[0] * 0
        a.imshow(ids, cmap="tab10", alpha=0.6, vmin=0, vmax=10, interpolation="nearest")
axes[0, 0].set_title("true instances", fontsize=9, loc="left")
axes[1, 0].set_title("mask branch, true boxes", fontsize=9, loc="left")
plt.show()

# %% [markdown]
# ## 7. Exercises
#
# Each exercise has a check; a function that still returns `None` is reported as not
# attempted. Worked solutions: `solutions/chapters/16_segmentation.py`.
#
# ### Exercise 1: IoU per class
#
# Write `iou_per_class(pred, target, num_classes)`: two maps of class indices of the same
# shape to the (num_classes,) IoU of each class, NaN for a class that is in neither.

# %%
def my_iou_per_class(pred, target, num_classes):
    return None     # YOUR CODE HERE


# %%
exercises.check_iou_per_class(my_iou_per_class)

# %% [markdown]
# ### Exercise 2: the soft Dice loss
#
# Write `soft_dice_loss(logits, target)`: (N, C, H, W) logits and an (N, H, W) class map to
# 1 - the mean over classes of (2 * overlap + 1) / (predicted + true + 1), with softmax
# probabilities and the one-hot truth summed over the batch and the pixels.

# %%
def soft_dice_loss(logits, target):
    return None     # YOUR CODE HERE


# %%
exercises.check_soft_dice_loss(soft_dice_loss)

# %% [markdown]
# ### Exercise 3: the size the paper's U-Net gives
#
# Write `valid_unet_output(size, levels)`: the side of the map an unpadded U-Net with
# `levels` resolution levels (the paper's has 5) returns for a `size` x `size` input: each
# 3x3 convolution trims 2 pixels, each max-pool halves, each up-convolution doubles. Raise
# `ValueError` when a max-pool would meet an odd side or a side falls to 0 (the paper chose
# 572 so that neither happens): 572 with 5 levels gives 388.

# %%
def valid_unet_output(size, levels):
    return None     # YOUR CODE HERE


# %%
exercises.check_valid_unet_output(valid_unet_output)

# %% [markdown]
# ## 8. Summary
#
# - A segmenter's output is a class map as large as the image; cross-entropy trains each pixel
#   as a classifier.
# - Pixel accuracy rewards the background; IoU and Dice per class, averaged over classes, do
#   not. Both come from one confusion matrix, and the course's equal `torchmetrics`' (tested).
# - The U-Net's skips give the decoder the encoder's detail at each level; the paper's unpadded
#   convolutions shrink 572 to 388, the padded variant keeps the size.
# - The soft Dice loss weighs every class alike; the recipe trains on cross-entropy + Dice.
#
# - Instance segmentation gives each object its own mask: Mask R-CNN's branch predicts, per
#   region, a 28x28 mask per class, and learns only the true class's.
#
# Not in this chapter yet: the branch on a trained detector's own regions (the whole Mask
# R-CNN, which waits for chapter 15's Faster R-CNN).
#
# ## References
#
# - Ronneberger, Fischer & Brox (2015), *U-Net: Convolutional Networks for Biomedical Image
#   Segmentation*, MICCAI.
# - Long, Shelhamer & Darrell (2015), *Fully Convolutional Networks for Semantic
#   Segmentation*, CVPR.
# - Milletari, Navab & Ahmadi (2016), *V-Net*, 3DV (the soft Dice loss).
# - He, Gkioxari, Dollár & Girshick (2017), *Mask R-CNN*, ICCV.
