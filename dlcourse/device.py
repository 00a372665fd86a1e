"""Same code on every device: pick the device, the precision, the threads and the seeds.

Every notebook starts with ``dlcourse.setup()``. It picks CUDA, then Apple MPS, then the
CPU; flushes denormal floats (they made LSTM/GRU training 9-14x slower on a CPU without
it); seeds Python, NumPy and PyTorch; and returns the device. ``autocast_dtype`` decides
whether mixed precision helps on that device, so the training loop never has to ask.
"""
from __future__ import annotations

import os
import platform
import random
import sys
from contextlib import contextmanager, nullcontext

import numpy as np
import torch
from torch import nn

from dlcourse.profiling import count_params

__all__ = [
    "get_device", "setup", "seed_everything", "autocast_dtype", "autocast",
    "needs_grad_scaler", "resolve_amp", "cpu_has_fast_bf16", "fast_mode", "precision_note", "CPU_BF16_MIN_PARAMS",
    "graded_run",
    "graded",
]


def fast_mode() -> bool:
    """True when ``DLCOURSE_FAST`` is set to 1/true/yes: notebooks shrink their budget.

    CI and the test suite set it; students leave it unset and get the full run.
    """
    return os.environ.get("DLCOURSE_FAST", "").strip().lower() in {"1", "true", "yes", "on"}


def get_device(prefer: str | None = None) -> torch.device:
    """The best available device: CUDA, then MPS, then CPU.

    ``prefer`` (or the ``DLCOURSE_DEVICE`` environment variable) forces one, e.g. "cpu".
    """
    prefer = prefer or os.environ.get("DLCOURSE_DEVICE")
    if prefer:
        device = torch.device(prefer)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(
                f"device {prefer!r} was requested but CUDA is not available here; "
                "unset DLCOURSE_DEVICE or pass prefer='cpu'.")
        if device.type == "mps" and not _mps_available():
            raise RuntimeError(
                f"device {prefer!r} was requested but Apple MPS is not available here; "
                "unset DLCOURSE_DEVICE or pass prefer='cpu'.")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps and mps.is_available())


def cpu_has_fast_bf16() -> bool:
    """True when this CPU computes bf16 natively (AMX tiles or AVX512-BF16).

    Without such hardware, bf16 autocast on a CPU is emulated and gains nothing, so we
    detect rather than assume.
    """
    cpu = getattr(torch, "cpu", None)
    for probe in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"):
        fn = getattr(cpu, probe, None)
        try:
            if fn is not None and fn():
                return True
        except Exception:  # a probe missing from this torch build counts as "no"
            pass
    return False


def autocast_dtype(device: torch.device | str) -> torch.dtype | None:
    """The mixed-precision dtype that helps on ``device``, or None for plain fp32.

    bf16 on CUDA GPUs that support it and on CPUs with fast bf16; fp16 (with a
    GradScaler, see ``needs_grad_scaler``) on older GPUs; off on MPS and slow CPUs.
    """
    device = torch.device(device)
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and cpu_has_fast_bf16():
        return torch.bfloat16
    return None


# On a CPU with native bf16, autocast made convolutional nets ~3x faster and an 800-800 MLP
# ~1.7x faster, but a 64-256-128-10 digits MLP 4x *slower*: below about a million weights the
# casts cost more than the matrix products save. dlcourse.fit's amp="auto" skips such models.
CPU_BF16_MIN_PARAMS = 1_000_000


def precision_note(device: torch.device | str) -> str:
    """Where mixed precision applies on ``device``, for a student reading setup()'s line.

    Autocast happens only inside ``dlcourse.fit`` (amp="auto"); a chapter's own tensors and
    functions always compute in the dtype they were created with (float32 by default).
    """
    amp = autocast_dtype(device)
    if amp is None:
        return "precision: float32 everywhere (no mixed precision on this device)"
    where = ("for convolutional nets and models of 1M+ weights"
             if torch.device(device).type == "cpu" else "for every model")
    return (f"precision: float32, except inside dlcourse.fit, which autocasts to "
            f"{str(amp).replace('torch.', '')} {where}")


def _benefits_from_cpu_bf16(model: nn.Module | None) -> bool:
    if model is None:
        return True
    has_conv = any(isinstance(m, nn.modules.conv._ConvNd) for m in model.modules())
    return has_conv or count_params(model) >= CPU_BF16_MIN_PARAMS


def resolve_amp(amp, device: torch.device, model: nn.Module | None = None) -> torch.dtype | None:
    """The autocast dtype for ``fit(amp=...)``: "auto" (bf16 on a CPU with fast bf16 for conv nets and models
    of CPU_BF16_MIN_PARAMS+ weights; the device's choice elsewhere), True (wherever the device supports it), False, or a dtype."""
    if amp in (None, False):
        return None
    if amp == "auto" and _GRADED_RUNS:
        return None  # a graded run computes in one dtype on every machine, bf16 hardware or not
    if amp == "auto" and device.type == "cpu" and not _benefits_from_cpu_bf16(model):
        return None
    if amp in (True, "auto"):
        return autocast_dtype(device)
    if isinstance(amp, torch.dtype):
        return amp
    raise ValueError(f"amp must be 'auto', True, False or a torch dtype; got {amp!r}.")


def needs_grad_scaler(dtype: torch.dtype | None) -> bool:
    """fp16 gradients underflow without loss scaling; bf16 and fp32 do not need it."""
    return dtype == torch.float16


def autocast(device: torch.device | str, dtype: torch.dtype | None):
    """A context manager: autocast to ``dtype`` on ``device``, or nothing when dtype is None."""
    device = torch.device(device)
    if dtype is None:
        return nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and PyTorch (all devices) so reruns give the same numbers."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds CUDA and MPS generators


def use_deterministic_algorithms(mode: bool) -> None:
    """``torch.use_deterministic_algorithms(mode, warn_only=True)`` without importing torch._inductor.

    torch's function imports the whole compiler stack (2-3 s at every kernel start here, 6-7 s on a
    loaded machine) only to set inductor's flag; eager code needs only the C++ switch. Inductor's
    flag is set too when the compiler is already loaded (a notebook that called torch.compile).
    """
    setter = getattr(torch._C, "_set_deterministic_algorithms", None)
    if setter is None:  # a torch without the private switch: the public call, slower but the same
        torch.use_deterministic_algorithms(mode, warn_only=True)
        return
    setter(mode, warn_only=True)
    inductor_config = sys.modules.get("torch._inductor.config")
    if inductor_config is not None:
        inductor_config.deterministic = mode


def setup(seed: int = 0, threads: int | None = None, deterministic: bool = True,
          prefer: str | None = None, quiet: bool = False) -> torch.device:
    """Prepare a notebook or script: seeds, threads, denormals, determinism; return the device.

    threads: CPU threads for PyTorch. Default: ``$DLCOURSE_THREADS`` or ``$OMP_NUM_THREADS`` when
        set (the test suite runs one notebook per core with one thread each: more threads than
        cores make OpenMP spin and run many times slower), else every core this process may use.
    deterministic: ask PyTorch for deterministic kernels where it has them (warn, not fail).
    """
    seed_everything(seed)
    torch.set_flush_denormal(True)
    if threads is None:
        threads = int(os.environ.get("DLCOURSE_THREADS") or os.environ.get("OMP_NUM_THREADS") or _usable_cores())
    torch.set_num_threads(max(1, threads))
    if deterministic:
        use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    device = get_device(prefer)
    if not quiet:
        print(f"device: {device} | threads: {torch.get_num_threads()} | seed: {seed}"
              f"{' | FAST mode' if fast_mode() else ''}\n{precision_note(device)}")
    return device


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no sched_getaffinity
        return os.cpu_count() or 1


def describe_device(device: torch.device | str) -> str:
    """One line naming the hardware behind ``device``."""
    device = torch.device(device)
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return f"{props.name}, {props.total_memory / 2**30:.0f} GiB"
    if device.type == "mps":
        return f"Apple GPU (MPS) on {platform.machine()}"
    return f"{platform.processor() or platform.machine()}, {_usable_cores()} cores" + (
        ", fast bf16" if cpu_has_fast_bf16() else "")


_GRADED_RUNS = 0  # graded_run()s open now: fit(amp="auto") then autocasts nothing


@contextmanager
def graded_run(dtype: torch.dtype = torch.float64):
    """A graded training run's setting, the same on every machine: one CPU thread (a sum's order
    then does not depend on the core count), deterministic kernels, denormals flushed, and float64
    as the default dtype (build the model and cast the data inside: :func:`graded`); and
    ``fit(amp="auto")`` autocasts nothing, where it would pick bf16 on CPUs that have it.

    Why float64: fp32 kernels take different code paths on different CPUs (AVX2, AVX-512, oneDNN's
    and MKL's own dispatch), and a run of a few hundred steps turns that rounding into a different
    accuracy. Measured on one AMD EPYC, forcing the code paths other CPUs take
    (``ATEN_CPU_CAPABILITY``, ``ONEDNN_MAX_CPU_ISA``, ``MKL_CBWR``): a03's LeNet-5 scored 95.75,
    95.40 and 95.70% with seed 0 in fp32, and 94.65% all three times in fp64
    (``tests/test_graded_runs.py`` holds a03 to that). It costs about 2-3x the time of fp32.
    Restores what it changed."""
    global _GRADED_RUNS
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    default = torch.get_default_dtype()
    fill = torch.utils.deterministic.fill_uninitialized_memory
    _GRADED_RUNS += 1
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True, warn_only=True)
    # Deterministic mode also fills every new tensor with NaN, to catch reads of memory no kernel
    # wrote: 15% of a04's epoch, and no kernel of a graded run reads such memory.
    torch.utils.deterministic.fill_uninitialized_memory = False
    torch.set_flush_denormal(True)
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        _GRADED_RUNS -= 1
        torch.set_default_dtype(default)
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)
        torch.utils.deterministic.fill_uninitialized_memory = fill


def graded(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` in the default dtype if it holds floats (inside :func:`graded_run`: float64);
    token ids and labels stay as they are."""
    return tensor.to(torch.get_default_dtype()) if tensor.is_floating_point() else tensor
