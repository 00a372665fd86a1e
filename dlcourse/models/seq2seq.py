"""Sequence-to-sequence models: token ids in, next-token logits out (chapters 19 and 20).

    BahdanauSeq2Seq       a bidirectional GRU encoder and a GRU decoder that attends to it with
                          additive attention (Bahdanau, Cho & Bengio 2015), the first attention
    Seq2SeqTransformer    token embeddings x sqrt(d_model) + positions -> dlcourse's Transformer
                          (== nn.Transformer) -> a linear generator (Vaswani et al. 2017, Figure 1)
    translation_step      the teacher-forced training step for ``dlcourse.fit``: loss per token
    translation_eval_step the same, plus greedy decoding's exact-sequence accuracy, for fit's val_step

Both models share one interface, which ``dlcourse.models.decoding`` (greedy and beam search) uses:

    state = model.encode(src)          # src (N, S) ids -> a tuple of tensors, batch first
    logits = model.decode(ys, state)   # ys (N, T) ids, starting with <bos> -> (N, T, vocab)
    logits = model(src, ys)            # both at once (teacher forcing)

Ids 0, 1 and 2 are <pad>, <bos> and <eos> (``dlcourse.data.toy_translation``); padding is
masked out of every attention and of the loss.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from dlcourse.models.attention import AdditiveAttention, causal_mask
from dlcourse.models.decoding import greedy_decode, sequence_accuracy
from dlcourse.models.transformer import LearnedPositionalEncoding, SinusoidalPositionalEncoding, Transformer

__all__ = ["PAD", "BahdanauSeq2Seq", "Seq2SeqTransformer", "translation_step", "translation_eval_step"]

PAD = 0


def _check_ids(who: str, ids: torch.Tensor, vocab: int) -> None:
    if ids.dim() != 2 or ids.dtype != torch.long:
        raise ValueError(f"{who}: expected token ids of shape (N, length) and dtype long, got {tuple(ids.shape)} "
                         f"{ids.dtype}; pad a batch with dlcourse.data.toy_translation.pad_batch.")
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= vocab):
        raise ValueError(f"{who}: ids must lie in [0, {vocab}), got [{int(ids.min())}, {int(ids.max())}]: "
                         f"is the vocabulary size right, or source and target swapped?")


# ----------------------------------------------------------------------------- RNN + additive attention
class BahdanauSeq2Seq(nn.Module):
    """Encoder: a bidirectional GRU over the source, one 2H-wide annotation per token.

    Decoder, at each step t, from its previous state s_{t-1} (appendix A of the paper):
    weights a_t = softmax_j(v^T tanh(W s_{t-1} + U h_j)); context c_t = sum_j a_tj h_j;
    s_t = GRU([embed(y_{t-1}); c_t], s_{t-1}); logits = W_o [s_t; c_t; embed(y_{t-1})].
    The weights of the last ``decode`` are kept in ``last_attention`` (N, T, S): the alignment.
    """

    def __init__(self, src_vocab: int, tgt_vocab: int, embed_dim: int = 32, hidden_dim: int = 64):
        super().__init__()
        self.src_vocab, self.tgt_vocab = src_vocab, tgt_vocab
        self.src_embed = nn.Embedding(src_vocab, embed_dim, padding_idx=PAD)
        self.tgt_embed = nn.Embedding(tgt_vocab, embed_dim, padding_idx=PAD)
        self.encoder = nn.GRU(embed_dim, hidden_dim, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(hidden_dim, hidden_dim)          # s_0 = tanh(W h_1 backward), as the paper
        self.attention = AdditiveAttention(hidden_dim, 2 * hidden_dim, hidden_dim)
        self.decoder = nn.GRUCell(embed_dim + 2 * hidden_dim, hidden_dim)
        self.out = nn.Linear(hidden_dim + 2 * hidden_dim + embed_dim, tgt_vocab)
        self.last_attention: torch.Tensor | None = None

    def encode(self, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(N, S) -> annotations (N, S, 2H), first decoder state (N, H), padding mask (N, S)."""
        _check_ids("BahdanauSeq2Seq.encode", src, self.src_vocab)
        pad = src == PAD
        lengths = (~pad).sum(1).clamp(min=1).cpu()
        # Packed, so the backward direction starts at each source's last real token, not at its padding.
        packed = nn.utils.rnn.pack_padded_sequence(self.src_embed(src), lengths, batch_first=True,
                                                   enforce_sorted=False)
        out, h_n = self.encoder(packed)
        annotations, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=src.size(1))
        return annotations, torch.tanh(self.bridge(h_n[1])), pad

    def decode(self, ys: torch.Tensor, state) -> torch.Tensor:
        """(N, T) target ids so far -> (N, T, vocab) logits, one GRU step per position."""
        _check_ids("BahdanauSeq2Seq.decode", ys, self.tgt_vocab)
        annotations, s, pad = state
        logits, weights = [], []
        for y in self.tgt_embed(ys).unbind(1):                                  # (N, E) per step
            context, a = self.attention(s, annotations, key_padding_mask=pad)   # (N, 2H), (N, S)
            s = self.decoder(torch.cat([y, context], -1), s)
            logits.append(self.out(torch.cat([s, context, y], -1)))
            weights.append(a)
        self.last_attention = torch.stack(weights, 1).detach()
        return torch.stack(logits, 1)

    def forward(self, src: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
        return self.decode(ys, self.encode(src))


# ----------------------------------------------------------------------------- the Transformer
class Seq2SeqTransformer(nn.Module):
    """Embeddings (x sqrt(d_model), section 3.4) + positions -> Transformer -> Linear to the vocabulary.

    positions: "sinusoidal" (the paper's, section 3.5) or "learned" (a table, as BERT and GPT).
    The Transformer is ``dlcourse.models.Transformer`` (== nn.Transformer), batch first.
    Embeddings start N(0, 1/d_model), so after the sqrt(d_model) scaling they have unit
    variance, the scale of the sinusoids added to them.
    """

    def __init__(self, src_vocab: int, tgt_vocab: int, d_model: int = 128, nhead: int = 4,
                 num_encoder_layers: int = 2, num_decoder_layers: int = 2, dim_feedforward: int = 512,
                 dropout: float = 0.1, positions: str = "sinusoidal", max_len: int = 64, norm_first: bool = False):
        super().__init__()
        if positions not in ("sinusoidal", "learned"):
            raise ValueError(f"Seq2SeqTransformer: positions must be 'sinusoidal' or 'learned', got {positions!r}.")
        self.src_vocab, self.tgt_vocab, self.d_model = src_vocab, tgt_vocab, d_model
        self.src_embed = nn.Embedding(src_vocab, d_model, padding_idx=PAD)
        self.tgt_embed = nn.Embedding(tgt_vocab, d_model, padding_idx=PAD)
        for embed in (self.src_embed, self.tgt_embed):
            nn.init.normal_(embed.weight, std=d_model ** -0.5)
            embed.weight.data[PAD].zero_()
        Positions = SinusoidalPositionalEncoding if positions == "sinusoidal" else LearnedPositionalEncoding
        self.src_pos = Positions(d_model, max_len=max_len, dropout=dropout, batch_first=True)
        self.tgt_pos = Positions(d_model, max_len=max_len, dropout=dropout, batch_first=True)
        self.transformer = Transformer(d_model, nhead, num_encoder_layers, num_decoder_layers, dim_feedforward,
                                       dropout, batch_first=True, norm_first=norm_first)
        self.generator = nn.Linear(d_model, tgt_vocab)

    def encode(self, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, S) ids -> memory (N, S, d_model) and the source padding mask (N, S), True at padding."""
        _check_ids("Seq2SeqTransformer.encode", src, self.src_vocab)
        pad = src == PAD
        x = self.src_pos(self.src_embed(src) * math.sqrt(self.d_model))
        return self.transformer.encoder(x, src_key_padding_mask=pad), pad

    def decode(self, ys: torch.Tensor, state) -> torch.Tensor:
        """(N, T) ids so far -> (N, T, vocab): position t sees targets <= t and the whole memory."""
        _check_ids("Seq2SeqTransformer.decode", ys, self.tgt_vocab)
        memory, src_pad = state
        T = ys.size(1)
        x = self.tgt_pos(self.tgt_embed(ys) * math.sqrt(self.d_model))
        h = self.transformer.decoder(x, memory, tgt_mask=causal_mask(T, device=ys.device, dtype=x.dtype),
                                     tgt_key_padding_mask=ys == PAD, memory_key_padding_mask=src_pad,
                                     tgt_is_causal=True)
        return self.generator(h)

    def forward(self, src: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
        return self.decode(ys, self.encode(src))


def translation_step(model: nn.Module, batch, label_smoothing: float = 0.0) -> dict[str, torch.Tensor]:
    """Teacher forcing for ``dlcourse.fit(step=...)``: feed <bos> y_1 .. y_{T-1}, predict y_1 .. <eos>.

    Returns the mean cross-entropy per real target token, the token accuracy, and "n" (the
    number of real tokens), so fit averages over tokens, not over sentences of unequal length.
    """
    src, tgt = batch
    ys_in, ys_out = tgt[:, :-1], tgt[:, 1:]
    logits = model(src, ys_in)
    real = ys_out != PAD
    loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), ys_out.reshape(-1), ignore_index=PAD,
                           label_smoothing=label_smoothing)
    correct = (logits.argmax(-1) == ys_out) & real
    return {"loss": loss, "token_accuracy": correct.sum() / real.sum(), "n": real.sum()}


def translation_eval_step(max_len: int):
    """A ``val_step`` for fit: translation_step's loss and token accuracy, plus the fraction of
    sources whose greedy translation is exactly right ("sequence_accuracy").

    fit averages a step's values weighted by its "n", which is here the number of sentences: give
    the validation loader a single batch (the whole held-out set) and every value is exact.
    """
    def step(model: nn.Module, batch) -> dict[str, torch.Tensor]:
        src, tgt = batch
        values = translation_step(model, batch)
        exact = sequence_accuracy(greedy_decode(model, src, max_len), tgt)
        return {**values, "sequence_accuracy": exact.float().mean().to(src.device),
                "n": torch.tensor(src.size(0), device=src.device)}
    return step
