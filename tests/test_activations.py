"""Activations built from elementary ops == torch, in values and gradients, at any magnitude."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from dlcourse import activations as A
from dlcourse.checks import READY_MADE_ACTIVATIONS, check_like_torch, forbid

SPECIAL = [0.0, 1e-8, -1e-8, 0.5, -0.5, 1.0, -1.0, 5.0, -5.0, 20.0, -20.0, 88.0, -88.0,
           100.0, -100.0, 1000.0, -1000.0, 3.0]   # 18 values: 3318 in all, 3 rows


def _inputs(dtype):
    """Ordinary, large and special values (exact 0 included: gradients there are a classic bug)."""
    g = torch.Generator().manual_seed(0)
    x = torch.cat([torch.randn(3000, generator=g, dtype=torch.float64) * 3,
                   torch.randn(300, generator=g, dtype=torch.float64) * 100,
                   torch.tensor(SPECIAL, dtype=torch.float64)])
    return x.reshape(3, -1).to(dtype)


def _close(got, expected, atol, rtol=None, what=""):
    torch.testing.assert_close(got, expected, atol=atol, rtol=atol if rtol is None else rtol, msg=lambda m: f"{what}: {m}")


@pytest.mark.parametrize("name", sorted(A.ACTIVATIONS))
def test_fp32_values_and_gradients_match_torch(name):
    ours, ref = A.ACTIVATIONS[name], A.TORCH_ACTIVATIONS[name]
    if name == "gelu_tanh":
        # torch's float32 kernel computes 1 - tanh^2 in float32 and drops the ~1e-6 tail
        # around |x| ~ 5; ours keeps it. Judge both against the float64 truth instead.
        ref = lambda x, f=ref: f(x.double()).float()
    check_like_torch(name, ours, ref, _inputs(torch.float32), atol=1e-6, rtol=1e-6, seed=1, verbose=False)


@pytest.mark.parametrize("name", sorted(A.ACTIVATIONS))
def test_fp64_values_and_gradients_match_torch(name):
    check_like_torch(name, A.ACTIVATIONS[name], A.TORCH_ACTIVATIONS[name], _inputs(torch.float64),
                     atol=1e-12, rtol=1e-10, seed=1, verbose=False)


@pytest.mark.parametrize("ours, ref", [
    (lambda x: A.leaky_relu(x, 0.2), lambda x: F.leaky_relu(x, 0.2)),
    (lambda x: A.elu(x, alpha=0.5), lambda x: F.elu(x, alpha=0.5)),
    (lambda x: A.elu(x, alpha=1.7), lambda x: F.elu(x, alpha=1.7)),    # two alphas: neither 1 nor one lucky value
    (lambda x: A.gelu(x, approximate="none"), lambda x: F.gelu(x, approximate="none")),
    (lambda x: A.gelu(x, approximate="tanh"), lambda x: F.gelu(x, approximate="tanh")),
], ids=["leaky_relu_0.2", "elu_0.5", "elu_1.7", "gelu_none", "gelu_tanh"])
def test_parameters_are_honoured(ours, ref):
    check_like_torch("activation", ours, ref, _inputs(torch.float64), atol=1e-12, rtol=1e-10, verbose=False)


def test_torchs_positional_order_and_inplace_left_out_in_words():
    x = _inputs(torch.float32)
    for name, ours, ref, args in [("relu", A.relu, F.relu, (False,)), ("leaky_relu", A.leaky_relu, F.leaky_relu, (0.2, False)),
                                  ("elu", A.elu, F.elu, (0.5, False))]:
        check_like_torch(f"{name}{args}", lambda x: ours(x, *args), lambda x: ref(x, *args), x, verbose=False)
        with pytest.raises(ValueError, match="inplace=True is left out"):
            ours(x, *args[:-1], True)


def test_gelu_rejects_unknown_form():
    with pytest.raises(ValueError, match="approximate"):
        A.gelu(torch.zeros(2), approximate="erf")


def test_extremes_give_no_nan_or_inf():
    # check_like_torch fails on a NaN or inf that torch does not produce, in values or gradients.
    x = torch.tensor([-1e4, -1000.0, -100.0, -1e-30, 0.0, 1e-30, 100.0, 1000.0, 1e4])
    pairs = [(A.ACTIVATIONS[n], A.TORCH_ACTIVATIONS[n]) for n in sorted(A.ACTIVATIONS)] + [
        (lambda t: A.prelu(t, torch.tensor([0.25])), lambda t: F.prelu(t, torch.tensor([0.25]))),
        (A.softmax, lambda t: torch.softmax(t, -1)), (A.log_softmax, lambda t: torch.log_softmax(t, -1))]
    for ours, ref in pairs:
        check_like_torch("extremes", ours, ref, x, atol=1e-6, verbose=False)
    assert A.sigmoid(torch.tensor([-1000.0, 1000.0])).tolist() == [0.0, 1.0]
    assert A.tanh(torch.tensor([-1000.0, 1000.0])).tolist() == [-1.0, 1.0]
    assert A.tanh(torch.tensor([1e-8])).item() == pytest.approx(1e-8, rel=1e-6)   # no cancellation


def test_gradient_at_zero_matches_torch():
    # The kinks and the odd/even rewrites are where hand-made activations go wrong.
    for name in A.ACTIVATIONS:
        check_like_torch(name, A.ACTIVATIONS[name], A.TORCH_ACTIVATIONS[name], torch.zeros(1, dtype=torch.float64),
                         grad_output=torch.ones(1, dtype=torch.float64), atol=1e-15, rtol=0, verbose=False)


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("scale", [1.0, 1000.0])
def test_softmax_and_log_softmax_match_torch(dim, scale):
    x = torch.randn(5, 7, 3, generator=torch.Generator().manual_seed(2)) * scale
    for ours, ref in [(A.softmax, torch.softmax), (A.log_softmax, torch.log_softmax)]:
        check_like_torch(ours.__name__, lambda t: ours(t, dim=dim), lambda t: ref(t, dim=dim), x, atol=1e-6,
                         grad_rtol=1e-5, seed=3, verbose=False)


def test_softmax_is_stable():
    assert A.softmax(torch.tensor([1000.0, 1000.0])).tolist() == [0.5, 0.5]
    assert A.log_softmax(torch.tensor([0.0, -2000.0])).tolist() == [0.0, -2000.0]
    p = A.softmax(torch.randn(4, 10), dim=1)
    _close(p.sum(1), torch.ones(4), 1e-6)


@pytest.mark.parametrize("shape, n_weights", [((6, 3, 4, 5), 3), ((8, 3), 3), ((6, 3, 4, 5), 1), ((11,), 1)])
def test_prelu_matches_torch(shape, n_weights):
    g = torch.Generator().manual_seed(4)
    x = torch.randn(shape, generator=g) * 5
    w = torch.rand(n_weights, generator=g)
    check_like_torch("prelu", A.prelu, F.prelu, x, w, atol=1e-6, verbose=False)   # d/dx and d/dweight


def test_prelu_wrong_channel_count_is_a_clear_error():
    with pytest.raises(ValueError, match="channel"):
        A.prelu(torch.randn(2, 4, 5), torch.rand(3))


def test_prelu_module_state_dict_compatible_with_torch():
    ours, theirs = A.PReLU(num_parameters=3), nn.PReLU(num_parameters=3)
    assert [n for n, _ in ours.named_parameters()] == ["weight"]
    assert torch.equal(ours.weight.detach(), torch.full((3,), 0.25))
    with torch.no_grad():
        ours.weight.copy_(torch.tensor([0.1, -0.2, 0.3]))
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(4, 3, 5, 5, generator=torch.Generator().manual_seed(5))
    _close(ours(x), theirs(x), 1e-7)
    back = A.PReLU(3)
    back.load_state_dict(nn.PReLU(3, init=0.5).state_dict())
    _close(back(-torch.ones(1, 3)), -0.5 * torch.ones(1, 3), 0.0)
    assert A.PReLU().weight.shape == nn.PReLU().weight.shape == (1,)


def test_built_only_from_elementary_ops():
    """Ours never call torch's own activations: the course's one list of them raises inside the block."""
    x = torch.randn(4, 3, requires_grad=True)
    with forbid(READY_MADE_ACTIVATIONS, "the references are built from elementary operations"):
        total = sum(f(x).sum() for f in [A.relu, A.leaky_relu, A.elu, A.gelu, lambda t: A.gelu(t, "tanh"),
                                         A.sigmoid, A.tanh, A.softmax, A.log_softmax,
                                         lambda t: A.prelu(t, torch.rand(3)), A.PReLU(3)])
    total.backward()
