"""A graded fp32 training run that gives the same bits on every x86-64 CPU (issue 16, item 5).

fp32 kernels take the code path of the CPU they run on: ATen's own kernels pick AVX-512, AVX2 or
plain code (``ATEN_CPU_CAPABILITY``), oneDNN's convolutions pick their ISA and their blocking from
the CPU and its caches, and MKL's matrix products pick theirs (``MKL_CBWR``). Each path sums in
another order, and a few hundred training steps turn that rounding into another accuracy. float64
makes the rounding too small to move a score (a03, a06-a09, a11 train in it), but it ran a04's
ResNet 7.5x slower. So a04 and a05 train in fp32 in a fresh process that takes the one path every
x86-64 CPU has: ATen's plain kernels, no oneDNN nor NNPACK (a convolution is then im2col and one
MKL product), MKL in its ``COMPATIBLE`` mode (the same results on Intel and AMD), one thread.
Measured on one AMD EPYC with AVX-512: a04's graded epoch took 22 s there against 11 s natively,
and the weights it trained came out bit for bit the same when MKL was also held to AVX2 or SSE 4.2,
where the native run's did not (``tests/test_graded_runs.py``).

Only data crosses: the grader writes the job's arguments (a recipe, a rebuilt design's spec: the
grader's own checked copies) with ``torch.save`` and the child reads them with
``weights_only=True``; it returns numbers as JSON. The child never runs student code.

    run_graded("a04", recipe=..., seed=0)     # {"accuracy": ..., "seconds": ..., "digest": ...}
"""
from __future__ import annotations

import hashlib
import importlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

__all__ = ["PORTABLE_ENV", "JOBS", "run_graded", "state_digest"]

# Read when torch and MKL start, so they are set before the child imports torch.
PORTABLE_ENV = {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE",
                "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

# The jobs a child may run: a name, and the grader's function that trains and scores.
JOBS = {
    "a04": "dlcourse.exercises.assignments.a04_resnet_cifar10:scored_recipe",
    "a05": "dlcourse.exercises.assignments.a05_custom_cnn:scored_design",
}


def state_digest(model: torch.nn.Module) -> str:
    """A short hash of every byte of ``model``'s state: equal digests, bit-identical weights."""
    h = hashlib.sha256()
    for name, value in model.state_dict().items():
        h.update(name.encode())
        h.update(value.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]


def run_graded(job: str, *, timeout: float = 600, portable: bool = True, env: dict | None = None, **arguments) -> dict:
    """``JOBS[job](**arguments)`` in a fresh process on the portable code path; its result (a dict of
    numbers). portable=False runs it on this CPU's own path, which only the tests and benchmarks
    want (to show what the portable path removes). env: more variables for the child."""
    if job not in JOBS:
        raise ValueError(f"unknown graded job {job!r}: one of {sorted(JOBS)}")
    child_env = {**os.environ, **(env or {}), **(PORTABLE_ENV if portable else {})}
    with tempfile.TemporaryDirectory(prefix="dlcourse-graded-") as folder:
        torch.save(arguments, Path(folder) / "arguments.pt")
        done = subprocess.run([sys.executable, "-m", "dlcourse.graded_process", job, folder, str(int(portable))],
                              env=child_env, capture_output=True, text=True, timeout=timeout)
        result = Path(folder) / "result.json"
        if done.returncode != 0 or not result.exists():
            raise RuntimeError(f"the graded run {job!r} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
        return json.loads(result.read_text())


def _portable_path_in_force() -> None:
    """The child's own check that the variables took: a run on another path must not score."""
    capability = torch.backends.cpu.get_cpu_capability()
    if os.uname().machine == "x86_64" and capability != "DEFAULT":
        raise RuntimeError(f"ATen runs its {capability} kernels: ATEN_CPU_CAPABILITY=default did not take")
    if torch.get_num_threads() != 1:
        raise RuntimeError(f"torch runs on {torch.get_num_threads()} threads, not 1")


def _main(job: str, folder: str, portable: str) -> None:
    if portable == "1":
        torch.backends.mkldnn.enabled = False   # oneDNN's kernels follow the CPU: im2col + MKL instead
        torch.backends.nnpack.set_flags(False)
        _portable_path_in_force()
    module, name = JOBS[job].split(":")
    score = getattr(importlib.import_module(module), name)
    arguments = torch.load(Path(folder) / "arguments.pt", weights_only=True)
    (Path(folder) / "result.json").write_text(json.dumps(score(**arguments)))


if __name__ == "__main__":
    _main(*sys.argv[1:4])
