"""The device helper: same code on every device, seeds, denormals, precision choice."""
from __future__ import annotations

import subprocess
import sys

import pytest
import torch

import dlcourse
from dlcourse import device as dev


def test_picks_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.delenv("DLCOURSE_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert dev.get_device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(dev, "_mps_available", lambda: True)
    assert dev.get_device().type == "mps"
    monkeypatch.setattr(dev, "_mps_available", lambda: False)
    assert dev.get_device().type == "cpu"


def test_forcing_an_absent_device_says_how_to_fix_it(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("DLCOURSE_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="unset DLCOURSE_DEVICE"):
        dev.get_device()
    monkeypatch.setenv("DLCOURSE_DEVICE", "cpu")
    assert dev.get_device() == torch.device("cpu")


def test_mixed_precision_choice(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert dev.autocast_dtype("cuda") == torch.bfloat16
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert dev.autocast_dtype("cuda") == torch.float16 and dev.needs_grad_scaler(torch.float16)
    assert dev.autocast_dtype("mps") is None
    monkeypatch.setattr(dev, "cpu_has_fast_bf16", lambda: False)
    assert dev.autocast_dtype("cpu") is None
    monkeypatch.setattr(dev, "cpu_has_fast_bf16", lambda: True)
    assert dev.autocast_dtype("cpu") == torch.bfloat16 and not dev.needs_grad_scaler(torch.bfloat16)


def test_fast_bf16_detection_matches_the_cpu_flags():
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        pytest.skip("no /proc/cpuinfo")
    expected = "amx_bf16" in flags or "avx512_bf16" in flags
    assert dev.cpu_has_fast_bf16() == expected


def test_setup_seeds_flushes_denormals_and_is_repeatable(capsys):
    try:
        device = dlcourse.setup(seed=123, prefer="cpu")
        a = torch.randn(5)
        assert "device: cpu" in capsys.readouterr().out
        dlcourse.setup(seed=123, prefer="cpu", quiet=True)
        assert torch.equal(a, torch.randn(5))
        assert device == torch.device("cpu")
        tiny = torch.tensor([1e-39], dtype=torch.float32)  # a denormal float32
        assert (tiny * 1.0).item() == 0.0, "denormals should be flushed to zero"
    finally:
        torch.set_flush_denormal(False)
        torch.use_deterministic_algorithms(False)


def test_setup_is_deterministic_without_loading_the_compiler():
    # torch.use_deterministic_algorithms imports torch._inductor (seconds at every kernel start)
    code = ("import sys, torch, dlcourse; dlcourse.setup(quiet=True); "
            "assert torch.are_deterministic_algorithms_enabled(); "
            "assert torch.is_deterministic_algorithms_warn_only_enabled(); "
            "assert 'torch._inductor.config' not in sys.modules, 'setup loaded the compiler'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


@pytest.mark.parametrize("value,expected", [("1", True), ("true", True), ("0", False), ("", False), ("no", False)])
def test_fast_mode_reads_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv("DLCOURSE_FAST", value)
    assert dlcourse.fast_mode() is expected


def test_env_report_lists_versions_device_and_data(capsys):
    report = dlcourse.env_report()
    assert report["torch"] == torch.__version__.split("+")[0] or report["torch"].startswith(torch.__version__[:4])
    assert "device" in report and "data: MNIST" in report
    assert "torch" in capsys.readouterr().out


def test_setup_takes_its_thread_count_from_the_environment(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("DLCOURSE_THREADS", "1")
        dlcourse.setup(quiet=True, deterministic=False)
        assert torch.get_num_threads() == 1
        monkeypatch.delenv("DLCOURSE_THREADS")
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
        dlcourse.setup(quiet=True, deterministic=False)
        assert torch.get_num_threads() == dev._usable_cores()
    finally:
        torch.set_num_threads(before)
        torch.set_flush_denormal(False)


def test_setup_says_where_mixed_precision_applies(monkeypatch, capsys):
    """The line a chapter prints must agree with what dlcourse.fit does: a student's own code never autocasts."""
    from dlcourse import train
    from dlcourse.models import MLP
    monkeypatch.setattr(dev, "cpu_has_fast_bf16", lambda: True)
    dlcourse.setup(prefer="cpu", deterministic=False)
    note = capsys.readouterr().out.splitlines()[-1]
    assert note == "precision: float32, except inside dlcourse.fit, which autocasts to bfloat16 " \
                   "for convolutional nets and models of 1M+ weights", note
    assert train._resolve_amp("auto", torch.device("cpu"), MLP([64, 256, 128, 10])) is None
    assert train._resolve_amp("auto", torch.device("cpu"), MLP([1000, 1000, 10])) == torch.bfloat16
    monkeypatch.setattr(dev, "cpu_has_fast_bf16", lambda: False)
    assert dev.precision_note("cpu") == "precision: float32 everywhere (no mixed precision on this device)"


def test_graded_run_is_one_thread_and_deterministic_then_restores():
    import torch

    from dlcourse.device import graded_run

    threads, det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    with graded_run():
        assert torch.get_num_threads() == 1 and torch.are_deterministic_algorithms_enabled()
        assert torch.get_default_dtype() == torch.float64 and torch.nn.Linear(2, 2).weight.dtype == torch.float64
    assert torch.get_num_threads() == threads and torch.are_deterministic_algorithms_enabled() == det
    assert torch.get_default_dtype() == torch.float32
