"""A model of the student's own design, graded from the grader's own copy of it (issue 16).

A test that trains or scores the student's class must not run it in their process: its
``forward`` could look the held-out inputs up in a public copy of the test split, and weights it
sends could have been trained on that split. So the class crosses once, as data
(``dlcourse.model_spec``): ``export_design`` traces ``model_class(*args)`` where it lives, and
``rebuilt_design`` rebuilds it here as a module of allowed ATen calls, every layer started here
the way PyTorch starts it (``model_spec.initialised``). Training, probes and scores then run on
that module in the grader. In a student's own notebook both halves run in place.
"""
from __future__ import annotations

import torch
from torch import nn

from dlcourse.checks import CheckError, beside, is_student_error
from dlcourse.model_spec import MAX_KEPT, ModelSpecError, export_spec, initialised, rebuild

__all__ = ["images", "windows", "token_ids", "sequences", "export_design", "design_spec", "spec_module",
           "student_design", "rebuilt_design", "on_rebuilt"]


# What a design is traced on: {"kind", sizes}, plain data that crosses to the student's process.
def images(shape=(3, 32, 32)) -> dict:
    return {"kind": "images", "shape": list(shape)}


def windows(length: int, features: int = 1) -> dict:
    """Windows of a series, (N, length, features); the length is fixed (a loop over it is fine)."""
    return {"kind": "windows", "length": int(length), "features": int(features)}


def token_ids(vocab_size: int) -> dict:
    """(ids (N, T), lengths (N,)) for any N and T: padded batches of sentences."""
    return {"kind": "tokens", "vocab_size": int(vocab_size)}


def sequences(length: int, vocab_size: int) -> dict:
    """Token ids (N, length) in [0, vocab_size), no padding; the length is fixed."""
    return {"kind": "sequences", "length": int(length), "vocab_size": int(vocab_size)}


def _example(inputs: dict, batch: int, length: int = 12, device: str = "cpu"):
    """Inputs of that kind, and the sizes torch.export may leave free."""
    g = torch.Generator().manual_seed(0)   # its own draw: the global one is the model's to start its layers
    if inputs["kind"] == "images":
        return (torch.randn(batch, *inputs["shape"], generator=g).to(device),), None
    if inputs["kind"] == "windows":
        return (torch.randn(batch, inputs["length"], inputs["features"], generator=g).to(device),), None
    if inputs["kind"] == "sequences":
        return (torch.randint(0, inputs["vocab_size"], (batch, inputs["length"]), generator=g).to(device),), None
    lengths = torch.randint(1, length + 1, (batch,), generator=g)
    lengths[0] = length
    ids = torch.randint(2, max(inputs["vocab_size"], 3), (batch, length), generator=g)
    ids = ids * (torch.arange(length)[None] < lengths[:, None])
    return (ids.to(device), lengths.to(device)), ({0: "batch", 1: "length"}, {0: "batch"})


def export_design(model_class, args: tuple, kwargs: dict, inputs: dict, dtype: str = "float32", seed: int = 0):
    """``model_class(*args, **kwargs)`` as data (``model_spec.export_spec``), built in ``dtype`` (the
    dtype the grader trains it in). Runs where the class lives: while grading, in the student's
    process, and only the spec comes back."""
    from dlcourse.device import seed_everything

    seed_everything(seed)
    default = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, dtype))
    try:
        example, dynamic = _example(inputs, 8)
        example = tuple(x.to(torch.get_default_dtype()) if x.is_floating_point() else x for x in example)
        return export_spec(model_class(*args, **kwargs), example, dynamic)
    finally:
        torch.set_default_dtype(default)


def design_spec(model_class, args: tuple = (), kwargs: dict | None = None, *, inputs: dict,
                dtype: torch.dtype = torch.float32, seed: int = 0, max_kept: int = MAX_KEPT) -> dict:
    """The student's design as checked data, every layer started here with ``seed``: what
    :func:`spec_module` builds, here or in a fresh process of the grader's (``dlcourse.graded_process``).
    A ModelSpecError where it cannot cross, and their class's own exception where it raises.
    max_kept: the numbers no layer takes that the design may carry as it sent them (a learned
    position table in a09)."""
    spec = beside(model_class, export_design)(model_class, tuple(args), dict(kwargs or {}), inputs,
                                              str(dtype).removeprefix("torch."), seed)
    spec_module(spec, inputs, dtype)   # every name, reference and size checked before anything reads it
    return initialised(spec, seed, max_kept)


def spec_module(spec: dict, inputs: dict, dtype: torch.dtype = torch.float32) -> nn.Module:
    """The module of allowed ATen calls that ``spec`` describes, checked on inputs of its kind."""
    example, _ = _example(inputs, 64, 30, device="meta")   # 64 sentences of 30 tokens, for text
    example = tuple(x.to(dtype) if x.is_floating_point() else x for x in example)
    return rebuild(spec, example=example)


def student_design(model_class, args: tuple = (), kwargs: dict | None = None, *, inputs: dict,
                   dtype: torch.dtype = torch.float32, seed: int = 0, max_kept: int = MAX_KEPT) -> nn.Module:
    """The student's design rebuilt here from its spec (:func:`design_spec`), started here with ``seed``."""
    spec = design_spec(model_class, args, kwargs, inputs=inputs, dtype=dtype, seed=seed, max_kept=max_kept)
    return spec_module(spec, inputs, dtype)


def rebuilt_design(model_class, args: tuple = (), kwargs: dict | None = None, *, inputs: dict, name: str,
                   dtype: torch.dtype = torch.float32, seed: int = 0, max_kept: int = MAX_KEPT) -> nn.Module:
    """:func:`student_design`, its failures told in words: a design that cannot cross (it branches on
    a tensor's values, calls what the grader does not run, writes a table into its graph) is a
    CheckError that says why; so is an exception of their class."""
    __tracebackhide__ = True
    call = f"{name}({', '.join([*map(repr, args), *(f'{k}={v!r}' for k, v in (kwargs or {}).items())])})"
    try:
        return student_design(model_class, args, kwargs, inputs=inputs, dtype=dtype, seed=seed, max_kept=max_kept)
    except ModelSpecError as e:
        raise CheckError(f"{call} cannot be graded: {e}") from None
    except Exception as e:  # noqa: BLE001 - the student's class raised: say so; the grader's own errors go on up
        if not is_student_error(e):
            raise
        kind, message = getattr(e, "kind", type(e).__name__), getattr(e, "message", None) or str(e)
        if "NotImplementedError" in kind + message:
            raise CheckError(f"{name} still raises NotImplementedError: write it.") from None
        if "ModelSpecError" in kind:
            raise CheckError(f"{call} cannot be graded: {message}") from None
        raise CheckError(f"{call} raised {kind}: {message}") from None


def on_rebuilt(what: str, fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` on a rebuilt design (a probe, a training run), here; where the design
    fails on it (a shape, a dtype, the time limit) a CheckError names ``what`` and the reason."""
    __tracebackhide__ = True
    try:
        return fn(*args, **kwargs)
    except CheckError:
        raise
    except Exception as e:  # noqa: BLE001 - the rebuilt design failed: say where
        raise CheckError(f"{what} failed: {type(e).__name__}: {str(e)[:300]}") from None
