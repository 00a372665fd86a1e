"""BatchNorm and LayerNorm from tensor ops == torch: values, gradients (input, weight, bias),
running buffers after several training steps, eval mode, and state dicts loaded both ways."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlcourse import normalization as N
from dlcourse.checks import check_close, check_like_torch

TOL = {torch.float32: dict(atol=1e-5, rtol=1e-5), torch.float64: dict(atol=1e-12, rtol=1e-10)}
SHAPES = [(6, 4), (5, 3, 7), (4, 3, 5, 5)]          # BatchNorm1d (N, C), (N, C, L); BatchNorm2d


def _batch(shape, seed, dtype=torch.float32):
    """A batch whose channels have different means and scales, so per-channel bugs show."""
    g = torch.Generator().manual_seed(seed)
    c = shape[1]
    view = [1, c] + [1] * (len(shape) - 2)
    loc = torch.linspace(-3, 3, c, dtype=dtype).view(view)
    scale = torch.linspace(0.5, 4, c, dtype=dtype).view(view)
    return torch.randn(shape, generator=g, dtype=dtype) * scale + loc


def _affine(c, seed, dtype=torch.float32):
    g = torch.Generator().manual_seed(100 + seed)
    return 1 + 0.5 * torch.randn(c, generator=g, dtype=dtype), torch.randn(c, generator=g, dtype=dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("seed", [0, 1])
def test_batch_norm_training_matches_torch_in_values_and_gradients(shape, seed, dtype):
    x, (w, b) = _batch(shape, seed, dtype), _affine(shape[1], seed, dtype)
    check_like_torch("batch_norm", lambda x, w, b: N.batch_norm(x, None, None, w, b, training=True),
                     lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), x, w, b,
                     verbose=False, **TOL[dtype])


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_batch_norm_eval_uses_the_running_statistics(shape):
    x, (w, b) = _batch(shape, 3), _affine(shape[1], 3)
    g = torch.Generator().manual_seed(4)
    mean, var = torch.randn(shape[1], generator=g), torch.rand(shape[1], generator=g) + 0.5
    check_like_torch("batch_norm, eval", lambda x, w, b: N.batch_norm(x, mean, var, w, b, training=False),
                     lambda x, w, b: F.batch_norm(x, mean, var, w, b, training=False), x, w, b, verbose=False)


def _pair(cls_ours, cls_theirs, c, seed, **kwargs):
    """Ours and torch's module with the same (non-trivial) weights."""
    theirs = cls_theirs(c, **kwargs)
    if getattr(theirs, "weight", None) is not None:
        with torch.no_grad():
            theirs.weight.copy_(_affine(c, seed)[0])
            theirs.bias.copy_(_affine(c, seed)[1])
    ours = cls_ours(c, **kwargs)
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_running_buffers_follow_torch_over_several_training_steps(shape, momentum):
    ours, theirs = _pair(N.BatchNorm2d if len(shape) == 4 else N.BatchNorm1d,
                         nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d, shape[1], 0, momentum=momentum)
    for step in range(5):
        x = _batch(shape, 10 + step) * (1 + step)          # statistics that change from batch to batch
        check_close(f"train output, step {step}", ours(x), theirs(x), verbose=False)
        for name in ("running_mean", "running_var"):
            check_close(f"{name}, step {step}", getattr(ours, name), getattr(theirs, name), verbose=False)
    assert int(ours.num_batches_tracked) == int(theirs.num_batches_tracked) == 5
    ours.eval(), theirs.eval()
    x = _batch(shape, 99)
    check_like_torch("eval after training", ours, theirs, x, verbose=False)


def test_running_variance_is_unbiased_and_the_new_batch_weighs_momentum():
    # one step from the defaults (mean 0, var 1), by the formula: a bug in either convention shows
    bn = N.BatchNorm1d(3, momentum=0.25)
    x = _batch((4, 3), 7)
    bn(x)
    check_close("running_mean", bn.running_mean, 0.25 * x.mean(0), verbose=False)
    check_close("running_var", bn.running_var, 0.75 + 0.25 * x.var(0, unbiased=True), verbose=False)


def test_eval_is_deterministic_and_does_not_touch_the_buffers():
    bn = N.BatchNorm2d(3)
    bn(_batch((4, 3, 5, 5), 0))
    bn.eval()
    before = {k: v.clone() for k, v in bn.state_dict().items()}
    x = _batch((2, 3, 5, 5), 1)
    out = bn(x)
    assert torch.equal(out, bn(x))
    check_close("an example alone vs in a batch (eval)", bn(x[:1]), out[:1], verbose=False)
    for k, v in bn.state_dict().items():
        assert torch.equal(v, before[k]), f"eval mode changed {k}"


@pytest.mark.parametrize("affine, track", [(False, True), (True, False), (False, False)])
def test_batch_norm_options_match_torch(affine, track):
    ours, theirs = _pair(N.BatchNorm2d, nn.BatchNorm2d, 3, 1, affine=affine, track_running_stats=track)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for mode in ("train", "eval"):
        getattr(ours, mode)(), getattr(theirs, mode)()
        check_like_torch(f"BatchNorm2d({mode})", ours, theirs, _batch((4, 3, 5, 5), 2), verbose=False)


def test_state_dicts_load_both_ways_by_key():
    theirs = nn.BatchNorm2d(5)
    theirs(_batch((4, 5, 3, 3), 0) * 3)                     # buffers away from their defaults
    ours = N.BatchNorm2d(5)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())               # strict: every key, no more
    for k, v in theirs.state_dict().items():
        assert torch.equal(ours.state_dict()[k], v) and ours.state_dict()[k].dtype == v.dtype, k
    nn.BatchNorm2d(5).load_state_dict(ours.state_dict())
    ln_theirs = nn.LayerNorm((4, 6))
    assert list(N.LayerNorm((4, 6)).state_dict()) == list(ln_theirs.state_dict())
    assert list(N.LayerNorm(6, bias=False).state_dict()) == list(nn.LayerNorm(6, bias=False).state_dict())


def test_batch_norm_refuses_a_single_value_per_channel_and_the_wrong_shape():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        N.BatchNorm1d(3)(torch.randn(1, 3))
    with pytest.raises(ValueError, match=r"expects input of 4 dimensions with 3 channels"):
        N.BatchNorm2d(3)(torch.randn(2, 3, 5))
    with pytest.raises(ValueError, match="3 channels"):
        N.BatchNorm1d(3)(torch.randn(2, 4))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("shape, normalized", [((6, 10), (10,)), ((3, 4, 8), (8,)), ((2, 3, 4, 5), (4, 5))],
                         ids=str)
@pytest.mark.parametrize("seed", [0, 1])
def test_layer_norm_matches_torch_in_values_and_gradients(shape, normalized, seed, dtype):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g, dtype=dtype) * 3 + torch.arange(shape[-1], dtype=dtype)
    w = 1 + 0.5 * torch.randn(normalized, generator=g, dtype=dtype)
    b = torch.randn(normalized, generator=g, dtype=dtype)
    check_like_torch("layer_norm", lambda x, w, b: N.layer_norm(x, normalized, w, b),
                     lambda x, w, b: F.layer_norm(x, normalized, w, b), x, w, b, verbose=False, **TOL[dtype])


def test_layer_norm_module_matches_torch_after_loading_its_weights():
    theirs = nn.LayerNorm((4, 5), eps=1e-3)
    with torch.no_grad():
        theirs.weight.normal_(1, 0.5), theirs.bias.normal_()
    ours = N.LayerNorm((4, 5), eps=1e-3)
    ours.load_state_dict(theirs.state_dict())
    check_like_torch("LayerNorm((4, 5), eps=1e-3)", ours, theirs, torch.randn(3, 4, 5) * 0.05, verbose=False)
    check_like_torch("LayerNorm(5, elementwise_affine=False)", N.LayerNorm(5, elementwise_affine=False),
                     nn.LayerNorm(5, elementwise_affine=False), torch.randn(3, 5), verbose=False)
    with pytest.raises(ValueError, match="ending in those sizes"):
        ours(torch.randn(3, 5, 4))


def test_a_network_with_our_batch_norm_equals_one_with_torchs_under_bf16_autocast():
    from dlcourse.models import SmallCNN
    torch.manual_seed(0)
    theirs = SmallCNN((4, 8), norm_layer=nn.BatchNorm2d)
    ours = SmallCNN((4, 8), norm_layer=N.BatchNorm2d)
    ours.load_state_dict(theirs.state_dict())               # same keys: parity is a key copy
    x = torch.randn(6, 3, 16, 16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ours_out, theirs_out = ours.features[:2](x), theirs.features[:2](x)   # conv -> batch norm
        ours(x), theirs(x)
    assert ours_out.dtype == theirs_out.dtype == torch.bfloat16      # the next layer gets what torch's would
    check_close("conv -> batch norm under bf16 autocast", ours_out, theirs_out, atol=2e-2, rtol=1e-2, verbose=False)
    for (name, a), b in zip(ours.state_dict().items(), theirs.state_dict().values()):
        assert a.dtype == b.dtype, name                      # the running statistics stay float32
        check_close(f"{name} after a bf16 step", a, b, verbose=False)
    ours.eval(), theirs.eval()
    check_like_torch("SmallCNN with our BatchNorm2d (eval)", ours, theirs, x, verbose=False)
