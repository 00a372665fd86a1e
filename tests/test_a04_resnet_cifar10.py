"""a04's checks name the fix for each usual ResNet mistake, and pass a right answer.

The "students" are blocks, ResNets, evaluate functions and recipes with one realistic
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


GOOD = {"batch_size": 32, "optimizer": "adamw", "lr": 5e-3, "weight_decay": 0.05, "schedule": "one_cycle"}


@pytest.mark.parametrize("recipe, words", [
    (None, "must return a dict, got NoneType"),
    ({**GOOD, "epochs": 3}, "keys the grader does not know: ['epochs']"),
    ({k: v for k, v in GOOD.items() if k != "lr"}, "the recipe has no 'lr'"),
    ({**GOOD, "batch_size": 32.0}, "recipe['batch_size'] must be a int, got float"),
    ({**GOOD, "batch_size": True}, "must be a int, got bool"),
    ({**GOOD, "batch_size": 5000}, "outside [8, 512]"),
    ({**GOOD, "lr": float("nan")}, "recipe['lr'] = nan is outside"),
    ({**GOOD, "optimizer": "lion"}, "choose one of sgd, adam, adamw"),
    ({**GOOD, "schedule": "cyclic"}, "choose one of constant, cosine, one_cycle"),
    ({**GOOD, "nesterov": True}, "'sgd' only"),
], ids=["not-a-dict", "epochs", "no-lr", "float-batch", "bool-batch", "huge-batch", "nan-lr", "unknown-optimizer",
        "unknown-schedule", "nesterov-adam"])
def test_each_malformed_recipe_is_named_with_its_fix(recipe, words):
    with pytest.raises(CheckError) as info:
        a04.check_recipe(lambda: recipe)
    assert words in str(info.value), str(info.value)


def test_a_good_recipe_is_filled_in_with_its_defaults(capsys):
    a04.check_recipe(lambda: GOOD)
    assert "adamw at lr 0.005, one_cycle schedule, batch 32 (157 steps" in capsys.readouterr().out
    assert a04.read_recipe({**GOOD, "lr": 1}) == {**GOOD, "lr": 1.0, "momentum": 0.9, "nesterov": False,
                                                  "warmup": None, "label_smoothing": 0.0, "clip_grad": None}


@pytest.mark.parametrize("schedule, warmup", [("one_cycle", None), ("one_cycle", 0.2), ("cosine", 0.1), ("cosine", None),
                                              ("constant", 0.25)])
def test_the_recipes_schedules_are_torchs(schedule, warmup):
    """The rate at every step under the recipe's schedule, against torch's own schedulers."""
    from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, OneCycleLR, SequentialLR

    steps, lr = 40, 0.1
    recipe = a04.read_recipe({**GOOD, "schedule": schedule, "warmup": warmup, "lr": lr})

    def rates(make):
        opt = torch.optim.AdamW([torch.zeros(1, requires_grad=True)], lr=lr)
        sched, out = make(opt), []
        for _ in range(steps):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        return out

    warm = round((warmup or 0) * steps)
    if schedule == "one_cycle":
        theirs = lambda o: OneCycleLR(o, max_lr=lr, total_steps=steps, pct_start=0.3 if warmup is None else warmup)
    elif schedule == "cosine" and warm:
        theirs = lambda o: SequentialLR(o, [LinearLR(o, 0.01, 1.0, warm), CosineAnnealingLR(o, steps - warm)], [warm])
    elif schedule == "cosine":
        theirs = lambda o: CosineAnnealingLR(o, steps)
    else:
        theirs = lambda o: LinearLR(o, 0.01, 1.0, warm)
    ours = rates(lambda o: a04._schedule(recipe, o, steps))
    assert ours == pytest.approx(rates(theirs), rel=1e-6, abs=1e-12)
    assert a04._schedule(a04.read_recipe(GOOD | {"schedule": "constant"}), torch.optim.SGD([torch.zeros(1)], lr=1), 9) is None


def test_the_grader_trains_with_the_recipe_it_is_given():
    """The recipe decides the run: a rate of 1e-5 leaves the ResNet near chance, below the first tier."""
    acc = a04.check_training(lambda: {"batch_size": 64, "optimizer": "sgd", "lr": 1e-5, "momentum": 0.0})
    assert acc < 0.25


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
