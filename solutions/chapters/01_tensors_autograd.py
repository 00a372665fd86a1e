"""Worked solutions to the exercises of chapter 01 · Tensors and autograd.

Run from the repository root:  python solutions/chapters/01_tensors_autograd.py
Each solution is followed by the same check the notebook runs
(``dlcourse.exercises.chapters.ch01_tensors_autograd``); every check must pass. The
notebook's `Value` class and the reference `dlcourse.autograd.Value` share their design
(data, grad, _prev, _op, _backward), so the solution of exercise 2 works with both; it is
checked here with the reference.
"""
import math

import dlcourse
from dlcourse.autograd import Value
from dlcourse.exercises.chapters import ch01_tensors_autograd as exercises

dlcourse.setup(seed=0, quiet=True)


# ---- Exercise 1: predict the broadcast shapes ----------------------------------------
QUIZ = exercises.BROADCAST_QUIZ     # the notebook's five pairs (shape_a, shape_b)
# Pad on the left with 1s, then compare from the right:
#   (5, 1, 4) + (1, 3, 1)          -> (5, 3, 4)
#   (2, 3)    + (1, 2)             -> 3 vs 2: error
#   (4, 1)    + (1, 4)             -> (4, 4)   (the classic (N, 1) vs (N,) trap)
#   ()        + (2, 2)             -> (2, 2)   (a scalar broadcasts against anything)
#   (8, 1, 6, 1) + (1, 7, 1, 5)    -> (8, 7, 6, 5)
my_shapes = [(5, 3, 4), "error", (4, 4), (2, 2), (8, 7, 6, 5)]

exercises.check_broadcast_shapes(my_shapes)


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


exercises.check_value_sigmoid(value_sigmoid, Value)

# ---- Exercise 3: a gradient by hand ---------------------------------------------------
# g = (a + b)(a - b). Product rule: dg/da = (a - b) * 1 + (a + b) * 1 = 2a = 6,
#                                   dg/db = (a - b) * 1 + (a + b) * (-1) = -2b = -4.
# (Indeed g = a^2 - b^2.)
my_grads = (6.0, -4.0)

exercises.check_gradient_by_hand(my_grads)

# The engine agrees too.
a, b = Value(3.0), Value(2.0)
g = (a + b) * (a - b)
g.backward()
assert (a.grad, b.grad) == my_grads

print("chapter 01: all exercise checks pass")
