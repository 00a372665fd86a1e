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
# # 00 · Welcome
#
# **Deep Learning Architectures, built step by step** is a course you *run*. Each chapter
# notebook builds one family of architectures from first principles, proves the build
# correct against PyTorch's own implementation (or real pretrained weights), trains it on
# real data, and opens it up with plots and widgets. Graded practice comes as nbgrader
# assignments with visible and hidden tests.
#
# **In this notebook** you will
#
# - see how the course and every chapter are organised, and how to run them (fast mode,
#   `make lab`, `make test`);
# - check your environment with `dlcourse.env_report()`;
# - meet the device helper and mixed precision (`dlcourse.setup`, `get_device`,
#   `autocast_dtype`);
# - learn where the data comes from (cache, mirrors, checked downloads) and look at real
#   MNIST digits;
# - learn how the graded assignments work.
#
# **Prerequisites**: Python and a little NumPy. Nothing else.
#
# **Run time**: CPU (2 cores): about 13 s full mode, 12 s fast mode; GPU: not measured yet.

# %% [markdown]
# ## 1. How the course works
#
# ### The parts
#
# | part | chapters |
# |---|---|
# | 0 welcome | 00 this notebook |
# | 1 foundations | 01 tensors and autograd · 02 perceptron · 03 MLP and activations · 04 backprop by hand |
# | 2 training | 05 losses · 06 optimizers · 07 regularization and normalization · 08 schedules and stability |
# | 3 vision | 09 convolutions · 10 LeNet-5 · 11 AlexNet and VGG · 12 ResNet · 13 Inception, MobileNet, EfficientNet · 14 vision transformer · 15 detection · 16 segmentation |
# | 4 sequences | 17 RNN · 18 LSTM, GRU, bidirectional · 19 attention · 20 transformer |
# | 5 language models | 21 BERT · 22 GPT · 23 T5 |
# | 6 generative | 24 autoencoders and VAE · 25 GANs · 26 diffusion |
# | 7 practice at scale | 27 transfer learning · 28 compression and edge · 29 GPUs and distributed training · 30 self-supervised and few-shot · 31 explainability · 32 responsible AI |
#
# Read them in order: each chapter uses what the earlier ones built. The notebooks live
# in `notebooks/<part>/`, numbered in reading order; start with
# [01 · Tensors and autograd](../part1_foundations/01_tensors_autograd.ipynb).
#
# ### The anatomy of a chapter
#
# Every chapter notebook has the same eight parts, so you always know where you are:
#
# 1. **Title**: what you will build, the prerequisites, and the expected run time on a
#    CPU and on a GPU.
# 2. **Parameters**: one cell, tagged `parameters`, holds the budget (epochs, subset
#    sizes). Change it there and nowhere else.
# 3. **Build it from scratch**, explained step by step, in small cells.
# 4. **Check it**: the from-scratch version against the course's reference in `dlcourse`
#    and against PyTorch. Every check prints its measured error next to the tolerance.
# 5. **Train it on real data** with `dlcourse.fit`: a progress bar and a live loss plot.
# 6. **Look inside**: filters, activations, gates, attention maps, samples.
# 7. **Exercises** that check themselves, and a pointer to the graded assignment.
# 8. **Summary and references**: the papers behind the chapter.
#
# ### Fast mode
#
# Full training runs can take minutes on a laptop. Set the environment variable
# `DLCOURSE_FAST=1` and every notebook shrinks its budget (fewer epochs, smaller subsets
# of the *same* real data) so that it runs in seconds. The tests and CI always run in fast
# mode; you normally leave it off. A notebook reads it with `dlcourse.fast_mode()`.
#
# ### Two commands
#
# From the repository root, with Python 3.10+ and `make`:
#
# ```bash
# make lab     # create .venv on first use, install the course, open JupyterLab
# make test    # the whole test suite: unit tests, every notebook in fast mode, the grading round trip
# ```
#
# Both create the virtual environment `.venv` the first time and reuse it afterwards.

# %% [markdown]
# ## Setup
#
# Every notebook starts like this. `dlcourse.setup` seeds Python, NumPy and PyTorch (so a
# rerun gives the same numbers), sets the number of CPU threads, asks PyTorch for
# deterministic kernels, and returns the best device. It prints one line saying what it
# chose.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

import dlcourse
from dlcourse.cli import main as dlcourse_cli
from dlcourse.data import DataNotFoundError, Resource

device = dlcourse.setup(seed=0)

# %% [markdown]
# The budget of this notebook: how many digits to show.

# %% tags=["parameters"]
FAST = dlcourse.fast_mode()
N_DIGITS = 16 if FAST else 32      # MNIST digits in the picture

# %% [markdown]
# ## 2. Check your environment
#
# `dlcourse.env_report()` prints what a bug report needs: the versions of the main
# packages, the device and its mixed-precision setting, whether fast mode is on, and where
# each data set would be read from. (It checks the data files' checksums, which takes a
# few seconds the first time.) If something looks wrong later, run `python -m dlcourse env`
# in a terminal and paste its output into your question.

# %%
report = dlcourse.env_report()

# %% [markdown]
# ## 3. One code path for every device
#
# `dlcourse.get_device()` returns the best available device, in this order:
#
# 1. `cuda`: an NVIDIA GPU;
# 2. `mps`: the GPU of an Apple-silicon Mac;
# 3. `cpu`.
#
# Set the environment variable `DLCOURSE_DEVICE=cpu` (or call `get_device("cpu")`) to
# force one. Models and tensors move there with `.to(device)`, and the rest of the code
# does not change.

# %%
print("best device here:", dlcourse.get_device())
print("forced CPU:      ", dlcourse.get_device("cpu"))

# %% [markdown]
# ### Mixed precision
#
# Most of a network's arithmetic does not need 32-bit floats. On hardware built for it,
# 16-bit formats halve memory traffic and run matrix multiplications several times
# faster. **Mixed precision** runs those operations in 16 bits while keeping the weights
# and the numerically delicate operations (sums, softmax, losses) in 32 bits
# (Micikevicius et al. 2018). There are two 16-bit formats:
#
# - `bfloat16` keeps `float32`'s exponent range, so gradients neither overflow nor
#   underflow; recent NVIDIA GPUs and recent Intel CPUs (AMX, AVX512-BF16) compute it
#   natively;
# - `float16` has more precision but a narrow range: small gradients round to zero
#   unless the loss is scaled up first (a *gradient scaler*), which `dlcourse.fit` adds
#   automatically.
#
# `dlcourse.autocast_dtype(device)` decides whether mixed precision helps on a device and
# with which format: `None` means plain `float32` (Apple MPS, CPUs without fast bf16).
# `dlcourse.fit` asks it, so you never have to.

# %%
for dev in dict.fromkeys([str(device), "cpu"]):      # this notebook's device, then the CPU
    amp = dlcourse.autocast_dtype(dev)
    print(f"{dev}: mixed precision {'off (float32)' if amp is None else amp}")

# %% [markdown]
# Under `torch.autocast`, a matrix multiplication returns the 16-bit type while the inputs
# stay `float32`. The price is precision: `bfloat16` keeps about 3 significant digits.

# %%
amp = dlcourse.autocast_dtype(device)
a = torch.randn(256, 256, device=device)
b = torch.randn(256, 256, device=device)
exact = a @ b
if amp is None:
    print(f"mixed precision is off on {device}: every matmul stays float32")
else:
    with torch.autocast(device_type=device.type, dtype=amp):
        fast = a @ b
    rel = ((fast.float() - exact).abs().max() / exact.abs().max()).item()
    print(f"inside autocast: result dtype {fast.dtype}, inputs still {a.dtype}; "
          f"max relative difference from float32: {rel:.1e}")

# %% [markdown]
# ## 4. Where the data comes from
#
# Every data set in the course is real (MNIST, CIFAR-10, movie reviews, Tiny
# Shakespeare, and the small sets that ship inside scikit-learn and statsmodels). The data
# layer, `dlcourse.data`, looks for each file in this order:
#
# 1. **the cache**, `$DLCOURSE_CACHE` (default `~/.cache/dlcourse`): the only place it
#    ever writes;
# 2. **read-only mirrors** listed in `$DLCOURSE_DATA_MIRRORS` (separated by `:`, or `;` on
#    Windows), laid out like the cache; course machines and CI point it at a shared folder;
# 3. **the canonical download** (the data set's own host, as torchvision uses), saved to
#    the cache.
#
# Every file is verified against a known checksum before it is used, a download is
# written to a temporary file and renamed only when complete (so an interrupted download
# never leaves a broken file), and `DLCOURSE_OFFLINE=1` forbids downloads altogether. On
# this machine:

# %%
print("cache:  ", dlcourse.data.cache_dir())
print("mirrors:", dlcourse.data.mirror_dirs() or "none")
print("offline:", dlcourse.data.offline())

# %% [markdown]
# To fetch a data set ahead of time (say, before a train journey), run in a terminal
#
# ```bash
# python -m dlcourse data mnist          # or: mnist cifar10 sst2 tinyshakespeare ...
# ```
#
# It finds the files, or downloads and checks them, and says `ok`. The same command from
# inside Python:

# %%
exit_code = dlcourse_cli(["data", "mnist"])      # 0 means success, as for any command

# %% [markdown]
# When a file cannot be found, you get an error that says where it looked and exactly how
# to fix it, never a bare traceback. Here is the message for a file that does not exist
# anywhere:

# %%
try:
    dlcourse.data.fetch(Resource("example/not-a-real-file.bin", ("sha256:" + "0" * 64,)))
except DataNotFoundError as error:
    print(error)

# %% [markdown]
# ### A first look at real data: MNIST
#
# MNIST (LeCun et al. 1998) holds 70,000 handwritten digits, 28 × 28 grey-scale pixels,
# 60,000 for training and 10,000 for testing. `dlcourse.data.load_mnist` returns the raw
# pixels (`uint8`, 0 to 255) and the labels; `dlcourse.data.mnist` (used from chapter 06
# on) returns normalised tensors ready for training.

# %%
images, labels = dlcourse.data.load_mnist("train")
print("images:", images.shape, images.dtype, "| labels:", labels.shape, labels.dtype)
print("digits per class:", np.bincount(labels))

# %% [markdown]
# `dlcourse.plot.show_images` draws a grid, titled with the labels:

# %%
dlcourse.plot.show_images(images[:N_DIGITS], labels[:N_DIGITS], ncols=8,
                          title=f"the first {N_DIGITS} MNIST training digits")
plt.show()

# %% [markdown]
# And the average image of each class: what a digit "looks like" to a model that only
# knows pixel intensities. The blurrier the average, the more the writers disagree.

# %%
class_means = np.stack([images[labels == k].mean(axis=0) for k in range(10)])
dlcourse.plot.show_images(class_means, np.arange(10), ncols=10, title="the mean image of each class")
plt.show()

# %% [markdown]
# ## 5. How the assignments work
#
# Practice is graded with [nbgrader](https://nbgrader.readthedocs.io). Each assignment is
# a notebook:
#
# | id | task |
# |---|---|
# | `a01_activations_backprop` | activations and a manual MLP backward pass |
# | `a02_optimizers` | SGD with momentum, Adam, AdamW matching `torch.optim` |
# | `a03_lenet5` | implement LeNet-5 from scratch |
# | `a04_resnet_cifar10` | build a ResNet and train it on CIFAR-10 |
# | `a05_custom_cnn` | design a CNN for an image-folder dataset within a parameter and time budget |
# | `a06_rnn_timeseries` | an RNN for time-series prediction |
# | `a07_lstm_sentiment` | an LSTM for sentiment analysis |
# | `a08_gru_textclass` | a GRU for text classification |
# | `a09_transformer` | a simple transformer |
# | `a10_bert_finetune` | fine-tune a pretrained BERT-family encoder for classification |
# | `a11_small_gpt` | train a small GPT-like model |
#
# **As a student**
#
# 1. Open `release/<id>/<id>.ipynb` (the student version; your instructor may hand it out
#    through JupyterHub's *Assignments* tab instead).
# 2. Each task is a function whose body says `# YOUR CODE HERE` and
#    `raise NotImplementedError()`. Replace those lines; keep the name, the signature and
#    what the docstring says it returns.
# 3. Run the **visible tests** in the cell under each task. A failing test says what is
#    wrong and what to change, e.g. *"expected shape (N, 10), got (N, 84): is the last
#    Linear layer missing?"*.
# 4. Before you submit, *Kernel → Restart & Run All*, or press nbgrader's **Validate**
#    button: it runs the whole notebook from scratch and reports any test that fails.
#
# When your work is graded, the same test cells also run **hidden tests** (other seeded
# inputs, edge cases) that you do not see, so make your code correct, not just the
# visible examples. Each test cell scores only its own task, so **partial work earns
# partial credit**. Tests call your code on tiny inputs and run in seconds; long training
# runs belong in the chapter notebooks, not in graded cells.
#
# **Studying on your own?** `solutions/` holds worked solutions of every assignment and of
# the chapter exercises. Try first; read after.
#
# **As an instructor**, the repository root is an nbgrader course directory:
# `source/<id>/` holds the instructor versions with solutions and hidden tests,
# `nbgrader generate_assignment <id>` (or `make release`) produces `release/`, and
# nbgrader's collect, autograde and feedback steps do the rest. The README's instructor
# section has the details.

# %% [markdown]
# ## 6. Exercises
#
# Chapter exercises look like this: a cell with a placeholder for you to replace, then a
# check cell that tells you whether your answer is right and what to change if not.
#
# ### Exercise 1: count the sevens
#
# How many of the 60,000 MNIST training digits are labelled 7? Compute it from `labels`
# with NumPy (one line).

# %%
n_sevens = None     # YOUR ANSWER: a number, computed from `labels`

# %%
if n_sevens is None:
    print("Exercise 1 not attempted yet: set n_sevens to the number of training labels equal to 7.")
else:
    dlcourse.check_close("n_sevens", float(n_sevens), float(np.bincount(labels)[7]), atol=0.5,
                         hint="Compare the labels with 7 and count the True values: (labels == 7).sum().")

# %% [markdown]
# ### Exercise 2: the normalisation constant
#
# Later chapters standardise MNIST pixels with `dlcourse.data.MNIST_MEAN` and
# `MNIST_STD`: the mean and standard deviation of all training pixels, scaled to $[0, 1]$.
# Compute the mean yourself from `images` and compare.

# %%
pixel_mean = None   # YOUR ANSWER: the mean of all training pixels, divided by 255

# %%
if pixel_mean is None:
    print("Exercise 2 not attempted yet: set pixel_mean to the mean training pixel value in [0, 1].")
else:
    dlcourse.check_close("pixel_mean", float(pixel_mean), dlcourse.data.MNIST_MEAN, atol=1e-3,
                         hint="Divide by 255 (pixels are 0..255) and average over every pixel of every "
                              "image: images.mean() / 255.")

# %% [markdown]
# **Graded practice** starts with `a01_activations_backprop` (in
# `release/a01_activations_backprop/`), after chapters 01 to 04.
#
# ## 7. Summary
#
# - Every chapter: build from scratch → check against PyTorch → train on real data → look
#   inside → exercises → references. Its budget lives in the `parameters` cell;
#   `DLCOURSE_FAST=1` shrinks it.
# - `dlcourse.setup(seed=0)` at the top of every notebook: seeds, threads, determinism, and
#   the device (CUDA, then MPS, then CPU). Mixed precision is used only where
#   `dlcourse.autocast_dtype` says it helps.
# - Data is found in the cache, then in mirrors, then downloaded and checksummed;
#   `python -m dlcourse data <name>` fetches ahead of time, `python -m dlcourse env`
#   reports the setup.
# - Assignments: `release/` versions, visible tests and Validate while you work, hidden
#   tests and partial credit when graded.
#
# Next: [01 · Tensors and autograd](../part1_foundations/01_tensors_autograd.ipynb).
#
# ## References
#
# - Y. LeCun, L. Bottou, Y. Bengio and P. Haffner (1998). *Gradient-based learning applied
#   to document recognition.* Proceedings of the IEEE 86(11), 2278–2324 (MNIST).
# - P. Micikevicius et al. (2018). *Mixed precision training.* ICLR.
# - D. Kalamkar et al. (2019). *A study of BFLOAT16 for deep learning training.*
#   arXiv:1905.12322.
# - A. Paszke et al. (2019). *PyTorch: an imperative style, high-performance deep learning
#   library.* NeurIPS.
# - T. Kluyver et al. (2016). *Jupyter Notebooks: a publishing format for reproducible
#   computational workflows.* Positioning and Power in Academic Publishing, 87–90.
# - Project Jupyter et al. (2019). *nbgrader: a tool for creating and grading assignments in
#   the Jupyter notebook.* Journal of Open Source Education 2(16), 32.
