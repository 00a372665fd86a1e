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
# # 09 · Convolutions
#
# A fully connected layer looking at a 28x28 digit has one weight per pixel per unit, and it
# must learn a stroke at the top-left and the same stroke at the bottom-right as two unrelated
# things. A *convolution* slides one small filter over the whole image: the same few weights
# at every position, each output pixel looking only at its neighbourhood. This chapter builds
# the 2-D convolution twice, first as the loops of its definition, then as one matrix product
# (*im2col*), proves both equal to `F.conv2d` in values and gradients, and explores what the
# operation does to real MNIST digits.
#
# **What you will build**
#
# - `conv2d` as explicit loops (slow, and timed), then vectorised with im2col + matmul, each
#   checked against the course's reference `dlcourse.conv.conv2d` and `F.conv2d`;
# - stride, padding, dilation and groups, each drawn and checked, with the output-size formula;
# - max and average pooling, equal to `F.max_pool2d` / `F.avg_pool2d`;
# - a filter explorer: blur, sharpen, Laplacian, Sobel, or your own 3x3 kernel on a real digit;
# - a small LeNet-like network built from our own `Conv2d`, trained on MNIST with `dlcourse.fit`,
#   its filters and feature maps;
# - receptive fields: computed for that stack, drawn on a digit, and confirmed by the gradient
#   of one output pixel.
#
# **Prerequisites**: [01 · Tensors and autograd](../part1_foundations/01_tensors_autograd.ipynb)
# (views, broadcasting, `backward`), [04 · Backprop by hand](../part1_foundations/04_backprop.ipynb)
# (a layer as a matrix product). Chapter 10 builds LeNet-5 from these pieces.
#
# **Run time**: CPU (2 cores, shared with other jobs, load average ~11 when measured): fast mode
# 32 s of cells (13 s of them importing torch in the setup cell), full mode 143 s (110 s of
# them the training run on 10,000 digits, 97.4% test accuracy); GPU: not measured yet.

# %% [markdown]
# ## Setup

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.patches import Rectangle
from torch import nn
from torch.utils.data import DataLoader

import dlcourse
from dlcourse import conv as ref                    # the course's reference implementations
from dlcourse.exercises.chapters import ch09_convolutions as exercises
from dlcourse.widgets import FILTERS, draw_filtered, filter_explorer

device = dlcourse.setup(seed=0)

# %% [markdown]
# The budget. `FAST` is set by CI (`DLCOURSE_FAST=1`): the same real digits, fewer of them.

# %% tags=["parameters"]
FAST = dlcourse.fast_mode()
TRAIN_LIMIT = 1000 if FAST else 10000    # MNIST training digits for section 8
TEST_LIMIT = 500 if FAST else 10000      # MNIST test digits it is measured on
EPOCHS = 1 if FAST else 4
LOOP_IMAGES = 2 if FAST else 16          # digits pushed through the slow loop version in section 2

# %% [markdown]
# ## 1. A real digit
#
# `dlcourse.data.mnist` gives normalised images of shape (N, 1, 28, 28): batch, channels
# (one: grey), height, width. Every tensor in this chapter keeps that (N, C, H, W) order.

# %%
mnist = dlcourse.data.mnist("train", limit=256)
digits, labels = mnist.tensors
digit = digits[:1]                                     # (1, 1, 28, 28)
fig, axes = plt.subplots(1, 6, figsize=(9, 1.8))
for ax, img, y in zip(axes, digits, labels):
    ax.imshow(img[0], cmap="gray"), ax.set_title(f"label {int(y)}", fontsize=9), ax.axis("off")
plt.show()

# %% [markdown]
# ## 2. The definition, as loops
#
# A convolution layer has `O` filters, each of shape (C, kh, kw). Output channel `o` at
# position (i, j) is the filter laid on the window of the input whose top-left corner is at
# (i, j), multiplied entry by entry, summed, plus a bias:
#
# $$y[n, o, i, j] = b[o] + \sum_{c=0}^{C-1} \sum_{u=0}^{k_h-1} \sum_{v=0}^{k_w-1} w[o, c, u, v]\; x[n, c, i + u, j + v]$$
#
# (Mathematicians would flip the kernel and call this a cross-correlation; every deep-learning
# library computes exactly this and calls it a convolution. A learned filter does not care.)
# Without padding the window must fit, so the output has `H - kh + 1` rows.
#
# The picture: the window of output pixel (2, 3) for a 3x3 kernel on a 7x7 input.

# %%
def draw_taps(ax, size, kernel, stride=1, padding=0, dilation=1, out_pixel=(0, 0), title=""):
    """The padded input as a grid (padding grey), the pixels output pixel `out_pixel` reads (red)."""
    n = size + 2 * padding
    for r in range(n):
        for c in range(n):
            pad = not (padding <= r < padding + size and padding <= c < padding + size)
            ax.add_patch(Rectangle((c, r), 1, 1, facecolor="#d5d5d5" if pad else "white", edgecolor="grey", lw=0.5))
    i, j = out_pixel
    for u in range(kernel):
        for v in range(kernel):
            r, c = i * stride + u * dilation, j * stride + v * dilation
            ax.add_patch(Rectangle((c, r), 1, 1, facecolor="#e74c3c", alpha=0.8, edgecolor="k"))
    out = ref.conv_output_size(size, kernel, stride, padding, dilation)
    ax.set(xlim=(0, n), ylim=(n, 0), aspect="equal", xticks=[], yticks=[])
    ax.set_title(f"{title}\nin {size}x{size} -> out {out}x{out}", fontsize=9)


fig, ax = plt.subplots(figsize=(2.6, 2.8))
draw_taps(ax, 7, 3, out_pixel=(2, 3), title="kernel 3, output pixel (2, 3)")
plt.show()

# %% [markdown]
# Written as the formula reads, with a Python loop over examples, filters and output pixels
# (the sum over the window is one tensor operation, or this would take minutes):

# %%
def conv2d_loops(x, weight, bias):
    """(N, C, H, W) * (O, C, kh, kw) + (O,) -> (N, O, H - kh + 1, W - kw + 1), by loops."""
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    out = torch.zeros(n, o, h - kh + 1, w - kw + 1, dtype=x.dtype)
    for b in range(n):
        for f in range(o):
            for i in range(h - kh + 1):
                for j in range(w - kw + 1):
                    out[b, f, i, j] = (x[b, :, i:i + kh, j:j + kw] * weight[f]).sum() + bias[f]
    return out


torch.manual_seed(0)
weight, bias = torch.randn(6, 1, 5, 5) * 0.2, torch.randn(6) * 0.1     # LeNet's first layer: 6 filters 5x5
crop = digit[:, :, 6:20, 6:20]                       # the digit's middle: 10x10 outputs keep the loops quick
dlcourse.check_like_torch("conv2d_loops vs F.conv2d", conv2d_loops, F.conv2d, crop, weight, bias)
dlcourse.check_like_torch("conv2d_loops vs dlcourse.conv.conv2d", conv2d_loops, ref.conv2d, crop, weight, bias)

# %% [markdown]
# Both the values and the gradients (with respect to the input, the filters and the bias)
# agree: autograd differentiates through the loops as well. But look at the clock:

# %%
def seconds(fn, repeats=3):
    """The fastest of a few runs: the least disturbed by other processes."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


batch = digits[:LOOP_IMAGES]
with torch.no_grad():
    t_loops = seconds(lambda: conv2d_loops(batch, weight, bias), repeats=1)
    t_torch = seconds(lambda: F.conv2d(batch, weight, bias))
print(f"{LOOP_IMAGES} digits, 6 filters 5x5: loops {1e3 * t_loops:.0f} ms, F.conv2d {1e3 * t_torch:.2f} ms "
      f"({t_loops / t_torch:.0f}x slower); per digit {1e3 * t_loops / LOOP_IMAGES:.0f} ms")

# %% [markdown]
# At that rate one pass over MNIST's 60,000 digits through this one small layer would take
# minutes. Every iteration pays Python's overhead for a tiny 25-number product.

# %% [markdown]
# ## 3. im2col: the convolution as one matrix product
#
# The trick (Chellapilla et al. 2006; what Caffe and cuDNN's GEMM mode do): copy each window
# into a column of a matrix, so that *all* the window sums become one matrix product.
#
# 1. `Tensor.unfold(dim, size, step)` gives every window along one axis as a **view** (no
#    copy); doing it for rows, then columns gives (N, C, H_out, W_out, kh, kw).
# 2. Reshape to columns: (N, C kh kw, H_out W_out), one column per output pixel. This is the
#    one copy; each input pixel appears in up to kh kw columns.
# 3. The filters as rows: (O, C kh kw). Filters @ columns = (N, O, H_out W_out), which is the
#    output laid flat.

# %%
def im2col(x, kh, kw):
    windows = x.unfold(2, kh, 1).unfold(3, kw, 1)          # (N, C, H_out, W_out, kh, kw), a view
    n, c, ho, wo = windows.shape[:4]
    return windows.permute(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, ho * wo)


def conv2d_im2col(x, weight, bias):
    o, c, kh, kw = weight.shape
    cols = im2col(x, kh, kw)                                  # (N, C kh kw, H_out W_out)
    out = weight.reshape(o, c * kh * kw) @ cols + bias.view(1, o, 1)
    return out.reshape(x.shape[0], o, x.shape[2] - kh + 1, x.shape[3] - kw + 1)


dlcourse.check_like_torch("im2col vs F.unfold", lambda x: im2col(x, 5, 5), lambda x: F.unfold(x, 5), digits[:4])

# %% [markdown]
# On eight digits the filters' gradient is a sum of 8 x 24 x 24 = 4,608 products per weight,
# with entries up to about 200, and float32 keeps about 7 significant digits: rounding alone
# moves it by ~1e-4, in torch's kernel as in ours (they add in different orders). Which is
# closer to the exact value? float64 tells:

# %%
upstream = torch.randn(8, 6, 24, 24)


def filter_gradient(conv, dtype):
    w = weight.to(dtype).clone().requires_grad_(True)
    conv(digits[:8].to(dtype), w, bias.to(dtype)).backward(upstream.to(dtype))
    return w.grad.double()


exact = filter_gradient(F.conv2d, torch.float64)
for name, conv in (("F.conv2d", F.conv2d), ("conv2d_im2col", conv2d_im2col)):
    err = float((filter_gradient(conv, torch.float32) - exact).abs().max())
    print(f"{name:14s} float32 filter gradient: max error {err:.1e} (largest entry {float(exact.abs().max()):.0f})")

# %% [markdown]
# So the checks on real batches allow the filters' gradient an absolute error of 1e-3 (5e-6
# of its largest entry), and run once more in float64, where the two must agree to 1e-10.

# %%
GRAD_TOL = dict(grad_atol=1e-3)     # float32 sums over thousands of products (see above)
dlcourse.check_like_torch("conv2d_im2col vs F.conv2d", conv2d_im2col, F.conv2d, digits[:8], weight, bias, **GRAD_TOL)
dlcourse.check_like_torch("conv2d_im2col vs dlcourse.conv.conv2d", conv2d_im2col, ref.conv2d, digits[:8], weight,
                          bias, **GRAD_TOL)
dlcourse.check_like_torch("conv2d_im2col vs F.conv2d, float64", conv2d_im2col, F.conv2d, digits[:8].double(),
                          weight.double(), bias.double(), atol=1e-10, rtol=1e-10)

# %% [markdown]
# What the matrix looks like for one digit: 25 rows (the 5x5 taps), 576 columns (the 24x24
# output pixels). Row 12, the centre tap, is the digit itself; the other rows are the digit
# shifted by up to two pixels. The filters' matrix multiplies it from the left.

# %%
cols = im2col(digit, 5, 5)[0]
fig, axes = plt.subplots(1, 2, figsize=(11, 2.4), gridspec_kw=dict(width_ratios=[4, 1]))
axes[0].imshow(cols, aspect="auto", cmap="gray")
axes[0].set(title="im2col of one digit: (C kh kw = 25) x (H_out W_out = 576)", xlabel="output pixel", ylabel="tap")
axes[1].imshow(cols[12].reshape(24, 24), cmap="gray"), axes[1].set_title("row 12 as an image", fontsize=9)
axes[1].axis("off")
plt.show()

with torch.no_grad():
    t_im2col = seconds(lambda: conv2d_im2col(batch, weight, bias))
print(f"{LOOP_IMAGES} digits: loops {1e3 * t_loops:.0f} ms, im2col {1e3 * t_im2col:.2f} ms "
      f"({t_loops / t_im2col:.0f}x faster), F.conv2d {1e3 * t_torch:.2f} ms")

# %% [markdown]
# The price is memory: the column matrix holds kh kw copies of every pixel (25x here). Torch
# avoids the copy with direct, Winograd or implicit-GEMM kernels; `benchmarks/conv_speed.py`
# measures the difference for LeNet- and CIFAR-sized layers (see `benchmarks/RESULTS.md`).

# %% [markdown]
# ## 4. Stride, padding, dilation
#
# Three numbers change which pixels a window reads:
#
# - **stride** s: windows start s pixels apart, so the output shrinks about s times;
# - **padding** p: p rings of zeros around the input, so border pixels are seen as often as the
#   others and a 3x3 kernel with p = 1 keeps the size (`padding="same"`);
# - **dilation** d: the taps are d pixels apart, so a 3x3 kernel covers 5x5 with d = 2, a
#   larger view for the same 9 weights (Yu & Koltun 2016).
#
# Together, along each axis (Dumoulin & Visin 2016):
#
# $$H_{out} = \left\lfloor \frac{H + 2p - d\,(k - 1) - 1}{s} \right\rfloor + 1$$

# %%
settings = [dict(), dict(stride=2), dict(padding=1), dict(dilation=2), dict(stride=2, padding=1, dilation=2)]
fig, axes = plt.subplots(1, len(settings), figsize=(13, 3.2))
for ax, kw in zip(axes, settings):
    draw_taps(ax, 7, 3, out_pixel=(1, 1), title=", ".join(f"{k} {v}" for k, v in kw.items()) or "plain", **kw)
fig.suptitle("3x3 kernel on a 7x7 input: the pixels output pixel (1, 1) reads", fontsize=10)
plt.show()

# %% [markdown]
# The reference `dlcourse.conv.conv2d` takes all of them (ints or (rows, columns) pairs) and
# builds the windows the way section 3 did, with a step of `dilation` inside each window. It
# matches torch on every setting, including rectangular kernels and `padding="same"`:

# %%
x = digits[:4]
for kw in settings + [dict(padding="same"), dict(stride=(2, 1), padding=(2, 0), dilation=(1, 3))]:
    w = torch.randn(6, 1, 3, 5)
    dlcourse.check_like_torch(f"conv2d {kw}", lambda x, w, b: ref.conv2d(x, w, b, **kw),
                              lambda x, w, b: F.conv2d(x, w, b, **kw), x, w, bias, verbose=False, **GRAD_TOL)
    out = F.conv2d(x, w, bias, **kw)
    if "padding" not in kw or kw["padding"] != "same":
        assert ref.conv_output_size((28, 28), (3, 5), *(kw.get(k, d) for k, d in
                                    (("stride", 1), ("padding", 0), ("dilation", 1)))) == tuple(out.shape[2:])
    print(f"OK {str(kw):55s} output {tuple(out.shape)}")

# %% [markdown]
# ## 5. Groups
#
# With `groups=g` the C input channels are split into g blocks and so are the O filters;
# filter block k sees input block k only. Each filter has C / g channels, so the layer has g
# times fewer weights. `groups=1` is the ordinary convolution; `groups=C` is the *depthwise*
# convolution of MobileNet (chapter 13), one filter per channel. AlexNet (chapter 11) used
# groups=2 to split its network over two GPUs. Which input channel each output channel reads:

# %%
fig, axes = plt.subplots(1, 3, figsize=(9, 3))
one_hot = torch.eye(8).view(8, 8, 1, 1)                # example c: a 1x1 image with only channel c on
for ax, g in zip(axes, (1, 2, 8)):
    w = torch.ones(8, 8 // g, 1, 1)
    reads = F.conv2d(one_hot, w, groups=g)[:, :, 0, 0].T    # [o, c] != 0: output o reads input c
    ax.imshow(reads != 0, cmap="Blues", vmin=0, vmax=1)
    ax.set(title=f"groups={g}: {w.numel()} weights", xlabel="input channel", ylabel="output channel")
plt.show()

x8 = torch.randn(2, 8, 10, 10)
for g in (1, 2, 4, 8):
    w = torch.randn(8, 8 // g, 3, 3)
    dlcourse.check_like_torch(f"conv2d groups={g}", lambda x, w: ref.conv2d(x, w, None, 1, 1, groups=g),
                              lambda x, w: F.conv2d(x, w, None, 1, 1, groups=g), x8, w, verbose=g == 8)

# %% [markdown]
# Inside `dlcourse.conv.conv2d` groups are one more batch axis of the matrix product:
# columns (N, g, C/g kh kw, H_out W_out), filters (g, O/g, C/g kh kw).

# %% [markdown]
# ## 6. Pooling
#
# Pooling summarises each window with one number and has no weights: the **maximum** (is the
# feature somewhere here?) or the **average**. By default the windows do not overlap (stride =
# kernel size), so a 2x2 pooling halves the height and the width. Max pooling's gradient goes
# to the one input that won its window; average pooling spreads it evenly.

# %%
for k, s, p in ((2, None, 0), (3, 2, 1), (3, 1, 1)):
    dlcourse.check_like_torch(f"max_pool2d(k={k}, stride={s}, padding={p})", lambda x: ref.max_pool2d(x, k, s, p),
                              lambda x: F.max_pool2d(x, k, s, p), digits[:4], verbose=False)
    dlcourse.check_like_torch(f"avg_pool2d(k={k}, stride={s}, padding={p})", lambda x: ref.avg_pool2d(x, k, s, p),
                              lambda x: F.avg_pool2d(x, k, s, p), digits[:4], verbose=False)
    print(f"OK max_pool2d and avg_pool2d, kernel {k}, stride {s}, padding {p}: values and gradients")

fig, axes = plt.subplots(1, 5, figsize=(11, 2.4))
shown = [("digit 28x28", digit), ("max 2x2 -> 14x14", ref.max_pool2d(digit, 2)),
         ("avg 2x2 -> 14x14", ref.avg_pool2d(digit, 2)), ("max 4x4 -> 7x7", ref.max_pool2d(digit, 4)),
         ("avg 4x4 -> 7x7", ref.avg_pool2d(digit, 4))]
for ax, (title, img) in zip(axes, shown):
    ax.imshow(img[0, 0], cmap="gray"), ax.set_title(title, fontsize=9), ax.axis("off")
plt.show()

# %% [markdown]
# ## 7. Filters on a real digit
#
# Before any learning, classic hand-made 3x3 filters show what a single convolution can
# detect: a blur averages neighbours, a sharpen kernel adds the difference from them, the
# Laplacian responds where intensity curves, and the Sobel kernels respond to vertical or
# horizontal edges with a sign that says dark-to-bright or bright-to-dark (red positive, blue
# negative). All are applied with `dlcourse.conv.conv2d`, padding 1, to the digit's pixel
# values in [0, 1] (the training data is normalised to mean 0, which would shift every blur).

# %%
pixels = digits[:, 0] * dlcourse.data.MNIST_STD + dlcourse.data.MNIST_MEAN      # back to [0, 1]: (N, 28, 28)
fig, axes = plt.subplots(3, 6, figsize=(13, 6.3))
for k, name in enumerate(["box blur", "sharpen", "edges (Laplacian)", "Sobel x (vertical edges)",
                          "Sobel y (horizontal edges)", "emboss"]):
    panel = axes[(k // 2), 3 * (k % 2):3 * (k % 2) + 3]
    draw_filtered(panel, pixels[0], FILTERS[name], name=name)
fig.tight_layout()
plt.show()

# %% [markdown]
# Now try it yourself: pick a filter, or type numbers into the 3x3 grid (the menu then says
# "hand-edited"). What does `[[0, 0, 0], [0, 0, 1], [0, 0, 0]]` do? What happens to the
# output's range when the numbers do not sum to 1?

# %%
explorer = filter_explorer(pixels[3])
explorer

# %% [markdown]
# ## 8. A small network of our own convolutions, trained on MNIST
#
# `dlcourse.conv.Conv2d` is an `nn.Module` with `nn.Conv2d`'s parameter names and
# initialisation around the reference `conv2d`, so the two load each other's state dicts. A
# LeNet-like stack (chapter 10 builds the real LeNet-5): conv 5x5 (6 filters, padding 2), max
# pool 2, conv 5x5 (16 filters), max pool 2, conv 5x5 (120 filters), then a linear classifier.

# %%
class TinyLeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = ref.Conv2d(1, 6, 5, padding=2)
        self.conv2 = ref.Conv2d(6, 16, 5)
        self.conv3 = ref.Conv2d(16, 120, 5)
        self.fc = nn.Linear(120, 10)

    def features(self, x):                               # (N, 1, 28, 28) -> each stage's maps
        a1 = torch.relu(self.conv1(x))                   # (N, 6, 28, 28)
        a2 = torch.relu(self.conv2(ref.max_pool2d(a1, 2)))   # (N, 16, 10, 10)
        a3 = torch.relu(self.conv3(ref.max_pool2d(a2, 2)))   # (N, 120, 1, 1)
        return a1, a2, a3

    def forward(self, x):                                # (N, 1, 28, 28) -> (N, 10)
        return self.fc(self.features(x)[-1].flatten(1))


torch.manual_seed(0)
model = TinyLeNet()
theirs = nn.Conv2d(1, 6, 5, padding=2)
theirs.load_state_dict(model.conv1.state_dict())          # same keys, same shapes
dlcourse.check_like_torch("our Conv2d vs nn.Conv2d, same weights", model.conv1, theirs, digits[:4])

train_loader = DataLoader(dlcourse.data.mnist("train", limit=TRAIN_LIMIT), batch_size=64, shuffle=True,
                          generator=torch.Generator().manual_seed(0))
test_loader = DataLoader(dlcourse.data.mnist("test", limit=TEST_LIMIT), batch_size=500)
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
start = time.perf_counter()
history = dlcourse.fit(model, train_loader, optimizer, epochs=EPOCHS, val_loader=test_loader, device="cpu")
print(f"{TRAIN_LIMIT} digits, {EPOCHS} epoch(s) in {time.perf_counter() - start:.0f} s: "
      f"test accuracy {history.last('val_accuracy'):.1%}")

# %% [markdown]
# In full mode (10,000 training digits, 4 epochs) we measured 97.4% on the 10,000 test
# digits (74.6% in fast mode: 1,000 digits, one epoch). Training stays on the CPU here (`device="cpu"`) so the numbers are the same
# everywhere; the network is small enough.
#
# **Look inside.** The six learned 5x5 filters of the first layer, and what each makes of a
# digit. After a short run the filters still look noisy, but their maps already tell them
# apart: some respond to one side of a stroke only (edge detectors of some orientation, like
# the Sobel kernels above), others to the stroke itself or to the background, all found by
# gradient descent instead of by hand.

# %%
model.eval()
with torch.no_grad():
    a1, a2, a3 = model.features(digit)
fig, axes = plt.subplots(2, 6, figsize=(10, 3.6))
for k in range(6):
    f = model.conv1.weight[k, 0].detach()
    bound = float(f.abs().max())
    axes[0, k].imshow(f, cmap="coolwarm", vmin=-bound, vmax=bound), axes[0, k].set_title(f"filter {k}", fontsize=9)
    axes[1, k].imshow(a1[0, k], cmap="magma"), axes[1, k].set_title(f"map {k} (after ReLU)", fontsize=9)
for ax in axes.flat:
    ax.axis("off")
plt.show()

# %% [markdown]
# ## 9. Receptive fields
#
# An output pixel of the second convolution depends on a 5x5 window of pooled maps, each of
# whose pixels depends on 2x2 first-layer pixels, each of which sees a 5x5 window of the
# digit. How much of the digit does it see? Per layer, with the input as layer 0 (size 1,
# jump 1, start 0) and a layer with kernel k, stride s, padding p, dilation d (Araujo et al. 2019):
#
# - size: `size += d (k - 1) * jump`: the input pixels one output pixel sees (per axis);
# - jump: `jump *= s`: the input distance between neighbouring output pixels (effective stride);
# - start: `start += (d (k - 1) / 2 - p) * jump`: where output pixel 0's field is centred.
#
# `dlcourse.conv.receptive_fields` runs this over a list of (kernel, stride, padding,
# dilation) layers, or directly over conv and pooling modules:

# %%
stack = [("conv1 5x5 pad 2", (5, 1, 2)), ("pool 2x2", (2, 2)), ("conv2 5x5", (5, 1)), ("pool 2x2", (2, 2)),
         ("conv3 5x5", (5, 1))]
fields = ref.receptive_fields([layer for _, layer in stack])
print(f"{'layer':18s} {'output':>8s} {'size':>5s} {'jump':>5s} {'start':>6s}")
size = 28
for (name, layer), rf in zip(stack, fields[1:]):
    size = ref.conv_output_size(size, *layer)
    print(f"{name:18s} {size:5d}x{size:<2d} {rf.size:5d} {rf.jump:5d} {rf.start:6.1f}")
modules = [model.conv1, nn.MaxPool2d(2), model.conv2, nn.MaxPool2d(2), model.conv3]
assert ref.receptive_fields(modules) == fields           # the same numbers, read from the modules

# %% [markdown]
# conv3's single output pixel sees 32x32 pixels: more than the whole 28x28 digit (the rest is
# padding), so it can use everything. Drawn on the digit: the field of the centre pixel of
# each layer's output, clipped to the image.

# %%
fig, ax = plt.subplots(figsize=(4, 4))
ax.imshow(digit[0, 0], cmap="gray")
colors = ["#e74c3c", "#f39c12", "#2ecc71", "#3498db", "#9b59b6"]
size = 28
for k, ((name, layer), color) in enumerate(zip(stack, colors)):
    size = ref.conv_output_size(size, *layer)
    top, left, bottom, right = ref.receptive_field_box([lay for _, lay in stack[:k + 1]], size // 2, size // 2,
                                                       image_size=28)
    ax.add_patch(Rectangle((left - 0.5, top - 0.5), right - left + 1, bottom - top + 1, fill=False, lw=2,
                           edgecolor=color, label=f"{name}: pixel ({size // 2}, {size // 2})"))
ax.legend(fontsize=7, loc="lower left", bbox_to_anchor=(1.02, 0))
ax.axis("off")
plt.show()

# %% [markdown]
# **Checked by the gradient.** An input pixel outside the field cannot change the output
# pixel, so its gradient is exactly 0. Back-propagating from one output pixel of conv2 in the
# trained network, the non-zero gradients fall inside the computed box. They need not fill it:
# the ReLUs and the max pools pass the gradient only where a unit was active or won its
# window, so some pixels inside get exactly 0 (about 10 of 196 here), and the size of the
# gradient varies a lot across the box: a few pixels near the middle dominate (the left
# picture). The computed field is the bound; the region that actually matters, the
# *effective* receptive field (Luo et al. 2016), is smaller.

# %%
x = digit.clone().requires_grad_(True)
row, col = 4, 5
a2 = model.features(x)[1]                                # conv2's maps after ReLU, (1, 16, 10, 10)
channel = int(a2[0, :, row, col].argmax())               # its most active map at (4, 5): a live unit
a2[0, channel, row, col].backward()
grad = x.grad[0, 0].abs()
top, left, bottom, right = ref.receptive_field_box([layer for _, layer in stack[:3]], row, col, image_size=28)
rows, cols_ = torch.nonzero(grad, as_tuple=True)
inside = (rows.min() >= top) & (rows.max() <= bottom) & (cols_.min() >= left) & (cols_.max() <= right)
print(f"computed field of conv2 pixel ({row}, {col}): rows {top}-{bottom}, columns {left}-{right}; "
      f"non-zero gradient in rows {int(rows.min())}-{int(rows.max())}, columns {int(cols_.min())}-{int(cols_.max())}, "
      f"at {len(rows)} of the box's {(bottom - top + 1) * (right - left + 1)} pixels")
assert bool(inside), "a non-zero gradient outside the computed receptive field"

# The same stack with average pooling, no ReLU and positive weights: every path survives, and the
# non-zero region fills the computed box exactly (tests/test_conv.py checks this for many stacks).
plain = [nn.Conv2d(1, 1, 5, padding=2, bias=False), nn.AvgPool2d(2), nn.Conv2d(1, 1, 5, bias=False)]
for m in plain[::2]:
    nn.init.uniform_(m.weight, 0.5, 1.0)
x = torch.ones(1, 1, 28, 28, requires_grad=True)
nn.Sequential(*plain)(x)[0, 0, row, col].backward()
rows, cols_ = torch.nonzero(x.grad[0, 0], as_tuple=True)
assert (int(rows.min()), int(cols_.min()), int(rows.max()), int(cols_.max())) == (top, left, bottom, right)
print(f"OK linear stack: the non-zero gradient fills exactly rows {top}-{bottom}, columns {left}-{right}")

fig, axes = plt.subplots(1, 2, figsize=(8, 3.6))
for ax, g, title in ((axes[0], grad, "trained net (ReLU, max pool)"), (axes[1], x.grad[0, 0], "linear stack")):
    ax.imshow(g, cmap="viridis")
    ax.add_patch(Rectangle((left - 0.5, top - 0.5), right - left + 1, bottom - top + 1, fill=False, lw=2,
                           edgecolor="r"))
    ax.set_title(f"|d output / d input|: {title}", fontsize=9), ax.axis("off")
plt.show()

# %% [markdown]
# ## 10. Exercises
#
# Each exercise has a check; a function that still returns `None` is reported as not
# attempted. Worked solutions: `solutions/chapters/09_convolutions.py`.
#
# ### Exercise 1: the output size
#
# Write `output_size(size, kernel, stride, padding, dilation)`: the output's length along one
# axis. It must return an `int` equal to what `F.conv2d` produces.

# %%
def output_size(size, kernel, stride=1, padding=0, dilation=1):
    return None     # YOUR CODE HERE


# %%
exercises.check_output_size(output_size)

# %% [markdown]
# ### Exercise 2: a convolution with stride and padding, by loops
#
# Extend section 2's `conv2d_loops` with `stride` and `padding` (zero padding on every side).
# It is checked against `F.conv2d`, values and gradients, on a rectangular kernel.

# %%
def conv2d_loops_strided(x, weight, bias, stride=1, padding=0):
    return None     # YOUR CODE HERE


# %%
exercises.check_conv2d_loops(conv2d_loops_strided)

# %% [markdown]
# ### Exercise 3: max pooling
#
# Write `max_pool2d(x, kernel_size, stride=None)` for square windows, without padding, any way
# you like (loops, or `Tensor.unfold` as in section 3). With `stride=None` the windows do not
# overlap.

# %%
def max_pool2d(x, kernel_size, stride=None):
    return None     # YOUR CODE HERE


# %%
exercises.check_max_pool2d(max_pool2d)

# %% [markdown]
# ### Exercise 4: the receptive field
#
# Write `receptive_field_size(layers)` for a list of `(kernel, stride)` layers (no dilation;
# padding does not change the size): the number of input pixels, along one axis, that one
# output pixel of the last layer sees.

# %%
def receptive_field_size(layers):
    return None     # YOUR CODE HERE


# %%
exercises.check_receptive_field(receptive_field_size)

# %% [markdown]
# The graded assignment of Part 3, `release/a03_lenet5`, builds LeNet-5 from these layers.
#
# ## 11. Summary
#
# - A convolution slides O filters of shape (C, kh, kw) over the input: the same weights at
#   every position, each output pixel a window sum plus a bias. Deep-learning libraries do not
#   flip the kernel.
# - Written as loops it is correct but slow; im2col copies every window into a column so the
#   whole layer is one matrix product, at the price of kh kw copies of the input.
# - Stride spaces the windows, padding adds zeros around the input, dilation spaces the taps:
#   `H_out = (H + 2p - d (k - 1) - 1) // s + 1`. Groups split the channels into blocks that do
#   not see each other (depthwise: one filter per channel).
# - Max and average pooling summarise windows without weights; max pooling's gradient goes to
#   the winner of each window.
# - Hand-made filters blur, sharpen and detect edges; a trained network's first layer learns
#   similar edge detectors on its own.
# - The receptive field grows by d (k - 1) x jump per layer, and the jump multiplies by each
#   stride: three 5x5 convolutions with two 2x2 poolings see 32x32 pixels. The gradient of one
#   output pixel is zero outside it.
#
# ## References
#
# - Y. LeCun, B. Boser, J. S. Denker et al. (1989). *Backpropagation applied to handwritten zip
#   code recognition.* Neural Computation 1(4).
# - Y. LeCun, L. Bottou, Y. Bengio and P. Haffner (1998). *Gradient-based learning applied to
#   document recognition.* Proceedings of the IEEE 86(11) (LeNet-5, MNIST).
# - K. Chellapilla, S. Puri and P. Simard (2006). *High performance convolutional neural
#   networks for document processing.* IWFHR (im2col + matrix product).
# - I. Sobel and G. Feldman (1968). *A 3x3 isotropic gradient operator for image processing.*
# - V. Dumoulin and F. Visin (2016). *A guide to convolution arithmetic for deep learning.*
#   arXiv:1603.07285.
# - F. Yu and V. Koltun (2016). *Multi-scale context aggregation by dilated convolutions.* ICLR.
# - W. Luo, Y. Li, R. Urtasun and R. Zemel (2016). *Understanding the effective receptive field
#   in deep convolutional neural networks.* NeurIPS.
# - A. Araujo, W. Norris and J. Sim (2019). *Computing receptive fields of convolutional neural
#   networks.* Distill.
