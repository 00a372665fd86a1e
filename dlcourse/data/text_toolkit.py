"""Text to tensors: tokenize, a vocabulary, padding with lengths, and a length-bucketing loader.

    tokens = tokenize("It's great!")                 # ["it", "'s", "great", "!"]
    vocab = Vocab.build([tokenize(t) for t in train.texts], min_freq=1)   # TRAINING split only
    ids, lengths = pad_sequences([vocab.encode(tokens)])                  # (N, T_max), (N,)
    loader = text_loader(train, vocab, batch_size=64)   # yields ((ids, lengths), labels)

The vocabulary is built from the training split only: a word seen only in the test split maps
to <unk>, as it would for a real unseen sentence (building it from all splits leaks the test
set into the model's inputs). Index 0 is <pad> (what padding fills and ``nn.Embedding``'s
``padding_idx`` ignores), index 1 is <unk>.

``text_loader`` batches sentences of similar length together (``bucket=True``), so a batch
holds little padding and an RNN runs few wasted steps; the batch order is shuffled with its
own seeded generator, so epochs differ from each other yet every run is the same. Its batches
go straight into ``dlcourse.fit``: the model's ``forward`` receives the pair (ids, lengths).
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Iterable, NamedTuple, Sequence

import torch

from .text import TextSplit

__all__ = ["tokenize", "Vocab", "pad_sequences", "text_loader", "TextBatch", "TextLoader",
           "PAD", "UNK"]

PAD, UNK = "<pad>", "<unk>"

# Lower-cased words and punctuation, with English clitics split off as the Penn Treebank (and
# so SST-2 and TREC, whose files are tokenised that way) does: "it's" -> it 's, "don't" -> do n't.
_TOKEN = re.compile(r"""
      [^\W_]+(?=n't\b)              # "do" of "don't"
    | n't\b                         # its clitic
    | '(?:s|re|ve|ll|d|m)\b         # 's 're 've 'll 'd 'm
    | [^\W_]+(?:-[^\W_]+)*         # a word or number, hyphenated words kept whole
    | [^\w\s]                       # one punctuation mark
""", re.VERBOSE)


def tokenize(text: str) -> list[str]:
    """Lower-case words and punctuation marks of ``text`` (a regular expression, no model)."""
    if not isinstance(text, str):
        raise TypeError(f"tokenize takes one string; got {type(text).__name__}. "
                        "For many texts: [tokenize(t) for t in texts].")
    return _TOKEN.findall(text.lower())


class Vocab:
    """Tokens <-> integer ids. ``itos[i]`` is id i's token; <pad> is 0 and <unk> is 1."""

    pad_index, unk_index = 0, 1

    def __init__(self, tokens: Sequence[str], counts: Counter | None = None):
        self.itos = [PAD, UNK] + [t for t in tokens if t not in (PAD, UNK)]
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("a vocabulary's tokens must be distinct; got repeats.")
        self.counts = counts if counts is not None else Counter()

    @classmethod
    def build(cls, token_lists: Iterable[Sequence[str]], min_freq: int = 1, max_size: int | None = None) -> "Vocab":
        """The tokens of ``token_lists`` (the TRAINING split's) seen at least ``min_freq`` times,
        most frequent first (ties alphabetical, so the ids never depend on the data's order);
        ``max_size`` caps len(vocab), <pad> and <unk> included."""
        if not (isinstance(min_freq, int) and min_freq >= 1):
            raise ValueError(f"min_freq must be a whole number >= 1; got {min_freq!r}.")
        if max_size is not None and not (isinstance(max_size, int) and max_size >= 3):
            raise ValueError(f"max_size counts <pad> and <unk> too, so it must be >= 3 (or None); got {max_size!r}.")
        counts: Counter = Counter()
        for tokens in token_lists:
            if isinstance(tokens, str):
                raise TypeError("Vocab.build takes lists of tokens, not strings (a string would count its "
                                f"characters): got {tokens[:40]!r}. Pass [tokenize(t) for t in split.texts].")
            counts.update(tokens)
        kept = sorted((t for t, c in counts.items() if c >= min_freq and t not in (PAD, UNK)),
                      key=lambda t: (-counts[t], t))
        if not kept:
            raise ValueError(f"the vocabulary is empty: no token occurs at least min_freq={min_freq} times in "
                             f"{sum(counts.values())} tokens. Pass the training split's token lists, or lower min_freq.")
        if max_size is not None:
            kept = kept[:max_size - 2]
        return cls(kept, counts)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def __repr__(self) -> str:
        return f"Vocab({len(self)} tokens: {self.itos[:8]}...)"

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """The ids of ``tokens``; a token outside the vocabulary gets ``unk_index``."""
        if isinstance(tokens, str):
            raise TypeError(f"encode takes a list of tokens, not a string: vocab.encode(tokenize({tokens[:40]!r})).")
        return [self.stoi.get(t, self.unk_index) for t in tokens]

    def decode(self, ids: Iterable[int] | torch.Tensor) -> list[str]:
        """The tokens of ``ids`` (a list or a 1-D tensor), padding included as <pad>."""
        ids = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
        bad = [i for i in ids if not isinstance(i, int) or not 0 <= i < len(self)]
        if bad:
            raise IndexError(f"ids must lie in 0..{len(self) - 1} (this vocabulary's size is {len(self)}); "
                             f"got {bad[:5]}. Were they made with another vocabulary?")
        return [self.itos[i] for i in ids]


def pad_sequences(sequences: Sequence[Sequence[int]], pad_index: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Id lists of different lengths as one LongTensor (N, T_max), shorter rows filled with
    ``pad_index`` at the end, and their lengths, a LongTensor (N,)."""
    if len(sequences) == 0:
        raise ValueError("pad_sequences needs at least one sequence; got none.")
    lengths = torch.tensor([len(s) for s in sequences], dtype=torch.long)
    ids = torch.full((len(sequences), max(1, int(lengths.max()))), pad_index, dtype=torch.long)
    for row, seq in enumerate(sequences):
        if len(seq):
            ids[row, :len(seq)] = torch.as_tensor(seq, dtype=torch.long)
    return ids, lengths


class TextBatch(NamedTuple):
    """A batch's inputs: ``ids`` (N, T_max) and ``lengths`` (N,). A tuple, so
    ``(ids, lengths), labels = batch`` unpacks it; named, so fit counts N examples, not 2."""
    ids: torch.Tensor
    lengths: torch.Tensor


class TextLoader:
    """Batches of a TextSplit as ((ids, lengths), labels); see ``text_loader``."""

    def __init__(self, split: TextSplit, vocab: Vocab, batch_size: int, shuffle: bool, seed: int, bucket: bool,
                 max_length: int | None, tokenizer):
        if not isinstance(split, TextSplit):
            raise TypeError(f"text_loader takes a dlcourse.data.TextSplit (e.g. load_sst2('train')); "
                            f"got {type(split).__name__}.")
        if not isinstance(vocab, Vocab):
            raise TypeError(f"text_loader needs a Vocab (Vocab.build(...) on the training split); got {type(vocab).__name__}.")
        if not (isinstance(batch_size, int) and batch_size >= 1):
            raise ValueError(f"batch_size must be a whole number >= 1; got {batch_size!r}.")
        if len(split) == 0:
            raise ValueError("the split holds no texts: nothing to batch.")
        self.vocab, self.batch_size, self.shuffle, self.bucket = vocab, batch_size, shuffle, bucket
        # an empty text (nothing tokenizes) becomes one <unk>: an RNN needs at least one step
        self.sequences = [vocab.encode(tokenizer(t))[:max_length] or [vocab.unk_index] for t in split.texts]
        self.lengths = torch.tensor([len(s) for s in self.sequences])
        self.labels = torch.as_tensor(split.labels, dtype=torch.long)
        self.generator = torch.Generator().manual_seed(seed)   # fit's checkpoints save and restore it

    def __len__(self) -> int:
        return -(-len(self.sequences) // self.batch_size)

    def batches(self) -> list[torch.Tensor]:
        """The index batches of one epoch (advances the generator when shuffling)."""
        n = len(self.sequences)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        if self.bucket:  # sort by length; equal lengths keep the shuffled order, so they mix between epochs
            order = order[torch.sort(self.lengths[order], stable=True).indices]
        groups = list(order.split(self.batch_size))
        if self.bucket and self.shuffle:
            groups = [groups[i] for i in torch.randperm(len(groups), generator=self.generator)]
        return groups

    def __iter__(self):
        for index in self.batches():
            ids, lengths = pad_sequences([self.sequences[i] for i in index], self.vocab.pad_index)
            yield TextBatch(ids, lengths), self.labels[index]


def text_loader(split: TextSplit, vocab: Vocab, batch_size: int = 64, shuffle: bool = True, seed: int = 0,
                bucket: bool = True, *, max_length: int | None = None, tokenizer=tokenize) -> TextLoader:
    """Batches ((ids, lengths), labels) of ``split``, tokenized and encoded with ``vocab``.

    bucket=True: sentences sorted by length, cut into batches, the batches' order shuffled (with
    shuffle=True): little padding per batch. bucket=False: plain (shuffled) order. shuffle=False and
    bucket=False keep the split's order (predictions line up with split.texts). Deterministic for a
    seed; each pass over the loader is a new epoch order. max_length truncates long texts.
    """
    return TextLoader(split, vocab, batch_size, shuffle, seed, bucket, max_length, tokenizer)
