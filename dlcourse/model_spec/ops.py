"""What a spec may hold: the operators the grader runs, the plain arguments it decodes, and the
limits on a graph's size and on the numbers written into it."""
from __future__ import annotations

import operator

import torch

VERSION = 2
MAX_NODES = 5000
# Distinct numbers written into a graph's arguments (shapes, kernel sizes, eps, a dropout rate).
# The course's designs use 6-40; a graph that answers a public test split from a table keyed by
# its inputs needs one number per answer (SST-2 dev: 872), since every weight is drawn afresh.
MAX_LITERALS = 160

_aten = torch.ops.aten
# Pure tensor operators the course's models are built from (no file, storage or random-state
# access: aten::from_file reads a file). Factories run on the meta device first (``FACTORIES``).
_NAMES = """conv1d.default conv2d.default conv2d.padding conv_transpose2d.input linear.default
    batch_norm.default layer_norm.default group_norm.default instance_norm.default embedding.default
    lstm.input gru.input rnn_tanh.input rnn_relu.input
    relu.default relu_.default relu6.default leaky_relu.default leaky_relu_.default gelu.default silu.default
    silu_.default hardswish.default hardswish_.default hardsigmoid.default sigmoid.default tanh.default
    elu.default mish.default softplus.default hardtanh.default hardtanh_.default prelu.default
    max_pool2d.default avg_pool2d.default adaptive_avg_pool2d.default adaptive_max_pool2d.default
    max_pool1d.default avg_pool1d.default adaptive_avg_pool1d.default adaptive_max_pool1d.default
    max_pool2d_with_indices.default dropout.default feature_dropout.default alpha_dropout.default
    flatten.using_ints view.default reshape.default permute.default transpose.int t.default contiguous.default
    squeeze.dim squeeze.dims squeeze.default unsqueeze.default expand.default clone.default slice.Tensor
    select.int narrow.default flip.default unbind.int
    cat.default stack.default chunk.default split.Tensor split_with_sizes.default
    index.Tensor index_select.default gather.default masked_fill.Scalar masked_fill.Tensor where.self
    triu.default tril.default scaled_dot_product_attention.default unflatten.int
    lt.Tensor lt.Scalar le.Tensor le.Scalar gt.Tensor gt.Scalar ge.Tensor ge.Scalar eq.Tensor eq.Scalar
    ne.Tensor ne.Scalar logical_not.default logical_and.default
    to.dtype _to_copy.default _assert_tensor_metadata.default detach.default alias.default clamp.default
    clamp_min.default
    add.Tensor add_.Tensor add.Scalar sub.Tensor sub.Scalar rsub.Scalar mul.Tensor mul_.Tensor mul.Scalar
    div.Tensor div.Scalar neg.default pow.Tensor_Scalar sqrt.default rsqrt.default exp.default abs.default
    mean.dim mean.default sum.dim_IntList sum.default amax.default max.dim softmax.int log_softmax.int
    cumsum.default matmul.default mm.default bmm.default addmm.default pad.default constant_pad_nd.default
    upsample_nearest2d.vec upsample_bilinear2d.vec channel_shuffle.default pixel_shuffle.default
    arange.default arange.start arange.start_step zeros.default ones.default zeros_like.default
    ones_like.default full.default sym_size.int""".split()
ALLOWED_OPS = {f"aten.{name}": getattr(getattr(_aten, name.split(".")[0]), name.split(".")[1])
               for name in _NAMES if hasattr(_aten, name.split(".")[0])}
# Operators that make a tensor of a size their arguments name: run on the meta device first, so
# a size of 10**12 is refused before anything is allocated.
FACTORIES = {f"aten.{name}" for name in ("arange.default", "arange.start", "arange.start_step", "zeros.default",
                                         "ones.default", "full.default")}
PYTHON_OPS = {"operator.add": operator.add, "operator.sub": operator.sub, "operator.mul": operator.mul,
              "operator.floordiv": operator.floordiv, "operator.getitem": operator.getitem}
PYTHON_NAMES = {fn: name for name, fn in PYTHON_OPS.items()}
DTYPES = {str(d).removeprefix("torch."): d for d in (torch.float32, torch.float64, torch.float16, torch.bfloat16,
                                                     torch.int64, torch.int32, torch.bool)}


class ModelSpecError(ValueError):
    """The model cannot be carried as data, or a spec asks for what the grader does not run."""


def encode(arg, index: dict):
    """An operator's argument as plain data: a reference to an earlier value, or a literal."""
    if isinstance(arg, torch.fx.Node):
        return {"node": index[arg.name]}
    if isinstance(arg, (list, tuple)):
        return [encode(a, index) for a in arg]
    if isinstance(arg, torch.dtype):
        return {"dtype": str(arg).removeprefix("torch.")}
    if isinstance(arg, torch.device):
        return {"device": "cpu"}
    if isinstance(arg, torch.layout):
        return {"layout": "strided"}
    if isinstance(arg, torch.memory_format):
        return {"memory_format": str(arg).removeprefix("torch.")}
    if arg is None or isinstance(arg, (bool, int, float, str)):
        return arg
    raise ModelSpecError(f"the traced model passes a {type(arg).__name__} to an operator, which the spec cannot carry")


def decode(arg, values: list, where: str, device: torch.device):
    """``encode`` undone, in the grader: references become the values computed so far."""
    if isinstance(arg, list):
        return [decode(a, values, where, device) for a in arg]
    if isinstance(arg, dict):
        if set(arg) == {"node"} and isinstance(arg["node"], int) and 0 <= arg["node"] < len(values):
            return values[arg["node"]]
        if set(arg) == {"dtype"} and arg["dtype"] in DTYPES:
            return DTYPES[arg["dtype"]]
        if set(arg) == {"device"}:
            return device
        if arg == {"layout": "strided"}:
            return torch.strided
        if set(arg) == {"memory_format"} and arg["memory_format"] in ("contiguous_format", "channels_last",
                                                                       "preserve_format"):
            return getattr(torch, arg["memory_format"])
        raise ModelSpecError(f"{where}: an argument {str(arg)[:80]} the spec does not define")
    if arg is None or isinstance(arg, (bool, int, float, str)):
        return arg
    raise ModelSpecError(f"{where}: an argument of type {type(arg).__name__}")


def literals(graph: dict) -> set:
    """The distinct numbers written into a graph's calls (references and flags aside)."""
    found = set()

    def walk(arg):
        if isinstance(arg, list):
            for a in arg:
                walk(a)
        elif isinstance(arg, (int, float)) and not isinstance(arg, bool):
            found.add(float(arg))

    for node in graph["nodes"]:
        walk(node[1]), walk(list(node[2].values()))
    return found
