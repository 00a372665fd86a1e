"""Attention and the Transformer == torch, in values and in every input's and parameter's gradient.

Weights are copied by key (``ours.load_state_dict(theirs.state_dict())``) after every parameter of
torch's module was randomised: torch initialises biases to 0 and LayerNorm gains to 1, and with
those a bias added in the wrong place or norm1 swapped with norm2 would go unseen. The tests at
"Realistic bugs" prove that the parity checks fail on the mistakes people make.
Run with -s to see the worst difference of each family.
"""
import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from dlcourse.checks import CheckError, check_close, randomise_weights
from dlcourse.models import attention
from dlcourse.models.attention import MultiheadAttention, causal_mask, scaled_dot_product_attention
from dlcourse.models.transformer import (LearnedPositionalEncoding, SinusoidalPositionalEncoding, Transformer,
                                         TransformerDecoderLayer, TransformerEncoderLayer)

N, L, S, E, H, FF = 3, 5, 7, 16, 4, 32           # batch, target length, source length, width, heads, feed-forward
TOL = {torch.float32: 1e-5, torch.float64: 1e-10}
WORST: dict[str, float] = {}
pytestmark = pytest.mark.filterwarnings(            # torch's notes about its own inference fast path
    "ignore:enable_nested_tensor is True:UserWarning", "ignore:The PyTorch API of nested tensors:UserWarning")


@pytest.fixture(scope="module", autouse=True)
def _report_worst():
    yield
    print("\nworst |ours - torch| per family:", *(f"  {k}: {v:.1e}" for k, v in sorted(WORST.items())), sep="\n")


def _parity(family, ours, theirs, *inputs, call=None, dtype=torch.float32, seed=0, **kwargs) -> float:
    """Same inputs, same dropout seed and one seeded upstream gradient through both: every output,
    every floating input's gradient and every parameter's gradient (by name) agree. Returns the worst
    absolute difference and keeps it in WORST[family]."""
    call = call or (lambda model, *xs, **kw: model(*xs, **kw))
    runs = []
    for model in (ours, theirs):
        xs = [x.detach().clone().requires_grad_() if x.is_floating_point() else x for x in inputs]
        torch.manual_seed(seed)                                    # the same dropout masks
        out = call(model, *xs, **kwargs)
        outs = [o for o in (out if isinstance(out, tuple) else (out,)) if o is not None]
        g = torch.Generator().manual_seed(seed + 1)
        torch.autograd.backward(outs, [torch.randn(o.shape, generator=g, dtype=torch.float64).to(o.dtype)
                                       for o in outs])
        params = dict(model.named_parameters()) if isinstance(model, nn.Module) else {}
        runs.append((outs, [x.grad for x in xs if x.is_floating_point()], {n: p.grad for n, p in params.items()}))
        if isinstance(model, nn.Module):
            model.zero_grad()
    (outs_o, dx_o, dp_o), (outs_t, dx_t, dp_t) = runs
    assert len(outs_o) == len(outs_t) and dp_o.keys() == dp_t.keys()
    pairs = [(f"output {i}", a, b) for i, (a, b) in enumerate(zip(outs_o, outs_t))]
    pairs += [(f"d/d(input {i})", a, b) for i, (a, b) in enumerate(zip(dx_o, dx_t))]
    pairs += [(f"d/d{n}", dp_o[n], dp_t[n]) for n in dp_t]
    tol = TOL[dtype]
    for what, a, b in pairs:  # the check says what differs; the worst error is kept for the report
        check_close(f"{family}: {what}", a, b, atol=tol, rtol=tol, verbose=False)
    worst = max(float((a.detach().double() - b.detach().double()).abs().max()) if a.numel() else 0.0
                for _, a, b in pairs)
    WORST[family] = max(WORST.get(family, 0.0), worst)
    return worst


def _pair(ours_cls, theirs_cls, *args, dtype=torch.float32, train=False, **kwargs):
    """torch's module, randomised, and ours holding its weights by a state-dict key copy."""
    theirs = randomise_weights(theirs_cls(*args, **kwargs).to(dtype))
    ours = ours_cls(*args, **kwargs).to(dtype)
    ours.load_state_dict(theirs.state_dict())
    return ours.train(train), theirs.train(train)


def _x(*shape, dtype=torch.float32, seed=0):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype)


def _seq(length, dtype=torch.float32, batch_first=False, seed=0):
    x = _x(N, length, E, dtype=dtype, seed=seed)
    return x if batch_first else x.transpose(0, 1).contiguous()


def _padding(length, as_float=False, dtype=torch.float32):
    """(N, length), True at padding: lengths length, length - 2 and 3 (right-padded)."""
    mask = torch.arange(length) >= torch.tensor([length, length - 2, 3])[:, None]
    return torch.zeros(mask.shape, dtype=dtype).masked_fill(mask, float("-inf")) if as_float else mask


def _hidden(rows, cols, seed=0):
    """A random boolean (rows, cols) mask, True = hidden, that leaves every query key 0."""
    mask = torch.rand(rows, cols, generator=torch.Generator().manual_seed(seed)) < 0.4
    mask[:, 0] = False
    return mask


# ----------------------------------------------------------------------------- scaled dot-product attention
SDPA_MASKS = {
    "none": lambda: {},
    "bool": lambda: {"attn_mask": ~_hidden(L, S)},                         # F.'s convention: True = attend
    "float": lambda: {"attn_mask": _x(L, S, seed=3).masked_fill(_hidden(L, S, seed=4), float("-inf"))},
    "causal": lambda: {"is_causal": True},
    "scale": lambda: {"scale": 0.3},
    "dead_row": lambda: {"attn_mask": torch.ones(L, S, dtype=torch.bool).index_fill_(0, torch.tensor([2]), False)},
}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["fp32", "fp64"])
@pytest.mark.parametrize("mask", sorted(SDPA_MASKS))
def test_explicit_attention_equals_F_scaled_dot_product_attention(mask, dtype):
    if mask == "dead_row" and torch.__version__ < (2, 5):
        pytest.skip("torch < 2.5 returns NaN for a query with no visible key; ours and torch >= 2.5 return 0")
    kw = SDPA_MASKS[mask]()
    kw = {k: v.to(dtype) if torch.is_tensor(v) and v.is_floating_point() else v for k, v in kw.items()}
    q, k, v = _x(N, H, L, 8, dtype=dtype, seed=1), _x(N, H, S, 8, dtype=dtype, seed=2), _x(N, H, S, 6, dtype=dtype)
    _parity(f"sdpa {dtype}".replace("torch.", ""), scaled_dot_product_attention, F.scaled_dot_product_attention,
            q, k, v, dtype=dtype, **kw)


def test_explicit_attention_drops_the_same_weights_as_torch_under_the_same_seed():
    q, k, v = _x(N, H, L, 8, seed=1), _x(N, H, S, 8, seed=2), _x(N, H, S, 8)
    _parity("sdpa dropout", scaled_dot_product_attention, F.scaled_dot_product_attention, q, k, v, dropout_p=0.3)


def test_a_fully_masked_query_attends_to_nothing_as_in_torch():
    q = _x(1, 1, 3, 4, seed=1).requires_grad_()
    keep = torch.tensor([[True] * 3, [False] * 3, [True] * 3])       # query 1 may attend to no key
    out = scaled_dot_product_attention(q, _x(1, 1, 3, 4), _x(1, 1, 3, 4), attn_mask=keep)
    out.sum().backward()
    assert out[0, 0, 1].eq(0).all() and torch.isfinite(q.grad).all() and q.grad[0, 0, 1].eq(0).all()


def test_causal_mask_is_torchs_square_subsequent_mask():
    for size in (1, 4, 9):
        assert torch.equal(causal_mask(size), nn.Transformer.generate_square_subsequent_mask(size))
        assert torch.equal(Transformer.generate_square_subsequent_mask(size, dtype=torch.float64),
                           nn.Transformer.generate_square_subsequent_mask(size, dtype=torch.float64))
    assert causal_mask(2, 3).isinf().tolist() == [[False, True, True], [False, False, True]]   # top-left aligned


# ----------------------------------------------------------------------------- multi-head attention
def _mha_masks(name, batch_first):
    """(self-attention?, forward kwargs) of one masking case; masks in torch.nn's convention, True = hidden."""
    return {
        "none": (False, {}),
        "padding": (False, {"key_padding_mask": _padding(S)}),
        "padding_float": (False, {"key_padding_mask": _padding(S, as_float=True)}),
        "attn_bool_2d": (False, {"attn_mask": _hidden(L, S)}),
        "attn_float_3d": (False, {"attn_mask": _x(N * H, L, S, seed=5)}),      # one mask per (batch, head)
        "causal": (True, {"attn_mask": causal_mask(L), "is_causal": True}),
        "causal_and_padding": (True, {"attn_mask": causal_mask(L).isinf(), "key_padding_mask": _padding(L)}),
    }[name]


def _self(model, x, **kw):
    return model(x, x, x, **kw)    # one tensor three times: the self-attention path of both


@pytest.mark.parametrize("need_weights", [True, False], ids=["weights", "no_weights"])
@pytest.mark.parametrize("masks", ["none", "padding", "padding_float", "attn_bool_2d", "attn_float_3d", "causal",
                                   "causal_and_padding"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
def test_multihead_attention_equals_torch(batch_first, masks, need_weights):
    ours, theirs = _pair(MultiheadAttention, nn.MultiheadAttention, E, H, batch_first=batch_first)
    self_attention, kw = _mha_masks(masks, batch_first)
    if self_attention:
        _parity("mha fp32", ours, theirs, _seq(L, batch_first=batch_first), call=_self, need_weights=need_weights, **kw)
    else:
        q, kv = _seq(L, batch_first=batch_first, seed=1), _seq(S, batch_first=batch_first, seed=2)
        _parity("mha fp32", ours, theirs, q, kv, call=lambda m, q, kv, **k: m(q, kv, kv, **k),
                need_weights=need_weights, **kw)
        _parity("mha fp32", ours, theirs, q, kv, _seq(S, batch_first=batch_first, seed=3),   # three distinct tensors
                need_weights=need_weights, **kw)


@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
def test_multihead_attention_float64_per_head_weights_explicit_path_no_bias(batch_first):
    mask = {"attn_mask": _hidden(L, L), "key_padding_mask": _padding(L)}
    x = _seq(L, torch.float64, batch_first)
    for bias in (True, False):
        ours, theirs = _pair(MultiheadAttention, nn.MultiheadAttention, E, H, bias=bias, batch_first=batch_first,
                             dtype=torch.float64)
        _parity("mha fp64", ours, theirs, x, call=_self, dtype=torch.float64, average_attn_weights=False, **mask)
        ours.fused = False                          # the explicit softmax everywhere, weights or not
        _parity("mha fp64", ours, theirs, x, call=_self, dtype=torch.float64, need_weights=False, **mask)


def test_multihead_attention_dropout_is_torchs_under_the_same_seed():
    ours, theirs = _pair(MultiheadAttention, nn.MultiheadAttention, E, H, dropout=0.3, batch_first=True, train=True)
    for need_weights in (True, False):
        _parity("mha dropout", ours, theirs, _seq(L, batch_first=True), call=_self, need_weights=need_weights,
                key_padding_mask=_padding(L))


# ----------------------------------------------------------------------------- layers and the Transformer
@pytest.mark.parametrize("norm_first", [False, True], ids=["post_ln", "pre_ln"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
def test_encoder_layer_equals_torch(norm_first, batch_first):
    for activation in ("relu", "gelu"):
        ours, theirs = _pair(TransformerEncoderLayer, nn.TransformerEncoderLayer, E, H, FF, 0.0, activation,
                             batch_first=batch_first, norm_first=norm_first)
        _parity("encoder layer fp32", ours, theirs, _seq(S, batch_first=batch_first),
                src_mask=_hidden(S, S), src_key_padding_mask=_padding(S))


@pytest.mark.parametrize("norm_first", [False, True], ids=["post_ln", "pre_ln"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
def test_decoder_layer_equals_torch(norm_first, batch_first):
    ours, theirs = _pair(TransformerDecoderLayer, nn.TransformerDecoderLayer, E, H, FF, 0.0,
                         batch_first=batch_first, norm_first=norm_first)
    tgt, memory = _seq(L, batch_first=batch_first), _seq(S, batch_first=batch_first, seed=1)
    _parity("decoder layer fp32", ours, theirs, tgt, memory,
            tgt_mask=causal_mask(L).isinf(), tgt_key_padding_mask=_padding(L), memory_key_padding_mask=_padding(S))


def _transformer_inputs(dtype, batch_first):
    masks = {"tgt_mask": causal_mask(L, dtype=dtype), "src_key_padding_mask": _padding(S, True, dtype),
             "tgt_key_padding_mask": _padding(L, True, dtype), "memory_key_padding_mask": _padding(S, True, dtype)}
    return _seq(S, dtype, batch_first), _seq(L, dtype, batch_first, seed=1), masks


@pytest.mark.parametrize("norm_first", [False, True], ids=["post_ln", "pre_ln"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["fp32", "fp64"])
def test_transformer_equals_torch(dtype, batch_first, norm_first):
    ours, theirs = _pair(Transformer, nn.Transformer, E, H, 2, 2, FF, 0.0, batch_first=batch_first,
                         norm_first=norm_first, dtype=dtype)
    src, tgt, masks = _transformer_inputs(dtype, batch_first)
    _parity(f"transformer {dtype}".replace("torch.", ""), ours, theirs, src, tgt, dtype=dtype, **masks)


def test_transformer_trains_like_torch_with_dropout_under_the_same_seed():
    ours, theirs = _pair(Transformer, nn.Transformer, E, H, 2, 2, FF, 0.2, batch_first=True, train=True)
    src, tgt, masks = _transformer_inputs(torch.float32, True)
    _parity("transformer dropout", ours, theirs, src, tgt, **masks)


@pytest.mark.parametrize("make", [
    lambda nn_: nn_.MultiheadAttention(E, H), lambda nn_: nn_.MultiheadAttention(E, H, bias=False),
    lambda nn_: nn_.TransformerEncoderLayer(E, H, FF, norm_first=True),
    lambda nn_: nn_.TransformerDecoderLayer(E, H, FF, batch_first=True),
    lambda nn_: nn_.Transformer(E, H, 2, 1, FF, bias=False)], ids=["mha", "mha_no_bias", "encoder", "decoder",
                                                                  "transformer"])
def test_same_names_same_order_same_seed_same_weights(make):
    """State dicts load both ways by key copy, and seed 0 draws exactly torch's initial weights."""
    ours_nn = SimpleNamespace(MultiheadAttention=MultiheadAttention, TransformerEncoderLayer=TransformerEncoderLayer,
                              TransformerDecoderLayer=TransformerDecoderLayer, Transformer=Transformer)
    torch.manual_seed(0)
    ours = make(ours_nn)
    torch.manual_seed(0)
    theirs = make(nn)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        assert torch.equal(ours.state_dict()[key], value), key
    ours.load_state_dict(theirs.state_dict())
    theirs.load_state_dict(randomise_weights(ours).state_dict())


def test_torchs_inference_fast_path_differs_only_at_padding():
    """Documented in transformer.py: torch's eval-mode, no-grad encoder layers zero the padded positions
    (and its final LayerNorm then maps those zeros to its bias)."""
    ours, theirs = _pair(Transformer, nn.Transformer, E, H, 2, 1, FF, 0.0, batch_first=True)
    x, pad = _seq(S, batch_first=True), _padding(S)
    with torch.no_grad():
        a, b = ours.encoder(x, src_key_padding_mask=pad), theirs.encoder(x, src_key_padding_mask=pad)
    check_close("encoder at real tokens", a[~pad], b[~pad], verbose=False)
    bias = theirs.encoder.norm.bias.detach()
    assert torch.equal(b[pad], bias.expand_as(b[pad])) and not torch.allclose(a[pad], bias.expand_as(a[pad]))


# ----------------------------------------------------------------------------- positions
@pytest.mark.parametrize("d_model", [6, 7])
@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_first", "batch_first"])
def test_sinusoidal_positions_follow_the_paper(d_model, batch_first):
    enc = SinusoidalPositionalEncoding(d_model, max_len=50, batch_first=batch_first)
    expected = torch.tensor([[math.sin(p / 10000 ** (i / d_model)) if i % 2 == 0 else
                              math.cos(p / 10000 ** ((i - 1) / d_model)) for i in range(d_model)] for p in range(50)])
    x = torch.randn(2, 50, d_model) if batch_first else torch.randn(50, 2, d_model)
    got = enc(x) - x
    for b in range(2):
        check_close("sinusoidal table", got[b] if batch_first else got[:, b], expected, atol=1e-6, verbose=False)
    assert list(enc.state_dict()) == []                              # computed, so nothing to load


class _EmbeddingPositions(nn.Embedding):
    def forward(self, x):                                         # (N, L, E): the textbook x + wpe(arange(L))
        return x + super().forward(torch.arange(x.size(1)))


def test_learned_positions_load_an_embedding_by_key_copy():
    theirs = randomise_weights(_EmbeddingPositions(10, E))
    ours = LearnedPositionalEncoding(E, 10, batch_first=True)
    ours.load_state_dict(theirs.state_dict())
    _parity("learned positions", ours, theirs, _seq(L, batch_first=True))
    seq_first = LearnedPositionalEncoding(E, 10)
    seq_first.load_state_dict(theirs.state_dict())
    check_close("seq-first", seq_first(_seq(L)), ours(_seq(L, batch_first=True)).transpose(0, 1), verbose=False)
    assert abs(float(LearnedPositionalEncoding(64, 500).weight.detach().std()) - 0.02) < 2e-3


def test_positions_beyond_max_len_are_a_clear_error():
    for enc in (SinusoidalPositionalEncoding(E, max_len=4), LearnedPositionalEncoding(E, max_len=4)):
        with pytest.raises(ValueError, match="max_len"):
            enc(_seq(L))


# ----------------------------------------------------------------------------- bad input
def test_bad_input_names_the_problem():
    with pytest.raises(ValueError, match="multiple of num_heads"):
        MultiheadAttention(10, 3)
    mha = MultiheadAttention(E, H, batch_first=True)
    with pytest.raises(ValueError, match="True at padding"):
        mha(_seq(L, batch_first=True), _seq(S, batch_first=True), _seq(S, batch_first=True),
            key_padding_mask=_padding(S).T)
    with pytest.raises(ValueError, match="key and value the same shape"):
        mha(_seq(L, batch_first=True), _seq(S, batch_first=True), _seq(L, batch_first=True))
    with pytest.raises(ValueError, match="attn_mask must have shape"):
        _self(mha, _seq(L, batch_first=True), attn_mask=_hidden(L, S))
    with pytest.raises(ValueError, match="all 3-d .* or all 2-d"):     # (L, E) is one sequence, as in torch
        _self(mha, torch.randn(E))
    with pytest.raises(ValueError, match="d_model = 16"):
        Transformer(E, H, 1, 1, FF)(torch.randn(S, N, E), torch.randn(L, N, 8))
    with pytest.raises(ValueError, match="activation"):
        TransformerEncoderLayer(E, H, activation="swish")


# ----------------------------------------------------------------------------- realistic bugs are caught
def test_a_missing_sqrt_dk_is_caught():
    q, k, v = _x(N, H, L, 8, seed=1), _x(N, H, S, 8, seed=2), _x(N, H, S, 8)
    with pytest.raises(CheckError):
        _parity("bug", lambda *a: scaled_dot_product_attention(*a, scale=1.0), F.scaled_dot_product_attention, q, k, v)


def test_a_mask_of_the_wrong_polarity_is_caught(monkeypatch):
    q, k, v = _x(N, H, L, 8, seed=1), _x(N, H, S, 8, seed=2), _x(N, H, S, 8)
    keep = ~_hidden(L, S)
    with pytest.raises(CheckError):     # F.'s boolean mask read as torch.nn's (True = hidden)
        _parity("bug", lambda q, k, v: scaled_dot_product_attention(q, k, v, attn_mask=~keep),
                lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=keep), q, k, v)
    ours, theirs = _pair(MultiheadAttention, nn.MultiheadAttention, E, H, batch_first=True)
    additive = attention._additive
    monkeypatch.setattr(attention, "_additive", lambda m, dtype: additive(~m if m.dtype == torch.bool else m, dtype))
    with pytest.raises(CheckError):     # key_padding_mask read as "True = a real token"
        _parity("bug", ours, theirs, _seq(L, batch_first=True), call=_self, key_padding_mask=_padding(L))


class _HeadsInterleaved(MultiheadAttention):
    """Splits features as (d, H) instead of (H, d): head h gets features h, h + H, h + 2H..."""

    def _split_heads(self, x):
        N_, L_, _ = x.shape
        return x.view(N_, L_, self.head_dim, self.num_heads).permute(0, 3, 1, 2)

    def _merge_heads(self, y):
        N_, H_, L_, d = y.shape
        return y.permute(2, 0, 3, 1).reshape(L_, N_, H_ * d)


def test_heads_split_in_the_wrong_order_are_caught():
    theirs = randomise_weights(nn.MultiheadAttention(E, H, batch_first=True))
    ours = _HeadsInterleaved(E, H, batch_first=True)
    ours.load_state_dict(theirs.state_dict())
    with pytest.raises(CheckError):
        _parity("bug", ours, theirs, _seq(L, batch_first=True), call=_self)


def test_layer_norm_before_and_after_swapped_is_caught():
    for ours_first in (True, False):
        theirs = randomise_weights(nn.TransformerEncoderLayer(E, H, FF, 0.0, norm_first=not ours_first))
        ours = TransformerEncoderLayer(E, H, FF, 0.0, norm_first=ours_first)
        ours.load_state_dict(theirs.state_dict())
        with pytest.raises(CheckError):
            _parity("bug", ours, theirs, _seq(S))


def test_is_causal_alone_applies_the_causal_mask():
    """Torch needs attn_mask beside is_causal=True (a hint); ours builds the mask itself (a GPT block's call)."""
    ours, theirs = _pair(MultiheadAttention, nn.MultiheadAttention, E, H, batch_first=True)
    x = _seq(L, batch_first=True)
    for fused in (True, False):
        ours.fused = fused
        for need_weights in (True, False):
            _parity("mha fp32", ours, theirs, x, call=lambda m, x: _self(m, x, need_weights=need_weights,
                    is_causal=True, attn_mask=None if m is ours else causal_mask(L)))
