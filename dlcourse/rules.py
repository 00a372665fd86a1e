"""The rules an exercise sets: ``forbid`` turns torch's ready-made functions into a ``CheckError``
while a block runs (where a check reaches the student's code: :mod:`dlcourse.reach`).

Re-exported by ``dlcourse.checks``, where exercises import them from.
"""
from __future__ import annotations

import contextlib
import importlib
from typing import Iterable, Iterator

import torch

from dlcourse.errors import CheckError

__all__ = ["READY_MADE_ACTIVATIONS", "forbid", "forbidden_now"]

# The one list of torch's ready-made activations that an exercise "built from elementary ops"
# may not call (the chapters' references obey it too: tests/test_activations.py).
READY_MADE_ACTIVATIONS = tuple(f"{owner}.{name}" for owner, names in (
    ("torch", ("relu", "relu_", "sigmoid", "sigmoid_", "tanh", "tanh_", "softmax", "log_softmax", "prelu",
               "selu", "celu", "rrelu")),
    ("torch.nn.functional", ("relu", "relu_", "relu6", "leaky_relu", "prelu", "elu", "selu", "celu", "gelu",
                             "silu", "mish", "sigmoid", "tanh", "softmax", "log_softmax", "softplus",
                             "logsigmoid", "hardtanh", "hardsigmoid", "hardswish")),
    ("torch.special", ("expit", "softmax", "log_softmax")),
    ("torch.Tensor", ("relu", "relu_", "sigmoid", "sigmoid_", "tanh", "tanh_", "softmax", "log_softmax")),
) for name in names)

_FORBIDDEN: list[tuple[tuple[str, ...], str]] = []  # (names, rule) of every active `forbid` block


def _owner(dotted: str):
    module, _, attr = dotted.rpartition(".")
    if module == "torch.Tensor":
        return torch.Tensor, attr
    return importlib.import_module(module), attr


@contextlib.contextmanager
def forbid(names: Iterable[str] = READY_MADE_ACTIVATIONS,
           rule: str = "this exercise builds it from elementary operations") -> Iterator[None]:
    """While the block runs, calling any of ``names`` (dotted, e.g. ``"torch.relu"``) raises a
    CheckError that names the function and the rule. Used by exercises and their tests."""
    names = tuple(names)
    saved = []
    for dotted in names:
        owner, attr = _owner(dotted)
        if not hasattr(owner, attr):
            continue  # an older torch without this function

        def banned(*args, _dotted=dotted, **kwargs):
            __tracebackhide__ = True
            raise CheckError(f"your code called {_dotted}, which is not allowed here: {rule}.")
        saved.append((owner, attr, attr in vars(owner), vars(owner).get(attr)))
        setattr(owner, attr, banned)
    _FORBIDDEN.append((names, rule))
    try:
        yield
    finally:
        _FORBIDDEN.pop()
        for owner, attr, own, old in reversed(saved):
            if own:
                setattr(owner, attr, old)
            else:
                delattr(owner, attr)


def forbidden_now() -> list[tuple[tuple[str, ...], str]]:
    """(names, rule) of each active `forbid` block: the grader forwards them to the student's process."""
    return list(_FORBIDDEN)
