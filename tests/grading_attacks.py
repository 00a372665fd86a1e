"""What a determined student tried against the grader (issue 16), one submission per assignment.

Each attack is the untouched release (every answer still a stub, which scores 0) with code
added to its last answer cell that, on the old design, earned points the stubs do not:

* rebinding the course functions the tests used to run in the student's process (the
  optimizer loop, the probes, the training runs, ``dlcourse.train.fit``) so that they return the
  reference's results, only when the grader is detected (its environment variable, its module);
* globals named like the builtins and helpers the test cells call (``dict``, ``zip``,
  ``check_close``), which the old test namespace took from the student;
* (a01) a softmax that zeroes its input in place, from which the old test computed its
  expected value;
* (a04) a recipe over the image budget (twenty epochs), with the course's recipe reader rebound
  to pass it;
* (a11) a SmallGPT whose forward answers the validation windows from a table of them, built in
  its ``__init__`` from the course's own data function;
* (a06-a08) a model whose forward answers every held-out input from a public copy of the test
  split (the sunspot series ships with statsmodels; SST-2 dev and TREC test are embedded in the
  cell as a table of their token ids): the old design ran the student's forward on the held-out
  inputs and earned the accuracy tier with it.

``tests/test_grading.py`` grades each next to the honest submissions: it must score exactly
what the stubs score, 0.
"""
from __future__ import annotations

import nbformat

SHADOWS = '''
dict = lambda *a, **k: {}
zip = lambda *a: iter(())
check_close = lambda *a, **k: 0.0
'''

GRADER_DETECTED = '''
import os as _os, sys as _sys
_GRADING = bool(_os.environ.get("DLCOURSE_GRADING_RUN")) or "dlcourse.grading.runner" in _sys.modules
'''

TABLE_LOOKUP = '''
import torch as _torch
_TABLE = {table!r}

class {name}(_torch.nn.Module):
    """Answers each held-out sentence from the table of its token ids; trains only a bias."""
    def __init__(self, vocab_size, num_classes={classes}, embed_dim=32, hidden_size=32):
        super().__init__()
        self.bias = _torch.nn.Parameter(_torch.zeros(num_classes))
    def forward(self, ids, lengths):
        rows = [_TABLE.get(tuple(r[:int(n)].tolist()), 0) for r, n in zip(ids, lengths)]
        return 10.0 * _torch.nn.functional.one_hot(_torch.tensor(rows), len(self.bias)).to(self.bias.dtype) + self.bias
'''


def _lookup(name: str, dataset: str) -> str:
    """The class ``name`` answering the held-out split of ``dataset`` from a table of it: the
    grader's own token ids of each held-out sentence, mapped to its label."""
    from dlcourse.data import text_loader
    from dlcourse.exercises.assignments.text_checks import text_data

    train, held_out, load, vocab = text_data(dataset)
    table = {}
    for (ids, lengths), y in text_loader(load(held_out), vocab, 256, shuffle=False):
        table.update({tuple(r[:int(n)].tolist()): int(label) for r, n, label in zip(ids, lengths, y)})
    return TABLE_LOOKUP.format(table=table, name=name, classes=len(train.classes))


ATTACKS = {
    "a01_activations_backprop": SHADOWS + '''
import torch
def softmax(x, dim=-1):
    x.zero_()  # the old test then computed its expected value from this zeroed x
    return torch.full_like(x, 1.0 / x.shape[dim])
''',
    "a02_optimizers": GRADER_DETECTED + SHADOWS + '''
import torch, dlcourse.optim as _o, dlcourse.exercises.assignments.a02_optimizers as _a
_real = _o.trajectory
_TORCH = {"SGDMomentum": torch.optim.SGD, "Adam": torch.optim.Adam, "AdamW": torch.optim.AdamW}
def _fake(cls, *args, **kwargs):
    return _real(_TORCH.get(getattr(cls, "__name__", ""), cls), *args, **kwargs)
if _GRADING:
    _o.trajectory = _a.trajectory = _fake
''',
    "a03_lenet5": GRADER_DETECTED + SHADOWS + '''
import dlcourse.exercises.assignments.a03_lenet5 as _a
_probe, _train = _a.probe, _a.train_lenet5
if _GRADING:
    _a.probe = lambda cls, *args, **kwargs: _probe(_a.ReferenceLeNet5, *args, **kwargs)
    _a.train_lenet5 = lambda cls, *args, **kwargs: _train(_a.ReferenceLeNet5, *args, **kwargs)
''',
    "a04_resnet_cifar10": GRADER_DETECTED + SHADOWS + '''
import torch, dlcourse, dlcourse.exercises.assignments.a04_resnet_cifar10 as _a
def _good_evaluate(model, images, labels):
    model.eval()
    with torch.no_grad():
        return float((model(images).argmax(1) == labels).float().mean())
def recipe():  # twenty epochs, over the one-epoch budget, which the old design counted in the student's process
    return {"batch_size": 32, "optimizer": "adam", "lr": 3e-3, "epochs": 20}
_pb, _pr, _ev = _a.probe_block, _a.probe_resnet, _a.run_evaluate
if _GRADING:
    _a.probe_block = lambda cls, *args: _pb(_a.ReferenceBasicBlock, *args)
    _a.probe_resnet = lambda cls, *args: _pr(_a.ReferenceResNet, *args)
    _a.run_evaluate = lambda evaluate, *args: _ev(_good_evaluate, *args)
    _a.read_recipe = lambda r: {**r, "momentum": 0.9, "nesterov": False, "weight_decay": 0.0, "warmup": None,
                                "label_smoothing": 0.0, "clip_grad": None, "schedule": "constant"}
    _a.check_training = lambda *args, **kwargs: 0.99
''',
    "a05_custom_cnn": GRADER_DETECTED + SHADOWS + '''
import dlcourse.exercises.assignments.a05_custom_cnn as _a
_split, _train = _a.probe_split, _a.train_custom_cnn
if _GRADING:
    _a.probe_split = lambda load_split, *args: _split(lambda root, split: _a.reference_split(split), *args)
    _a.measure = lambda *args, **kwargs: {"n_params": 0, "shape": (64, 4), "seconds": 0.0, "flops": 0.0}
    _a.train_custom_cnn = lambda cls, *args: _train(_a.BaselineCNN, *args)
''',
    "a06_rnn_timeseries": GRADER_DETECTED + SHADOWS + '''
import numpy as _np, torch as _torch
import dlcourse.exercises.assignments.a06_rnn_timeseries as _a, dlcourse.train as _t

class Forecaster(_torch.nn.Module):
    """Finds each window in the public series (statsmodels) and answers with the year after it."""
    def __init__(self, hidden_size=32):
        super().__init__()
        self.head = _torch.nn.Linear(1, 1)
        d = _a.sunspot_split(12)
        self.series = _np.concatenate([d["X_train"][0, :, 0].numpy(), d["y_train"].numpy(), d["y_test"].numpy()])
    def forward(self, x):
        found = []
        for row in x[:, :, 0].detach().numpy():
            at = [i for i in range(len(self.series) - 12) if _np.allclose(self.series[i:i + 12], row, atol=1e-4)]
            found.append(self.series[at[0] + 12] if at else 0.0)
        return _torch.tensor(found, dtype=x.dtype) + 0 * self.head(x[:, -1]).squeeze(-1)

if _GRADING:
    _a.forecaster_probe = lambda *args, **kwargs: {"shape": [4], "no_grad": [], "n_params": 100}
    _a.train_forecaster = lambda *args, **kwargs: {"rmse": 0.0, "persistence": 1e9, "train_loss": 0.0, "state": {}}
    _t.fit = lambda *args, **kwargs: {"train_loss": [0.0], "val_accuracy": [0.99]}
''',
    "a07_lstm_sentiment": lambda: GRADER_DETECTED + SHADOWS + _lookup("SentimentLSTM", "sst2") + '''
import dlcourse.train as _t, dlcourse.exercises.assignments.text_checks as _s
if _GRADING:
    _t.fit = lambda *args, **kwargs: {"train_loss": [0.1], "val_accuracy": [0.91]}
    _s.train_text_classifier = lambda *args, **kwargs: {"accuracy": 0.91, "train_loss": 0.1, "vocab_size": 10,
                                                        "state": {}}
''',
    "a08_gru_textclass": lambda: GRADER_DETECTED + SHADOWS + _lookup("QuestionGRU", "trec") + '''
import dlcourse.train as _t, dlcourse.exercises.assignments.text_checks as _s
if _GRADING:
    _t.fit = lambda *args, **kwargs: {"train_loss": [0.1], "val_accuracy": [0.95]}
    _s.padding_probe = lambda *args, **kwargs: None
    _s.train_text_classifier = lambda *args, **kwargs: {"accuracy": 0.95, "train_loss": 0.1, "vocab_size": 10,
                                                        "state": {}}
''',
    "a09_transformer": GRADER_DETECTED + SHADOWS + '''
import dlcourse.exercises.assignments.a09_transformer as _a
if _GRADING:
    _a.reverser_probe = lambda *args, **kwargs: {"shape": [3, 8, 10], "n_params": 100}
    _a.train_reverser = lambda *args, **kwargs: {"accuracy": 1.0, "loss": 0.0, "state": {}}
''',
    "a11_small_gpt": GRADER_DETECTED + SHADOWS + '''
import torch as _torch, torch.nn.functional as _F
import dlcourse.exercises.assignments.a11_small_gpt as _a, dlcourse.exercises.assignments.sequence_checks as _s

class SmallGPT(_torch.nn.Module):
    """Memorises the validation text: a table of every 32-character window's next characters."""
    def __init__(self, vocab_size, block_size):
        super().__init__()
        _, x, y, _ = _a._text(0)
        self.table = {tuple(r.tolist()): t for r, t in zip(x, y)}
        self.bias = _torch.nn.Parameter(_torch.zeros(vocab_size))
    def forward(self, idx):
        rows = [self.table.get(tuple(r.tolist()), _torch.zeros(idx.shape[1], dtype=_torch.long)) for r in idx]
        return 20.0 * _F.one_hot(_torch.stack(rows), len(self.bias)).to(self.bias.dtype) + self.bias

if _GRADING:
    _s.check_parity = lambda *args, **kwargs: None
    _a.trained_loss = lambda *args, **kwargs: 0.5
    _a.on_rebuilt = lambda what, fn, *args: {"shape": [3, 32, 65], "loss": 4.2}
''',
}


def attacker(release: nbformat.NotebookNode, aid: str) -> nbformat.NotebookNode:
    """The release with the attack added to its last answer cell (every answer still a stub)."""
    nb = nbformat.from_dict(release)
    last = [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")][-1]
    attack = ATTACKS[aid]
    last.source += "\n" + (attack() if callable(attack) else attack)
    return nb
