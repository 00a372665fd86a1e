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
# # 01 · Tensors and autograd
#
# Every model in this course is a function built from tensor operations, and every
# training run needs the derivative of a loss with respect to millions of parameters.
# PyTorch gives us both: tensors, and `torch.autograd`, which computes derivatives
# automatically. This chapter takes the magic out of the second one by building it.
#
# **What you will build**
#
# - a working knowledge of tensors: shapes, dtypes, devices, and the broadcasting rules
#   (with a from-scratch `broadcast_shape` checked against PyTorch);
# - a scalar **automatic differentiation engine**, `Value`, grown one method at a time:
#   a computational graph, the chain rule, reverse-mode backpropagation;
# - checks that it computes the same gradients as `torch.autograd` and as the course's
#   reference `dlcourse.autograd.Value`;
# - drawings of the computational graph with its gradients;
# - a single neuron trained with your engine on real flowers, step for step identical to
#   the same neuron trained by PyTorch with `dlcourse.fit`.
#
# **Prerequisites**: [00 · Welcome](../part0_welcome/00_welcome.ipynb); Python classes;
# derivatives of $x^2$, $e^x$, $\log x$ and $\tanh x$, and the chain rule from calculus.
#
# **Run time**: CPU (2 cores): about 12 s full mode, 10 s fast mode; GPU: not measured yet.
# (The engine works on Python floats, so it runs on the CPU whatever the device.)
#
# The engine follows Andrej Karpathy's *micrograd* (2020), which fits backpropagation in
# about a hundred lines.

# %% [markdown]
# ## Setup

# %%
import math
import random

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

import dlcourse
import dlcourse.autograd
from dlcourse.autograd import draw_graph
from dlcourse.exercises.chapters import ch01_tensors_autograd as exercises
from dlcourse.plot import plot_decision_boundary

device = dlcourse.setup(seed=0)

# %% [markdown]
# The budget: the number of gradient-descent steps of the neuron trained in section 7
# (each step runs the engine over 100 flowers, about 25 ms).

# %% tags=["parameters"]
FAST = dlcourse.fast_mode()
STEPS = 20 if FAST else 100      # gradient-descent steps for the neuron
LR = 0.5                         # its learning rate

# %% [markdown]
# ## 1. Tensors
#
# A tensor is an $n$-dimensional array of numbers of one type, stored on one device. It
# has a **shape** (the size of each dimension), a **dtype** (the number format) and a
# **device** (where its memory lives).

# %%
x = torch.tensor([[1.0, 2.0, 3.0],
                  [4.0, 5.0, 6.0]])
print("shape:", x.shape, "| dtype:", x.dtype, "| device:", x.device, "| dimensions:", x.ndim)
print("a row:", x[1], "| a column:", x[:, 0], "| transposed shape:", x.T.shape)

# %% [markdown]
# Operations act elementwise, reductions take a `dim` to reduce over (the dimension that
# disappears), and `@` is matrix multiplication: $(2 \times 3)(3 \times 2) \to (2 \times 2)$.

# %%
print("x * 10:\n", x * 10)
print("sum over rows (dim=0):", x.sum(dim=0), "| mean of each row (dim=1):", x.mean(dim=1))
print("x @ x.T:\n", x @ x.T)

# %% [markdown]
# ### Dtypes: how numbers are stored
#
# PyTorch's default for real numbers is `float32`: 32 bits, about 7 significant decimal
# digits. `float64` has about 16; the half-precision formats `float16` and `bfloat16`
# (16 bits) save memory and time on GPUs, at the cost of precision (`bfloat16` keeps
# `float32`'s range but only 2-3 digits; chapter 29 uses them for mixed precision).
# `torch.finfo` tells you a format's machine epsilon (the gap between 1 and the next
# number) and its largest value.

# %%
for dtype in (torch.float64, torch.float32, torch.bfloat16, torch.float16):
    info = torch.finfo(dtype)
    third = torch.tensor(1 / 3, dtype=dtype).item()
    print(f"{str(dtype):15} eps {info.eps:9.2e}  max {info.max:9.2e}  1/3 stored as {third:.10f}")

# %% [markdown]
# Two consequences you will meet again: in `float32`, adding something smaller than about
# $10^{-7}$ to 1 changes nothing; and integers stay integers until an operation needs a
# float (PyTorch *promotes* the result to the wider type).

# %%
one = torch.tensor(1.0)
print("float32: 1 + 1e-8 == 1 ?", bool(one + 1e-8 == one))
print("float64: 1 + 1e-8 == 1 ?", bool(one.double() + 1e-8 == one.double()))
counts = torch.tensor([1, 2, 3])
print(counts.dtype, "| counts / 2 ->", (counts / 2).dtype, "| counts // 2 ->", (counts // 2).dtype)

# %% [markdown]
# ### Devices
#
# A tensor lives on one device: the CPU, a CUDA GPU, or an Apple GPU (MPS). An operation
# needs all its inputs on the same device; `.to(device)` moves (copies) a tensor.
# `dlcourse.setup` picked `device` for you above, so the same code runs everywhere.

# %%
x_dev = x.to(device)
print("x lives on", x.device, "| x_dev lives on", x_dev.device)
print("results stay on the device:", (x_dev * 2).device, "| .cpu() brings them back:", (x_dev * 2).cpu().device)

# %% [markdown]
# ## 2. Broadcasting
#
# Adding a vector to every row of a matrix, subtracting a mean from every column: you do
# not write a loop, or copy the vector; you **broadcast** it. PyTorch (like NumPy) lines
# up the two shapes *from the right* and compares them dimension by dimension:
#
# 1. if one shape is shorter, pad it with 1s on the left;
# 2. two sizes are compatible when they are equal or one of them is 1;
# 3. a size-1 dimension is stretched (virtually, without copying) to match the other.
#
# The result has the larger size in every dimension. If some pair of sizes is different
# and neither is 1, the shapes do not broadcast and PyTorch raises an error.
#
# | shape of `a` | shape of `b` | padded | shape of `a + b` |
# |---|---|---|---|
# | (3, 4) | (4,) | (3, 4) and (1, 4) | (3, 4) |
# | (3, 1) | (1, 4) | | (3, 4) |
# | (2, 3, 4) | (3, 1) | (2, 3, 4) and (1, 3, 1) | (2, 3, 4) |
# | (3, 4) | (3,) | (3, 4) and (1, 3) | error: 4 vs 3 |

# %%
col = torch.tensor([[0.0], [10.0], [20.0]])      # shape (3, 1)
row = torch.tensor([1.0, 2.0, 3.0, 4.0])         # shape (4,)
print((col + row).shape)
print(col + row)

# %% [markdown]
# A typical use: standardise each feature (column) of a data matrix. `X.mean(dim=0)` has
# shape `(d,)`, which broadcasts against `(N, d)` as a row. To work on rows instead, keep
# the reduced dimension with `keepdim=True`, so the mean has shape `(N, 1)`: a column.

# %%
X_demo = torch.randn(5, 3)
X_std = (X_demo - X_demo.mean(dim=0)) / X_demo.std(dim=0)          # (5, 3) - (3,)
print("column means after standardising:", X_std.mean(dim=0))
row_centred = X_demo - X_demo.mean(dim=1, keepdim=True)            # (5, 3) - (5, 1)
print("row means after centring:", row_centred.mean(dim=1))

# %% [markdown]
# **The classic broadcasting bug.** A model's predictions often come out with shape
# `(N, 1)` while the targets have shape `(N,)`. Their difference broadcasts to `(N, N)`,
# every prediction against every target, and a mean squared error computed from it is
# silently wrong. Always check shapes (or use `dlcourse.check_shape`).

# %%
predictions = torch.tensor([[1.0], [2.0], [3.0]])   # (3, 1), e.g. the output of nn.Linear(d, 1)
targets = torch.tensor([1.0, 2.0, 3.0])             # (3,)
print("shape of predictions - targets:", (predictions - targets).shape)
print("MSE, buggy:", ((predictions - targets) ** 2).mean().item(),
      "| MSE, fixed:", ((predictions.squeeze(1) - targets) ** 2).mean().item())

# %% [markdown]
# The three rules fit in a few lines of Python. Writing them down is the best way to be
# sure you know them; the check below compares our function with `torch.broadcast_shapes`
# on many random pairs of shapes, including pairs that must fail.

# %%
def broadcast_shape(shape_a, shape_b):
    """The shape of a ⊕ b for tensors of these shapes, or ValueError if they do not broadcast."""
    n = max(len(shape_a), len(shape_b))
    a = (1,) * (n - len(shape_a)) + tuple(shape_a)      # rule 1: pad with 1s on the left
    b = (1,) * (n - len(shape_b)) + tuple(shape_b)
    out = []
    for size_a, size_b in zip(a, b):
        if size_a != size_b and 1 not in (size_a, size_b):
            raise ValueError(f"shapes {tuple(shape_a)} and {tuple(shape_b)} do not broadcast: "
                             f"{size_a} vs {size_b}")       # rule 2
        out.append(size_b if size_a == 1 else size_a)        # rule 3: a 1 takes the other size
    return tuple(out)


def torch_broadcast(shape_a, shape_b):
    try:
        return tuple(torch.broadcast_shapes(shape_a, shape_b))
    except RuntimeError:
        return "error"


rng = random.Random(0)
pairs = [tuple(tuple(rng.choice([1, 2, 3]) for _ in range(rng.randint(0, 3))) for _ in range(2))
         for _ in range(300)]
for shape_a, shape_b in pairs:
    try:
        ours = broadcast_shape(shape_a, shape_b)
    except ValueError:
        ours = "error"
    assert ours == torch_broadcast(shape_a, shape_b), (shape_a, shape_b, ours)
n_errors = sum(torch_broadcast(a, b) == "error" for a, b in pairs)
print(f"OK broadcast_shape agrees with torch.broadcast_shapes on {len(pairs)} random pairs "
      f"({n_errors} of them must fail)")

# %% [markdown]
# ## 3. Derivatives and the chain rule
#
# Training a network means adjusting its parameters to decrease a loss $L$, and for that
# we need $\partial L / \partial \theta$ for every parameter $\theta$: how much $L$ changes
# when $\theta$ moves a little. Take a small expression (it is the one micrograd's
# tutorial uses):
#
# $$
# e = a b, \qquad d = e + c, \qquad L = d f,
# \qquad a = 2,\; b = -3,\; c = 10,\; f = -2 .
# $$
#
# Forward: $e = -6$, $d = 4$, $L = -8$. Each operation has a simple **local** derivative:
# for a product $\partial (uv)/\partial u = v$, for a sum $\partial (u+v)/\partial u = 1$.
# The **chain rule** multiplies local derivatives along the path from $L$ back to an
# input:
#
# $$
# \frac{\partial L}{\partial a} = \frac{\partial L}{\partial d}\,\frac{\partial d}{\partial e}\,
# \frac{\partial e}{\partial a} = f \cdot 1 \cdot b = (-2)(1)(-3) = 6 .
# $$
#
# A derivative is a limit, so we can always check one numerically with a small step $h$:
# the **central difference** $\big(L(a+h) - L(a-h)\big) / 2h$.

# %%
def L_of(a, b=-3.0, c=10.0, f=-2.0):
    return (a * b + c) * f


h = 1e-6
print("numerical dL/da:", (L_of(2.0 + h) - L_of(2.0 - h)) / (2 * h), "| chain rule: 6")

# %% [markdown]
# Numerical derivatives need two evaluations *per input*: hopeless for a million
# parameters. **Reverse-mode automatic differentiation** (backpropagation) gets every
# $\partial L / \partial \theta$ in one backward sweep costing about as much as the forward
# pass: start at $L$ with $\partial L / \partial L = 1$ and walk the graph backwards,
# multiplying each node's gradient by the local derivatives of the operation that made it
# (Linnainmaa 1970; Rumelhart, Hinton & Williams 1986; Baydin et al. 2018 survey the
# field). That is what we build now.
#
# ## 4. A scalar autograd engine, step by step
#
# ### Step 1: a number that remembers where it came from
#
# A `Value` wraps one float (`data`) and will hold $\partial L/\partial\,\text{itself}$
# (`grad`, 0 until we run backpropagation). To build the graph it also records the
# `Value`s it was computed from (`_prev`), the operation (`_op`), and a function
# `_backward` that will pass its gradient on to its inputs. A `label` helps drawing.

# %%
class Value:
    """One scalar in a computational graph, with the gradient of the output with respect to it."""

    def __init__(self, data, _children=(), _op="", label=""):
        self.data = float(data)
        self.grad = 0.0                  # dL/d(self), filled in by backpropagation
        self._backward = lambda: None    # a leaf has no inputs to pass gradient to
        self._prev = set(_children)
        self._op = _op
        self.label = label

    def __repr__(self):
        name = f"{self.label}: " if self.label else ""
        return f"Value({name}data={self.data:.4g}, grad={self.grad:.4g})"


# %% [markdown]
# We will add the methods one cell at a time, with a small decorator borrowed from the
# *Dive into Deep Learning* book: `@add_to_class(Value)` attaches the function below it to
# the class, so that every explanation can sit next to its code.

# %%
def add_to_class(Class):
    """Attach the decorated function to ``Class`` as a method (d2l's trick)."""
    def register(method):
        setattr(Class, method.__name__, method)
        return method
    return register


# %% [markdown]
# ### Step 2: addition and multiplication, with their local derivatives
#
# `a + b` calls `a.__add__(b)`. It computes the sum and returns a new `Value` whose
# children are `a` and `b`. It also defines `_backward`: once `out.grad` $=\partial L /
# \partial\,\text{out}$ is known, the chain rule gives each input's share,
#
# $$
# \text{out} = a + b: \quad \frac{\partial L}{\partial a} \mathrel{+}= 1\cdot\frac{\partial L}{\partial\,\text{out}},
# \qquad
# \text{out} = a b: \quad \frac{\partial L}{\partial a} \mathrel{+}= b\cdot\frac{\partial L}{\partial\,\text{out}} .
# $$
#
# Why `+=` and not `=` is the subject of step 5. A plain Python number on either side is
# wrapped in a `Value` first, so that `x + 1` works.

# %%
@add_to_class(Value)
def __add__(self, other):
    other = other if isinstance(other, Value) else Value(other)
    out = Value(self.data + other.data, (self, other), "+")

    def _backward():
        self.grad += 1.0 * out.grad
        other.grad += 1.0 * out.grad
    out._backward = _backward
    return out


@add_to_class(Value)
def __mul__(self, other):
    other = other if isinstance(other, Value) else Value(other)
    out = Value(self.data * other.data, (self, other), "*")

    def _backward():
        self.grad += other.data * out.grad
        other.grad += self.data * out.grad
    out._backward = _backward
    return out


# %% [markdown]
# Now the expression from section 3 builds its own graph as it is computed:

# %%
a = Value(2.0, label="a")
b = Value(-3.0, label="b")
c = Value(10.0, label="c")
f = Value(-2.0, label="f")
e = a * b;  e.label = "e"
d = e + c;  d.label = "d"
L = d * f;  L.label = "L"
print(L, "| made by", repr(L._op), "from", sorted(child.label for child in L._prev))

# %% [markdown]
# `dlcourse.autograd.draw_graph` draws it: the inputs on the left, $L$ on the right, each
# value in a box (label, data, grad), each operation in a circle. All gradients are
# still 0. (`figsize` is wide because every box holds three fields.)

# %%
draw_graph(L, figsize=(17, 2.6))
plt.show()

# %% [markdown]
# ### Step 3: backpropagation by hand
#
# Before automating it, run the chain rule ourselves by calling each node's `_backward`,
# starting from the output. $\partial L/\partial L = 1$; then $L = d f$ hands gradients to
# $d$ and $f$; then $d = e + c$ to $e$ and $c$; then $e = a b$ to $a$ and $b$.

# %%
L.grad = 1.0
L._backward()      # d.grad = f = -2,  f.grad = d = 4
d._backward()      # e.grad = c.grad = d.grad = -2
e._backward()      # a.grad = b * e.grad = 6,  b.grad = a * e.grad = -4
for v in (a, b, c, f, e, d):
    print(v)

# %% [markdown]
# $\partial L / \partial a = 6$, as the chain rule and the numerical check said.
#
# ### Step 4: automatic backpropagation
#
# The only rule is the order: a node may pass its gradient on only after *every* node
# that uses it has added its contribution. A **topological order** lists each node after
# all of its inputs; walking it *backwards* satisfies the rule. A depth-first search
# builds it: visit the children first, then append the node.

# %%
@add_to_class(Value)
def backward(self):
    """Fill .grad of every node of the graph with d(self)/d(node)."""
    topo, visited = [], set()

    def build(node):
        if node not in visited:
            visited.add(node)
            for child in node._prev:
                build(child)
            topo.append(node)        # after all of its inputs
    build(self)

    self.grad = 1.0
    for node in reversed(topo):
        node._backward()


# %% [markdown]
# Reset the gradients (they accumulate, exactly as in PyTorch, where `optimizer.zero_grad()`
# does this), run `backward`, and draw the graph again: now every box shows its gradient.

# %%
for v in (a, b, c, f, e, d, L):
    v.grad = 0.0
L.backward()
print("dL/da =", a.grad, "| dL/db =", b.grad, "| dL/dc =", c.grad, "| dL/df =", f.grad)
draw_graph(L, figsize=(17, 2.6))
plt.show()

# %% [markdown]
# Read the gradients as sensitivities: nudging $a$ up by $0.01$ would change $L$ by about
# $6 \times 0.01$; $c$ and $e$ have the same gradient because a sum passes its gradient
# through unchanged; a product sends each input the *other* input's value.
#
# ### Step 5: why gradients accumulate (`+=`)
#
# When a value is used twice, its gradient has two paths to the output, and the
# multivariable chain rule **adds** the contributions. With `=` the second path would
# overwrite the first. The smallest example: $y = x + x$ should give $dy/dx = 2$.

# %%
x = Value(3.0, label="x")
y = x + x
y.backward()
print("d(x + x)/dx =", x.grad, "(correct: 2; with '=' instead of '+=' it would be 1)")

# %% [markdown]
# The same happens in every network: a weight used for many examples, an activation read
# by many neurons of the next layer. Their gradients are sums over all uses.
#
# ### Step 6: the rest of the operations
#
# Powers with a constant exponent, $\frac{d}{dx} x^k = k x^{k-1}$, and three functions:
#
# $$
# \frac{d}{dx} e^x = e^x, \qquad \frac{d}{dx} \log x = \frac{1}{x}, \qquad
# \frac{d}{dx} \tanh x = 1 - \tanh^2 x, \qquad
# \frac{d}{dx}\operatorname{relu}(x) = \begin{cases} 1 & x > 0 \\ 0 & x \le 0 .\end{cases}
# $$
#
# Each `_backward` uses values already computed in the forward pass (`out.data` for
# $e^x$, `t` for $\tanh$): backpropagation reuses the forward pass instead of recomputing.

# %%
@add_to_class(Value)
def __pow__(self, k):
    assert isinstance(k, (int, float)), "only constant exponents: x ** 2, x ** -1"
    out = Value(self.data ** k, (self,), f"**{k}")

    def _backward():
        self.grad += k * self.data ** (k - 1) * out.grad
    out._backward = _backward
    return out


@add_to_class(Value)
def exp(self):
    out = Value(math.exp(self.data), (self,), "exp")

    def _backward():
        self.grad += out.data * out.grad
    out._backward = _backward
    return out


@add_to_class(Value)
def log(self):
    out = Value(math.log(self.data), (self,), "log")

    def _backward():
        self.grad += (1.0 / self.data) * out.grad
    out._backward = _backward
    return out


@add_to_class(Value)
def tanh(self):
    t = math.tanh(self.data)
    out = Value(t, (self,), "tanh")

    def _backward():
        self.grad += (1.0 - t * t) * out.grad
    out._backward = _backward
    return out


@add_to_class(Value)
def relu(self):
    out = Value(max(self.data, 0.0), (self,), "relu")

    def _backward():
        self.grad += (1.0 if self.data > 0 else 0.0) * out.grad
    out._backward = _backward
    return out


# %% [markdown]
# Subtraction and division need no new derivatives: they are compositions of what we
# have, $a - b = a + (-1)\,b$ and $a / b = a\, b^{-1}$, so their gradients come for free.
# The "reflected" methods make a Python number on the *left* work too: `2 * x` first tries
# `int.__mul__`, which gives up, and then Python calls `x.__rmul__(2)`.

# %%
@add_to_class(Value)
def __neg__(self):
    return self * -1


@add_to_class(Value)
def __sub__(self, other):
    return self + (-other)


@add_to_class(Value)
def __truediv__(self, other):
    return self * other ** -1


@add_to_class(Value)
def __radd__(self, other):
    return self + other


@add_to_class(Value)
def __rsub__(self, other):
    return (-self) + other


@add_to_class(Value)
def __rmul__(self, other):
    return self * other


@add_to_class(Value)
def __rtruediv__(self, other):
    return Value(other) * self ** -1


# %% [markdown]
# ## 5. Check it against PyTorch and the reference
#
# PyTorch tensors support the same operators and methods (`+ - * / **`, `.exp()`,
# `.log()`, `.tanh()`, `.relu()`), so *one* Python function can build the same expression
# from our `Value`s, from the reference `dlcourse.autograd.Value`s, or from PyTorch
# tensors. We use `float64` tensors: our engine computes with Python floats, which are
# 64-bit, so the results should agree to about $10^{-12}$.

# %%
def expression(a, b, c):
    """Something with every operation, a reused input (a), and a non-trivial path to the output."""
    d = a * b + c ** 2 - 1 / a
    e = (d / (a - 3.0)).tanh() + (b * c).relu()
    return e * (c * 0.5).exp() + (a * a + 1.0).log()


def with_values(value_class, inputs):
    leaves = [value_class(x) for x in inputs]
    out = expression(*leaves)
    out.backward()
    return out.data, [v.grad for v in leaves]


def with_torch(inputs):
    leaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in inputs]
    out = expression(*leaves)
    out.backward()
    return out.item(), [v.grad.item() for v in leaves]


def f64(values):
    """Python floats -> a float64 tensor (torch.tensor would round them to float32)."""
    return torch.tensor(values, dtype=torch.float64)


inputs = [-1.5, 2.0, 0.7]
ours, theirs, reference = with_values(Value, inputs), with_torch(inputs), with_values(dlcourse.autograd.Value, inputs)
print(f"value: ours {ours[0]:.15f}, torch {theirs[0]:.15f}")
dlcourse.check_close("value vs torch", f64(ours[0]), f64(theirs[0]), atol=1e-12)
dlcourse.check_close("gradients vs torch.autograd", f64(ours[1]), f64(theirs[1]), atol=1e-12)
dlcourse.check_close("gradients vs dlcourse.autograd.Value", f64(ours[1]), f64(reference[1]), atol=1e-12)

# %% [markdown]
# One point could be luck. Repeat at random inputs (away from $a = 3$, where $d/(a-3)$
# blows up, and from $b c = 0$, where relu has a kink), and also compare with numerical
# derivatives using `dlcourse.grad_check`, which needs no autograd at all:

# %%
rng = np.random.default_rng(0)
errors = []
for trial in range(20):
    point = [rng.uniform(-2.5, 2.5), rng.uniform(-2, 2), rng.uniform(-2, 2)]
    if abs(point[1] * point[2]) < 1e-3:
        continue
    ours, theirs = with_values(Value, point), with_torch(point)
    dlcourse.check_close(f"gradients at {np.round(point, 3)}", f64(ours[1]), f64(theirs[1]), atol=1e-12,
                         verbose=False)                                  # raises if any gradient is off
    errors.append((f64(ours[1]) - f64(theirs[1])).abs().max().item())
print(f"OK {len(errors)} random points: max abs gradient error vs torch {max(errors):.1e} (allowed: 1e-12)")
dlcourse.grad_check(expression, [f64(x) for x in inputs], tol=1e-6)

# %% [markdown]
# **What the reference adds.** `dlcourse.autograd.Value` has the same design, plus a
# numerically careful `sigmoid` (exercise 2), clear error messages (`log` of a negative
# number, a `Value` exponent) and a non-recursive topological sort. That last one matters:
# our `build` calls itself once per node along a path, and Python stops recursion at
# about 1,000 levels, so a long chain of operations breaks our engine but not the reference.

# %%
def long_chain(value_class, n=3000):
    x = value_class(0.0)
    y = x
    for _ in range(n):
        y = y + 1.0
    y.backward()
    return x.grad


try:
    long_chain(Value)
    print("ours:      no error (this Python allows deep recursion)")
except RecursionError:
    print("ours:      RecursionError on a chain of 3000 additions")
print("reference: d/dx (x + 1 + 1 + ...) =", long_chain(dlcourse.autograd.Value))

# %% [markdown]
# ## 6. Look inside: a neuron's graph
#
# A neuron computes a weighted sum of its inputs plus a bias and passes it through an
# activation: $\text{out} = \tanh(w_1 x_1 + w_2 x_2 + b)$. Here is its graph after
# `backward()`. The gradients on $w_1, w_2, b$ are what training will use; the
# gradient of $x_1$ is $w_1$ times the gradient arriving at the sum (a product sends each
# input the other one's value).

# %%
x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
bias = Value(6.8813735870195432, label="b")
x1w1 = x1 * w1;  x1w1.label = "x1*w1"
x2w2 = x2 * w2;  x2w2.label = "x2*w2"
weighted = x1w1 + x2w2;  weighted.label = "x1w1+x2w2"
z = weighted + bias;  z.label = "z"
out = z.tanh();  out.label = "out"
out.backward()
draw_graph(out, figsize=(22, 3.6))
plt.show()
print(f"tanh'(z) = 1 - out^2 = {1 - out.data ** 2:.4f} = dout/dz = {z.grad:.4f}")

# %% [markdown]
# The same neuron in PyTorch, for comparison: identical gradients.

# %%
tx = torch.tensor([2.0, 0.0], dtype=torch.float64, requires_grad=True)
tw = torch.tensor([-3.0, 1.0], dtype=torch.float64, requires_grad=True)
tb = torch.tensor(6.8813735870195432, dtype=torch.float64, requires_grad=True)
torch.tanh(tw @ tx + tb).backward()
dlcourse.check_close("neuron: grad of w", f64([w1.grad, w2.grad]), tw.grad, atol=1e-12)
dlcourse.check_close("neuron: grad of x", f64([x1.grad, x2.grad]), tx.grad, atol=1e-12)
dlcourse.check_close("neuron: grad of b", f64(bias.grad), tb.grad, atol=1e-12)

# %% [markdown]
# ## 7. Train a neuron with your engine, on real flowers
#
# Time to learn something. The iris flowers *versicolor* and *virginica* (chapter 02
# met the data set) overlap a little in petal length and width, so no line separates
# them perfectly: a good task for a smooth loss. The model is one neuron with a logistic
# output: the score $z = w_1 x_1 + w_2 x_2 + b$, and the probability of virginica
# $\sigma(z) = 1/(1+e^{-z})$. With labels $t = \pm 1$, the cross-entropy loss of one
# flower is $\log(1 + e^{-t z})$ (large when the score has the wrong sign, near 0 when it
# is confidently right), averaged over the $N$ flowers:
#
# $$
# L(w, b) = \frac{1}{N}\sum_{i=1}^{N} \log\!\big(1 + e^{-t_i (w^\top x_i + b)}\big) .
# $$
#
# Gradient descent repeats: compute $L$ (forward), compute the gradients (backward),
# step each parameter against its gradient, $\theta \leftarrow \theta - \eta\,
# \partial L/\partial\theta$. The features are standardised first (chapter 02 showed why).

# %%
X_iris, y_iris = dlcourse.data.load_iris()
keep = y_iris > 0                                        # versicolor and virginica
X_np = X_iris[keep][:, [2, 3]].astype(np.float64)        # petal length, petal width
X_np = (X_np - X_np.mean(0)) / X_np.std(0)
y_np = (y_iris[keep] == 2).astype(np.float64)            # 1 = virginica, 0 = versicolor
t_np = 2 * y_np - 1                                      # +1 / -1
data = list(zip(X_np.tolist(), t_np.tolist()))           # Python floats for the engine
print(len(data), "flowers; first:", data[0])

W_INIT, B_INIT = (0.5, -0.5), 0.0                        # a fixed start, shared with PyTorch below

# %%
w1, w2, b = Value(W_INIT[0], label="w1"), Value(W_INIT[1], label="w2"), Value(B_INIT, label="b")
params = [w1, w2, b]


def engine_loss():
    """Mean logistic loss over all flowers, as one big graph of Values."""
    losses = [((-t_i * (w1 * x_i[0] + w2 * x_i[1] + b)).exp() + 1).log() for x_i, t_i in data]
    return sum(losses) / len(losses)


engine_losses = []
for step in range(STEPS):
    loss = engine_loss()               # forward
    for p in params:
        p.grad = 0.0                   # gradients accumulate: reset them
    loss.backward()                    # backward
    for p in params:
        p.data -= LR * p.grad          # gradient-descent step
    engine_losses.append(loss.data)
print(f"loss: {engine_losses[0]:.4f} -> {engine_losses[-1]:.4f} after {STEPS} steps; "
      f"w = ({w1.data:.4f}, {w2.data:.4f}), b = {b.data:.4f}")

# %% [markdown]
# **The same neuron, trained by PyTorch.** `nn.Linear(2, 1)` is $w^\top x + b$;
# `F.binary_cross_entropy_with_logits` is exactly the loss above (it takes labels 0/1);
# `torch.optim.SGD` takes the same steps. `dlcourse.fit`, the training loop every later
# chapter uses, runs it: one batch holding all the flowers makes one epoch one
# gradient-descent step. We start from the same weights, in `float64` on the CPU, with
# mixed precision off (`amp=False`), so the two runs must agree to many digits.

# %%
model = torch.nn.Linear(2, 1).double()
with torch.no_grad():
    model.weight.copy_(torch.tensor([W_INIT], dtype=torch.float64))
    model.bias.fill_(B_INIT)
loader = DataLoader(TensorDataset(torch.from_numpy(X_np), torch.from_numpy(y_np)), batch_size=len(X_np))
optimizer = torch.optim.SGD(model.parameters(), lr=LR)
history = dlcourse.fit(model, loader, optimizer, epochs=STEPS, device="cpu", amp=False, metrics=(),
                       loss_fn=lambda logits, y: F.binary_cross_entropy_with_logits(logits.squeeze(1), y),
                       progress=False, live_plot=False)

dlcourse.check_close("loss curve: engine vs dlcourse.fit", f64(engine_losses), f64(history["train_loss"]),
                     atol=1e-12)
dlcourse.check_close("final weights: engine vs torch", f64([w1.data, w2.data, b.data]),
                     torch.cat([model.weight.detach().ravel(), model.bias.detach()]), atol=1e-12)

# %%
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(range(1, STEPS + 1), engine_losses, lw=3, alpha=0.5, label="our engine")
ax.plot(range(1, STEPS + 1), history["train_loss"], "k--", lw=1, label="PyTorch via dlcourse.fit")
ax.set(xlabel="gradient-descent step", ylabel="mean logistic loss", title="one neuron on iris")
ax.legend()
plt.show()

# %% [markdown]
# **What it learned.** The line $w^\top x + b = 0$ where the neuron is 50/50 between the two
# species, and its accuracy. A few flowers sit on the wrong side: the two species overlap,
# and no line can get them all.

# %%
w_learned = np.array([w1.data, w2.data])
accuracy = np.mean((X_np @ w_learned + b.data > 0) == (y_np == 1))
fig = plot_decision_boundary(lambda grid: (grid @ w_learned + b.data > 0).astype(int), X_np, y_np,
                             title=f"versicolor (blue) vs virginica (red): accuracy {accuracy:.0%}")
fig.axes[0].set(xlabel="petal length (standardised)", ylabel="petal width (standardised)")
plt.show()

# %% [markdown]
# ## 8. Exercises
#
# Each exercise cell holds a placeholder. Replace it, run the cell, then run the check
# cell under it: it says whether your answer is right and, if not, what to change (the
# checks live in `dlcourse.exercises.chapters.ch01_tensors_autograd`). Worked solutions are in
# `solutions/chapters/01_tensors_autograd.py` (try first!).
#
# ### Exercise 1: predict the broadcast shapes
#
# Without running anything, write the shape of `a + b` for each pair below, as a tuple, or
# the string `"error"` if they do not broadcast.

# %%
QUIZ = [((5, 1, 4), (3, 1)), ((2, 3), (2,)), ((4, 1), (4,)), ((), (2, 2)), ((8, 1, 6, 1), (7, 1, 5))]

my_shapes = None     # YOUR ANSWER: a list of 5 tuples or "error", e.g. [(1, 2), "error", ...]

# %%
exercises.check_broadcast_shapes(my_shapes)

# %% [markdown]
# ### Exercise 2: a sigmoid operation
#
# Write `value_sigmoid(v)`, returning a new `Value` for $\sigma(v) = 1/(1 + e^{-v})$ with
# `v` as its only child and a `_backward` that uses $\sigma'(v) = \sigma(v)(1 - \sigma(v))$,
# the way `tanh` does in step 6 (do not build it from `exp` and `/` Values: one node, one
# local derivative). It must not overflow: `math.exp(1000)` raises `OverflowError`, so
# for negative inputs use the equivalent form $e^{v}/(1 + e^{v})$.

# %%
def value_sigmoid(v):
    """sigmoid(v) as a single Value node with its own _backward."""
    return None     # YOUR CODE HERE


# %%
exercises.check_value_sigmoid(value_sigmoid, Value)     # with this notebook's Value class

# %% [markdown]
# ### Exercise 3: a gradient by hand
#
# For $g(a, b) = (a + b)(a - b)$ at $a = 3$, $b = 2$, work out $\partial g/\partial a$ and
# $\partial g/\partial b$ on paper, following the graph: both inputs appear in both
# factors, so each has two paths to $g$, and their contributions add (step 5).

# %%
my_grads = None      # YOUR ANSWER: (dg/da, dg/db) as two numbers

# %%
exercises.check_gradient_by_hand(my_grads)

# %% [markdown]
# **Graded practice.** The assignment `a01_activations_backprop` (in
# `release/a01_activations_backprop/`) asks for the same ideas at the scale of real
# networks: activation functions and their local derivatives, and the backward pass of a
# two-layer MLP in matrix form, all checked against PyTorch.
#
# ## 9. Summary
#
# - A tensor has a shape, a dtype and a device. `float32` keeps about 7 digits, `float64`
#   16; operations need their inputs on one device.
# - Broadcasting aligns shapes from the right; sizes must be equal or 1. Watch for
#   `(N, 1)` against `(N,)`.
# - Reverse-mode autodiff records the computational graph during the forward pass, then
#   applies the chain rule backwards in topological order; each operation only knows its
#   local derivative. Gradients *accumulate* over every use of a value.
# - Our hundred-line engine gives the same gradients as `torch.autograd` to $10^{-12}$ and
#   trains a neuron step for step like PyTorch. `torch.autograd` does the same with tensors,
#   on any device, and is what we use from now on.
#
# Next: [02 · The perceptron](02_perceptron.ipynb), the neuron that learned before
# gradients did.
#
# ## References
#
# - S. Linnainmaa (1970). *The representation of the cumulative rounding error of an
#   algorithm as a Taylor expansion of the local rounding errors.* Master's thesis,
#   University of Helsinki (reverse-mode differentiation).
# - D. E. Rumelhart, G. E. Hinton and R. J. Williams (1986). *Learning representations by
#   back-propagating errors.* Nature 323, 533–536.
# - A. G. Baydin, B. A. Pearlmutter, A. A. Radul and J. M. Siskind (2018). *Automatic
#   differentiation in machine learning: a survey.* JMLR 18(153), 1–43.
# - A. Paszke et al. (2017). *Automatic differentiation in PyTorch.* NIPS Autodiff Workshop.
# - A. Karpathy (2020). *micrograd*, a tiny scalar-valued autograd engine,
#   https://github.com/karpathy/micrograd, and the lecture "The spelled-out intro to neural
#   networks and backpropagation" (2022).
# - A. Zhang, Z. C. Lipton, M. Li and A. J. Smola (2023). *Dive into Deep Learning*,
#   sections 2.1 (data manipulation, broadcasting) and 2.5 (automatic differentiation),
#   https://d2l.ai.
# - NumPy broadcasting rules: https://numpy.org/doc/stable/user/basics.broadcasting.html
