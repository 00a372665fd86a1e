"""Byte-level BPE (Radford et al. 2019, GPT-2 section 2.2), written out: the tokenizer of chapter 22.

Why bytes: a character-level vocabulary for all of Unicode would need over 130,000 base symbols,
and a word-level one meets words it has never seen ([UNK]). GPT-2 starts instead from the 256
byte values of UTF-8: every string is a byte sequence, so every string encodes, with no [UNK] and
no normalisation, and decoding is exact. Byte-pair encoding (Sennrich et al. 2016, after Gage
1994) then grows the vocabulary: count every adjacent pair of tokens, make the most frequent pair
a new token, repeat until ``vocab_size`` tokens exist. Frequent words end up as one token, rare
ones as a few pieces, and the sequences the model reads get shorter than bytes (about half as
long with 512 tokens on Tiny Shakespeare; GPT-2's 50,257 shorten them further).

Why a pre-tokenisation regex first: left alone, BPE would learn "dog." "dog!" "dog?" as
separate tokens and merges across words ("e t" in "the table"), wasting the vocabulary. GPT-2
splits the text into chunks (letters with an optional leading space, digits, punctuation,
white space, the English contractions) and never merges across a chunk boundary.

Training counts pairs over *unique* chunks weighted by how often each occurs (Tiny Shakespeare's
297,833 chunks are 15,057 distinct ones), and after a merge recounts only the chunks that held
the merged pair: the whole text is never rescanned, so 256 merges on its 1.1 MB take under a
second in plain Python (recounting the whole text at every merge takes 0.6 s a merge, minutes in all).

Encoding applies the learned merges in the order they were learned (lowest rank first, as
GPT-2's ``encoder.py`` does): a chunk seen in training gets exactly the pieces training ended
with, and new text is cut the same way, so the ids a model learned from keep their meaning.

``tests/test_bpe.py`` checks round trips on every line of Tiny Shakespeare and on emoji and
accents, a hand-worked example, and the merges against Hugging Face ``tokenizers``' BpeTrainer.
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Iterable

import regex  # not `re`: GPT-2's pattern needs \p{L} (any letter) and \p{N} (any number); comes with transformers

__all__ = ["ByteBPE", "GPT2_PATTERN", "pretokenize", "merge_pair"]

#: GPT-2's pre-tokenisation pattern (openai/gpt-2, src/encoder.py). Its alternatives cover every
#: character (a letter, a number, something else that is not space, or space), so the chunks
#: always join back to the text.
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
_SPLIT = regex.compile(GPT2_PATTERN)
_FORMAT = "dlcourse.ByteBPE/1"


def pretokenize(text: str) -> list[str]:
    """The chunks BPE works inside: ``"Hello world!!"`` -> ``["Hello", " world", "!!"]``.

    A space stays attached to the word after it (" world"), so a word's start is part of its token;
    ``\\s+(?!\\S)`` leaves the last space of a run for the next word."""
    return _SPLIT.findall(text)


def merge_pair(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """``ids`` with every occurrence of ``pair`` replaced by ``new_id``, scanning left to right:
    in (a, a, a) the pair (a, a) merges once, at the left, giving (aa, a)."""
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


class ByteBPE:
    """A byte-level BPE tokenizer: ids 0-255 are the bytes, id 256 + k the k-th learned merge.

    ``merges`` maps each merged pair (a, b) to its new id, in the order learned; since ids grow
    with each merge, the new id is also the merge's rank (lower = learned earlier = applied first).
    ``vocab`` maps each id to the bytes it stands for. Build one with ``ByteBPE.train`` or
    ``ByteBPE.load``; ``ByteBPE(pairs)`` rebuilds one from its ordered list of merged pairs.
    """

    def __init__(self, pairs: Iterable[tuple[int, int]] = ()):
        self.merges: dict[tuple[int, int], int] = {}
        self.vocab: dict[int, bytes] = {i: bytes([i]) for i in range(256)}
        for a, b in pairs:
            a, b = int(a), int(b)
            if a not in self.vocab or b not in self.vocab:
                raise ValueError(f"merge ({a}, {b}) uses an id not made by an earlier merge "
                                 f"(ids so far: 0..{len(self.vocab) - 1}); merges must be in the order learned.")
            if (a, b) in self.merges:
                raise ValueError(f"merge ({a}, {b}) appears twice; each pair is merged once.")
            new_id = len(self.vocab)
            self.merges[(a, b)] = new_id
            self.vocab[new_id] = self.vocab[a] + self.vocab[b]
        self._cache: dict[str, list[int]] = {}   # chunk -> ids: text repeats its words a lot

    def __len__(self) -> int:
        return len(self.vocab)

    def __repr__(self) -> str:
        return f"ByteBPE(vocab_size={len(self)}, merges={len(self.merges)})"

    # ---------------------------------------------------------------- training
    @classmethod
    def train(cls, text: str, vocab_size: int) -> "ByteBPE":
        """Learn ``vocab_size - 256`` merges from ``text`` (fewer if the text runs out of pairs).

        Each step merges the most frequent adjacent pair, counted inside chunks only. Tie-break:
        among pairs with the same count the smallest pair (a, b) wins, first by a, then by b. That
        is Hugging Face ``tokenizers``' rule too, but there the ids of the bytes are those of its
        printable stand-ins (space is "Ġ", U+0120, so it sorts after the letters), so a tie
        involving space, newline or another remapped byte can go the other way there.
        """
        if not isinstance(vocab_size, int) or vocab_size < 256:
            raise ValueError(f"vocab_size must be an int of at least 256, the byte values every byte-level "
                             f"vocabulary starts from (256 learns no merges); got {vocab_size!r}. "
                             f"Pass e.g. vocab_size=512 for 256 merges.")
        chunk_counts = Counter(pretokenize(text))
        words = [list(chunk.encode("utf-8")) for chunk in chunk_counts]   # each distinct chunk once ...
        freqs = list(chunk_counts.values())                               # ... with its frequency
        pair_counts: Counter = Counter()                 # pair -> occurrences in the whole text
        where: defaultdict = defaultdict(set)            # pair -> indices of the words holding it
        for i, word in enumerate(words):
            _add_pairs(word, freqs[i], i, pair_counts, where)

        bpe = cls()
        while len(bpe) < vocab_size and pair_counts:
            best = max(pair_counts, key=lambda p: (pair_counts[p], -p[0], -p[1]))
            new_id = len(bpe)
            bpe.merges[best] = new_id
            bpe.vocab[new_id] = bpe.vocab[best[0]] + bpe.vocab[best[1]]
            # Only the words that held `best` change: take their old pairs out, merge, put the new pairs in.
            for i in where.pop(best):
                _add_pairs(words[i], -freqs[i], i, pair_counts, None)
                words[i] = merge_pair(words[i], best, new_id)
                _add_pairs(words[i], freqs[i], i, pair_counts, where)
            for pair in [p for p, c in pair_counts.items() if c == 0]:
                del pair_counts[pair]     # gone from every word: never a candidate again
        return bpe

    # ---------------------------------------------------------------- encoding and decoding
    def encode(self, text: str) -> list[int]:
        """The token ids of ``text``: chunk it, then BPE each chunk's UTF-8 bytes."""
        ids: list[int] = []
        for chunk in pretokenize(text):
            if chunk not in self._cache:
                self._cache[chunk] = self._encode_chunk(chunk.encode("utf-8"))
            ids.extend(self._cache[chunk])
        return ids

    def _encode_chunk(self, data: bytes) -> list[int]:
        """Repeatedly merge the adjacent pair whose merge was learned first, until none is learned.

        Merging in learned order matters: "the" might be reachable as (t, he) or (th, e); the
        one training made, and the one a model trained on its ids expects, is the lower rank's."""
        ids = list(data)
        while len(ids) >= 2:
            pair = min(zip(ids, ids[1:]), key=lambda p: self.merges.get(p, float("inf")))
            if pair not in self.merges:
                break
            ids = merge_pair(ids, pair, self.merges[pair])
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        """The text of ``ids``: their bytes joined, then UTF-8 decoded. A token can end in the middle
        of a character (an emoji is 4 bytes), so a slice of ids may not be valid UTF-8: such bytes
        become U+FFFD ("replace") rather than raising, as GPT-2 does."""
        pieces = []
        for i in ids:
            if i not in self.vocab:
                raise ValueError(f"id {i!r} is not in the vocabulary (ids 0..{len(self) - 1}); was it made "
                                 f"by a tokenizer with a larger vocabulary?")
            pieces.append(self.vocab[i])
        return b"".join(pieces).decode("utf-8", errors="replace")

    def tokens(self, text: str) -> list[bytes]:
        """The pieces ``text`` is cut into, as bytes: for looking at what BPE learned."""
        return [self.vocab[i] for i in self.encode(text)]

    # ---------------------------------------------------------------- files
    def save(self, path: str | Path) -> None:
        """Write the merges, in order, as JSON: they alone rebuild the tokenizer (the vocab follows)."""
        state = {"format": _FORMAT, "pattern": GPT2_PATTERN, "merges": [list(p) for p in self.merges]}
        Path(path).write_text(json.dumps(state), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "ByteBPE":
        """A tokenizer saved by ``save``."""
        state = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(state, dict) or state.get("format") != _FORMAT:
            raise ValueError(f"{path} is not a file written by ByteBPE.save (no format {_FORMAT!r}).")
        if state.get("pattern") != GPT2_PATTERN:
            raise ValueError(f"{path} was trained with another pre-tokenisation pattern; its merges "
                             f"would not fit this tokenizer's chunks.")
        return cls(tuple(p) for p in state["merges"])


def _add_pairs(word: list[int], weight: int, index: int, pair_counts: Counter, where) -> None:
    """Add ``weight`` (the word's frequency, or minus it to take the word out) to the count of every
    adjacent pair in ``word``, and note in ``where`` that word ``index`` holds it."""
    for pair in zip(word, word[1:]):
        pair_counts[pair] += weight
        if where is not None:
            where[pair].add(index)
