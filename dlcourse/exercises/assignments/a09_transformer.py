"""The checks of assignment a09 (a simple Transformer): attention, multi-head attention, an encoder
block, and a small model trained to reverse sequences.

``check_attention``, ``check_multihead`` and ``check_encoder_block`` compare the student's code
with F.scaled_dot_product_attention, nn.MultiheadAttention and nn.TransformerEncoderLayer given
the same weights, in values and gradients, and name the usual mistakes (no 1/sqrt(d_k), a mask
of the wrong sign, heads split the wrong way, post-LN instead of pre-LN...). ``train_reverser``
is the course driver that trains the design of a student's model class on the reversal task
with ``dlcourse.fit``, on the grader's own copy of it (traced once, rebuilt and started in the
grader: ``designs``).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from dlcourse.checks import CheckError, predict
from dlcourse.exercises.assignments.designs import on_rebuilt, rebuilt_design, sequences
from dlcourse.exercises.assignments.sequence_checks import check_parity
from dlcourse.profiling import count_params

__all__ = ["CHAPTER", "READY_MADE_ATTENTION", "check_attention", "check_multihead", "check_encoder_block",
           "reversal_data", "token_loss", "reverser", "train_reverser", "trained_accuracy", "check_reverser_shape", "check_reverser"]

CHAPTER = "20_transformer"   # the chapter notebook this assignment practises

READY_MADE_ATTENTION = ("torch.nn.functional.scaled_dot_product_attention", "torch.nn.MultiheadAttention",
                        "torch.nn.functional.multi_head_attention_forward",
                        "dlcourse.models.attention.scaled_dot_product_attention",
                        "dlcourse.models.attention.attention_weights", "dlcourse.models.attention.MultiheadAttention")
READY_MADE_MHA = READY_MADE_ATTENTION[1:3] + READY_MADE_ATTENTION[5:]
RULE_1 = "Task 1 writes attention from its formula (matrix products and torch.softmax)"
RULE_2 = "Task 2 builds multi-head attention itself (F.scaled_dot_product_attention is allowed)"
SHAPE_HINTS = {"cannot be multiplied": "Check the transposes: scores = q @ k.transpose(-2, -1), and a weight "
                                       "W (out, in) applies as x @ W.T (or F.linear(x, W, b)).",
               "size of tensor a": "Check that the mask broadcasts to the scores' shape (..., L, S).",
               "view size is not compatible": "After a transpose the tensor is not contiguous: use .reshape "
                                              "or .contiguous().view."}


# ----------------------------------------------------------------------------- Task 1
def _reference_attention(q, k, v, mask=None):
    weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
                            + (0 if mask is None else torch.zeros_like(mask, dtype=q.dtype)
                               .masked_fill(~mask, float("-inf"))), dim=-1)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask), weights


def _attention_variant(scale="sqrt", mask_sign=1, after_softmax=False, dim=-1):
    def attention(q, k, v, mask=None):
        d = q.shape[-1]
        s = {"sqrt": 1 / math.sqrt(d), "none": 1.0, "d": 1 / d}[scale]
        scores = q @ k.transpose(-2, -1) * s
        if mask is not None and not after_softmax:
            scores = scores.masked_fill(mask if mask_sign < 0 else ~mask, float("-inf"))
        weights = torch.softmax(scores, dim=dim)
        if mask is not None and after_softmax:
            weights = weights * mask
        return weights @ v, weights
    return attention


ATTENTION_MISTAKES = {
    "attention without the 1/sqrt(d_k) scale": (_attention_variant(scale="none"), "divide the scores by "
                                                "sqrt(d_k), d_k = q.shape[-1], before the softmax."),
    "scores divided by d_k, not sqrt(d_k)": (_attention_variant(scale="d"), "divide by math.sqrt(d_k)."),
    "a mask of the wrong sign (True = hidden)": (_attention_variant(mask_sign=-1),
                                                 "True means the query MAY attend to that key (as in "
                                                 "F.scaled_dot_product_attention): fill the scores where the "
                                                 "mask is False with -inf: scores.masked_fill(~mask, -inf)."),
    "a mask applied after the softmax": (_attention_variant(after_softmax=True),
                                         "mask the scores before the softmax (masked_fill with -inf), so the "
                                         "remaining weights still sum to 1."),
    "a softmax over the queries (dim=-2)": (_attention_variant(dim=-2), "each query's weights over the keys sum "
                                            "to 1: softmax(scores, dim=-1)."),
}


def attention_inputs(batch=(2,), L=4, S=5, d=8, dv=6, mask: str | None = None, seed: int = 0) -> list:
    """[q, k, v] (and a boolean mask, True = may attend, every query keeping a key), seeded."""
    g = torch.Generator().manual_seed(seed)
    q, k = torch.randn(*batch, L, d, generator=g) * 1.5, torch.randn(*batch, S, d, generator=g) * 1.5
    inputs = [q, k, torch.randn(*batch, S, dv, generator=g)]
    if mask == "causal":
        inputs.append(torch.ones(L, S, dtype=torch.bool).tril())
    elif mask == "padding":
        keep = torch.rand(*batch, 1, S, generator=g) > 0.4
        keep[..., 0] = True
        inputs.append(keep)
    return inputs


def check_attention(attention, batch=(2,), L=4, S=5, d=8, dv=6, mask: str | None = None, seed: int = 0) -> None:
    """The student's ``attention(q, k, v, mask=None)`` -> (output, weights) == F.scaled_dot_product_attention."""
    __tracebackhide__ = True
    inputs = attention_inputs(batch, L, S, d, dv, mask, seed)
    label = f"attention(q {tuple(inputs[0].shape)}, k {tuple(inputs[1].shape)}" + (f", {mask} mask)" if mask else ")")
    check_parity(label, attention, _reference_attention, inputs, mistakes=ATTENTION_MISTAKES,
                 forbidden=READY_MADE_ATTENTION, rule=RULE_1, hints=SHAPE_HINTS,
                 output_names=["output", "weights"], input_names=["q", "k", "v", "mask"])


# ----------------------------------------------------------------------------- Task 2
class TorchMultiheadAttention(nn.MultiheadAttention):
    """nn.MultiheadAttention, batch first, called as the assignment's: forward(q, k, v, key_padding_mask)."""

    def __init__(self, embed_dim, num_heads):
        super().__init__(embed_dim, num_heads, batch_first=True)

    def forward(self, query, key, value, key_padding_mask=None):
        return super().forward(query, key, value, key_padding_mask=key_padding_mask, need_weights=False)[0]


class _MHAVariant(nn.Module):
    """Multi-head attention with one known mistake (parameters named as nn.MultiheadAttention's)."""
    flags: dict = {}

    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.in_proj_weight = nn.Parameter(torch.empty(3 * embed_dim, embed_dim))
        self.in_proj_bias = nn.Parameter(torch.empty(3 * embed_dim))
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, query, key, value, key_padding_mask=None):
        f, (N, L, E), H = self.flags, query.shape, self.num_heads
        w_q, w_k, w_v = self.in_proj_weight.chunk(3)
        b_q, b_k, b_v = self.in_proj_bias.chunk(3)
        q, k, v = F.linear(query, w_q, b_q), F.linear(key, w_k, b_k), F.linear(value, w_v, b_v)

        def heads(x):
            if f.get("bad_split"):
                return x.reshape(N, H, x.shape[1], E // H)
            return x.view(N, x.shape[1], H, E // H).transpose(1, 2)
        q, k, v = heads(q), heads(k), heads(v)
        scores = q @ k.transpose(-2, -1) / math.sqrt(E if f.get("scale_by_E") else E // H)
        if key_padding_mask is not None:
            hidden = ~key_padding_mask if f.get("mask_sign") else key_padding_mask
            scores = scores.masked_fill(hidden[:, None, None, :], float("-inf"))
        y = (torch.softmax(scores, -1) @ v).transpose(1, 2).reshape(N, L, E)
        return y if f.get("no_out_proj") else self.out_proj(y)


def _mha(**flags) -> type:
    return type("MHAMistake", (_MHAVariant,), {"flags": flags})


MHA_MISTAKES = {
    "heads split with reshape(N, num_heads, L, head_dim)": (_mha(bad_split=True),
                                                            "head h owns features h*head_dim ... (h+1)*head_dim - 1 "
                                                            "of every position: x.view(N, L, num_heads, head_dim)"
                                                            ".transpose(1, 2)."),
    "scores scaled by sqrt(embed_dim)": (_mha(scale_by_E=True), "each head scales by sqrt(head_dim), head_dim = "
                                                               "embed_dim // num_heads."),
    "a key_padding_mask of the wrong sign": (_mha(mask_sign=True), "key_padding_mask is True at PADDING keys "
                                                                   "(hidden), as in nn.MultiheadAttention."),
    "no output projection": (_mha(no_out_proj=True), "merge the heads back to (N, L, embed_dim), then apply "
                                                     "self.out_proj."),
}


def _mha_state(E: int, H: int, seed: int) -> dict:
    torch.manual_seed(seed)
    ref = TorchMultiheadAttention(E, H)
    with torch.no_grad():          # torch starts the biases at 0, which would hide a bias left out
        for name, p in ref.named_parameters():
            if "bias" in name:
                p.uniform_(-0.3, 0.3)
    return {k: v.clone() for k, v in ref.state_dict().items()}


def check_multihead(mha_class, E: int = 8, H: int = 2, N: int = 2, L: int = 5, S: int | None = None,
                    padding: bool = False, seed: int = 0) -> None:
    """The student's ``mha_class(E, H)`` given nn.MultiheadAttention's weights: same outputs and gradients."""
    __tracebackhide__ = True
    g = torch.Generator().manual_seed(seed)
    S = L if S is None else S
    x = torch.randn(N, L, E, generator=g)
    kv = x if S == L else torch.randn(N, S, E, generator=g)
    inputs = [x, kv, kv.clone()]
    if padding:
        pad = torch.rand(N, S, generator=g) < 0.35
        pad[:, 0] = False
        inputs.append(pad)
    label = f"{getattr(mha_class, '__name__', 'MultiHeadAttention')}(embed_dim={E}, num_heads={H}) on ({N}, {L}, {E})" \
        + (" with a key_padding_mask" if padding else "")
    check_parity(label, mha_class, TorchMultiheadAttention, inputs, init=dict(embed_dim=E, num_heads=H),
                 state=_mha_state(E, H, seed), mistakes=MHA_MISTAKES, forbidden=READY_MADE_MHA, rule=RULE_2,
                 hints=SHAPE_HINTS, output_names=["output"],
                 input_names=["query", "key", "value", "key_padding_mask"])


# ----------------------------------------------------------------------------- Task 3
class TorchEncoderLayer(nn.TransformerEncoderLayer):
    """nn.TransformerEncoderLayer, pre-LN, ReLU, no dropout, batch first; forward(x, key_padding_mask)."""

    def __init__(self, d_model, nhead, dim_feedforward):
        super().__init__(d_model, nhead, dim_feedforward, dropout=0.0, batch_first=True, norm_first=True)

    def forward(self, x, key_padding_mask=None):
        return super().forward(x, src_key_padding_mask=key_padding_mask)


class _BlockVariant(TorchEncoderLayer):
    flags: dict = {}

    def forward(self, x, key_padding_mask=None):
        f = self.flags
        act = F.gelu if f.get("gelu") else F.relu

        def sa(z):
            return self.self_attn(z, z, z, key_padding_mask=key_padding_mask, need_weights=False)[0]

        def ff(z):
            return self.linear2(act(self.linear1(z)))
        if f.get("post_ln"):
            x = self.norm1(x + sa(x))
            return self.norm2(x + ff(x))
        x = (0 if f.get("no_residual") else x) + sa(self.norm1(x))
        return (0 if f.get("no_residual") else x) + ff(self.norm2(x))


def _block(**flags) -> type:
    return type("BlockMistake", (_BlockVariant,), {"flags": flags})


BLOCK_MISTAKES = {
    "a post-LN block (LayerNorm after each residual sum)": (_block(post_ln=True),
                                                             "this block is pre-LN: x = x + attention(norm1(x)), "
                                                             "then x = x + ffn(norm2(x)); no LayerNorm at the end."),
    "a block without its residual connections": (_block(no_residual=True), "add each sublayer's input back: "
                                                                          "x = x + sublayer(norm(x))."),
    "GELU in the feed-forward net": (_block(gelu=True), "the feed-forward net is linear2(relu(linear1(x))), as "
                                                        "nn.TransformerEncoderLayer's default."),
}


def check_encoder_block(block_class, d_model: int = 8, nhead: int = 2, dim_feedforward: int = 16, N: int = 2,
                        L: int = 5, padding: bool = False, seed: int = 0) -> None:
    """The student's ``block_class(d_model, nhead, dim_feedforward)`` == nn.TransformerEncoderLayer(norm_first=True)."""
    __tracebackhide__ = True
    torch.manual_seed(seed)
    ref = TorchEncoderLayer(d_model, nhead, dim_feedforward)
    with torch.no_grad():
        for name, p in ref.named_parameters():
            if "bias" in name or "norm" in name:
                p.add_(torch.rand(p.shape) * 0.4 - 0.2)   # LayerNorm at 1/0 and zero biases would hide mistakes
    g = torch.Generator().manual_seed(seed)
    inputs = [torch.randn(N, L, d_model, generator=g)]
    if padding:
        pad = torch.rand(N, L, generator=g) < 0.35
        pad[:, 0] = False
        inputs.append(pad)
    label = f"EncoderBlock(d_model={d_model}, nhead={nhead}, dim_feedforward={dim_feedforward}) on ({N}, {L}, " \
            f"{d_model})" + (" with a key_padding_mask" if padding else "")
    check_parity(label, block_class, TorchEncoderLayer, inputs,
                 init=dict(d_model=d_model, nhead=nhead, dim_feedforward=dim_feedforward),
                 state={k: v.clone() for k, v in ref.state_dict().items()}, mistakes=BLOCK_MISTAKES,
                 forbidden=("torch.nn.TransformerEncoderLayer", "torch.nn.TransformerEncoder",
                            "dlcourse.models.transformer.TransformerEncoderLayer"),
                 rule="Task 3 builds the block from its parts", hints=SHAPE_HINTS, output_names=["output"],
                 input_names=["x", "key_padding_mask"])


# ----------------------------------------------------------------------------- Task 4
def reversal_data(n: int, length: int, vocab: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n random sequences of tokens 0..vocab-1 and their reversals, seeded: (n, length) each."""
    x = torch.randint(0, vocab, (n, length), generator=torch.Generator().manual_seed(seed))
    return x, x.flip(1)


def token_loss(logits, y):
    """Cross-entropy of per-position logits (N, L, vocab) against token ids (N, L); the shape's fix named
    (also a11's next-token loss)."""
    if logits.shape[:2] != y.shape:
        raise ValueError(f"the model returned shape {tuple(logits.shape)} for ids of shape {tuple(y.shape)}; "
                         "return logits (N, L, vocab_size): one score per token of the vocabulary, per position")
    return F.cross_entropy(logits.flatten(0, 1), y.flatten())


# A learned position table (max_len x d_model) is a tensor no layer takes: the design keeps it as it
# sent it. It cannot help here: the test sequences are drawn afresh, and reversal is computed, not looked up.
MAX_KEPT_A09 = 64 * 128


def reverser(model_class, seed: int = 0, length: int = 8, vocab: int = 10) -> nn.Module:
    """``model_class(vocab, length)`` rebuilt here in float64 from its trace on (N, length) token ids
    (``designs.rebuilt_design``), its layers started with ``seed``."""
    __tracebackhide__ = True
    return rebuilt_design(model_class, (vocab, length), inputs=sequences(length, vocab), name="ToyTransformer",
                          dtype=torch.float64, seed=seed, max_kept=MAX_KEPT_A09)


def train_reverser(model, seed: int = 0, length: int = 8, vocab: int = 10, steps: int = 400,
                   lr: float = 3e-3) -> dict:
    """Train ``model`` (the design rebuilt here) to reverse sequences with dlcourse.fit (Adam, batches
    of 64, ``steps`` steps on fresh seeded sequences); {"loss"}."""
    from torch.utils.data import DataLoader, TensorDataset

    from dlcourse.device import graded_run
    from dlcourse.train import fit

    with graded_run():  # float64 on one thread: the same score on every machine
        torch.manual_seed(seed)
        x, y = reversal_data(64 * steps, length, vocab, seed)
        loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=False)
        history = fit(model, loader, torch.optim.Adam(model.parameters(), lr=lr), epochs=1, loss_fn=token_loss,
                      metrics=(), device="cpu", amp=False, progress=False, live_plot=False)
    return {"loss": float(history["train_loss"][-1])}


def reverser_accuracy(model, seed: int = 0, length: int = 8, vocab: int = 10) -> float:
    """Per-token accuracy of ``model`` on 1000 new sequences, drawn and scored here."""
    x_test, y_test = reversal_data(1000, length, vocab, seed + 1000)
    return float((predict(model, x_test).argmax(-1) == y_test).float().mean())


def reverser_probe(model, vocab: int = 10, length: int = 8) -> dict:
    ids = torch.randint(0, vocab, (3, length), generator=torch.Generator().manual_seed(0))
    out = model.eval()(ids)
    return {"shape": list(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__,
            "n_params": count_params(model)}


def check_reverser_shape(model_class) -> None:
    __tracebackhide__ = True
    probe = on_rebuilt("ToyTransformer(10, 8) on ids of shape (3, 8)", reverser_probe, reverser(model_class))
    if probe["shape"] != [3, 8, 10]:
        raise CheckError(f"ToyTransformer(10, 8) on ids of shape (3, 8) returned {probe['shape']}, expected "
                         "[3, 8, 10]: logits (N, L, vocab_size), one row of scores per position.")
    print(f"OK ToyTransformer(10, 8): logits (3, 8, 10) for ids (3, 8); {probe['n_params']} parameters")


def trained_accuracy(model_class, seed: int = 0, length: int = 8) -> tuple[float, float]:
    """(share of tokens reversed, final training loss) of the student's design rebuilt, trained and
    scored here: what ``check_reverser`` grades (and ``benchmarks/tier_margins.py`` measures)."""
    __tracebackhide__ = True
    model = reverser(model_class, seed, length)
    r = on_rebuilt(f"training ToyTransformer (seed {seed}, length {length})", train_reverser, model, seed,
                   length)
    return reverser_accuracy(model, seed, length), r["loss"]


def check_reverser(model_class, seed: int = 0, length: int = 8, threshold: float = 0.9) -> None:
    """Train the student's design, rebuilt here, and require ``threshold`` accuracy on new sequences."""
    __tracebackhide__ = True
    accuracy, loss = trained_accuracy(model_class, seed, length)
    if not accuracy >= threshold:
        raise CheckError(f"ToyTransformer (seed {seed}, length {length}): reverses {accuracy:.1%} of the tokens "
                         f"of new sequences, below {threshold:.0%} (mean training loss {loss:.3f}). Reversal "
                         "needs to know WHERE each token is: add a positional encoding (a learned "
                         "nn.Parameter(max_len, d_model) or sinusoids) to the token embeddings, at a scale that does not "
                         "drown it (no sqrt(d_model) factor on nn.Embedding's outputs); keep d_model 32-64.")
    print(f"OK ToyTransformer (seed {seed}, length {length}): {accuracy:.1%} of the tokens reversed correctly "
          f"(needed {threshold:.0%})")
