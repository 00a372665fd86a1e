"""Intake and rebuild: what of a submission is graded, decided before any student code runs.

:func:`read_submission` accepts a regular file of at most ``MAX_NOTEBOOK_BYTES`` in valid
nbformat, or raises :class:`InvalidSubmission` naming the problem and the fix. :func:`rebuild`
puts the student's answer cells into the course's release notebook, so a test or locked cell
the student deleted, edited or re-labelled is restored, and reports that as tampering.
"""
from __future__ import annotations

import copy
from pathlib import Path

import nbformat

MAX_NOTEBOOK_BYTES = 20 * 2**20
SCORING_FIELDS = ("grade", "solution", "locked", "points", "task")
__all__ = ["MAX_NOTEBOOK_BYTES", "InvalidSubmission", "read_submission", "rebuild"]


class InvalidSubmission(ValueError):
    """The submission cannot be graded at all; the message says what to fix."""



def read_submission(path: Path) -> nbformat.NotebookNode:
    """The submitted notebook, or :class:`InvalidSubmission` naming the problem and the fix."""
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise InvalidSubmission(f"{path.name} is not a regular file: submit the notebook itself")
    if not path.is_file():
        raise InvalidSubmission(f"no {path.name} in the submission: submit the assignment's notebook under that name")
    size = path.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        raise InvalidSubmission(f"{path.name} is {size / 2**20:.1f} MB, over the {MAX_NOTEBOOK_BYTES // 2**20} MB "
                                "limit: clear the outputs (Edit > Clear Outputs of All Cells) and submit again")
    try:
        with open(path, encoding="utf-8") as f:
            nb = nbformat.read(f, as_version=4)
        nbformat.validate(nb)
    except Exception as e:  # anything unreadable is the submission's problem, never the grader's
        raise InvalidSubmission(f"{path.name} is not a valid notebook ({type(e).__name__}: {str(e)[:200]}): "
                                "download it again from JupyterLab (File > Download) and submit that file") from None
    return nb


def _nbgrader_meta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def rebuild(template: nbformat.NotebookNode, submission: nbformat.NotebookNode
            ) -> tuple[nbformat.NotebookNode, list[str], bool]:
    """(notebook to grade, notes, tampered): the template with the submission's answers in it.

    ``template`` is the release notebook. Answer cells take the student's source; every other
    graded or locked cell keeps the template's. Cells the student added (no nbgrader role, not
    a copy of a template cell) are kept after the graded cell they followed.
    """
    by_id = {m["grade_id"]: c for c in template.cells if (m := _nbgrader_meta(c)).get("grade_id")}
    template_sources = {c.source.strip() for c in template.cells}
    answers, extras, notes, tampered = {}, {}, [], False
    seen, anchor = set(), None
    for cell in submission.cells:
        meta = _nbgrader_meta(cell)
        gid = meta.get("grade_id")
        ref = by_id.get(gid) if isinstance(gid, str) else None
        if ref is not None and gid not in seen:
            seen.add(gid)
            anchor = gid
            ref_meta = _nbgrader_meta(ref)
            changed = [k for k in SCORING_FIELDS if meta.get(k) != ref_meta.get(k)]
            if changed:
                tampered = True
                notes.append(f"cell {gid!r}: nbgrader fields {changed} were changed; the original is used")
            if ref_meta.get("solution"):
                answers[gid] = cell.source
            elif cell.source.strip() != ref.source.strip():
                tampered = True
                notes.append(f"cell {gid!r} (locked) was edited; the original is used")
        elif gid is not None or any(meta.get(k) for k in ("grade", "solution", "locked")):
            tampered = True
            notes.append(f"cell {gid!r} is not a cell of this assignment (or a second copy of one): dropped")
        elif cell.source.strip() and cell.source.strip() not in template_sources:
            extra = (nbformat.v4.new_code_cell if cell.cell_type == "code" else nbformat.v4.new_markdown_cell)(cell.source)
            extras.setdefault(anchor, []).append(extra)
    for gid, ref in by_id.items():
        if gid in seen:
            continue
        if _nbgrader_meta(ref).get("solution"):
            notes.append(f"answer cell {gid!r} is missing: graded as unanswered")
        else:
            tampered = True
            notes.append(f"cell {gid!r} (locked) was deleted; the original is used")

    graded = copy.deepcopy(template)
    cells, leading = [], extras.pop(None, [])
    for cell in graded.cells:
        gid = _nbgrader_meta(cell).get("grade_id")
        if gid is not None and leading:  # the student's cells above every graded cell
            cells += leading
            leading = []
        if gid in answers:
            cell.source = answers[gid]
        cells.append(cell)
        cells += extras.get(gid, [])
    graded.cells = cells + leading
    return graded, notes, tampered


