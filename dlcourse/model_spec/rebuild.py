"""The grader's side: a spec checked, then rebuilt as a module that calls only allowed operators."""
from __future__ import annotations

import contextlib
import time

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from dlcourse.model_spec.init import layer_parameters
from dlcourse.model_spec.ops import (ALLOWED_OPS, FACTORIES, MAX_LITERALS, MAX_NODES, PYTHON_OPS, VERSION,
                                     ModelSpecError, decode, literals)


MAX_TOTAL = 2**27   # numbers in all the tensors one forward makes (a graph keeps each until it ends)
MAX_FLOPS = 2e10   # one forward of the example batch (64); the course's designs take 0.02-0.7e9
_DEADLINE: list = [None]   # time.monotonic() past which a rebuilt module stops (``time_limit``)


@contextlib.contextmanager
def time_limit(seconds: float):
    """While grading a test: a rebuilt module that runs past ``seconds`` stops between two calls
    with a ModelSpecError. The grader trains it in its own process, where the wire's deadline on
    the student's process does not reach."""
    before = _DEADLINE[0]
    _DEADLINE[0] = time.monotonic() + seconds
    try:
        yield
    finally:
        _DEADLINE[0] = before


class SpecModule(nn.Module):
    """A module rebuilt from a spec: parameters and buffers of its own, graphs of allowed calls."""

    def __init__(self, spec: dict, keys: dict, max_elements: int, device: str = "cpu"):
        super().__init__()
        self._graphs, self._keys, self.max_elements = spec["graphs"], keys, max_elements
        self._device = torch.device(device)
        # what a layer learns is a parameter even where the traced model hid it (a named_parameters()
        # that lies makes torch.export lift the weights as constants): counted and trained as it is
        learned = set(spec["parameters"]) | layer_parameters(spec)
        for name, tensor in spec["tensors"].items():
            flat = keys[name]
            if name in learned and tensor.is_floating_point():
                self.register_parameter(flat, nn.Parameter(tensor.clone()))
            else:
                self.register_buffer(flat, tensor.clone())

    def named_state(self) -> dict:
        """The tensors under the names the student's model gave them (its state-dict keys)."""
        state = dict(self.named_parameters()) | dict(self.named_buffers())
        return {name: state[flat] for name, flat in self._keys.items() if not name.startswith("constant:")}

    def _check(self, op: str, out) -> int:
        """The numbers ``out`` holds, after checking none of its tensors is too large."""
        made = 0
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor) and t.numel() > self.max_elements:
                raise ModelSpecError(f"{op} makes a tensor of {t.numel():,} numbers, more than the "
                                     f"{self.max_elements:,} the grader allows")
            made += t.numel() if isinstance(t, torch.Tensor) else 0
        return made

    def forward(self, *inputs: torch.Tensor):
        graph = self._graphs["train" if self.training else "eval"]
        state = dict(self.named_parameters()) | dict(self.named_buffers())
        given = iter(inputs)
        values = [next(given) if kind == "user_input" else state[self._keys[target if kind != "constant_tensor"
                                                                             else f"constant:{target}"]]
                  for kind, target in graph["inputs"]]
        deadline, total = _DEADLINE[0], 0
        batch = len(inputs[0]) if inputs and inputs[0].dim() else 1
        allowed = MAX_TOTAL * max(batch, 64) / 64   # the limit is per 64 inputs: a batch of 256 may make 4x
        for op, args, kwargs in graph["nodes"]:
            if deadline is not None and time.monotonic() > deadline:
                raise ModelSpecError("the design ran past the time this test may take: make it smaller")
            fn = ALLOWED_OPS.get(op) or PYTHON_OPS[op]
            args = decode(args, values, op, self._device)
            kwargs = {str(k): decode(v, values, op, self._device) for k, v in kwargs.items()}
            if op in FACTORIES:   # the size first, on the meta device: nothing allocated yet
                self._check(op, fn(*args, **{**kwargs, "device": torch.device("meta")}))
            out = fn(*args, **kwargs)
            total += self._check(op, out)
            if total > allowed:
                raise ModelSpecError(f"one forward makes more than {MAX_TOTAL:,} numbers for a batch of 64, more "
                                     "than the grader allows: use fewer or narrower layers")
            values.append(out)
        out = decode(graph["output"], values, "output", self._device)
        return out[0] if isinstance(out, list) and len(out) == 1 else out


def _check_graph(mode: str, graph, tensors: dict, n_inputs: int) -> None:
    if not isinstance(graph, dict) or set(graph) != {"inputs", "nodes", "output"}:
        raise ModelSpecError(f"the spec has no well-formed {mode} graph")
    if len(graph["nodes"]) > MAX_NODES:
        raise ModelSpecError(f"the {mode} graph has {len(graph['nodes'])} calls, more than {MAX_NODES}")
    kinds = [k for k, _ in graph["inputs"]]
    if kinds.count("user_input") != n_inputs:
        raise ModelSpecError(f"the {mode} graph takes {kinds.count('user_input')} inputs, the task {n_inputs}")
    for kind, target in graph["inputs"]:
        name = f"constant:{target}" if kind == "constant_tensor" else target
        if kind != "user_input" and name not in tensors:
            raise ModelSpecError(f"the {mode} graph reads {target!r}, which the spec does not hold")
    for node in graph["nodes"]:
        if not (isinstance(node, list) and len(node) == 3 and isinstance(node[1], list)
                and isinstance(node[2], dict)):
            raise ModelSpecError(f"a call of the {mode} graph is malformed")
        if node[0] not in ALLOWED_OPS and node[0] not in PYTHON_OPS:
            raise ModelSpecError(f"the model calls {node[0]}, which the grader does not run; build it from "
                                 "nn layers (convolutions, norms, activations, pooling, dropout, embeddings, "
                                 "recurrent and linear layers) and tensor arithmetic")
    found = literals(graph)
    if len(found) > MAX_LITERALS:
        shown = ", ".join(f"{v:g}" for v in sorted(found)[:6])
        raise ModelSpecError(f"the {mode} graph writes {len(found)} different numbers into its calls ({shown}, ...), "
                             f"more than the {MAX_LITERALS} the grader allows: a model's sizes and constants are a "
                             "few dozen numbers; values belong in layers, which the grader trains")


def rebuild(spec, *, example_shape=(64, 3, 32, 32), example=None, max_elements: int = 2**25,
            max_flops: float = MAX_FLOPS) -> nn.Module:
    """The module a spec describes, after checking it: names, references, the numbers written into
    its calls, and on the meta device every intermediate's size (at most ``max_elements`` per
    tensor) and the FLOPs of a forward (at most ``max_flops``) for ``example``: meta tensors shaped
    like a batch of the task's inputs (default, a batch of ``example_shape`` images)."""
    if not isinstance(spec, dict) or spec.get("version") != VERSION or not isinstance(spec.get("graphs"), dict):
        raise ModelSpecError("not a model spec of this course's version: make it with dlcourse.model_spec.export_spec")
    tensors, parameters = spec.get("tensors"), spec.get("parameters")
    if not isinstance(tensors, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                                for k, v in tensors.items()):
        raise ModelSpecError("a spec's tensors must be a dict of named tensors")
    if not isinstance(parameters, list) or not set(parameters) <= set(tensors):
        raise ModelSpecError("a spec's parameters must name its tensors")
    if sum(t.numel() for t in tensors.values()) > max_elements:
        raise ModelSpecError(f"the spec's tensors hold more than {max_elements:,} numbers")
    example = example if example is not None else (torch.empty(example_shape, device="meta"),)
    for mode in ("train", "eval"):
        _check_graph(mode, spec["graphs"].get(mode), tensors, len(example))
    keys = {name: f"t{i}" for i, name in enumerate(tensors)}   # dots are not allowed in attribute names
    _check_sizes(spec, keys, example, max_elements, max_flops)
    return SpecModule(spec, keys, max_elements)


def _check_sizes(spec: dict, keys: dict, example: tuple, max_elements: int, max_flops: float) -> None:
    """Run both graphs on the meta device: shapes, dtypes and FLOPs only, nothing computed or allocated."""
    meta = {**spec, "tensors": {k: torch.empty_like(v, device="meta") for k, v in spec["tensors"].items()}}
    module = SpecModule(meta, keys, max_elements, device="meta")
    for mode in (True, False):
        module.train(mode)
        try:
            with FlopCounterMode(display=False) as counter:
                module(*example)
        except ModelSpecError:
            raise
        except Exception as e:  # noqa: BLE001
            shapes = ", ".join(str(tuple(x.shape)) for x in example)
            raise ModelSpecError(f"the model's {'train' if mode else 'eval'} graph fails on inputs of shape "
                                 f"{shapes}: {type(e).__name__}: {str(e)[:300]}") from None
        if counter.get_total_flops() > max_flops:
            raise ModelSpecError(f"one forward pass of a batch of {len(example[0])} takes "
                                 f"{counter.get_total_flops() / 1e9:.1f} GFLOPs, more than the {max_flops / 1e9:g} "
                                 "the grader trains: use fewer or narrower layers")
