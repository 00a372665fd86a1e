"""The scalar autograd engine against torch.autograd (float64), and its graph drawing."""
import math
import random

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from dlcourse.autograd import Value, draw_graph, trace  # noqa: E402

# Each expression is written once and run twice: on Values and on 0-d float64 tensors
# (both have + - * / **, exp, log, tanh, relu, sigmoid), so the comparison is like for like.
EXPRESSIONS = {
    "reuse": lambda a, b, c: a * b + a + a * a,                    # a used three times
    "sub_neg_rsub": lambda a, b, c: -a + (1 - b) - c - 2.5,
    "division": lambda a, b, c: a / b + 1 / c + 3.0 / (a * a + 1),
    "power": lambda a, b, c: a ** 2 + (c * c + 1) ** -1.5 + (b * b + 0.1) ** 0.5 + 2 * a ** 3,
    "exp_log": lambda a, b, c: (a.exp() + b * b).log() * c,
    "tanh_relu_sigmoid": lambda a, b, c: a.tanh() * b.relu() + (c - a).relu() + (a * b).sigmoid() / c.sigmoid(),
    "relu_dead": lambda a, b, c: (-(a * a) - 1).relu() + b,       # relu of a negative: zero gradient
    "sigmoid_extreme": lambda a, b, c: (a * 1000).sigmoid() + (b * -1000).sigmoid() + c,
}


def _run_both(f, values):
    vs = [Value(v, label=n) for v, n in zip(values, "abc")]
    ts = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
    out_v, out_t = f(*vs), f(*ts)
    out_v.backward()
    out_t.backward()
    return out_v, vs, out_t, ts


@pytest.mark.parametrize("name", sorted(EXPRESSIONS))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_expression_matches_torch(name, seed):
    rng = random.Random(seed)
    values = [rng.uniform(-2, 2) for _ in range(3)]
    out_v, vs, out_t, ts = _run_both(EXPRESSIONS[name], values)
    assert out_v.data == pytest.approx(out_t.item(), abs=1e-10, rel=1e-10)
    for v, t in zip(vs, ts):
        expected = 0.0 if t.grad is None else t.grad.item()
        assert v.grad == pytest.approx(expected, abs=1e-10, rel=1e-10), f"d out / d {v.label}"


def _neuron_net(x, w1, b1, w2, b2, target):
    """A 3-4-1 tanh network and its squared error, written with plain Python loops over scalars."""
    hidden = []
    for j in range(len(b1)):
        z = b1[j]
        for i in range(len(x)):
            z = z + w1[j][i] * x[i]
        hidden.append(z.tanh())
    out = b2[0]
    for j in range(len(hidden)):
        out = out + w2[j] * hidden[j]
    return (out - target) ** 2


def test_two_layer_neuron_net_matches_torch():
    rng = random.Random(42)
    shapes = {"x": (3,), "w1": (4, 3), "b1": (4,), "w2": (4,), "b2": (1,)}
    raw = {k: [[rng.gauss(0, 1) for _ in range(s[1])] for _ in range(s[0])] if len(s) == 2
           else [rng.gauss(0, 1) for _ in range(s[0])] for k, s in shapes.items()}

    def make(kind):
        wrap = (lambda v: Value(v)) if kind == "value" else \
            (lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True))
        return {k: [[wrap(v) for v in row] for row in r] if isinstance(r[0], list) else [wrap(v) for v in r]
                for k, r in raw.items()}

    pv, pt = make("value"), make("torch")
    loss_v = _neuron_net(**pv, target=0.7)
    loss_t = _neuron_net(**pt, target=0.7)
    loss_v.backward()
    loss_t.backward()
    assert loss_v.data == pytest.approx(loss_t.item(), abs=1e-10)

    def flat(p):
        return [v for r in p.values() for v in (sum(r, []) if isinstance(r[0], list) else r)]

    grads_v = [v.grad for v in flat(pv)]
    grads_t = [t.grad.item() for t in flat(pt)]
    assert grads_v == pytest.approx(grads_t, abs=1e-10)
    assert any(abs(g) > 1e-3 for g in grads_v)            # a real, non-trivial gradient


def test_node_used_twice_accumulates():
    a = Value(3.0)
    (a + a).backward()
    assert a.grad == 2.0
    b = Value(3.0)
    (b * b).backward()                     # _prev = {b}, but both factors pass gradient
    assert b.grad == 6.0


@pytest.mark.parametrize("op", ["tanh", "relu", "sigmoid", "exp", "log"])
def test_every_unary_op_accumulates_into_an_input_used_elsewhere(op):
    """Two op nodes and a product on one input: each backward must add to a.grad, not overwrite it.

    With two nodes of the same op, an overwrite drops one of them whatever order backward
    visits the graph in (a single node could run first and pass by luck).
    """
    a, t = Value(0.7), torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    f = lambda x: getattr(x, op)() * 2 + getattr(x, op)() + x * 3          # noqa: E731
    f(a).backward()
    f(t).backward()
    assert a.grad == pytest.approx(t.grad.item(), abs=1e-12)


def test_relu_passes_small_positive_values_through():
    a = Value(0.3)
    out = a.relu()
    out.backward()
    assert (out.data, a.grad) == (0.3, 1.0)


def test_a_shared_intermediate_node_passes_its_gradient_down_once():
    ta, tb = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (1.5, -0.5))
    t = ta * tb
    (t + t * t).backward()
    # The graph walk meets t twice only when it happens to expand t * t first, which depends
    # on the order of a set of nodes: 20 fresh graphs make sure both orders are walked.
    for _ in range(20):
        a, b = Value(1.5), Value(-0.5)
        t = a * b                                   # used twice below: visited once, backward once
        (t + t * t).backward()
        assert (a.grad, b.grad) == pytest.approx((ta.grad.item(), tb.grad.item()), abs=1e-12)


def test_reflected_operators():
    a = Value(3.0)
    assert [(2 + a).data, (2 - a).data, (2 * a).data, (6 / a).data, (-a).data] == [5.0, -1.0, 6.0, 2.0, -3.0]


def test_each_node_is_labelled_with_its_operation():
    """draw_graph prints these labels: a node named after the wrong operation misleads the reader."""
    a, b = Value(0.5), Value(2.0)
    nodes = {"+": a + b, "*": a * b, "**3": a ** 3, "exp": a.exp(), "log": a.log(), "tanh": a.tanh(),
             "relu": a.relu(), "sigmoid": a.sigmoid()}
    assert {label: node._op for label, node in nodes.items()} == {label: label for label in nodes}


def test_binary_ops_accumulate_into_both_operands():
    """Two + nodes and two * nodes on each side of a: an overwrite loses one, whatever the visiting order."""
    a, b, c = Value(0.5), Value(2.0), Value(-1.0)
    ((a + b) * 2 + (a + c) + (b + a) + (c + a) + (a * b) * 3 + a * c + b * a + c * a).backward()
    assert a.grad == pytest.approx(2 + 1 + 1 + 1 + 3 * 2.0 - 1.0 + 2.0 - 1.0)


def test_relu_slope_at_exactly_zero_is_zero_like_torch():
    a, t = Value(0.0), torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    a.relu().backward()
    t.relu().backward()
    assert a.grad == t.grad.item() == 0.0


def test_deep_chain_no_recursion_limit():
    x = Value(0.5)
    y = x
    for _ in range(2000):                  # deeper than Python's default recursion limit
        y = y * 1.0001
    y.backward()
    assert x.grad == pytest.approx(1.0001 ** 2000, rel=1e-9)


def test_errors_are_clear():
    with pytest.raises(TypeError, match="constant"):
        Value(2.0) ** Value(3.0)
    with pytest.raises(ValueError, match="non-positive"):
        Value(-1.0).log()
    with pytest.raises(ValueError, match=r"non-positive number \(0\); log is defined for x > 0"):
        Value(0.0).log()
    with pytest.raises(TypeError, match=r"got Value; for a Value exponent write \(k \* x.log\(\)\).exp\(\)"):
        Value(2.0) ** Value(3.0)


def test_trace_counts_nodes_and_edges():
    a, b, c = Value(1.0), Value(2.0), Value(3.0)
    out = a * b + c
    nodes, edges = trace(out)
    assert nodes == {a, b, c, out, next(iter(out._prev - {c}))}
    assert len(edges) == 4
    assert all(child in parent._prev for child, parent in edges)


def test_draw_graph_boxes_and_layout():
    x1, w1 = Value(2.0, label="x1"), Value(-3.0, label="w1")
    x2, w2 = Value(0.0, label="x2"), Value(1.0, label="w2")
    b = Value(6.88, label="b")
    x1w1, x2w2 = x1 * w1, x2 * w2
    x1w1.label, x2w2.label = "x1w1", "x2w2"
    s = x1w1 + x2w2
    s.label = "s"
    n = s + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    o.backward()
    nodes, edges = trace(o)
    fig = draw_graph(o)
    try:
        assert isinstance(fig, Figure)
        ax = fig.axes[0]
        boxes = [t for t in ax.texts if t.get_gid() == "value"]
        ops = [t for t in ax.texts if t.get_gid() == "op"]
        assert len(boxes) == len(nodes) == 10
        assert len(ops) == sum(1 for v in nodes if v._op) == 5
        # One arrow into each op per input, one from each op to its result.
        arrows = [c for c in ax.get_children() if type(c).__name__ == "Annotation" and c.get_gid() is None]
        assert len(arrows) == len(edges) + len(ops)
        text = {t.get_text().split(" | ")[0]: t for t in boxes}
        assert "data 0.7064" in text["o"].get_text() and "grad 1.0000" in text["o"].get_text()
        # Left to right: every input sits left of the value computed from it.
        xpos = {v: text[v.label].get_position()[0] for v in nodes}
        assert all(xpos[child] < xpos[parent] for child, parent in edges)
        fig.canvas.draw()                  # the arrows attached to boxes must render
    finally:
        plt.close(fig)


def test_draw_graph_on_given_axes():
    fig, ax = plt.subplots()
    try:
        a = Value(1.0, label="a")
        assert draw_graph(a.exp() * 2, ax=ax) is fig
        assert sum(t.get_gid() == "value" for t in ax.texts) == 4
    finally:
        plt.close(fig)
    assert math.isclose(Value(0.3).sigmoid().data, 1 / (1 + math.exp(-0.3)))
