# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 21 · BERT
#
# Chapter 20's Transformer encoder, trained on no task at all: BERT (Devlin et al. 2019) reads
# unlabelled text with a few words hidden and learns to fill them in. What it learns on the way,
# a representation of each word in its sentence, transfers to almost any language task. This
# chapter builds BERT's tokenizer and model, proves both equal to the reference implementations,
# loads real pretrained weights into the from-scratch model, and uses them on SST-2.
#
# **What you will build**
#
# - WordPiece tokenisation from scratch, equal to transformers' BERT tokenizers on every SST-2 sentence;
# - BERT's inputs: `[CLS] A [SEP] B [SEP]`, segment ids, the padding mask;
# - the encoder (embeddings, post-LN layers, pooler), equal to `transformers.BertModel` with the
#   same weights, and the real **all-MiniLM-L6-v2** loaded into it by a key map: the same sentence
#   embeddings as sentence-transformers;
# - masked-language modelling (80/10/10) and next-sentence prediction, and a tiny pretraining run;
# - feature extraction vs fine-tuning on SST-2, measured.
#
# **Prerequisites**: [20 · The Transformer](../part4_sequences/20_transformer.ipynb) (encoder layers,
# post-LN, learned positions), [19 · Attention](../part4_sequences/19_attention.ipynb) (masks),
# [18 · LSTM, GRU](../part4_sequences/18_lstm_gru.ipynb) (SST-2 and its vocabulary-based baseline).
#
# **Run time**: CPU (2 cores): fast mode about 30 s; full mode not measured in the notebook (its
# fine-tuning run is `benchmarks/recipes/minilm_sst2.py`); GPU: not measured yet.

# %% [markdown]
# ## Setup

# %%
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")   # every file is local: the references never reach the model hub

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import dlcourse
from dlcourse.checks import check_close, check_like_torch, randomise_weights
from dlcourse.data import WordPiece, bert_loader, load_sst2, minilm_path, mlm_mask
from dlcourse.exercises.chapters import ch21_bert as exercises
from dlcourse.models.bert import (BERT, BERT_KEYS, BertClassifier, BertConfig, BertLayer, BertPretraining,
                                  mean_pool, minilm_l6)
from dlcourse.profiling import count_params

device = dlcourse.setup(seed=0)

# %% [markdown]
# The budget. `FAST` is set by CI (`DLCOURSE_FAST=1`): the same data, fewer sentences and steps.

# %% tags=["parameters"]
FAST = dlcourse.fast_mode()
N_TRAIN = 160 if FAST else 6_920          # SST-2 training sentences for the classifiers (all: 6,920)
N_DEV = 160 if FAST else 872              # dev sentences they are scored on (all: 872)
MAX_LEN = 40 if FAST else 66              # pieces per sentence, [CLS] and [SEP] included
FINETUNE_EPOCHS = 1 if FAST else 2
FINETUNE_BATCH, FINETUNE_LR = (8, 1e-4) if FAST else (32, 5e-5)   # fast mode: more, larger steps in its 160 sentences
PRETRAIN_SENTENCES = 256 if FAST else 6_920
PRETRAIN_EPOCHS = 1 if FAST else 10

# %% [markdown]
# ## 1. WordPiece
#
# A word-level vocabulary (chapter 18) maps every unseen word to `<unk>`. BERT's 30,522 **word
# pieces** cover any text: frequent words are one piece, rare ones split into several, and `##`
# marks a piece that continues a word. Tokenising is two stages: a *basic* split into words and
# punctuation (lower-cased, accents stripped), then, per word, **greedy longest-match-first**: the
# longest prefix in the vocabulary, then the longest `##` continuation of the rest, and so on.

# %%
vocab = set(WordPiece.minilm().itos)          # all-MiniLM-L6-v2's vocab.txt, inside its wheel
print(f"{len(vocab):,} pieces, e.g.", sorted(vocab)[2000:2006], "...")


def greedy_pieces(word):
    pieces, start = [], 0
    while start < len(word):
        for end in range(len(word), start, -1):                 # the longest candidate first
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
        else:
            return ["[UNK]"]                                     # no way through: the whole word
        pieces.append(piece)
        start = end
    return pieces


for word in ["movie", "unwatchable", "tokenization", "snow☃"]:
    print(f"{word!r:>16} -> {greedy_pieces(word)}")

# %% [markdown]
# `dlcourse.data.WordPiece` adds the basic stage (control characters dropped, Chinese characters
# split apart, accents stripped, punctuation split off) and ids. It is proven equal to transformers'
# Python tokenizer and its Rust one on all 9,613 SST-2 sentences (`tests/test_wordpiece.py`); here
# the dev split, against the Rust one:

# %%
from transformers import BertTokenizerFast  # noqa: E402

tok = WordPiece.minilm()
reference_tok = BertTokenizerFast.from_pretrained(str(minilm_path()))
dev_texts = load_sst2("dev").texts
same = sum(tok.encode(t) == ids for t, ids in zip(dev_texts, reference_tok(dev_texts)["input_ids"]))
print(f"identical ids on {same} of {len(dev_texts)} SST-2 dev sentences")
print(tok.tokenize("Un film très réussi : 東京 !"))
assert same == len(dev_texts)

# %% [markdown]
# ## 2. BERT's inputs
#
# Every input starts with `[CLS]` (its final state summarises the input) and ends each sentence with
# `[SEP]`; a pair of sentences (question and passage, premise and hypothesis) gets **segment ids**
# 0 and 1, whose learned embedding is added to each token's. A batch is padded with `[PAD]`, and an
# attention mask (1 = real token) keeps every query from reading the padding.

# %%
batch = tok(["a gripping film .", "the ending drags"], pairs=["worth it .", "badly ."])
for row in range(2):
    print(tok.decode(batch.input_ids[row]))
    print("  segments:", batch.token_type_ids[row].tolist(), " mask:", batch.attention_mask[row].tolist())

# %% [markdown]
# ## 3. The encoder
#
# BERT is chapter 20's post-LN encoder with three differences: positions are learned (a table of
# 512), segments get an embedding too, and the activation is GELU. A layer, written out:

# %%
class MyBertLayer(nn.Module):
    def __init__(self, dim, heads, ffn_dim):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.o = (nn.Linear(dim, dim) for _ in range(4))
        self.norm1, self.norm2 = nn.LayerNorm(dim, eps=1e-12), nn.LayerNorm(dim, eps=1e-12)
        self.ff1, self.ff2 = nn.Linear(dim, ffn_dim), nn.Linear(ffn_dim, dim)

    def forward(self, x, attend):                 # (N, T, D), (N, T) with 1 at real tokens
        N, T, D = x.shape
        q, k, v = (f(x).view(N, T, self.heads, -1).transpose(1, 2) for f in (self.q, self.k, self.v))
        scores = q @ k.transpose(-2, -1) / (D // self.heads) ** 0.5            # (N, H, T, T)
        scores = scores.masked_fill(attend[:, None, None, :] == 0, float("-inf"))   # hide padding keys
        y = (scores.softmax(-1) @ v).transpose(1, 2).reshape(N, T, D)
        x = self.norm1(x + self.o(y))                                             # post-LN, as the paper
        return self.norm2(x + self.ff2(F.gelu(self.ff1(x))))


cfg = BertConfig(vocab_size=len(tok), dim=32, n_layer=2, n_head=4, ffn_dim=64, dropout=0.0, attn_dropout=0.0)
mine, ours = MyBertLayer(32, 4, 64), randomise_weights(BertLayer(cfg)).eval()
mine.load_state_dict({k.replace("attn.query", "q").replace("attn.key", "k").replace("attn.value", "v")
                      .replace("attn.out_proj", "o").replace("linear", "ff"): w for k, w in ours.state_dict().items()})
x = torch.randn(2, 7, 32)
attend = torch.tensor([[1] * 7, [1] * 4 + [0] * 3])
check_like_torch("my BERT layer vs dlcourse's BertLayer (real tokens)",
                 lambda x: mine(x, attend)[attend.bool()], lambda x: ours(x, attend.bool()[:, None, None, :])[attend.bool()], x)

# %% [markdown]
# `dlcourse.models.bert.BERT` stacks such layers over the embeddings, and adds the **pooler**,
# $\tanh(W h_{[CLS]} + b)$, which next-sentence prediction trains. Its weights have the chapter's
# names; `BERT_KEYS` (a `KeyMap`) renames a transformers checkpoint onto them
# (`encoder.layer.0.attention.self.query` → `layers.0.attn.query`, ...). Against
# `transformers.BertModel` with random weights copied across by that key map:

# %%
import transformers  # noqa: E402

hf_cfg = transformers.BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                 intermediate_size=64, max_position_embeddings=16)
theirs = randomise_weights(transformers.BertModel(hf_cfg)).eval()
small = BERT_KEYS.load(BERT(BertConfig.from_pretrained_config(hf_cfg)), theirs.state_dict()).eval()
ids = torch.randint(1, 100, (3, 10))
mask = torch.ones_like(ids)
mask[1, 6:] = 0
with torch.no_grad():
    states, pooled = small(ids, mask)
    reference = theirs(input_ids=ids, attention_mask=mask)
check_close("BERT token states vs transformers.BertModel", states[mask.bool()], reference.last_hidden_state[mask.bool()])
check_close("pooled [CLS] vs transformers' pooler", pooled, reference.pooler_output)

# %% [markdown]
# `tests/test_bert.py` also compares every parameter's gradient. Now the real thing:
# **all-MiniLM-L6-v2** (6 layers, 384 features, 12 heads; distilled from a larger model by MiniLM,
# then trained by sentence-transformers so that the *mean* of its token states is a sentence
# embedding whose cosine similarity means similar meaning). Its checkpoint loads by key copy:

# %%
minilm = minilm_l6()
print(minilm.config)
print(f"{count_params(minilm):,} weights")
from sentence_transformers import SentenceTransformer  # noqa: E402

st = SentenceTransformer(str(minilm_path()), device="cpu")
sample = dev_texts[:32]
inputs = tok(sample)
with torch.no_grad():
    ours_emb = F.normalize(mean_pool(minilm(*inputs)[0], inputs.attention_mask), dim=-1)
theirs_emb = st.encode(sample, convert_to_tensor=True)
error = float((ours_emb - theirs_emb).abs().max())
print(f"max |our sentence embedding - sentence-transformers'| on 32 SST-2 sentences: {error:.1e}")
assert error <= 1e-5

# %% [markdown]
# ## 4. Look inside: what the embeddings know
#
# Cosine similarity between sentence embeddings: paraphrases land close, unrelated sentences far
# apart, although no word is shared.

# %%
sentences = ["a gripping , beautifully acted thriller .", "a tense , well-performed suspense film .",
             "the plot is dull and the jokes fall flat .", "boring story , unfunny gags .",
             "the cat sat on the mat .", "a kitten was sitting on the rug ."]
enc = tok(sentences)
with torch.no_grad():
    e = F.normalize(mean_pool(minilm(*enc)[0], enc.attention_mask), dim=-1)
sims = e @ e.T
fig, ax = plt.subplots(figsize=(6, 5))
ax.imshow(sims, cmap="viridis", vmin=0, vmax=1)
ax.set_xticks(range(6), [s[:18] for s in sentences], rotation=60, ha="right")
ax.set_yticks(range(6), [s[:18] for s in sentences])
for i in range(6):
    for j in range(6):
        ax.text(j, i, f"{sims[i, j]:.2f}", ha="center", va="center", color="w" if sims[i, j] < 0.6 else "k")
ax.set_title("cosine similarity, all-MiniLM-L6-v2")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 5. Pretraining: masked language modelling and next-sentence prediction
#
# **MLM.** 15% of the tokens are chosen; the model must predict the original token there from both
# sides' context (a left-to-right language model sees one side only; this is what makes BERT
# *bidirectional*). Of the chosen ones, 80% become `[MASK]`, 10% a random token and 10% stay as
# they were: `[MASK]` never appears in fine-tuning, so the model must build a good representation
# of every token, not only of the masks. `tests/test_wordpiece.py` checks these proportions.
#
# **NSP.** Half of the pairs `[CLS] A [SEP] B [SEP]` have B the sentence that followed A (IsNext),
# half a random one (NotNext); the pooled `[CLS]` state classifies them. Later work (RoBERTa, Liu
# et al. 2019) found NSP of little use and dropped it; it is here because BERT has it. SST-2 has no
# documents, so our pairs are a sentence's first half and either its own second half or another
# sentence's.

# %%
example = tok(["the film was a gripping and beautifully acted thriller ."])
corrupted, labels = mlm_mask(example.input_ids, tok, p=0.3, generator=torch.Generator().manual_seed(3))
print("input    :", tok.decode(example.input_ids[0]))
print("corrupted:", tok.decode(corrupted[0]))
print("targets  :", [tok.itos[i] for i in labels[0].tolist() if i != -100])

# %%
train = load_sst2("train")
halves = [t.split() for t in train.texts[:PRETRAIN_SENTENCES] if len(t.split()) >= 6]
g = torch.Generator().manual_seed(0)
is_next = torch.rand(len(halves), generator=g) < 0.5
other = torch.randint(len(halves), (len(halves),), generator=g)
first = [" ".join(w[: len(w) // 2]) for w in halves]
second = [" ".join(w[len(w) // 2:]) if is_next[i] else " ".join(halves[other[i]][len(halves[other[i]]) // 2:])
          for i, w in enumerate(halves)]
pairs = tok(first, pairs=second, max_length=48)
pretrain_loader = DataLoader(TensorDataset(*pairs, (~is_next).long()), batch_size=32, shuffle=True,
                             generator=torch.Generator().manual_seed(0))


def pretrain_step(model, batch):
    ids, mask, types, nsp_label = batch
    corrupted, mlm_labels = mlm_mask(ids, tok)
    mlm_logits, nsp_logits = model(corrupted, mask, types)
    mlm = F.cross_entropy(mlm_logits.flatten(0, 1), mlm_labels.flatten())        # -100: not a target
    nsp = F.cross_entropy(nsp_logits, nsp_label)
    return {"loss": mlm + nsp, "mlm": mlm, "nsp": nsp}


tiny = BertPretraining(BertConfig(vocab_size=len(tok), dim=64, n_layer=2, n_head=4, ffn_dim=128, n_positions=64))
print(f"a tiny BERT: {count_params(tiny):,} weights (BERT-base: 110M)")
history = dlcourse.fit(tiny, pretrain_loader, torch.optim.AdamW(tiny.parameters(), lr=1e-3), epochs=PRETRAIN_EPOCHS,
                       step=pretrain_step, log_every=2, title="tiny BERT pretraining")
print(f"MLM loss {history.steps['train_mlm'][0]:.2f} (first steps) -> {history.steps['train_mlm'][-1]:.2f} (last) "
      f"(uniform guessing: ln {len(tok)} = {torch.log(torch.tensor(float(len(tok)))):.2f})")

# %% [markdown]
# The MLM loss starts at uniform guessing over 30,522 pieces (fast mode's eight steps have only
# begun to move it; the full budget's ten epochs learn at least which words are frequent). Real
# pretraining runs a million steps over billions of words (BERT-base: 4 days on 16 TPU chips).
# That is why one downloads pretrained weights rather than training them.
#
# ## 6. Using BERT on SST-2: feature extraction vs fine-tuning
#
# Two ways to use a pretrained encoder for a task:
#
# - **feature extraction**: freeze it, compute each sentence's embedding once, train only a
#   linear classifier on top (cheap: one forward pass over the data);
# - **fine-tuning**: train everything, encoder included, with a small learning rate (every step
#   runs the whole model forwards and backwards).

# %%
train_split, dev_split = load_sst2("train"), load_sst2("dev")
train_split = type(train_split)(train_split.texts[:N_TRAIN], train_split.labels[:N_TRAIN], train_split.classes)
dev_split = type(dev_split)(dev_split.texts[:N_DEV], dev_split.labels[:N_DEV], dev_split.classes)
dev_loader = bert_loader(dev_split, tok, batch_size=64, shuffle=False, max_length=MAX_LEN)


@torch.no_grad()
def embed(split):
    encoder = minilm.to(device).eval()
    out = [mean_pool(encoder(*(t.to(device) for t in b))[0], b.attention_mask.to(device)).cpu()
           for b, _ in bert_loader(split, tok, batch_size=64, shuffle=False, max_length=MAX_LEN)]
    return torch.cat(out)


start = time.perf_counter()
features = TensorDataset(embed(train_split), torch.as_tensor(train_split.labels))
dev_features = TensorDataset(embed(dev_split), torch.as_tensor(dev_split.labels))
probe = nn.Linear(384, 2)
probe_history = dlcourse.fit(probe, DataLoader(features, batch_size=64, shuffle=True), epochs=30,
                             optimizer=torch.optim.AdamW(probe.parameters(), lr=1e-2),
                             val_loader=DataLoader(dev_features, batch_size=256), progress=False, live_plot=False)
extract_s = time.perf_counter() - start
print(f"feature extraction: dev accuracy {probe_history['val_accuracy'][-1]:.1%} in {extract_s:.0f} s")

# %%
start = time.perf_counter()
classifier = BertClassifier(minilm_l6(), num_classes=2, pooling="mean")
tune_history = dlcourse.fit(classifier, bert_loader(train_split, tok, batch_size=FINETUNE_BATCH, max_length=MAX_LEN),
                            torch.optim.AdamW(classifier.parameters(), lr=FINETUNE_LR, weight_decay=0.01),
                            epochs=FINETUNE_EPOCHS, val_loader=dev_loader, title="fine-tuning all-MiniLM-L6-v2")
tune_s = time.perf_counter() - start
print(f"fine-tuning: dev accuracy {tune_history['val_accuracy'][-1]:.1%} in {tune_s:.0f} s")

# %% [markdown]
# On the full budget, feature extraction is minutes and fine-tuning roughly ten times that; the
# full fine-tuning run is `benchmarks/recipes/minilm_sst2.py` (its measured result is in
# `benchmarks/RESULTS.md` once it has been run). Fast mode's 160 sentences and one short epoch
# show the mechanics only: measured on this machine, the probe on frozen embeddings reached 68% on
# 160 dev sentences in 3 s, while 20 fine-tuning steps (13 s) left the new head near chance (56%):
# fine-tuning needs steps, and each one costs a full forward and backward pass of the encoder.
#
# ## 7. Exercises
#
# Each exercise cell holds a placeholder. Replace it, run the cell, then run the check cell under
# it. The checks live in `dlcourse.exercises.chapters.ch21_bert`; worked solutions are in
# `solutions/chapters/21_bert.py` (try first!).
#
# ### Exercise 1: WordPiece
#
# Write `wordpiece(word, vocab)`: the word's pieces, greedy longest-match-first, `##` on every piece
# after the first, `["[UNK]"]` for a word with no way through (`vocab` is a set of strings).

# %%
def wordpiece(word, vocab):
    """'unaffable' -> ['una', '##ffa', '##ble'] with BERT's uncased vocabulary."""
    return None     # YOUR CODE HERE


# %%
exercises.check_wordpiece(wordpiece)

# %% [markdown]
# ### Exercise 2: mean pooling
#
# Write `mean_pool(states, attention_mask)`: from token states $(N, T, D)$ and the mask $(N, T)$
# (1 = real token, 0 = padding), each sentence's mean over its real tokens, $(N, D)$.

# %%
def mean_pool_exercise(states, attention_mask):
    """The mean of the states where attention_mask is 1."""
    return None     # YOUR CODE HERE


# %%
exercises.check_mean_pool(mean_pool_exercise)

# %% [markdown]
# The graded assignment `a10_bert_finetune` (when it lands) fine-tunes a BERT-family encoder for
# classification.
#
# ## 8. Summary
#
# - WordPiece splits rare words into pieces greedily, longest first, so a 30,522-piece vocabulary
#   covers any text; ours equals transformers' on every SST-2 sentence.
# - BERT is a post-LN Transformer encoder over token + position + segment embeddings; ours equals
#   `transformers.BertModel` and, with all-MiniLM-L6-v2's weights loaded by a key map, gives
#   sentence-transformers' embeddings exactly.
# - It is pretrained by masked-language modelling (15% of tokens, 80/10/10) and next-sentence
#   prediction, then used frozen (feature extraction) or trained end to end (fine-tuning).
#
# ## References
#
# - J. Devlin, M.-W. Chang, K. Lee and K. Toutanova (2019). *BERT: Pre-training of deep
#   bidirectional Transformers for language understanding.* NAACL.
# - Y. Wu et al. (2016). *Google's neural machine translation system.* arXiv:1609.08144 (WordPiece);
#   M. Schuster and K. Nakajima (2012). *Japanese and Korean voice search.* ICASSP.
# - W. Wang, F. Wei, L. Dong, H. Bao, N. Yang and M. Zhou (2020). *MiniLM: Deep self-attention
#   distillation for task-agnostic compression of pre-trained Transformers.* NeurIPS.
# - N. Reimers and I. Gurevych (2019). *Sentence-BERT: Sentence embeddings using Siamese BERT-networks.* EMNLP.
# - Y. Liu et al. (2019). *RoBERTa: A robustly optimized BERT pretraining approach.* arXiv:1907.11692.
# - R. Socher et al. (2013). *Recursive deep models for semantic compositionality over a sentiment
#   treebank.* EMNLP (SST).
