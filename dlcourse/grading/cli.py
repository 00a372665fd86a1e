"""One instructor command for a class, from a folder of submissions to a grades file.

Run at the course root (the repository: it is the nbgrader course directory). For assignment
a01_activations_backprop, say:

  1. python -m dlcourse.grading check a01_activations_backprop
        release/ is what nbgrader makes of source/ today, and holds no solution or hidden test
  2. python -m dlcourse.grading collect a01_activations_backprop submissions.zip
        (or a folder) -> submitted/<student>/<id>/<id>.ipynb; --exchange collects from
        nbgrader's exchange instead (students pressed Submit in JupyterLab)
  3. python -m dlcourse.grading autograde a01_activations_backprop --jobs 2
        every submission in its sandbox; a status each (graded, tampered, timed_out,
        crashed, invalid) in autograded/status_<id>.csv
  4. python -m dlcourse.grading feedback a01_activations_backprop
        feedback/<student>/<id>/<id>.html: each test's result and message, no hidden test code
  5. python -m dlcourse.grading export a01_activations_backprop -o grades.csv
        one row per student, with the status column (invalid submissions included)
  6. python -m dlcourse.grading summary a01_activations_backprop
        per test: points, mean score, how many students failed it: the task that confused the class

`grade` runs 2 to 6 in one go. `solutions` rebuilds the worked solutions from source/.
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path


from . import autograder, course, record

def _nbgrader(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")}
    return subprocess.run([sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={root}"],
                          cwd=root, env=env, capture_output=True, text=True)


# ----------------------------------------------------------------------------- check
def check(root: Path, aid: str) -> list[str]:
    """Problems with the committed release of ``aid`` (empty when it is good to hand out)."""
    problems = []
    with tempfile.TemporaryDirectory(prefix="dlcourse-check-") as tmp:
        fresh = Path(tmp)
        shutil.copy(root / "nbgrader_config.py", fresh)
        shutil.copytree(root / "source" / aid, fresh / "source" / aid)
        done = _nbgrader(fresh, "generate_assignment", aid, "--force")
        if done.returncode:
            return [f"nbgrader generate_assignment failed: {(done.stdout + done.stderr)[-1500:]}"]
        problems += course.release_in_sync(course.notebook_path("release", aid, fresh),
                                           course.notebook_path("release", aid, root))
    release, source = course.notebook_path("release", aid, root), course.notebook_path("source", aid, root)
    for markers in (course.SOLUTION_MARKERS, course.HIDDEN_MARKERS):
        leaks = course.leaked_lines(source, release, markers)
        if leaks:
            problems.append(f"release/{aid} holds text of the {markers[0].lower()} blocks: {leaks[:3]}")
    return problems


# ----------------------------------------------------------------------------- collect
def collect(root: Path, aid: str, where: Path) -> tuple[list[str], list[str]]:
    """Copy every ``<aid>.ipynb`` under ``where`` (a folder or a zip; the student is the first
    folder of its path, or the file's stem for a flat ``<student>.ipynb``) into
    ``submitted/<student>/<aid>/``. Returns (students collected, problems)."""
    found: dict[str, bytes] = {}
    problems: list[str] = []
    for name, size, read in _entries(where):
        parts = Path(name).parts
        if len(parts) == 1 and name.endswith(".ipynb"):
            student = Path(name).stem
        elif len(parts) >= 2 and parts[-1] == f"{aid}.ipynb":
            student = parts[0]
        else:
            continue
        if not autograder.STUDENT_ID.fullmatch(student) or ".." in parts:
            problems.append(f"{name}: {student!r} is not a usable student id (letters, digits and . _ @ - only)")
            continue
        if size > autograder.MAX_NOTEBOOK_BYTES:
            problems.append(f"{name}: {size / 2**20:.0f} MB, over the {autograder.MAX_NOTEBOOK_BYTES // 2**20} MB "
                            "limit (the autograder will mark it invalid)")
        found[student] = read(autograder.MAX_NOTEBOOK_BYTES + 1)
    for student, data in sorted(found.items()):
        folder = root / "submitted" / student / aid
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{aid}.ipynb").write_bytes(data)
    return sorted(found), problems


def _entries(where: Path):
    """(relative name, size, read(limit)) of every regular file in a folder or a zip."""
    if zipfile.is_zipfile(where):
        archive = zipfile.ZipFile(where)
        for info in archive.infolist():
            if not info.is_dir():
                yield info.filename, info.file_size, lambda n, i=info: archive.open(i).read(n)
        return
    for path in sorted(Path(where).rglob("*.ipynb")):
        if path.is_file() and not path.is_symlink():
            yield str(path.relative_to(where)), path.stat().st_size, lambda n, p=path: p.open("rb").read(n)


# ----------------------------------------------------------------------------- grades
def export(root: Path, aid: str) -> list[dict]:
    """One row per student who submitted: score, max score, status and notes."""
    from nbgrader.api import MissingEntry

    status = record.read_status(root, aid)
    rows = {}
    if (root / "gradebook.db").is_file():
        with record.gradebook(root) as gb:
            for student in {s.id for s in gb.students} | set(status):
                try:
                    sub = gb.find_submission(aid, student)
                    rows[student] = {"score": sub.score, "max_score": sub.max_score}
                except MissingEntry:
                    continue
    out = []
    for student in sorted(set(rows) | set(status)):
        row = status.get(student, {})
        got = rows.get(student, {})
        out.append({"student": student, "assignment": aid, "score": got.get("score", 0.0),
                    "max_score": got.get("max_score", row.get("max_score", "")),
                    "status": row.get("status", "graded (by nbgrader)"), "notes": row.get("notes", "")})
    return out


def summary(root: Path, aid: str) -> list[dict]:
    """Per test cell: points, mean score and how many submissions failed it."""
    from nbgrader.api import MissingEntry

    per_cell: dict[str, list[tuple[float, float]]] = {}
    with record.gradebook(root) as gb:
        for student in [s.id for s in gb.students]:
            try:
                sub = gb.find_submission(aid, student)
            except MissingEntry:
                continue
            for nb in sub.notebooks:
                for grade in nb.grades:
                    per_cell.setdefault(grade.name, []).append((grade.score or 0.0, grade.max_score))
    rows = []
    for name, scores in sorted(per_cell.items(), key=lambda kv: (course.task_of(kv[0]) or 0, kv[0])):
        points = scores[0][1]
        rows.append({"test": name, "points": points, "mean": sum(s for s, _ in scores) / len(scores),
                     "failed": sum(s < m for s, m in scores), "students": len(scores)})
    return rows


def _write_csv(rows: list[dict], out) -> None:
    if rows:
        writer = csv.DictWriter(out, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


# ----------------------------------------------------------------------------- command
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dlcourse.grading", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", default=str(course.COURSE_ROOT), help="the course directory (default: this checkout)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cmds = {name: sub.add_parser(name, help=text) for name, text in (
        ("check", "the release is in sync with source/ and leaks nothing"),
        ("collect", "copy a folder or zip of submissions (or nbgrader's exchange) into submitted/"),
        ("autograde", "grade every submission safely, a status each"),
        ("feedback", "write each student's feedback (nbgrader generate_feedback)"),
        ("export", "grades with each submission's status, as CSV"),
        ("summary", "per test: mean score and how many students failed it"),
        ("grade", "collect (if a source is given), autograde, feedback, export and summary"),
        ("solutions", "rebuild solutions/<id>/<id>.ipynb from source/"))}
    for name, cmd in cmds.items():
        cmd.add_argument("assignment", nargs="*" if name == "solutions" else None)
    for name in ("collect", "grade"):
        cmds[name].add_argument("source", nargs="?" if name == "grade" else None, type=Path,
                                help="a folder or zip holding <student>/<id>.ipynb files")
        cmds[name].add_argument("--exchange", action="store_true", help="collect from nbgrader's exchange instead")
    for name in ("autograde", "grade"):
        cmds[name].add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="submissions at once")
        cmds[name].add_argument("--show-hidden-tests", action="store_true",
                                help="put the hidden tests' code in the autograded notebooks and the feedback")
    for name in ("export", "grade"):
        cmds[name].add_argument("-o", "--output", type=Path, help="CSV file (default: print it)")
    args = p.parse_args(argv)
    root = Path(args.root).resolve()
    if args.command == "solutions":
        return course.main(["solutions", *args.assignment, "--root", str(root)])
    aid = args.assignment
    if not course.notebook_path("source", aid, root).is_file():
        p.error(f"no source/{aid}/{aid}.ipynb in {root}; assignments: {', '.join(course.assignment_ids(root))}")
    return _run(args, root, aid)


def _run(args, root: Path, aid: str) -> int:
    code = 0
    if args.command == "check":
        problems = check(root, aid)
        print("\n".join(problems) if problems else f"release/{aid}: in sync with source/, no solution or hidden test")
        return 1 if problems else 0
    if args.command in ("collect", "grade") and (args.exchange or args.source):
        if args.exchange:
            done = _nbgrader(root, "collect", aid, "--update")
            print(done.stdout + done.stderr)
            code |= done.returncode
        else:
            students, problems = collect(root, aid, args.source)
            print(f"collected {len(students)} submissions into submitted/: {', '.join(students)}")
            for problem in problems:
                print("  skipped:", problem)
        if args.command == "collect":
            return code
    if args.command in ("autograde", "grade"):
        limits = autograder.Limits()
        results = autograder.grade_assignment(root, aid, None, limits, args.show_hidden_tests, jobs=max(1, args.jobs))
        code |= 0 if all(r.status == "graded" for r in results) else 1
    if args.command in ("feedback", "grade"):
        done = _nbgrader(root, "generate_feedback", aid, "--force")
        print(f"feedback written to feedback/ (nbgrader exit {done.returncode})")
        code |= done.returncode
    if args.command in ("export", "grade"):
        rows = export(root, aid)
        if args.output:
            with open(args.output, "w", newline="") as f:
                _write_csv(rows, f)
            print(f"{len(rows)} rows written to {args.output}")
        else:
            _write_csv(rows, sys.stdout)
    if args.command in ("summary", "grade"):
        rows = summary(root, aid)
        print(f"\n{'test':34} {'points':>6} {'mean':>6} {'failed':>10}")
        for r in rows:
            print(f"{r['test']:34} {r['points']:6g} {r['mean']:6.2f} {r['failed']:4d} of {r['students']:<3d}")
        buffer = io.StringIO()
        _write_csv(rows, buffer)
        (root / "autograded").mkdir(exist_ok=True)
        (root / "autograded" / f"summary_{aid}.csv").write_text(buffer.getvalue())
    return code
