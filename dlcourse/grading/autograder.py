"""Grade submissions as hostile code: ``python -m dlcourse.grading.autograder <id>``.

A submission is arbitrary code (COURSE.md section 6). Plain ``nbgrader autograde`` runs the
hidden tests in the same interpreter as the student's code, so a submission can rebind the
test helpers, read the hidden tests, or stop the batch. Here every submission in
``submitted/<student>/<id>/`` goes through five steps:

1. **Intake** (:mod:`.intake`; no student code runs): the student id is a plain name, the notebook is a
   regular file of at most ``MAX_NOTEBOOK_BYTES`` and valid nbformat; else ``invalid``.
2. **Rebuild**: the course's release notebook with the student's answer cells (``solution``
   cells, matched by grade id) filled in and the student's own extra cells kept where they
   were. A test or locked cell deleted, edited or re-labelled, or a graded cell the student
   forged, is restored or dropped and reported as ``tampered`` (still graded: nothing lost).
3. **Run** the student's cells, and only those, in :mod:`.runner`: its own process, in
   :mod:`.sandbox` where Linux allows it, under :class:`Limits` (wall clock, per cell,
   memory, file size, processes). Test cells are not sent there.
4. **Judge** (:mod:`.judge`): the instructor's test cells from ``source/``, hidden tests
   included, run in this process with the student's functions as proxies; only data
   crosses (:mod:`.wire`). A test passes when its cell runs to the end.
5. **Record**: the autograded notebook (the student's cells with their outputs, the test
   cells with the verdicts; hidden test code only with ``--show-hidden-tests``), the scores
   in nbgrader's gradebook (so formgrader, ``generate_feedback`` and ``export`` work as
   usual), and a status per submission (``graded``, ``tampered``, ``timed_out``,
   ``crashed``, ``invalid``) in ``autograded/status_<id>.csv``, written as soon as known.
   The command exits 1 unless every submission ended ``graded``.
"""
from __future__ import annotations

import argparse
import functools
import os
import re
import signal
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, Integer

from . import data_view, record, sandbox
from .course import COURSE_ROOT, notebook_path
from .intake import MAX_NOTEBOOK_BYTES, InvalidSubmission, read_submission, rebuild
from .judge import Limits, StudentProcess, Verdict, judge, run_cells, worker_init
from .runner import MAX_OUTPUT_CHARS, cap_text

STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")  # no glob or path characters
EXCHANGE_FILES = ("timestamp.txt", "submission_secret.txt")  # written by nbgrader collect
STATUSES = ("graded", "tampered", "timed_out", "crashed", "invalid")
__all__ = ["Limits", "Result", "MAX_NOTEBOOK_BYTES", "InvalidSubmission", "CapOutput", "read_submission", "rebuild",
           "evaluate", "grade_submission", "grade_assignment", "main"]


@dataclass
class Result:
    student: str
    status: str
    score: float | None = None
    max_score: float | None = None
    notes: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # grade ids of the tests that failed


class CapOutput(Preprocessor):
    """Cut every text output of an executed cell to ``max_chars`` (nbgrader's LimitOutput counts
    lines, so one 50 MB line passed whole into the autograded notebook and the feedback)."""
    enabled = Bool(True).tag(config=True)  # nbconvert's preprocessors are off unless enabled
    max_chars = Integer(MAX_OUTPUT_CHARS).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        for out in cell.get("outputs", []):
            if "text" in out:
                out.text = cap_text(out.text, self.max_chars)
            for mime, value in out.get("data", {}).items():
                if isinstance(value, str) and (mime.startswith("text/") or mime == "application/javascript"):
                    out.data[mime] = cap_text(value, self.max_chars)
            if "traceback" in out:
                out.traceback = [cap_text(line, self.max_chars) for line in out.traceback[-100:]]
        return cell, resources


# ----------------------------------------------------------------------------- run
def _environment(marker: str, scratch: Path) -> dict[str, str]:
    """What the student's process sees: the venv first, no secrets from the grader's shell, and a
    home, temporary and config folders of its own (an IPython startup file planted in a shared
    home would run in every later student's process)."""
    keep = ("LANG", "LC_ALL", "DLCOURSE_DATA_MIRRORS", "DLCOURSE_CACHE", "DLCOURSE_OFFLINE", "PYTHONPATH")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + "/usr/local/bin:/usr/bin:/bin"
    env.update(HOME=str(scratch / "home"), TMPDIR=str(scratch / "tmp"), IPYTHONDIR=str(scratch / "home" / ".ipython"),
               MPLCONFIGDIR=str(scratch / "home" / ".mpl"), MPLBACKEND="Agg", OMP_NUM_THREADS="1",
               PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1", DLCOURSE_GRADING_RUN=marker,
               DLCOURSE_TRAINING_ONLY="1")  # held-out splits are refused (and, sandboxed, not mounted)
    return env


def _readable(course: Path, aid: str) -> list[Path]:
    """What a student has anyway: Python and its packages, dlcourse, the release, and of the data
    only what the assignment trains on (``data_view``: no held-out split, no archive holding one)."""
    import dlcourse

    paths = [Path(sys.prefix), Path(sys.base_prefix), Path(dlcourse.__file__).parent, course / "release" / aid]
    paths += [Path(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return paths + _training_files(aid, os.environ.get("DLCOURSE_CACHE", ""), os.environ.get("DLCOURSE_DATA_MIRRORS", ""))


@functools.lru_cache(maxsize=None)
def _training_files(aid: str, cache: str, mirrors: str) -> list[Path]:
    """Built and found once per grading run (the cache and mirrors are part of the key)."""
    return data_view.training_files(aid)


def _kill_leftovers(marker: str) -> int:
    """SIGKILL every process started for this submission outside a sandbox (student code may
    fork and leave its session); found by the marker in their initial environment."""
    needle, killed = f"DLCOURSE_GRADING_RUN={marker}".encode(), 0
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if needle in (proc / "environ").read_bytes().split(b"\0"):
                os.kill(int(proc.name), signal.SIGKILL)
                killed += 1
        except (OSError, ValueError):
            continue
    return killed


def _threads() -> int:
    """This process's threads, native ones included (torch's OpenMP pool is invisible to threading)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 10**6  # unknown: assume busy


_THREADS_AT_IMPORT = _threads()


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


def _split(graded: nbformat.NotebookNode, source: nbformat.NotebookNode):
    """(the student's cells to run, the course's setup cells, the tests) for one submission.

    The student's process runs every code cell of the rebuilt notebook except the tests. The
    judge runs the source's locked cells above the first answer cell (imports, helpers) and
    its test cells (hidden tests included)."""
    student = [(record.cell_name(c, i), c.source) for i, c in enumerate(graded.cells)
               if c.cell_type == "code" and not record.is_test(c)]
    setup, tests, answered = [], [], False
    for cell in source.cells:
        meta = record.nbgrader_meta(cell)
        if cell.cell_type != "code":
            continue
        answered = answered or bool(meta.get("solution"))
        if record.is_test(cell):
            tests.append((meta["grade_id"], float(meta.get("points", 0)), cell.source))
        elif meta.get("locked") and not answered:
            setup.append(cell.source)
    return student, setup, tests


def task_names(template: nbformat.NotebookNode) -> set[str]:
    """The names the assignment's own notebook binds at top level outside its tests: the task's
    functions, classes and values, which are all of the student's globals the tests may see."""
    import ast

    from IPython.core.inputtransformer2 import TransformerManager

    names, transform = set(), TransformerManager().transform_cell
    for cell in template.cells:
        if cell.cell_type != "code" or record.is_test(cell):
            continue
        try:
            tree = ast.parse(transform(cell.source))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return names


def evaluate(course: Path, aid: str, student: str, limits: Limits = Limits(),
             show_hidden: bool = False) -> tuple[Result, nbformat.NotebookNode | None]:
    """Intake, rebuild, run and judge one submission; (result without a score, autograded notebook)."""
    if not STUDENT_ID.fullmatch(student):
        return Result(student, "invalid", notes=["the student id must be letters, digits and . _ @ - only"]), None
    try:
        submission = read_submission(notebook_path(f"submitted/{student}", aid, course))
    except InvalidSubmission as e:
        return Result(student, "invalid", notes=[str(e)]), None
    template = nbformat.read(str(notebook_path("release", aid, course)), as_version=4)
    source = nbformat.read(str(notebook_path("source", aid, course)), as_version=4)
    graded_nb, notes, tampered = rebuild(template, submission)
    cells, setup, tests = _split(graded_nb, source)

    sandboxed = limits.sandbox and sandbox.available()
    if limits.sandbox and not sandboxed:
        notes.append("graded WITHOUT the sandbox: this machine cannot create Linux namespaces (unshare)")
    marker, verdict = uuid.uuid4().hex, Verdict()
    cell_s = limits.cell_s if limits.cell_s is not None else _configured_cell_timeout(course)
    with tempfile.TemporaryDirectory(prefix="dlcourse-grading-") as tmp:
        scratch = Path(tmp)
        for sub in ("work", "home", "tmp", "root"):
            (scratch / sub).mkdir()
        proc = StudentProcess(scratch, _environment(marker, scratch), limits, _readable(course, aid), sandboxed)
        proc.start(_user_tasks())
        hit_wall = threading.Event()
        watchdog = threading.Timer(limits.wall_s, lambda: (hit_wall.set(), proc.stop()))
        watchdog.start()
        try:
            run_cells(proc, cells, cell_s, verdict)
            judge(proc, setup, tests, cell_s, verdict, task_names(template))
        finally:
            watchdog.cancel()
            proc.close()
            if not sandboxed:
                _kill_leftovers(marker)
            if verdict.crashed:  # why, in the process's own words (its log: stdout and stderr)
                tail = (scratch / "process.log").read_bytes()[-600:].decode("utf-8", "replace").strip()
                if tail:
                    verdict.notes.append("its last output: " + " ".join(tail.split()))
    nb = record.autograded_notebook(graded_nb, source, verdict, show_hidden)
    notes += verdict.notes
    failed = [t.grade_id for t in verdict.tests if not t.passed]
    if hit_wall.is_set():
        return Result(student, "timed_out", notes=notes + [f"grading stopped after {limits.wall_s:g} s "
                                                           "(wall-clock limit)"], failed=failed), nb
    status = ("timed_out" if verdict.timed_out else "crashed" if verdict.crashed
              else "tampered" if tampered else "graded")
    return Result(student, status, notes=notes, failed=failed), nb


def _configured_cell_timeout(course: Path) -> float:
    """The per-cell limit of the course's nbgrader_config.py (``Execute.timeout``), else 120 s."""
    from traitlets.config.loader import PyFileConfigLoader

    try:
        config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
        return float(config.Execute.timeout) if "timeout" in config.Execute else 120.0
    except Exception:  # no config, or one that does not load: the default
        return 120.0


def grade_submission(course: Path, aid: str, student: str, limits: Limits = Limits(),
                     show_hidden: bool = False) -> Result:
    """Evaluate one submission and record it: autograded notebook, gradebook, status row."""
    result, nb = evaluate(course, aid, student, limits, show_hidden)
    _record(course, aid, result, nb)
    return result


def _record(course: Path, aid: str, result: Result, nb) -> None:
    if nb is not None:
        graded = record.write_autograded(course, aid, result.student, nb)
        submitted = course / "submitted" / result.student / aid
        stamp = submitted / "timestamp.txt"
        when = None
        if stamp.is_file() and not stamp.is_symlink() and stamp.stat().st_size < 200:
            when = stamp.read_text(errors="replace").strip() or None
        # The exchange's bookkeeping goes along, as nbgrader's autograde copies it: generate_feedback
        # and release_feedback need the time and the secret that names the student's feedback.
        for name in EXCHANGE_FILES:
            f = submitted / name
            if f.is_file() and not f.is_symlink() and f.stat().st_size < 200:
                (graded.parent / name).write_text(f.read_text(errors="replace"))
        try:
            result.score, result.max_score = record.save_grades(course, aid, result.student, nb, when)
        except ValueError:  # an unreadable timestamp: grade it as of now
            result.score, result.max_score = record.save_grades(course, aid, result.student, nb, None)
    elif STUDENT_ID.fullmatch(result.student):
        record.forget(course, aid, result.student)  # an earlier grade must not stand for this file
    record.write_status(course, aid, [{"student": result.student, "status": result.status, "score": result.score,
                                       "max_score": result.max_score, "notes": " | ".join(result.notes)}])


def grade_assignment(course: Path, aid: str, students: list[str] | None = None, limits: Limits = Limits(),
                     show_hidden: bool = False, jobs: int = 1) -> list[Result]:
    """Grade every submission of ``aid`` (or the named students), ``jobs`` at a time.

    Each submission is evaluated in a worker process of its own (its limits, sandbox and
    status are its own); this process alone writes the gradebook and the status table, one
    submission at a time as each finishes, so the SQLite gradebook never has two writers and a
    batch that dies keeps everything recorded before."""
    folder = course / "submitted"
    if students is None:
        students = sorted(d.name for d in folder.iterdir() if (d / aid).is_dir()) if folder.is_dir() else []
    if jobs <= 1 or len(students) <= 1:
        results = []
        for student in students:
            start = time.time()
            results.append(_report(grade_submission(course, aid, student, limits, show_hidden), start))
        return results
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    results, started = {}, time.time()
    # Fork the workers (cheap: this process has imported everything) unless torch has started its
    # OpenMP threads here since import (a test run in this process): a worker forked then can
    # deadlock (seen), so then forkserver. Each worker starts its zygote at once.
    context = multiprocessing.get_context("fork" if _threads() <= _THREADS_AT_IMPORT else "forkserver")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=worker_init) as pool:
        futures = {pool.submit(evaluate, course, aid, s, limits, show_hidden): s for s in students}
        for future in as_completed(futures):
            student = futures[future]
            try:
                result, nb = future.result()
            except Exception as e:  # the worker itself failed: say so, grade the rest
                result, nb = Result(student, "crashed", notes=[f"the grading worker failed: {e!r}"]), None
            _record(course, aid, result, nb)
            results[student] = _report(result, started)
    return [results[s] for s in students]


def _report(result: Result, start: float) -> Result:
    print(f"{result.student}: {result.status} {_score(result)} ({time.time() - start:.0f} s)", flush=True)
    return result


def _score(r: Result) -> str:
    return f"{r.score:g}/{r.max_score:g}" if r.score is not None else "-"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dlcourse.grading.autograder", description=__doc__.split("\n")[0])
    p.add_argument("assignment")
    p.add_argument("students", nargs="*", help="default: every folder in submitted/ with this assignment")
    p.add_argument("--root", default=str(COURSE_ROOT), help="the course directory")
    p.add_argument("--wall", type=float, default=Limits.wall_s, help="seconds per submission")
    p.add_argument("--cell-timeout", type=int, default=None, help="seconds per cell (default: nbgrader_config.py)")
    p.add_argument("--memory-gb", type=float, default=Limits.memory_gb, help="memory per process")
    p.add_argument("--show-hidden-tests", action="store_true",
                   help="put the hidden tests' code in the autograded notebooks (and so in the feedback)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                   help="submissions graded at once (default: the number of cores)")
    p.add_argument("--no-sandbox", action="store_true", help="run submissions without the sandbox (trusted code only)")
    args = p.parse_args(argv)
    course = Path(args.root).resolve()
    for kind in ("release", "source"):
        if not notebook_path(kind, args.assignment, course).is_file():
            p.error(f"no {kind}/{args.assignment}/{args.assignment}.ipynb in {course}: the autograder needs the "
                    "source (its tests) and the release (the student version; `nbgrader generate_assignment`)")
    limits = Limits(wall_s=args.wall, cell_s=args.cell_timeout, memory_gb=args.memory_gb, sandbox=not args.no_sandbox)
    results = grade_assignment(course, args.assignment, args.students or None, limits, args.show_hidden_tests,
                               jobs=max(1, args.jobs))
    print(f"\n{'student':24} {'status':10} {'score':>9}  notes")
    for r in results:
        print(f"{r.student[:24]:24} {r.status:10} {_score(r):>9}  {' | '.join(r.notes)[:200]}")
    print(f"\nstatus table: {course / 'autograded' / f'status_{args.assignment}.csv'}")
    return 0 if all(r.status == "graded" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
