"""dlcourse.models.resnet == torchvision's resnet.py: the same state-dict keys, torchvision's weights load
strictly and give the same outputs and gradients; shortcuts appear exactly where shapes change; the CIFAR
ResNets have the paper's parameter counts (He et al. 2016, section 4.2: 0.27M and 0.85M)."""
from __future__ import annotations

import pytest
import torch
import torchvision
import torch.nn.functional as F
from torch import nn

from dlcourse.checks import check_close, check_like_torch, randomise_batchnorm, shadow_of
from dlcourse.models import airbench
from dlcourse.models import resnet as ours
from dlcourse.models.resnet import BasicBlock, Bottleneck, PadShortcut, ResNet
from dlcourse.profiling import count_params


def _pair(name: str, seed: int = 0):
    """(ours, torchvision's) of one architecture, torchvision's random weights copied into ours strictly."""
    torch.manual_seed(seed)
    theirs = getattr(torchvision.models, name)(weights=None)
    mine = getattr(ours, name)()
    mine.load_state_dict(theirs.state_dict(), strict=True)
    return mine, theirs


@pytest.mark.parametrize("name", ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152"])
def test_keys_shapes_and_parameter_counts_equal_torchvision(name):
    mine, theirs = getattr(ours, name)(), getattr(torchvision.models, name)(weights=None)
    assert [(k, v.shape) for k, v in mine.state_dict().items()] == \
           [(k, v.shape) for k, v in theirs.state_dict().items()]
    assert count_params(mine) == count_params(theirs)
    # Table 1's networks, as torchvision counts them for 1000 classes
    expected = {"resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032,
                "resnet101": 44_549_160, "resnet152": 60_192_808}[name]
    assert count_params(mine) == expected


@pytest.mark.parametrize("name", ["resnet18", "resnet34", "resnet50"])
def test_torchvision_weights_give_identical_outputs(name):
    mine, theirs = _pair(name)
    randomise_batchnorm(mine, theirs)
    mine.eval(), theirs.eval()
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        a, b = mine(x), theirs(x)
    assert a.shape == (1, 1000)
    print(f"{name}: max |ours - torchvision| = {(a - b).abs().max().item():.2e}")
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_our_weights_load_into_torchvision():
    torch.manual_seed(3)
    mine = ours.resnet18(num_classes=7)
    theirs = torchvision.models.resnet18(weights=None, num_classes=7)
    theirs.load_state_dict(mine.state_dict(), strict=True)


def test_gradients_equal_torchvision_in_training_mode():
    """Training mode (batch statistics), the input's and every parameter's gradient."""
    torch.manual_seed(4)
    theirs = torchvision.models.resnet18(weights=None, num_classes=10)
    mine = ours.resnet18(num_classes=10)
    mine.load_state_dict(theirs.state_dict())
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(5))
    check_like_torch("resnet18 (train mode)", mine, theirs, x, atol=1e-5, rtol=1e-4, grad_atol=1e-5, grad_rtol=1e-4)
    upstream = torch.randn(2, 10, generator=torch.Generator().manual_seed(6))
    (mine(x) * upstream).sum().backward()
    (theirs(x) * upstream).sum().backward()
    worst = max((p.grad - q.grad).abs().max().item() for p, q in zip(mine.parameters(), theirs.parameters()))
    print(f"resnet18 parameter gradients: worst |ours - torchvision| = {worst:.2e}")
    for (name, p), q in zip(mine.named_parameters(), theirs.parameters()):
        torch.testing.assert_close(p.grad, q.grad, atol=2e-5, rtol=1e-4, msg=f"gradient of {name} differs")


def _shortcut_blocks(model: ResNet) -> list[tuple[str, bool]]:
    return [(name, m.downsample is not None) for name, m in model.named_modules()
            if isinstance(m, (BasicBlock, Bottleneck))]


def test_projection_shortcut_appears_exactly_when_the_shape_changes():
    for model in (ours.resnet18(), ours.resnet50(), ours.resnet_cifar(20, shortcut="B")):
        for name, has in _shortcut_blocks(model):
            block = model.get_submodule(name)
            in_ch = block.conv1.in_channels
            out_ch = (block.bn3 if isinstance(block, Bottleneck) else block.bn2).num_features
            changes = block.stride != 1 or in_ch != out_ch
            assert has == changes, f"{name}: shortcut {'present' if has else 'missing'}, shape change {changes}"
    # resnet18: only the first block of stages 2-4; resnet50: the first block of every stage (64 -> 256)
    assert [n for n, has in _shortcut_blocks(ours.resnet18()) if has] == ["layer2.0", "layer3.0", "layer4.0"]
    assert [n for n, has in _shortcut_blocks(ours.resnet50()) if has] == ["layer1.0", "layer2.0", "layer3.0",
                                                                          "layer4.0"]


def test_plain_nets_have_no_shortcut_and_compute_no_addition():
    plain = ours.resnet_cifar(20, plain=True)
    assert not any(has for _, has in _shortcut_blocks(plain))
    block = BasicBlock(4, 4, plain=True).eval()
    x = torch.randn(1, 4, 5, 5)
    with torch.no_grad():
        f = block.bn2(block.conv2(torch.relu(block.bn1(block.conv1(x)))))  # F(x)
        torch.testing.assert_close(block(x), torch.relu(f))               # plain: relu(F(x))
        block.plain = False
        torch.testing.assert_close(block(x), torch.relu(f + x))           # residual: relu(F(x) + x)


@pytest.mark.parametrize("depth, expected", [(20, 269_722), (56, 853_018)])
def test_cifar_resnets_have_the_papers_parameter_counts(depth, expected):
    """Section 4.2: ResNet-20 0.27M, ResNet-56 0.85M (option A: parameter-free shortcuts).
    The exact count: a 3x3 stem 3->16, 3n blocks of two 3x3 convolutions at widths 16, 32, 64,
    a BatchNorm (2 per channel) after each convolution, and a 64->10 classifier."""
    n = (depth - 2) // 6
    convs = 3 * 16 * 9 + (2 * n * 16 * 16 * 9) + (16 * 32 * 9 + (2 * n - 1) * 32 * 32 * 9) + \
        (32 * 64 * 9 + (2 * n - 1) * 64 * 64 * 9)
    norms = 2 * 16 + 2 * n * (2 * 16 + 2 * 32 + 2 * 64)
    assert convs + norms + 64 * 10 + 10 == expected
    model = ours.resnet_cifar(depth)
    assert count_params(model) == expected and round(expected / 1e6, 2) == {20: 0.27, 56: 0.85}[depth]
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert count_params(ours.resnet_cifar(depth, plain=True)) == expected     # the plain twin: the same weights


def test_option_a_shortcut_subsamples_and_pads_with_zeros():
    x = torch.randn(2, 16, 8, 8)
    out = PadShortcut(32, 2)(x)
    assert out.shape == (2, 32, 4, 4)
    torch.testing.assert_close(out[:, :16], x[:, :, ::2, ::2])
    assert out[:, 16:].abs().sum() == 0


def test_bad_arguments_get_a_clear_error():
    with pytest.raises(ValueError, match="6n \\+ 2"):
        ours.resnet_cifar(21)
    with pytest.raises(ValueError, match="one entry per stage"):
        ResNet(BasicBlock, [1, 1], widths=(16, 32, 64))
    with pytest.raises(ValueError, match="unsqueeze"):
        ours.resnet_cifar(20)(torch.randn(3, 32, 32))
    with pytest.raises(ValueError, match="one bool per stage after the first"):
        ours.resnet50(replace_stride_with_dilation=[True, True])
    with pytest.raises(NotImplementedError, match="Bottleneck"):
        ours.resnet18(replace_stride_with_dilation=[False, False, True])


# As a backbone (detection, segmentation): dilation and feature taps, against torchvision's own.

@pytest.mark.parametrize("dilate", [[False, True, True], [False, False, True]])
def test_dilated_resnet50_equals_torchvisions(dilate):
    """torchvision's replace_stride_with_dilation, the same weights: the same keys, the same outputs
    and gradients, and the output stride DeepLab uses (8 with two dilated stages, 16 with one)."""
    torch.manual_seed(7)
    theirs = torchvision.models.resnet50(weights=None, replace_stride_with_dilation=dilate)
    mine = ours.resnet50(replace_stride_with_dilation=dilate)
    mine.load_state_dict(theirs.state_dict(), strict=True)
    assert [m.dilation for m in mine.modules() if isinstance(m, nn.Conv2d)] == \
           [m.dilation for m in theirs.modules() if isinstance(m, nn.Conv2d)]
    randomise_batchnorm(mine, theirs)
    mine.eval(), theirs.eval()
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(8))
    assert mine.features(x)["layer4"].shape[-1] == 64 // (8 if dilate[1] else 16)
    check_like_torch(f"resnet50 dilated {dilate}", mine, theirs, x)


def test_feature_taps_equal_torchvisions_intermediate_layer_getter():
    """model.features(x): every stage's output, the tensors torchvision's IntermediateLayerGetter
    (what its detection and segmentation models wrap a backbone in) returns for the same weights."""
    from torchvision.models._utils import IntermediateLayerGetter
    mine, theirs = _pair("resnet18", seed=9)
    randomise_batchnorm(mine, theirs)
    mine.eval(), theirs.eval()
    getter = IntermediateLayerGetter(theirs, {f"layer{i}": f"layer{i}" for i in range(1, 5)})
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(10))
    taps = mine.features(x)
    assert list(taps) == ["layer1", "layer2", "layer3", "layer4"]
    assert [tuple(t.shape) for t in taps.values()] == [(2, 64, 16, 16), (2, 128, 8, 8), (2, 256, 4, 4),
                                                       (2, 512, 2, 2)]
    for name, t in getter(x).items():
        check_close(f"features(x)[{name!r}]", taps[name], t, shadow=shadow_of(getter, x)[name])


# The residual airbench94 net (resnet_whitened): its pieces against PyTorch's own layers.

def test_whitened_resnet_has_airbench94s_parameter_count_and_stage_shapes():
    """A 2x2 whitening stem of 24 filters (+ bias), three groups of two 3x3 convolutions at 64, 256, 256
    with a BatchNorm (scale + shift) after each, and a 256->10 classifier without bias: 1,972,792, of which
    the 24 * 12 whitening filters and the 2 * (64 + 256 + 256) BatchNorm scales are fixed."""
    stem = 24 * 3 * 2 * 2 + 24
    groups = sum(cin * c * 9 + c * c * 9 + 4 * c for cin, c in ((24, 64), (64, 256), (256, 256)))
    expected = stem + groups + 256 * 10
    model = airbench.resnet_whitened()
    assert expected == count_params(model) == 1_972_792
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable == expected - 24 * 12 - 2 * (64 + 256 + 256) == 1_971_352
    x = model.stem(torch.randn(2, 3, 32, 32))
    assert x.shape == (2, 24, 31, 31)
    for name, side in zip(model.stage_names, (15, 7, 3)):
        x = getattr(model, name)(x)
        assert x.shape[2:] == (side, side)
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


class _TorchGroup(nn.Module):
    """The same group from PyTorch's layers: BatchNorm2d(eps=1e-12, momentum=1 - 0.6) with a fixed scale."""

    def __init__(self, cin: int, c: int):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(cin, c, 3, padding=1, bias=False), nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1, self.bn2 = nn.BatchNorm2d(c, eps=1e-12, momentum=0.4), nn.BatchNorm2d(c, eps=1e-12, momentum=0.4)

    def forward(self, x):
        h = F.gelu(self.bn1(F.max_pool2d(self.conv1(x), 2)))
        return F.gelu(self.bn2(self.conv2(h)) + h)


def test_residual_conv_group_equals_pytorch_layers_in_value_gradient_and_running_statistics():
    torch.manual_seed(7)
    mine, theirs = airbench.ResidualConvGroup(5, 6), _TorchGroup(5, 6)
    randomise_batchnorm(mine, theirs)
    theirs.load_state_dict(mine.state_dict(), strict=True)
    x = torch.randn(3, 5, 8, 8, generator=torch.Generator().manual_seed(8))
    check_like_torch("ResidualConvGroup (train mode)", mine, theirs, x, atol=1e-5, rtol=1e-5,
                     grad_atol=1e-5, grad_rtol=1e-4)
    for key, value in mine.state_dict().items():   # airbench's momentum 0.6 keeps 60% of the old statistics
        torch.testing.assert_close(value, theirs.state_dict()[key], msg=f"{key} differs")
    mine.eval(), theirs.eval()
    with torch.no_grad():
        torch.testing.assert_close(mine(x), theirs(x), atol=1e-5, rtol=1e-5)


def test_residual_conv_group_adds_its_shortcut_and_freezes_batchnorm_scales():
    group = airbench.ResidualConvGroup(4, 4)
    assert not group.bn1.weight.requires_grad and group.bn2.bias.requires_grad and group.bn1.eps == 1e-12
    with torch.no_grad():
        group.conv2.weight.zero_()                      # F(h) = bn2(0) = 0: the group outputs GELU(h)
        x = torch.randn(2, 4, 6, 6)
        h = F.gelu(group.bn1(group.pool(group.conv1(x))))
        torch.testing.assert_close(group(x), F.gelu(h))   # without the shortcut it would be GELU(0) = 0
        assert F.gelu(h).abs().sum() > 0


def test_plain_conv_group_is_airbench94s_with_an_identity_second_convolution():
    """plain=True: no shortcut, conv2 starts as the identity (airbench's "implicit residual"), so at
    initialisation the group outputs GELU(bn2(h)); the same weights as the residual group."""
    torch.manual_seed(3)
    plain = airbench.ResidualConvGroup(4, 5, plain=True)
    assert count_params(plain) == count_params(airbench.ResidualConvGroup(4, 5))
    x = torch.randn(2, 4, 6, 6)
    h = F.gelu(plain.bn1(plain.pool(plain.conv1(x))))
    torch.testing.assert_close(plain(x), F.gelu(plain.bn2(h)), atol=1e-6, rtol=1e-5)
    with torch.no_grad():
        plain.conv2.weight.zero_()                         # without a shortcut nothing of h gets through
    assert plain(x).abs().max() < 1e-5
    net = airbench.resnet_whitened(plain=True)
    assert count_params(net) == 1_972_792 and all(getattr(net, n).plain for n in net.stage_names)


def test_whitening_stem_decorrelates_the_patches_of_its_images():
    """On a tiny batch of correlated images (neighbouring pixels and channels alike), the stem's first 12
    filters turn the 2x2 patches into outputs of covariance diag(lambda / (lambda + eps)), the identity for
    eps -> 0, and the other 12 filters are their negatives."""
    g = torch.Generator().manual_seed(9)
    images = torch.randn(8, 1, 17, 17, generator=g) + 0.3 * torch.randn(8, 3, 17, 17, generator=g)
    images = F.avg_pool2d(images, 2, stride=1)          # (8, 3, 16, 16), correlated neighbours
    stem = airbench.WhiteningStem()
    stem.init_from(images, eps=1e-9)
    w = stem.conv.weight
    torch.testing.assert_close(w[12:], -w[:12])
    out = F.conv2d(images, w[:12])                      # no bias: the whitened patches
    flat = out.permute(0, 2, 3, 1).reshape(-1, 12).double()
    cov = flat.T @ flat / len(flat)
    print(f"whitened patch covariance: worst |cov - I| = {(cov - torch.eye(12, dtype=cov.dtype)).abs().max():.2e}")
    torch.testing.assert_close(cov, torch.eye(12, dtype=cov.dtype), atol=1e-3, rtol=0)
    stem.init_from(images, eps=0.05)                    # a larger eps shrinks the weak directions most:
    variances = (F.conv2d(images, stem.conv.weight[:12]) ** 2).mean((0, 2, 3))
    assert (variances.diff() < 0).all(), variances      # the strongest eigen-direction comes first
    assert not w.requires_grad and stem.conv.bias.requires_grad
    with torch.autocast("cpu", torch.bfloat16):         # bf16 rounding, amplified, would drown the weak directions
        assert stem(images).dtype == torch.float32
