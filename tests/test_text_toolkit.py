"""The text toolkit: tokenize, Vocab (training split only, <pad> 0, <unk> 1), pad_sequences,
text_loader (deterministic, length-homogeneous buckets) on the real splits, and dlcourse.fit
training a model that receives (ids, lengths)."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import dlcourse
from dlcourse.data import (TextBatch, TextSplit, Vocab, load_ag_news, load_mr, load_sst2, load_trec,
                           pad_sequences, text_loader, tokenize)

MIRROR = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_mirror = pytest.mark.skipif(not MIRROR.is_dir(), reason="the ../shared/data mirror is not beside the checkout")


def _tiny_split(texts, labels=None):
    import numpy as np
    labels = [i % 2 for i in range(len(texts))] if labels is None else labels
    return TextSplit(list(texts), np.asarray(labels, dtype=np.int64), ("a", "b"))


def test_tokenize_splits_words_punctuation_and_clitics():
    assert tokenize("It's great!") == ["it", "'s", "great", "!"]
    assert tokenize("I don't like  it, well-made?") == ["i", "do", "n't", "like", "it", ",", "well-made", "?"]
    # already-tokenised SST-2 text comes back as it was, lower-cased
    assert tokenize("it 's a charming , often hilarious film .") == "it 's a charming , often hilarious film .".split()
    assert tokenize("") == []
    with pytest.raises(TypeError, match=r"\[tokenize\(t\) for t in texts\]"):
        tokenize(["a list"])


def test_vocab_specials_order_and_encoding():
    vocab = Vocab.build([["b", "a", "b"], ["c", "b", "a"]])
    assert (vocab.pad_index, vocab.unk_index) == (0, 1)
    assert vocab.itos[:2] == ["<pad>", "<unk>"]
    assert vocab.itos[2:] == ["b", "a", "c"]      # most frequent first, ties alphabetical
    assert len(vocab) == 5 and "a" in vocab and "z" not in vocab
    assert vocab.encode(["a", "zebra", "b"]) == [3, 1, 2]
    assert vocab.decode([3, 1, 2, 0]) == ["a", "<unk>", "b", "<pad>"]
    assert vocab.decode(torch.tensor([4, 2])) == ["c", "b"]


def test_vocab_min_freq_and_max_size():
    lists = [["a"] * 5 + ["b"] * 3 + ["c"] * 2 + ["d"]]
    assert Vocab.build(lists, min_freq=2).itos == ["<pad>", "<unk>", "a", "b", "c"]
    assert Vocab.build(lists, max_size=4).itos == ["<pad>", "<unk>", "a", "b"]
    assert len(Vocab.build(lists, min_freq=1)) == 6
    # the ids do not depend on the order of the sentences
    assert Vocab.build([["x", "y"], ["y", "x"]]).itos == Vocab.build([["y", "x"], ["x", "y"]]).itos


def test_vocab_errors_name_the_fix():
    with pytest.raises(ValueError, match="vocabulary is empty.*lower min_freq"):
        Vocab.build([["a"], ["b"]], min_freq=2)
    with pytest.raises(ValueError, match="vocabulary is empty"):
        Vocab.build([])
    with pytest.raises(TypeError, match="not strings.*tokenize"):
        Vocab.build(["a whole sentence"])
    with pytest.raises(ValueError, match="min_freq"):
        Vocab.build([["a"]], min_freq=0)
    with pytest.raises(ValueError, match="max_size"):
        Vocab.build([["a"]], max_size=2)
    vocab = Vocab.build([["a"]])
    with pytest.raises(TypeError, match="list of tokens, not a string"):
        vocab.encode("a")
    with pytest.raises(IndexError, match="0..2.*another vocabulary"):
        vocab.decode([0, 7])


def test_pad_sequences_pads_at_the_end_and_returns_lengths():
    ids, lengths = pad_sequences([[5, 6, 7], [8], [9, 10]])
    assert ids.dtype == torch.long and lengths.dtype == torch.long
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0], [9, 10, 0]]
    assert lengths.tolist() == [3, 1, 2]
    ids, _ = pad_sequences([[5], [8, 9]], pad_index=3)
    assert ids.tolist() == [[5, 3], [8, 9]]
    with pytest.raises(ValueError, match="at least one sequence"):
        pad_sequences([])


def test_loader_batches_are_padded_ids_lengths_and_labels():
    split = _tiny_split(["a b c", "a", "b c", "c c c c", "a b"], [0, 1, 0, 1, 1])
    vocab = Vocab.build([tokenize(t) for t in split.texts])
    loader = text_loader(split, vocab, batch_size=2, shuffle=False, bucket=False)
    assert len(loader) == 3
    batches = list(loader)
    (ids, lengths), labels = batches[0]
    assert isinstance(batches[0][0], TextBatch)
    assert lengths.tolist() == [3, 1] and labels.tolist() == [0, 1]
    assert vocab.decode(ids[1]) == ["a", "<pad>", "<pad>"]
    assert [y for _, ys in batches for y in ys.tolist()] == [0, 1, 0, 1, 1]   # the split's order


def test_loader_is_deterministic_and_epochs_differ():
    split = load_sst2("dev") if MIRROR.is_dir() else _tiny_split([" ".join("w" * (i % 9 + 1)) for i in range(300)])
    vocab = Vocab.build([tokenize(t) for t in split.texts])

    def orders(seed):
        loader = text_loader(split, vocab, batch_size=32, seed=seed)
        return [[b[1].tolist() + b[0].lengths.tolist() for b in loader] for _ in range(2)]

    first, again = orders(0), orders(0)
    assert first == again                      # the same seed, the same batches, epoch after epoch
    assert first[0] != first[1]                # a new order every epoch
    assert orders(1)[0] != first[0]


@needs_mirror
def test_buckets_are_length_homogeneous_and_cover_every_example():
    split = load_sst2("train")
    vocab = Vocab.build([tokenize(t) for t in split.texts])
    bucketed = text_loader(split, vocab, batch_size=64, seed=0)
    plain = text_loader(split, vocab, batch_size=64, seed=0, bucket=False)
    spread = [int(b[0].lengths.max() - b[0].lengths.min()) for b in bucketed]
    plain_spread = [int(b[0].lengths.max() - b[0].lengths.min()) for b in plain]
    # all but the long tail's few batches hold one or two lengths; unbucketed batches span ~30
    assert sum(s <= 1 for s in spread) >= 0.9 * len(spread)
    assert sum(spread) / len(spread) < 1 < 10 < sum(plain_spread) / len(plain_spread)
    pads = sum(int((b[0].ids == 0).sum()) for b in bucketed)
    assert pads < 0.05 * sum(int(b[0].ids.numel()) for b in bucketed)
    labels = torch.cat([y for _, y in bucketed])
    assert len(labels) == len(split) and sorted(labels.tolist()) == sorted(split.labels.tolist())


@needs_mirror
@pytest.mark.parametrize("name", ["sst2", "trec", "mr", "ag_news"])
def test_works_on_the_real_splits(name):
    train, test = {"sst2": lambda: (load_sst2("train"), load_sst2("test")),
                   "trec": lambda: (load_trec("train"), load_trec("test")),
                   "mr": lambda: (load_mr(), load_mr()),
                   "ag_news": lambda: (load_ag_news("test"), load_ag_news("test"))}[name]()
    vocab = Vocab.build([tokenize(t) for t in train.texts], min_freq=2)
    (ids, lengths), labels = next(iter(text_loader(test, vocab, batch_size=16, shuffle=False, bucket=False)))
    assert ids.shape[0] == 16 and ids.shape[1] == int(lengths.max()) and lengths.min() >= 1
    assert labels.tolist() == test.labels[:16].tolist()
    first = vocab.decode(ids[0, :lengths[0]])
    assert first == [t if t in vocab else "<unk>" for t in tokenize(test.texts[0])]


@needs_mirror
def test_vocab_from_the_training_split_maps_test_only_words_to_unk():
    train, test = load_sst2("train"), load_sst2("test")
    vocab = Vocab.build([tokenize(t) for t in train.texts])
    test_only = sorted({w for t in test.texts for w in tokenize(t)} - {w for t in train.texts for w in tokenize(t)})
    assert len(test_only) > 100 and not any(w in vocab for w in test_only)
    assert set(vocab.encode(test_only)) == {vocab.unk_index}


def test_unknown_split_and_wrong_inputs_fail_clearly():
    with pytest.raises(ValueError, match=r"SST-2 has the splits \('train', 'dev', 'test'\); got 'valid'"):
        load_sst2("valid")
    with pytest.raises(ValueError, match="TREC has the splits"):
        load_trec("dev")
    vocab = Vocab.build([["a"]])
    with pytest.raises(TypeError, match="TextSplit"):
        text_loader(["a b"], vocab)
    with pytest.raises(TypeError, match="Vocab"):
        text_loader(_tiny_split(["a"]), {"a": 2})
    with pytest.raises(ValueError, match="batch_size"):
        text_loader(_tiny_split(["a"]), vocab, batch_size=0)


def test_empty_texts_become_one_unk_and_max_length_truncates():
    split = _tiny_split(["", "a a a a a"])
    vocab = Vocab.build([["a"]])
    (ids, lengths), _ = next(iter(text_loader(split, vocab, batch_size=2, shuffle=False, bucket=False, max_length=3)))
    assert lengths.tolist() == [1, 3] and ids[0, 0].item() == vocab.unk_index


class _MeanOfValidSteps(nn.Module):
    """A model whose forward receives (ids, lengths): the mean embedding of the real tokens."""

    def __init__(self, vocab_size, classes):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, 16, padding_idx=0)
        self.out = nn.Linear(16, classes)
        self.seen_lengths = []

    def forward(self, inputs):
        ids, lengths = inputs
        self.seen_lengths.append(lengths)
        return self.out(self.embed(ids).sum(1) / lengths.unsqueeze(1))


def test_fit_trains_a_model_that_receives_ids_and_lengths():
    words = ["good", "great", "fine", "bad", "awful", "poor"]
    g = torch.Generator().manual_seed(0)
    texts, labels = [], []
    for _ in range(203):
        label = int(torch.randint(2, (1,), generator=g))
        n = int(torch.randint(1, 6, (1,), generator=g))
        texts.append(" ".join(words[int(torch.randint(3, (1,), generator=g)) + 3 * (1 - label)] for _ in range(n)))
        labels.append(label)
    split = _tiny_split(texts, labels)
    vocab = Vocab.build([tokenize(t) for t in split.texts])
    torch.manual_seed(0)
    model = _MeanOfValidSteps(len(vocab), 2)
    history = dlcourse.fit(model, text_loader(split, vocab, batch_size=32), torch.optim.Adam(model.parameters(), 0.05),
                           epochs=3, val_loader=text_loader(split, vocab, 64, shuffle=False), device="cpu",
                           amp=False, progress=False, live_plot=False)
    assert history.last("val_accuracy") == 1.0
    assert all(isinstance(x, torch.Tensor) and x.dim() == 1 for x in model.seen_lengths)


def test_fit_weights_examples_not_pairs():
    """A batch ((ids, lengths), y) holds N examples, not 2: the epoch loss is the per-example mean."""
    from dlcourse.train import _batch_size
    batch = (TextBatch(torch.zeros(5, 3, dtype=torch.long), torch.ones(5, dtype=torch.long)), torch.zeros(5))
    assert _batch_size(batch) == 5


def test_fit_resumes_a_text_run_exactly(tmp_path):
    """The loader's shuffling generator is saved in fit's checkpoints: 2 + 1 epochs == 3 epochs."""
    words = ["good", "great", "bad", "awful", "fine", "poor", "ok"]
    texts = [" ".join(words[(i * 7 + j * 3) % 7] for j in range(1 + i % 6)) for i in range(90)]
    split = _tiny_split(texts, [int(t.split()[0] in ("good", "great", "fine")) for t in texts])
    vocab = Vocab.build([tokenize(t) for t in split.texts])

    def run(epochs, checkpoint=None, resume=False):
        torch.manual_seed(0)
        model = _MeanOfValidSteps(len(vocab), 2)
        loader = text_loader(split, vocab, batch_size=16, seed=3)
        return dlcourse.fit(model, loader, torch.optim.SGD(model.parameters(), 0.5), epochs=epochs, device="cpu",
                            amp=False, progress=False, live_plot=False, checkpoint=checkpoint, resume=resume)

    whole = run(3)
    run(2, checkpoint=tmp_path / "run.pt")
    resumed = run(3, checkpoint=tmp_path / "run.pt", resume=True)
    assert resumed["train_loss"] == whole["train_loss"]
