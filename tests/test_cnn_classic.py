"""LeNet-5, AlexNet and VGG: torchvision's state dicts load into ours by key (strict) and give the
same outputs (and gradients, where cheap); LeNet-5's parameter counts are the paper's, per layer."""
from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from dlcourse.checks import check_like_torch
from dlcourse.models import lenet, vgg
from dlcourse.models.alexnet import alexnet, alexnet_cifar
from dlcourse.models.lenet import C3_TABLE, LeNet5, PartialConv2d
from dlcourse.profiling import count_params

TOL = 1e-5   # float32; the same kernels run in the same order, so the differences are in fact 0



def assert_same_outputs(ours: nn.Module, theirs: nn.Module, x: torch.Tensor, name: str) -> float:
    ours.eval(), theirs.eval()
    with torch.no_grad():
        a, b = ours(x), theirs(x)
    worst = (a - b).abs().max().item()
    print(f"{name}: worst |ours - torchvision| = {worst:.2e}")
    assert a.shape == b.shape and worst <= TOL * max(1.0, b.abs().max().item()), f"{name} differs by {worst}"
    return worst


# ----------------------------------------------------------------------------- LeNet-5
def test_lenet5_paper_counts_are_the_papers_per_layer():
    """Section II.B: C1 156, S2 12, C3 1,516, S4 32, C5 48,120, F6 10,164; total 60,000 (RBF codes fixed)."""
    model = lenet.lenet5(variant="paper")
    per_layer = {name: count_params(getattr(model, name)) for name in ("c1", "s2", "c3", "s4", "c5", "f6", "output")}
    assert per_layer == {"c1": 156, "s2": 12, "c3": 1516, "s4": 32, "c5": 48120, "f6": 10164, "output": 0}
    assert count_params(model) == 60_000


def test_lenet5_modern_count():
    """ReLU, max-pool, all-to-all C3 (2,416) and a linear output (850): 61,706."""
    model = lenet.lenet5(variant="modern")
    assert count_params(model.c3) == 2416 and count_params(model.output) == 850
    assert count_params(model) == 61_706


def test_c3_table_is_table_one():
    assert [len(t) for t in C3_TABLE] == [3] * 6 + [4] * 9 + [6]
    assert C3_TABLE[0] == (0, 1, 2) and C3_TABLE[9] == (3, 4, 5, 0) and C3_TABLE[14] == (0, 2, 3, 5)
    assert sum(len(t) for t in C3_TABLE) == 60                  # 60 kernels: 60 x 25 + 16 biases = 1,516


def test_partial_conv_equals_a_masked_torch_conv():
    torch.manual_seed(0)
    ours = PartialConv2d(6, C3_TABLE)
    mask = torch.zeros(16, 6, 1, 1)
    for o, inputs in enumerate(C3_TABLE):
        mask[o, list(inputs)] = 1
    full = ours.full_weight().detach()
    assert torch.equal(full * mask, full), "an unconnected kernel is not zero"
    conv = nn.Conv2d(6, 16, 5)
    with torch.no_grad():
        conv.weight.copy_(full), conv.bias.copy_(ours.bias)
    x = torch.randn(3, 6, 14, 14)
    check_like_torch("PartialConv2d", ours, conv, x)
    ours(x).square().sum().backward()
    conv(x).square().sum().backward()
    # the connected kernels' gradients are torch's; torch's gradient on unconnected ones is what a mask discards
    expected = (conv.weight.grad * mask).view(96, 5, 5)[ours.index]
    torch.testing.assert_close(ours.weight.grad, expected, rtol=1e-5, atol=1e-5)


def _modern_lenet_in_torch(model: LeNet5) -> nn.Sequential:
    """The modern variant written with torch's layers, holding our weights."""
    net = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                        nn.Linear(84, 10))
    with torch.no_grad():
        for i, ours in zip((0, 3, 9, 11), (model.c1, model.c3, model.f6, model.output)):
            net[i].weight.copy_(ours.weight), net[i].bias.copy_(ours.bias)
        net[7].weight.copy_(model.c5.weight.flatten(1)), net[7].bias.copy_(model.c5.bias)  # C5: a 5x5 conv on 5x5
    return net


def test_lenet5_modern_equals_torch_layers_with_its_weights():
    torch.manual_seed(0)
    model = lenet.lenet5()
    check_like_torch("LeNet-5 (modern)", model, _modern_lenet_in_torch(model), torch.randn(4, 1, 28, 28))


def test_lenet5_paper_trains_and_shapes():
    torch.manual_seed(0)
    model = lenet.lenet5(variant="paper", input_size=32)
    maps = model.feature_maps(torch.randn(2, 1, 32, 32))
    assert {k: tuple(v.shape[1:]) for k, v in maps.items()} == {
        "C1": (6, 28, 28), "S2": (6, 14, 14), "C3": (16, 10, 10), "S4": (16, 5, 5), "C5": (120,), "F6": (84,),
        "output": (10,)}
    loss = nn.functional.cross_entropy(maps["output"], torch.tensor([3, 7]))
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_lenet5_rejects_wrong_shapes_and_options():
    with pytest.raises(ValueError, match=r"expects images \(N, 1, 28, 28\); got \(2, 784\)"):
        lenet.lenet5()(torch.randn(2, 784))
    with pytest.raises(ValueError, match="variant must be"):
        lenet.lenet5(variant="1998")


# ----------------------------------------------------------------------------- AlexNet
def _load_theirs(ours: nn.Module, theirs: nn.Module) -> None:
    # assign=True: a model built on the meta device (no memory, no init) takes torchvision's tensors
    result = ours.load_state_dict(theirs.state_dict(), strict=True, assign=True)
    assert not result.missing_keys and not result.unexpected_keys


def test_alexnet_equals_torchvision():
    torch.manual_seed(0)
    theirs, ours = torchvision.models.alexnet(weights=None), alexnet()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert count_params(ours) == count_params(theirs) == 61_100_840
    _load_theirs(ours, theirs)
    assert_same_outputs(ours, theirs, torch.randn(2, 3, 224, 224), "alexnet")


def test_alexnet_cifar_is_the_same_class_and_keys():
    """The CIFAR variant equals torchvision's AlexNet with the same stem, pool and widths (and gradients)."""
    torch.manual_seed(0)
    ours = alexnet_cifar(num_classes=10, hidden=256)
    theirs = torchvision.models.AlexNet(num_classes=10)
    theirs.features[0] = nn.Conv2d(3, 64, 3, 1, 1)
    theirs.avgpool = nn.AdaptiveAvgPool2d((3, 3))
    theirs.classifier[1], theirs.classifier[4] = nn.Linear(256 * 9, 256), nn.Linear(256, 256)
    theirs.classifier[6] = nn.Linear(256, 10)
    _load_theirs(ours, theirs)
    ours.eval(), theirs.eval()
    check_like_torch("alexnet_cifar", ours, theirs, torch.randn(2, 3, 32, 32), atol=TOL, rtol=TOL)


# ----------------------------------------------------------------------------- VGG
VGGS = ["vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"]
TABLE_2_MILLIONS = {"vgg11": 133, "vgg13": 133, "vgg16": 138, "vgg19": 144}   # Table 2, rounded


@pytest.mark.parametrize("name", VGGS)
def test_vgg_equals_torchvision(name):
    torch.manual_seed(0)
    theirs = getattr(torchvision.models, name)(weights=None)
    with torch.device("meta"):          # ours is built without allocating or initialising 140M weights
        ours = getattr(vgg, name)()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert count_params(ours) == count_params(theirs)
    if name in TABLE_2_MILLIONS:
        assert round(count_params(ours) / 1e6) == TABLE_2_MILLIONS[name]
    _load_theirs(ours, theirs)
    # 224x224 for VGG-16 (the paper's input); the others at 32x32 to keep the suite quick: every
    # weight is used either way (the adaptive pool spreads the 1x1 maps to 7x7)
    size = 224 if name == "vgg16" else 32
    assert_same_outputs(ours, theirs, torch.randn(1, 3, size, size), name)


def test_vgg_cifar_gradients_equal_torchvision():
    """A small config in both builders, training mode (BatchNorm batch statistics), same gradients."""
    from torchvision.models.vgg import VGG as TorchVGG, make_layers as torch_make_layers
    cfg = [8, "M", 16, "M", 32, 32, "M"]
    torch.manual_seed(0)
    ours = vgg.vgg_cifar(cfg, num_classes=10, hidden=64, dropout=0.0)
    theirs = TorchVGG(torch_make_layers(cfg, batch_norm=True), num_classes=10, dropout=0.0)
    theirs.avgpool = nn.AdaptiveAvgPool2d((1, 1))
    theirs.classifier[0], theirs.classifier[3] = nn.Linear(32, 64), nn.Linear(64, 64)
    theirs.classifier[6] = nn.Linear(64, 10)
    _load_theirs(ours, theirs)
    x, y = torch.randn(4, 3, 32, 32), torch.tensor([0, 3, 5, 9])
    check_like_torch("vgg_cifar (train mode)", ours, theirs, x, atol=TOL, rtol=TOL)
    for model in (ours, theirs):
        nn.functional.cross_entropy(model(x), y).backward()
    worst = max((p.grad - q.grad).abs().max().item() for p, q in zip(ours.parameters(), theirs.parameters()))
    print(f"vgg_cifar parameter gradients: worst |ours - torchvision| = {worst:.2e}")
    assert worst <= TOL


def test_vgg_config_errors_say_what_is_allowed():
    with pytest.raises(ValueError, match="channel counts \\(int\\) and 'M'"):
        vgg.make_layers([64, "P"])


def test_vgg_cifar_head_keeps_the_signal_at_initialisation():
    """torchvision's N(0, 0.01) linear init, sized for 4096-wide layers, leaves a 256-wide head's logits ~5e-4
    (training then sat at chance for an epoch); vgg_cifar re-initialises its head (logits ~4e-2)."""
    torch.manual_seed(0)
    x = torch.randn(16, 3, 32, 32)
    assert vgg.vgg_cifar().eval()(x).std() > 0.01
    narrow_with_4096_init = vgg.VGG(vgg.make_layers((32, "M", 64, "M", 128, 128, "M", 256, 256, "M"), True), 10,
                                    pool_size=1, hidden=256).eval()
    assert narrow_with_4096_init(x).std() < 0.005
