"""MultiheadAttention's torch options (issue 22): kdim/vdim cross-attention, one unbatched sequence
(through the Transformer layers and nn.Transformer too), and what a query with no visible key
gets (ours: zero weights; torch: NaN on its weights path).

Every comparison runs ours and torch's module, holding the same (randomised) weights, through
``check_like_torch`` with the parameters passed as inputs (``torch.func.functional_call``): the
outputs, the attention weights, and the gradients of every input and every parameter are compared
under a random upstream gradient, with the error allowed measured from a float64 shadow.
"""
import pytest
import torch
import torch.nn as nn
from torch.func import functional_call

from dlcourse.checks import CheckError, check_close, check_like_torch, randomise_weights, shadow_of
from dlcourse.models.attention import MultiheadAttention, causal_mask
from dlcourse.models.transformer import Transformer, TransformerDecoderLayer, TransformerEncoderLayer

N, L, S, E, H, KDIM, VDIM = 3, 5, 7, 16, 4, 6, 10
pytestmark = pytest.mark.filterwarnings(            # torch's notes about its own inference fast path
    "ignore:enable_nested_tensor is True:UserWarning")


def _x(*shape, dtype=torch.float32, seed=0):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype)


def _pair(*args, dtype=torch.float32, **kwargs):
    """torch's module, randomised, and ours loading its state dict strictly."""
    theirs = randomise_weights(nn.MultiheadAttention(*args, **kwargs, dtype=dtype))
    ours = MultiheadAttention(*args, **kwargs, dtype=dtype)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    return ours, theirs


def _like_torch(name, ours, theirs, *inputs, call=None, **kwargs):
    """check_like_torch over ours and theirs with their parameters as extra inputs, so that every
    parameter's gradient is compared too; call(model, *inputs, **kwargs) runs one module."""
    call = call or (lambda model, *xs, **kw: model(*xs, **kw))
    names = [n for n, _ in theirs.named_parameters()]
    assert names == [n for n, _ in ours.named_parameters()]
    params = [p.detach().clone() for p in theirs.parameters()]
    n = len(inputs)

    def run(model):
        caller = _Caller(model, call, kwargs)

        def forward(*xs):
            out = functional_call(caller, {f"model.{k}": v for k, v in zip(names, xs[n:])}, tuple(xs[:n]))
            return tuple(o for o in out if o is not None) if isinstance(out, tuple) else out
        return forward

    check_like_torch(name, run(ours), run(theirs), *inputs, *params, verbose=False)


class _Caller(nn.Module):
    """Holds a module and how to call it, so functional_call can swap the module's parameters."""

    def __init__(self, model, call, kwargs):
        super().__init__()
        self.model, self.call, self.kwargs = model, call, kwargs

    def forward(self, *xs):
        return self.call(self.model, *xs, **self.kwargs)


def _cross(model, q, k, v, **kw):
    return model(q, k, v, **kw)


def _self(model, x, **kw):
    return model(x, x, x, **kw)          # one tensor three times: the self-attention path of both


def _hidden(rows, cols, seed=0):
    """A random boolean (rows, cols) mask, True = hidden, that leaves every query key 0."""
    mask = torch.rand(rows, cols, generator=torch.Generator().manual_seed(seed)) < 0.4
    mask[:, 0] = False
    return mask


def _padding(length=S):
    """(N, length), True at padding: lengths length, length - 2 and 3."""
    return torch.arange(length) >= torch.tensor([length, length - 2, 3])[:, None]


# ----------------------------------------------------------------------------- kdim / vdim
@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)],
                         ids=["weights", "per_head", "no_weights"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
def test_cross_attention_from_other_widths_equals_torch(bias, batch_first, need_weights, average):
    ours, theirs = _pair(E, H, bias=bias, kdim=KDIM, vdim=VDIM, batch_first=batch_first)
    assert ours.in_proj_weight is None and theirs.in_proj_weight is None
    shape = (lambda n, length, f: (n, length, f)) if batch_first else (lambda n, length, f: (length, n, f))
    q, k, v = _x(*shape(N, L, E), seed=1), _x(*shape(N, S, KDIM), seed=2), _x(*shape(N, S, VDIM), seed=3)
    _like_torch("mha kdim/vdim", ours, theirs, q, k, v, call=_cross, need_weights=need_weights,
                average_attn_weights=average, key_padding_mask=_padding(), attn_mask=_hidden(L, S, seed=4))


def test_cross_attention_from_other_widths_in_float64_and_explicit_path():
    ours, theirs = _pair(E, H, kdim=KDIM, vdim=KDIM, dtype=torch.float64)
    assert ours.q_proj_weight.dtype == torch.float64
    q, k, v = _x(L, N, E, dtype=torch.float64), _x(S, N, KDIM, dtype=torch.float64, seed=1), \
        _x(S, N, KDIM, dtype=torch.float64, seed=2)
    for fused in (True, False):
        ours.fused = fused
        _like_torch("mha kdim fp64", ours, theirs, q, k, v, call=_cross, need_weights=False)
        _like_torch("mha kdim fp64, key is value", ours, theirs, q, k, call=lambda m, q, kv: m(q, kv, kv))


@pytest.mark.parametrize("kw", [{"kdim": KDIM, "vdim": VDIM}, {"kdim": KDIM}, {"vdim": VDIM}, {"kdim": E, "vdim": E},
                                {"kdim": KDIM, "vdim": VDIM, "bias": False}], ids=["both", "kdim", "vdim", "same",
                                                                                 "no_bias"])
def test_kdim_vdim_state_dicts_are_torchs_and_load_strictly_both_ways(kw):
    torch.manual_seed(0)
    ours = MultiheadAttention(E, H, **kw)
    torch.manual_seed(0)
    theirs = nn.MultiheadAttention(E, H, **kw)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    for key, value in theirs.state_dict().items():          # the same seed draws torch's initial weights
        assert torch.equal(ours.state_dict()[key], value), key
    ours.load_state_dict(randomise_weights(theirs).state_dict(), strict=True)
    theirs.load_state_dict(randomise_weights(ours, seed=1).state_dict(), strict=True)
    assert ours._qkv_same_embed_dim == theirs._qkv_same_embed_dim


class _KeyValueSwapped(MultiheadAttention):
    """Projects the keys with W_v and the values with W_k (same shapes when kdim == vdim)."""

    def _project(self, query, key, value, shared_kv, shared_qkv):
        q, k, v = super()._project(query, key, value, shared_kv, shared_qkv)
        b_k, b_v = self.in_proj_bias.chunk(3)[1:]
        return q, nn.functional.linear(key, self.v_proj_weight, b_k), nn.functional.linear(value, self.k_proj_weight, b_v)


def test_key_and_value_weights_swapped_are_caught():
    """The parity check is not blind: a layer that mixes up k_proj_weight and v_proj_weight fails it."""
    theirs = randomise_weights(nn.MultiheadAttention(E, H, kdim=KDIM, vdim=KDIM))
    ours = _KeyValueSwapped(E, H, kdim=KDIM, vdim=KDIM)
    q, k, v = _x(L, N, E), _x(S, N, KDIM, seed=1), _x(S, N, KDIM, seed=2)
    with pytest.raises(CheckError):
        _like_torch("bug", ours, theirs, q, k, v, call=_cross)


# ----------------------------------------------------------------------------- one unbatched sequence
@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)],
                         ids=["weights", "per_head", "no_weights"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
def test_one_unbatched_sequence_equals_torch(batch_first, need_weights, average):
    kw = {"need_weights": need_weights, "average_attn_weights": average}
    padding, per_head = _padding()[1], _hidden(H * L, S, seed=5).view(H, L, S)              # (S,) and (num_heads, L, S)
    ours, theirs = _pair(E, H, batch_first=batch_first)
    q, kv = _x(L, E, seed=1), _x(S, E, seed=2)
    _like_torch("mha unbatched", ours, theirs, q, kv, _x(S, E, seed=3), call=_cross, key_padding_mask=padding,
                attn_mask=per_head, **kw)
    _like_torch("mha unbatched self", ours, theirs, _x(L, E), call=_self, attn_mask=_x(L, L, seed=6), **kw)
    _like_torch("mha unbatched memory", ours, theirs, q, kv, call=lambda m, q, kv, **k: m(q, kv, kv, **k),
                key_padding_mask=padding, **kw)
    ours, theirs = _pair(E, H, kdim=KDIM, vdim=VDIM, batch_first=batch_first)
    _like_torch("mha unbatched kdim/vdim", ours, theirs, q, _x(S, KDIM, seed=2), _x(S, VDIM, seed=3), call=_cross,
                key_padding_mask=padding, **kw)
    y, w = ours(q, _x(S, KDIM, seed=2), _x(S, VDIM, seed=3), **kw)
    assert y.shape == (L, E) and (w is None if not need_weights else w.shape == ((L, S) if average else (H, L, S)))


def test_transformer_layers_take_one_unbatched_sequence_as_torch():
    theirs = randomise_weights(nn.TransformerEncoderLayer(E, H, 32, 0.0))
    ours = TransformerEncoderLayer(E, H, 32, 0.0)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    _like_torch("encoder layer unbatched", ours, theirs, _x(S, E), src_key_padding_mask=_padding()[1])
    theirs = randomise_weights(nn.TransformerDecoderLayer(E, H, 32, 0.0, batch_first=True))
    ours = TransformerDecoderLayer(E, H, 32, 0.0, batch_first=True)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    _like_torch("decoder layer unbatched", ours, theirs, _x(L, E), _x(S, E, seed=1),
                memory_key_padding_mask=_padding()[1])


# ----------------------------------------------------------------------------- a query that sees no key
def test_a_query_whose_every_key_is_padded_gets_zero_weights_where_torch_gives_nan():
    """Documented in MultiheadAttention's docstring and chapter 19: batch row 1 pads every key."""
    ours, theirs = _pair(E, H, batch_first=True)
    x = _x(N, S, E).requires_grad_()
    pad = _padding()
    pad[1] = True
    y, w = ours(x, x, x, key_padding_mask=pad)
    check_close("dead row's weights", w[1], torch.zeros(S, S), atol=0, rtol=0, verbose=False)
    check_close("dead row's output: out_proj's bias", y[1], ours.out_proj.bias.detach().expand(S, E), atol=0, rtol=0,
                verbose=False)
    y.sum().backward()
    assert torch.isfinite(x.grad).all() and all(torch.isfinite(p.grad).all() for p in ours.parameters())
    y_t, w_t = theirs(x, x, x, key_padding_mask=pad)                       # torch's default, need_weights=True
    assert w_t[1].isnan().all() and y_t[1].isnan().all()                   # 0/0 in its softmax
    assert not w_t[[0, 2]].isnan().any()
    live = torch.tensor([0, 2])
    check_close("the other rows", y[live], y_t[live], verbose=False,
                shadow=shadow_of(lambda x: theirs(x, x, x, key_padding_mask=pad)[0][live], x.detach()))
    y_f, _ = theirs(x, x, x, key_padding_mask=pad, need_weights=False)    # its fused path gives 0, as ours
    check_close("torch's fused path", y, y_f, verbose=False)
    theirs.eval()
    with torch.no_grad():                                                 # its inference fast path: NaN again
        assert theirs(x, x, x, key_padding_mask=pad, need_weights=False)[0][1].isnan().all()


def test_a_dead_row_equals_torchs_fused_path_in_values_and_gradients():
    """Where torch defines the answer (need_weights=False, its fused kernel) ours gives the same, dead row
    included, in values and in every input's and parameter's gradient."""
    ours, theirs = _pair(E, H, batch_first=True)
    pad = _padding()
    pad[1] = True
    _like_torch("mha, a dead row", ours, theirs, _x(N, S, E), call=lambda m, x: _self(
        m, x, key_padding_mask=pad, need_weights=m is not theirs)[0])


# ----------------------------------------------------------------------------- options refused, shapes named
def test_options_left_out_and_bad_shapes_are_named():
    for option in ("add_bias_kv", "add_zero_attn"):
        with pytest.raises(ValueError, match=f"{option}=True is left out of dlcourse on purpose"):
            MultiheadAttention(E, H, **{option: True})
    with pytest.raises(ValueError, match="left out"):
        MultiheadAttention(E, H, 0.0, True, True)                  # torch's positional order
    assert MultiheadAttention(E, H, 0.0, True, False, False, KDIM, VDIM, True).batch_first
    mha = MultiheadAttention(E, H, kdim=KDIM, vdim=VDIM)
    with pytest.raises(ValueError, match=f"key kdim = {KDIM} and value vdim = {VDIM}"):
        mha(_x(L, N, E), _x(S, N, E), _x(S, N, VDIM))
    with pytest.raises(ValueError, match="all 3-d .* or all 2-d"):
        mha(_x(L, E), _x(S, N, KDIM), _x(S, N, VDIM))
    with pytest.raises(ValueError, match=r"key_padding_mask must have shape \(S,\) = \(7,\)"):
        mha(_x(L, E), _x(S, KDIM), _x(S, VDIM), key_padding_mask=_padding())
    with pytest.raises(ValueError, match="attn_mask must have shape"):
        mha(_x(L, E), _x(S, KDIM), _x(S, VDIM), attn_mask=_x(N * H, L, S))


def test_the_transformer_takes_one_unbatched_pair_as_torch():
    for batch_first in (False, True):
        theirs = randomise_weights(nn.Transformer(E, H, 2, 1, 32, 0.0, batch_first=batch_first))
        ours = Transformer(E, H, 2, 1, 32, 0.0, batch_first=batch_first)
        ours.load_state_dict(theirs.state_dict(), strict=True)
        _like_torch("transformer unbatched", ours, theirs, _x(S, E), _x(L, E, seed=1),
                    tgt_mask=causal_mask(L), src_key_padding_mask=_padding()[1], memory_key_padding_mask=_padding()[1])
        assert ours(_x(S, E), _x(L, E, seed=1)).shape == (L, E)
