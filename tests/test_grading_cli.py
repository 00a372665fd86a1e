"""The instructor's command (`python -m dlcourse.grading`), a class from a zip to a grades file.

One temporary course, a zip as a learning platform hands it over (folders per student, a flat
file, a file that is not a notebook, and two hostile names), graded with two jobs: the export
lists every student with a status, the summary counts who failed what, the feedback holds
no hidden test, and `check` notices a release that leaks.
"""
from __future__ import annotations

import csv
import json
import shutil
import zipfile
from pathlib import Path

import nbformat
import pytest

from dlcourse import grading
from dlcourse.grading import cli

ROOT = Path(__file__).resolve().parents[1]
AID = "a01_activations_backprop"
SOURCE, RELEASE = grading.notebook_path("source", AID, ROOT), grading.notebook_path("release", AID, ROOT)
pytestmark = pytest.mark.skipif(not SOURCE.is_file(), reason=f"needs source/{AID}")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = tmp_path_factory.mktemp("class")
    shutil.copy(ROOT / "nbgrader_config.py", course)
    for kind in ("source", "release"):
        shutil.copytree(ROOT / kind / AID, course / kind / AID)
    tasks = [k for k in grading.task_points(SOURCE) if k is not None]
    solved = nbformat.writes(grading.partial_submission(SOURCE, RELEASE, tasks))
    odd = nbformat.writes(grading.partial_submission(SOURCE, RELEASE, tasks[::2]))
    upload = course / "upload.zip"
    with zipfile.ZipFile(upload, "w") as z:
        z.writestr(f"alice/{AID}.ipynb", solved)
        z.writestr(f"bob/{AID}/{AID}.ipynb", odd)
        z.writestr("carol.ipynb", "this is not a notebook")
        z.writestr(f"../evil/{AID}.ipynb", solved)
        z.writestr(f"bad name!/{AID}.ipynb", solved)
    out = course / "grades.csv"
    code = cli.main(["--root", str(course), "grade", AID, str(upload), "--jobs", "2", "-o", str(out)])
    with open(out) as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    return course, code, rows, sum(grading.task_points(SOURCE).values()), \
        sum(v for k, v in grading.task_points(SOURCE).items() if k in tasks[::2])


def test_every_student_is_in_the_export_with_a_status(graded):
    course, code, rows, full, odd_points = graded
    assert set(rows) == {"alice", "bob", "carol"}, f"hostile names must be skipped: {sorted(rows)}"
    assert (float(rows["alice"]["score"]), rows["alice"]["status"]) == (full, "graded")
    assert (float(rows["bob"]["score"]), rows["bob"]["status"]) == (odd_points, "graded")
    assert (float(rows["carol"]["score"]), rows["carol"]["status"]) == (0.0, "invalid")
    assert "not a valid notebook" in rows["carol"]["notes"]
    assert code == 1, "one submission was invalid: the command says so in its exit code"
    assert not (course / "evil").exists() and not (course.parent / "evil").exists()


def test_the_summary_shows_which_tests_the_class_failed(graded):
    course = graded[0]
    with open(course / "autograded" / f"summary_{AID}.csv") as f:
        summary = {r["test"]: r for r in csv.DictReader(f)}
    assert summary["task2_relu_grad_test"]["failed"] == "1" and summary["task1_relu_test"]["failed"] == "0"
    assert summary["task2_relu_grad_test"]["students"] == "2"


def test_feedback_shows_results_but_no_hidden_test(graded):
    course = graded[0]
    html = (course / "feedback" / "bob" / AID / f"{AID}.html").read_text()
    assert "TestFailed" in html and "relu_grad" in html
    hidden = grading.secret_lines(SOURCE, grading.HIDDEN_MARKERS)
    leaked = [line for line in hidden if line in html]
    assert not leaked, f"hidden test lines in the feedback: {leaked[:3]}"


def test_check_passes_the_committed_release_and_catches_a_leak(graded, tmp_path):
    course = graded[0]
    assert cli.check(course, AID) == []
    nb = json.loads(RELEASE.read_text())
    nb["cells"][-1]["source"] = "### BEGIN HIDDEN TESTS\n" + max(grading.secret_lines(SOURCE, grading.HIDDEN_MARKERS))
    grading.notebook_path("release", AID, course).write_text(json.dumps(nb))
    problems = cli.check(course, AID)
    assert any("differs" in p for p in problems) and any("hidden" in p for p in problems), problems
