"""Checks of chapter 01's exercises (tensors and autograd): broadcast shapes, a sigmoid Value, a gradient by hand."""
from __future__ import annotations

from typing import Callable

import torch

from dlcourse.checks import CheckError, check_close
from dlcourse.exercises import not_attempted

__all__ = ["BROADCAST_QUIZ", "check_broadcast_shapes", "check_value_sigmoid", "check_gradient_by_hand"]

# The pairs of exercise 1, in the order the notebook shows them.
BROADCAST_QUIZ = [((5, 1, 4), (3, 1)), ((2, 3), (2,)), ((4, 1), (4,)), ((), (2, 2)), ((8, 1, 6, 1), (7, 1, 5))]


def _torch_broadcast(shape_a, shape_b):
    try:
        return tuple(torch.broadcast_shapes(shape_a, shape_b))
    except RuntimeError:
        return "error"


def check_broadcast_shapes(my_shapes) -> None:
    """Exercise 1: my_shapes[k] is the shape of a + b for the k-th pair of BROADCAST_QUIZ, or "error"."""
    __tracebackhide__ = True
    if not_attempted(my_shapes, 1, "set my_shapes to a list of 5 answers (tuples, or \"error\")."):
        return
    if len(my_shapes) != len(BROADCAST_QUIZ):
        raise CheckError(f"my_shapes: expected {len(BROADCAST_QUIZ)} answers, got {len(my_shapes)}.")
    for k, ((shape_a, shape_b), answer) in enumerate(zip(BROADCAST_QUIZ, my_shapes)):
        expected = _torch_broadcast(shape_a, shape_b)
        answer = answer if answer == "error" else tuple(answer)
        if answer != expected:
            raise CheckError(
                f"pair {k}, {shape_a} + {shape_b}: you wrote {answer}. Pad the shorter shape with 1s on "
                "the left, then compare the sizes from the right: equal or 1 is fine, anything else fails.")
    print(f"OK all {len(BROADCAST_QUIZ)} broadcast shapes are right")


def check_value_sigmoid(value_sigmoid: Callable, Value: type | None = None) -> None:
    """Exercise 2: value_sigmoid(v) is one Value node whose value and gradient match torch.sigmoid's.

    Value: the notebook's engine class (default: the reference ``dlcourse.autograd.Value``,
    which has the same data, grad, _prev and backward()).
    """
    __tracebackhide__ = True
    if Value is None:
        from dlcourse.autograd import Value
    if not_attempted(value_sigmoid(Value(0.0)), 2, "make value_sigmoid(v) return a Value (see tanh in step 6)."):
        return
    points = [-1000.0, -3.0, -0.5, 0.0, 0.5, 3.0, 1000.0]
    outs, grads = [], []
    for p in points:
        v = Value(p)
        try:
            s = value_sigmoid(v)
        except OverflowError:
            raise CheckError(f"value_sigmoid(Value({p})) overflows: math.exp of a large positive number. "
                             "For v < 0 use the form e^v / (1 + e^v), so exp only sees v <= 0.") from None
        if not isinstance(s, Value) or v not in s._prev:
            raise CheckError("value_sigmoid must return a Value whose _prev contains v: "
                             "create it as Value(s, (v,), 'sigmoid').")
        s.backward()
        outs.append(s.data)
        grads.append(v.grad)
    tp = torch.tensor(points, dtype=torch.float64, requires_grad=True)
    torch.sigmoid(tp).sum().backward()
    f64 = lambda values: torch.tensor(values, dtype=torch.float64)    # noqa: E731
    check_close("sigmoid values", f64(outs), torch.sigmoid(tp).detach(), atol=1e-12,
                hint="Check the formula 1 / (1 + exp(-v)), and its stable form for v < 0.")
    check_close("sigmoid gradients", f64(grads), tp.grad, atol=1e-12,
                hint="In _backward, v.grad += s * (1 - s) * out.grad, with s the output's data.")


def check_gradient_by_hand(my_grads) -> None:
    """Exercise 3: my_grads = (dg/da, dg/db) for g = (a + b)(a - b) at a = 3, b = 2."""
    __tracebackhide__ = True
    if not_attempted(my_grads, 3, "set my_grads = (dg/da, dg/db)."):
        return
    ta = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    ((ta + tb) * (ta - tb)).backward()
    check_close("(dg/da, dg/db)", torch.tensor(my_grads, dtype=torch.float64),
                torch.stack([ta.grad, tb.grad]), atol=1e-9,
                hint="Each input reaches g through both factors: add the two paths' products "
                     "(product rule: d(uv) = v du + u dv). Your engine can check you: "
                     "build g from Values and call backward().")
