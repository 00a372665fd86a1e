"""a03's checks name the fix for each usual LeNet-5 mistake, and pass a right answer.

The "students" are LeNet5 classes with one realistic bug each; the checks run them in this
process (in a notebook ``in_student_process`` is the identity), as the student's visible tests
do. tests/test_grading.py covers the graded round trip (hidden training run included).
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlcourse.checks import CheckError
from dlcourse.exercises.assignments import a03_lenet5 as a03
from dlcourse.profiling import count_params


def lenet(padding=2, fc1_in=400, relus=(True, True, True, True), flatten=True, fc2_out=84, use_fc3=True,
          pool=F.max_pool2d):
    """A LeNet5 class with the given bug switched on."""
    class Student(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5, padding=padding)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1, self.fc2, self.fc3 = nn.Linear(fc1_in, 120), nn.Linear(120, fc2_out), nn.Linear(fc2_out, 10)

        def forward(self, x):
            act = [F.relu if on else (lambda t: t) for on in relus]
            x = pool(act[0](self.conv1(x)), 2)
            x = pool(act[1](self.conv2(x)), 2)
            x = x.flatten(1) if flatten else x
            x = act[3](self.fc2(act[2](self.fc1(x))))
            return self.fc3(x) if use_fc3 else x
    return Student


class Placeholder(nn.Module):
    def __init__(self):
        super().__init__()
        raise NotImplementedError()


@pytest.mark.parametrize("student, words", [
    (lenet(flatten=False), "x = x.flatten(1)"),
    (lenet(padding=0, fc1_in=256), "use padding=2 in conv1"),
    (lenet(padding=0), "24x24"),
    (lenet(relus=(True, True, False, True)), "no ReLU after fc1: apply F.relu to fc1's output"),
    (lenet(relus=(False, True, True, True)), "no ReLU after conv1"),
    (lenet(relus=(False,) * 4), "no ReLU at all"),
    (lenet(pool=F.avg_pool2d), "F.max_pool2d"),
    (lenet(fc2_out=64), "fc2.weight has shape (64, 120), expected (84, 120)"),
    (lenet(use_fc3=False), "expected shape (N, 10), got (N, 84): is the last Linear layer (fc3, 84 -> 10) missing"),
    (Placeholder, "still raises NotImplementedError"),
], ids=["no-flatten", "no-padding-fc1-256", "no-padding", "no-relu-fc1", "no-relu-conv1", "no-relu", "avg-pool",
        "fc2-size", "no-fc3", "placeholder"])
def test_each_usual_mistake_gets_its_fix(student, words):
    with pytest.raises(CheckError) as info:
        a03.check_lenet5(student, seed=0, batch=4)
    assert words in str(info.value), str(info.value)


def test_a_right_answer_passes_with_gradients_and_prints_the_tolerance(capsys):
    a03.check_lenet5(lenet(), seed=3, batch=5, gradients=True)
    out = capsys.readouterr().out
    assert "OK parameters: 61,706" in out and out.count("OK gradient") == 10 and "allowed there" in out


def test_the_reference_has_the_papers_parameter_count_and_stage_shapes():
    model = a03.ReferenceLeNet5()
    assert count_params(model) == a03.N_PARAMS == 61_706
    got = a03.probe(a03.ReferenceLeNet5, None, torch.randn(2, 1, 28, 28))
    assert {tuple(k.split(":")): v for k, v in got["stages"].items()} == {**a03.STAGES, ("fc2", "in"): (120,),
                                                                        ("fc3", "in"): (84,)}


@pytest.mark.parametrize("fn, words", [
    (lambda n, k, p=0, s=1: (n + p - k) // s + 1, "padding counts twice"),
    (lambda n, k, p=0, s=1: (n + 2 * p - k) / s + 1, "return an int"),
    (lambda n, k, p=0, s=1: (n + 2 * p - k + 1) // s, "divide by the stride before adding 1"),
], ids=["padding-once", "float", "plus-one-inside"])
def test_conv_output_size_mistakes(fn, words):
    with pytest.raises(CheckError) as info:
        a03.check_conv_output_size(fn)
    assert words in str(info.value), str(info.value)
    a03.check_conv_output_size(lambda n, k, p=0, s=1: (n + 2 * p - k) // s + 1)
