"""Batch norm keeps its digits when the mean is far from 0 (x = randn + 100 or + 1000, fp32).

Judged against the float64 answer, not against torch's float32 one: our error may be at most
twice torch's own (the repo's measure, ``dlcourse.precision.allowed_error``: torch's error
against its float64 shadow, with a floor of one rounding at the tensor's scale for a torch
that happens to round exactly). Folding the normalisation into x * scale + (bias - mean * scale)
misses by 5-40x in training and 200-7600x in eval on d/dweight, where autograd then computes
sum(g x) - mean sum(g) from two large, nearly equal sums.
"""
import pytest
import torch
import torch.nn.functional as F

from dlcourse import normalization as N
from dlcourse.checks import check_close
from dlcourse.precision import SAFETY, allowed_error, in_float64

FACTOR = 2.0     # how many times torch's float32 error ours may make


def _run(batch_norm, x, w, b, mean, var, training, grad_out):
    """Output and the gradients w.r.t. x, weight and bias of one batch-norm call."""
    inputs = [t.clone().requires_grad_(True) for t in (x, w, b)]
    out = batch_norm(inputs[0], mean.clone(), var.clone(), inputs[1], inputs[2], training)
    return [out.detach(), *torch.autograd.grad(out, inputs, grad_out)]


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("offset", [100.0, 1000.0])
@pytest.mark.parametrize("shape", [(16, 4, 6, 6), (64, 5)], ids=["NCHW", "NC"])
def test_batch_norm_error_against_float64_is_within_twice_torchs(shape, offset, training):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=g) + offset
    w, b = 1 + 0.5 * torch.randn(shape[1], generator=g), torch.randn(shape[1], generator=g)
    grad_out = torch.randn(shape, generator=g)
    dims = [0] + list(range(2, len(shape)))
    var, mean = (t.float() for t in torch.var_mean(x.double(), dim=dims))   # eval: the batch's own statistics
    args = (x, w, b, mean, var, training, grad_out)
    theirs, shadow = _run(F.batch_norm, *args), in_float64(_run, F.batch_norm, *args)
    ours = _run(N.batch_norm, *args)
    for name, o, t, s in zip(("output", "d/dx", "d/dweight", "d/dbias"), ours, theirs, shadow):
        target, allowed = allowed_error(t, s)
        check_close(f"batch_norm {shape} + {offset:g} ({'train' if training else 'eval'}), {name}", o, target,
                    atol=allowed * FACTOR / SAFETY, rtol=0, verbose=False)
