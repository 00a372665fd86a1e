"""The grading round trip of every nbgrader assignment in source/ (COURSE.md sections 4 and 7).

For each assignment, in a temporary copy of the course (the real gradebook and the real
submitted/ and autograded/ folders are never touched):

* nbgrader regenerates the release, which must equal the committed release/ cell by cell;
* nothing from the solution blocks or the hidden tests reaches release/, and solutions/
  equals source/ without its hidden tests;
* the autograder (`dlcourse.grading.autograder`) grades several "students": the source notebook
  (full marks), the untouched release (exactly 0), the release with only the odd-numbered
  tasks solved and the one with only the even-numbered tasks solved (exactly those tasks'
  points each: partial credit works and no test cell leans on another task's code).

The nbgrader steps run once per assignment (module-scoped fixture): about 30-40 s each on
2 cores, most of it nbgrader's and the kernels' start-up.
"""
from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from dlcourse import grading
from dlcourse.grading import autograder

from grading_attacks import ATTACKS, attacker

ROOT = Path(__file__).resolve().parents[1]
IDS = grading.assignment_ids(ROOT)
COURSE_ID = "dlcourse"
REGENERATE = "nbgrader generate_assignment {aid} --force   (at the repository root)"
REBUILD_SOLUTIONS = "python -m dlcourse.grading solutions {aid}"

pytestmark = pytest.mark.skipif(not IDS, reason="no assignment in source/")


def _nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    """Run nbgrader on the temporary course; root and gradebook pinned there by flags."""
    env = dict(os.environ)
    # nbgrader shells out to `alembic`, and kernels start from `python`: both from this venv.
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    cmd = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={course}",
           f"--CourseDirectory.db_url=sqlite:///{course / 'gradebook.db'}"]
    return subprocess.run(cmd, cwd=course, env=env, capture_output=True, text=True, timeout=600)


def _tail(proc: subprocess.CompletedProcess, n: int = 3000) -> str:
    return (proc.stdout + proc.stderr)[-n:]


def _partial_sets(tasks) -> dict[str, list[int]]:
    """Student names -> the tasks they solve: odd-numbered, even-numbered (if both non-empty)."""
    odd, even = [k for k in sorted(tasks) if k % 2], [k for k in sorted(tasks) if not k % 2]
    if not odd or not even:  # a single task: "partial" would be all or nothing
        return {}
    return {"tasks_" + "_".join(map(str, ks)) + "_only": ks for ks in (odd, even)}


@pytest.fixture(scope="module", params=IDS)
def graded(request, tmp_path_factory):
    """Generate and autograde one assignment in a temporary course; return what the tests need."""
    from nbgrader.api import Gradebook, MissingEntry

    aid = request.param
    course = tmp_path_factory.mktemp(aid)
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copytree(ROOT / "source" / aid, course / "source" / aid)

    gen = _nbgrader(course, "generate_assignment", aid, "--force")
    assert gen.returncode == 0, f"nbgrader generate_assignment {aid} failed:\n{_tail(gen)}"

    source = grading.notebook_path("source", aid, ROOT)
    release = grading.notebook_path("release", aid, ROOT)  # what students really get
    tasks = {k: pts for k, pts in grading.task_points(source).items() if k is not None}
    submissions = {"solution": nbformat.read(str(source), as_version=4),
                   "untouched": nbformat.read(str(release), as_version=4)}
    # Partial answers: the odd-numbered tasks solved, then the even-numbered ones. Each must
    # score exactly its tasks' points, so no test cell leans on another task's code.
    for name, chosen in _partial_sets(tasks).items():
        submissions[name] = grading.partial_submission(source, release, chosen)
    if aid in ATTACKS:  # issue 16's attacks: rebound course functions, shadowed builtins, in-place writes
        submissions["attacker"] = attacker(submissions["untouched"], aid)
    for student, nb in submissions.items():
        path = grading.notebook_path(f"submitted/{student}", aid, course)
        path.parent.mkdir(parents=True)
        nbformat.write(nb, str(path))

    # All students through the hardened autograder (what instructors run); read what the
    # gradebook recorded, and fail on a submission that got no grade at all.
    results = autograder.grade_assignment(course, aid, list(submissions), autograder.Limits(memory_gb=3))
    log = "\n".join(f"{r.student}: {r.status} {r.score}/{r.max_score} failed={r.failed} notes={r.notes}"
                    for r in results)
    scores, cells = {}, {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id=COURSE_ID) as gb:
        for student in submissions:
            try:
                sub = gb.find_submission(aid, student)
            except MissingEntry:  # the autograder never got to this student
                pytest.fail(f"the autograder recorded no grade for {student!r}:\n{log}")
            scores[student] = (sub.score, sub.max_score)
            cells[student] = {g.name: (g.score, g.max_score) for nb in sub.notebooks for g in nb.grades}
    return SimpleNamespace(aid=aid, course=course, source=source, release=release, tasks=tasks,
                           scores=scores, cells=cells, log=log)


def _lost(cells: dict) -> str:
    return ", ".join(f"{name} {s:g}/{m:g}" for name, (s, m) in sorted(cells.items()) if s != m) or "none"


def _earned(cells: dict) -> str:
    return ", ".join(f"{name} {s:g}/{m:g}" for name, (s, m) in sorted(cells.items()) if s) or "none"


# ----------------------------------------------------------------------------- release/
def test_release_matches_a_fresh_generate_assignment(graded):
    aid = graded.aid
    fresh_dir, committed_dir = graded.course / "release" / aid, ROOT / "release" / aid
    fresh = sorted(p.relative_to(fresh_dir).as_posix() for p in fresh_dir.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(committed_dir).as_posix() for p in committed_dir.rglob("*") if p.is_file())
    assert fresh == committed, (f"release/{aid} holds {committed}, a fresh nbgrader run writes {fresh}; "
                                f"regenerate it: {REGENERATE.format(aid=aid)}")
    problems = grading.release_in_sync(fresh_dir / f"{aid}.ipynb", graded.release)
    assert not problems, (f"release/{aid} has drifted from source/{aid}:\n  " + "\n  ".join(problems) +
                          f"\nregenerate it: {REGENERATE.format(aid=aid)}")


def _text_files(folder: Path):
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            yield path, path.read_text()
        except UnicodeDecodeError:
            continue


def _leaks(source: Path, path: Path, text: str, markers: tuple[str, str]) -> list[str]:
    if path.suffix == ".ipynb":
        return grading.leaked_lines(source, path, markers)
    present = {line.strip() for line in text.splitlines()}
    return [m for m in markers if m in text] + sorted(grading.secret_lines(source, markers) & present)


@pytest.mark.parametrize("where", ["committed", "fresh"])
def test_release_leaks_no_solution_and_no_hidden_test(graded, where):
    aid = graded.aid
    folder = (ROOT if where == "committed" else graded.course) / "release" / aid
    for markers in (grading.SOLUTION_MARKERS, grading.HIDDEN_MARKERS):  # the detector has something to find
        if markers[0] in graded.source.read_text():
            assert grading.secret_lines(graded.source, markers), f"no distinctive line in the {markers[0]} blocks"
    for path, text in _text_files(folder):
        for markers in (grading.SOLUTION_MARKERS, grading.HIDDEN_MARKERS):
            leaks = _leaks(graded.source, path, text, markers)
            assert not leaks, (
                f"{path.relative_to(folder.parents[1])} ({where}) contains text from the "
                f"{markers[0].split(' ', 1)[1].lower()} blocks: {leaks[:5]}. "
                + ("nbgrader copies every non-notebook file of source/<id>/ into the release: add its "
                   "pattern to c.CourseDirectory.ignore in nbgrader_config.py. " if path.suffix != ".ipynb" else "")
                + f"Then regenerate: {REGENERATE.format(aid=aid)}")


# Static checks of the committed notebooks: no nbgrader run needed.
@pytest.mark.parametrize("aid", IDS)
def test_release_shows_stubs_for_every_solution_cell(aid):
    nb = nbformat.read(str(grading.notebook_path("release", aid, ROOT)), as_version=4)
    solution_cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert solution_cells, f"release/{aid} has no solution cell"
    for cell in solution_cells:
        if cell.cell_type == "code":
            assert "raise NotImplementedError()" in cell.source, (
                f"solution cell {cell.metadata.nbgrader.grade_id!r} of release/{aid} has no stub")


@pytest.mark.parametrize("aid", IDS)
def test_grade_ids_follow_the_task_convention(aid):
    points = grading.task_points(grading.notebook_path("source", aid, ROOT))
    assert None not in points, (f"source/{aid}: test cells worth {points.get(None)} points have a grade_id "
                                "outside the 'task<k>_<name>_test' convention (see dlcourse/grading/course.py)")
    assert points, f"source/{aid} has no graded test cell"


@pytest.mark.parametrize("aid", IDS)
def test_test_cells_do_not_end_in_a_value(aid):
    """nbgrader reads a number shown by a test cell as its partial-credit score: a cell ending in
    `check_close(...)` (which returns the error, ~1e-10) would earn 1e-10 points, not full marks."""
    for path in (grading.notebook_path("source", aid, ROOT), grading.notebook_path("release", aid, ROOT)):
        for cell in nbformat.read(str(path), as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if not (meta.get("grade") and cell.cell_type == "code"):
                continue
            try:
                body = ast.parse(cell.source).body
            except SyntaxError:  # IPython magics: not checkable this way
                continue
            last = body[-1] if body else None
            shows_value = isinstance(last, ast.Expr) and not (
                isinstance(last.value, ast.Call) and getattr(last.value.func, "id", "") == "print")
            assert not shows_value, (
                f"{path.relative_to(ROOT)}: test cell {meta['grade_id']!r} ends in an expression whose value "
                "nbgrader would take as the cell's score; end it with a statement, e.g. "
                "print('... tests passed') or `_ = check_close(...)`.")


# ----------------------------------------------------------------------------- solutions/ and source/
@pytest.mark.parametrize("aid", IDS)
def test_solution_is_in_sync_and_has_no_hidden_tests(aid):
    source = grading.notebook_path("source", aid, ROOT)
    solution = grading.notebook_path("solutions", aid, ROOT)
    assert solution.is_file(), f"solutions/{aid} is missing; build it: {REBUILD_SOLUTIONS.format(aid=aid)}"
    problems = grading.solution_in_sync(source, solution)
    assert not problems, (f"solutions/{aid} is out of date:\n  " + "\n  ".join(problems) +
                          f"\nrebuild it: {REBUILD_SOLUTIONS.format(aid=aid)}")
    leaks = grading.leaked_lines(source, solution, grading.HIDDEN_MARKERS)
    assert not leaks, f"solutions/{aid} contains hidden-test text: {leaks[:5]}"


@pytest.mark.parametrize("aid", IDS)
def test_source_notebook_matches_its_jupytext_script(aid):
    source = grading.notebook_path("source", aid, ROOT)
    script = source.with_suffix(".py")
    if not script.exists():
        pytest.skip("authored directly as .ipynb")
    import jupytext

    ours = [(c.cell_type, c.source, dict(c.metadata.get("nbgrader", {}))) for c in jupytext.read(script).cells]
    assert ours == grading.comparable_cells(source), (
        f"{source.name} and {script.name} differ: edit the .py, then run "
        f"`jupytext --update --to ipynb {script.relative_to(ROOT)}`")


# ----------------------------------------------------------------------------- autograde
def test_source_scores_full_marks(graded):
    score, max_score = graded.scores["solution"]
    assert max_score > 0
    assert score == max_score, (f"the source notebook of {graded.aid}, graded as a submission, scores "
                                f"{score}/{max_score}; cells that lost points: {_lost(graded.cells['solution'])}\n"
                                f"{graded.log}")


def test_untouched_release_scores_zero(graded):
    score, max_score = graded.scores["untouched"]
    assert score == 0, (f"the untouched release of {graded.aid} scores {score}/{max_score}: a test cell passes "
                        f"without any student code: {_earned(graded.cells['untouched'])}")


def test_an_attack_earns_only_what_its_wrong_answers_earn(graded):
    """tests/grading_attacks.py: every answer a stub (0 points), plus code that rebinds the course's
    drivers, shadows the tests' builtins and helpers, or writes into its input in place."""
    if "attacker" not in graded.scores:
        pytest.skip(f"no attack written for {graded.aid}")
    score, max_score = graded.scores["attacker"]
    assert score == 0, (f"the attack on {graded.aid} scores {score}/{max_score} with every answer a stub: "
                        f"{_earned(graded.cells['attacker'])}\n{graded.log}")


def test_partial_submissions_score_exactly_their_tasks_points(graded):
    partials = _partial_sets(graded.tasks)
    if not partials:
        pytest.skip(f"{graded.aid} has a single task")
    for student, chosen in partials.items():
        points = sum(graded.tasks[k] for k in chosen)
        score, max_score = graded.scores[student]
        lost = {n: v for n, v in graded.cells[student].items() if grading.task_of(n) in chosen}
        assert score == points, (
            f"{graded.aid} with only tasks {chosen} solved scores {score}/{max_score}, expected their "
            f"{points:g} points. Cells with points: {_earned(graded.cells[student])}; cells of tasks {chosen} "
            f"that lost points: {_lost(lost)}. A test cell must score only its own task.")
    assert sum(graded.tasks.values()) == graded.scores["solution"][1]
