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
# # Assignment 4: a residual network on CIFAR-10
#
# In this assignment you build the residual basic block of He et al. (2016), a small ResNet
# made of it, the evaluation that a network with BatchNorm needs, and a training recipe that
# gets the most out of a fixed budget of CIFAR-10 images.
#
# | task | what you write | points |
# |---|---|---|
# | Task 1 | `BasicBlock`: two 3x3 convolutions with BatchNorm, and the shortcut | 5 |
# | Task 2 | `SmallResNet`: a stem, three blocks, pooling and a classifier | 3 |
# | Task 3 | `evaluate`: the accuracy of a model, in evaluation mode | 2 |
# | Task 4 | `recipe`: your training recipe, graded on test accuracy (two tiers) | 2 + 2 |
# | total | | 14 |
#
# **How to work.**
#
# 1. Run the setup cell below first.
# 2. Replace `# YOUR CODE HERE` / `raise NotImplementedError()` with your code. Keep the names,
#    the attribute names and the signatures: the tests load given weights into your modules by
#    their state-dict keys.
# 3. Run the test cell under each task. A failing test says what is wrong and what to change.
#    When you are graded the same cells also run hidden tests (other shapes and weights,
#    the gradients, and the training run of Task 4). Every task is graded on its own: Task 2
#    and Task 4 are tested with the course's own block, Task 3 with the course's own ResNet,
#    so partial work earns partial credit.
# 4. Before you submit: *Kernel → Restart & Run All* (or the **Validate** button) must run
#    with no errors. The visible tests take a few seconds on a laptop CPU; no GPU needed.
#
# **Rules.** Use `torch.nn` layers (`nn.Conv2d`, `nn.BatchNorm2d`, `nn.Linear`, `nn.Sequential`)
# and `torch.nn.functional`; not `torchvision.models` nor the course's reference classes in
# `dlcourse.exercises.assignments.a04_resnet_cifar10`. Do not change the test
# cells (they are read-only and are replaced by the originals at grading time).

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import torch
import torch.nn.functional as F
from torch import nn

import dlcourse
from dlcourse.exercises.assignments.a04_resnet_cifar10 import check_block, check_evaluate, check_recipe, check_resnet, check_training

_ = torch.manual_seed(0)  # `_ =`: no output

# %% [markdown]
# ## Task 1: the basic block (5 points)
#
# $$ \text{out} = \mathrm{ReLU}\big(\mathrm{BN_2}(\mathrm{conv_2}(\mathrm{ReLU}(\mathrm{BN_1}(\mathrm{conv_1}(x))))) + \mathrm{shortcut}(x)\big) $$
#
# * `conv1`: 3x3, `in_channels` to `out_channels`, **stride `stride`**, `padding=1`, `bias=False`
#   (the BatchNorm after it has its own shift); `bn1 = nn.BatchNorm2d(out_channels)`;
# * `conv2`: 3x3, `out_channels` to `out_channels`, stride 1, `padding=1`, `bias=False`; `bn2`;
# * `shortcut`: the identity, `nn.Sequential()` (no parameters), when the shape does not change.
#   When `stride != 1` or `in_channels != out_channels`, $x$ cannot be added to the output as
#   it is: the **projection** `nn.Sequential(nn.Conv2d(in_channels, out_channels, 1,
#   stride=stride, bias=False), nn.BatchNorm2d(out_channels))` gives it the output's shape;
# * the ReLU comes **after** the addition (the residual branch's output may be negative).
#
# The state-dict keys are then `conv1.weight`, `bn1.weight`, `bn1.bias`, `bn1.running_mean`,
# ..., `conv2.weight`, `bn2.*`, and with a projection `shortcut.0.weight`, `shortcut.1.*`.

# %% nbgrader={"grade": false, "grade_id": "task1_basic_block", "locked": false, "schema_version": 3, "solution": true, "task": false}
class BasicBlock(nn.Module):
    """ResNet's basic block: (N, in_channels, H, W) -> (N, out_channels, H / stride, W / stride)."""

    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        ### BEGIN SOLUTION
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(out_channels))
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task1_basic_block_test", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
# Task 1 tests: given weights loaded by name; outputs in eval mode (running statistics) and in
# train mode (batch statistics) against the reference block, with and without the projection
check_block(BasicBlock, 16, 16, stride=1)
check_block(BasicBlock, 16, 32, stride=2)
### BEGIN HIDDEN TESTS
check_block(BasicBlock, 8, 8, stride=1, seed=5, batch=3, gradients=True)
check_block(BasicBlock, 8, 16, stride=1, seed=6, gradients=True)
check_block(BasicBlock, 16, 16, stride=2, seed=7, size=9, gradients=True)
### END HIDDEN TESTS
print("BasicBlock: tests passed")

# %% [markdown]
# ## Task 2: a small ResNet (3 points)
#
# `SmallResNet(block)` takes the block class as an argument (as torchvision's `ResNet` does), so
# it works with any block with the signature `block(in_channels, out_channels, stride)`; the
# tests pass the course's own block. With `widths=(16, 32, 64)`:
#
# | attribute | layer | output for a (N, 3, 32, 32) input |
# |---|---|---|
# | `conv1`, `bn1` | 3x3 conv 3 to 16, `padding=1`, `bias=False`; BatchNorm; ReLU | (N, 16, 32, 32) |
# | `layer1` | `block(16, 16, 1)` | (N, 16, 32, 32) |
# | `layer2` | `block(16, 32, 2)` | (N, 32, 16, 16) |
# | `layer3` | `block(32, 64, 2)` | (N, 64, 8, 8) |
# | | global average pooling over height and width | (N, 64) |
# | `fc` | `nn.Linear(64, num_classes)`: the logits | (N, 10) |
#
# With the basic block that is 78,042 parameters.

# %% nbgrader={"grade": false, "grade_id": "task2_small_resnet", "locked": false, "schema_version": 3, "solution": true, "task": false}
class SmallResNet(nn.Module):
    """A ResNet for 32x32 images: (N, 3, 32, 32) -> (N, num_classes) logits."""

    def __init__(self, block, num_classes=10, widths=(16, 32, 64)):
        super().__init__()
        ### BEGIN SOLUTION
        self.conv1 = nn.Conv2d(3, widths[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.layer1 = block(widths[0], widths[0], 1)
        self.layer2 = block(widths[0], widths[1], 2)
        self.layer3 = block(widths[1], widths[2], 2)
        self.fc = nn.Linear(widths[2], num_classes)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(x.mean(dim=(2, 3)))
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task2_small_resnet_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Task 2 tests: SmallResNet(course block) with given weights, against the reference
check_resnet(SmallResNet)
### BEGIN HIDDEN TESTS
check_resnet(SmallResNet, seed=3, batch=5, gradients=True)
### END HIDDEN TESTS
print("SmallResNet: tests passed")

# %% [markdown]
# ## Task 3: evaluation (2 points)
#
# `evaluate(model, images, labels)` returns the fraction (a float from 0 to 1) of `images`
# whose largest logit is at the label. Two things make it right for a network with BatchNorm:
#
# * `model.eval()` first: in training mode BatchNorm normalises with the statistics of the
#   batch at hand (so a prediction would depend on the other images of the batch) and updates
#   its running statistics, changing the model you measure;
# * `torch.no_grad()`: no graph is kept, which saves memory and time.
#
# Process the images in batches of at most `batch_size`.

# %% nbgrader={"grade": false, "grade_id": "task3_evaluate", "locked": false, "schema_version": 3, "solution": true, "task": false}
def evaluate(model, images, labels, batch_size=256):
    """Accuracy (float in [0, 1]) of ``model`` on ``images`` (N, 3, H, W) with integer ``labels`` (N,)."""
    ### BEGIN SOLUTION
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(images), batch_size):
            logits = model(images[start:start + batch_size])
            correct += (logits.argmax(dim=1) == labels[start:start + batch_size]).sum().item()
    return correct / len(images)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task3_evaluate_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Task 3 tests: a course ResNet, left in training mode as after training, with given weights
check_evaluate(evaluate)
### BEGIN HIDDEN TESTS
check_evaluate(evaluate, seed=4, n=300)
### END HIDDEN TESTS
print("evaluate: tests passed")

# %% [markdown]
# ## Task 4: a training recipe under a budget (2 + 2 points)
#
# `recipe()` returns your training recipe as a dict; the grader trains the course's
# `SmallResNet` (with the basic block, seeded) with it, using `dlcourse.fit`, for one pass over
# 5,000 normalised CIFAR-10 training images: the **budget** is that one epoch. You choose:
#
# | key | what it sets | values (default) |
# |---|---|---|
# | `batch_size` | images per optimizer step | 8 to 512 (required) |
# | `optimizer` | the update rule | `"sgd"`, `"adam"` or `"adamw"` (required) |
# | `lr` | the learning rate; the peak of a schedule | 1e-5 to 1 (required) |
# | `schedule` | how the rate moves over the epoch | `"constant"`, `"cosine"` or `"one_cycle"` (`"constant"`) |
# | `warmup` | the fraction of the steps spent climbing to `lr` | 0 to 0.5 (none; 0.3 for one-cycle) |
# | `momentum` | SGD's momentum, Adam's beta1 | 0 to 0.99 (0.9) |
# | `nesterov` | Nesterov momentum, SGD only | `True` / `False` (`False`) |
# | `weight_decay` | L2 (SGD, Adam) or decoupled (AdamW) | 0 to 0.5 (0) |
# | `label_smoothing` | the cross-entropy's smoothing | 0 to 0.5 (0) |
# | `clip_grad` | clip the gradients' global norm to this | 0.01 to 100 (no clipping) |
#
# The recipe is data, not code: what the grader runs is the course's own loop with your
# choices (`dlcourse.exercises.assignments.a04_resnet_cifar10.train_recipe`), so the budget
# cannot be bent and every student's recipe runs the same way.
#
# **Grading** (hidden tests): the grader trains with your recipe with a fixed seed and tests the
# model on 1,000 CIFAR-10 test images: at least **25%** earns 2 points, at least **30%** 2 more (one
# epoch of Adam at 3e-3 with batch 32 gets about 34%; a one-cycle schedule does better). To see your
# number, run `check_training(recipe)` in a scratch cell (about 10-20 s), and delete it before you submit.

# %% nbgrader={"grade": false, "grade_id": "task4_train", "locked": false, "schema_version": 3, "solution": true, "task": false}
def recipe():
    """Your training recipe: a dict of the keys above."""
    ### BEGIN SOLUTION
    return {"batch_size": 32, "optimizer": "adamw", "lr": 5e-3, "weight_decay": 0.05, "schedule": "one_cycle"}
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task4_train_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Task 4, tier 1: a recipe the grader can run (its keys, types and ranges; no training here), and
# (hidden) the grader's training run with it reaches at least 25% test accuracy
check_recipe(recipe)
### BEGIN HIDDEN TESTS
a04_accuracy = 0.0
a04_accuracy = check_training(recipe)
assert a04_accuracy >= 0.25, f"test accuracy {a04_accuracy:.1%} is below 25%: tune the learning rate and schedule"
### END HIDDEN TESTS
print("recipe: checked when you are graded (hidden test)")

# %% nbgrader={"grade": true, "grade_id": "task4_train_tier2_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Task 4, tier 2 (hidden): at least 30% test accuracy (the run above is not repeated)
### BEGIN HIDDEN TESTS
assert a04_accuracy >= 0.30, (f"test accuracy {a04_accuracy:.1%} is below 30%: try a one-cycle schedule "
                              "('schedule': 'one_cycle') and a smaller batch")
### END HIDDEN TESTS
print("recipe, tier 2: checked when you are graded (hidden test)")
