"""Toy translation tasks, generated deterministically: no download, the same pairs on every machine.

- ``number_words``: a number's digits to its English words, "1234" -> "one thousand two hundred
  thirty four" (0 to 999,999). The vocabulary is small (10 digits in, 30 words out) but the
  mapping is not a copy: a digit's word depends on its place (3 -> "three", "thirty", "thirteen"),
  "thousand" and "hundred" appear or not, zeros disappear, and outputs are up to twice as long as
  inputs. Chapter 20 and ``benchmarks/recipes/translation_transformer.py`` train on it.
- ``reversed_digits``: a digit string to the same string reversed, "3071" -> "1703". Attention's
  textbook first task (chapter 19): the right alignment is the anti-diagonal.

The numbers (or strings) are drawn once by a seeded permutation and cut into a held-out split
and a training split that never share an input: held-out accuracy measures translation of
inputs the model has never seen. Every item is a pair of 1-d LongTensors (source ids, target ids
with <bos> ... <eos>); ``pad_batch`` pads a list of them for a DataLoader.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.utils.data import Dataset

__all__ = ["PAD", "BOS", "EOS", "Vocab", "number_to_words", "TranslationPairs", "number_words",
           "reversed_digits", "pad_batch", "DIGITS", "WORDS"]

PAD, BOS, EOS = 0, 1, 2            # the same ids in every vocabulary
SPECIALS = ("<pad>", "<bos>", "<eos>")
_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
         "sixteen seventeen eighteen nineteen").split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
DIGITS = tuple("0123456789")
WORDS = tuple(_ONES + _TENS + ["hundred", "thousand"])


@dataclass(frozen=True)
class Vocab:
    """Tokens <-> ids; ids 0, 1, 2 are <pad>, <bos>, <eos>."""
    tokens: tuple[str, ...]

    def __post_init__(self):
        object.__setattr__(self, "index", {t: i for i, t in enumerate(self.tokens)})

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, tokens, bos: bool = False, eos: bool = False) -> torch.Tensor:
        unknown = [t for t in tokens if t not in self.index]
        if unknown:
            raise ValueError(f"Vocab: tokens {unknown[:5]} are not in the vocabulary ({len(self)} tokens: "
                             f"{' '.join(self.tokens[:12])} ...).")
        ids = [BOS] * bos + [self.index[t] for t in tokens] + [EOS] * eos
        return torch.tensor(ids, dtype=torch.long)

    def decode(self, ids, strip: bool = True) -> list[str]:
        """Ids to tokens; strip=True drops <bos> and <pad> and stops at the first <eos>."""
        out = []
        for i in (ids.tolist() if torch.is_tensor(ids) else ids):
            if strip and i == EOS:
                break
            if not (strip and i in (PAD, BOS)):
                out.append(self.tokens[i])
        return out


def _below_thousand(n: int) -> list[str]:
    words = [_ONES[n // 100], "hundred"] if n >= 100 else []
    rest = n % 100
    if rest >= 20:
        words += [_TENS[rest // 10 - 2]] + ([_ONES[rest % 10]] if rest % 10 else [])
    elif rest or not words:
        words.append(_ONES[rest])
    return words


def number_to_words(n: int) -> list[str]:
    """0 <= n < 1,000,000 in English words, American style (no "and"): 1234 -> one thousand two hundred thirty four."""
    if not 0 <= n < 1_000_000:
        raise ValueError(f"number_to_words covers 0 to 999,999; got {n}.")
    thousands, rest = divmod(n, 1000)
    words = _below_thousand(thousands) + ["thousand"] if thousands else []
    return words + (_below_thousand(rest) if rest or not words else [])


class TranslationPairs(Dataset):
    """(source ids, target ids) pairs; ``.inputs``/``.outputs`` hold the token lists for reading."""

    def __init__(self, inputs: list[list[str]], outputs: list[list[str]], src_vocab: Vocab, tgt_vocab: Vocab):
        self.inputs, self.outputs, self.src_vocab, self.tgt_vocab = inputs, outputs, src_vocab, tgt_vocab
        self.src = [src_vocab.encode(x) for x in inputs]
        self.tgt = [tgt_vocab.encode(y, bos=True, eos=True) for y in outputs]

    def __len__(self) -> int:
        return len(self.src)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.src[i], self.tgt[i]


def _split(total: int, n_train: int, n_test: int, seed: int) -> tuple[list[int], list[int]]:
    """Disjoint draws from range(total): the held-out ones first, so they do not move when n_train changes."""
    if n_train + n_test > total:
        raise ValueError(f"asked for {n_train} training and {n_test} held-out inputs, but only {total} exist.")
    order = torch.randperm(total, generator=torch.Generator().manual_seed(seed)).tolist()
    return order[n_test:n_test + n_train], order[:n_test]


def number_words(n_train: int = 20_000, n_test: int = 2_000, max_number: int = 999_999,
                 seed: int = 0) -> tuple[TranslationPairs, TranslationPairs]:
    """Train and held-out splits of digits -> words for distinct numbers in 0..max_number."""
    src_vocab, tgt_vocab = Vocab(SPECIALS + DIGITS), Vocab(SPECIALS + WORDS)
    train, test = _split(max_number + 1, n_train, n_test, seed)
    make = lambda numbers: TranslationPairs([list(str(n)) for n in numbers],           # noqa: E731
                                            [number_to_words(n) for n in numbers], src_vocab, tgt_vocab)
    return make(train), make(test)


def reversed_digits(n_train: int = 5_000, n_test: int = 500, length: tuple[int, int] = (4, 8),
                    seed: int = 0) -> tuple[TranslationPairs, TranslationPairs]:
    """Train and held-out splits of digit strings (lengths in [low, high]) -> the string reversed.

    Strings are drawn at random (seeded), then de-duplicated, so no string is in both splits.
    """
    g = torch.Generator().manual_seed(seed)
    low, high = length
    seen, strings = set(), []
    while len(strings) < n_train + n_test:
        size = int(torch.randint(low, high + 1, (1,), generator=g))
        s = "".join(DIGITS[int(d)] for d in torch.randint(0, 10, (size,), generator=g))
        if s not in seen:
            seen.add(s)
            strings.append(s)
    vocab = Vocab(SPECIALS + DIGITS)
    make = lambda ss: TranslationPairs([list(s) for s in ss], [list(s[::-1]) for s in ss], vocab, vocab)  # noqa: E731
    return make(strings[n_test:]), make(strings[:n_test])


def pad_batch(pairs) -> tuple[torch.Tensor, torch.Tensor]:
    """A DataLoader's collate_fn: a list of (src, tgt) -> (N, S) and (N, T) right-padded with PAD."""
    src, tgt = zip(*pairs)
    pad = torch.nn.utils.rnn.pad_sequence
    return pad(list(src), batch_first=True, padding_value=PAD), pad(list(tgt), batch_first=True, padding_value=PAD)
