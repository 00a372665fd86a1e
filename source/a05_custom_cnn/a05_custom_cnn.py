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
# # Assignment 5: design a CNN under a budget
#
# Real image data usually arrives as one folder of files per class. In this assignment you read
# such a data set with torchvision's `ImageFolder`, then design a convolutional network for it
# under a parameter budget and a compute budget. The course trains your design with a fixed
# recipe and grades it on test accuracy.
#
# The data: four CIFAR-10 classes (airplane, automobile, ship, truck) as 32x32 JPEG files,
# 500 training and 200 test images per class, laid out as `root/train/<class>/*.jpg` and
# `root/test/<class>/*.jpg`. `cifar10_folder()` (in the setup cell) builds the folder once from
# the course's data and returns `root`.
#
# | task | what you write | points |
# |---|---|---|
# | Task 1 | `load_split`: the data set of one split, as normalised tensors | 3 |
# | Task 2 | `CustomCNN`: your network, within the budgets | 2 |
# | Task 2, accuracy | the course trains it: tiers at 55%, 63% and 70% test accuracy | 2 + 2 + 2 |
# | total | | 11 |
#
# **How to work.**
#
# 1. Run the setup cell below first.
# 2. Replace `# YOUR CODE HERE` / `raise NotImplementedError()` with your code. Keep the names
#    and signatures.
# 3. Run the test cell under each task. A failing test says what is wrong and what to change.
#    When you are graded, hidden tests also check other items and the test split, and train
#    your network (below). Each task is graded on its own: the training reads the data with the
#    course's own loader, not your `load_split`.
# 4. Before you submit: *Kernel → Restart & Run All* (or the **Validate** button) must run
#    with no errors. The visible tests take a few seconds on a laptop CPU; no GPU needed.
#
# **Rules.** Any `torch.nn` layer and `torch.nn.functional`; not `torchvision.models` nor
# pretrained weights. Do not change the test cells (they are read-only and are replaced by the
# originals at grading time).

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import torch
import torch.nn.functional as F
from torch import nn
from torchvision import datasets, transforms

from dlcourse.data import CIFAR10_MEAN, CIFAR10_STD, cifar10_folder
from dlcourse.exercises.assignments.a05_custom_cnn import check_accuracy, check_budgets, check_load_split

ROOT = cifar10_folder()  # root/train/<class>/*.jpg and root/test/<class>/*.jpg
_ = torch.manual_seed(0)  # `_ =`: no output

# %% [markdown]
# ## Task 1: read an image folder (3 points)
#
# `load_split(root, split)` returns `torchvision.datasets.ImageFolder` on the folder
# `root / split` (`split` is `"train"` or `"test"`). `ImageFolder` finds the class folders,
# sorts them (label 0 is `airplane`), and opens each image as a PIL image; its `transform`
# turns that into what the network takes: `transforms.ToTensor()` (a (3, 32, 32) float tensor
# in [0, 1], channels first), then `transforms.Normalize(CIFAR10_MEAN, CIFAR10_STD)` (per
# channel: subtract the mean, divide by the standard deviation).

# %% nbgrader={"grade": false, "grade_id": "task1_load_split", "locked": false, "schema_version": 3, "solution": true, "task": false}
def load_split(root, split):
    """The image-folder data set root/split, items (normalised (3, 32, 32) tensor, label)."""
    ### BEGIN SOLUTION
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize(CIFAR10_MEAN, CIFAR10_STD)])
    return datasets.ImageFolder(str(root / split) if hasattr(root, "joinpath") else f"{root}/{split}",
                                transform=transform)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task1_load_split_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Task 1 tests: size, classes and a few items against ImageFolder with the instructions' transform
check_load_split(load_split, "train")
### BEGIN HIDDEN TESTS
check_load_split(load_split, "test", indices=(3, 250, 640, 799))
check_load_split(load_split, "train", indices=(42, 1234, 1500))
### END HIDDEN TESTS
print("load_split: tests passed")

# %% [markdown]
# ## Task 2: your network (2 points, then 2 + 2 + 2 for its accuracy)
#
# Design `CustomCNN(num_classes)`: (N, 3, 32, 32) normalised images to (N, num_classes) logits.
#
# **Budgets** (the visible test checks them):
#
# * at most **150,000 parameters**;
# * at most **20 MFLOPs** for one image's forward pass, counted by
#   `torch.utils.flop_counter.FlopCounterMode` (a 3x3 convolution from $c_i$ to $c_o$ channels
#   on an $h \times w$ map costs $2 \cdot 9\, c_i c_o h w$ FLOPs: the layers at full 32x32
#   resolution are the expensive ones);
# * one forward and backward pass on 64 images within 2 s on a CPU core (a loose guard: a
#   design within the FLOP budget takes about 0.1-0.4 s).
#
# **How it is graded**: your model is built once (seed 0) and traced with `torch.export`, and the
# grader rebuilds it from that trace (`dlcourse.model_spec`): the counts, the time and the
# training below are of the rebuilt model. So `forward` may branch on shapes and on
# `self.training`, not on the values of a tensor, and must work for any batch size.
#
# **The training** (hidden tests): the grader starts every layer of the rebuilt `CustomCNN(4)`
# the way PyTorch starts it (convolutions and linear layers uniform in ±1/sqrt(fan-in), norms at
# 1 and 0; a custom initialisation of yours is not used, and at most 64 numbers that no layer
# takes are kept), then trains it with the course's recipe,
# `dlcourse.exercises.assignments.a05_custom_cnn.train_custom_cnn`: 4 epochs over the 2,000
# training images, batch 64, AdamW (weight decay 0.05) with a one-cycle schedule peaking at
# 3e-3, via `dlcourse.fit` (fp32 on one CPU thread, no mixed precision). Within the budgets that
# takes about 15-35 s on a 2-core CPU, inside the grader's 120 s per cell. The trained network is
# tested on the 800 test images: at least **55%** earns 2 points, **63%** 2 more, **70%** 2 more. Three
# conv-BatchNorm-ReLU-pool stages with global average pooling reach about 65%; more depth at
# low resolution does better. To see your number, run `check_accuracy(CustomCNN)` in a scratch
# cell (about 30 s), and delete it before you submit.

# %% nbgrader={"grade": false, "grade_id": "task2_custom_cnn", "locked": false, "schema_version": 3, "solution": true, "task": false}
class CustomCNN(nn.Module):
    """Your CNN for 32x32 RGB images: (N, 3, 32, 32) -> (N, num_classes) logits."""

    def __init__(self, num_classes=4):
        super().__init__()
        ### BEGIN SOLUTION
        def conv_bn_relu(c_in, c_out):
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]

        # Few channels at 32x32 (where every channel is expensive), more depth at 8x8 and 4x4.
        self.features = nn.Sequential(*conv_bn_relu(3, 32), nn.MaxPool2d(2),      # 16x16
                                      *conv_bn_relu(32, 48), nn.MaxPool2d(2),     # 8x8
                                      *conv_bn_relu(48, 64), *conv_bn_relu(64, 64), nn.MaxPool2d(2),  # 4x4
                                      *conv_bn_relu(64, 80))
        self.fc = nn.Linear(80, num_classes)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        return self.fc(self.features(x).mean(dim=(2, 3)))   # global average pooling, then the logits
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task2_custom_cnn_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Task 2 tests: parameters, FLOPs, output shape, and the time of one training step
check_budgets(CustomCNN)
### BEGIN HIDDEN TESTS
check_budgets(CustomCNN, num_classes=7)
### END HIDDEN TESTS
print("CustomCNN: tests passed")

# %% nbgrader={"grade": true, "grade_id": "task2_custom_cnn_accuracy_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Task 2 accuracy, tier 1 (hidden): the course's recipe reaches at least 55% on the test images
### BEGIN HIDDEN TESTS
a05_accuracy = 0.0
check_budgets(CustomCNN)  # a design over budget earns no accuracy points
a05_accuracy = check_accuracy(CustomCNN)
assert a05_accuracy >= 0.55, f"test accuracy {a05_accuracy:.1%} is below 55%"
### END HIDDEN TESTS
print("CustomCNN accuracy: checked when you are graded (hidden test)")

# %% nbgrader={"grade": true, "grade_id": "task2_custom_cnn_accuracy_tier2_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Task 2 accuracy, tier 2 (hidden): at least 63% (the training above is not repeated)
### BEGIN HIDDEN TESTS
assert a05_accuracy >= 0.63, f"test accuracy {a05_accuracy:.1%} is below 63%"
### END HIDDEN TESTS
print("CustomCNN accuracy, tier 2: checked when you are graded (hidden test)")

# %% nbgrader={"grade": true, "grade_id": "task2_custom_cnn_accuracy_tier3_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Task 2 accuracy, tier 3 (hidden): at least 70%
### BEGIN HIDDEN TESTS
assert a05_accuracy >= 0.70, f"test accuracy {a05_accuracy:.1%} is below 70%"
### END HIDDEN TESTS
print("CustomCNN accuracy, tier 3: checked when you are graded (hidden test)")
