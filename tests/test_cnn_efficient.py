"""GoogLeNet, MobileNet v1/v2 and EfficientNet-B0..B7 (dlcourse.models) against torchvision and the papers.

Parity: torchvision's model (weights=None, offline) with its BatchNorm statistics and affine
parameters randomised (fresh ones are the identity, which would hide a misplaced norm), its
state dict loaded into ours by key (strict), then the same input: eval-mode outputs equal,
and for EfficientNet-B0 a training-mode step (batch statistics, dropout and stochastic depth
drawn from the same seed) with every parameter's gradient equal. MobileNet v1, which
torchvision lacks, is held to the paper's parameter counts.
"""
from __future__ import annotations

import time

import pytest
import torch
import torch.nn.functional as F
import torchvision.models as tvm
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from dlcourse.checks import check_close, randomise_batchnorm
from dlcourse.models import efficientnet as ours_effnet
from dlcourse.models import googlenet as ours_googlenet
from dlcourse.models import mobilenet as ours_mobilenet
from dlcourse.profiling import count_macs, count_params, measure_latency

ATOL = RTOL = 1e-5


def _copy_and_compare(ours: nn.Module, theirs: nn.Module, x: torch.Tensor, name: str) -> float:
    """Strict key copy theirs -> ours, then eval-mode outputs equal; returns the worst absolute difference."""
    randomise_batchnorm(theirs, seed=0)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    ours.eval(), theirs.eval()
    with torch.no_grad():
        got, expected = ours(x), theirs(x)
    check_close(f"{name} eval output", got, expected, atol=ATOL, rtol=RTOL)
    return float((got - expected).abs().max())


def _same_keys_and_shapes(ours: nn.Module, theirs: nn.Module) -> None:
    a, b = ours.state_dict(), theirs.state_dict()
    assert list(a) == list(b), \
        f"keys differ: only ours {sorted(set(a) - set(b))[:5]}, only theirs {sorted(set(b) - set(a))[:5]}"
    wrong = [k for k in a if a[k].shape != b[k].shape]
    assert not wrong, f"shapes differ at {wrong[:5]}"


# ----------------------------------------------------------------------------- GoogLeNet
def test_googlenet_equals_torchvision_with_its_weights():
    torch.manual_seed(0)
    theirs = tvm.googlenet(weights=None, aux_logits=True, init_weights=False, transform_input=True)
    ours = ours_googlenet.googlenet(aux_logits=True, init_weights=False, transform_input=True)
    _same_keys_and_shapes(ours, theirs)
    assert count_params(ours) == 13_004_888
    _copy_and_compare(ours, theirs, torch.randn(2, 3, 64, 64), "googlenet")
    # Training mode: (logits, aux2, aux1), with batch statistics; dropout drawn from the same seed.
    ours.train(), theirs.train()
    x = torch.randn(2, 3, 64, 64)
    torch.manual_seed(1)
    got = ours(x)
    torch.manual_seed(1)
    expected = theirs(x)
    assert got._fields == expected._fields == ("logits", "aux_logits2", "aux_logits1")
    for field, a, b in zip(got._fields, got, expected):
        check_close(f"googlenet train {field}", a, b, atol=ATOL, rtol=RTOL)


def test_googlenet_without_aux_has_torchvisions_parameter_count_and_the_cifar_variant_loads_it():
    theirs = tvm.googlenet(weights=None, aux_logits=False, init_weights=False, num_classes=10)
    assert count_params(ours_googlenet.googlenet(aux_logits=False)) == 6_624_904      # torchvision's meta
    small = ours_googlenet.googlenet_cifar(init_weights=False)
    small.load_state_dict(theirs.state_dict(), strict=True)
    assert small(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    feats = {}
    small.inception5b.register_forward_hook(lambda m, i, o: feats.__setitem__("5b", o.shape))
    small.eval()(torch.randn(1, 3, 32, 32))
    assert feats["5b"] == (1, 1024, 4, 4), "the CIFAR variant should end at 4x4 (total stride 8)"


def test_inception_module_widths_follow_table_1():
    block = ours_googlenet.Inception(*ours_googlenet.INCEPTION_TABLE["3a"])
    assert block(torch.randn(1, 192, 28, 28)).shape == (1, 64 + 128 + 32 + 32, 28, 28)


# ----------------------------------------------------------------------------- MobileNet
def test_mobilenet_v1_has_the_papers_parameter_counts():
    assert count_params(ours_mobilenet.mobilenet_v1()) == 4_231_976          # Table 8: 4.2M
    # Table 6: width multipliers 0.75, 0.5, 0.25 -> 2.6M, 1.3M, 0.5M
    counts = [count_params(ours_mobilenet.mobilenet_v1(width_mult=a)) for a in (0.75, 0.5, 0.25)]
    assert [round(c / 1e6, 1) for c in counts] == [2.6, 1.3, 0.5]
    # Table 8's 569M multiply-adds for 1.0-224 (conv and FC layers)
    assert round(count_macs(ours_mobilenet.mobilenet_v1()) / 1e6) == 569


def test_mobilenet_v1_depthwise_separable_block_is_a_grouped_conv_then_a_1x1_conv():
    torch.manual_seed(0)
    block = ours_mobilenet.DepthwiseSeparable(8, 16, stride=2)
    randomise_batchnorm(block, seed=0)
    block.eval()
    x = torch.randn(2, 8, 9, 9)
    dw, pw = block.depthwise, block.pointwise
    by_hand = F.conv2d(x, dw[0].weight, stride=2, padding=1, groups=8)
    by_hand = F.relu(F.batch_norm(by_hand, dw[1].running_mean, dw[1].running_var, dw[1].weight, dw[1].bias, eps=1e-5))
    by_hand = F.relu(F.batch_norm(F.conv2d(by_hand, pw[0].weight), pw[1].running_mean, pw[1].running_var,
                                  pw[1].weight, pw[1].bias, eps=1e-5))
    check_close("depthwise separable block", block(x), by_hand)


def test_mobilenet_v2_equals_torchvision_with_its_weights():
    torch.manual_seed(0)
    theirs, ours = tvm.mobilenet_v2(weights=None), ours_mobilenet.mobilenet_v2()
    _same_keys_and_shapes(ours, theirs)
    assert count_params(ours) == 3_504_872
    _copy_and_compare(ours, theirs, torch.randn(2, 3, 64, 64), "mobilenet_v2")
    small = ours_mobilenet.mobilenet_v2_cifar(width_mult=0.5)
    theirs10 = tvm.mobilenet_v2(num_classes=10, width_mult=0.5)
    small.load_state_dict(theirs10.state_dict(), strict=True)       # the same keys; strides hold no weights
    with torch.no_grad():
        assert small.features(torch.randn(1, 3, 32, 32)).shape == (1, 1280, 4, 4)


# ----------------------------------------------------------------------------- EfficientNet
@pytest.mark.parametrize("variant", ["b0", "b1", "b2", "b3", "b4", "b5", "b6"])
def test_efficientnet_equals_torchvision_with_its_weights(variant):
    torch.manual_seed(0)
    theirs = getattr(tvm, f"efficientnet_{variant}")(weights=None)
    ours = getattr(ours_effnet, f"efficientnet_{variant}")()
    _same_keys_and_shapes(ours, theirs)
    assert count_params(ours) == count_params(theirs)
    _copy_and_compare(ours, theirs, torch.randn(1, 3, 32, 32), f"efficientnet_{variant}")
    bn = next(m for m in ours.modules() if isinstance(m, nn.BatchNorm2d))
    bn_theirs = next(m for m in theirs.modules() if isinstance(m, nn.BatchNorm2d))
    assert (bn.eps, bn.momentum) == (bn_theirs.eps, bn_theirs.momentum)


def test_efficientnet_b7_keys_shapes_and_parameter_count():
    """B7 (66M parameters) is checked by structure only, built on the meta device (shapes, no memory, no
    initialisation): building it for real twice would dominate the suite's time."""
    with torch.device("meta"):
        ours, theirs = ours_effnet.efficientnet_b7(), tvm.efficientnet_b7(weights=None)
    _same_keys_and_shapes(ours, theirs)
    assert count_params(ours) == count_params(theirs) == 66_347_960


def test_efficientnet_b0_training_step_gradients_equal_torchvisions():
    """Batch statistics, dropout and stochastic depth (drawn from the same seed) and every parameter's gradient."""
    torch.manual_seed(0)
    theirs = tvm.efficientnet_b0(weights=None, num_classes=10)
    randomise_batchnorm(theirs, seed=0)
    ours = ours_effnet.efficientnet_b0(num_classes=10)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x, y = torch.randn(4, 3, 32, 32), torch.tensor([1, 2, 3, 4])
    losses = []
    for model in (ours, theirs):
        model.train()
        torch.manual_seed(7)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        losses.append(loss)
    check_close("efficientnet_b0 train loss", losses[0], losses[1], atol=ATOL, rtol=RTOL)
    worst = 0.0
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        check_close(f"d loss / d {name}", p.grad, q.grad, atol=ATOL, rtol=1e-4, verbose=False)
        worst = max(worst, float((p.grad - q.grad).abs().max()))
    print(f"worst parameter-gradient difference: {worst:.1e}")
    # some residual branches were dropped in this step: the test exercised stochastic depth
    assert any(m.stochastic_depth.p > 0 for m in ours.modules() if isinstance(m, ours_effnet.MBConv))


def test_stochastic_depth_equals_torchvisions_and_is_the_identity_in_eval():
    from torchvision.ops import StochasticDepth
    x = torch.randn(64, 3, 2, 2)
    ours, theirs = ours_effnet.StochasticDepth(0.3), StochasticDepth(0.3, "row")
    torch.manual_seed(0)
    got = ours(x)
    torch.manual_seed(0)
    check_close("stochastic depth, training", got, theirs(x), atol=0, rtol=0)
    assert 0 < int((got.flatten(1) == 0).all(1).sum()) < 64, "some examples dropped, not all"
    assert ours.eval()(x) is x
    with pytest.raises(ValueError, match="drop probability"):
        ours_effnet.StochasticDepth(1.5)


def test_compound_scaling_reproduces_torchvisions_stage_configs():
    from torchvision.models.efficientnet import _efficientnet_conf
    for name, (width, depth, _, _) in ours_effnet.SCALING.items():
        theirs, _ = _efficientnet_conf(f"efficientnet_{name}", width_mult=width, depth_mult=depth)
        assert ours_effnet.scaled_stages(width, depth) == [
            (c.expand_ratio, c.kernel, c.stride, c.input_channels, c.out_channels, c.num_layers) for c in theirs]


def test_cifar_variants_end_at_4x4_with_the_same_parameters():
    for small, big in [(ours_mobilenet.mobilenet_v1_cifar(), ours_mobilenet.mobilenet_v1(num_classes=10)),
                       (ours_effnet.efficientnet_b0_cifar(), ours_effnet.efficientnet_b0(num_classes=10))]:
        _same_keys_and_shapes(small, big)
        with torch.no_grad():
            assert small.eval().features(torch.randn(1, 3, 32, 32)).shape[-2:] == (4, 4)


def test_bad_arguments_get_a_clear_error():
    with pytest.raises(ValueError, match="unknown variant 'b8'"):
        ours_effnet.build_efficientnet("b8")
    with pytest.raises(ValueError, match="stride must be 1 or 2"):
        ours_mobilenet.InvertedResidual(8, 8, 3, 6)


# ----------------------------------------------------------------------------- counting
def test_mac_counter_equals_a_hand_count_and_half_of_torchs_flop_counter():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(),
                          nn.Conv2d(8, 8, 3, padding=1, groups=8), nn.Conv2d(8, 16, 1),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))
    # 16x16 outputs: 8 filters of 3*3*3; depthwise: 8 of 1*3*3; pointwise: 16 of 8; FC 10 x 16
    by_hand = 16 * 16 * 8 * 27 + 16 * 16 * 8 * 9 + 16 * 16 * 16 * 8 + 10 * 16
    assert count_macs(model, (3, 32, 32)) == by_hand
    for net, size in [(model, (3, 32, 32)), (ours_mobilenet.mobilenet_v2_cifar(width_mult=0.5), (3, 32, 32))]:
        with FlopCounterMode(display=False) as counter:
            net.eval()(torch.zeros(1, *size))
        assert counter.get_total_flops() == 2 * count_macs(net, size)


def test_latency_is_the_median_of_timed_passes_and_leaves_the_model_in_eval_mode():
    class Sleeper(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear, self.calls = nn.Linear(3, 3), 0

        def forward(self, x):
            self.calls += 1
            time.sleep(0.02 if self.calls == 2 else 0.002)      # one slow pass: the median ignores it
            return x

    model = Sleeper()
    seconds = measure_latency(model, (3,), repeats=5, warmup=1)
    assert model.calls == 6 and not model.training
    assert 0.002 <= seconds < 0.015
