"""An environment report: versions, device, precision, and where each data set is found."""
from __future__ import annotations

import platform
import sys
from importlib import metadata

import torch

from .data import cache_dir, data_report, mirror_dirs
from .device import autocast_dtype, describe_device, fast_mode, get_device

PACKAGES = ("torch", "torchvision", "numpy", "matplotlib", "jupyterlab", "nbgrader", "ipywidgets",
            "scikit-learn", "statsmodels", "tqdm")


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def env_report(print_it: bool = True) -> dict[str, str]:
    """Everything a bug report needs. Prints a table and returns it as a dict."""
    device = get_device()
    amp = autocast_dtype(device)
    report = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        **{name: _version(name) for name in PACKAGES},
        "device": f"{device} ({describe_device(device)})",
        "CUDA available": str(torch.cuda.is_available()),
        "mixed precision": str(amp).replace("torch.", "") if amp else "off (fp32)",
        "fast mode": "on (DLCOURSE_FAST)" if fast_mode() else "off",
        "data cache": str(cache_dir()),
        "data mirrors": ", ".join(map(str, mirror_dirs())) or "none (set DLCOURSE_DATA_MIRRORS)",
    }
    report.update({f"data: {k}": v for k, v in data_report().items()})
    if print_it:
        width = max(map(len, report))
        for key, value in report.items():
            print(f"{key:<{width}}  {value}")
    return report
