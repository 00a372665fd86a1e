"""The one comparison holds on every machine: right answers computed in other valid orders pass,
and answers off by a hair (1e-4 of the scale, in a value or only in a gradient) still fail.

CI runs on one CPU kind; the orders below stand for the others (AVX2 / AVX-512 / AMX kernels,
ARM, CUDA with TF32 on or off): the matrix products of the student's code summed in blocks in
reverse, or as broadcast products summed (loops instead of matmul), or every operation done in
float64 and rounded (the best a float32 answer can be), and the whole check on one thread and
with oneDNN off. Each assignment's worked solution (source/) runs its tensor-parity test cells,
visible and hidden, under each of them.
"""
from __future__ import annotations

import contextlib
import functools
import json
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from dlcourse.checks import CheckError, check_close, check_like_torch, shadow_of
from dlcourse.precision import allowed_error, in_float64

SOURCE = Path(__file__).resolve().parents[1] / "source"
# The test cells that compare tensors with a reference (the training tiers are graded elsewhere).
PARITY_CELLS = {
    "a01_activations_backprop": ["task1_relu_test", "task1_leaky_relu_test", "task1_sigmoid_test",
                                 "task1_gelu_test", "task1_softmax_test", "task2_relu_grad_test",
                                 "task2_sigmoid_grad_test", "task2_tanh_grad_test", "task3_mlp_forward_test",
                                 "task3_mlp_backward_test"],
    "a02_optimizers": ["task1_sgd_momentum_test", "task2_adam_test", "task3_adamw_test"],
    "a03_lenet5": ["task2_lenet5_test"],
    "a04_resnet_cifar10": ["task1_basic_block_test", "task2_small_resnet_test"],
    "a06_rnn_timeseries": ["task1_rnn_cell_test", "task2_rnn_layer_test"],
    "a07_lstm_sentiment": ["task1_lstm_cell_test", "task2_last_step_test"],
    "a08_gru_textclass": ["task1_gru_cell_test", "task2_masked_mean_test"],
    "a09_transformer": ["task1_attention_test", "task2_multihead_test", "task3_encoder_block_test"],
    "a11_small_gpt": ["task1_causal_attention_test", "task2_self_attention_test", "task3_cached_attention_test"],
}


# ----------------------------------------------------------------------------- valid reorderings
def _blocked(a, b, block: int = 3):
    """a @ b with the inner dimension summed in blocks of ``block``, last block first."""
    if a.dim() < 2 or b.dim() < 2 or a.shape[-1] <= block:
        return None
    parts = [a[..., i:i + block] @ b[..., i:i + block, :] for i in range(0, a.shape[-1], block)]
    out = parts[-1]
    for p in reversed(parts[:-1]):
        out = out + p
    return out


def _broadcast(a, b):
    """a @ b as a broadcast product summed over the inner dimension (what nested loops compute)."""
    if a.dim() < 2 or b.dim() < 2:
        return None
    return (a.unsqueeze(-1) * b.unsqueeze(-3)).sum(-2)


class Reordered(TorchFunctionMode):
    """The student's code with its products summed in another valid order, or with every operation
    done in float64 and rounded to the input's dtype."""

    MATMULS = {torch.matmul, torch.Tensor.matmul, torch.Tensor.__matmul__, torch.mm, torch.bmm, torch.Tensor.mm,
               torch.Tensor.bmm}

    def __init__(self, how: str):
        super().__init__()
        self.how = how

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        # in place (an optimizer's p.add_, batch_norm's running statistics): a copy would lose the write
        in_place = (name.endswith("_") or name.startswith("__i") or "norm" in name
                    or name in ("__get__", "__set__", "__setitem__"))
        if self.how == "float64, rounded" and not in_place:
            low = []

            def up(a):
                if isinstance(a, torch.Tensor) and a.dtype == torch.float32:
                    low.append(a)
                    return a.double()
                return type(a)(up(v) for v in a) if isinstance(a, (list, tuple)) else a
            out = func(*up(args), **{k: up(v) for k, v in kwargs.items()})
            return out.float() if low and isinstance(out, torch.Tensor) and out.dtype == torch.float64 else out
        if self.how == "float64, rounded":
            return func(*args, **kwargs)
        product = _blocked if self.how == "blocked, reversed" else _broadcast
        if func in self.MATMULS and len(args) == 2 and not kwargs:
            out = product(*args)
        elif func is F.linear:
            x, w = args[0], args[1]
            b = args[2] if len(args) > 2 else kwargs.get("bias")
            out = product(x.reshape(-1, x.shape[-1]), w.T) if x.dim() >= 1 and x.shape[-1] > 1 else None
            if out is not None:
                out = out.reshape(*x.shape[:-1], w.shape[0]) + (0 if b is None else b)
        else:
            out = None
        return func(*args, **kwargs) if out is None else out


def _under(mode_factory, obj):
    """A solution's function, or its class with forward/step/__call__ run under a fresh mode."""
    def wrap(fn):
        @functools.wraps(fn)
        def run(*a, **k):
            with mode_factory():
                return fn(*a, **k)
        return run
    if isinstance(obj, type):
        for name in ("forward", "step"):
            if name in vars(obj):
                setattr(obj, name, wrap(vars(obj)[name]))
        return obj
    return wrap(obj) if callable(obj) and getattr(obj, "__module__", None) == "__solution__" else obj


# ----------------------------------------------------------------------------- the solutions' cells
def _cells(aid: str) -> dict[str, str]:
    """grade_id -> code of each nbgrader cell of source/<aid>/<aid>.py (jupytext percent format)."""
    text = (SOURCE / aid / f"{aid}.py").read_text()
    cells = {}
    for block in re.split(r"^# %%", text, flags=re.M)[1:]:
        header, _, body = block.partition("\n")
        meta = re.search(r"nbgrader=(\{.*\})", header)
        if meta:
            cells[json.loads(meta.group(1))["grade_id"]] = body
    return cells


def _solution_namespace(aid: str, cells: dict[str, str]) -> dict:
    ns = {"__name__": "__solution__"}
    for grade_id, code in cells.items():
        if grade_id == "setup" or not grade_id.endswith("_test") and "### BEGIN SOLUTION" in code:
            exec(compile(code, f"{aid}:{grade_id}", "exec"), ns)
    # names a test cell imports for the later ones (a01's F)
    imports = [line for g, code in cells.items() if g.endswith("_test") for line in code.splitlines()
               if re.match(r"(import|from) \S+", line)]
    exec("\n".join(imports), ns)
    return ns


CASES = [(aid, cell) for aid, ids in PARITY_CELLS.items() for cell in ids]
ORDERS = ["blocked, reversed", "broadcast (loops)", "float64, rounded"]


@pytest.fixture(scope="module")
def solutions():
    return {aid: _cells(aid) for aid in PARITY_CELLS}


def _run_cell(aid, cell, cells, wrap=None, capsys=None):
    ns = _solution_namespace(aid, cells)
    if wrap is not None:
        for name in [n for n, v in ns.items() if getattr(v, "__module__", None) == "__solution__"]:
            ns[name] = wrap(ns[name])
    exec(compile(cells[cell], f"{aid}:{cell}", "exec"), ns)


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("aid, cell", CASES, ids=[f"{a[:3]}-{c}" for a, c in CASES])
def test_a_right_answer_in_another_order_passes(aid, cell, order, solutions):
    _run_cell(aid, cell, solutions[aid], wrap=functools.partial(_under, lambda: Reordered(order)))


@pytest.mark.parametrize("aid, cell", CASES, ids=[f"{a[:3]}-{c}" for a, c in CASES])
def test_one_thread_and_onednn_off_pass(aid, cell, solutions):
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        with torch.backends.mkldnn.flags(enabled=False):
            _run_cell(aid, cell, solutions[aid])
    finally:
        torch.set_num_threads(threads)


# ----------------------------------------------------------------------------- wrong by a hair
def _nudge(out, how):
    if isinstance(out, torch.Tensor) and out.is_floating_point():
        scale = float(out.detach().abs().max()) or 1.0
        if how == "value":
            return out + 1e-4 * scale * torch.sign(out.detach()).masked_fill(out.detach() == 0, 1)
        return out + 1e-4 * (out - out.detach())          # the same value, gradients 1.0001 times too large
    if isinstance(out, (tuple, list)):
        return type(out)(_nudge(o, how) for o in out)
    return out


def _nudged(how, obj):
    if isinstance(obj, type) and "forward" in vars(obj):
        forward = vars(obj)["forward"]
        obj.forward = lambda self, *a, **k: _nudge(forward(self, *a, **k), how)
        return obj
    if callable(obj) and not isinstance(obj, type) and getattr(obj, "__module__", None) == "__solution__":
        return lambda *a, **k: _nudge(obj(*a, **k), how)
    return obj


# The cells whose answers are tensors with gradients (forward passes checked value and gradient).
GRADIENT_CELLS = [("a06_rnn_timeseries", "task1_rnn_cell_test"), ("a06_rnn_timeseries", "task2_rnn_layer_test"),
                  ("a07_lstm_sentiment", "task1_lstm_cell_test"), ("a08_gru_textclass", "task1_gru_cell_test"),
                  ("a09_transformer", "task1_attention_test"), ("a09_transformer", "task2_multihead_test"),
                  ("a03_lenet5", "task2_lenet5_test"), ("a04_resnet_cifar10", "task1_basic_block_test")]


@pytest.mark.parametrize("how", ["value", "gradient"])
@pytest.mark.parametrize("aid, cell", GRADIENT_CELLS, ids=[f"{a[:3]}-{c}" for a, c in GRADIENT_CELLS])
def test_an_answer_off_by_1e4_of_its_scale_fails(aid, cell, how, solutions):
    with pytest.raises(CheckError):
        _run_cell(aid, cell, solutions[aid], wrap=functools.partial(_nudged, how))


# ----------------------------------------------------------------------------- the rule itself
@pytest.mark.parametrize("order", ORDERS[:2])
def test_the_reorderings_change_the_rounding_and_nothing_else(order):
    a, b = torch.randn(32, 300), torch.randn(300, 40)
    with Reordered(order):
        other = a @ b
    assert not torch.equal(other, a @ b)                   # another order: other bits
    # the same product: torch.testing.assert_close's default (rtol 1.3e-6) fails this right answer
    # at an entry that cancels (measured: 2e-5 off at 0.015); the measured rule passes it
    check_close("reordered a @ b", other, a @ b, shadow=in_float64(torch.matmul, a, b), verbose=False)


def test_the_allowance_follows_the_computation_not_a_constant():
    """A long reduction rounds more than one tanh: the allowance measured on each says so."""
    g = torch.Generator().manual_seed(0)
    short, long_ = torch.randn(8, generator=g), torch.randn(100_000, generator=g)
    _, tanh_allowed = allowed_error(torch.tanh(short), in_float64(torch.tanh, short))
    _, sum_allowed = allowed_error(long_.cumsum(0), in_float64(torch.cumsum, long_, 0))
    assert tanh_allowed < 1e-5 < sum_allowed


def test_a06_gradient_that_cancels_passes_where_a_relative_tolerance_failed():
    """The reported case: weight_hh's gradient entry -0.0065 sums terms of size ~20 over T=15, so
    the AMD EPYC's right answer was 2.7e-5 off torch's where rtol 1e-4 allowed 1.1e-5."""
    from dlcourse.exercises.assignments import a06_rnn_timeseries as a06
    a06.check_rnn_layer(lambda *a: _blocked_rnn(*a), n=4, t=15, d=1, h=8, seed=22)


def _blocked_rnn(x, h0, w_ih, w_hh, b_ih, b_hh):
    h, states = h0, []
    for t in range(x.shape[1]):
        h = torch.tanh(_broadcast(x[:, t], w_ih.T) + b_ih + (_blocked(h, w_hh.T, 2)) + b_hh)
        states.append(h)
    return torch.stack(states, 1), h


def test_check_like_torch_measures_modules_closures_and_float64():
    conv = torch.nn.Conv2d(3, 4, 3).eval()
    x = torch.randn(2, 3, 8, 8)
    with contextlib.redirect_stdout(None):
        check_like_torch("conv via unfold", lambda x: (conv.weight.flatten(1) @ F.unfold(x, 3)).view(2, 4, 6, 6)
                         + conv.bias.view(1, 4, 1, 1), conv, x)
        check_like_torch("float64", lambda t: t.exp().sum(), lambda t: t.exp().sum(), x.double())
    with pytest.raises(CheckError, match="allowed error there"):
        check_like_torch("conv off by 1e-4", lambda x: conv(x) * (1 + 1e-4), conv, x, verbose=False)


def test_shadow_of_runs_in_float64_and_leaves_state_alone():
    bn = torch.nn.BatchNorm1d(3)
    x = torch.randn(6, 3)
    before = bn.running_mean.clone()
    y = shadow_of(bn, x)
    assert y.dtype == torch.float64 and torch.equal(bn.running_mean, before)
    check_close("bn", bn(x), bn(x).detach(), shadow=y, verbose=False)
