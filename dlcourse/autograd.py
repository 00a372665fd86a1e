"""A scalar reverse-mode automatic differentiation engine, in the style of micrograd.

Every ``Value`` holds one float, the ``Value`` objects it was computed from (``_prev``),
the name of the operation that produced it (``_op``) and a ``_backward`` closure that knows
that operation's local derivative. ``backward()`` visits the graph in reverse topological
order and applies the chain rule, which is all reverse-mode autodiff is (Linnainmaa 1970;
popularised for neural networks by Rumelhart, Hinton & Williams 1986; the code follows
Karpathy's micrograd, 2020). ``torch.autograd`` does the same thing with tensors instead
of scalars; ``tests/test_autograd.py`` checks that both give the same gradients.

``draw_graph`` draws the computational graph with matplotlib alone: the leaves on the
left, the output on the right, each value in a box (label, data, grad) and each operation
in a circle feeding the value it produced.
"""
from __future__ import annotations

import math

__all__ = ["Value", "trace", "draw_graph"]


class Value:
    """One scalar in a computational graph, with the gradient of the output with respect to it."""

    def __init__(self, data, _children=(), _op: str = "", label: str = ""):
        self.data = float(data)
        self.grad = 0.0                 # d(output)/d(self); filled in by backward()
        self._backward = lambda: None   # leaves have no inputs to pass gradient on to
        self._prev = set(_children)
        self._op = _op
        self.label = label

    def __repr__(self) -> str:
        name = f"{self.label}: " if self.label else ""
        return f"Value({name}data={self.data:.6g}, grad={self.grad:.6g})"

    # ----- binary operations -------------------------------------------------------------
    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            # d(a+b)/da = d(a+b)/db = 1. `+=`, not `=`: a node used twice (a + a, or a
            # weight shared by two neurons) receives the sum of both paths' gradients.
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out

    def __pow__(self, k):
        if not isinstance(k, (int, float)):
            raise TypeError(f"Value ** k supports a constant int/float exponent, got {type(k).__name__}; "
                            "for a Value exponent write (k * x.log()).exp().")
        out = Value(self.data ** k, (self,), f"**{k:g}")

        def _backward():
            self.grad += k * self.data ** (k - 1) * out.grad
        out._backward = _backward
        return out

    # The rest are compositions of the three above: their gradients come for free.
    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)

    def __truediv__(self, other):
        return self * other ** -1

    # Reversed operations make `2 * x`, `1 - x` and `1 / x` work with a Python number on the left.
    def __radd__(self, other):
        return self + other

    def __rsub__(self, other):
        return (-self) + other

    def __rmul__(self, other):
        return self * other

    def __rtruediv__(self, other):
        return Value(other) * self ** -1

    # ----- unary functions ---------------------------------------------------------------
    def exp(self):
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += out.data * out.grad     # (e^x)' = e^x, already computed
        out._backward = _backward
        return out

    def log(self):
        if self.data <= 0:
            raise ValueError(f"log of a non-positive number ({self.data:g}); log is defined for x > 0.")
        out = Value(math.log(self.data), (self,), "log")

        def _backward():
            self.grad += out.grad / self.data
        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward():
            self.grad += (1 - t * t) * out.grad
        out._backward = _backward
        return out

    def relu(self):
        out = Value(self.data if self.data > 0 else 0.0, (self,), "relu")

        def _backward():
            # The derivative at exactly 0 is taken to be 0, as in torch.
            self.grad += (self.data > 0) * out.grad
        out._backward = _backward
        return out

    def sigmoid(self):
        # Two algebraically equal forms so that exp never overflows: exp(-x) for x >= 0,
        # exp(x) for x < 0 (math.exp(1000) raises OverflowError).
        if self.data >= 0:
            s = 1.0 / (1.0 + math.exp(-self.data))
        else:
            e = math.exp(self.data)
            s = e / (1.0 + e)
        out = Value(s, (self,), "sigmoid")

        def _backward():
            self.grad += s * (1 - s) * out.grad
        out._backward = _backward
        return out

    # ----- the chain rule over the whole graph -------------------------------------------
    def backward(self) -> None:
        """Fill ``.grad`` of every node with d(self)/d(node).

        A node's ``_backward`` may only run once every node that uses it has passed its
        gradient down, hence the reverse topological order. Gradients accumulate into
        ``.grad`` (as in torch): reset them to 0 before a second backward pass.
        """
        topo = _topological_order(self)
        self.grad = 1.0
        for node in reversed(topo):
            node._backward()


def _topological_order(root: Value) -> list[Value]:
    """Nodes ordered so that every node comes after all of its inputs (children).

    An explicit stack instead of recursion: a long chain (a sum of 5000 terms) would
    otherwise hit Python's recursion limit.
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            order.append(node)
            continue
        if node in visited:
            continue
        visited.add(node)
        stack.append((node, True))
        for child in node._prev:
            if child not in visited:
                stack.append((child, False))
    return order


def trace(root: Value) -> tuple[set, set]:
    """All nodes reachable from ``root`` and the edges (child, parent) between them."""
    nodes, edges = set(), set()
    for node in _topological_order(root):
        nodes.add(node)
        for child in node._prev:
            edges.add((child, node))
    return nodes, edges


def _layout(root: Value) -> dict:  # pragma: no mutate block  (drawing: checked by eye and by layout tests, not per constant)
    """Column and row of every node: a layered drawing read left to right.

    Column = (longest path from the root) counted from the right, so every input sits
    left of everything that uses it and a constant sits just before its operation.
    Within a column nodes are sorted by the mean row of their inputs (the barycentre
    heuristic), which keeps most edges from crossing.
    """
    topo = _topological_order(root)
    dist = {root: 0}
    for node in reversed(topo):                  # parents come before children here
        for child in node._prev:
            dist[child] = max(dist.get(child, 0), dist[node] + 1)
    depth = max(dist.values())
    columns: dict[int, list[Value]] = {}
    for node in topo:                            # topo order: a stable, deterministic start
        columns.setdefault(depth - dist[node], []).append(node)
    row = {}
    for c in sorted(columns):
        nodes = columns[c]
        key = {n: (sum(row[ch] for ch in n._prev) / len(n._prev) if n._prev else i)
               for i, n in enumerate(nodes)}
        nodes.sort(key=lambda n: key[n])
        for i, n in enumerate(nodes):
            row[n] = i - (len(nodes) - 1) / 2    # centre every column on y = 0
    return {n: (depth - dist[n], row[n]) for n in topo}


def draw_graph(root: Value, ax=None, figsize=None):  # pragma: no mutate block  (drawing, as _layout)
    """Draw the graph that produced ``root``; return the matplotlib Figure.

    Values are boxes (``label | data | grad``), operations are circles. Each value sits
    in an even x column and the operation that made it just to its left; the arrows show
    the forward pass, gradients flow along them backwards.
    """
    import matplotlib.pyplot as plt

    pos = _layout(root)
    n_cols = max(c for c, _ in pos.values()) + 1
    n_rows = max(sum(1 for c, _ in pos.values() if c == col) for col in range(n_cols))
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize or (max(4.4, 4.4 * n_cols), max(2.0, 0.9 * n_rows + 0.8)))
    fig = ax.figure
    value_style = dict(boxstyle="round,pad=0.4", facecolor="#e8f0fe", edgecolor="#3b6fd6")
    op_style = dict(boxstyle="circle,pad=0.3", facecolor="#fdf1d8", edgecolor="#d08c00")
    arrow = dict(arrowstyle="-|>", color="#555555", lw=1, shrinkA=0, shrinkB=0)

    boxes = {}
    for node, (col, row) in pos.items():
        text = f"{node.label + ' | ' if node.label else ''}data {node.data:.4f} | grad {node.grad:.4f}"
        boxes[node] = ax.text(2 * col, -row, text, ha="center", va="center", fontsize=8,
                              family="monospace", bbox=value_style, gid="value", zorder=3)
    for node, (col, row) in pos.items():
        if not node._op:
            continue
        op = ax.text(2 * col - 1, -row, node._op, ha="center", va="center", fontsize=9,
                     bbox=op_style, gid="op", zorder=3)
        # Arrow ends are given in the coordinates of the text boxes themselves (0..1 of
        # their bounding box), so they touch the box edges whatever the font size.
        ax.annotate("", xy=(0, 0.5), xycoords=boxes[node], xytext=(1, 0.5), textcoords=op,
                    arrowprops=arrow)
        for child in node._prev:
            ax.annotate("", xy=(0, 0.5), xycoords=op, xytext=(1, 0.5), textcoords=boxes[child],
                        arrowprops=arrow)
    ax.set_xlim(-1.2, 2 * (n_cols - 1) + 1.2)
    ax.set_ylim(-(n_rows - 1) / 2 - 0.7, (n_rows - 1) / 2 + 0.7)
    ax.set_axis_off()
    return fig
