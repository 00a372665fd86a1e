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
# # Assignment 1: activations and a manual MLP backward pass
#
# In this assignment you build, from elementary tensor operations, the pieces that chapters
# 03 (MLP and activations) and 04 (backprop by hand) explain, and you check them the way the
# chapters do: against PyTorch.
#
# | task | what you write | points |
# |---|---|---|
# | Task 1 | `relu`, `leaky_relu`, `sigmoid`, `gelu`, `softmax` from elementary ops | 11 |
# | Task 2 | the local derivatives `relu_grad`, `sigmoid_grad`, `tanh_grad` | 6 |
# | Task 3 | the forward and backward pass of a 2-layer MLP, in matrix form | 9 |
# | Task 4 | a central-difference `numerical_gradient` | 3 |
# | total | | 29 |
#
# **How to work.**
#
# 1. Run the setup cell below first.
# 2. In each function, replace `# YOUR CODE HERE` / `raise NotImplementedError()` with your
#    code. Keep the function's name, signature and return value as the docstring describes.
# 3. Run the test cell under each task. A failing test says what is wrong and what to change.
#    The tests you see are a subset: when your work is graded, the same cells also run
#    hidden tests on other seeded inputs and edge cases (very large values, other shapes,
#    float64). Every test cell scores only its own function, so partial work earns
#    partial credit.
# 4. Before you submit: *Kernel → Restart & Run All* (or the **Validate** button) must run
#    with no errors. The whole notebook runs in a few seconds on a laptop CPU; no GPU needed.
#
# **Rules.**
#
# * **Task 1** builds the activations from elementary operations. Allowed: tensor arithmetic
#   (`+ - * / **`), comparisons, `abs`/`.abs()`, `torch.exp`, `torch.log`, `torch.erf`,
#   `torch.where`, `torch.clamp`/`.clamp()`, `torch.maximum`, `torch.zeros_like`,
#   `torch.ones_like`, `.max()`, `.sum()`, and `math`. Not allowed: torch's ready-made
#   activations, that is every `relu`, `leaky_relu`, `sigmoid`, `tanh`, `gelu`, `elu`, `silu`,
#   `softmax`, `log_softmax` (and their relatives) of `torch`, `torch.nn.functional`,
#   `torch.special` and tensor methods, and `torch.special.expit`; the exact list is
#   `dlcourse.checks.READY_MADE_ACTIVATIONS`. The hidden tests check this.
# * **Tasks 2 to 4** may use any torch function (e.g. `torch.sigmoid`, `torch.tanh`,
#   `torch.softmax`), so they do not depend on your Task 1 code, but **not autograd**:
#   no `.backward()` and no `torch.autograd.grad`. The hidden tests run your backward pass
#   under `torch.no_grad()`.
# * Do not change the test cells (they are read-only and are replaced by the originals at
#   grading time).

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import math

import torch

from dlcourse.checks import (READY_MADE_ACTIVATIONS, CheckError, call_watching, check_close, check_dtype,
                             check_shape, forbid)

_ = torch.manual_seed(0)  # `_ =`: no output

# %% [markdown]
# ## Task 1: activations from elementary operations (11 points)
#
# Each function works elementwise on a tensor of any shape (softmax works along `dim`) and
# returns a tensor of the same shape and dtype as its input. It must not modify its input.
#
# ### Task 1.1: ReLU
#
# $\mathrm{ReLU}(x) = \max(x, 0)$.

# %% nbgrader={"grade": false, "grade_id": "task1_relu", "locked": false, "schema_version": 3, "solution": true, "task": false}
def relu(x: torch.Tensor) -> torch.Tensor:
    """Rectified linear unit, elementwise: max(x, 0).

    Args:
        x: a tensor of any shape.

    Returns:
        A tensor shaped like ``x``, with the negative entries replaced by 0.
    """
    ### BEGIN SOLUTION
    return torch.where(x > 0, x, torch.zeros_like(x))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task1_relu_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
### BEGIN HIDDEN TESTS
import torch.nn.functional as F  # first in this cell: the later hidden tests use it even if this cell fails
### END HIDDEN TESTS
# Task 1.1 tests: relu
x = torch.tensor([-2.0, -1.0, 0.0, 0.5, 3.0])
out, (changed,) = call_watching(relu, x)
check_shape("relu(x)", out, (5,), hint="relu is elementwise: return a tensor shaped like its input.")
check_dtype("relu of a float64 tensor", relu(x.double()), torch.float64,
            hint="return the input's dtype: no .float(), and build constants with torch.zeros_like(x).")
got = float(relu(torch.tensor(-1.0)))
assert got == 0.0, f"relu(-1.0) should be 0, got {got}: negative inputs must be clamped to zero."
got = float(relu(torch.tensor(3.0)))
assert got == 3.0, f"relu(3.0) should be 3.0, got {got}: positive inputs pass through unchanged."
check_close("relu(x)", out, torch.tensor([0.0, 0.0, 0.0, 0.5, 3.0]))
assert not changed, "relu changed its input x in place: build a new tensor instead (e.g. with torch.where)."
### BEGIN HIDDEN TESTS
g = torch.Generator().manual_seed(101)
xh = torch.randn(4, 7, generator=g, dtype=torch.float64) * 3
check_close("relu(x) vs F.relu (float64, 4x7)", relu(xh), F.relu(xh), atol=1e-15, rtol=0)
assert relu(xh).dtype == torch.float64, "relu must keep the input dtype (float64 in, float64 out)."
with forbid(READY_MADE_ACTIVATIONS, "Task 1 builds activations from elementary operations"):
    relu(xh)
### END HIDDEN TESTS
print("relu: tests passed")

# %% [markdown]
# ### Task 1.2: Leaky ReLU
#
# $\mathrm{LeakyReLU}(x) = x$ for $x > 0$ and $\text{slope}\cdot x$ otherwise.

# %% nbgrader={"grade": false, "grade_id": "task1_leaky_relu", "locked": false, "schema_version": 3, "solution": true, "task": false}
def leaky_relu(x: torch.Tensor, slope: float = 0.01) -> torch.Tensor:
    """Leaky ReLU, elementwise: x where x > 0, slope * x elsewhere.

    Args:
        x: a tensor of any shape.
        slope: the slope used for the negative inputs.

    Returns:
        A tensor shaped like ``x``.
    """
    ### BEGIN SOLUTION
    return torch.where(x > 0, x, slope * x)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task1_leaky_relu_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Task 1.2 tests: leaky_relu
x = torch.tensor([-2.0, -0.5, 0.0, 1.5])
out = leaky_relu(x)
check_shape("leaky_relu(x)", out, (4,), hint="leaky_relu is elementwise: return a tensor shaped like x.")
check_dtype("leaky_relu of a float64 tensor", leaky_relu(x.double()), torch.float64,
            hint="return the input's dtype: no .float(), and build constants with torch.zeros_like(x).")
got = float(leaky_relu(torch.tensor(-2.0)))
assert abs(got - (-0.02)) < 1e-7, (
    f"leaky_relu(-2.0) should be -0.02 with the default slope 0.01, got {got}: "
    "negative inputs are multiplied by the slope, not clamped to zero.")
got = float(leaky_relu(torch.tensor(-2.0), slope=0.2))
assert abs(got - (-0.4)) < 1e-6, f"leaky_relu(-2.0, slope=0.2) should be -0.4, got {got}: use the slope argument."
check_close("leaky_relu(x)", out, torch.tensor([-0.02, -0.005, 0.0, 1.5]))
### BEGIN HIDDEN TESTS
g = torch.Generator().manual_seed(102)
xh = torch.randn(3, 5, 2, generator=g, dtype=torch.float64) * 4
check_close("leaky_relu(x) vs F.leaky_relu", leaky_relu(xh), F.leaky_relu(xh), atol=1e-12)
check_close("leaky_relu(x, slope=0.3) vs F.leaky_relu", leaky_relu(xh, slope=0.3),
            F.leaky_relu(xh, negative_slope=0.3), atol=1e-12)
assert leaky_relu(xh).dtype == torch.float64, "leaky_relu must keep the input dtype."
with forbid(READY_MADE_ACTIVATIONS, "Task 1 builds activations from elementary operations"):
    leaky_relu(xh, 0.1)
### END HIDDEN TESTS
print("leaky_relu: tests passed")

# %% [markdown]
# ### Task 1.3: a numerically stable sigmoid
#
# $\sigma(x) = \dfrac{1}{1 + e^{-x}}$. Written as is, $e^{-x}$ overflows to `inf` for very
# negative $x$ (harmless here, but a warning sign), and the equivalent form
# $e^{x} / (1 + e^{x})$ gives `inf / inf = nan` for large $x$. Make it stable for every
# input: use $1/(1+e^{-x})$ where $x \ge 0$ and $e^{x}/(1+e^{x})$ where $x < 0$, so that the
# exponent is never positive (hint: $e^{-|x|}$).

# %% nbgrader={"grade": false, "grade_id": "task1_sigmoid", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """Logistic sigmoid 1 / (1 + exp(-x)), elementwise, with no overflow for large |x|.

    Args:
        x: a tensor of any shape.

    Returns:
        A tensor shaped like ``x`` with values in [0, 1] and no NaN.
    """
    ### BEGIN SOLUTION
    e = torch.exp(-x.abs())  # in (0, 1]: never overflows
    return torch.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task1_sigmoid_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Task 1.3 tests: sigmoid
got = float(sigmoid(torch.tensor(0.0)))
assert abs(got - 0.5) < 1e-7, f"sigmoid(0.0) should be 0.5, got {got}."
x = torch.linspace(-6, 6, 13)
out = sigmoid(x)
check_shape("sigmoid(x)", out, (13,), hint="sigmoid is elementwise: return a tensor shaped like x.")
check_dtype("sigmoid of a float64 tensor", sigmoid(x.double()), torch.float64,
            hint="return the input's dtype: no .float(), and build constants with torch.zeros_like(x).")
check_close("sigmoid(x)", out, 1.0 / (1.0 + torch.exp(-x)), atol=1e-6,
            hint="sigmoid(x) = 1 / (1 + exp(-x)).")
extreme = sigmoid(torch.tensor([-1000.0, 1000.0]))
assert not torch.isnan(extreme).any(), (
    f"sigmoid([-1000., 1000.]) gave {extreme.tolist()}: exp(1000) overflows to inf and inf / inf is nan. "
    "Only exponentiate non-positive numbers, e.g. exp(-|x|), and pick the formula with torch.where.")
check_close("sigmoid([-1000., 1000.])", extreme, torch.tensor([0.0, 1.0]), atol=1e-7)
### BEGIN HIDDEN TESTS
g = torch.Generator().manual_seed(103)
xh = torch.randn(6, 4, generator=g, dtype=torch.float64) * 8
check_close("sigmoid(x) vs torch.sigmoid (float64)", sigmoid(xh), torch.sigmoid(xh), atol=1e-12)
assert sigmoid(xh).dtype == torch.float64, "sigmoid must keep the input dtype."
big = torch.tensor([-1e4, -745.0, -88.0, 0.0, 88.0, 745.0, 1e4])
check_close("sigmoid at extreme values", sigmoid(big), torch.sigmoid(big), atol=1e-7)
assert not torch.isnan(sigmoid(big.double())).any(), "sigmoid gives NaN for extreme float64 inputs."
with forbid(READY_MADE_ACTIVATIONS, "Task 1 builds activations from elementary operations"):
    sigmoid(xh)
### END HIDDEN TESTS
print("sigmoid: tests passed")

# %% [markdown]
# ### Task 1.4: GELU, the exact form
#
# $\mathrm{GELU}(x) = x\,\Phi(x) = \tfrac{x}{2}\left(1 + \mathrm{erf}(x/\sqrt{2})\right)$, where
# $\Phi$ is the standard normal CDF. Use `torch.erf`. (The tanh approximation that BERT and
# GPT-2 use differs by up to about $10^{-3}$; this task asks for the exact form.)

# %% nbgrader={"grade": false, "grade_id": "task1_gelu", "locked": false, "schema_version": 3, "solution": true, "task": false}
def gelu(x: torch.Tensor) -> torch.Tensor:
    """Gaussian error linear unit, exact form: x * Phi(x) = 0.5 * x * (1 + erf(x / sqrt(2))).

    Args:
        x: a tensor of any shape.

    Returns:
        A tensor shaped like ``x``.
    """
    ### BEGIN SOLUTION
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task1_gelu_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Task 1.4 tests: gelu
got = float(gelu(torch.tensor(0.0)))
assert got == 0.0, f"gelu(0.0) should be 0, got {got}."
got = float(gelu(torch.tensor(1.0)))
tanh_form = 0.5 * (1 + math.tanh(math.sqrt(2 / math.pi) * (1 + 0.044715)))
assert abs(got - tanh_form) > 1e-5 or abs(got - 0.8413447) < 1e-6, (
    f"gelu(1.0) = {got:.7f} is the tanh approximation; use the exact form 0.5 * x * (1 + erf(x / sqrt(2))).")
assert abs(got - 0.8413447) < 1e-6, (
    f"gelu(1.0) should be 1 * Phi(1) = 0.8413447, got {got:.7f}: "
    "GELU(x) = 0.5 * x * (1 + erf(x / sqrt(2))); check the sqrt(2) and the factor 0.5.")
x = torch.linspace(-4, 4, 17)
out = gelu(x)
check_shape("gelu(x)", out, (17,), hint="gelu is elementwise: return a tensor shaped like x.")
check_dtype("gelu of a float64 tensor", gelu(x.double()), torch.float64,
            hint="return the input's dtype: no .float(), and build constants with torch.zeros_like(x).")
check_close("gelu(x)", out, x * 0.5 * (1 + torch.erf(x / math.sqrt(2))), atol=1e-6)
### BEGIN HIDDEN TESTS
g = torch.Generator().manual_seed(104)
xh = torch.randn(5, 3, generator=g, dtype=torch.float64) * 3
check_close("gelu(x) vs F.gelu (exact, float64)", gelu(xh), F.gelu(xh), atol=1e-12)
x32 = torch.randn(10, generator=g) * 5
check_close("gelu(x) vs F.gelu (float32)", gelu(x32), F.gelu(x32), atol=1e-6)
assert gelu(xh).dtype == torch.float64, "gelu must keep the input dtype."
with forbid(READY_MADE_ACTIVATIONS, "Task 1 builds activations from elementary operations"):
    gelu(xh)
### END HIDDEN TESTS
print("gelu: tests passed")

# %% [markdown]
# ### Task 1.5: a numerically stable softmax
#
# $\mathrm{softmax}(x)_i = e^{x_i} / \sum_j e^{x_j}$ along dimension `dim`. Softmax does not
# change when you subtract a constant from every $x_i$, so subtract the maximum along `dim`
# first (with `keepdim=True`): then every exponent is $\le 0$ and nothing overflows, even
# for inputs in the thousands. Do not modify `x` in place.

# %% nbgrader={"grade": false, "grade_id": "task1_softmax", "locked": false, "schema_version": 3, "solution": true, "task": false}
def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Softmax along ``dim``, computed stably by subtracting the maximum first.

    Args:
        x: a tensor of any shape.
        dim: the dimension that sums to one.

    Returns:
        A tensor shaped like ``x``, non-negative, summing to 1 along ``dim``.
    """
    ### BEGIN SOLUTION
    shifted = x - x.max(dim=dim, keepdim=True).values
    e = torch.exp(shifted)
    return e / e.sum(dim=dim, keepdim=True)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task1_softmax_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Task 1.5 tests: softmax
x = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
out = softmax(x)
check_shape("softmax(x)", out, (2, 3), hint="softmax returns a tensor shaped like its input.")
check_dtype("softmax of a float64 tensor", softmax(x.double()), torch.float64,
            hint="return the input's dtype: no .float(), and build constants with torch.zeros_like(x).")
check_close("softmax(x).sum(dim=-1)", out.sum(dim=-1), torch.ones(2), atol=1e-6,
            hint="each row must sum to 1: divide by the sum along dim (keepdim=True).")
check_close("softmax(x)", out, torch.exp(x) / torch.exp(x).sum(dim=-1, keepdim=True), atol=1e-6)
out0 = softmax(x, dim=0)
check_close("softmax(x, dim=0).sum(dim=0)", out0.sum(dim=0), torch.ones(3), atol=1e-6,
            hint="use the dim argument for max and sum, not a hard-coded -1 or 1.")
big = softmax(torch.tensor([1000.0, 1001.0, 1002.0]))
assert not torch.isnan(big).any(), (
    f"softmax([1000., 1001., 1002.]) gave {big.tolist()}: exp(1000) overflows to inf. "
    "Subtract x.max(dim=dim, keepdim=True).values before exponentiating.")
check_close("softmax([1000., 1001., 1002.])", big, softmax(torch.tensor([0.0, 1.0, 2.0])), atol=1e-6)
_, (changed,) = call_watching(softmax, x)
assert not changed, "softmax changed its input x in place: use x - max, not x -= max."
### BEGIN HIDDEN TESTS
g = torch.Generator().manual_seed(105)
xh = torch.randn(3, 4, 5, generator=g, dtype=torch.float64) * 4
for d in (0, 1, 2, -1):
    check_close(f"softmax(x, dim={d}) vs torch.softmax", softmax(xh, dim=d), torch.softmax(xh, dim=d),
                atol=1e-12)
huge = torch.randn(4, 6, generator=g) * 3000
check_close("softmax of values in the thousands", softmax(huge), torch.softmax(huge, dim=-1), atol=1e-6)
check_close("softmax of large negative values", softmax(-huge.abs()), torch.softmax(-huge.abs(), dim=-1),
            atol=1e-6)
assert softmax(xh).dtype == torch.float64, "softmax must keep the input dtype."
with forbid(READY_MADE_ACTIVATIONS, "Task 1 builds activations from elementary operations"):
    _, (changed,) = call_watching(softmax, huge, dim=0)
assert not changed, "softmax modified its input in place."
### END HIDDEN TESTS
print("softmax: tests passed")

# %% [markdown]
# ## Task 2: local derivatives by hand (6 points)
#
# Backpropagation multiplies the gradient flowing in from above by each operation's local
# derivative. Write the elementwise derivatives $f'(x)$ of three activations. Return floats
# with the dtype of `x` (not booleans), shaped like `x`. Here you may use `torch.sigmoid`
# and `torch.tanh`, but not autograd.
#
# * $\mathrm{ReLU}'(x) = 1$ if $x > 0$, else $0$ (at $x = 0$ take $0$, as PyTorch does).
# * $\sigma'(x) = \sigma(x)\,(1 - \sigma(x))$.
# * $\tanh'(x) = 1 - \tanh^2(x)$.

# %% nbgrader={"grade": false, "grade_id": "task2_grads", "locked": false, "schema_version": 3, "solution": true, "task": false}
def relu_grad(x: torch.Tensor) -> torch.Tensor:
    """d relu(x) / dx, elementwise: 1.0 where x > 0, 0.0 elsewhere (dtype of x)."""
    ### BEGIN SOLUTION
    return (x > 0).to(x.dtype)
    ### END SOLUTION


def sigmoid_grad(x: torch.Tensor) -> torch.Tensor:
    """d sigmoid(x) / dx = sigmoid(x) * (1 - sigmoid(x)), elementwise."""
    ### BEGIN SOLUTION
    s = torch.sigmoid(x)
    return s * (1 - s)
    ### END SOLUTION


def tanh_grad(x: torch.Tensor) -> torch.Tensor:
    """d tanh(x) / dx = 1 - tanh(x)**2, elementwise."""
    ### BEGIN SOLUTION
    t = torch.tanh(x)
    return 1 - t * t
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task2_relu_grad_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Task 2.1 tests: relu_grad
x = torch.tensor([-2.0, 0.0, 0.5, 3.0])
out = relu_grad(x)
check_shape("relu_grad(x)", out, (4,), hint="relu_grad is elementwise: return a tensor shaped like x.")
assert out.dtype == x.dtype, (
    f"relu_grad must return floats of x's dtype ({x.dtype}), got {out.dtype}: convert the mask with .to(x.dtype).")
assert float(out[1]) == 0.0, f"relu_grad(0.0) should be 0 (the convention PyTorch uses), got {float(out[1])}."
check_close("relu_grad(x)", out, torch.tensor([0.0, 0.0, 1.0, 1.0]),
            hint="the slope of ReLU is 1 where x > 0 and 0 elsewhere; it does not depend on the size of x.")
### BEGIN HIDDEN TESTS
g = torch.Generator().manual_seed(201)
xh = (torch.randn(5, 6, generator=g, dtype=torch.float64) * 3).requires_grad_(True)
torch.relu(xh).sum().backward()
check_close("relu_grad(x) vs autograd", relu_grad(xh.detach()), xh.grad, atol=1e-15, rtol=0)
assert relu_grad(xh.detach()).dtype == torch.float64, "relu_grad must keep the input dtype."
### END HIDDEN TESTS
print("relu_grad: tests passed")

# %% nbgrader={"grade": true, "grade_id": "task2_sigmoid_grad_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Task 2.2 tests: sigmoid_grad
got = float(sigmoid_grad(torch.tensor(0.0)))
assert abs(got - 0.25) < 1e-7, f"sigmoid_grad(0.0) should be 0.5 * (1 - 0.5) = 0.25, got {got}."
x = torch.linspace(-5, 5, 11, dtype=torch.float64).requires_grad_(True)
torch.sigmoid(x).sum().backward()
out = sigmoid_grad(x.detach())
check_shape("sigmoid_grad(x)", out, (11,), hint="sigmoid_grad is elementwise: return a tensor shaped like x.")
check_close("sigmoid_grad(x) vs autograd", out, x.grad, atol=1e-10,
            hint="sigma'(x) = sigma(x) * (1 - sigma(x)).")
### BEGIN HIDDEN TESTS
g = torch.Generator().manual_seed(202)
xh = (torch.randn(4, 3, generator=g, dtype=torch.float64) * 4).requires_grad_(True)
torch.sigmoid(xh).sum().backward()
check_close("sigmoid_grad(x) vs autograd (float64)", sigmoid_grad(xh.detach()), xh.grad, atol=1e-12)
ext = sigmoid_grad(torch.tensor([-1000.0, -100.0, 100.0, 1000.0]))
assert not torch.isnan(ext).any(), f"sigmoid_grad gives NaN at extreme inputs: {ext.tolist()}."
check_close("sigmoid_grad at extreme inputs", ext, torch.zeros(4), atol=1e-20)
### END HIDDEN TESTS
print("sigmoid_grad: tests passed")

# %% nbgrader={"grade": true, "grade_id": "task2_tanh_grad_test", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
# Task 2.3 tests: tanh_grad
got = float(tanh_grad(torch.tensor(0.0)))
assert abs(got - 1.0) < 1e-7, f"tanh_grad(0.0) should be 1 - tanh(0)**2 = 1, got {got}."
x = torch.linspace(-3, 3, 13, dtype=torch.float64).requires_grad_(True)
torch.tanh(x).sum().backward()
out = tanh_grad(x.detach())
check_shape("tanh_grad(x)", out, (13,), hint="tanh_grad is elementwise: return a tensor shaped like x.")
check_close("tanh_grad(x) vs autograd", out, x.grad, atol=1e-10, hint="tanh'(x) = 1 - tanh(x)**2.")
### BEGIN HIDDEN TESTS
g = torch.Generator().manual_seed(203)
xh = (torch.randn(2, 7, generator=g, dtype=torch.float64) * 2).requires_grad_(True)
torch.tanh(xh).sum().backward()
check_close("tanh_grad(x) vs autograd (float64)", tanh_grad(xh.detach()), xh.grad, atol=1e-12)
ext = tanh_grad(torch.tensor([-50.0, 50.0]))
assert not torch.isnan(ext).any(), f"tanh_grad gives NaN at extreme inputs: {ext.tolist()}."
check_close("tanh_grad at extreme inputs", ext, torch.zeros(2), atol=1e-12)
### END HIDDEN TESTS
print("tanh_grad: tests passed")

# %% [markdown]
# ## Task 3: a 2-layer MLP, forward and backward in matrix form (9 points)
#
# The network is
#
# $$x \xrightarrow{\text{Linear}(W_1, b_1)} z_1 \xrightarrow{\text{ReLU}} h_1
#   \xrightarrow{\text{Linear}(W_2, b_2)} \text{logits}
#   \xrightarrow{\text{softmax cross-entropy, mean over the batch}} L$$
#
# with weights shaped like `nn.Linear`'s, `(out_features, in_features)`:
# `x` is `(N, D)`, `W1` is `(H, D)`, `b1` is `(H,)`, `W2` is `(C, H)`, `b2` is `(C,)`, and a
# linear layer computes `x @ W.T + b`. The labels `y` are `N` integers in `[0, C)` and
# $L = \frac{1}{N}\sum_i -\log \mathrm{softmax}(\text{logits}_i)_{y_i}$.
#
# **Forward**: return the logits and a `cache` holding whatever the backward pass needs
# (e.g. a tuple of `x`, the weights, `z1`, `h1`, the logits).
#
# **Backward**: return the gradients of $L$ as a dict `{"W1": ..., "b1": ..., "W2": ..., "b2": ...}`,
# each shaped like its parameter. Work backwards one operation at a time, writing the shape
# of every gradient next to it:
#
# 1. $\partial L/\partial\,\text{logits} = (\mathrm{softmax}(\text{logits}) - \mathrm{onehot}(y)) / N$, shape `(N, C)`.
# 2. Linear 2: $\partial L/\partial W_2 = (\partial L/\partial\,\text{logits})^\top h_1$ `(C, H)`,
#    $\partial L/\partial b_2$ = sum over the batch `(C,)`,
#    $\partial L/\partial h_1 = (\partial L/\partial\,\text{logits})\, W_2$ `(N, H)`.
# 3. ReLU: $\partial L/\partial z_1 = \partial L/\partial h_1 \odot \mathrm{ReLU}'(z_1)$.
# 4. Linear 1: the same pattern as Linear 2, with $x$ as the input.
#
# Do not use autograd. Tasks 3 and 4 may use `torch.softmax` and `torch.relu`.

# %% nbgrader={"grade": false, "grade_id": "task3_mlp", "locked": false, "schema_version": 3, "solution": true, "task": false}
def mlp_forward(x, W1, b1, W2, b2):
    """Forward pass x -> Linear(W1, b1) -> ReLU -> Linear(W2, b2).

    Args:
        x: (N, D) inputs.
        W1: (H, D), b1: (H,): the first layer, shaped like nn.Linear(D, H)'s parameters.
        W2: (C, H), b2: (C,): the second layer.

    Returns:
        logits: (N, C).
        cache: whatever mlp_backward needs, e.g. a tuple of intermediate tensors.
    """
    ### BEGIN SOLUTION
    z1 = x @ W1.T + b1           # (N, H) pre-activations
    h1 = z1.clamp(min=0)         # (N, H) ReLU
    logits = h1 @ W2.T + b2      # (N, C)
    cache = (x, W2, z1, h1, logits)
    return logits, cache
    ### END SOLUTION


def mlp_backward(cache, y):
    """Gradients of the mean softmax cross-entropy loss with respect to W1, b1, W2, b2.

    Args:
        cache: the second output of mlp_forward.
        y: (N,) integer class labels in [0, C).

    Returns:
        dict with keys "W1", "b1", "W2", "b2"; each value is shaped like that parameter.
    """
    ### BEGIN SOLUTION
    x, W2, z1, h1, logits = cache
    n = logits.shape[0]
    dlogits = torch.softmax(logits, dim=1)                # (N, C)
    dlogits[torch.arange(n), y] -= 1.0                    # softmax - onehot(y)
    dlogits = dlogits / n                                 # the mean over the batch
    dW2 = dlogits.T @ h1                                  # (C, H)
    db2 = dlogits.sum(dim=0)                              # (C,)
    dh1 = dlogits @ W2                                    # (N, H)
    dz1 = dh1 * (z1 > 0).to(dh1.dtype)                    # (N, H) through the ReLU
    dW1 = dz1.T @ x                                       # (H, D)
    db1 = dz1.sum(dim=0)                                  # (H,)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task3_mlp_forward_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Task 3.1 tests: mlp_forward
g = torch.Generator().manual_seed(301)
N, D, H, C = 4, 8, 16, 3
x = torch.randn(N, D, generator=g, dtype=torch.float64)
W1 = torch.randn(H, D, generator=g, dtype=torch.float64) * 0.5
b1 = torch.randn(H, generator=g, dtype=torch.float64) * 0.1
W2 = torch.randn(C, H, generator=g, dtype=torch.float64) * 0.5
b2 = torch.randn(C, generator=g, dtype=torch.float64) * 0.1
result = mlp_forward(x, W1, b1, W2, b2)
assert isinstance(result, tuple) and len(result) == 2, (
    "mlp_forward must return two things, (logits, cache); "
    f"got {type(result).__name__}{'' if not isinstance(result, tuple) else ' of length ' + str(len(result))}.")
logits, cache = result
check_shape("logits", logits, (N, C),
            hint=f"logits are (N, C) = ({N}, {C}): a linear layer computes x @ W.T + b, since W is (out, in).")
expected = torch.relu(x @ W1.T + b1) @ W2.T + b2
check_close("logits", logits, expected, atol=1e-10,
            hint="logits = relu(x @ W1.T + b1) @ W2.T + b2: check the ReLU between the layers and both biases.")
### BEGIN HIDDEN TESTS
g = torch.Generator().manual_seed(311)
lin1, lin2 = torch.nn.Linear(5, 7).double(), torch.nn.Linear(7, 2).double()
with torch.no_grad():
    for p in list(lin1.parameters()) + list(lin2.parameters()):
        p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64))
    xh = torch.randn(9, 5, generator=g, dtype=torch.float64)
    ref = lin2(torch.relu(lin1(xh)))
    got, _ = mlp_forward(xh, lin1.weight, lin1.bias, lin2.weight, lin2.bias)
    check_close("logits vs nn.Linear -> ReLU -> nn.Linear", got, ref, atol=1e-10)
    got1, _ = mlp_forward(xh[:1], lin1.weight, lin1.bias, lin2.weight, lin2.bias)
    check_close("logits for a batch of one", got1, ref[:1], atol=1e-10)
### END HIDDEN TESTS
print("mlp_forward: tests passed")

# %% nbgrader={"grade": true, "grade_id": "task3_mlp_backward_test", "locked": true, "points": 6, "schema_version": 3, "solution": false, "task": false}
# Task 3.2 tests: mlp_backward, compared with autograd on the same network
def _autograd_grads(x, y, params):
    """The reference: the same MLP and loss, differentiated by torch.autograd."""
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    z1 = x @ leaves["W1"].T + leaves["b1"]
    logits = torch.relu(z1) @ leaves["W2"].T + leaves["b2"]
    loss = torch.nn.functional.cross_entropy(logits, y)  # mean over the batch
    grads = torch.autograd.grad(loss, list(leaves.values()))
    return dict(zip(leaves, grads))


def _check_grads(got, params, ref, n):
    assert isinstance(got, dict) and set(got) == {"W1", "b1", "W2", "b2"}, (
        "mlp_backward must return a dict with keys 'W1', 'b1', 'W2', 'b2'; got "
        f"{sorted(got) if isinstance(got, dict) else type(got).__name__}.")
    for name in ("W2", "b2", "W1", "b1"):
        g_, p = got[name], params[name]
        if isinstance(g_, torch.Tensor) and g_.dim() == 2 and tuple(g_.shape) == tuple(p.shape)[::-1] != tuple(p.shape):
            raise CheckError(f"expected gradient shape {tuple(p.shape)} for {name}, got {tuple(g_.shape)}: "
                             "did you forget to transpose? With W shaped (out, in), dL/dW = dL/dout.T @ input.")
        check_shape(f"grad {name}", g_, tuple(p.shape), hint=f"a gradient is shaped like its parameter {name}.")
        if torch.allclose(g_.double(), n * ref[name], atol=1e-8) and n > 1:
            raise CheckError(f"grad {name} is {n} times too large: the loss is the mean over the batch, "
                             "so divide dL/dlogits by N.")
        check_close(f"grad {name}", g_, ref[name], atol=1e-8,
                    hint="work backwards one step at a time: dlogits = (softmax - onehot) / N, then "
                         "Linear 2, then the ReLU mask (z1 > 0), then Linear 1.")


g = torch.Generator().manual_seed(302)
N, D, H, C = 6, 8, 16, 3
x = torch.randn(N, D, generator=g, dtype=torch.float64)
y = torch.randint(0, C, (N,), generator=g)
params = {"W1": torch.randn(H, D, generator=g, dtype=torch.float64) * 0.5,
          "b1": torch.randn(H, generator=g, dtype=torch.float64) * 0.1,
          "W2": torch.randn(C, H, generator=g, dtype=torch.float64) * 0.5,
          "b2": torch.randn(C, generator=g, dtype=torch.float64) * 0.1}
_, cache = mlp_forward(x, params["W1"], params["b1"], params["W2"], params["b2"])
_check_grads(mlp_backward(cache, y), params, _autograd_grads(x, y, params), N)
### BEGIN HIDDEN TESTS
# Other sizes and seeds, no autograd available, and a second backward call on the same cache.
for seed, (N, D, H, C) in ((312, (7, 5, 6, 4)), (313, (1, 3, 2, 2)), (314, (32, 10, 12, 5))):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(N, D, generator=g, dtype=torch.float64)
    y = torch.randint(0, C, (N,), generator=g)
    params = {"W1": torch.randn(H, D, generator=g, dtype=torch.float64),
              "b1": torch.randn(H, generator=g, dtype=torch.float64),
              "W2": torch.randn(C, H, generator=g, dtype=torch.float64),
              "b2": torch.randn(C, generator=g, dtype=torch.float64)}
    ref = _autograd_grads(x, y, params)
    with torch.no_grad():
        _, cache = mlp_forward(x, params["W1"], params["b1"], params["W2"], params["b2"])
        _check_grads(mlp_backward(cache, y), params, ref, N)
        _check_grads(mlp_backward(cache, y), params, ref, N)
### END HIDDEN TESTS
print("mlp_backward: tests passed")

# %% [markdown]
# ## Task 4: numerical gradient by central differences (3 points)
#
# For every entry $x_i$ of `x`, perturb it by $\pm\varepsilon$ and estimate
# $$\frac{\partial f}{\partial x_i} \approx \frac{f(x + \varepsilon e_i) - f(x - \varepsilon e_i)}{2\varepsilon}.$$
# The error of central differences is $O(\varepsilon^2)$ (a forward difference's is
# $O(\varepsilon)$). Use float64 inputs: in float32 the rounding error of $f$ swamps the
# difference. `x` must be unchanged when your function returns (work on a clone, or put
# every entry back after perturbing it). `f` returns a scalar: a 0-dim tensor or a float.

# %% nbgrader={"grade": false, "grade_id": "task4_numerical_gradient", "locked": false, "schema_version": 3, "solution": true, "task": false}
def numerical_gradient(f, x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Central-difference estimate of the gradient of the scalar function ``f`` at ``x``.

    Args:
        f: a function of one tensor shaped like ``x``, returning a scalar (0-dim tensor or float).
        x: the point, any shape (use float64 for accuracy).
        eps: the step size.

    Returns:
        A tensor shaped like ``x``: grad[i] = (f(x + eps e_i) - f(x - eps e_i)) / (2 eps).
    """
    ### BEGIN SOLUTION
    x = x.detach().clone(memory_format=torch.contiguous_format)
    grad = torch.zeros_like(x)
    flat_x, flat_g = x.view(-1), grad.view(-1)
    for i in range(flat_x.numel()):
        old = flat_x[i].item()
        flat_x[i] = old + eps
        f_plus = float(f(x))
        flat_x[i] = old - eps
        f_minus = float(f(x))
        flat_x[i] = old                                   # put the entry back
        flat_g[i] = (f_plus - f_minus) / (2 * eps)
    return grad
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "task4_numerical_gradient_test", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
# Task 4 tests: numerical_gradient
x = torch.tensor([[-1.0, 0.5, 2.0], [0.0, 1.5, -2.5]], dtype=torch.float64)
num, (_, changed) = call_watching(numerical_gradient, lambda t: (t ** 3).sum(), x)
check_shape("numerical_gradient", num, (2, 3), hint="return one partial derivative per entry of x, shaped like x.")
assert not changed, (
    "numerical_gradient changed its input x: put every entry back after perturbing it (or work on a clone).")
check_close("numerical_gradient of sum(x**3)", num, 3 * x ** 2, atol=1e-6,
                  hint="d/dx sum(x**3) = 3 x**2; the error should be around 1e-9 or less.")
# With a big step the estimate's error shows which difference you used:
# central: 3x^2 + eps^2 exactly; forward: 3x^2 + 3x eps + eps^2.
coarse = numerical_gradient(lambda t: (t ** 3).sum(), x, eps=0.1)
if torch.allclose(coarse, 3 * x ** 2 + 0.3 * x + 0.01, atol=1e-6) or \
        torch.allclose(coarse, 3 * x ** 2 - 0.3 * x + 0.01, atol=1e-6):
    raise CheckError("numerical_gradient looks like a one-sided difference; use the central difference "
                     "(f(x + eps) - f(x - eps)) / (2 eps).")
check_close("numerical_gradient with eps=0.1", coarse, 3 * x ** 2 + 0.01, atol=1e-8,
            hint="use the eps argument as the step: (f(x + eps e_i) - f(x - eps e_i)) / (2 eps).")
### BEGIN HIDDEN TESTS
g = torch.Generator().manual_seed(401)
w = torch.randn(3, 4, generator=g, dtype=torch.float64)
xh = torch.randn(3, 4, generator=g, dtype=torch.float64)
xr = xh.clone().requires_grad_(True)
(torch.sin(xr) * w).sum().backward()
check_close("numerical_gradient vs autograd", numerical_gradient(lambda t: (torch.sin(t) * w).sum(), xh),
            xr.grad, atol=1e-8)
check_close("numerical_gradient of a float-valued f", numerical_gradient(lambda t: float((t * w).sum()), xh),
            w, atol=1e-8)
v = torch.randn(5, generator=g, dtype=torch.float64)
check_close("numerical_gradient of a 1-d input", numerical_gradient(lambda t: (t ** 2).sum(), v), 2 * v,
            atol=1e-8)
### END HIDDEN TESTS
print("numerical_gradient: tests passed")

# %% [markdown]
# ## Putting it together: gradient-check your backward pass
#
# This cell is not graded. It checks your `mlp_backward` against your `numerical_gradient`,
# the way you would check any new layer. A correct backward pass gives a relative error of
# about 1e-6 or less (entries close to zero make the relative error of float64 central
# differences larger than the 1e-8 of the bigger ones); a bug gives 1e-2 or more.

# %% nbgrader={"grade": false, "grade_id": "gradient_check_demo", "locked": true, "schema_version": 3, "solution": false, "task": false}
from dlcourse.checks import max_relative_error

g = torch.Generator().manual_seed(7)
x = torch.randn(5, 4, generator=g, dtype=torch.float64)
y = torch.randint(0, 3, (5,), generator=g)
W1, b1 = torch.randn(6, 4, generator=g, dtype=torch.float64), torch.randn(6, generator=g, dtype=torch.float64)
W2, b2 = torch.randn(3, 6, generator=g, dtype=torch.float64), torch.randn(3, generator=g, dtype=torch.float64)
_, cache = mlp_forward(x, W1, b1, W2, b2)
analytic = mlp_backward(cache, y)
numeric = {
    "W1": numerical_gradient(lambda W: torch.nn.functional.cross_entropy(mlp_forward(x, W, b1, W2, b2)[0], y), W1),
    "b1": numerical_gradient(lambda b: torch.nn.functional.cross_entropy(mlp_forward(x, W1, b, W2, b2)[0], y), b1),
    "W2": numerical_gradient(lambda W: torch.nn.functional.cross_entropy(mlp_forward(x, W1, b1, W, b2)[0], y), W2),
    "b2": numerical_gradient(lambda b: torch.nn.functional.cross_entropy(mlp_forward(x, W1, b1, W2, b)[0], y), b2),
}
for name in ("W1", "b1", "W2", "b2"):
    print(f"{name}: relative error {max_relative_error(analytic[name], numeric[name]):.1e} (should be below 1e-6)")
