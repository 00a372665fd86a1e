"""WordPiece from scratch == transformers' BERT tokenizers, with all-MiniLM-L6-v2's real vocab.txt.

transformers 5 keeps v4's Python tokenizer as ``BertTokenizerLegacy`` (the "slow" one, a port of
Google's tokenization.py) and makes ``BertTokenizer`` the Rust one (``BertTokenizerFast`` is the
same class). Ours must give both their ids on every SST-2 sentence and on the hard cases: accents,
punctuation, CJK characters, control characters, words with no way through the vocabulary.
"""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")    # local files only: a test never reaches the model hub

import pytest
import torch

transformers = pytest.importorskip("transformers")
from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy  # noqa: E402

from dlcourse.data import WordPiece, load_sst2, minilm_path, mlm_mask  # noqa: E402


@pytest.fixture(scope="module")
def tokenizers():
    folder = minilm_path()
    return (WordPiece.minilm(), BertTokenizerLegacy(str(folder / "vocab.txt"), do_lower_case=True),
            transformers.BertTokenizerFast.from_pretrained(str(folder)))


@pytest.mark.parametrize("split", ["train", "dev", "test"])
def test_every_sst2_sentence_gets_transformers_ids(tokenizers, split):
    ours, slow, fast = tokenizers
    texts = load_sst2(split).texts
    got = [ours.encode(t) for t in texts]
    assert got == fast(texts)["input_ids"], "differs from BertTokenizerFast"
    bad = [t for t, ids in zip(texts, got) if ids != slow.encode(t)]
    assert not bad, f"{len(bad)} sentences differ from the Python tokenizer, e.g. {bad[:3]}"


CASES = {
    "lower-casing": ("Héllo, WORLD!", ["hello", ",", "world", "!"]),
    "accents": ("Café résumé naïve ÅNGSTRÖM", ["cafe", "resume", "naive", "ang", "##strom"]),
    "combining accent": ("e\u0301te\u0301", ["et", "##e"]),
    "punctuation": ("don't stop-believing...", ["don", "'", "t", "stop", "-", "believing", ".", ".", "."]),
    "ascii symbols count as punctuation": ("$100 ^ `x`", ["$", "100", "^", "`", "x", "`"]),
    "chinese characters": ("我爱北京", ["我", "[UNK]", "北", "京"]),
    "chinese inside a word": ("abc中def", ["abc", "中", "def"]),
    "unknown character": ("🙂 fine", ["[UNK]", "fine"]),
    "a word with no way through is one [UNK]": ("ｆｕｌｌ", ["[UNK]"]),
    "too long a word": ("a" * 101, ["[UNK]"]),
    "control characters dropped, tabs are spaces": ("x\x00y\ufffdz\tq\u00a0r", ["x", "##y", "##z", "q", "r"]),
    "special tokens kept whole": ("the film was [MASK] .", ["the", "film", "was", "[MASK]", "."]),
    "sub-words": ("unaffable transformers", ["una", "##ffa", "##ble", "transformers"]),
    "empty": ("", []),
}


@pytest.mark.parametrize("case", CASES)
def test_hard_cases_equal_both_reference_tokenizers(tokenizers, case):
    ours, slow, fast = tokenizers
    text, pieces = CASES[case]
    assert ours.tokenize(text) == pieces
    assert ours.tokenize(text) == slow.tokenize(text)
    assert ours.encode(text) == slow.encode(text) == fast(text)["input_ids"]


def test_cased_options_follow_the_python_tokenizer(tokenizers):
    ours_vocab = tokenizers[0].itos
    cased = WordPiece(ours_vocab, lowercase=False)
    slow = BertTokenizerLegacy(str(minilm_path() / "vocab.txt"), do_lower_case=False)
    for text in ["Hello World", "Café", "naïve Ünïcode"]:
        assert cased.tokenize(text) == slow.tokenize(text)
    keep = WordPiece(ours_vocab, lowercase=True, strip_accents=False)
    slow_keep = BertTokenizerLegacy(str(minilm_path() / "vocab.txt"), do_lower_case=True, strip_accents=False)
    assert keep.tokenize("Café naïve") == slow_keep.tokenize("Café naïve")


def test_pairs_batches_and_decoding(tokenizers):
    ours, slow, fast = tokenizers
    a, b = "a gripping film .", "the ending drags ."
    ids = ours.encode(a, b)
    ref = fast(a, b)
    assert ids == ref["input_ids"] and ours.segments(ids) == ref["token_type_ids"]
    batch = ours(["a b c", "a"])
    ref = fast(["a b c", "a"], padding=True)
    assert batch.input_ids.tolist() == ref["input_ids"] and batch.attention_mask.tolist() == ref["attention_mask"]
    assert ours.decode(ours.encode("unaffable")) == "[CLS] unaffable [SEP]"
    assert len(ours.encode("word " * 300, max_length=16)) == 16


def test_bad_input_names_the_problem():
    with pytest.raises(ValueError, match=r"special tokens"):
        WordPiece(["a", "b"])
    with pytest.raises(TypeError, match="one string"):
        WordPiece.minilm().tokenize(["a list"])


def test_mlm_mask_follows_80_10_10():
    tok = WordPiece.minilm()
    ids = torch.randint(1000, len(tok), (400, 128), generator=torch.Generator().manual_seed(0))
    ids[:, 0], ids[:, -1], ids[:, -8:-1] = tok.cls_id, tok.sep_id, tok.pad_id
    corrupted, labels = mlm_mask(ids, tok, generator=torch.Generator().manual_seed(1))
    chosen = labels != -100
    eligible = ids.numel() - 9 * ids.size(0)
    n = int(chosen.sum())
    # binomial counts: 5 standard deviations either side, so a right answer fails once in ~2 million runs
    def near(count, total, p):
        return abs(count - total * p) <= 5 * (total * p * (1 - p)) ** 0.5
    assert near(n, eligible, 0.15), f"{n} of {eligible} chosen"
    assert not chosen[:, 0].any() and not chosen[:, -8:].any(), "[CLS], [SEP] and [PAD] are never chosen"
    assert bool((labels[chosen] == ids[chosen]).all()), "labels hold the original ids"
    masked = int((corrupted[chosen] == tok.mask_id).sum())
    kept = int((corrupted[chosen] == ids[chosen]).sum())
    random = n - masked - kept
    assert near(masked, n, 0.8) and near(kept, n, 0.1 + 0.1 / len(tok)) and near(random, n, 0.1 - 0.1 / len(tok))
    assert bool((corrupted[~chosen] == ids[~chosen]).all()), "unchosen tokens are untouched"
    again, _ = mlm_mask(ids, tok, generator=torch.Generator().manual_seed(1))
    assert torch.equal(again, corrupted), "the same generator gives the same masks"
