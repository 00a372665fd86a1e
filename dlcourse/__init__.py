"""dlcourse: the support package of *Deep Learning Architectures, built step by step*.

Reference implementations of the course's architectures, the offline-first data layer,
one training loop, plots, widgets and student self-checks. Start a notebook with::

    import dlcourse
    device = dlcourse.setup(seed=0)
"""
__version__ = "0.1.0"

from .checks import CheckError, check_close, check_dtype, check_like_torch, check_shape, grad_check
from .device import (autocast_dtype, fast_mode, get_device, seed_everything, setup)

# Everything else loads on first use (`dlcourse.fit`, `dlcourse.models.MLP`), so `import dlcourse`
# costs torch and no more: no matplotlib, no torchvision until a chapter asks for them.
# Not grading: the course never imports it.
_SUBMODULES = {"activations", "autograd", "checks", "checkpoint", "clipping", "data", "device", "environment",
               "exercises", "layers", "losses", "lr_finder", "models", "normalization", "optim", "plot", "regularization",
               "schedules", "train", "weight_init", "widgets", "conv", "profiling"}
_FROM = {"fit": "train", "evaluate": "train", "predict": "train", "History": "train", "env_report": "environment"}


def __getattr__(name: str):
    import importlib
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _FROM:
        return getattr(importlib.import_module(f".{_FROM[name]}", __name__), name)
    raise AttributeError(f"module 'dlcourse' has no attribute {name!r}")


__all__ = [
    "data", "setup", "get_device", "fast_mode", "seed_everything", "autocast_dtype", "env_report",
    "fit", "evaluate", "predict", "History",
    "check_close", "check_like_torch", "check_shape", "check_dtype", "grad_check", "CheckError",
]
