"""dlcourse: the support package of *Deep Learning Architectures, built step by step*.

Reference implementations of the course's architectures, the offline-first data layer,
one training loop, plots, widgets and student self-checks. Start a notebook with::

    import dlcourse
    device = dlcourse.setup(seed=0)
"""
__version__ = "0.1.0"

from . import data
from .checks import CheckError, check_close, check_dtype, check_like_torch, check_shape, grad_check
from .device import (autocast_dtype, fast_mode, get_device, seed_everything, setup)
from .environment import env_report
from .train import History, evaluate, fit, predict

# Submodules load on first use (`dlcourse.models.MLP`), so `import dlcourse` stays quick.
_SUBMODULES = {"activations", "autograd", "checks", "device", "environment", "exercises", "layers", "losses",
               "models", "plot", "train", "weight_init", "widgets"}  # not grading: the course never imports it


def __getattr__(name: str):
    if name in _SUBMODULES:
        import importlib
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'dlcourse' has no attribute {name!r}")


__all__ = [
    "data", "setup", "get_device", "fast_mode", "seed_everything", "autocast_dtype", "env_report",
    "fit", "evaluate", "predict", "History",
    "check_close", "check_like_torch", "check_shape", "check_dtype", "grad_check", "CheckError",
]
