"""What grading leaves behind: the autograded notebook, the gradebook's scores, the status table.

Only the grader's own process writes here (never a student's), one submission at a time, so
nbgrader's SQLite gradebook never sees two writers.
"""
from __future__ import annotations

import csv
import os
import warnings
from pathlib import Path

import nbformat

from .course import notebook_path
from .judge import Verdict
from .runner import cap_text

COURSE_ID = "dlcourse"  # as in nbgrader_config.py
STATUS_FIELDS = ["student", "status", "score", "max_score", "notes"]


def nbgrader_meta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def is_test(cell) -> bool:
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


def cell_name(cell, index: int) -> str:
    return nbgrader_meta(cell).get("grade_id") or f"cell {index}"


def autograded_notebook(graded: nbformat.NotebookNode, source: nbformat.NotebookNode, verdict: Verdict,
                        show_hidden: bool = False) -> nbformat.NotebookNode:
    """The rebuilt submission with every cell's outcome as its output. A failed test cell ends in
    an error output (how nbgrader's ``determine_grade`` scores it 0). Test cells show the
    release's code, or the source's (hidden tests included) when ``show_hidden``."""
    nb = nbformat.from_dict(graded)
    sources = {nbgrader_meta(c).get("grade_id"): c.source for c in source.cells if is_test(c)}
    tests = {t.grade_id: t for t in verdict.tests}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None
        name = cell_name(cell, index)
        if is_test(cell):
            test = tests.get(name)
            if show_hidden and name in sources:
                cell.source = sources[name]
            if test is None:
                cell.outputs.append(_error("NotGraded", "this test was not run"))
                continue
            if test.output:
                cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=test.output))
            if not test.passed:
                cell.outputs.append(_error("TestFailed", test.message, test.detail if show_hidden else ""))
        elif name in verdict.cells:
            ran = verdict.cells[name]
            for stream in ("stdout", "stderr"):
                if getattr(ran, stream):
                    cell.outputs.append(nbformat.v4.new_output("stream", name=stream, text=getattr(ran, stream)))
            if ran.error:
                cell.outputs.append(_error("CellError", ran.error))
    return nb


def _error(kind: str, message: str, detail: str = "") -> nbformat.NotebookNode:
    lines = [f"{kind}: {cap_text(message)}"] + ([cap_text(detail)] if detail else [])
    return nbformat.v4.new_output("error", ename=kind, evalue=cap_text(message), traceback=lines)


def _db_url(course: Path) -> str:
    return f"sqlite:///{course / 'gradebook.db'}"


def gradebook(course: Path):
    """nbgrader's gradebook of the course. Creating one runs ``alembic`` from this Python's
    folder, which need not be on PATH (a venv that is not activated)."""
    import sys

    from nbgrader.api import Gradebook

    here = os.path.dirname(sys.executable)
    if here not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = here + os.pathsep + os.environ.get("PATH", "")
    return Gradebook(_db_url(course), course_id=COURSE_ID)


def ensure_assignment(course: Path, aid: str) -> None:
    """Register the assignment's cells in the gradebook from ``source/`` if nbgrader has not yet
    (``nbgrader generate_assignment`` does the same)."""
    from nbgrader.api import MissingEntry
    from nbgrader.preprocessors import SaveCells

    with gradebook(course) as gb:
        try:
            if gb.find_assignment(aid).notebooks:
                return
        except MissingEntry:
            gb.update_or_create_assignment(aid)
    source = nbformat.read(str(notebook_path("source", aid, course)), as_version=4)
    SaveCells().preprocess(source, {"nbgrader": {"notebook": aid, "assignment": aid, "db_url": _db_url(course)}})


def forget(course: Path, aid: str, student: str) -> None:
    """Drop an earlier grade of this submission, so a failure now cannot leave the old score."""
    from nbgrader.api import MissingEntry

    if not (course / "gradebook.db").is_file():
        return
    with gradebook(course) as gb:
        try:
            gb.remove_submission(aid, student)
        except MissingEntry:
            pass


def save_grades(course: Path, aid: str, student: str, nb: nbformat.NotebookNode,
                timestamp: str | None) -> tuple[float, float]:
    """Store the autograded notebook's scores with nbgrader's own preprocessor; (score, max score)."""
    from nbgrader.preprocessors import SaveAutoGrades

    ensure_assignment(course, aid)
    forget(course, aid, student)
    with gradebook(course) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbgrader 0.9's add_submission trips SQLAlchemy's autoflush warnings
        gb.update_or_create_student(student)
        gb.add_submission(aid, student, **({"timestamp": timestamp} if timestamp else {}))
    SaveAutoGrades().preprocess(nb, {"nbgrader": {"notebook": aid, "assignment": aid, "student": student,
                                                  "db_url": _db_url(course)}})
    with gradebook(course) as gb:
        sub = gb.find_submission(aid, student)
        return sub.score, sub.max_score


def write_autograded(course: Path, aid: str, student: str, nb: nbformat.NotebookNode) -> Path:
    path = notebook_path(f"autograded/{student}", aid, course)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def write_status(course: Path, aid: str, rows: list[dict]) -> Path:
    """Merge ``rows`` into ``autograded/status_<aid>.csv`` (one row per student, the newest
    wins), replacing the file atomically: a batch that dies keeps every row written before."""
    path = course / "autograded" / f"status_{aid}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    table = read_status(course, aid)
    for row in rows:
        table[row["student"]] = {k: row.get(k, "") for k in STATUS_FIELDS}
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, STATUS_FIELDS)
        writer.writeheader()
        writer.writerows(table[s] for s in sorted(table))
    os.replace(tmp, path)
    return path


def read_status(course: Path, aid: str) -> dict[str, dict]:
    path = course / "autograded" / f"status_{aid}.csv"
    if not path.is_file():
        return {}
    with open(path, newline="") as f:
        return {row["student"]: row for row in csv.DictReader(f)}
