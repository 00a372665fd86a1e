"""a05's checks name the fix for the usual mistakes in reading an image folder and in a design over
budget, and pass the right answers (tests/test_grading.py runs the graded training and its tiers)."""
from __future__ import annotations

import pytest
from torch import nn
from torchvision import datasets, transforms

from dlcourse.checks import CheckError
from dlcourse.data import CIFAR10_MEAN, CIFAR10_STD
from dlcourse.exercises.assignments import a05_custom_cnn as a05


def folder(normalize=True, to_tensor=True, split_dir=True):
    def load_split(root, split):
        steps = ([transforms.ToTensor()] if to_tensor else []) + \
            ([transforms.Normalize(CIFAR10_MEAN, CIFAR10_STD)] if normalize and to_tensor else [])
        return datasets.ImageFolder(str(root / split) if split_dir else str(root),
                                    transform=transforms.Compose(steps) if steps else None)
    return load_split


@pytest.mark.parametrize("load_split, words", [
    (folder(normalize=False), "add transforms.Normalize(CIFAR10_MEAN, CIFAR10_STD) after ToTensor()"),
    (folder(to_tensor=False), "transforms.ToTensor() turns a PIL image into (3, H, W)"),
    (folder(split_dir=False), "holds 2800 images, expected 2000: read the folder root / split"),
], ids=["no-normalize", "no-to-tensor", "root-not-split"])
def test_load_split_mistakes_get_their_fix(load_split, words):
    with pytest.raises(CheckError) as info:
        a05.check_load_split(load_split, "train")
    assert words in str(info.value), str(info.value)


def test_a_right_load_split_passes(capsys):
    a05.check_load_split(folder(), "test", indices=(0, 799))
    assert "allowed there" in capsys.readouterr().out


class Wide(nn.Module):
    """Many channels at full resolution: within the parameter budget, far over the FLOP budget."""

    def __init__(self, num_classes=4):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1))
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        return self.fc(self.conv(x).mean(dim=(2, 3)))


class Dense(a05.BaselineCNN):
    """A flatten into a big Linear layer: over the parameter budget."""

    def __init__(self, num_classes=4):
        super().__init__(num_classes)
        self.fc = nn.Linear(64 * 4 * 4, num_classes * 10)

    def forward(self, x):
        return self.fc(self.features(x).flatten(1))[:, :4]


class TenClasses(a05.BaselineCNN):
    def __init__(self, num_classes=4):
        super().__init__(10)


@pytest.mark.parametrize("student, words", [
    (Wide, "MFLOPs, over the budget of 20: the first layers at 32x32 cost the most"),
    (TenClasses, "expected shape (N, 4), got (N, 10)"),
], ids=["flops", "num-classes"])
def test_designs_over_budget_or_with_the_wrong_output_are_caught(student, words):
    with pytest.raises(CheckError) as info:
        a05.check_budgets(student)
    assert words in str(info.value), str(info.value)


def test_parameter_budget_and_a_design_within_budgets(capsys, monkeypatch):
    monkeypatch.setattr(a05, "PARAM_BUDGET", 30_000)
    with pytest.raises(CheckError, match=r"39,196 parameters, over the budget of 30,000"):
        a05.check_budgets(a05.BaselineCNN)
    monkeypatch.undo()
    a05.check_budgets(a05.BaselineCNN)
    assert "OK CustomCNN: 39,196 parameters" in capsys.readouterr().out


class BatchNormHead(a05.BaselineCNN):
    """A BatchNorm1d before the classifier: one image in training mode has no batch statistics."""

    def __init__(self, num_classes=4):
        super().__init__(num_classes)
        self.norm = nn.BatchNorm1d(64)

    def forward(self, x):
        return self.fc(self.norm(self.features(x).mean(dim=(2, 3))))


class FailsWhenTraining(a05.BaselineCNN):
    def forward(self, x):
        if self.training:
            raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")
        return super().forward(x)


def test_a_batchnorm1d_head_is_measured_and_each_stage_names_itself(capsys):
    """The FLOPs are counted on one image in eval mode (a BatchNorm1d head failed there with a
    batch-size message in training mode); a failure says which measurement it was."""
    a05.check_budgets(BatchNormHead)
    assert "OK CustomCNN" in capsys.readouterr().out
    with pytest.raises(CheckError, match=r"failed in building CustomCNN\(4\) and tracing it in train and eval mode "
                                         r"\(torch.export\): RuntimeError: mat1 and mat2"):
        a05.check_budgets(FailsWhenTraining)

    class Unwritten(nn.Module):
        def __init__(self, num_classes=4):
            raise NotImplementedError
    with pytest.raises(CheckError, match="^CustomCNN still raises NotImplementedError: design it.$"):
        a05.check_budgets(Unwritten)
