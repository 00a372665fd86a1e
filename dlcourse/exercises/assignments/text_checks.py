"""Checks of a student's text classifier (a07's LSTM, a08's GRU): padding must not count, and the
design trained on a real data set must reach a held-out accuracy.

Both run on the grader's own copy of the student's design (``designs.rebuilt_design``): their
class is traced once for any batch and sentence length, and the module rebuilt from that trace,
started here, is probed, trained (``train_text_classifier``) and scored on the held-out split
(``text_accuracy``) in the grader. No code of theirs sees a held-out sentence, and no weight they
send is used.
"""
from __future__ import annotations

import torch

from dlcourse.checks import CheckError, check_close
from dlcourse.exercises.assignments.designs import on_rebuilt, rebuilt_design, token_ids

__all__ = ["text_data", "train_text_classifier", "text_accuracy", "padding_probe", "check_padding_invariance",
           "trained_accuracy", "check_text_training", "text_design"]

SPLITS = {"sst2": "SST-2 dev", "trec": "TREC test"}
TRACE_HINT = ("use nn.LSTM / nn.GRU over the whole padded batch (not a Python loop over time steps), and take "
              "each sentence's last real step by indexing or masking (pack_padded_sequence cannot be traced)")


class _Unpack(torch.nn.Module):
    """fit hands a model the batch's inputs as one (ids, lengths) pair; the assignments' models take two."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, inputs):
        return self.model(*inputs)


def text_data(dataset: str):
    """(training split, name of the held-out split, the loader, the training split's vocabulary)."""
    from dlcourse.data import Vocab, load_sst2, load_trec, tokenize

    load, held_out = {"sst2": (load_sst2, "dev"), "trec": (load_trec, "test")}[dataset]
    train = load("train")
    return train, held_out, load, Vocab.build([tokenize(t) for t in train.texts], min_freq=2)


def text_design(model_class, vocab_size: int, num_classes: int, seed: int = 0, name: str = "model"):
    """``model_class(vocab_size, num_classes)`` rebuilt here in float64 (the graded runs' dtype),
    its layers started with ``seed``."""
    __tracebackhide__ = True
    try:
        return rebuilt_design(model_class, (vocab_size, num_classes), inputs=token_ids(vocab_size), name=name,
                              dtype=torch.float64, seed=seed)
    except CheckError as e:
        if "could not trace" in str(e):
            raise CheckError(f"{e} For this model: {TRACE_HINT}.") from None
        raise


def train_text_classifier(model, dataset: str = "sst2", seed: int = 0, epochs: int = 2, lr: float = 1e-2,
                          max_length: int = 30) -> dict:
    """Train ``model`` (the design rebuilt here) with dlcourse.fit (Adam, batches of 64 bucketed by
    length, texts cut to ``max_length`` tokens) on SST-2's train split ("sst2", scored on dev) or
    TREC's ("trec", scored on test); the vocabulary holds the training split's tokens seen at least
    twice. Returns {"train_loss", "vocab_size"}."""
    from dlcourse.data import text_loader
    from dlcourse.device import graded_run
    from dlcourse.train import fit

    train, _, _, vocab = text_data(dataset)
    with graded_run():  # float64 on one thread: the same score on every machine
        torch.manual_seed(seed)
        history = fit(_Unpack(model), text_loader(train, vocab, 64, seed=seed, max_length=max_length),
                      torch.optim.Adam(model.parameters(), lr=lr), epochs=epochs, device="cpu", amp=False,
                      progress=False, live_plot=False)
    return {"train_loss": float(history["train_loss"][-1]), "vocab_size": len(vocab)}


def text_accuracy(model, dataset: str = "sst2") -> float:
    """Accuracy of ``model`` on the held-out split (SST-2 dev, TREC test), read and scored here."""
    from dlcourse.data import text_loader

    _, held_out, load, vocab = text_data(dataset)
    model.eval()
    right = total = 0
    with torch.no_grad():
        for (ids, lengths), y in text_loader(load(held_out), vocab, 256, shuffle=False):
            right += int(model(ids, lengths).argmax(-1).eq(y).sum())
            total += len(y)
    return right / max(total, 1)


def padding_probe(model, ids: torch.Tensor, lengths: torch.Tensor, extra: int = 3) -> dict:
    """``model``'s logits on a padded batch, on the same batch with ``extra`` more padding columns,
    and on each sequence alone without padding (eval mode, no gradients)."""
    model.eval()
    with torch.no_grad():
        return {"logits": model(ids, lengths),
                "more_padding": model(torch.cat([ids, ids.new_zeros(len(ids), extra)], 1), lengths),
                "alone": [model(ids[i:i + 1, :int(n)], lengths[i:i + 1]) for i, n in enumerate(lengths)]}


def check_padding_invariance(model_class, vocab_size: int = 50, num_classes: int = 2, seed: int = 0,
                             name: str = "model") -> None:
    """The student's classifier gives each sentence the same logits however much padding follows it."""
    __tracebackhide__ = True
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([5, 2, 7, 1])
    ids = torch.randint(2, vocab_size, (4, 7), generator=g) * (torch.arange(7)[None] < lengths[:, None])
    label = f"{name}({vocab_size}, {num_classes}) on a padded batch, lengths {lengths.tolist()}"
    model = text_design(model_class, vocab_size, num_classes, seed, name)
    r = on_rebuilt(label, padding_probe, model, ids, lengths, 3)
    logits = r["logits"]
    if not isinstance(logits, torch.Tensor) or tuple(logits.shape) != (4, num_classes):
        raise CheckError(f"{label}: expected logits of shape (4, {num_classes}), got "
                         f"{tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__}.")
    if not torch.allclose(logits, r["more_padding"], atol=1e-5, rtol=1e-4):
        raise CheckError(f"{label}: the logits change when 3 more padding tokens follow each sentence, so padding "
                         "counts: read the LSTM/GRU outputs at each sentence's last real step (index lengths - 1), "
                         "or pool over the real steps only, not over the padded length.")
    alone = torch.cat(r["alone"])
    if not torch.allclose(logits, alone, atol=1e-5, rtol=1e-4):
        raise CheckError(f"{label}: a sentence's logits in the padded batch differ from its logits alone (no "
                         "padding): only the first lengths[i] steps of sentence i may count.")
    check_close(f"{label}: logits with 3 more padding steps", r["more_padding"], logits, atol=1e-5, rtol=1e-4)
    check_close(f"{label}: logits of each sentence alone", alone, logits, atol=1e-5, rtol=1e-4)


def trained_accuracy(model_class, dataset: str, seed: int = 0, name: str = "model") -> tuple[float, float]:
    """(held-out accuracy, final training loss) of the student's design rebuilt, trained and scored
    here: what ``check_text_training`` grades (and ``benchmarks/tier_margins.py`` measures)."""
    __tracebackhide__ = True
    train, _, _, vocab = text_data(dataset)
    model = text_design(model_class, len(vocab), len(train.classes), seed, name)
    what = f"training {name} on {dataset} (seed {seed})"
    r = on_rebuilt(what, train_text_classifier, model, dataset, seed)
    return on_rebuilt(what, text_accuracy, model, dataset), r["train_loss"]


def check_text_training(model_class, dataset: str, threshold: float, seed: int = 0, name: str = "model") -> None:
    """Train the student's design, rebuilt here, on ``dataset``; require ``threshold`` accuracy on its
    held-out split, measured here."""
    __tracebackhide__ = True
    accuracy, train_loss = trained_accuracy(model_class, dataset, seed, name)
    if not accuracy >= threshold:
        raise CheckError(f"{name} trained on {dataset} (seed {seed}): {accuracy:.1%} accuracy on {SPLITS[dataset]}, "
                         f"below {threshold:.0%} (final training loss {train_loss:.3f}). Check that the "
                         "embedding, the recurrent layer and the output layer are connected, that the logits are "
                         "raw (no softmax: cross-entropy applies it), and keep the sizes the instructions suggest.")
    print(f"OK {name} trained on {dataset} (seed {seed}): {accuracy:.1%} accuracy on {SPLITS[dataset]} "
          f"(needed {threshold:.0%})")
