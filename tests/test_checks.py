"""Student-facing checks: they fail when they should, and say what to change."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlcourse.checks import (CheckError, check_close, check_dtype, check_like_torch, check_shape, grad_check,
                             numerical_gradient)


def test_check_shape_names_expected_and_actual():
    with pytest.raises(CheckError, match=r"logits: expected shape \(N, 10\), got \(N, 84\)\. is the last Linear"):
        check_shape("logits", torch.zeros(32, 84), (None, 10), hint="is the last Linear layer missing?")
    check_shape("logits", torch.zeros(32, 10), (None, 10))
    with pytest.raises(CheckError, match=r"got \(32, 10, 1\)"):
        check_shape("logits", torch.zeros(32, 10, 1), (None, 10))


def test_check_close_reports_error_location_and_passes_within_tolerance(capsys):
    ref = torch.arange(6.0).reshape(2, 3)
    assert check_close("y", ref + 1e-7, ref) is None          # nothing to echo in a notebook cell
    # no shadow given: the floor, SAFETY (16) float32 roundings at the tensor's scale (5)
    assert "OK y: max abs error 1.2e-07 (allowed there: 9.5e-06)" in capsys.readouterr().out
    bad = ref.clone()
    bad[1, 2] = 100.0
    with pytest.raises(CheckError, match=r"index \(1, 2\): got 100, expected 5"):
        check_close("y", bad, ref)
    with pytest.raises(CheckError, match="expected shape"):
        check_close("y", ref.T, ref)


def test_check_close_explains_none_nan_and_wrong_types():
    ref = torch.ones(3)
    with pytest.raises(CheckError, match="forget to `return`"):
        check_close("y", None, ref)
    with pytest.raises(CheckError, match="NaN"):
        check_close("y", torch.tensor([1.0, float("nan"), 1.0]), ref)
    with pytest.raises(CheckError, match="expected a tensor, got str"):
        check_close("y", "oops", ref)
    check_close("y", np.ones(3), ref)  # numpy is accepted


def test_check_dtype():
    with pytest.raises(CheckError, match=r"expected dtype int64, got float32.*\.to\(torch\.int64\)"):
        check_dtype("labels", torch.zeros(2), torch.int64)
    check_dtype("labels", torch.zeros(2, dtype=torch.int64), torch.int64)


def test_numerical_gradient_matches_the_analytic_one():
    x = torch.randn(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    num = numerical_gradient(lambda t: (t ** 3).sum(), x)
    torch.testing.assert_close(num, 3 * x ** 2, rtol=1e-6, atol=1e-8)


def test_grad_check_accepts_autograd_and_catches_a_wrong_backward(capsys):
    g = torch.Generator().manual_seed(0)
    w, x = torch.randn(3, 4, generator=g), torch.randn(5, 4, generator=g)
    f = lambda w, x: torch.tanh(x @ w.T).sum()
    assert grad_check(f, [w, x]) is None
    assert "OK gradient check: max relative error" in capsys.readouterr().out
    y = torch.tanh(x.double() @ w.double().T)
    right = ((1 - y ** 2).T @ x.double(), (1 - y ** 2) @ w.double())
    grad_check(f, [w, x], analytic=right, tol=1e-6)                 # raises if not
    wrong = ((1 - y).T @ x.double(), (1 - y ** 2) @ w.double())  # a classic bug: forgot the square
    with pytest.raises(CheckError, match="input 0: relative error"):
        grad_check(f, [w, x], analytic=wrong)
    with pytest.raises(CheckError, match="must return a scalar"):
        grad_check(lambda w: w * 2, [w])


def test_python_numbers_are_compared_in_float64():
    # 1 + 1e-9 is exactly 1.0 in float32: the check must not round it away.
    with pytest.raises(CheckError):
        check_close("x", [1.0 + 1e-9], [1.0], atol=1e-12, rtol=0)
    check_close("x", 2.0, torch.tensor(2.0, dtype=torch.float64), atol=0, rtol=0)


def test_forbid_raises_names_the_rule_restores_and_nests():
    from dlcourse.checks import READY_MADE_ACTIVATIONS, forbid, forbidden_now

    x = torch.tensor([-1.0, 2.0])
    before = (torch.relu, F.gelu, torch.Tensor.softmax)
    with forbid(["torch.relu", "torch.Tensor.softmax"], "Task 1 builds it by hand"):
        with pytest.raises(CheckError, match=r"torch\.relu.*Task 1 builds it by hand"):
            torch.relu(x)
        with pytest.raises(CheckError, match=r"torch\.Tensor\.softmax"):
            x.softmax(0)
        assert torch.equal(F.gelu(x), F.gelu(x)), "only the named functions are forbidden"
        with forbid(READY_MADE_ACTIVATIONS, "inner"):
            with pytest.raises(CheckError, match="gelu"):
                F.gelu(x)
            assert [rule for _, rule in forbidden_now()] == ["Task 1 builds it by hand", "inner"]
        assert torch.equal(F.gelu(x), before[1](x)), "the inner block restored what it forbade"
    assert (torch.relu, F.gelu, torch.Tensor.softmax) == before and forbidden_now() == []
    assert "torch.nn.functional.gelu" in READY_MADE_ACTIVATIONS and "torch.special.expit" in READY_MADE_ACTIVATIONS


def test_check_close_honours_rtol_and_signs(capsys):
    big = torch.tensor([1000.0, -2.0])
    check_close("y", big + torch.tensor([5e-3, 0.0]), big, atol=1e-6, rtol=1e-5)   # 5e-3 <= 1e-6 + 1e-2
    assert "allowed there: 1.0e-02" in capsys.readouterr().out
    with pytest.raises(CheckError):
        check_close("y", big + torch.tensor([5e-3, 0.0]), big, atol=1e-6, rtol=0)
    with pytest.raises(CheckError, match="got 2, expected -2"):          # a sign error is an error
        check_close("y", big.abs(), big)


def test_check_like_torch_passes_prints_one_line_per_comparison_and_returns_nothing(capsys):
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 3, 1])
    out = check_like_torch("ce", lambda logits, y: -torch.log_softmax(logits, -1)[torch.arange(3), y].mean(),
                           torch.nn.functional.cross_entropy, x, y,
                           backward=lambda g, z, y: g * (torch.softmax(z, -1) - torch.eye(4)[y]) / 3)
    assert out is None
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "OK ce, output", "OK ce, d/dlogits (autograd through ours)", "OK ce, d/dlogits (by hand)"]


@pytest.mark.parametrize("bug, message", [
    (lambda x, w: x * w + 1e-3, "output: values differ"),                        # a wrong value
    (lambda x, w: x * w.detach(), "d/dw .*no gradient reaches"),                  # a gradient cut off
    (lambda x, w: x * w + (x - x.detach()) * 0.5, r"d/dx .*values differ"),       # a wrong gradient only
])
def test_check_like_torch_names_what_differs(bug, message):
    g = torch.Generator().manual_seed(1)
    x, w = torch.randn(5, generator=g), torch.randn(5, generator=g)
    with pytest.raises(CheckError, match=message):
        check_like_torch("f", bug, lambda x, w: x * w, x, w, verbose=False)


def test_check_like_torch_uses_a_random_upstream_gradient():
    # softmax plus a constant gradient along each row: invisible with an all-ones upstream
    # gradient (the extra term sums to zero), caught by a random one.
    x = torch.randn(4, 6, generator=torch.Generator().manual_seed(2))

    class Skewed(torch.autograd.Function):
        @staticmethod
        def forward(ctx, z):
            s = torch.softmax(z, -1)
            ctx.save_for_backward(s)
            return s

        @staticmethod
        def backward(ctx, g):
            s, = ctx.saved_tensors
            return s * (g - (g * s).sum(-1, keepdim=True)) + (g - g.mean(-1, keepdim=True))

    check_like_torch("ones", Skewed.apply, lambda z: torch.softmax(z, -1), x, grad_output=torch.ones(4, 6),
                     verbose=False)
    with pytest.raises(CheckError, match="d/d"):
        check_like_torch("random", Skewed.apply, lambda z: torch.softmax(z, -1), x, verbose=False)


def test_check_like_torch_checks_a_hand_written_backward():
    x = torch.randn(6, generator=torch.Generator().manual_seed(3))
    check_like_torch("tanh", torch.tanh, torch.tanh, x, backward=lambda g, x: g * (1 - torch.tanh(x) ** 2),
                     verbose=False)
    with pytest.raises(CheckError, match=r"\(by hand\): values differ"):
        check_like_torch("tanh", torch.tanh, torch.tanh, x, backward=lambda g, x: g * (1 - torch.tanh(x)),
                         verbose=False)
    with pytest.raises(CheckError, match="returned 2 gradient"):
        check_like_torch("tanh", torch.tanh, torch.tanh, x, backward=lambda g, x: (g, g), verbose=False)


def test_check_frames_are_hidden_from_tracebacks():
    try:
        check_like_torch("f", lambda x: x + 1, lambda x: x, torch.zeros(2), verbose=False)
    except CheckError as err:
        tb = err.__traceback__
        hidden = []
        while tb is not None:
            hidden.append(tb.tb_frame.f_locals.get("__tracebackhide__", False))
            tb = tb.tb_next
    assert hidden[0] is False and all(hidden[1:]), hidden     # every frame inside dlcourse is hidden


def test_ipython_shows_the_students_line_and_the_message_not_our_frames(capsys):
    """IPython prints the innermost frame even when it is hidden; CheckError renders without ours."""
    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance(colors="nocolor")
    shell.run_cell("import torch, dlcourse\n"
                   "def mine(x):\n    return x + 1\n"
                   "dlcourse.check_like_torch('f', mine, lambda x: x, torch.zeros(2), verbose=False)")
    shown = capsys.readouterr().out
    assert "checks.py" not in shown and "dlcourse.check_like_torch('f'" in shown, shown
    assert shown.strip().splitlines()[-1].startswith("CheckError: f, output: values differ"), shown
    assert len(shown.strip().splitlines()) <= 8, shown


def test_check_like_torch_can_check_a_backward_pass_alone(capsys):
    z = torch.randn(7, generator=torch.Generator().manual_seed(4))
    check_like_torch("relu backward", None, lambda z: torch.relu(z), z, backward=lambda g, z: g * (z > 0))
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("OK relu backward, d/dz (by hand): max abs error"), lines
    with pytest.raises(CheckError, match=r"\(by hand\)"):
        check_like_torch("relu backward", None, torch.relu, z, backward=lambda g, z: g * (z >= -1), verbose=False)
    with pytest.raises(TypeError, match="backward"):
        check_like_torch("nothing", None, torch.relu, z)


def test_randomise_batchnorm_exposes_a_block_that_swaps_its_norms():
    """Chapter 12's check: with fresh BatchNorms (all 1 and 0) a block that applies bn2 where bn1
    belongs computes exactly the right numbers; after randomise_batchnorm it fails."""
    from torchvision.models.resnet import BasicBlock

    from dlcourse.checks import randomise_batchnorm

    class Swapped(BasicBlock):
        def forward(self, x):
            out = torch.relu(self.bn2(self.conv1(x)))
            return torch.relu(self.bn1(self.conv2(out)) + x)

    torch.manual_seed(0)
    right, swapped = BasicBlock(8, 8), Swapped(8, 8)
    swapped.load_state_dict(right.state_dict())
    x = torch.randn(2, 8, 6, 6)
    check_like_torch("fresh norms", swapped, right, x, verbose=False)          # the bug hides
    randomise_batchnorm(right, swapped)
    before = right.bn1.weight.clone()
    with pytest.raises(CheckError):
        check_like_torch("randomised norms", swapped, right, x, verbose=False)
    assert torch.equal(right.bn1.weight, swapped.bn1.weight) and not torch.equal(before, torch.ones(8))
