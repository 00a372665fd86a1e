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
