"""The judge and the runner (dlcourse/grading/judge.py, runner.py) with one real student process.

The process runs unsandboxed here (the sandbox has its own cases in test_autograder.py), so
these tests run anywhere in about 10 s: cells run in order and a failing one does not stop the
rest; tests see the student's names as proxies; grad mode, `forbid` rules and in-place changes
cross; a course driver runs next to the student's code; a call past its time is interrupted
and the process keeps serving.
"""
from __future__ import annotations

import os
import sys

import pytest
import torch

from dlcourse.checks import CheckError, forbid
from dlcourse.grading import wire
from dlcourse.grading.autograder import Limits
from dlcourse.grading.judge import Reach, StudentProcess, Verdict, _serve_callbacks, judge, run_cells

CELLS = [
    ("setup", "import torch\nfrom dlcourse.checks import check_close"),
    ("a", "def double(x):\n    return 2 * x\nprint('defined double')"),
    ("b", "raise ValueError('this cell fails')"),
    ("c", "def grad_mode():\n    return torch.is_grad_enabled()\n"
          "def uses_relu(x):\n    return torch.relu(x)\n"
          "def zero_in_place(x):\n    x.zero_()\n    return None\n"
          "def forever():\n    while True:\n        pass\n"
          "SCALE = 3.5\nBIG = torch.zeros(2_000_000)\n"
          "class Model:\n    def __init__(self):\n        self.w = torch.ones(3)\n"
          "    def __call__(self, x):\n        return self.w * x\n"
          "class Step:\n    def __init__(self, params):\n        self.params = list(params)\n"
          "    def step(self):\n        for p in self.params:\n            p.data -= 0.5 * p.grad\n"
          "def make_model():\n    return torch.nn.Linear(3, 2)\n"),
    ("d", "import dlcourse.gradcheck\ndlcourse.gradcheck.max_relative_error = lambda a, b: 123.0  # patched here only"),
]


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    scratch = tmp_path_factory.mktemp("judge")
    for sub in ("work", "home", "tmp"):
        (scratch / sub).mkdir()
    env = {"PATH": os.path.dirname(sys.executable) + ":/usr/bin:/bin", "HOME": str(scratch / "home"),
           "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1", "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    proc = StudentProcess(scratch, env, Limits(memory_gb=3), [], sandboxed=False)
    proc.start()
    verdict = Verdict()
    run_cells(proc, CELLS, 60, verdict)
    names = proc.endpoint.request("names")
    yield proc, verdict, names
    proc.close()


def _ns(student):
    proc, _, names = student
    return {k: wire.Named(proc.endpoint, 0, "function", k) if "callable" in v else v["value"]
            for k, v in names.items()}


def test_cells_run_in_order_and_a_failing_one_does_not_stop_the_rest(student):
    _, verdict, _ = student
    assert verdict.cells["a"].stdout == "defined double\n" and verdict.cells["a"].error is None
    assert verdict.cells["b"].error == "ValueError: this cell fails"
    assert verdict.cells["c"].error is None and verdict.cells["d"].error is None


def test_names_are_proxies_data_and_references(student):
    ns = _ns(student)
    assert isinstance(ns["double"], wire.Named) and ns["SCALE"] == 3.5
    assert isinstance(ns["BIG"], wire.Proxy), "a big tensor stays in the student's process"
    assert "torch" not in ns, "modules are not handed over"
    assert torch.equal(ns["double"](torch.arange(3)), torch.tensor([0, 2, 4]))
    model = ns["Model"]()
    assert isinstance(model, wire.Proxy) and torch.equal(model.w, torch.ones(3))
    assert torch.equal(model(torch.full((3,), 2.0)), torch.full((3,), 2.0))


def test_grad_mode_forbid_and_in_place_changes_cross(student):
    ns = _ns(student)
    assert ns["grad_mode"]() is True
    with torch.no_grad():
        assert ns["grad_mode"]() is False
    with forbid(["torch.relu"], "build it by hand"):
        with pytest.raises(wire.RemoteError) as info:
            ns["uses_relu"](torch.ones(2))
    assert info.value.kind == "CheckError" and "build it by hand" in info.value.message
    assert torch.equal(ns["uses_relu"](torch.tensor([-1.0, 1.0])), torch.tensor([0.0, 1.0]))
    x = torch.ones(4)
    ns["zero_in_place"](x)
    assert torch.equal(x, torch.ones(4)), "the student's in-place write must not reach the grader's tensor"
    assert proc_changed(student) == [x], "but the reply says which of the grader's tensors it changed"


def proc_changed(student):
    return [t for t in student[0].endpoint.changed]


def test_a_test_sees_in_place_writes_only_through_call_watching(student):
    proc, _, _ = student
    verdict = Verdict()
    test = ("x = torch.ones(4)\n"
            "_, (changed,) = call_watching(zero_in_place, x)\n"
            "assert changed and torch.equal(x, torch.ones(4))\n"
            "_, (changed,) = call_watching(double, x)\n"
            "assert not changed")
    judge(proc, ["import torch\nfrom dlcourse.checks import call_watching"], [("t_watch", 1, test)], 30, verdict)
    assert verdict.tests[0].passed, verdict.tests[0]


def test_the_grader_drives_a_student_object_on_values_kept_in_their_process(student):
    """beside() keeps a tensor there; setting .grad and stepping happen there; .data reads it."""
    proc, _, _ = student
    verdict = Verdict()
    test = ("p = beside(Step, torch.ones(3, requires_grad=True))\n"
            "opt = Step([p])\n"
            "p.grad = torch.full((3,), 2.0)\n"
            "opt.step()\n"
            "assert torch.equal(p.data, torch.zeros(3)), p.data\n"
            "got = outputs_and_grads(make_model(), [torch.ones(4, 3)], seed=1)\n"
            "assert got['outputs'][0].shape == (4, 2) and got['grads'][0].shape == (4, 3)\n"
            "assert set(got['param_grads']) == {'weight', 'bias'}")
    judge(proc, ["import torch\nfrom dlcourse.checks import beside, outputs_and_grads"], [("t_drive", 1, test)], 30,
          verdict)
    assert verdict.tests[0].passed, verdict.tests[0]


def test_the_tests_namespace_holds_the_graders_names(student):
    """A student's global named like a builtin or a setup name never replaces the grader's, and
    only the task's names come in at all."""
    proc, _, _ = student
    verdict = Verdict()
    run_cells(proc, [("shadow", "dict = lambda *a, **k: {'lr': 0}\nzip = lambda *a: []\nhelper = 1\n"
                                "check_close = lambda *a, **k: None")], 30, verdict)
    test = ("assert dict(lr=0.1) == {'lr': 0.1} and list(zip([1], [2])) == [(1, 2)]\n"
            "assert 'helper' not in globals()\n"
            "check_close('double', double(torch.ones(2)), torch.full((2,), 2.0))")
    judge(proc, ["import torch\nfrom dlcourse.checks import check_close"], [("t_names", 1, test)], 30, verdict,
          task_names={"double", "dict", "check_close"})
    assert verdict.tests[0].passed, verdict.tests[0]


def test_no_course_driver_runs_in_the_student_process(student):
    """Nothing that decides a score runs where the student's code does (issue 16): the test uses
    the grader's own copy of a course function, which cell d patched in the student's process,
    and there is no longer a way to run a course driver there whole (in_student_process)."""
    proc, _, _ = student
    verdict = Verdict()
    setup = "import torch\nfrom dlcourse.checks import max_relative_error"
    test = "assert abs(max_relative_error(torch.ones(2), torch.ones(2) * 1.5) - 0.2) < 1e-9"
    judge(proc, [setup], [("t_driver", 1, test)], 30, verdict)
    assert verdict.tests[0].passed, verdict.tests[0]
    import dlcourse.reach
    assert not hasattr(dlcourse.reach, "in_student_process")


def test_a_course_class_from_the_student_comes_back_as_their_object(student):
    """The student's process sends the course's classes as proxies (it could name any course
    class as its answer otherwise); a reply that names one anyway fails that test, not the grading."""
    proc, _, _ = student
    verdict = Verdict()
    run_cells(proc, [("course_class", "from dlcourse.models.lenet import LeNet5\nKINDS = {'net': LeNet5}\n"
                                      "def which():\n    return LeNet5")], 30, verdict)
    test = ("from dlcourse.reach import is_student_object\n"
            "assert is_student_object(which()) and is_student_object(KINDS['net'])")
    judge(proc, [], [("t_class", 1, test)], 30, verdict, task_names={"which", "KINDS"})
    assert verdict.tests[0].passed, verdict.tests[0]
    forged = wire.Endpoint(0, 0, _serve_callbacks, lambda v: True)
    with pytest.raises(wire.WireError, match="may not"):
        forged.resolve({"course": "dlcourse.models.lenet:LeNet5"})


def test_a_test_that_runs_past_its_time_fails_and_the_process_keeps_serving(student):
    proc, _, _ = student
    verdict = Verdict()
    judge(proc, [], [("t_forever", 2, "forever()"), ("t_after", 1, "assert double(2) == 4")], 3, verdict)
    forever, after = verdict.tests
    assert not forever.passed and "timed out" in forever.message and verdict.timed_out
    assert after.passed, after


def test_rebinding_in_the_student_process_does_not_reach_the_judge(student):
    proc, _, _ = student
    verdict = Verdict()
    run_cells(proc, [("hack", "check_close = lambda *a, **k: None\ntorch.allclose = lambda *a, **k: True")], 30, verdict)
    judge(proc, ["import torch\nfrom dlcourse.checks import check_close"],
          [("t_wrong", 1, "check_close('double', double(torch.ones(2)), torch.ones(2))"),
           ("t_missing", 1, "undefined_function(1)")], 30, verdict)
    wrong, missing = verdict.tests
    assert not wrong.passed and "values differ" in wrong.message, wrong
    assert not missing.passed and "define it in its answer cell" in missing.message
    with pytest.raises(CheckError):  # and the grader's own check_close is intact
        from dlcourse.checks import check_close
        check_close("x", torch.ones(1), torch.zeros(1))
