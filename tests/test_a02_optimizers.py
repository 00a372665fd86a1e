"""a02's check names the fix for each usual mistake, and passes a right answer written the textbook way.

The "students" here are optimizer classes with one realistic bug each; the check runs them in
this process (in a notebook, ``in_student_process`` is the identity), as the student's own
visible tests do. The same check runs them in the student's process when grading
(tests/test_grading.py covers that round trip).
"""
from __future__ import annotations

import pytest
import torch
from torch.optim import Optimizer

from dlcourse.checks import CheckError
from dlcourse.exercises.assignments import a02_optimizers as a02


class SharedStateAdam(Optimizer):
    """One m, v and t for all parameters: the bug 'state not kept per parameter'."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))
        self.t = 0

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                g = p.grad + group["weight_decay"] * p
                self.t += 1                                   # counts tensors, not steps
                if not hasattr(self, "m"):
                    self.m, self.v = torch.zeros_like(p), torch.zeros_like(p)
                self.m = beta1 * self.m + (1 - beta1) * g
                self.v = beta2 * self.v + (1 - beta2) * g * g
                p -= group["lr"] * (self.m / (1 - beta1 ** self.t)) / ((self.v / (1 - beta2 ** self.t)).sqrt()
                                                                      + group["eps"])


class CounterAdam(SharedStateAdam):
    """Per-parameter m and v, but one step counter advanced once per tensor."""

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                g = p.grad + group["weight_decay"] * p
                self.t += 1
                s = self.state[p]
                if not s:
                    s.update(m=torch.zeros_like(p), v=torch.zeros_like(p))
                s["m"].mul_(beta1).add_((1 - beta1) * g)
                s["v"].mul_(beta2).add_((1 - beta2) * g * g)
                p -= group["lr"] * (s["m"] / (1 - beta1 ** self.t)) / ((s["v"] / (1 - beta2 ** self.t)).sqrt()
                                                                       + group["eps"])


class ReadyMadeAdam(Optimizer):
    def __init__(self, params, lr=1e-3, **hyper):
        self.inner = torch.optim.Adam(params, lr=lr, **hyper)
        super().__init__(self.inner.param_groups, dict(lr=lr))

    def step(self):
        self.inner.step()


class Placeholder(Optimizer):
    def __init__(self, params, lr=1e-3, **hyper):
        super().__init__(params, dict(lr=lr))

    def step(self):
        raise NotImplementedError()


HYPER = dict(lr=1e-2, weight_decay=0.1)


@pytest.mark.parametrize("table, reference", [(a02.SGD_MISTAKES, torch.optim.SGD), (a02.ADAM_MISTAKES, torch.optim.Adam),
                                              (a02.ADAMW_MISTAKES, torch.optim.AdamW)], ids=["SGD", "Adam", "AdamW"])
def test_each_usual_mistake_is_named_with_its_fix(table, reference):
    hyper = dict(HYPER, momentum=0.9) if reference is torch.optim.SGD else HYPER
    for what, (variant, fix) in table.items():
        with pytest.raises(CheckError) as info:
            a02.check_optimizer("student", variant, reference, hyper, mistakes=table)
        assert what in str(info.value) and fix in str(info.value), (what, str(info.value))


@pytest.mark.parametrize("student, words", [
    (SharedStateAdam, "self.state[p]"),
    (CounterAdam, "its step count t too"),
    (ReadyMadeAdam, "torch.optim.Adam, which is not allowed here"),
    (Placeholder, "still raises NotImplementedError"),
], ids=["shared-state", "shared-step-count", "ready-made", "placeholder"])
def test_other_mistakes_get_an_actionable_message(student, words):
    with pytest.raises(CheckError) as info:
        a02.check_optimizer("Adam", student, torch.optim.Adam, HYPER, mistakes=a02.ADAM_MISTAKES)
    assert words in str(info.value), str(info.value)


def test_a_right_answer_in_textbook_order_passes_and_prints_the_tolerance(capsys):
    """The mistake replays themselves, with the bug switched off, are right answers written the
    textbook way (not torch.optim's order of operations)."""
    right_sgd = a02._variant(a02._sgd)
    right_adam, right_adamw = a02._variant(a02._adam), a02._variant(a02._adam, decoupled=True)
    a02.check_optimizer("SGD", right_sgd, torch.optim.SGD, dict(HYPER, momentum=0.9))
    a02.check_optimizer("Adam", right_adam, torch.optim.Adam, HYPER)
    a02.check_optimizer("AdamW", right_adamw, torch.optim.AdamW, HYPER)
    out = capsys.readouterr().out
    assert out.count("OK ") == 12 and "allowed there" in out
