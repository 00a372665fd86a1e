"""Student-facing checks: they fail when they should, and say what to change."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlcourse.checks import CheckError, check_close, check_dtype, check_shape, grad_check, numerical_gradient


def test_check_shape_names_expected_and_actual():
    with pytest.raises(CheckError, match=r"logits: expected shape \(N, 10\), got \(N, 84\)\. is the last Linear"):
        check_shape("logits", torch.zeros(32, 84), (None, 10), hint="is the last Linear layer missing?")
    check_shape("logits", torch.zeros(32, 10), (None, 10))
    with pytest.raises(CheckError, match=r"got \(32, 10, 1\)"):
        check_shape("logits", torch.zeros(32, 10, 1), (None, 10))


def test_check_close_reports_error_location_and_passes_within_tolerance(capsys):
    ref = torch.arange(6.0).reshape(2, 3)
    assert check_close("y", ref + 1e-7, ref) < 1e-6
    assert "max abs error" in capsys.readouterr().out
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


def test_grad_check_accepts_autograd_and_catches_a_wrong_backward():
    g = torch.Generator().manual_seed(0)
    w, x = torch.randn(3, 4, generator=g), torch.randn(5, 4, generator=g)
    f = lambda w, x: torch.tanh(x @ w.T).sum()
    assert grad_check(f, [w, x]) < 1e-6
    y = torch.tanh(x.double() @ w.double().T)
    right = ((1 - y ** 2).T @ x.double(), (1 - y ** 2) @ w.double())
    assert grad_check(f, [w, x], analytic=right) < 1e-6
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
