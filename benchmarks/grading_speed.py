"""How fast a class is graded: plain `nbgrader autograde` against ours with --jobs 1 and --jobs 2.

    python benchmarks/grading_speed.py            # 40 submissions of a01 (about 10 minutes on 2 cores)
    python benchmarks/grading_speed.py --n 8      # a quick look

The submissions are a mix, as a class hands them in: correct, partial (odd or even tasks
solved), blank, and a few hostile ones (test helpers rebound, os._exit, a flood of output,
copying the worked solution). Each grader gets a fresh copy of the same course, one after the
other in one run, so they share the machine's load. Writes benchmarks/grading.json, which
benchmarks/run.py shows in RESULTS.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from dlcourse import grading  # noqa: E402
from dlcourse.grading import autograder  # noqa: E402

AID = "a01_activations_backprop"
HOSTILE = {
    "rebinds": "import torch\ntorch.allclose = lambda *a, **k: True\ndef relu(x):\n    return x",
    "exits": "import os\nos._exit(0)",
    "floods": "print('x' * 5_000_000)\ndef relu(x):\n    return x.clamp(min=0)",
    "copier": "import json, pathlib\nsrc = pathlib.Path(COURSE) / 'solutions' / AID / (AID + '.ipynb')\n"
              "for c in json.loads(src.read_text())['cells']:\n"
              "    if c['metadata'].get('nbgrader', {}).get('solution'):\n        exec(''.join(c['source']))",
}


def _course(where: Path) -> Path:
    course = where / "course"
    course.mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    for kind in ("source", "release", "solutions"):
        shutil.copytree(ROOT / kind / AID, course / kind / AID)
    _nbgrader(course, "generate_assignment", AID, "--force")
    return course


def _nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
    return subprocess.run([sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={course}"],
                          cwd=course, env=env, capture_output=True, text=True)


def submissions(n: int, course: Path) -> dict[str, nbformat.NotebookNode]:
    source, release = grading.notebook_path("source", AID, ROOT), grading.notebook_path("release", AID, ROOT)
    tasks = [k for k in grading.task_points(source) if k is not None]
    kinds = ["correct", "odd", "even", "blank", "correct", "odd", "correct", "blank", "even", "hostile"]
    out, hostile = {}, list(HOSTILE)
    for i in range(n):
        kind = kinds[i % len(kinds)]
        if kind == "hostile":
            nb = grading.partial_submission(source, release, tasks)
            name = hostile[(i // len(kinds)) % len(hostile)]
            code = HOSTILE[name].replace("COURSE", repr(str(course))).replace("AID", repr(AID))
            next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "task1_relu").source = code
            kind = name
        elif kind == "blank":
            nb = nbformat.read(str(release), as_version=4)
        else:
            chosen = {"correct": tasks, "odd": tasks[::2], "even": tasks[1::2]}[kind]
            nb = grading.partial_submission(source, release, chosen)
        out[f"s{i:02d}_{kind}"] = nb
    return out


def _submit(course: Path, subs: dict) -> None:
    for student, nb in subs.items():
        path = grading.notebook_path(f"submitted/{student}", AID, course)
        path.parent.mkdir(parents=True)
        nbformat.write(nb, str(path))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=40, help="submissions")
    args = p.parse_args(argv)
    rows = {}
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
        for label, jobs in (("plain nbgrader autograde", None), ("ours --jobs 1", 1), ("ours --jobs 2", 2)):
            course = _course(Path(tmp) / label.replace(" ", "_"))
            subs = submissions(args.n, course)
            _submit(course, subs)
            start = time.perf_counter()
            if jobs is None:
                _nbgrader(course, "autograde", AID, "--force")
                graded = len(list((course / "autograded").glob(f"*/{AID}/{AID}.ipynb")))
            else:  # the instructor's command, in a process of its own as an instructor runs it
                subprocess.run([sys.executable, "-m", "dlcourse.grading", "--root", str(course), "autograde", AID,
                                "--jobs", str(jobs)], cwd=course, capture_output=True, text=True)
                graded = len(autograder.record.read_status(course, AID))
            wall = time.perf_counter() - start
            rows[label] = {"submissions": args.n, "graded": graded, "wall_s": round(wall, 1),
                           "s_per_submission": round(wall / args.n, 2)}
            print(f"{label:26} {wall:7.1f} s for {args.n} ({wall / args.n:.2f} s each, {graded} graded)", flush=True)
    plain, one, two = (rows[k]["wall_s"] for k in rows)
    summary = {"rows": rows, "ours_jobs1_vs_plain": round(one / plain, 2), "jobs2_speedup": round(one / two, 2),
               "machine": f"{platform.machine()}, {os.cpu_count()} cores", "date": dt.date.today().isoformat()}
    (HERE / "grading.json").write_text(json.dumps(summary, indent=2) + "\n")
    from benchmarks import run  # RESULTS.md shows it next to the training recipes

    store = HERE / "results.json"
    (HERE / "RESULTS.md").write_text(run.render(json.loads(store.read_text()) if store.exists() else {}))
    print(f"ours --jobs 1 / plain: {summary['ours_jobs1_vs_plain']}x; --jobs 2 speed-up: {summary['jobs2_speedup']}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
