#!/usr/bin/env python3
"""Prove that constraints.txt resolves for every Python version the course supports.

`make` installs `-c constraints.txt -e '.[dev]'`; a pin that drops a Python version (numpy 2.4
needs 3.11) fails only when a student on that version runs it. pip resolves for another
interpreter and platform without installing anything (--dry-run --python-version --platform
--only-binary=:all:), so each pair is checked here from the lists in pyproject.toml:
requires-python and the "Programming Language :: Python :: 3.X" classifiers.

    python .ci/check_constraints.py                 # every supported version
    python .ci/check_constraints.py --python 3.10   # another one (exits 1: numpy 2.4 needs 3.11)

Needs the package index, not an interpreter of each version. --use-feature=fast-deps reads each
wheel's metadata with HTTP range requests, so no 500 MB torch wheel is downloaded (about 2
minutes, 30 s of CPU, for three versions). Linux x86-64 only: pip evaluates environment markers
(torch's `platform_system == "Linux"` CUDA wheels) for the machine it runs on whatever
--platform says, so a resolution for macOS or Windows from here would be wrong.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# pip does not expand manylinux_2_28 to the older glibc tags a wheel may carry: list them.
PLATFORMS = [f"manylinux_2_{minor}_x86_64" for minor in range(28, 16, -1)] + ["manylinux2014_x86_64"]
SHOWN = ("torch", "numpy", "scikit-learn", "jupyterlab")


def supported_pythons(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """The classifiers' 3.X versions, in order; each must satisfy requires-python."""
    project = tomllib.loads(pyproject.read_text())["project"]
    versions = [m.group(1) for c in project.get("classifiers", [])
                if (m := re.fullmatch(r"Programming Language :: Python :: (3\.\d+)", c))]
    floor = re.fullmatch(r">=\s*(3\.\d+)", project["requires-python"].strip())
    if not versions or not floor:
        raise SystemExit("pyproject.toml needs requires-python = \">=3.X\" and Python 3.X classifiers")
    low = tuple(map(int, floor.group(1).split(".")))
    below = [v for v in versions if tuple(map(int, v.split("."))) < low]
    if below or versions[0] != floor.group(1):
        raise SystemExit(f"classifiers {versions} disagree with requires-python {project['requires-python']}")
    return versions


def requirements(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """What `pip install -e '.[dev]'` asks for: the dependencies and every extra."""
    project = tomllib.loads(pyproject.read_text())["project"]
    return list(project["dependencies"]) + [r for extra in project.get("optional-dependencies", {}).values()
                                            for r in extra]


def resolve(python: str, reqs: Path, constraints: Path, out: Path) -> tuple[bool, str]:
    report = out / f"report-{python}.json"
    cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
           "--use-feature=fast-deps", "--only-binary=:all:", "--python-version", python,
           "--implementation", "cp", "-c", str(constraints), "-r", str(reqs), "--report", str(report)]
    for tag in PLATFORMS:
        cmd += ["--platform", tag]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        # Which pin or dependency has nothing for this Python: pip names it in these lines.
        text = (proc.stdout + proc.stderr).splitlines()
        lines = [line.strip() for i, line in enumerate(text)
                 if line.startswith("ERROR") or "(constraint)" in line
                 or (i and "no matching distributions available" in text[i - 1])]
        return False, "\n    ".join(lines[-8:]) or proc.stderr[-2000:]
    got = {i["metadata"]["name"].lower(): i["metadata"]["version"] for i in json.loads(report.read_text())["install"]}
    return True, ", ".join(f"{n} {got.get(n, '?')}" for n in SHOWN)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", action="append", help="a version to check instead of pyproject's list")
    parser.add_argument("--constraints", type=Path, default=ROOT / "constraints.txt")
    args = parser.parse_args(argv)
    pythons = args.python or supported_pythons()
    start = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        reqs = out / "requirements.txt"
        reqs.write_text("\n".join(requirements()) + "\n")
        # Network-bound (range requests), about 10 s of CPU each: run them side by side.
        with ThreadPoolExecutor(max_workers=len(pythons)) as pool:
            results = list(pool.map(lambda p: resolve(p, reqs, args.constraints.resolve(), out), pythons))
    failed = 0
    for python, (ok, detail) in zip(pythons, results):
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} Python {python} (Linux x86-64): {detail}")
    print(f"{args.constraints.name}: {len(pythons) - failed}/{len(pythons)} Python versions resolve "
          f"({time.time() - start:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
