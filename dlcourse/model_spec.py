"""A model of the student's own design, carried as data: its graph and its tensors, rebuilt here.

An assignment that grades a student's architecture (a05) must not score what the student's
objects say of themselves: ``parameters()``, ``forward`` and ``state_dict`` are theirs to
override. So the model crosses once, as data: ``export_spec`` (run where the student's class
lives) traces it with ``torch.export`` in training and in eval mode and writes each graph as a
list of ATen calls (names, plain arguments) next to its parameters and buffers. ``rebuild``
(run in the grader) turns that back into an ``nn.Module`` that calls only operators of an
allow-list, after checking every name, every reference and every intermediate size on the
``meta`` device, where nothing is computed or allocated. The counts, the FLOPs, the training
run and the accuracy all come from the rebuilt module, with no student code running.

Why not ``torch.export.save``/``load``: ``load`` unpickles (it falls back to
``weights_only=False``), which runs whatever the bytes ask for. The spec is JSON-shaped data
plus tensors, which the grader's wire already carries without pickle.
"""
from __future__ import annotations

import operator

import torch
from torch import nn

__all__ = ["ModelSpecError", "export_spec", "rebuild", "initialised", "ALLOWED_OPS", "MAX_KEPT"]

VERSION = 1
MAX_NODES = 5000

_aten = torch.ops.aten
# Pure tensor operators a CNN is built from (no file, storage, random-state or factory access:
# aten::from_file reads a file; size-taking ops are checked for size on the meta device first).
_NAMES = """conv1d.default conv2d.default conv2d.padding conv_transpose2d.input linear.default
    batch_norm.default layer_norm.default group_norm.default instance_norm.default
    relu.default relu_.default relu6.default leaky_relu.default leaky_relu_.default gelu.default silu.default
    silu_.default hardswish.default hardswish_.default hardsigmoid.default sigmoid.default tanh.default
    elu.default mish.default softplus.default hardtanh.default hardtanh_.default prelu.default
    max_pool2d.default avg_pool2d.default adaptive_avg_pool2d.default adaptive_max_pool2d.default
    max_pool2d_with_indices.default dropout.default feature_dropout.default alpha_dropout.default
    flatten.using_ints view.default reshape.default permute.default transpose.int t.default contiguous.default
    squeeze.dim unsqueeze.default expand.default clone.default slice.Tensor select.int narrow.default
    cat.default stack.default chunk.default split.Tensor split_with_sizes.default
    add.Tensor add_.Tensor add.Scalar sub.Tensor sub.Scalar mul.Tensor mul_.Tensor mul.Scalar div.Tensor
    div.Scalar neg.default pow.Tensor_Scalar sqrt.default rsqrt.default exp.default abs.default
    mean.dim mean.default sum.dim_IntList amax.default softmax.int log_softmax.int
    matmul.default mm.default bmm.default addmm.default pad.default constant_pad_nd.default
    upsample_nearest2d.vec upsample_bilinear2d.vec channel_shuffle.default pixel_shuffle.default
    sym_size.int""".split()
ALLOWED_OPS = {f"aten.{name}": getattr(getattr(_aten, name.split(".")[0]), name.split(".")[1])
               for name in _NAMES if hasattr(_aten, name.split(".")[0])}
_PYTHON_OPS = {"operator.add": operator.add, "operator.sub": operator.sub, "operator.mul": operator.mul,
               "operator.floordiv": operator.floordiv, "operator.getitem": operator.getitem}
_PYTHON_NAMES = {fn: name for name, fn in _PYTHON_OPS.items()}
_DTYPES = {str(d).removeprefix("torch."): d for d in (torch.float32, torch.float64, torch.float16, torch.bfloat16,
                                                      torch.int64, torch.int32, torch.bool)}


class ModelSpecError(ValueError):
    """The model cannot be carried as data, or a spec asks for what the grader does not run."""


# ----------------------------------------------------------------------------- the student's side
def _encode(arg, index: dict):
    if isinstance(arg, torch.fx.Node):
        return {"node": index[arg.name]}
    if isinstance(arg, (list, tuple)):
        return [_encode(a, index) for a in arg]
    if isinstance(arg, torch.dtype):
        return {"dtype": str(arg).removeprefix("torch.")}
    if isinstance(arg, torch.device):
        return {"device": "cpu"}
    if isinstance(arg, torch.memory_format):
        return {"memory_format": str(arg).removeprefix("torch.")}
    if arg is None or isinstance(arg, (bool, int, float, str)):
        return arg
    raise ModelSpecError(f"the traced model passes a {type(arg).__name__} to an operator, which the spec cannot carry")


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
            op = _PYTHON_NAMES.get(node.target) or str(node.target)
            nodes.append([op, _encode(list(node.args), index), {k: _encode(v, index) for k, v in node.kwargs.items()}])
            index[node.name] = len(index)
        elif node.op == "output":
            output = _encode(node.args[0], index)
        else:
            raise ModelSpecError(f"the traced model has a {node.op} node, which the spec cannot carry")
    return {"inputs": inputs, "nodes": nodes, "output": output}


def export_spec(model: nn.Module, example: torch.Tensor) -> dict:
    """``model`` as data: its training- and eval-mode graphs (batch size free) and its tensors."""
    batch = torch.export.Dim("batch", min=2, max=4096)
    graphs, programs = {}, {}
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    for mode in ("train", "eval"):
        model.train(mode == "train")
        with torch.no_grad():
            model(example)   # the model's own errors first, in its own words, before any tracing
        model.load_state_dict(before)   # that run moved BatchNorm's statistics
        try:
            programs[mode] = torch.export.export(model, (example,), dynamic_shapes=({0: batch},), strict=False)
        except Exception as e:  # noqa: BLE001 - turned into advice
            raise ModelSpecError(
                f"torch.export could not trace the model in {mode} mode ({type(e).__name__}: {str(e)[:300]}). The "
                "grader carries a model as its traced graph: forward may branch on shapes and the mode, not on the "
                "values of a tensor, and must work for any batch size (no hard-coded 64 in a view).") from None
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


# ----------------------------------------------------------------------------- the grader's side
def _decode(arg, values: list, where: str):
    if isinstance(arg, list):
        return [_decode(a, values, where) for a in arg]
    if isinstance(arg, dict):
        if set(arg) == {"node"} and isinstance(arg["node"], int) and 0 <= arg["node"] < len(values):
            return values[arg["node"]]
        if set(arg) == {"dtype"} and arg["dtype"] in _DTYPES:
            return _DTYPES[arg["dtype"]]
        if set(arg) == {"device"}:
            return torch.device("cpu")
        if set(arg) == {"memory_format"} and arg["memory_format"] in ("contiguous_format", "channels_last",
                                                                       "preserve_format"):
            return getattr(torch, arg["memory_format"])
        raise ModelSpecError(f"{where}: an argument {str(arg)[:80]} the spec does not define")
    if arg is None or isinstance(arg, (bool, int, float, str)):
        return arg
    raise ModelSpecError(f"{where}: an argument of type {type(arg).__name__}")


class SpecModule(nn.Module):
    """A module rebuilt from a spec: parameters and buffers of its own, graphs of allowed calls."""

    def __init__(self, spec: dict, keys: dict, max_elements: int):
        super().__init__()
        self._graphs, self._keys, self.max_elements = spec["graphs"], keys, max_elements
        for name, tensor in spec["tensors"].items():
            flat = keys[name]
            if name in spec["parameters"]:
                self.register_parameter(flat, nn.Parameter(tensor.clone()))
            else:
                self.register_buffer(flat, tensor.clone())

    def forward(self, x: torch.Tensor):
        graph = self._graphs["train" if self.training else "eval"]
        state = dict(self.named_parameters()) | dict(self.named_buffers())
        values = [x if kind == "user_input" else state[self._keys[target if kind != "constant_tensor"
                                                                    else f"constant:{target}"]]
                  for kind, target in graph["inputs"]]
        for op, args, kwargs in graph["nodes"]:
            fn = ALLOWED_OPS.get(op) or _PYTHON_OPS[op]
            out = fn(*_decode(args, values, op), **{str(k): _decode(v, values, op) for k, v in kwargs.items()})
            for t in out if isinstance(out, (tuple, list)) else (out,):
                if isinstance(t, torch.Tensor) and t.numel() > self.max_elements:
                    raise ModelSpecError(f"{op} makes a tensor of {t.numel():,} numbers, more than the "
                                         f"{self.max_elements:,} the grader allows")
            values.append(out)
        out = _decode(graph["output"], values, "output")
        return out[0] if isinstance(out, list) and len(out) == 1 else out


def rebuild(spec, *, example_shape=(64, 3, 32, 32), max_elements: int = 2**25) -> nn.Module:
    """The module a spec describes, after checking it: names, references, and on the meta device
    every intermediate's size (at most ``max_elements`` per tensor for a batch of ``example_shape``)."""
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
    for mode in ("train", "eval"):
        graph = spec["graphs"].get(mode)
        if not isinstance(graph, dict) or set(graph) != {"inputs", "nodes", "output"}:
            raise ModelSpecError(f"the spec has no well-formed {mode} graph")
        if len(graph["nodes"]) > MAX_NODES:
            raise ModelSpecError(f"the {mode} graph has {len(graph['nodes'])} calls, more than {MAX_NODES}")
        kinds = [k for k, _ in graph["inputs"]]
        if kinds.count("user_input") != 1:
            raise ModelSpecError(f"the {mode} graph must take exactly one input (the images)")
        for kind, target in graph["inputs"]:
            name = f"constant:{target}" if kind == "constant_tensor" else target
            if kind != "user_input" and name not in tensors:
                raise ModelSpecError(f"the {mode} graph reads {target!r}, which the spec does not hold")
        for node in graph["nodes"]:
            if not (isinstance(node, list) and len(node) == 3 and isinstance(node[1], list)
                    and isinstance(node[2], dict)):
                raise ModelSpecError(f"a call of the {mode} graph is malformed")
            if node[0] not in ALLOWED_OPS and node[0] not in _PYTHON_OPS:
                raise ModelSpecError(f"the model calls {node[0]}, which the grader does not run; build it from "
                                     "convolutions, norms, activations, pooling, dropout, linear layers and "
                                     "tensor arithmetic")
    keys = {name: f"t{i}" for i, name in enumerate(tensors)}   # dots are not allowed in attribute names
    _check_sizes(spec, keys, example_shape, max_elements)
    return SpecModule(spec, keys, max_elements)


def _check_sizes(spec: dict, keys: dict, example_shape, max_elements: int) -> None:
    """Run both graphs on the meta device: shapes and dtypes only, nothing computed or allocated."""
    meta = {**spec, "tensors": {k: torch.empty_like(v, device="meta") for k, v in spec["tensors"].items()}}
    module = SpecModule(meta, keys, max_elements)
    for mode in (True, False):
        module.train(mode)
        try:
            module(torch.empty(example_shape, device="meta"))
        except ModelSpecError:
            raise
        except Exception as e:  # noqa: BLE001
            raise ModelSpecError(f"the model's {'train' if mode else 'eval'} graph fails on a batch of shape "
                                 f"{tuple(example_shape)}: {type(e).__name__}: {str(e)[:300]}") from None


# ----------------------------------------------------------------------------- the grader's initialisation
# Where PyTorch's layers take their tensors: (call, argument position) -> how the layer starts it.
# "weight": U(-1/sqrt(fan_in), 1/sqrt(fan_in)), nn.Conv*'s and nn.Linear's kaiming_uniform(a=sqrt(5));
# "bias": the same bound, with the fan-in of the weight in that call; norms start at 1 and 0.
_ROLES = {**{f"aten.{op}": {1: "weight", 2: "bias"} for op in (
              "conv1d.default", "conv2d.default", "conv2d.padding", "conv_transpose2d.input", "linear.default")},
          **{f"aten.{op}": {1: "ones", 2: "zeros", 3: "zeros", 4: "ones"} for op in (
              "batch_norm.default", "instance_norm.default")},
          **{f"aten.{op}": {2: "ones", 3: "zeros"} for op in ("layer_norm.default", "group_norm.default")},
          "aten.prelu.default": {1: "prelu"}}
_KWARG_POSITIONS = {"weight": 1, "bias": 2, "running_mean": 3, "running_var": 4}
MAX_KEPT = 64   # numbers a design may carry that the grader does not initialise (a learned scale, a step count)


def _fan_in(weight: torch.Tensor) -> int:
    return int(weight.shape[1] * (weight[0][0].numel() if weight.dim() > 2 else 1)) if weight.dim() >= 2 else 1


def _roles(spec: dict) -> tuple[dict, dict]:
    """{tensor name: (role, fan-in)} for tensors a layer takes, and {name: first call} for the others."""
    roles, other = {}, {}
    for mode in ("train", "eval"):
        graph = spec["graphs"][mode]
        names = [None if kind == "user_input" else (f"constant:{t}" if kind == "constant_tensor" else t)
                 for kind, t in graph["inputs"]]
        for op, args, kwargs in graph["nodes"]:
            at = dict(enumerate(args)) | {_KWARG_POSITIONS[k]: v for k, v in kwargs.items() if k in _KWARG_POSITIONS}
            refs = {i: names[a["node"]] for i, a in at.items()
                    if isinstance(a, dict) and isinstance(a.get("node"), int) and a["node"] < len(names)}
            weight = spec["tensors"].get(refs.get(1))
            for i, name in refs.items():
                role = _ROLES.get(op, {}).get(i)
                if name is None:
                    continue
                if role and name not in roles:
                    roles[name] = (role, _fan_in(weight) if weight is not None else 1)
                elif not role:
                    other.setdefault(name, op)
    return roles, {k: v for k, v in other.items() if k not in roles}


def initialised(spec: dict, seed: int = 0) -> dict:
    """``spec`` with every tensor a layer takes started the way PyTorch starts that layer, drawn
    from ``seed`` here; BatchNorm's statistics reset. What a student's process sends as "initial
    weights" could be anything (weights trained on the test images, a table of their answers), so
    the grader trains a design from its own start. Tensors no layer takes are kept as sent, at
    most MAX_KEPT numbers in all (an integer counter is reset to 0)."""
    roles, other = _roles(spec)
    tensors, kept = dict(spec["tensors"]), {}
    for name, op in other.items():
        t = tensors[name]
        if not t.is_floating_point() and t.numel() <= 1:
            tensors[name] = torch.zeros_like(t)
        else:
            kept[name] = (t.numel(), op)
    if sum(n for n, _ in kept.values()) > MAX_KEPT:
        named = ", ".join(f"{name.removeprefix('constant:')} ({n:,} numbers, used by {op})"
                          for name, (n, op) in sorted(kept.items(), key=lambda kv: -kv[1][0])[:4])
        raise ModelSpecError(f"the design carries tensors that no convolution, linear or norm layer takes: {named}. "
                             f"The grader trains a design from PyTorch's own initialisation of each layer and keeps "
                             f"at most {MAX_KEPT} other numbers; build the model from nn layers.")
    g = torch.Generator().manual_seed(seed)
    for name in tensors:   # in the spec's order, so the draw is the same everywhere
        if name not in roles:
            continue
        role, fan_in = roles[name]
        t = tensors[name]
        if role in ("weight", "bias"):
            bound = 1 / fan_in ** 0.5 if fan_in > 0 else 0.0
            tensors[name] = (torch.rand(t.shape, generator=g, dtype=torch.float64) * 2 - 1).mul_(bound).to(t.dtype)
        else:
            tensors[name] = torch.full_like(t, {"ones": 1.0, "zeros": 0.0, "prelu": 0.25}[role])
    return {**spec, "tensors": tensors}
