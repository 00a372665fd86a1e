"""RNN, LSTM and GRU references == nn.RNN, nn.LSTM, nn.GRU: outputs, final states, every gradient.

Parity is a key copy (``ours.load_state_dict(theirs.state_dict())``). The parameters are passed
to both modules as inputs (torch.func.functional_call), so ``check_like_torch`` compares the
gradient of every weight and bias by name, besides those of the input and initial states.
The last tests plant the usual bugs in ours and require these checks to catch each one.
"""
import contextlib
import inspect
import io
import re

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from dlcourse.checks import CheckError, check_like_torch
from dlcourse.models import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell, rnn

N, L, H_IN, H = 5, 7, 3, 4
LENGTHS = [6, 3, 7, 1, 5]            # unsorted, a sequence of 1 step, and the longest in the middle
KINDS = {"rnn_tanh": (nn.RNN, RNN, {"nonlinearity": "tanh"}), "rnn_relu": (nn.RNN, RNN, {"nonlinearity": "relu"}),
         "lstm": (nn.LSTM, LSTM, {}), "gru": (nn.GRU, GRU, {})}
TOL = {torch.float32: 1e-5, torch.float64: 1e-10}


def make(kind, dtype=torch.float64, batch_first=False, seed=0, **options):
    """nn.X with seeded random weights, and ours holding the same weights by key copy."""
    torch_cls, our_cls, extra = KINDS[kind]
    options = {"num_layers": 2, "bidirectional": True, "batch_first": batch_first, **extra, **options}
    torch.manual_seed(seed)
    theirs = torch_cls(H_IN, H, **options).to(dtype)
    ours = our_cls(H_IN, H, **options).to(dtype)
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def data(kind, dtype, batch_first, seed=1, n_layers_dirs=4):
    """A padded batch whose padding is noise (never zeros: reading it must show), and initial states."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(N, L, H_IN, generator=g, dtype=torch.float64).to(dtype)
    x = x if batch_first else x.transpose(0, 1).contiguous()
    states = [torch.randn(n_layers_dirs, N, H, generator=g, dtype=torch.float64).to(dtype) * 0.5
              for _ in range(2 if kind == "lstm" else 1)]
    return x, states


def as_function(module, kind, batch_first, feed):
    """f(x, h_0[, c_0], *parameters) -> (padded output, h_n[, c_n]), with the parameters as inputs.

    feed: "padded" (every sequence L steps), "packed" (a PackedSequence in and out) or
    "lengths" (ours only: the padded batch and a lengths tensor; theirs then gets it packed).
    """
    names = [n for n, _ in module.named_parameters()]
    lengths = torch.tensor(LENGTHS)

    def f(x, *rest):
        states, params = rest[:len(rest) - len(names)], rest[len(rest) - len(names):]
        hx = tuple(states) if kind == "lstm" else states[0]
        args, kwargs = (x, hx), {}
        if feed == "packed" or (feed == "lengths" and not isinstance(module, rnn._Recurrent)):
            args = (pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False), hx)
        elif feed == "lengths":
            kwargs = {"lengths": lengths}
        out, h_n = functional_call(module, dict(zip(names, params)), args, kwargs)
        if isinstance(out, PackedSequence):
            out = pad_packed_sequence(out, batch_first=batch_first, total_length=L)[0]
        return (out, *h_n) if kind == "lstm" else (out, h_n)

    state_names = ["h_0", "c_0"] if kind == "lstm" else ["h_0"]
    f.__signature__ = inspect.Signature([inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD)
                                         for n in ["x", *state_names, *names]])   # names gradients by weight
    return f, [p.detach() for p in module.parameters()]


def parity(ours, theirs, kind, dtype, batch_first, feed, seed=1):
    """check_like_torch over outputs, states and all gradients; returns the worst error of each group."""
    f_ours, _ = as_function(ours, kind, batch_first, feed)
    f_theirs, params = as_function(theirs, kind, batch_first, feed)
    x, states = data(kind, dtype, batch_first, seed, ours.num_layers * ours.num_directions)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        check_like_torch(kind, f_ours, f_theirs, x, *states, *params, atol=TOL[dtype], rtol=TOL[dtype], seed=seed)
    worst = {"output": 0.0, "states": 0.0, "gradients": 0.0}
    for label, err in re.findall(r"^OK [^,]+, (.+?): max abs error (\S+)", printed.getvalue(), re.M):
        group = "output" if label == "output 1" else "states" if label.startswith("output") else "gradients"
        worst[group] = max(worst[group], float(err))
    assert printed.getvalue().count("d/d") == 1 + len(states) + len(params)   # every gradient was compared
    return worst


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
@pytest.mark.parametrize("feed", ["padded", "packed", "lengths"])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_two_layer_bidirectional_matches_torch(kind, feed, batch_first, dtype):
    ours, theirs = make(kind, dtype, batch_first)
    worst = parity(ours, theirs, kind, dtype, batch_first, feed)
    print(f"worst {kind} {feed} {'batch_first' if batch_first else 'seq_first'} {dtype}: "
          + ", ".join(f"{k} {v:.1e}" for k, v in worst.items()))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_deeper_one_way_and_without_bias_matches_torch(kind):
    ours, theirs = make(kind, num_layers=3, bidirectional=False, bias=False)
    assert not any("bias" in k for k in ours.state_dict())
    parity(ours, theirs, kind, torch.float64, False, "packed")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_state_dict_keys_and_shapes_are_torchs_both_ways(kind):
    ours, theirs = make(kind)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in theirs.state_dict().items()}
    assert "weight_hh_l1_reverse" in ours.state_dict()
    fresh = KINDS[kind][0](H_IN, H, num_layers=2, bidirectional=True, **KINDS[kind][2]).double()
    fresh.load_state_dict(ours.state_dict())                        # and back into torch's
    x = torch.randn(L, N, H_IN, dtype=torch.float64)
    torch.testing.assert_close(fresh(x)[0], ours(x)[0], atol=1e-12, rtol=0)


def test_packed_output_is_laid_out_like_torchs():
    ours, theirs = make("lstm", batch_first=True)
    x, _ = data("lstm", torch.float64, True)
    packed = pack_padded_sequence(x, torch.tensor(LENGTHS), batch_first=True, enforce_sorted=False)
    got, want = ours(packed)[0], theirs(packed)[0]
    assert isinstance(got, PackedSequence)
    for field in ("batch_sizes", "sorted_indices", "unsorted_indices"):
        assert torch.equal(getattr(got, field), getattr(want, field)), field
    torch.testing.assert_close(got.data, want.data, atol=1e-12, rtol=0)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_one_unbatched_sequence_matches_torch(kind):
    ours, theirs = make(kind)
    x, states = data(kind, torch.float64, False)
    x, states = x[:, 0], [s[:, 0] for s in states]                 # (L, H_in), states (layers*D, H)
    hx = tuple(states) if kind == "lstm" else states[0]
    (o1, s1), (o2, s2) = ours(x, hx), theirs(x, hx)
    torch.testing.assert_close(o1, o2, atol=1e-12, rtol=0)
    torch.testing.assert_close(s1, s2, atol=1e-12, rtol=0)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_dropout_between_layers_draws_what_torch_draws(kind):
    """Same seed, same masks: torch's CPU kernel draws its dropout with the same call, on the same
    (L, N, D*H) tensor, between layers only; eval mode turns it off."""
    ours, theirs = make(kind, dropout=0.5)
    x, _ = data(kind, torch.float64, False)
    for train in (True, False):
        ours.train(train), theirs.train(train)
        torch.manual_seed(3)
        want = theirs(x)
        torch.manual_seed(3)
        got = ours(x)
        torch.testing.assert_close(got, want, atol=1e-12, rtol=0)
    no_dropout, _ = make(kind)
    assert not torch.allclose(ours.train()(x)[0], no_dropout(x)[0])       # dropout did something


def test_backward_reads_each_time_step_through_unbind():
    """gx[t] in the loop would be correct but slow: each step's backward writes a zero tensor the
    size of the whole input projection (quadratic in length; it was 80% of the time at L = 50)."""
    out, (h_n, c_n) = LSTM(H_IN, H)(torch.randn(L, N, H_IN))
    seen, todo, nodes = set(), [out.grad_fn, h_n.grad_fn, c_n.grad_fn], []
    while todo:
        node = todo.pop()
        if node is not None and node not in seen:
            seen.add(node)
            nodes.append(type(node).__name__)
            todo += [next_fn for next_fn, _ in node.next_functions]
    assert "UnbindBackward0" in nodes and "SelectBackward0" not in nodes


@pytest.mark.parametrize("ours_cls, torch_cls, extra", [
    (RNNCell, nn.RNNCell, {"nonlinearity": "tanh"}), (RNNCell, nn.RNNCell, {"nonlinearity": "relu"}),
    (LSTMCell, nn.LSTMCell, {}), (GRUCell, nn.GRUCell, {})], ids=["rnn_tanh", "rnn_relu", "lstm", "gru"])
@pytest.mark.parametrize("batched", [True, False], ids=["batch", "one"])
def test_cells_match_torch(ours_cls, torch_cls, extra, batched):
    torch.manual_seed(0)
    theirs = torch_cls(H_IN, H, **extra).double()
    ours = ours_cls(H_IN, H, **extra).double()
    ours.load_state_dict(theirs.state_dict())
    names = [n for n, _ in theirs.named_parameters()]
    lstm = ours_cls is LSTMCell

    def function(module):
        def f(x, h, c, *params):
            out = functional_call(module, dict(zip(names, params)), (x, (h, c) if lstm else h))
            return out if lstm else (out,)
        f.__signature__ = inspect.Signature([inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD)
                                             for n in ["x", "h", "c", *names]])
        return f
    g = torch.Generator().manual_seed(2)
    shape = (N,) if batched else ()
    x, h, c = (torch.randn(*shape, n, generator=g, dtype=torch.float64) for n in (H_IN, H, H))
    check_like_torch("cell", function(ours), function(theirs), x, h, c, *theirs.parameters(),
                     atol=1e-12, rtol=1e-12, verbose=False)
    assert torch.allclose(ours(x)[0] if lstm else ours(x), theirs(x)[0] if lstm else theirs(x))  # zero state


def test_from_torch_copies_configuration_and_weights():
    theirs = nn.GRU(H_IN, H, num_layers=3, batch_first=True, dropout=0.25, bidirectional=True)
    ours = rnn.from_torch(theirs)
    assert isinstance(ours, GRU) and (ours.num_layers, ours.batch_first, ours.dropout) == (3, True, 0.25)
    assert all(torch.equal(a, b) for a, b in zip(ours.state_dict().values(), theirs.state_dict().values()))
    assert rnn.from_torch(nn.RNN(2, 3, nonlinearity="relu")).nonlinearity == "relu"
    with pytest.raises(ValueError, match="proj_size"):
        rnn.from_torch(nn.LSTM(2, 4, proj_size=2))
    with pytest.raises(ValueError, match="kind must be one of"):
        rnn.recurrent("transformer", 2, 3)


@pytest.mark.parametrize("call, message", [
    (lambda m: m(torch.randn(L, N, H_IN + 1)), "expected 3 input features, got 4"),
    (lambda m: m(torch.randn(L, N, H_IN, 2)), "expected input"),
    (lambda m: m(torch.randn(L, N, H_IN).double()), "convert one"),
    (lambda m: m(pack_padded_sequence(torch.randn(L, N, H_IN + 1), [L] * N)), "expected 3 input features"),
    (lambda m: m(torch.randn(L, H_IN), torch.zeros(4, N, H)), r"shape \(4, 4\) \(num_layers"),
    (lambda m: m(torch.randn(L, N, H_IN), torch.zeros(4, N + 1, H)), r"shape \(4, 5, 4\)"),
    (lambda m: m(torch.randn(L, N, H_IN), lengths=torch.tensor([L + 1] * N)), "lengths must lie in 1..7"),
    (lambda m: m(torch.randn(L, N, H_IN), lengths=torch.tensor([L] * (N - 1))), "one length per sequence"),
    (lambda m: m(pack_padded_sequence(torch.randn(L, N, H_IN), [L] * N), lengths=[L] * N), "carries its lengths"),
], ids=["features", "dims", "dtype", "packed_features", "unbatched_h0", "h0_shape", "too_long", "lengths_count", "packed_and_lengths"])
def test_bad_input_is_a_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call(GRU(H_IN, H, num_layers=2, bidirectional=True))


# ----------------------------------------------------------------------------- planted bugs
def _lstm_gates(order):
    def step(gx, state, w_hh, b_hh):
        h, c = state
        gates = dict(zip(order, (gx + F.linear(h, w_hh, b_hh)).chunk(4, dim=-1)))
        c = torch.sigmoid(gates["f"]) * c + torch.sigmoid(gates["i"]) * torch.tanh(gates["g"])
        return torch.sigmoid(gates["o"]) * torch.tanh(c), c
    return step


def _gru(order="rzn", reset="torch", z_keeps="old"):
    def step(gx, state, w_hh, b_hh):
        h, = state
        xs = dict(zip(order, gx.chunk(3, dim=-1)))
        hs = dict(zip(order, F.linear(h, w_hh, b_hh).chunk(3, dim=-1)))
        r, z = torch.sigmoid(xs["r"] + hs["r"]), torch.sigmoid(xs["z"] + hs["z"])
        rows = slice(2 * H, 3 * H) if order[2] == "n" else slice(0, H)
        if reset == "torch":                                       # r * (W_hn h + b_hn)
            n = torch.tanh(xs["n"] + r * hs["n"])
        elif reset == "cho":                                       # W_hn (r * h) + b_hn
            n = torch.tanh(xs["n"] + F.linear(r * h, w_hh[rows], b_hh[rows]))
        else:                                                      # r * (W_hn h) + b_hn
            n = torch.tanh(xs["n"] + r * (hs["n"] - b_hh[rows]) + b_hh[rows])
        return ((1 - z) * n + z * h,) if z_keeps == "old" else (z * n + (1 - z) * h,)
    return step


def _direction_ignoring_lengths(which):
    """The state runs on through the padding: in the forward chain h_n is taken at the padded end;
    in the reverse chain the padded tensor is flipped whole, so each sequence starts in padding."""
    original = rnn._run_direction

    def run(step, gx, state, w_hh, b_hh, mask, reverse):
        if mask is None or reverse != (which == "reverse"):
            return original(step, gx, state, w_hh, b_hh, mask, reverse)
        out, state = original(step, gx, state, w_hh, b_hh, None, reverse)
        return out * mask, state
    return run


def _truncated_through_time(step):
    return lambda gx, state, w_hh, b_hh: step(gx, tuple(s.detach() for s in state), w_hh, b_hh)


# bug -> (kind, what is replaced, table key, the faulty version, the check that must fail first)
BUGS = {
    "lstm gates i,f,o,g": ("lstm", "_STEPS", "LSTM", _lstm_gates("ifog"), "output 1"),
    "lstm gates f,i,g,o": ("lstm", "_STEPS", "LSTM", _lstm_gates("figo"), "output 1"),
    "gru gates z,r,n": ("gru", "_STEPS", "GRU", _gru(order="zrn"), "output 1"),
    "gru reset before W_hn (Cho et al.)": ("gru", "_STEPS", "GRU", _gru(reset="cho"), "output 1"),
    "gru reset misses b_hn": ("gru", "_STEPS", "GRU", _gru(reset="weight_only"), "output 1"),
    "gru z keeps the candidate": ("gru", "_STEPS", "GRU", _gru(z_keeps="new"), "output 1"),
    # the outputs are right here (the forward chain stops writing them at each length): only h_n shows it
    "final state at the padded end": ("lstm", "_run_direction", None, _direction_ignoring_lengths("forward"),
                                      "output 2"),
    "reverse chain starts in the padding": ("gru", "_run_direction", None, _direction_ignoring_lengths("reverse"),
                                            "output 1"),
    # values unchanged, gradients cut at every step: only the gradient checks see it
    "state detached between steps": ("lstm", "_STEPS", "LSTM", _truncated_through_time(rnn.lstm_step), "d/dx"),
}


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_parity_check_catches_planted_bug(bug, monkeypatch):
    kind, where, key, faulty, caught_by = BUGS[bug]
    ours, theirs = make(kind, batch_first=True)
    parity(ours, theirs, kind, torch.float64, True, "packed")        # the faithful version passes...
    if key is None:
        monkeypatch.setattr(rnn, where, faulty)
    else:
        monkeypatch.setitem(getattr(rnn, where), key, faulty)
    with pytest.raises(CheckError, match=f"^{kind}, {caught_by}"):  # ...and each planted bug fails, where expected
        parity(ours, theirs, kind, torch.float64, True, "packed")
