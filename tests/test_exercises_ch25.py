"""Chapter 25's exercise checks pass the worked solutions, report None as not attempted, and name
the fix for each usual mistake."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from dlcourse.checks import CheckError
from dlcourse.exercises.chapters import ch25_gans as ex

spec = importlib.util.spec_from_file_location("sol25", Path(__file__).parents[1] / "solutions/chapters/25_gans.py")
sol = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sol)   # runs every check on the worked solutions


def test_none_is_not_attempted(capsys):
    ex.check_non_saturating_loss(lambda *a: None), ex.check_adain(lambda *a: None)
    assert capsys.readouterr().out.count("not attempted yet") == 2


@pytest.mark.parametrize("wrong, message", [
    (lambda l: torch.log(1 - torch.sigmoid(l)).mean(), "saturating"),
    (lambda l: -torch.log(torch.sigmoid(l)).sum(), "sum over the batch"),
    (lambda l: -torch.log(torch.sigmoid(l)).mean(), "underflows"),
    (lambda l: F.softplus(l).mean(), "non-saturating loss"),
    (lambda l: F.softplus(-l), "scalar"),
])
def test_loss_mistakes_are_named(wrong, message):
    with pytest.raises(CheckError, match=message):
        ex.check_non_saturating_loss(wrong)


def _stats(x, dims, unbiased=False):
    return (x - x.mean(dims, keepdim=True)) / torch.sqrt(x.var(dims, keepdim=True, unbiased=unbiased) + 1e-5)


@pytest.mark.parametrize("wrong, message", [
    (lambda x, s, b: _stats(x, (0, 2, 3)) * s[:, :, None, None] + b[:, :, None, None], "batch norm"),
    (lambda x, s, b: _stats(x, (1, 2, 3)) * s[:, :, None, None] + b[:, :, None, None], "layer norm"),
    (lambda x, s, b: _stats(x, (2, 3), True) * s[:, :, None, None] + b[:, :, None, None], "biased variance"),
    (lambda x, s, b: (_stats(x, (2, 3)) + b[:, :, None, None]) * s[:, :, None, None], "scale first"),
    (lambda x, s, b: _stats(x, (2, 3)) + b[:, :, None, None], "adain"),
    (lambda x, s, b: x[0], "shaped like x"),
])
def test_adain_mistakes_are_named(wrong, message):
    with pytest.raises(CheckError, match=message):
        ex.check_adain(wrong)
