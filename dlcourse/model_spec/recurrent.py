"""Recurrent layers traced for any sentence length.

``aten.lstm`` (and gru, rnn_tanh, rnn_relu) is a composite operator: tracing it runs its
decomposition, a Python loop over the time steps, which fixes the length of the example. Inside
``length_free()`` nn.LSTM / nn.GRU / nn.RNN call opaque copies of those operators instead
(``torch.library`` custom ops whose fake kernels only compute the output shapes), so the traced
graph holds one call per layer and works for any length. ``ATEN_NAMES`` writes those calls into
the spec as the ATen operators they stand for, which the grader runs."""
from __future__ import annotations

import contextlib

import torch
from torch.nn.modules import rnn as _rnn

_ARGS = ("Tensor input, Tensor[] hx, Tensor[] params, bool has_biases, int num_layers, float dropout, "
         "bool train, bool bidirectional, bool batch_first")
_KINDS = {"lstm": ("lstm.input", 3), "gru": ("gru.input", 2), "rnn_tanh": ("rnn_tanh.input", 2),
          "rnn_relu": ("rnn_relu.input", 2)}
_lib = torch.library.Library("dlcourse_spec", "DEF")


def _define(kind: str, overload: str, outputs: int):
    aten = getattr(torch.ops.aten, overload.split(".")[0]).input
    _lib.define(f"{kind}({_ARGS}) -> ({', '.join(['Tensor'] * outputs)})")

    def real(input, hx, params, *flags):
        out = aten(input, hx if kind == "lstm" else hx[0], params, *flags)
        return tuple(t.clone() for t in out)

    def fake(input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first):
        directions = 2 if bidirectional else 1
        size = list(input.shape[:-1]) + [directions * hx[0].shape[-1]]
        return (input.new_empty(size),) + tuple(h.new_empty(h.shape) for h in hx[:outputs - 1])

    _lib.impl(kind, real, "CompositeExplicitAutograd")
    torch.library.register_fake(f"dlcourse_spec::{kind}", fake, lib=_lib)
    return getattr(torch.ops.dlcourse_spec, kind).default


_OPS = {kind: _define(kind, overload, n) for kind, (overload, n) in _KINDS.items()}
ATEN_NAMES = {op: f"aten.{_KINDS[kind][0]}" for kind, op in _OPS.items()}


class _LengthFreeVF:
    """``torch._VF`` as nn.RNNBase sees it, its unpacked recurrent calls routed to the opaque ops."""

    def __getattr__(self, name):
        found = getattr(torch._VF, name)
        if name not in _OPS:
            return found

        def call(*args):
            if len(args) == 9 and isinstance(args[3], bool):   # (input, hx, params, has_biases, ...): unpacked
                input, hx, params, *flags = args
                hx = list(hx) if isinstance(hx, (tuple, list)) else [hx]
                out = _OPS[name](input, hx, list(params), *flags)
                return out if name == "lstm" else out[0:2]
            return found(*args)   # a PackedSequence: traced as it is (and refused for its data-dependent sizes)
        return call


@contextlib.contextmanager
def length_free():
    """While tracing: nn.LSTM, nn.GRU and nn.RNN keep the sequence length free."""
    before = _rnn._VF
    _rnn._VF = _LengthFreeVF()
    try:
        yield
    finally:
        _rnn._VF = before
