"""How fast a class is graded: plain `nbgrader autograde` against ours with --jobs 1 and --jobs 2.

    python benchmarks/grading_speed.py            # 40 submissions of a01 (about 10 minutes on 2 cores)
    python benchmarks/grading_speed.py --n 8      # a quick look
    python benchmarks/grading_speed.py --aid a04_resnet_cifar10 --n 10   # one that trains in the grader

The submissions are a mix, as a class hands them in: correct, partial (odd or even tasks
solved), blank, and a few hostile ones (a01: test helpers rebound, os._exit, a flood of output,
copying the worked solution; any other assignment: its attack from tests/grading_attacks.py). Each grader gets a fresh copy of the same course, one after the
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


def _course(where: Path, aid: str) -> Path:
    course = where / "course"
    course.mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    for kind in ("source", "release", "solutions"):
        shutil.copytree(ROOT / kind / aid, course / kind / aid)
    _nbgrader(course, "generate_assignment", aid, "--force")
    return course


def _nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
    return subprocess.run([sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={course}"],
                          cwd=course, env=env, capture_output=True, text=True)


def _attack(aid: str, release: Path) -> nbformat.NotebookNode:
    sys.path.insert(0, str(ROOT / "tests"))
    from grading_attacks import attacker

    return attacker(nbformat.read(str(release), as_version=4), aid)


def submissions(n: int, course: Path, aid: str = AID) -> dict[str, nbformat.NotebookNode]:
    source, release = grading.notebook_path("source", aid, ROOT), grading.notebook_path("release", aid, ROOT)
    tasks = [k for k in grading.task_points(source) if k is not None]
    kinds = ["correct", "odd", "even", "blank", "correct", "odd", "correct", "blank", "even", "hostile"]
    out, hostile = {}, list(HOSTILE)
    for i in range(n):
        kind = kinds[i % len(kinds)]
        if kind == "hostile" and aid != AID:
            nb, kind = _attack(aid, release), "attack"
        elif kind == "hostile":
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


def _submit(course: Path, subs: dict, aid: str) -> None:
    for student, nb in subs.items():
        path = grading.notebook_path(f"submitted/{student}", aid, course)
        path.parent.mkdir(parents=True)
        nbformat.write(nb, str(path))


def read_grading() -> dict:
    """benchmarks/grading.json: {assignment: its measurement} (an older file held a01's alone)."""
    path = HERE / "grading.json"
    if not path.exists():
        return {}
    g = json.loads(path.read_text())
    return {AID: g} if "rows" in g else g


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=40, help="submissions")
    p.add_argument("--aid", default=AID, help=f"the assignment (default {AID})")
    args = p.parse_args(argv)
    aid = args.aid
    rows = {}
    with tempfile.TemporaryDirectory(prefix="grading-bench-") as tmp:
        for label, jobs in (("plain nbgrader autograde", None), ("ours --jobs 1", 1), ("ours --jobs 2", 2)):
            course = _course(Path(tmp) / label.replace(" ", "_"), aid)
            subs = submissions(args.n, course, aid)
            _submit(course, subs, aid)
            start = time.perf_counter()
            if jobs is None:
                _nbgrader(course, "autograde", aid, "--force")
                graded = len(list((course / "autograded").glob(f"*/{aid}/{aid}.ipynb")))
            else:  # the instructor's command, in a process of its own as an instructor runs it
                subprocess.run([sys.executable, "-m", "dlcourse.grading", "--root", str(course), "autograde", aid,
                                "--jobs", str(jobs)], cwd=course, capture_output=True, text=True)
                graded = len(autograder.record.read_status(course, aid))
            wall = time.perf_counter() - start
            rows[label] = {"submissions": args.n, "graded": graded, "wall_s": round(wall, 1),
                           "s_per_submission": round(wall / args.n, 2)}
            print(f"{label:26} {wall:7.1f} s for {args.n} ({wall / args.n:.2f} s each, {graded} graded)", flush=True)
    plain, one, two = (rows[k]["wall_s"] for k in rows)
    summary = {"rows": rows, "ours_jobs1_vs_plain": round(one / plain, 2), "jobs2_speedup": round(one / two, 2),
               "machine": f"{platform.machine()}, {os.cpu_count()} cores", "date": dt.date.today().isoformat()}
    (HERE / "grading.json").write_text(json.dumps({**read_grading(), aid: summary}, indent=2) + "\n")
    from benchmarks import run  # RESULTS.md shows it next to the training recipes

    store = HERE / "results.json"
    (HERE / "RESULTS.md").write_text(run.render(json.loads(store.read_text()) if store.exists() else {}))
    print(f"ours --jobs 1 / plain: {summary['ours_jobs1_vs_plain']}x; --jobs 2 speed-up: {summary['jobs2_speedup']}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
