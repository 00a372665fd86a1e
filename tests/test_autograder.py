"""Adversarial grading cases (COURSE.md sections 6 and 7): `python -m dlcourse.autograder`
against submissions that delete, edit or forge test cells, kill the kernel, loop forever,
flood the output, exhaust memory, leave processes behind, or are not notebooks at all.

Each submission starts from a fully solved a01 notebook, so an attack that worked would show
as a higher score. All of them are graded in one temporary course (module fixture, about
10 s of nbgrader per submission); the rebuild and intake rules are also tested without nbgrader.
"""
from __future__ import annotations

import ast
import os
import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from dlcourse import autograder, grading, sandbox
from dlcourse.autograder import InvalidSubmission, Limits

ROOT = Path(__file__).resolve().parents[1]
AID = "a01_activations_backprop"
SOURCE = grading.notebook_path("source", AID, ROOT)
RELEASE = grading.notebook_path("release", AID, ROOT)
pytestmark = pytest.mark.skipif(not SOURCE.is_file(), reason=f"needs source/{AID}")


def _solved() -> nbformat.NotebookNode:
    """The release notebook with every answer filled in from the source: full marks."""
    tasks = [k for k in grading.task_points(SOURCE) if k is not None]
    return grading.partial_submission(SOURCE, RELEASE, tasks)


def _cell(nb, grade_id: str):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def _with_relu(source: str, nb=None) -> nbformat.NotebookNode:
    nb = nb or _solved()
    _cell(nb, "task1_relu").source = source
    return nb


FULL = sum(grading.task_points(SOURCE).values()) if SOURCE.is_file() else 0
RELU_POINTS = 2  # task1_relu_test
BROKEN_RELU = "def relu(x):\n    return x  # wrong: negatives pass through"


def _deleted_test():
    nb = _with_relu(BROKEN_RELU)
    nb.cells.remove(_cell(nb, "task1_relu_test"))
    return nb


def _edited_test():
    nb = _with_relu(BROKEN_RELU)
    test = _cell(nb, "task1_relu_test")
    test.source, test.metadata.nbgrader["points"] = "pass", 100
    return nb


def _forged_cell():
    nb = _solved()
    forged = nbformat.v4.new_code_cell("print('bonus')")
    forged.metadata["nbgrader"] = {"grade": True, "grade_id": "bonus_test", "locked": True, "points": 50,
                                   "schema_version": 3, "solution": False, "task": False}
    nb.cells.append(forged)
    return nb


def _leaves_a_process():
    nb = _solved()
    spawn = ("import subprocess\np = subprocess.Popen(['sleep', '600'], start_new_session=True)\n"
             "open('leftover.pid', 'w').write(str(p.pid))  # its own folder: the only one it may write")
    nb.cells.insert(nb.cells.index(_cell(nb, "setup")) + 1, nbformat.v4.new_code_cell(spawn))
    return nb


SPY = r"""
import json, os, pathlib, socket
import dlcourse
course = pathlib.Path(os.getcwd()).parents[2]  # autograded/<student>/<id> -> the course
def attempt(f):
    try:
        return f()
    except Exception as e:
        return type(e).__name__
found = {
    "source": attempt(lambda: os.listdir(course / "source")),
    "gradebook": attempt(lambda: len((course / "gradebook.db").read_bytes())),
    "submitted": attempt(lambda: os.listdir(course / "submitted")),
    "autograded": attempt(lambda: os.listdir(course / "autograded")),
    "write_course": attempt(lambda: (course / "planted.txt").write_text("x")),
    "write_package": attempt(lambda: (pathlib.Path(dlcourse.__file__).parent / "_planted.tmp").write_text("x")),
    "network": attempt(lambda: socket.create_connection(("127.0.0.1", PORT), timeout=3).close()),
    "home": os.environ.get("HOME"),
}
pathlib.Path("spy.json").write_text(json.dumps(found))
"""


def _spy(port: int):
    nb = _solved()
    nb.cells.insert(nb.cells.index(_cell(nb, "setup")) + 1, nbformat.v4.new_code_cell(SPY.replace("PORT", str(port))))
    return nb


IGNORE_SIGINT_LOOP = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A temporary course with a01 generated and one submission per attack, all graded."""
    course = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "nbgrader_config.py", course)
    for kind in ("source", "release"):
        shutil.copytree(ROOT / kind / AID, course / kind / AID)
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
    gen = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", AID, "--force",
                          f"--CourseDirectory.root={course}"], cwd=course, env=env, capture_output=True, text=True)
    assert gen.returncode == 0, gen.stderr[-2000:]
    pid_file = grading.notebook_path("autograded/leaves_a_process", AID, course).with_name("leftover.pid")
    listener = socket.create_server(("127.0.0.1", 0))  # what a submission must not reach
    submissions = {
        "solution": _solved(),
        "untouched": nbformat.read(str(RELEASE), as_version=4),
        "deleted_test": _deleted_test(),
        "edited_test": _edited_test(),
        "forged_cell": _forged_cell(),
        "exits": _with_relu("import os\nos._exit(0)"),
        "loops": _with_relu("while True:\n    pass"),
        "floods": _with_relu("print('x' * 50_000_000)\n" + _cell(_solved(), "task1_relu").source),
        "hogs_memory": _with_relu("block = bytearray(64 * 2**30)"),
        "leaves_a_process": _leaves_a_process(),
        "ignores_interrupts": _with_relu(IGNORE_SIGINT_LOOP),
        "runs_long": _with_relu("import time\ntime.sleep(600)"),
        "spy": _spy(listener.getsockname()[1]),
    }
    for student, nb in submissions.items():
        path = grading.notebook_path(f"submitted/{student}", AID, course)
        path.parent.mkdir(parents=True)
        nbformat.write(nb, str(path))
    not_json = grading.notebook_path("submitted/not_json", AID, course)
    not_json.parent.mkdir(parents=True)
    not_json.write_text('{"cells": [ oops')

    # The course's per-cell timeout (120 s) for most; 15 s for the endless loops, far above what
    # a cell of a01 needs even on a loaded 2-core machine (importing torch there took ~5 s).
    endless, wall = ["ignores_interrupts", "loops"], "runs_long"
    first = [s for s in sorted(submissions) if s not in endless + [wall]] + ["not_json"]
    results = autograder.grade_assignment(course, AID, first, Limits(memory_gb=3))
    results += [autograder.grade_submission(course, AID, s, Limits(cell_s=15, memory_gb=3)) for s in endless]
    results.append(autograder.grade_submission(course, AID, wall, Limits(wall_s=20)))
    listener.close()
    return course, {r.student: r for r in results}, pid_file, first


def _show(r) -> str:
    return f"{r.student}: {r.status} {r.score}/{r.max_score} notes={r.notes}"


def test_honest_submissions_are_graded(course):
    results = course[1]
    assert results["solution"].status == "graded" and results["solution"].score == FULL == results["solution"].max_score, \
        _show(results["solution"])
    assert (results["untouched"].status, results["untouched"].score) == ("graded", 0), _show(results["untouched"])


@pytest.mark.parametrize("student", ["deleted_test", "edited_test"])
def test_a_deleted_or_edited_test_cell_is_restored_and_flagged(course, student):
    r = course[1][student]
    assert r.status == "tampered", _show(r)
    assert (r.score, r.max_score) == (FULL - RELU_POINTS, FULL), _show(r)
    assert any("task1_relu_test" in n for n in r.notes), _show(r)


def test_a_forged_grade_cell_earns_nothing(course):
    r = course[1]["forged_cell"]
    assert (r.status, r.score, r.max_score) == ("tampered", FULL, FULL), _show(r)
    assert any("bonus_test" in n for n in r.notes), _show(r)


def test_a_killed_kernel_ends_as_crashed_not_silence(course):
    r = course[1]["exits"]
    assert r.status == "crashed", _show(r)
    assert not r.score, _show(r)


def test_an_endless_cell_is_stopped_and_the_rest_still_graded(course):
    r = course[1]["loops"]
    assert r.status == "timed_out", _show(r)
    assert r.score == FULL - RELU_POINTS, _show(r)
    assert any("task1_relu" in n for n in r.notes), _show(r)


def test_a_cell_ignoring_the_interrupt_is_timed_out(course):
    r = course[1]["ignores_interrupts"]
    assert r.status == "timed_out", _show(r)
    assert any("did not stop when interrupted" in n for n in r.notes), _show(r)


def test_the_wall_clock_limit_stops_a_whole_submission(course):
    r = course[1]["runs_long"]
    assert r.status == "timed_out", _show(r)
    assert any("wall-clock" in n for n in r.notes), _show(r)


def test_a_flood_of_output_is_cut(course):
    path, r = course[0], course[1]["floods"]
    assert (r.status, r.score) == ("graded", FULL), _show(r)
    graded = grading.notebook_path("autograded/floods", AID, path)
    assert graded.stat().st_size < 1_000_000, f"{graded.stat().st_size:,} bytes: the 50 MB output was kept"
    assert "cut by the grader" in graded.read_text()


def test_memory_is_limited(course):
    r = course[1]["hogs_memory"]
    assert (r.status, r.score) == ("graded", FULL - RELU_POINTS), _show(r)
    text = grading.notebook_path("autograded/hogs_memory", AID, course[0]).read_text()
    assert "MemoryError" in text


def test_processes_left_behind_are_killed(course):
    _, results, pid_file, _ = course
    assert (results["leaves_a_process"].status, results["leaves_a_process"].score) == ("graded", FULL), \
        _show(results["leaves_a_process"])
    pid = int(pid_file.read_text())
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2], \
        f"process {pid} started by the submission is still running"


@pytest.mark.skipif(not sandbox.available(), reason="this machine cannot create Linux namespaces (unshare): "
                    "grading runs unsandboxed here, and each status row says so")
def test_the_sandbox_hides_the_course_and_blocks_writes_and_network(course):
    path, results = course[0], course[1]
    planted = Path(__import__("dlcourse").__file__).parent / "_planted.tmp"
    planted_existed = planted.exists()
    planted.unlink(missing_ok=True)
    r = results["spy"]
    assert (r.status, r.score) == ("graded", FULL), _show(r)
    found = json.loads(grading.notebook_path("autograded/spy", AID, path).with_name("spy.json").read_text())
    assert found["source"] == [] and found["gradebook"] == 0, f"hidden tests or gradebook readable: {found}"
    assert found["submitted"] == [] and found["autograded"] == ["spy"], f"other students visible: {found}"
    assert found["write_course"] == "OSError" and not planted_existed, f"wrote outside its folder: {found}"
    assert found["write_package"] == "OSError", f"could plant code in dlcourse: {found}"
    assert found["network"] in ("OSError", "TimeoutError"), f"reached the grader's loopback: {found}"
    assert found["home"] != os.environ.get("HOME"), "the kernel saw the grader's home folder"
    assert not (path / "planted.txt").exists()


def test_a_file_that_is_not_a_notebook_is_invalid_with_a_fix(course):
    r = course[1]["not_json"]
    assert r.status == "invalid" and "not a valid notebook" in r.notes[0] and "File > Download" in r.notes[0], _show(r)


def test_every_submission_has_a_status_row(course):
    import csv

    path, _, _, first = course
    with open(path / "autograded" / f"status_{AID}.csv") as f:
        rows = {row["student"]: row["status"] for row in csv.DictReader(f)}
    assert set(rows) == set(first)
    assert set(rows.values()) <= set(autograder.STATUSES)


# ----------------------------------------------------------------------------- without nbgrader
def test_rebuild_keeps_answers_and_extra_cells_and_restores_the_rest():
    template = nbformat.read(str(RELEASE), as_version=4)
    nb = _solved()
    helper = nbformat.v4.new_code_cell("def helper():\n    return 1")
    nb.cells.insert(nb.cells.index(_cell(nb, "task1_relu")) + 1, helper)
    graded, notes, tampered = autograder.rebuild(template, nb)
    assert not tampered and not notes
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in graded.cells]
    assert ids.index("task1_relu") + 1 == [c.source for c in graded.cells].index(helper.source), \
        "the student's extra cell must stay right after the cell it followed"
    assert _cell(graded, "task1_relu").source == _cell(_solved(), "task1_relu").source
    assert len(graded.cells) == len(template.cells) + 1


def test_rebuild_notes_a_missing_answer_cell_without_calling_it_tampering():
    nb = _solved()
    nb.cells.remove(_cell(nb, "task1_gelu"))
    graded, notes, tampered = autograder.rebuild(nbformat.read(str(RELEASE), as_version=4), nb)
    assert not tampered and notes == ["answer cell 'task1_gelu' is missing: graded as unanswered"]
    assert "raise NotImplementedError()" in _cell(graded, "task1_gelu").source


def test_intake_rejects_symlinks_and_oversized_files(tmp_path, monkeypatch):
    target = tmp_path / "secret.ipynb"
    nbformat.write(_solved(), str(target))
    link = tmp_path / "link.ipynb"
    link.symlink_to(target)
    with pytest.raises(InvalidSubmission, match="not a regular file"):
        autograder.read_submission(link)
    monkeypatch.setattr(autograder, "MAX_NOTEBOOK_BYTES", 1000)
    with pytest.raises(InvalidSubmission, match="Clear Outputs"):
        autograder.read_submission(target)
    with pytest.raises(InvalidSubmission, match="no missing.ipynb"):
        autograder.read_submission(tmp_path / "missing.ipynb")


@pytest.mark.parametrize("student", ["../escape", "*", "a b", ".hidden", ""])
def test_student_ids_with_path_or_glob_characters_are_invalid(tmp_path, student):
    r = autograder.grade_submission(tmp_path, AID, student)
    assert r.status == "invalid" and "student id" in r.notes[0]


def test_cap_output_cuts_every_kind_of_text():
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="a" * 50_000),
                    nbformat.v4.new_output("execute_result", data={"text/plain": "b" * 50_000}),
                    nbformat.v4.new_output("error", ename="E", evalue="", traceback=["c" * 50_000] * 200)]
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb, _ = autograder.CapOutput()(nb, {})  # as nbgrader calls it: a disabled preprocessor does nothing
    cell = nb.cells[0]
    assert all(len(o.get("text", "")) < 21_000 for o in cell.outputs)
    assert len(cell.outputs[1].data["text/plain"]) < 21_000
    assert len(cell.outputs[2].traceback) == 100 and all(len(t) < 21_000 for t in cell.outputs[2].traceback)


def test_nbgrader_config_runs_nbgrader_default_autograde_steps_plus_the_cap():
    """If an nbgrader upgrade changes its default pipeline, nbgrader_config.py must follow."""
    from nbgrader.converters import Autograde

    from traitlets.utils.importstring import import_item

    default = list(Autograde.class_traits()["autograde_preprocessors"].default())
    tree = ast.parse((ROOT / "nbgrader_config.py").read_text())
    ours = next(ast.literal_eval(n.value) for n in ast.walk(tree) if isinstance(n, ast.Assign)
                and ast.unparse(n.targets[0]) == "c.Autograde.autograde_preprocessors")
    assert [import_item(p) for p in ours if p != "dlcourse.autograder.CapOutput"] == default
    assert ours.index("dlcourse.autograder.CapOutput") < ours.index("nbgrader.preprocessors.SaveAutoGrades")


def test_limits_reach_the_grading_process():
    limits = Limits(memory_gb=1.5, file_mb=10, processes=64)
    probe = ("import resource as r\nprint(*(r.getrlimit(k)[0] for k in "
             "(r.RLIMIT_DATA, r.RLIMIT_FSIZE, r.RLIMIT_NPROC, r.RLIMIT_CORE)), "
             "*(r.getrlimit(k)[1] for k in (r.RLIMIT_DATA, r.RLIMIT_FSIZE, r.RLIMIT_NPROC, r.RLIMIT_CORE)))")
    out = subprocess.run([sys.executable, "-c", probe], preexec_fn=lambda: limits.apply(user_tasks=100),
                         capture_output=True, text=True, check=True).stdout.split()
    expected = [int(1.5 * 2**30), 10 * 2**20, 164, 0]
    assert list(map(int, out)) == expected * 2, "soft and hard limits (hard too, so code cannot raise them)"
