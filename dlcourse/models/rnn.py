"""Recurrent networks: the Elman RNN, the LSTM and the GRU, from their equations.

Papers: Elman, "Finding structure in time" (Cognitive Science, 1990); Hochreiter &
Schmidhuber, "Long short-term memory" (Neural Computation, 1997), with the forget gate of
Gers, Schmidhuber & Cummins (2000); Cho et al., "Learning phrase representations using RNN
encoder-decoder for statistical machine translation" (EMNLP 2014).

Every cell computes its gates from the input x_t and the previous state h_(t-1) as
W_i* x_t + b_i* + W_h* h_(t-1) + b_h*, with the gate blocks stacked in one weight matrix in
PyTorch's row order (which is what makes its state dicts load here by key copy):

    RNN   h_t = act(W_ih x_t + b_ih + W_hh h_(t-1) + b_hh)            act = tanh or relu
    LSTM  i, f, g, o  (rows in this order)
          i = s(.), f = s(.), o = s(.), g = tanh(.)                   s = sigmoid
          c_t = f * c_(t-1) + i * g,    h_t = o * tanh(c_t)
    GRU   r, z, n  (rows in this order)
          r = s(W_ir x_t + b_ir + W_hr h_(t-1) + b_hr),  z likewise
          n = tanh(W_in x_t + b_in + r * (W_hn h_(t-1) + b_hn))
          h_t = (1 - z) * n + z * h_(t-1)

The GRU's reset gate multiplies (W_hn h + b_hn), as in PyTorch and cuDNN; Cho et al. wrote
W_hn (r * h), a different function with the same parameters: weights trained in one form do
not carry over to the other.

Layers (``RNN``, ``LSTM``, ``GRU``) stack cells: multi-layer (layer l + 1 reads layer l's
outputs, with dropout in between while training), bidirectional (a second chain reads each
sequence from its own last step back to its first; the outputs are concatenated [forward,
reverse]), ``batch_first``, initial states, and variable lengths given as a PackedSequence or
as a padded batch plus ``lengths``. Sequences are masked, not sorted: after a sequence's last
step its state is held, so h_n is the state at its true last step, and its outputs at padded
steps are 0 (what ``pad_packed_sequence`` gives).

Speed: the input projection W_ih x_t + b_ih of all time steps is one matrix product before
the loop; the loop over time is Python, vectorised over the batch. How that compares with
torch's fused kernels (forward + backward, same weights) is measured by
``python benchmarks/rnn_speed.py`` and recorded, with the machine and date, in
``benchmarks/RESULTS.md``.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

__all__ = ["RNNCell", "LSTMCell", "GRUCell", "RNN", "LSTM", "GRU", "recurrent", "from_torch"]

State = tuple[torch.Tensor, ...]     # (h,) for RNN and GRU, (h, c) for LSTM; each (N, H)


# ----------------------------------------------------------------------------- the equations
# One step of each cell, given gx = W_ih x_t + b_ih (computed by the caller: a layer computes it
# for all time steps in one matrix product). Cells and layers both call these, so the equations
# are written once. sigmoid and tanh are torch's fused kernels: this is the reference the
# chapters train with (chapter 03 builds the activations themselves).

def rnn_tanh_step(gx: torch.Tensor, state: State, w_hh: torch.Tensor, b_hh: torch.Tensor | None) -> State:
    h, = state
    return (torch.tanh(gx + F.linear(h, w_hh, b_hh)),)


def rnn_relu_step(gx: torch.Tensor, state: State, w_hh: torch.Tensor, b_hh: torch.Tensor | None) -> State:
    h, = state
    return (torch.relu(gx + F.linear(h, w_hh, b_hh)),)


def lstm_step(gx: torch.Tensor, state: State, w_hh: torch.Tensor, b_hh: torch.Tensor | None) -> State:
    h, c = state
    i, f, g, o = (gx + F.linear(h, w_hh, b_hh)).chunk(4, dim=-1)   # (N, 4H) -> 4 x (N, H)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h = torch.sigmoid(o) * torch.tanh(c)
    return h, c


def gru_step(gx: torch.Tensor, state: State, w_hh: torch.Tensor, b_hh: torch.Tensor | None) -> State:
    h, = state
    x_r, x_z, x_n = gx.chunk(3, dim=-1)
    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, dim=-1)        # h_n = W_hn h + b_hn, reset below
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return ((1 - z) * n + z * h,)


# mode -> (step, gates stacked in W_ih, states per step). A table, looked up on every call, so
# the tests can swap in a faulty step and show that the parity checks catch it.
_STEPS: dict[str, Callable[..., State]] = {
    "RNN_TANH": rnn_tanh_step, "RNN_RELU": rnn_relu_step, "LSTM": lstm_step, "GRU": gru_step}
_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
_N_STATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 2, "GRU": 1}


def _rnn_mode(nonlinearity: str) -> str:
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}.")
    return f"RNN_{nonlinearity.upper()}"


def _init_uniform(module: nn.Module, hidden_size: int) -> None:
    """PyTorch's initialisation for every recurrent weight and bias: U(-1/sqrt(H), 1/sqrt(H))."""
    bound = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
    for p in module.parameters():
        nn.init.uniform_(p, -bound, bound)


# ----------------------------------------------------------------------------- cells
class _Cell(nn.Module):
    """One step of one recurrent layer; names match nn.RNNCell, nn.LSTMCell, nn.GRUCell."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__()
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        rows, factory = _GATES[mode] * hidden_size, {"device": device, "dtype": dtype}
        self.weight_ih = nn.Parameter(torch.empty(rows, input_size, **factory))
        self.weight_hh = nn.Parameter(torch.empty(rows, hidden_size, **factory))
        self.bias_ih = nn.Parameter(torch.empty(rows, **factory)) if bias else None
        self.bias_hh = nn.Parameter(torch.empty(rows, **factory)) if bias else None
        _init_uniform(self, hidden_size)

    def _step(self, x: torch.Tensor, state: State | None) -> State:
        unbatched = x.dim() == 1                                  # (H_in,) as nn.*Cell accepts
        if x.dim() not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(f"{type(self).__name__}: expected input (N, {self.input_size}) or "
                             f"({self.input_size},), got {tuple(x.shape)}.")
        x = x.unsqueeze(0) if unbatched else x
        if state is None:
            state = (x.new_zeros(x.shape[0], self.hidden_size),) * _N_STATES[self.mode]
        else:
            state = tuple(s.unsqueeze(0) if unbatched else s for s in state)
        gx = F.linear(x, self.weight_ih, self.bias_ih)            # (N, G*H)
        new = _STEPS[self.mode](gx, state, self.weight_hh, self.bias_hh)
        return tuple(s.squeeze(0) for s in new) if unbatched else new


class RNNCell(_Cell):
    """h' = act(W_ih x + b_ih + W_hh h + b_hh) (Elman 1990)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device=None, dtype=None):
        super().__init__(_rnn_mode(nonlinearity), input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, x: torch.Tensor, hx: torch.Tensor | None = None) -> torch.Tensor:  # (N, H_in) -> (N, H)
        return self._step(x, None if hx is None else (hx,))[0]


class LSTMCell(_Cell):
    """Gates i, f, g, o; c' = f c + i g, h' = o tanh(c') (Hochreiter & Schmidhuber 1997)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, bias, device, dtype)

    def forward(self, x: torch.Tensor, hx: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:                       # (N, H_in) -> (h, c), each (N, H)
        h, c = self._step(x, hx)
        return h, c


class GRUCell(_Cell):
    """Gates r, z, n; h' = (1 - z) n + z h (Cho et al. 2014, reset applied as in PyTorch)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, bias, device, dtype)

    def forward(self, x: torch.Tensor, hx: torch.Tensor | None = None) -> torch.Tensor:  # (N, H_in) -> (N, H)
        return self._step(x, None if hx is None else (hx,))[0]


# ----------------------------------------------------------------------------- layers
def _run_direction(step: Callable[..., State], gx: torch.Tensor, state: State, w_hh: torch.Tensor,
                   b_hh: torch.Tensor | None, mask: torch.Tensor | None, reverse: bool
                   ) -> tuple[torch.Tensor, State]:
    """One chain over time: gx (L, N, G*H), mask (L, N, 1) or None -> outputs (L, N, H), final state.

    With a mask, a sequence's state is held once it has ended, so the final state is the one at
    its true last step; going backwards, it stays at the initial state until the loop reaches the
    sequence's last step, so each sequence is reversed within its own length.
    """
    # unbind, not gx[t]: the backward of gx[t] writes a zero tensor the size of all of gx at every
    # step (time quadratic in L, 80% of the backward pass at L = 50); unbind's is one stack.
    steps = gx.unbind(0)
    outputs: list[torch.Tensor] = list(steps)                     # placeholders, all overwritten
    for t in (range(len(steps) - 1, -1, -1) if reverse else range(len(steps))):
        new = step(steps[t], state, w_hh, b_hh)
        state = new if mask is None else tuple(torch.where(mask[t], n, s) for n, s in zip(new, state))
        outputs[t] = state[0]
    out = torch.stack(outputs)
    if mask is not None:
        out = out * mask                                          # 0 at padded steps
    return out, state


class _Recurrent(nn.Module):
    """The layer machinery shared by RNN, LSTM and GRU; parameters named as torch names them."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None):
        super().__init__()
        if not (0.0 <= dropout <= 1.0):
            raise ValueError(f"{type(self).__name__}: dropout must be in [0, 1], got {dropout}.")
        if num_layers < 1 or hidden_size < 1:
            raise ValueError(f"{type(self).__name__}: num_layers and hidden_size must be >= 1, "
                             f"got {num_layers} and {hidden_size}.")
        self.mode, self.input_size, self.hidden_size, self.num_layers = mode, input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout, self.bidirectional = bias, batch_first, float(dropout), bidirectional
        self.num_directions = 2 if bidirectional else 1
        rows, factory = _GATES[mode] * hidden_size, {"device": device, "dtype": dtype}
        self._names: list[tuple[str, str, str | None, str | None]] = []   # per (layer, direction)
        for layer in range(num_layers):
            n_in = input_size if layer == 0 else hidden_size * self.num_directions
            for direction in range(self.num_directions):
                sfx = f"_l{layer}" + ("_reverse" if direction else "")
                setattr(self, "weight_ih" + sfx, nn.Parameter(torch.empty(rows, n_in, **factory)))
                setattr(self, "weight_hh" + sfx, nn.Parameter(torch.empty(rows, hidden_size, **factory)))
                if bias:
                    setattr(self, "bias_ih" + sfx, nn.Parameter(torch.empty(rows, **factory)))
                    setattr(self, "bias_hh" + sfx, nn.Parameter(torch.empty(rows, **factory)))
                self._names.append(("weight_ih" + sfx, "weight_hh" + sfx,
                                    "bias_ih" + sfx if bias else None, "bias_hh" + sfx if bias else None))
        _init_uniform(self, hidden_size)

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, bias={self.bias}, "
                f"batch_first={self.batch_first}, dropout={self.dropout}, bidirectional={self.bidirectional}")

    def _fail(self, problem: str):
        raise ValueError(f"{type(self).__name__}: {problem}")

    def _check_features(self, x: torch.Tensor) -> None:
        if x.shape[-1] != self.input_size:
            self._fail(f"expected {self.input_size} input features, got {x.shape[-1]} (input shape {tuple(x.shape)}).")
        if x.dtype != self.weight_ih_l0.dtype:
            self._fail(f"input is {x.dtype} but the weights are {self.weight_ih_l0.dtype}; "
                       f"convert one, e.g. x.to({self.weight_ih_l0.dtype}).")

    def _inputs(self, input, lengths):
        """-> x (L, N, H_in), lengths (N,) or None, how to shape the output back."""
        if isinstance(input, PackedSequence):
            if lengths is not None:
                self._fail("a PackedSequence carries its lengths; pass lengths=None.")
            x, lengths = pad_packed_sequence(input)              # padded, in the caller's batch order
            self._check_features(x)
            return x, lengths, "packed"
        if not isinstance(input, torch.Tensor) or input.dim() not in (2, 3):
            self._fail(f"expected input (L, N, H_in), (N, L, H_in) with batch_first, (L, H_in) for one "
                       f"sequence, or a PackedSequence; got {getattr(input, 'shape', type(input).__name__)}.")
        self._check_features(input)
        if input.dim() == 2:
            x, layout = input.unsqueeze(1), "unbatched"
        else:
            x, layout = (input.transpose(0, 1), "batch_first") if self.batch_first else (input, "seq_first")
        if lengths is not None:
            lengths = torch.as_tensor(lengths)
            if layout == "unbatched" or lengths.shape != (x.shape[1],):
                self._fail(f"lengths must hold one length per sequence, shape ({x.shape[1]},); "
                           f"got shape {tuple(lengths.shape)}.")
            if bool((lengths < 1).any()) or bool((lengths > x.shape[0]).any()):
                self._fail(f"lengths must lie in 1..{x.shape[0]} (the padded length), got {lengths.tolist()}.")
        return x, lengths, layout

    def _initial_states(self, hx, batch: int, x: torch.Tensor, unbatched: bool) -> State:
        n_states = _N_STATES[self.mode]
        shape = (self.num_layers * self.num_directions, batch, self.hidden_size)
        if hx is None:
            return (x.new_zeros(shape),) * n_states
        states = tuple(hx) if n_states == 2 else (hx,)
        if n_states == 2 and len(states) != 2:
            self._fail("hx must be the pair (h_0, c_0).")
        want = (shape[0], shape[2]) if unbatched else shape
        for s in states:
            if tuple(s.shape) != want:
                self._fail(f"each initial state must have shape {want} (num_layers * num_directions, "
                           f"{'' if unbatched else 'N, '}hidden_size), got {tuple(s.shape)}.")
        return tuple(s.unsqueeze(1) if unbatched else s for s in states)

    def _forward(self, input, hx, lengths):
        x, lengths, layout = self._inputs(input, lengths)        # x (L, N, H_in)
        seq_len, batch = x.shape[0], x.shape[1]
        h0 = self._initial_states(hx, batch, x, layout == "unbatched")
        mask = None
        if lengths is not None and bool((lengths < seq_len).any()):
            steps = torch.arange(seq_len, device=x.device)
            mask = (steps[:, None] < lengths.to(x.device)[None, :]).unsqueeze(-1)   # (L, N, 1)
        step = _STEPS[self.mode]
        finals: list[State] = []
        for layer in range(self.num_layers):
            outs = []
            for direction in range(self.num_directions):
                k = layer * self.num_directions + direction
                w_ih, w_hh, b_ih, b_hh = (None if n is None else getattr(self, n) for n in self._names[k])
                gx = F.linear(x, w_ih, b_ih)                      # every time step in one product: (L, N, G*H)
                out, state = _run_direction(step, gx, tuple(s[k] for s in h0), w_hh, b_hh, mask,
                                            reverse=direction == 1)
                outs.append(out)
                finals.append(state)
            x = torch.cat(outs, dim=-1) if len(outs) > 1 else outs[0]     # (L, N, D*H)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)
        h_n = tuple(torch.stack([f[j] for f in finals]) for j in range(len(h0)))   # (layers*D, N, H)
        if layout == "packed":
            x = _repack(x, lengths, input)
        elif layout == "batch_first":
            x = x.transpose(0, 1)
        elif layout == "unbatched":
            x, h_n = x.squeeze(1), tuple(s.squeeze(1) for s in h_n)
        return x, h_n


def _repack(out: torch.Tensor, lengths: torch.Tensor, like: PackedSequence) -> PackedSequence:
    """Padded outputs (L, N, F) in the caller's order -> a PackedSequence laid out like ``like``."""
    order = like.sorted_indices
    if order is not None:
        out, lengths = out.index_select(1, order), lengths.index_select(0, order.cpu())
    keep = torch.arange(out.shape[0])[:, None] < lengths[None, :]   # (L, N): time-major, as packing is
    return PackedSequence(out[keep.to(out.device)], like.batch_sizes, like.sorted_indices, like.unsorted_indices)


class RNN(_Recurrent):
    """Elman RNN layers; ``forward(input, h_0=None, lengths=None) -> (output, h_n)``, as nn.RNN."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device=None, dtype=None):
        super().__init__(_rnn_mode(nonlinearity), input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx: torch.Tensor | None = None, lengths: torch.Tensor | None = None):
        # (L, N, H_in) -> output (L, N, D*H), h_n (num_layers*D, N, H); batch_first: (N, L, ...)
        out, (h_n,) = self._forward(input, hx, lengths)
        return out, h_n


class LSTM(_Recurrent):
    """LSTM layers; ``forward(input, (h_0, c_0)=None, lengths=None) -> (output, (h_n, c_n))``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, proj_size: int = 0,
                 device=None, dtype=None):
        if proj_size:   # in nn.LSTM's slot, so a positional call lands where torch's would
            raise ValueError(f"LSTM: proj_size={proj_size} (a projected hidden state, Sak et al. 2014) is left out of "
                             "dlcourse on purpose; leave proj_size=0, or use torch.nn.LSTM for it.")
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device, dtype)

    def forward(self, input, hx: tuple[torch.Tensor, torch.Tensor] | None = None,
                lengths: torch.Tensor | None = None):
        # (L, N, H_in) -> output (L, N, D*H), (h_n, c_n) each (num_layers*D, N, H)
        out, (h_n, c_n) = self._forward(input, hx, lengths)
        return out, (h_n, c_n)


class GRU(_Recurrent):
    """GRU layers; ``forward(input, h_0=None, lengths=None) -> (output, h_n)``, as nn.GRU."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False, device=None,
                 dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device, dtype)

    def forward(self, input, hx: torch.Tensor | None = None, lengths: torch.Tensor | None = None):
        # (L, N, H_in) -> output (L, N, D*H), h_n (num_layers*D, N, H)
        out, (h_n,) = self._forward(input, hx, lengths)
        return out, h_n


# ----------------------------------------------------------------------------- builders
RECURRENT = {"rnn": RNN, "lstm": LSTM, "gru": GRU}


def recurrent(kind: str, input_size: int, hidden_size: int, **options) -> _Recurrent:
    """``recurrent("lstm", 100, 128, num_layers=2, bidirectional=True)``: a layer by name."""
    if kind not in RECURRENT:
        raise ValueError(f"recurrent: kind must be one of {sorted(RECURRENT)}, got {kind!r}.")
    return RECURRENT[kind](input_size, hidden_size, **options)


def from_torch(theirs: nn.RNNBase) -> _Recurrent:
    """Ours, configured like the given nn.RNN / nn.LSTM / nn.GRU and holding a copy of its weights."""
    kinds = {nn.RNN: "rnn", nn.LSTM: "lstm", nn.GRU: "gru"}
    if type(theirs) not in kinds:
        raise TypeError(f"from_torch: expected nn.RNN, nn.LSTM or nn.GRU, got {type(theirs).__name__}.")
    if getattr(theirs, "proj_size", 0):
        raise ValueError("from_torch: LSTM projections (proj_size > 0) are not built here.")
    options = dict(num_layers=theirs.num_layers, bias=theirs.bias, batch_first=theirs.batch_first,
                   dropout=theirs.dropout, bidirectional=theirs.bidirectional)
    if isinstance(theirs, nn.RNN):
        options["nonlinearity"] = theirs.nonlinearity
    w = theirs.weight_ih_l0
    ours = recurrent(kinds[type(theirs)], theirs.input_size, theirs.hidden_size, **options, device=w.device,
                     dtype=w.dtype)
    ours.load_state_dict(theirs.state_dict())
    return ours
