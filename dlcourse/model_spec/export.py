"""The student's side: a model traced where it lives, written down as data."""
from __future__ import annotations

import warnings

import torch
from torch import nn

from dlcourse.model_spec.ops import PYTHON_NAMES, VERSION, ModelSpecError, encode
from dlcourse.model_spec.recurrent import ATEN_NAMES, length_free

BATCH = {0: "batch"}


def _graph(program) -> dict:
    sig = {s.arg.name: s for s in program.graph_signature.input_specs}
    inputs, nodes, index, output = [], [], {}, None
    for node in program.graph.nodes:
        if node.op == "placeholder":
            spec = sig[node.name]
            kind = spec.kind.name.lower()   # parameter, buffer, constant_tensor, user_input
            inputs.append([kind, spec.target])
            index[node.name] = len(index)
        elif node.op == "call_function":
            op = PYTHON_NAMES.get(node.target) or ATEN_NAMES.get(node.target) or str(node.target)
            args = list(node.args)
            if op in ATEN_NAMES.values() and op != "aten.lstm.input":
                args[1] = args[1][0]   # gru and rnn take one hidden state, not a list (recurrent.py)
            nodes.append([op, encode(args, index), {k: encode(v, index) for k, v in node.kwargs.items()}])
            index[node.name] = len(index)
        elif node.op == "output":
            output = encode(node.args[0], index)
        else:
            raise ModelSpecError(f"the traced model has a {node.op} node, which the spec cannot carry")
    return {"inputs": inputs, "nodes": nodes, "output": output}


def _dims(examples: tuple, dynamic) -> tuple:
    """torch.export's dynamic shapes: each named size free (a batch of any size, a sentence of any length)."""
    dynamic = dynamic if dynamic is not None else tuple(BATCH for _ in examples)
    named = {}
    for dims in dynamic:
        for name in dims.values():
            named.setdefault(name, torch.export.Dim(name, min=2, max=4096))
    return tuple({axis: named[name] for axis, name in dims.items()} for dims in dynamic)


def _export(model: nn.Module, examples: tuple, dims: tuple):
    """torch.export's program of ``model``: traced by running it (non-strict), or where that fixes a
    free size (``len(x)`` makes a Python int of the batch) by TorchDynamo (strict), which keeps
    ``len`` symbolic. The first error is the one reported."""
    with length_free(), warnings.catch_warnings():
        # nn.RNNBase re-assigns its _flat_weights while traced: torch.export warns, harmlessly
        warnings.filterwarnings("ignore", message="The tensor attributes")
        try:
            return torch.export.export(model, examples, dynamic_shapes=dims, strict=False)
        except Exception as first:  # noqa: BLE001
            try:
                return torch.export.export(model, examples, dynamic_shapes=dims, strict=True)
            except Exception:  # noqa: BLE001
                raise first from None


def export_spec(model: nn.Module, example, dynamic=None) -> dict:
    """``model`` as data: its training- and eval-mode graphs and its tensors.

    example: the input, or a tuple of inputs (token ids and lengths). dynamic: for each input,
    {axis: name} of the sizes left free (default: axis 0, the batch), e.g. ``({0: "batch", 1:
    "length"}, {0: "batch"})`` for (ids, lengths)."""
    examples = example if isinstance(example, tuple) else (example,)
    dims = _dims(examples, dynamic)
    graphs, programs = {}, {}
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    for mode in ("train", "eval"):
        model.train(mode == "train")
        with torch.no_grad():
            model(*examples)   # the model's own errors first, in its own words, before any tracing
        model.load_state_dict(before)   # that run moved BatchNorm's statistics
        try:
            programs[mode] = _export(model, examples, dims)
        except Exception as e:  # noqa: BLE001 - turned into advice
            free = " and ".join(sorted({n for d in (dynamic or (BATCH,)) for n in d.values()}))
            raise ModelSpecError(
                f"torch.export could not trace the model in {mode} mode ({type(e).__name__}: {str(e)[:300]}). The "
                "grader carries a model as its traced graph: forward may branch on shapes and the mode, not on the "
                f"values of a tensor, and must work for any {free} (no hard-coded 64 in a view, no Python loop "
                "over a tensor's values).") from None
        graphs[mode] = _graph(programs[mode])
    model.train()
    tensors = {}
    for program in (programs["train"], programs["eval"]):
        for spec in program.graph_signature.input_specs:
            kind = spec.kind.name
            if kind in ("PARAMETER", "BUFFER"):
                found = program.state_dict.get(spec.target, program.constants.get(spec.target))
                tensors.setdefault(spec.target, found.detach().clone())
            elif kind == "CONSTANT_TENSOR":
                tensors.setdefault(f"constant:{spec.target}", program.constants[spec.target].detach().clone())
            elif kind != "USER_INPUT":
                raise ModelSpecError(f"the traced model takes a {kind.lower()}, which the spec cannot carry")
    parameters = [s.target for s in programs["train"].graph_signature.input_specs if s.kind.name == "PARAMETER"]
    return {"version": VERSION, "graphs": graphs, "tensors": tensors, "parameters": parameters}
