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
# # Assignment 3: LeNet-5 on MNIST
#
# In this assignment you build LeNet-5 (LeCun et al. 1998), the first convolutional network
# that read digits in production, in its modern form: ReLU instead of tanh, max pooling, and
# MNIST's 28x28 digits padded by 2 in the first convolution (the original took 32x32 inputs).
#
# | task | what you write | points |
# |---|---|---|
# | Task 1 | `conv_output_size`: the size of a convolution's or pooling's output | 2 |
# | Task 2 | `LeNet5`: the layers and the forward pass | 5 |
# | Task 2, training | the course trains your `LeNet5` (hidden test, about 10 s) | 2 |
# | total | | 9 |
#
# **How to work.**
#
# 1. Run the setup cell below first.
# 2. Replace `# YOUR CODE HERE` / `raise NotImplementedError()` with your code. Keep the names
#    and signatures.
# 3. Run the test cell under each task. A failing test says what is wrong and what to change
#    (a missing flatten, a padding that shrinks 28x28 to 24x24, a forgotten ReLU, a wrong layer
#    size...). When you are graded the same cells also run hidden tests: other inputs, other
#    weights, the gradients of every parameter, and a short training run (below).
#    Every test cell scores only its own task, so partial work earns partial credit.
# 4. Before you submit: *Kernel → Restart & Run All* (or the **Validate** button) must run
#    with no errors. The visible tests take a few seconds on a laptop CPU; no GPU needed.
#
# **Rules.** Use `torch.nn` layers (`nn.Conv2d`, `nn.Linear`) and `torch.nn.functional`
# (`F.relu`, `F.max_pool2d`) or their module forms; do not copy the course's reference model
# (`dlcourse.exercises.assignments.a03_lenet5`). Do not change the test cells (they are read-only and are
# replaced by the originals at grading time).

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import torch
import torch.nn.functional as F
from torch import nn

from dlcourse.exercises.assignments.a03_lenet5 import check_conv_output_size, check_lenet5, check_training

_ = torch.manual_seed(0)  # `_ =`: no output

# %% [markdown]
# ## Task 1: the output size of a convolution (2 points)
#
# A convolution (or a pooling) with a square kernel of size $k$, padding $p$ on every side and
# stride $s$ turns an input of size $n \times n$ into one of size
#
# $$ n_{\text{out}} = \left\lfloor \frac{n + 2p - k}{s} \right\rfloor + 1 . $$
#
# Write it as `conv_output_size(size, kernel, padding, stride)`, returning an `int`. Then use
# it to follow LeNet-5: $28 \to$ conv $5\times5$, pad 2 $\to 28 \to$ pool $2\times2$, stride 2
# $\to 14 \to$ conv $5\times5 \to 10 \to$ pool $\to 5$; so $16 \times 5 \times 5 = 400$
# numbers reach the first fully connected layer.

# %% nbgrader={"grade": false, "grade_id": "task1_conv_output_size", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv_output_size(size, kernel, padding=0, stride=1):
    """The height (= width) of the output of a k x k convolution or pooling on a size x size input."""
    ### BEGIN SOLUTION
    return (size + 2 * padding - kernel) // stride + 1
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task1_conv_output_size_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Task 1 tests: LeNet-5's sizes and a few strided cases
check_conv_output_size(conv_output_size)
### BEGIN HIDDEN TESTS
check_conv_output_size(conv_output_size, cases=((224, 7, 3, 2, 112), (112, 3, 1, 2, 56), (5, 5, 0, 1, 1),
                                                (9, 3, 2, 3, 4), (64, 1, 0, 2, 32)))
### END HIDDEN TESTS
print("conv_output_size: tests passed")

# %% [markdown]
# ## Task 2: LeNet-5 (5 + 2 points)
#
# Build the network as an `nn.Module` with **exactly these attribute names** (the tests load
# given weights into your model by the state-dict keys `conv1.weight`, `conv1.bias`, ...,
# `fc3.bias`, and compare your logits with the reference's):
#
# | stage | layer | output shape |
# |---|---|---|
# | input | | (N, 1, 28, 28) |
# | `conv1` | `nn.Conv2d(1, 6, kernel_size=5, padding=2)`, then ReLU | (N, 6, 28, 28) |
# | pool | 2x2 max pooling, stride 2 | (N, 6, 14, 14) |
# | `conv2` | `nn.Conv2d(6, 16, kernel_size=5)`, then ReLU | (N, 16, 10, 10) |
# | pool | 2x2 max pooling, stride 2 | (N, 16, 5, 5) |
# | flatten | | (N, 400) |
# | `fc1` | `nn.Linear(400, 120)`, then ReLU | (N, 120) |
# | `fc2` | `nn.Linear(120, 84)`, then ReLU | (N, 84) |
# | `fc3` | `nn.Linear(84, 10)`: the logits, no ReLU | (N, 10) |
#
# That is 61,706 parameters (count them: $6 \cdot 25 + 6$, $16 \cdot 6 \cdot 25 + 16$, ...).
# Pooling has no parameters: use `F.max_pool2d(x, 2)` in `forward` (or an `nn.MaxPool2d`
# under another name). `forward` returns the logits (no softmax: `F.cross_entropy` takes
# logits).
#
# **The training test** (hidden, 2 points): the grader trains a fresh `LeNet5()` with the
# course's fixed recipe, `dlcourse.exercises.assignments.a03_lenet5.train_lenet5` (one epoch over 8,000
# MNIST training images, Adam with learning rate 2e-3, batch 32, seed 0, in float64 so that it
# scores the same on every machine; about 5-10 s on a 2-core CPU, well inside the grader's 120 s
# per cell), and needs at least 92% accuracy on 2,000 MNIST test images. A correct LeNet-5 gets
# 93.4% to 97.1% (seeds 0 to 9; your layers' order decides which numbers your weights start
# from, as a seed does; seed 0 gives 94.65%). You can run it yourself in a
# scratch cell: `check_training(LeNet5)` (delete the cell before you submit).

# %% nbgrader={"grade": false, "grade_id": "task2_lenet5", "locked": false, "schema_version": 3, "solution": true, "task": false}
class LeNet5(nn.Module):
    """LeNet-5 for 28x28 MNIST digits: (N, 1, 28, 28) -> (N, 10) logits."""

    def __init__(self):
        super().__init__()
        ### BEGIN SOLUTION
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5, padding=2)   # 28x28 stays 28x28
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)              # 14x14 -> 10x10
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)
        ### END SOLUTION

    def forward(self, x):
        ### BEGIN SOLUTION
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.flatten(1)                                          # (N, 16, 5, 5) -> (N, 400)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task2_lenet5_test", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
# Task 2 tests: the layers, the shape after every stage, the parameter count, and the logits
# under given weights (loaded by the names conv1 ... fc3) against the reference's
check_lenet5(LeNet5, seed=0, batch=4)
### BEGIN HIDDEN TESTS
check_lenet5(LeNet5, seed=11, batch=7, gradients=True)
check_lenet5(LeNet5, seed=12, batch=1, gradients=True)
### END HIDDEN TESTS
print("LeNet5: tests passed")

# %% nbgrader={"grade": true, "grade_id": "task2_lenet5_training_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Task 2 training test (hidden): one epoch of the course's recipe on 8,000 MNIST images,
# at least 92% on 2,000 test images
### BEGIN HIDDEN TESTS
check_training(LeNet5, threshold=0.92)
### END HIDDEN TESTS
print("LeNet5 training: checked when you are graded (hidden test)")
