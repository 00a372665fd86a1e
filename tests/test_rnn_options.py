"""The recurrent layers' and cells' torch options (issue 22): device= and dtype= as factory arguments,
torch's positional order (LSTM's proj_size slot, refused in words), and one unbatched sequence
compared with torch in values and in every gradient (input, initial states, each parameter).

Comparisons pass the parameters as inputs (torch.func.functional_call) through ``check_like_torch``,
whose allowed error is measured from a float64 (for float64 modules: float32) shadow.
"""
import inspect

import pytest
import torch
import torch.nn as nn
from torch.func import functional_call

from dlcourse.checks import CheckError, check_like_torch
from dlcourse.models import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell, rnn

L, H_IN, H = 6, 3, 4
LAYERS = {"rnn": (RNN, nn.RNN), "lstm": (LSTM, nn.LSTM), "gru": (GRU, nn.GRU)}
CELLS = {"rnn": (RNNCell, nn.RNNCell), "lstm": (LSTMCell, nn.LSTMCell), "gru": (GRUCell, nn.GRUCell)}


def _x(*shape, dtype=torch.float64, seed=0):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype)


def _seeded(cls, *args, **kwargs):
    torch.manual_seed(0)
    return cls(*args, **kwargs)


def _as_function(module, n_inputs):
    """f(*inputs, *parameters): the module with its parameters swapped in, outputs flattened."""
    names = [n for n, _ in module.named_parameters()]

    def f(*xs):
        inputs, params = xs[:n_inputs], xs[n_inputs:]
        x, states = inputs[0], inputs[1:]
        hx = None if not states else tuple(states) if len(states) == 2 else states[0]
        out = functional_call(module, dict(zip(names, params)), (x, hx))
        flat = []
        for o in out if isinstance(out, tuple) else (out,):
            flat += list(o) if isinstance(o, tuple) else [o]
        return tuple(flat)

    f.__signature__ = inspect.Signature([inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD)
                                         for n in [f"input{i}" for i in range(n_inputs)] + names])
    return f, [p.detach() for p in module.parameters()]


def _like_torch(name, ours, theirs, *inputs):
    f_ours, _ = _as_function(ours, len(inputs))
    f_theirs, params = _as_function(theirs, len(inputs))
    check_like_torch(name, f_ours, f_theirs, *inputs, *params, verbose=False)


# ----------------------------------------------------------------------------- dtype= and device=
@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_dtype_float64_builds_float64_parameters_equal_to_torchs(kind):
    ours_cls, torch_cls = LAYERS[kind]
    ours = _seeded(ours_cls, H_IN, H, num_layers=2, bidirectional=True, dtype=torch.float64)
    theirs = _seeded(torch_cls, H_IN, H, num_layers=2, bidirectional=True, dtype=torch.float64)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():      # the same seed draws the same float64 weights
        assert ours.state_dict()[key].dtype == torch.float64 and torch.equal(ours.state_dict()[key], value), key
    states = [_x(4, 2, H, seed=s) for s in range(2 if kind == "lstm" else 1)]
    _like_torch(f"{kind} float64", ours, theirs, _x(L, 2, H_IN, seed=5), *states)


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_cells_take_dtype_and_device_as_torchs(kind):
    ours_cls, torch_cls = CELLS[kind]
    ours, theirs = (_seeded(cls, H_IN, H, dtype=torch.float64, device="cpu") for cls in (ours_cls, torch_cls))
    for (k, a), (_, b) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert a.dtype == torch.float64 and torch.equal(a, b), k
    states = [_x(2, H, seed=s) for s in range(2 if kind == "lstm" else 1)]
    _like_torch(f"{kind} cell float64", ours, theirs, _x(2, H_IN, seed=5), *states)


DEVICES = ["meta"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_device_places_every_parameter_as_torch_does(kind, device):
    ours_cls, torch_cls = LAYERS[kind]
    ours = ours_cls(H_IN, H, 2, device=device, dtype=torch.float16)
    theirs = torch_cls(H_IN, H, 2, device=device, dtype=torch.float16)
    for (k, a), (_, b) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert (a.device.type, a.dtype, a.shape) == (b.device.type, b.dtype, b.shape) == (device, torch.float16,
                                                                                            b.shape), k


def test_from_torch_builds_a_float64_twin_directly():
    theirs = nn.GRU(H_IN, H, 2, dtype=torch.float64)
    ours = rnn.from_torch(theirs)
    assert ours.weight_hh_l1.dtype == torch.float64
    _like_torch("from_torch float64", ours, theirs, _x(L, 2, H_IN))


def test_torchs_positional_order_lands_in_the_same_slots():
    rnn_ = RNN(H_IN, H, 1, "relu", False, True, 0.0, False, "cpu", torch.float64)    # nn.RNN's order
    assert (rnn_.nonlinearity, rnn_.bias, rnn_.batch_first, rnn_.weight_ih_l0.dtype) == ("relu", False, True,
                                                                                       torch.float64)
    lstm = LSTM(H_IN, H, 1, True, True, 0.0, True, 0, "cpu", torch.float64)           # nn.LSTM's, proj_size 0
    assert lstm.bidirectional and lstm.weight_ih_l0_reverse.dtype == torch.float64
    assert GRU(H_IN, H, 1, True, False, 0.0, False, None, torch.float64).weight_hh_l0.dtype == torch.float64
    assert RNNCell(H_IN, H, True, "tanh", None, torch.float64).weight_ih.dtype == torch.float64
    with pytest.raises(ValueError, match="proj_size=2 .* is left out of dlcourse on purpose; leave proj_size=0"):
        LSTM(H_IN, H, 1, True, False, 0.0, False, 2)


# ----------------------------------------------------------------------------- one unbatched sequence
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_one_unbatched_sequence_equals_torch_in_every_gradient(kind, dtype):
    ours_cls, torch_cls = LAYERS[kind]
    ours, theirs = (_seeded(cls, H_IN, H, 2, bidirectional=True, dtype=dtype) for cls in (ours_cls, torch_cls))
    x = _x(L, H_IN, dtype=dtype, seed=5)                               # (L, H_in)
    states = [_x(4, H, dtype=dtype, seed=s) for s in range(2 if kind == "lstm" else 1)]   # (layers * D, H)
    out, h_n = ours(x, tuple(states) if kind == "lstm" else states[0])
    assert out.shape == (L, 2 * H) and (h_n[0] if kind == "lstm" else h_n).shape == (4, H)
    _like_torch(f"{kind} unbatched", ours, theirs, x, *states)
    _like_torch(f"{kind} unbatched, zero states", ours, theirs, x)


def test_an_unbatched_parity_check_catches_a_wrong_gate_order(monkeypatch):
    ours, theirs = (_seeded(cls, H_IN, H) for cls in (LSTM, nn.LSTM))

    def swapped(gx, state, w_hh, b_hh):                              # forget and input gates read crosswise
        i, f, g, o = gx.chunk(4, dim=-1)
        return rnn.lstm_step(torch.cat([f, i, g, o], -1), state, w_hh.roll(H, 0), b_hh.roll(H, 0))

    monkeypatch.setitem(rnn._STEPS, "LSTM", swapped)
    with pytest.raises(CheckError):
        _like_torch("bug", ours, theirs, _x(L, H_IN, dtype=torch.float32))
