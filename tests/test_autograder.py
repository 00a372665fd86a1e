"""Adversarial grading cases (COURSE.md sections 6 and 7): `python -m dlcourse.grading.autograder`
against submissions that delete, edit or forge test cells, rebind the test helpers, hunt for
the hidden tests or the worked solution, kill the grader, draw unseeded random numbers, kill
their own process, loop forever, flood the output, exhaust memory, leave processes behind, or
are not notebooks at all.

Each attack starts from a fully solved a01 notebook (or, where it is the point, a blank or
wrong one), so an attack that worked would show as a higher score than the genuine one. All of
them are graded in one temporary course (module fixture, about 5 s per submission); the
rebuild and intake rules are also tested without running anything.
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
from types import SimpleNamespace

import nbformat
import pytest

from dlcourse import grading
from dlcourse.grading import autograder, intake, record, sandbox
from dlcourse.grading.autograder import InvalidSubmission, Limits

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
import json, os, pathlib, socket, tempfile
import dlcourse
course = pathlib.Path(COURSE)
def attempt(f):
    try:
        return f()
    except Exception as e:
        return type(e).__name__
found = {
    "source": attempt(lambda: os.listdir(course / "source")),
    "solutions": attempt(lambda: os.listdir(course / "solutions")),
    "git": attempt(lambda: os.listdir(pathlib.Path(REPO) / ".git")),
    "gradebook": attempt(lambda: len((course / "gradebook.db").read_bytes())),
    "submitted": attempt(lambda: os.listdir(course / "submitted")),
    "write_course": attempt(lambda: (course / "planted.txt").write_text("x")),
    "write_package": attempt(lambda: (pathlib.Path(dlcourse.__file__).parent / "_planted.tmp").write_text("x")),
    "write_root_tmp": attempt(lambda: pathlib.Path("/tmp/dlcourse-planted.txt").write_text("x")),
    "write_own_folder": attempt(lambda: pathlib.Path("mine.txt").write_text("x")),
    "network": attempt(lambda: socket.create_connection(("127.0.0.1", PORT), timeout=3).close()),
    "processes": len([p for p in os.listdir("/proc") if p.isdigit()]),
    "home": os.environ.get("HOME"),
}
print("SPY" + json.dumps(found))
"""


def _spy(port: int, course: Path):
    nb = _solved()
    code = SPY.replace("PORT", str(port)).replace("COURSE", repr(str(course))).replace("REPO", repr(str(ROOT)))
    nb.cells.insert(nb.cells.index(_cell(nb, "setup")) + 1, nbformat.v4.new_code_cell(code))
    return nb


# A wrong relu, plus everything a student who wants the points might rebind in the notebook's
# namespace: the checks, torch's comparisons, numpy's, AssertionError, IPython's error handling.
REBINDS = BROKEN_RELU + r"""
import numpy, torch, dlcourse.checks
check_close = check_shape = lambda *a, **k: None
dlcourse.checks.check_close = dlcourse.checks.check_shape = lambda *a, **k: None
torch.equal = lambda *a, **k: True
torch.allclose = lambda *a, **k: True
torch.testing.assert_close = numpy.testing.assert_allclose = lambda *a, **k: None
torch.Tensor.__eq__ = lambda self, other: True
get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)
import dlcourse.grading.runner as runner
runner.Student.serve = lambda self, *a: None
"""

# Looks for the hidden tests everywhere it can read (NEEDLE: a line only they hold, hex-encoded
# so that this cell does not hold it), prints what it finds (so into the feedback), and prints
# the code of every cell its process runs.
HUNTER = r"""
import os, time
def _hunt(needle=bytes.fromhex("NEEDLE")):
    found, start = [], time.time()
    for top in ["/", os.getcwd()]:
        for folder, dirs, files in os.walk(top):
            dirs[:] = [d for d in dirs if d not in ("proc", "sys", "dev")]
            for name in files:
                path = os.path.join(folder, name)
                try:
                    if os.path.getsize(path) < 5_000_000 and needle in open(path, "rb").read():
                        found.append(path)
                except OSError:
                    pass
            if time.time() - start > 20:
                return found
    return found
print("HUNTED", _hunt())
get_ipython().events.register("pre_run_cell", lambda info: print("CELL", info.raw_cell))
"""

# A blank release whose first answer copies the worked solution's answers, if it can read them.
COPIER = r"""
import json, pathlib
for candidate in [pathlib.Path(COURSE) / "solutions", pathlib.Path(REPO) / "solutions"]:
    try:
        nb = json.loads((candidate / "AID" / "AID.ipynb").read_text())
    except OSError:
        continue
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            exec("".join(cell["source"]), globals())
    print("COPIED from", candidate)
"""

# Kills every other process it can see, and its parent: the grader, if it could see it.
KILLER = r"""
import os, signal
for pid in {int(p) for p in os.listdir("/proc") if p.isdigit()} | {os.getppid()}:
    if pid not in (os.getpid(), 0):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
"""

# Correct on some calls only: unseeded randomness must still give one score on every re-grade.
COIN = r"""
import random
def relu(x):
    return x.clamp(min=0) if random.random() < 0.5 else x
"""


IGNORE_SIGINT_LOOP = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"


def _hidden_lines() -> set[str]:
    return grading.secret_lines(SOURCE, grading.HIDDEN_MARKERS)


def _hidden_line() -> str:
    return max(sorted(_hidden_lines()), key=len)


def _copier(course: Path):
    nb = nbformat.read(str(RELEASE), as_version=4)
    code = COPIER.replace("COURSE", repr(str(course))).replace("REPO", repr(str(ROOT))).replace("AID", AID)
    _cell(nb, "task1_relu").source = code
    return nb


SUBMITTED_AT = "2026-01-15 10:00:00.000000 UTC"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A temporary course with a01 generated and one submission per attack, all graded."""
    course = tmp_path_factory.mktemp("course")
    shutil.copy(ROOT / "nbgrader_config.py", course)
    for kind in ("source", "release", "solutions"):
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
        "spy": _spy(listener.getsockname()[1], course),
        "rebinds": _with_relu(REBINDS),
        "hunter": _with_relu(HUNTER.replace("NEEDLE", _hidden_line().encode().hex()) +
                             _cell(_solved(), "task1_relu").source),
        "copier": _copier(course),
        "killer": _with_relu(KILLER),
        "coin": _with_relu(COIN),
    }
    for student, nb in submissions.items():
        path = grading.notebook_path(f"submitted/{student}", AID, course)
        path.parent.mkdir(parents=True)
        nbformat.write(nb, str(path))
    grading.notebook_path("submitted/solution", AID, course).with_name("timestamp.txt").write_text(SUBMITTED_AT)
    not_json = grading.notebook_path("submitted/not_json", AID, course)
    not_json.parent.mkdir(parents=True)
    not_json.write_text('{"cells": [ oops')

    # The course's per-cell timeout (120 s) for most; 15 s for the endless loops, far above what
    # a cell of a01 needs even on a loaded 2-core machine (importing torch there took ~5 s).
    endless, wall = ["ignores_interrupts", "loops"], "runs_long"
    first = [s for s in sorted(submissions) if s not in endless + [wall]]
    first.remove("killer")
    first.insert(0, "killer")  # the others must still be graded after it
    # A temporary folder of its own: the other test worker grades too, in the shared one.
    import tempfile
    tempfile.tempdir, saved_tmp = str(course / "tmp"), tempfile.tempdir
    (course / "tmp").mkdir()
    results = autograder.grade_assignment(course, AID, first, Limits(memory_gb=3))
    regrades = [autograder.grade_submission(course, AID, "coin", Limits(memory_gb=3)).score for _ in range(2)]
    results += [autograder.grade_submission(course, AID, s, Limits(cell_s=15, memory_gb=3)) for s in endless]
    results.append(autograder.grade_submission(course, AID, wall, Limits(wall_s=20)))
    results.append(autograder.grade_submission(course, AID, "not_json"))
    listener.close()
    tempfile.tempdir = saved_tmp
    return SimpleNamespace(path=course, results={r.student: r for r in results}, pid_file=pid_file, first=first,
                           regrades=regrades, leftovers=sorted(p.name for p in (course / "tmp").iterdir()))


def _autograded(course, student: str) -> nbformat.NotebookNode:
    return nbformat.read(str(grading.notebook_path(f"autograded/{student}", AID, course.path)), as_version=4)


def _show(r) -> str:
    return f"{r.student}: {r.status} {r.score}/{r.max_score} failed={r.failed} notes={r.notes}"


def _outputs(nb) -> str:
    return "\n".join(str(o.get("text", "")) + str(o.get("evalue", "")) + "\n".join(o.get("traceback", []))
                     for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def test_honest_submissions_are_graded(course):
    results = course.results
    assert results["solution"].status == "graded" and results["solution"].score == FULL == results["solution"].max_score, \
        _show(results["solution"])
    assert (results["untouched"].status, results["untouched"].score) == ("graded", 0), _show(results["untouched"])


def test_rebinding_the_test_helpers_in_the_notebook_earns_nothing(course):
    """The checks, torch's and numpy's comparisons, __eq__, IPython's error handling and the
    grading runner itself, all rebound in the student's process: the wrong relu still fails."""
    r = course.results["rebinds"]
    assert (r.score, r.failed) == (FULL - RELU_POINTS, ["task1_relu_test"]), _show(r)


def test_no_hidden_test_reaches_the_student_or_the_feedback(course):
    r = course.results["hunter"]
    assert (r.status, r.score) == ("graded", FULL), _show(r)
    nb = _autograded(course, "hunter")
    text = _outputs(nb)
    assert "HUNTED []" in text, f"the submission found files holding hidden tests: {text[:2000]}"
    assert "CELL def relu" in text, "the hook that prints every cell it runs did not run: the probe is broken"
    shown = {line.strip() for line in (text + "\n".join(c.source for c in nb.cells)).splitlines()}
    leaks = sorted(_hidden_lines() & shown)
    assert not leaks, f"hidden-test lines in the autograded notebook (and so in the feedback): {leaks[:5]}"


def test_the_worked_solution_cannot_be_copied_at_grading_time(course):
    r = course.results["copier"]
    assert r.score == 0 and "COPIED" not in _outputs(_autograded(course, "copier")), _show(r)


def test_a_submission_cannot_stop_the_batch(course):
    """It killed every process it could see first; every later submission was still graded."""
    killer = course.results["killer"]
    assert (killer.status, killer.score) == ("graded", FULL - RELU_POINTS), _show(killer)
    assert course.results["solution"].score == FULL
    assert set(record.read_status(course.path, AID)) >= set(course.first)


def test_unseeded_randomness_gives_the_same_score_on_every_regrade(course):
    first = course.results["coin"].score
    assert course.regrades == [first, first], f"scores over three gradings: {[first] + course.regrades}"


@pytest.mark.parametrize("student", ["deleted_test", "edited_test"])
def test_a_deleted_or_edited_test_cell_is_restored_and_flagged(course, student):
    r = course.results[student]
    assert r.status == "tampered", _show(r)
    assert (r.score, r.max_score) == (FULL - RELU_POINTS, FULL), _show(r)
    assert any("task1_relu_test" in n for n in r.notes), _show(r)


def test_a_forged_grade_cell_earns_nothing(course):
    r = course.results["forged_cell"]
    assert (r.status, r.score, r.max_score) == ("tampered", FULL, FULL), _show(r)
    assert any("bonus_test" in n for n in r.notes), _show(r)


def test_a_killed_process_ends_as_crashed_not_silence(course):
    r = course.results["exits"]
    assert r.status == "crashed", _show(r)
    assert not r.score, _show(r)


def test_an_endless_cell_is_stopped_and_the_rest_still_graded(course):
    r = course.results["loops"]
    assert r.status == "timed_out", _show(r)
    assert r.score == FULL - RELU_POINTS, _show(r)
    assert any("task1_relu" in n for n in r.notes), _show(r)


def test_a_cell_ignoring_the_interrupt_is_timed_out(course):
    r = course.results["ignores_interrupts"]
    assert r.status == "timed_out", _show(r)
    assert any("did not stop when interrupted" in n for n in r.notes), _show(r)


def test_the_wall_clock_limit_stops_a_whole_submission(course):
    r = course.results["runs_long"]
    assert r.status == "timed_out", _show(r)
    assert any("wall-clock" in n for n in r.notes), _show(r)


def test_a_flood_of_output_is_cut(course):
    r = course.results["floods"]
    assert (r.status, r.score) == ("graded", FULL), _show(r)
    graded = grading.notebook_path("autograded/floods", AID, course.path)
    assert graded.stat().st_size < 1_000_000, f"{graded.stat().st_size:,} bytes: the 50 MB output was kept"
    assert "cut by the grader" in graded.read_text()


def test_memory_is_limited(course):
    r = course.results["hogs_memory"]
    assert (r.status, r.score) == ("graded", FULL - RELU_POINTS), _show(r)
    assert "MemoryError" in grading.notebook_path("autograded/hogs_memory", AID, course.path).read_text()


def test_processes_left_behind_are_killed_and_nothing_is_left_in_tmp(course):
    assert (course.results["leaves_a_process"].status, course.results["leaves_a_process"].score) == ("graded", FULL), \
        _show(course.results["leaves_a_process"])
    text = _outputs(_autograded(course, "leaves_a_process"))
    assert "Traceback" not in text, text[:2000]
    alive = [p for p in Path("/proc").glob("[0-9]*") if _cmdline(p) == "sleep\x00600\x00"]
    assert not alive, f"a process started by a submission is still running: {alive}"
    assert not course.leftovers, f"grading left these in the temporary folder: {course.leftovers}"


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_text()
    except OSError:
        return ""


@pytest.mark.skipif(not sandbox.available(), reason="this machine cannot create Linux namespaces (unshare): "
                    "grading runs unsandboxed here, and each status row says so")
def test_the_sandbox_shows_only_what_a_student_has(course):
    r = course.results["spy"]
    assert (r.status, r.score) == ("graded", FULL), _show(r)
    line = next(x for x in _outputs(_autograded(course, "spy")).splitlines() if x.startswith("SPY"))
    found = json.loads(line[3:])
    for secret in ("source", "solutions", "git", "gradebook", "submitted"):
        assert found[secret] == "FileNotFoundError", f"{secret} visible to the submission: {found}"
    for where in ("write_course", "write_package", "write_root_tmp"):
        assert found[where] in ("OSError", "FileNotFoundError"), f"wrote outside its folder ({where}): {found}"
    assert isinstance(found["write_own_folder"], int), f"could not write its own folder: {found}"
    assert found["network"] in ("OSError", "TimeoutError"), f"reached the grader's loopback: {found}"
    assert found["processes"] <= 3, f"saw {found['processes']} processes: the grader's must be invisible"
    assert found["home"] != os.environ.get("HOME"), "the submission saw the grader's home folder"
    assert not (course.path / "planted.txt").exists()
    assert not (Path(__import__("dlcourse").__file__).parent / "_planted.tmp").exists()


def test_a_file_that_is_not_a_notebook_is_invalid_with_a_fix(course):
    r = course.results["not_json"]
    assert r.status == "invalid" and "not a valid notebook" in r.notes[0] and "File > Download" in r.notes[0], _show(r)


def test_every_submission_has_a_status_row_and_regrades_accumulate(course):
    rows = record.read_status(course.path, AID)
    assert set(rows) == set(course.results), "a row for every submission, re-graded ones included"
    assert {r["status"] for r in rows.values()} <= set(autograder.STATUSES)
    assert rows["runs_long"]["status"] == "timed_out" and rows["solution"]["status"] == "graded"


def test_the_submission_time_goes_with_the_autograded_notebook(course):
    """nbgrader's generate_feedback and release_feedback read autograded/<student>/<id>/timestamp.txt."""
    stamp = grading.notebook_path("autograded/solution", AID, course.path).with_name("timestamp.txt")
    assert stamp.read_text() == SUBMITTED_AT


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
    monkeypatch.setattr(intake, "MAX_NOTEBOOK_BYTES", 1000)
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
    assert [import_item(p) for p in ours if p != "dlcourse.grading.autograder.CapOutput"] == default
    assert ours.index("dlcourse.grading.autograder.CapOutput") < ours.index("nbgrader.preprocessors.SaveAutoGrades")


def test_limits_reach_the_grading_process():
    limits = Limits(memory_gb=1.5, file_mb=10, processes=64)
    probe = ("import resource as r\nprint(*(r.getrlimit(k)[0] for k in "
             "(r.RLIMIT_DATA, r.RLIMIT_FSIZE, r.RLIMIT_NPROC, r.RLIMIT_CORE)), "
             "*(r.getrlimit(k)[1] for k in (r.RLIMIT_DATA, r.RLIMIT_FSIZE, r.RLIMIT_NPROC, r.RLIMIT_CORE)))")
    out = subprocess.run([sys.executable, "-c", probe], preexec_fn=lambda: limits.apply(user_tasks=100),
                         capture_output=True, text=True, check=True).stdout.split()
    expected = [int(1.5 * 2**30), 10 * 2**20, 164, 0]
    assert list(map(int, out)) == expected * 2, "soft and hard limits (hard too, so code cannot raise them)"
