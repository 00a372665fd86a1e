"""Grade submissions as hostile code: nbgrader autograde behind intake checks, limits and a status.

A submission is arbitrary code (COURSE.md section 6). Plain ``nbgrader autograde`` trusts it;
measured with nbgrader 0.9.6: a submission whose test cell was deleted, or whose code called
``os._exit``, was left unscored with nothing printed; a 50 MB output line was stored whole;
one infinite loop held up the whole class. ``python -m dlcourse.autograder <id>`` grades
every submission in ``submitted/<student>/<id>/`` in four steps:

1. **Intake** (no student code runs): the student id is a plain name, the notebook is a
   regular file of at most ``MAX_NOTEBOOK_BYTES`` and valid nbformat; else ``invalid``.
2. **Rebuild**: what runs is the course's release notebook with the student's answer cells
   (``solution`` cells, matched by grade id) filled in and the student's own extra cells
   kept where they were. Test and locked cells always come from the course (nbgrader then
   puts the hidden tests back). A test or locked cell deleted, edited or re-labelled, or a
   graded cell the student forged, is restored or dropped and reported as ``tampered``; the
   restored notebook is still graded, so nothing is lost while an instructor reviews it.
3. **Run**: each submission in its own ``nbgrader autograde --student`` process under
   :class:`Limits` (wall clock, memory, file size, processes), with the course's per-cell
   timeout (``nbgrader_config.py``), every output capped by :class:`CapOutput`, a fresh home
   and IPython folder, and the kernel in :mod:`dlcourse.sandbox` where Linux allows it: no
   network, the gradebook, ``source/`` and other students' folders hidden, the course and the
   Python installation read-only. Processes it leaves behind are killed.
4. **Status**: each submission ends ``graded``, ``tampered``, ``timed_out``, ``crashed`` or
   ``invalid``, with its score and the reason, in ``autograded/status_<id>.csv``. The command
   prints that table and exits 1 unless every submission ended ``graded``.

Not covered: student code shares the kernel's interpreter with the test cells that follow it,
so it can patch the test helpers or inspect a hidden test's values while that test calls it;
only running tests in a separate process would close that. Without namespaces (macOS, or
Linux with unprivileged user namespaces disabled) the kernel runs unsandboxed and each status
row says so: grade in a throwaway container or VM there.
"""
from __future__ import annotations

import argparse
import copy
import csv
import dataclasses
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, Integer

from . import sandbox
from .grading import COURSE_ROOT, notebook_path

MAX_NOTEBOOK_BYTES = 20 * 2**20
MAX_OUTPUT_CHARS = 20_000
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")  # no glob or path characters
SCORING_FIELDS = ("grade", "solution", "locked", "points", "task")
STATUSES = ("graded", "tampered", "timed_out", "crashed", "invalid")
COURSE_ID = "dlcourse"  # as in nbgrader_config.py
INTAKE_DIR = ".grading/intake"  # rebuilt notebooks, relative to the course root (gitignored)
__all__ = ["Limits", "Result", "InvalidSubmission", "CapOutput", "read_submission", "rebuild",
           "grade_submission", "grade_assignment", "main"]


class InvalidSubmission(ValueError):
    """The submission cannot be graded at all; the message says what to fix."""


@dataclass
class Limits:
    """Resource limits for one submission's grading process and its kernel."""
    wall_s: float = 600           # the whole submission, nbgrader's start-up included
    cell_s: int | None = None     # per cell; None keeps nbgrader_config.py's Execute.timeout
    memory_gb: float = 4.0        # per process: heap and anonymous mappings (RLIMIT_DATA)
    file_mb: int = 256            # largest file a process may write
    processes: int = 512          # new processes and threads (RLIMIT_NPROC; not applied to root)
    sandbox: bool = True          # run the kernel in dlcourse.sandbox (namespaces), if available

    def apply(self, user_tasks: int = 0) -> None:
        """Set the limits in the child process, before it starts nbgrader. RLIMIT_NPROC counts
        every task of the user, so the allowance goes on top of ``user_tasks`` already running."""
        mem, fsize = int(self.memory_gb * 2**30), self.file_mb * 2**20
        for what, value in ((resource.RLIMIT_DATA, mem), (resource.RLIMIT_FSIZE, fsize),
                            (resource.RLIMIT_NPROC, user_tasks + self.processes), (resource.RLIMIT_CORE, 0)):
            hard = resource.getrlimit(what)[1]
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(what, (value, value))  # hard too: student code cannot raise it


@dataclass
class Result:
    student: str
    status: str
    score: float | None = None
    max_score: float | None = None
    notes: list[str] = field(default_factory=list)


class CapOutput(Preprocessor):
    """Cut every text output of an executed cell to ``max_chars`` (nbgrader's LimitOutput counts
    lines, so one 50 MB line passed whole into the autograded notebook and the feedback)."""
    enabled = Bool(True).tag(config=True)  # nbconvert's preprocessors are off unless enabled
    max_chars = Integer(MAX_OUTPUT_CHARS).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        for out in cell.get("outputs", []):
            if "text" in out:
                out.text = _cap(out.text, self.max_chars)
            for mime, value in out.get("data", {}).items():
                if isinstance(value, str) and (mime.startswith("text/") or mime == "application/javascript"):
                    out.data[mime] = _cap(value, self.max_chars)
            if "traceback" in out:
                out.traceback = [_cap(line, self.max_chars) for line in out.traceback[-100:]]
        return cell, resources


def _cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n... [{len(text) - limit:,} more characters cut by the grader]\n"


# ----------------------------------------------------------------------------- intake
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


# ----------------------------------------------------------------------------- run
def _environment(marker: str, scratch: Path) -> dict[str, str]:
    """What the grading process sees: the venv first, no secrets from the grader's shell, and a
    home, IPython and Jupyter folders of its own (an IPython startup file planted in the real
    home would run in every later student's kernel)."""
    keep = ("LANG", "LC_ALL", "DLCOURSE_DATA_MIRRORS", "DLCOURSE_CACHE", "DLCOURSE_OFFLINE")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin")
    for var, sub in (("HOME", "home"), ("IPYTHONDIR", "ipython"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                     ("JUPYTER_DATA_DIR", "data"), ("JUPYTER_PATH", "jupyter"), ("MPLCONFIGDIR", "mpl")):
        env[var] = str(scratch / sub)
        (scratch / sub).mkdir()
    env.update(OMP_NUM_THREADS="1", PYTHONHASHSEED="0", DLCOURSE_GRADING_RUN=marker)
    return env


def _sandbox_args(course: Path, env: dict[str, str]) -> list[str]:
    """nbgrader options (and environment) that run the kernel in :mod:`dlcourse.sandbox`."""
    sandbox.write_kernelspec(Path(env["JUPYTER_PATH"]))
    hidden = ["gradebook.db", "source", "submitted", "autograded", "feedback", ".grading"]
    env["DLCOURSE_SANDBOX_COURSE"] = str(course)
    env["DLCOURSE_SANDBOX_HIDE"] = os.pathsep.join(str(course / p) for p in hidden)
    return [f"--Execute.kernel_name={sandbox.KERNEL_NAME}", "--KernelManager.transport=ipc",
            f"--KernelManager.ip={env['JUPYTER_RUNTIME_DIR']}/kernel"]


def _kill_leftovers(marker: str) -> int:
    """SIGKILL every process started for this run (kernels live in their own session, and
    student code may fork); found by the marker in their initial environment."""
    needle, killed = f"DLCOURSE_GRADING_RUN={marker}".encode(), 0
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if needle in (proc / "environ").read_bytes().split(b"\0"):
                os.kill(int(proc.name), signal.SIGKILL)
                killed += 1
        except (OSError, ValueError):
            continue
    return killed


def _user_tasks() -> int:
    """Processes and threads this user runs now (what RLIMIT_NPROC counts)."""
    uid, n = os.getuid(), 0
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if proc.stat().st_uid == uid:
                n += len(os.listdir(proc / "task"))
        except OSError:
            continue
    return n


def _run_nbgrader(course: Path, aid: str, student: str, limits: Limits) -> tuple[int | None, str]:
    """Autograde one rebuilt submission in its own process; (exit code or None on timeout, log tail)."""
    marker = uuid.uuid4().hex
    cmd = [sys.executable, "-m", "nbgrader", "autograde", aid, f"--student={student}", "--force",
           f"--CourseDirectory.root={course}", f"--CourseDirectory.submitted_directory={INTAKE_DIR}"]
    if limits.cell_s is not None:
        cmd.append(f"--Execute.timeout={limits.cell_s}")
    log_path = course / INTAKE_DIR / student / f"{aid}.log"
    tasks = _user_tasks()
    with tempfile.TemporaryDirectory(prefix="dlcourse-grading-") as scratch, open(log_path, "w") as log:
        env = _environment(marker, Path(scratch))
        if limits.sandbox:
            cmd += _sandbox_args(course, env)
        proc = subprocess.Popen(cmd, cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, preexec_fn=lambda: limits.apply(tasks), start_new_session=True)
        try:
            code = proc.wait(timeout=limits.wall_s)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            _kill_leftovers(marker)
            proc.wait()
    with open(log_path, "rb") as f:
        f.seek(max(0, log_path.stat().st_size - 4000))
        return code, f.read().decode("utf-8", "replace")


def _recorded(course: Path, aid: str, student: str) -> tuple[float, float, list[str]] | None:
    """(score, max score, unscored cells) from the gradebook, or None if nothing was recorded."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(_db_url(course), course_id=COURSE_ID) as gb:
        try:
            sub = gb.find_submission(aid, student)
        except MissingEntry:
            return None
        grades = [g for nb in sub.notebooks for g in nb.grades]
        unscored = [g.name for g in grades if g.auto_score is None and g.cell_type == "code"]
        return sub.score, sub.max_score, unscored


def _forget(course: Path, aid: str, student: str) -> None:
    """Drop an earlier grade of this submission, so a crash now cannot leave the old score."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(_db_url(course), course_id=COURSE_ID) as gb:
        try:
            gb.remove_submission(aid, student)
        except MissingEntry:
            pass


def _db_url(course: Path) -> str:
    return f"sqlite:///{course / 'gradebook.db'}"


def _timed_out_cells(course: Path, aid: str, student: str) -> list[str]:
    path = notebook_path(f"autograded/{student}", aid, course)
    if not path.is_file():
        return []
    nb = nbformat.read(str(path), as_version=4)
    return [_nbgrader_meta(c).get("grade_id") or f"cell {i}" for i, c in enumerate(nb.cells)
            if any(o.get("ename") in ("CellTimeoutError", "KeyboardInterrupt") for o in c.get("outputs", []))]


def grade_submission(course: Path, aid: str, student: str, limits: Limits = Limits()) -> Result:
    """Take one submission through intake, rebuild, run and status (module docstring)."""
    if not STUDENT_ID.fullmatch(student):
        return Result(student, "invalid", notes=["the student id must be letters, digits and . _ @ - only"])
    try:
        submission = read_submission(notebook_path(f"submitted/{student}", aid, course))
    except InvalidSubmission as e:
        if (course / "gradebook.db").is_file():
            _forget(course, aid, student)  # an earlier grade must not stand for this file
        return Result(student, "invalid", notes=[str(e)])
    template = nbformat.read(str(notebook_path("release", aid, course)), as_version=4)
    graded_nb, notes, tampered = rebuild(template, submission)
    intake = notebook_path(f"{INTAKE_DIR}/{student}", aid, course)
    intake.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(graded_nb, str(intake))
    stamp = course / "submitted" / student / aid / "timestamp.txt"
    if stamp.is_file() and not stamp.is_symlink() and stamp.stat().st_size < 200:
        (intake.parent / "timestamp.txt").write_text(stamp.read_text(errors="replace"))

    if limits.sandbox and not sandbox.available():
        limits = dataclasses.replace(limits, sandbox=False)
        notes.append("graded WITHOUT the sandbox: this machine cannot create Linux namespaces (unshare)")
    _forget(course, aid, student)
    code, log = _run_nbgrader(course, aid, student, limits)
    recorded = _recorded(course, aid, student)
    score, max_score, unscored = recorded if recorded else (None, None, None)
    if code is None:
        return Result(student, "timed_out", score, max_score,
                      notes + [f"grading stopped after {limits.wall_s:g} s (wall-clock limit)"])
    if "CellTimeoutError" in log and (code != 0 or unscored):  # the cell ignored the interrupt
        return Result(student, "timed_out", score, max_score,
                      notes + ["a cell ran past the per-cell time limit and did not stop when interrupted"])
    if code != 0 or recorded is None or unscored:
        reason = "the kernel died (os._exit, a crash, or the memory limit)" if "DeadKernel" in log or "died" in log \
            else f"nbgrader exited {code}"
        last = [line for line in log.splitlines() if "ERROR" in line or "Error" in line][-3:]
        return Result(student, "crashed", score, max_score, notes + [reason] + last +
                      ([f"unscored cells: {unscored}"] if unscored else []))
    timed = _timed_out_cells(course, aid, student)
    if timed:
        return Result(student, "timed_out", score, max_score,
                      notes + [f"cells stopped at the per-cell time limit: {timed}"])
    return Result(student, "tampered" if tampered else "graded", score, max_score, notes)


def grade_assignment(course: Path, aid: str, students: list[str] | None = None,
                     limits: Limits = Limits()) -> list[Result]:
    """Grade every submission of ``aid`` (or the named students); write the status table."""
    folder = course / "submitted"
    if students is None:
        students = sorted(d.name for d in folder.iterdir() if (d / aid).is_dir()) if folder.is_dir() else []
    results = []
    for student in students:
        start = time.time()
        result = grade_submission(course, aid, student, limits)
        print(f"{student}: {result.status} {_score(result)} ({time.time() - start:.0f} s)", flush=True)
        results.append(result)
    out = course / "autograded" / f"status_{aid}.csv"
    out.parent.mkdir(exist_ok=True)
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student", "status", "score", "max_score", "notes"])
        for r in results:
            w.writerow([r.student, r.status, r.score, r.max_score, " | ".join(r.notes)])
    return results


def _score(r: Result) -> str:
    return f"{r.score:g}/{r.max_score:g}" if r.score is not None else "-"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dlcourse.autograder", description=__doc__.split("\n")[0])
    p.add_argument("assignment")
    p.add_argument("students", nargs="*", help="default: every folder in submitted/ with this assignment")
    p.add_argument("--root", default=str(COURSE_ROOT), help="the course directory")
    p.add_argument("--wall", type=float, default=Limits.wall_s, help="seconds per submission")
    p.add_argument("--cell-timeout", type=int, default=None, help="seconds per cell (default: nbgrader_config.py)")
    p.add_argument("--memory-gb", type=float, default=Limits.memory_gb, help="memory per process")
    p.add_argument("--no-sandbox", action="store_true", help="run kernels without dlcourse.sandbox (trusted code only)")
    args = p.parse_args(argv)
    course = Path(args.root).resolve()
    if not notebook_path("release", args.assignment, course).is_file():
        p.error(f"no release/{args.assignment}/{args.assignment}.ipynb in {course}: run "
                f"`nbgrader generate_assignment {args.assignment}` first")
    limits = Limits(wall_s=args.wall, cell_s=args.cell_timeout, memory_gb=args.memory_gb, sandbox=not args.no_sandbox)
    results = grade_assignment(course, args.assignment, args.students or None, limits)
    print(f"\n{'student':24} {'status':10} {'score':>9}  notes")
    for r in results:
        print(f"{r.student[:24]:24} {r.status:10} {_score(r):>9}  {' | '.join(r.notes)[:200]}")
    print(f"\nstatus table: {course / 'autograded' / f'status_{args.assignment}.csv'}")
    return 0 if all(r.status == "graded" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
