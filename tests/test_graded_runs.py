"""A graded training run scores the same on every CPU (issue 16, item 5): dlcourse.device.graded_run.

fp32 kernels take other code paths on other CPUs, and a few hundred training steps turn that
rounding into another accuracy. One machine can take the code paths of older CPUs when told
to (``ATEN_CPU_CAPABILITY``, ``ONEDNN_MAX_CPU_ISA``, ``MKL_CBWR``): in fp32 a03's worked
solution then scored 95.75% natively and 95.70% with SSE 4.1 paths (seed 0, an AMD EPYC with
AVX-512); in float64, as graded now, 94.65% both times. This test runs the hidden test's own
driver (``benchmarks/tier_margins.py``) both ways and needs the same number.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
OLD_CPU = {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41", "MKL_CBWR": "COMPATIBLE"}


def _graded_score(aid: str, extra_env: dict) -> str:
    env = {**os.environ, "OMP_NUM_THREADS": "1", **extra_env}
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "tier_margins.py"), aid, "--seeds", "1"],
                         capture_output=True, text=True, env=env, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    found = re.search(r"seeds 0-0: ([0-9.]+)", out.stdout)
    assert found, out.stdout[-2000:]
    return found.group(1)


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the code-path switches are x86's")
def test_a03s_graded_score_is_the_same_on_the_code_paths_of_another_cpu():
    native, old_cpu = _graded_score("a03", {}), _graded_score("a03", OLD_CPU)
    assert native == old_cpu, f"seed 0 scored {native} natively and {old_cpu} with {OLD_CPU}"


def test_graded_run_trains_in_float64_without_autocast_and_restores():
    from dlcourse.device import graded, graded_run, resolve_amp

    with graded_run():
        assert torch.get_default_dtype() == torch.float64
        assert resolve_amp("auto", torch.device("cpu"), torch.nn.Conv2d(3, 64, 3)) is None
        assert graded(torch.ones(2)).dtype == torch.float64 and graded(torch.ones(2, dtype=torch.long)).dtype == torch.long
    with graded_run(torch.float32):
        assert torch.get_default_dtype() == torch.float32
        assert resolve_amp("auto", torch.device("cpu"), torch.nn.Conv2d(3, 64, 3)) is None
    assert torch.get_default_dtype() == torch.float32


# The code paths an AVX2-only x86-64 CPU takes, forced on this one.
AVX2_CPU = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
            "OMP_NUM_THREADS": "2"}


def _has_avx512() -> bool:
    try:
        return "avx512f" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the code-path switches are x86's")
def test_a04s_fp32_graded_run_trains_the_same_bits_on_another_cpus_code_paths():
    """a04 and a05 train in fp32 in dlcourse.graded_process: the weights must not move by one bit when
    the machine offers other kernels (an AVX2-only CPU's, two threads). Natively they do, on a CPU
    with AVX-512, which shows the switches reach the kernels (else this test could not fail)."""
    from dlcourse.exercises.assignments.a04_resnet_cifar10 import read_recipe
    from dlcourse.graded_process import run_graded

    recipe = read_recipe({"batch_size": 64, "optimizer": "adamw", "lr": 2e-3, "schedule": "one_cycle"})
    runs = {(portable, bool(env)): run_graded("a04", recipe=recipe, seed=0, n_train=320, portable=portable, env=env)
            for portable in (True, False) for env in ({}, AVX2_CPU)}
    here, there = runs[True, False], runs[True, True]
    assert here["digest"] == there["digest"] and here["accuracy"] == there["accuracy"], runs
    if _has_avx512():
        assert runs[False, False]["digest"] != runs[False, True]["digest"], \
            f"natively, AVX2's kernels trained the same bits as AVX-512's: the switches did nothing ({runs})"


def test_a_graded_process_refuses_an_unknown_job_and_says_why_a_run_failed():
    from dlcourse.graded_process import run_graded

    with pytest.raises(ValueError, match="unknown graded job"):
        run_graded("os.system", command="true")
    with pytest.raises(RuntimeError, match="the graded run 'a04' failed"):
        run_graded("a04", recipe={"batch_size": "all"}, seed=0)
