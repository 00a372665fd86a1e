"""The data layer under graders that run side by side on one cache (issue 16 item 6): two real
processes build the same derived folder or array at once, and each reads a complete one.

The deterministic half (a second builder never removes a published folder) is in
tests/test_data_folders.py; here the real race, started together from a fresh cache.
"""
from __future__ import annotations

import os
import subprocess
import sys

_FOLDER = """
from dlcourse.data import cifar10_folder
root = cifar10_folder(("airplane", "automobile"), train_per_class=40, test_per_class=20)
for _ in range(20):  # read every file while the other process may be publishing
    for f in sorted(root.rglob("*.jpg")):
        f.read_bytes()
print(root)
"""

_ARRAYS = """
import time, warnings
import numpy as np
from dlcourse.data.sources import cached_arrays
warnings.simplefilter("error")  # a 'corrupted, rebuilding' warning fails the run

def build():
    time.sleep(0.5)  # both processes are inside build() together
    return {"x": np.arange(200_000, dtype=np.int64).reshape(400, 500), "y": np.ones(7)}

for _ in range(30):
    got = cached_arrays("race", build)
    assert got["x"].sum() == 199_999 * 200_000 // 2 and got["y"].sum() == 7
print("ok")
"""


def _together(script: str, cache) -> list[str]:
    env = {**os.environ, "DLCOURSE_CACHE": str(cache)}
    procs = [subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), "\n".join(err for _, err in outs)
    return [out for out, _ in outs]


def test_two_processes_build_and_read_one_image_folder(tmp_path):
    outs = _together(_FOLDER, tmp_path / "cache")
    assert outs[0] == outs[1]
    assert len(list((tmp_path / "cache" / "image_folders").iterdir())) == 1  # no copy left behind


def test_two_processes_build_and_read_one_derived_array(tmp_path):
    """np.savez writes the same bytes for the same arrays, so the second writer's rename leaves
    the first one's checksum true: neither reader sees a mismatch."""
    assert _together(_ARRAYS, tmp_path / "cache") == ["ok\n", "ok\n"]
    derived = sorted(p.name for p in (tmp_path / "cache" / "derived").iterdir())
    assert derived == ["race.npz", "race.npz.sha256"]
