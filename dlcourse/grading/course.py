"""Instructor-side helpers for the nbgrader assignments: worked solutions and sync checks.

The repository root is the nbgrader course directory. For every assignment ``<id>``:

* ``source/<id>/<id>.ipynb`` is the instructors' notebook, with ``### BEGIN SOLUTION`` and
  ``### BEGIN HIDDEN TESTS`` blocks (authored as the jupytext script next to it);
* ``release/<id>/<id>.ipynb`` is the student version, written by nbgrader itself
  (``nbgrader generate_assignment <id> --force`` at the repository root);
* ``solutions/<id>/<id>.ipynb`` is the worked solution: the source with the hidden tests
  removed, executed with its outputs. ``python -m dlcourse.grading solutions`` rebuilds them.

Grade-id convention (what lets the tests build partial submissions for any assignment):
a solution cell of Task k has ``grade_id`` ``task<k>_<name>`` and the test cells that score
it ``task<k>_<name>_test``; a test cell scores only its own task.

``tests/test_grading.py`` uses the comparison helpers below to prove that release/ and
solutions/ match source/ and that nothing secret leaks into them.
"""
from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

import nbformat

COURSE_ROOT = Path(__file__).resolve().parents[2]
SOLUTION_MARKERS = ("BEGIN SOLUTION", "END SOLUTION")
HIDDEN_MARKERS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
_TASK_RE = re.compile(r"^task(\d+)_")

__all__ = ["COURSE_ROOT", "SOLUTION_MARKERS", "HIDDEN_MARKERS", "assignment_ids", "notebook_path", "strip_hidden_tests", "build_solution", "comparable_cells",
           "notebook_diff", "release_in_sync", "solution_in_sync", "secret_lines", "leaked_lines",
           "task_of", "task_points", "partial_submission", "main"]


# ----------------------------------------------------------------------------- locating
def assignment_ids(root: Path | str = COURSE_ROOT) -> list[str]:
    """The assignments in ``<root>/source``: folders ``<id>`` holding ``<id>.ipynb``, sorted."""
    src = Path(root) / "source"
    if not src.is_dir():
        return []
    return sorted(d.name for d in src.iterdir() if (d / f"{d.name}.ipynb").is_file())


def notebook_path(kind: str, aid: str, root: Path | str = COURSE_ROOT) -> Path:
    """``<root>/<kind>/<aid>/<aid>.ipynb`` for kind in source, release, solutions."""
    return Path(root) / kind / aid / f"{aid}.ipynb"


def _read(nb) -> nbformat.NotebookNode:
    """Accept a path or an already-read notebook (which is copied, never modified)."""
    if isinstance(nb, (str, Path)):
        return nbformat.read(str(nb), as_version=4)
    return copy.deepcopy(nb)


# ----------------------------------------------------------------------------- solutions
def strip_hidden_tests(nb) -> nbformat.NotebookNode:
    """The notebook with every hidden-test block removed and outputs cleared.

    Uses nbgrader's own preprocessors, so the result is exactly what nbgrader would remove
    (and, like nbgrader, refuses hidden tests outside a grade cell).
    """
    from nbgrader.preprocessors import ClearHiddenTests, ClearOutput

    nb = _read(nb)
    nb, _ = ClearHiddenTests().preprocess(nb, {})
    nb, _ = ClearOutput().preprocess(nb, {})
    return nb


def build_solution(source_nb_path: Path | str, out_path: Path | str, *, execute: bool = True,
                   timeout: int = 120) -> nbformat.NotebookNode:
    """Write the worked solution of a source notebook to ``out_path`` and return it.

    Hidden tests are removed, solutions kept, then the notebook is executed top to bottom
    (in ``out_path``'s folder) so that readers see every check's output. A cell that fails
    raises ``nbclient.exceptions.CellExecutionError``: a solution must run cleanly.
    """
    nb = strip_hidden_tests(source_nb_path)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if execute:
        from nbclient import NotebookClient

        # record_timing=False keeps timestamps out of the committed file (cleaner diffs).
        NotebookClient(nb, timeout=timeout, kernel_name=nb.metadata.get("kernelspec", {}).get("name", "python3"),
                       record_timing=False,
                       resources={"metadata": {"path": str(out_path.parent)}}).execute()
    nbformat.write(nb, str(out_path))
    return nb


# ----------------------------------------------------------------------------- comparing
def comparable_cells(nb) -> list[tuple[str, str, dict]]:
    """(cell type, source, nbgrader metadata) per cell: what must not drift.

    Cell ids, outputs, execution counts and other front-end metadata are volatile and ignored.
    """
    nb = _read(nb)
    return [(c.cell_type, c.source, dict(c.metadata.get("nbgrader", {}))) for c in nb.cells]


def notebook_diff(expected, actual, label: str = "notebook") -> list[str]:
    """Human-readable cell-by-cell differences between two notebooks (empty if none)."""
    exp, act = comparable_cells(expected), comparable_cells(actual)
    problems = []
    if len(exp) != len(act):
        problems.append(f"{label}: {len(act)} cells, expected {len(exp)}")
    for i, (e, a) in enumerate(zip(exp, act)):
        for what, ev, av in zip(("cell type", "source", "nbgrader metadata"), e, a):
            if ev != av:
                first = a[1].splitlines()[0] if a[1] else ""
                problems.append(f"{label}: cell {i} ({first[:60]!r}) differs in {what}")
    return problems


def release_in_sync(generated_release, committed_release) -> list[str]:
    """Differences between a freshly generated release notebook and the committed one."""
    return notebook_diff(generated_release, committed_release, label="release")


def solution_in_sync(source_nb, solution_nb) -> list[str]:
    """Differences between the source (hidden tests removed) and the committed solution,
    plus any code cell that was not executed or ended in an error."""
    problems = notebook_diff(strip_hidden_tests(source_nb), solution_nb, label="solution")
    for i, cell in enumerate(_read(solution_nb).cells):
        if cell.cell_type != "code":
            continue
        if cell.get("execution_count") is None:
            problems.append(f"solution: code cell {i} was not executed")
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            problems.append(f"solution: code cell {i} ends in an error")
    return problems


def _marked_regions(source: str, markers: tuple[str, str]) -> tuple[list[str], list[str]]:
    """Split a cell's lines into (inside the marked blocks, outside them)."""
    inside, outside, on = [], [], False
    for line in source.splitlines():
        if markers[0] in line:
            on = True
        elif markers[1] in line:
            on = False
        else:
            (inside if on else outside).append(line)
    return inside, outside


def secret_lines(source_nb, markers: tuple[str, str], min_len: int = 12) -> set[str]:
    """Distinctive lines from the marked blocks of a source notebook.

    A line counts if, stripped, it is at least ``min_len`` characters long and appears
    nowhere outside the marked blocks (so a line that the visible tests repeat is not one).
    """
    inside, outside = set(), set()
    for cell in _read(source_nb).cells:
        ins, outs = _marked_regions(cell.source, markers)
        inside.update(s.strip() for s in ins)
        outside.update(s.strip() for s in outs)
    return {s for s in inside - outside if len(s) >= min_len}


def leaked_lines(source_nb, other_nb, markers: tuple[str, str]) -> list[str]:
    """Lines of ``source_nb``'s marked blocks (and the markers) found in ``other_nb``."""
    text = "\n".join(c.source for c in _read(other_nb).cells)
    present = {s.strip() for s in text.splitlines()}
    leaks = sorted(s for s in secret_lines(source_nb, markers) if s in present)
    return [m for m in markers if m in text] + leaks


# ----------------------------------------------------------------------------- partial credit
def task_of(grade_id: str) -> int | None:
    """The task number in a grade id following the ``task<k>_...`` convention, else None."""
    m = _TASK_RE.match(grade_id or "")
    return int(m.group(1)) if m else None


def task_points(nb) -> dict[int | None, float]:
    """Total points of the test cells of each task (key None: cells outside the convention)."""
    totals: dict[int | None, float] = {}
    for cell in _read(nb).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "code":
            k = task_of(meta.get("grade_id", ""))
            totals[k] = totals.get(k, 0.0) + float(meta.get("points", 0))
    return totals


def partial_submission(source_nb, release_nb, tasks) -> nbformat.NotebookNode:
    """The release notebook with only the solution cells of ``tasks`` (task numbers) filled
    in from the source: a submission that should score exactly those tasks' points."""
    tasks = {tasks} if isinstance(tasks, int) else set(tasks)
    answers = {c.metadata["nbgrader"]["grade_id"]: c.source for c in _read(source_nb).cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    nb = _read(release_nb)
    filled = set()
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and task_of(meta.get("grade_id", "")) in tasks:
            cell.source = answers[meta["grade_id"]]
            filled.add(task_of(meta["grade_id"]))
    if filled != tasks:
        raise ValueError(f"no solution cell with a grade_id 'task<k>_...' for tasks {sorted(tasks - filled)}")
    return nb


# ----------------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dlcourse.grading",
                                     description="Rebuild the worked solutions from source/.")
    sub = parser.add_subparsers(dest="command", required=True)
    sol = sub.add_parser("solutions", help="rebuild solutions/<id>/<id>.ipynb from source/ (all by default)")
    sol.add_argument("ids", nargs="*", help="assignment ids (default: every assignment in source/)")
    sol.add_argument("--root", default=str(COURSE_ROOT), help="the course directory")
    args = parser.parse_args(argv)

    ids = args.ids or assignment_ids(args.root)
    for aid in ids:
        src = notebook_path("source", aid, args.root)
        if not src.is_file():
            parser.error(f"no source notebook {src}; known assignments: {', '.join(assignment_ids(args.root))}")
        out = notebook_path("solutions", aid, args.root)
        print(f"building {out.relative_to(args.root)} from {src.relative_to(args.root)}", flush=True)
        build_solution(src, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
