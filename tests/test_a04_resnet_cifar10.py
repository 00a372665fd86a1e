"""a04's checks name the fix for each usual ResNet mistake, and pass a right answer.

The "students" are blocks, ResNets, evaluate functions and training functions with one realistic
bug each, run in this process as the student's visible tests run them. tests/test_grading.py
covers the graded round trip, with the budgeted training run.
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlcourse.checks import CheckError
from dlcourse.exercises.assignments import a04_resnet_cifar10 as a04
from dlcourse.profiling import count_params


def block(projection="when-needed", relu_after=True, relu_first=False, bn_in_projection=True):
    class Student(nn.Module):
        def __init__(self, i, o, stride=1):
            super().__init__()
            self.conv1 = nn.Conv2d(i, o, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(o)
            self.conv2 = nn.Conv2d(o, o, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(o)
            needed = stride != 1 or i != o
            layers = [nn.Conv2d(i, o, 1, stride=stride, bias=False)] + ([nn.BatchNorm2d(o)] if bn_in_projection else [])
            self.shortcut = nn.Sequential(*layers) if projection == "always" or (needed and projection) else nn.Sequential()

        def forward(self, x):
            y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
            if relu_first:
                return F.relu(y) + self.shortcut(x)
            y = y + self.shortcut(x)
            return F.relu(y) if relu_after else y
    return Student


@pytest.mark.parametrize("student, args, words", [
    (block(projection=None), (16, 32, 2), "the shortcut needs a projection"),
    (block(projection=None), (8, 16, 1), "the shortcut needs a projection"),
    (block(bn_in_projection=False), (16, 32, 2), "nn.BatchNorm2d(out_channels))"),
    (block(projection="always"), (16, 16, 1), "the shortcut must stay empty (identity)"),
    (block(relu_after=False), (16, 32, 2), "without the ReLU after the addition"),
    (block(relu_after=False), (16, 16, 1), "without the ReLU after the addition"),
    (block(relu_first=True), (16, 16, 1), "you apply the ReLU before adding the shortcut"),
], ids=["no-projection", "no-projection-channels", "projection-without-bn", "projection-always", "no-relu-after-add",
        "no-relu-after-add-identity", "relu-before-add"])
def test_each_usual_block_mistake_gets_its_fix(student, args, words):
    with pytest.raises(CheckError) as info:
        a04.check_block(student, *args)
    assert words in str(info.value), str(info.value)


def test_a_right_block_and_resnet_pass_with_gradients(capsys):
    for args in ((16, 16, 1), (16, 32, 2), (8, 16, 1)):
        a04.check_block(block(), *args, gradients=True)
    a04.check_resnet(a04.ReferenceResNet, gradients=True)
    out = capsys.readouterr().out
    assert "eval mode" in out and "train mode" in out and "allowed there" in out
    assert count_params(a04.ReferenceResNet()) == 78_042


def test_a_resnet_without_pooling_is_told_to_pool():
    class Flat(a04.ReferenceResNet):
        def forward(self, x):
            x = F.relu(self.bn1(self.conv1(x)))
            return self.layer3(self.layer2(self.layer1(x))).flatten(1)

    with pytest.raises(CheckError, match=r"average over the height and width"):
        a04.check_resnet(Flat)


def test_evaluate_mistakes_and_a_right_answer(capsys):
    def in_train_mode(model, images, labels):
        with torch.no_grad():
            return (model(images).argmax(1) == labels).float().mean().item()

    def a_count(model, images, labels):
        model.eval()
        with torch.no_grad():
            return (model(images).argmax(1) == labels).sum().item()

    with pytest.raises(CheckError, match=r"BatchNorm running statistics.*model.eval\(\)"):
        a04.check_evaluate(in_train_mode)
    with pytest.raises(CheckError, match=r"the fraction \(0 to 1\)"):
        a04.check_evaluate(a_count)
    a04.check_evaluate(lambda m, x, y: a_count(m, x, y) / len(y))
    assert "running statistics unchanged" in capsys.readouterr().out


def test_training_over_budget_or_not_at_all_is_caught():
    def over_budget(model, train_set):
        model.train()
        with torch.no_grad():
            for _ in range(2):
                model(train_set.tensors[0][:2600])

    with pytest.raises(CheckError, match=r"5,200 images, over the budget of 5,000"):
        a04.check_training(over_budget)
    with pytest.raises(CheckError, match=r"never ran the model in training mode"):
        a04.check_training(lambda model, train_set: None)


@pytest.mark.parametrize("args", [(16, 16, 1), (16, 32, 2), (8, 16, 1)], ids=["identity", "strided", "widening"])
def test_the_reference_block_is_the_family_files_block(args):
    """a04's ReferenceBasicBlock (the student's interface: ``shortcut.*``, in/out channels) is
    dlcourse.models.resnet.BasicBlock (torchvision's ``downsample.*``, inplanes/planes) under a key
    copy: same outputs and gradients in train and eval mode, so the assignment grades against the
    chapter's model, not a third copy."""
    from dlcourse.checks import check_close, randomise_weights
    from dlcourse.models.blocks import conv1x1
    from dlcourse.models.resnet import BasicBlock

    i, o, stride = args
    ref = randomise_weights(a04.ReferenceBasicBlock(i, o, stride), seed=3)
    needs = stride != 1 or i != o
    family = BasicBlock(i, o, stride, downsample=nn.Sequential(conv1x1(i, o, stride), nn.BatchNorm2d(o)) if needs else None)
    family.load_state_dict({k.replace("shortcut.", "downsample."): v for k, v in ref.state_dict().items()})
    x = torch.randn(2, i, 8, 8)
    for train in (True, False):
        ref.train(train), family.train(train)
        xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
        ya, yb = ref(xa), family(xb)
        check_close(f"block output (train={train})", ya, yb, verbose=False)
        ya.square().sum().backward(), yb.square().sum().backward()
        check_close("input gradient", xa.grad, xb.grad, verbose=False)
        for (k, p) in ref.named_parameters():
            check_close(k, p.grad, family.get_parameter(k.replace("shortcut.", "downsample.")).grad, verbose=False)
        ref.zero_grad(), family.zero_grad()
