"""The grader's initialisation: every tensor a layer takes started the way PyTorch starts that layer.

What a student's process sends as "initial weights" could be anything (weights trained on the test
split, a table of its answers), so the grader trains a design from its own start."""
from __future__ import annotations

import torch

from dlcourse.model_spec.ops import ModelSpecError

# Where PyTorch's layers take their tensors: (call, argument position) -> how the layer starts it.
# "weight": U(-1/sqrt(fan_in), 1/sqrt(fan_in)), nn.Conv*'s and nn.Linear's kaiming_uniform(a=sqrt(5));
# "bias": the same bound, with the fan-in of the weight in that call; norms start at 1 and 0;
# "embedding": N(0, 1), the padding row 0; "recurrent": every weight and bias of nn.RNN/LSTM/GRU
# U(-1/sqrt(hidden), 1/sqrt(hidden)), the list of them at position 2 of the call.
_ROLES = {**{f"aten.{op}": {1: "weight", 2: "bias"} for op in (
              "conv1d.default", "conv2d.default", "conv2d.padding", "conv_transpose2d.input", "linear.default")},
          **{f"aten.{op}": {1: "ones", 2: "zeros", 3: "statistic:zeros", 4: "statistic:ones"} for op in (
              "batch_norm.default", "instance_norm.default")},
          **{f"aten.{op}": {2: "ones", 3: "zeros"} for op in ("layer_norm.default", "group_norm.default")},
          "aten.prelu.default": {1: "prelu"}, "aten.embedding.default": {0: "embedding"}}
_RECURRENT = {f"aten.{op}" for op in ("lstm.input", "gru.input", "rnn_tanh.input", "rnn_relu.input")}
_KWARG_POSITIONS = {"weight": 1, "bias": 2, "running_mean": 3, "running_var": 4}
MAX_KEPT = 64   # numbers a design may carry that the grader does not initialise (a learned scale, a step count)


def _fan_in(weight: torch.Tensor) -> int:
    return int(weight.shape[1] * (weight[0][0].numel() if weight.dim() > 2 else 1)) if weight.dim() >= 2 else 1


def _ref(arg, names: list):
    if isinstance(arg, dict) and isinstance(arg.get("node"), int) and arg["node"] < len(names):
        return names[arg["node"]]
    return None


def _roles(spec: dict) -> tuple[dict, dict]:
    """{tensor name: (role, scale)} for tensors a layer takes, and {name: first call} for the others."""
    roles, other, tensors = {}, {}, spec["tensors"]
    for mode in ("train", "eval"):
        graph = spec["graphs"][mode]
        names = [None if kind == "user_input" else (f"constant:{t}" if kind == "constant_tensor" else t)
                 for kind, t in graph["inputs"]]
        for op, args, kwargs in graph["nodes"]:
            at = dict(enumerate(args)) | {_KWARG_POSITIONS[k]: v for k, v in kwargs.items() if k in _KWARG_POSITIONS}
            if op in _RECURRENT and isinstance(at.get(2), list):   # (input, hx, params, has_biases, ...)
                weights = [_ref(a, names) for a in at.pop(2)]
                w_hh = tensors.get(weights[1]) if len(weights) > 1 and weights[1] else None
                hidden = int(w_hh.shape[-1]) if w_hh is not None and w_hh.dim() == 2 else 1
                for name in weights:
                    if name is not None and name not in roles:
                        roles[name] = ("recurrent", hidden)
            refs = {i: n for i, a in at.items() if (n := _ref(a, names)) is not None}
            weight = tensors.get(refs.get(1))
            for i, name in refs.items():
                role = _ROLES.get(op, {}).get(i)
                if role == "embedding":
                    padding = args[2] if len(args) > 2 and isinstance(args[2], int) else -1
                    roles.setdefault(name, (role, padding))
                elif role and name not in roles:
                    roles[name] = (role, _fan_in(weight) if weight is not None else 1)
                elif not role:
                    other.setdefault(name, op)
    return roles, {k: v for k, v in other.items() if k not in roles}


def _draw(role: str, scale: int, t: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    if role in ("weight", "bias", "recurrent"):
        bound = 1 / scale ** 0.5 if scale > 0 else 0.0
        return (torch.rand(t.shape, generator=g, dtype=torch.float64) * 2 - 1).mul_(bound).to(t.dtype)
    if role == "embedding":
        w = torch.randn(t.shape, generator=g, dtype=torch.float64).to(t.dtype)
        if 0 <= scale < len(w):
            w[scale] = 0   # nn.Embedding(padding_idx=...) starts that row at zero
        return w
    return torch.full_like(t, {"ones": 1.0, "zeros": 0.0, "prelu": 0.25}[role.removeprefix("statistic:")])


def layer_parameters(spec: dict) -> set:
    """The tensors a layer learns (weights, biases, norms' scales and shifts, embeddings, recurrent
    weights; not BatchNorm's running statistics): parameters whatever the traced model called them."""
    return {name for name, (role, _) in _roles(spec)[0].items() if not role.startswith("statistic:")}


def initialised(spec: dict, seed: int = 0, max_kept: int = MAX_KEPT) -> dict:
    """``spec`` with every tensor a layer takes started the way PyTorch starts that layer, drawn
    from ``seed`` here; BatchNorm's statistics reset. Tensors no layer takes are kept as sent, at
    most ``max_kept`` numbers in all (an integer counter is reset to 0)."""
    roles, other = _roles(spec)
    tensors, kept = dict(spec["tensors"]), {}
    for name, op in other.items():
        t = tensors[name]
        if not t.is_floating_point() and t.numel() <= 1:
            tensors[name] = torch.zeros_like(t)
        else:
            kept[name] = (t.numel(), op)
    if sum(n for n, _ in kept.values()) > max_kept:
        named = ", ".join(f"{name.removeprefix('constant:')} ({n:,} numbers, used by {op})"
                          for name, (n, op) in sorted(kept.items(), key=lambda kv: -kv[1][0])[:4])
        raise ModelSpecError(f"the design carries tensors that no convolution, linear, norm, embedding or recurrent "
                             f"layer takes: {named}. The grader trains a design from PyTorch's own initialisation "
                             f"of each layer and keeps at most {max_kept} other numbers; build the model from nn "
                             "layers.")
    g = torch.Generator().manual_seed(seed)
    for name in tensors:   # in the spec's order, so the draw is the same everywhere
        if name in roles:
            tensors[name] = _draw(*roles[name], tensors[name], g)
    return {**spec, "tensors": tensors}
