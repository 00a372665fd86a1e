"""Worked solutions to the exercises of chapter 01 · Tensors and autograd.

Run from the repository root:  python solutions/chapters/01_tensors_autograd.py
Each exercise's check runs exactly as in the notebook; every check must pass. The
notebook's `Value` class and the reference `dlcourse.autograd.Value` share their design
(data, grad, _prev, _op, _backward), so the solution of exercise 2 works with both; it is
checked here with the reference.
"""
import math

import torch

import dlcourse
from dlcourse.autograd import Value

dlcourse.setup(seed=0, quiet=True)


def f64(values):
    return torch.tensor(values, dtype=torch.float64)


def torch_broadcast(shape_a, shape_b):
    try:
        return tuple(torch.broadcast_shapes(shape_a, shape_b))
    except RuntimeError:
        return "error"


# ---- Exercise 1: predict the broadcast shapes ----------------------------------------
QUIZ = [((5, 1, 4), (3, 1)), ((2, 3), (2,)), ((4, 1), (4,)), ((), (2, 2)), ((8, 1, 6, 1), (7, 1, 5))]
# Pad on the left with 1s, then compare from the right:
#   (5, 1, 4) + (1, 3, 1)          -> (5, 3, 4)
#   (2, 3)    + (1, 2)             -> 3 vs 2: error
#   (4, 1)    + (1, 4)             -> (4, 4)   (the classic (N, 1) vs (N,) trap)
#   ()        + (2, 2)             -> (2, 2)   (a scalar broadcasts against anything)
#   (8, 1, 6, 1) + (1, 7, 1, 5)    -> (8, 7, 6, 5)
my_shapes = [(5, 3, 4), "error", (4, 4), (2, 2), (8, 7, 6, 5)]

assert len(my_shapes) == len(QUIZ)
for k, ((shape_a, shape_b), answer) in enumerate(zip(QUIZ, my_shapes)):
    answer = answer if answer == "error" else tuple(answer)
    if answer != torch_broadcast(shape_a, shape_b):
        raise dlcourse.CheckError(f"pair {k}, {shape_a} + {shape_b}: you wrote {answer}.")
print(f"OK all {len(QUIZ)} broadcast shapes are right")


# ---- Exercise 2: a sigmoid operation -------------------------------------------------
def value_sigmoid(v):
    """sigmoid(v) as a single Value node with its own _backward."""
    if v.data >= 0:
        s = 1.0 / (1.0 + math.exp(-v.data))     # exp of a non-positive number: no overflow
    else:
        e = math.exp(v.data)                    # likewise
        s = e / (1.0 + e)
    out = Value(s, (v,), "sigmoid")

    def _backward():
        v.grad += s * (1.0 - s) * out.grad      # sigma' = sigma (1 - sigma), from the forward value
    out._backward = _backward
    return out


points = [-1000.0, -3.0, -0.5, 0.0, 0.5, 3.0, 1000.0]
outs, grads = [], []
for p in points:
    v = Value(p)
    s = value_sigmoid(v)
    assert isinstance(s, Value) and v in s._prev
    s.backward()
    outs.append(s.data)
    grads.append(v.grad)
tp = torch.tensor(points, dtype=torch.float64, requires_grad=True)
torch.sigmoid(tp).sum().backward()
dlcourse.check_close("sigmoid values", f64(outs), torch.sigmoid(tp).detach(), atol=1e-12)
dlcourse.check_close("sigmoid gradients", f64(grads), tp.grad, atol=1e-12)

# ---- Exercise 3: a gradient by hand ---------------------------------------------------
# g = (a + b)(a - b). Product rule: dg/da = (a - b) * 1 + (a + b) * 1 = 2a = 6,
#                                   dg/db = (a - b) * 1 + (a + b) * (-1) = -2b = -4.
# (Indeed g = a^2 - b^2.)
my_grads = (6.0, -4.0)

ta = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
tb = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
((ta + tb) * (ta - tb)).backward()
dlcourse.check_close("(dg/da, dg/db)", torch.tensor(my_grads, dtype=torch.float64),
                     torch.stack([ta.grad, tb.grad]), atol=1e-9)

# The engine agrees too.
a, b = Value(3.0), Value(2.0)
g = (a + b) * (a - b)
g.backward()
assert (a.grad, b.grad) == my_grads

print("chapter 01: all exercise checks pass")
