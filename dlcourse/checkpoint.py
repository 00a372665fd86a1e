"""Save and resume a training run so that the resumed run IS the uninterrupted one.

``fit(..., checkpoint=path, resume=True)`` calls these. A checkpoint written after epoch k holds
everything the next epoch depends on: weights, optimizer and scheduler states, the gradient
scaler, the history, the loop's own counters (step, early-stopping patience, best weights),
and every random number generator the next epoch draws from: torch's (dropout, a shuffling
loader without its own generator), CUDA's and MPS's, Python's and NumPy's (augmentations),
and the generator of the training loader's shuffling sampler. Restoring fewer of them gives a
run that trains fine but is not the same run, which a test could not tell from a bug.

The file loads with ``torch.load(weights_only=True)`` (plain containers and tensors only), so
opening a checkpoint never runs code from it.
"""
from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import torch

__all__ = ["save_checkpoint", "load_checkpoint", "loader_generators"]


def loader_generators(loader) -> list[torch.Generator]:
    """The generators that decide a DataLoader's shuffling order (the loader's and its sampler's)."""
    found: list[torch.Generator] = []
    for g in (getattr(loader, "generator", None), getattr(getattr(loader, "sampler", None), "generator", None)):
        if isinstance(g, torch.Generator) and all(g is not f for f in found):
            found.append(g)
    return found


def _rng_state(generators: Iterable[torch.Generator]) -> dict:
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "mps": torch.mps.get_rng_state() if torch.backends.mps.is_available() else None,
        "python": random.getstate(),
        # NumPy's key is an ndarray, which weights_only loading refuses: store it as a tensor.
        "numpy": (name, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss),
        "generators": [g.get_state() for g in generators],
    }


def _set_rng_state(state: dict, generators: list[torch.Generator]) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if state["mps"] is not None and torch.backends.mps.is_available():
        torch.mps.set_rng_state(state["mps"])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    if len(state["generators"]) != len(generators):
        raise ValueError(f"the checkpoint's training loader had {len(state['generators'])} shuffling generator(s), "
                         f"this one has {len(generators)}: build the loader the same way to resume the same run.")
    for g, s in zip(generators, state["generators"]):
        g.set_state(s)


def save_checkpoint(path: str | Path, *, model: torch.nn.Module, optimizers: Mapping[str, torch.optim.Optimizer],
                    schedulers: list, scaler, history: dict, steps: dict, loop: dict, loader) -> None:
    """Write the run's state to ``path`` atomically (a crash mid-write leaves the previous checkpoint)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "model": model.state_dict(),
        "optimizers": {name: opt.state_dict() for name, opt in optimizers.items()},
        "schedulers": [s.state_dict() for s in schedulers],
        "scaler": scaler.state_dict() if scaler is not None else None,
        "history": {k: list(v) for k, v in history.items()},
        "steps": {k: list(v) for k, v in steps.items()},
        "loop": dict(loop),
        "rng": _rng_state(loader_generators(loader)),
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path, *, model: torch.nn.Module, optimizers: Mapping[str, torch.optim.Optimizer],
                    schedulers: list, scaler, loader) -> tuple[dict, dict, dict]:
    """Restore every object from ``path`` in place; return (history, steps, loop counters)."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    if set(state["optimizers"]) != set(optimizers) or len(state["schedulers"]) != len(schedulers):
        raise ValueError(f"{path} was saved with optimizers {sorted(state['optimizers'])} and "
                         f"{len(state['schedulers'])} scheduler(s); this fit has {sorted(optimizers)} and "
                         f"{len(schedulers)}. Resume with the same setup, or start a new checkpoint file.")
    model.load_state_dict(state["model"])
    for name, opt in optimizers.items():
        opt.load_state_dict(state["optimizers"][name])
    for sched, s in zip(schedulers, state["schedulers"]):
        sched.load_state_dict(s)
    if scaler is not None and state["scaler"] is not None:
        scaler.load_state_dict(state["scaler"])
    _set_rng_state(state["rng"], loader_generators(loader))
    return state["history"], state["steps"], state["loop"]
