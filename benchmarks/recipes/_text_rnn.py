"""Shared by lstm_sst2 and gru_trec: train an RNNClassifier one epoch at a time, keep the epoch with
the best selection accuracy (the dev split where there is one), and report test accuracy there."""
from __future__ import annotations

import copy

import torch

import dlcourse
from dlcourse.data import Vocab, text_loader, tokenize
from dlcourse.device import describe_device
from dlcourse.models.rnn_tasks import RNNClassifier


def train_text_rnn(train, select, test, *, epochs: int, lr: float, batch_size: int, weight_decay: float = 0.0,
                   min_freq: int = 1, seed: int = 0, **model_options) -> dict:
    """Test accuracy of the epoch with the best ``select`` accuracy; per-epoch curves and times."""
    device = dlcourse.setup(seed=seed)
    vocab = Vocab.build([tokenize(t) for t in train.texts], min_freq=min_freq)   # the training split only
    train_loader = text_loader(train, vocab, batch_size, seed=seed)
    select_loader = text_loader(select, vocab, 256, shuffle=False)
    test_loader = text_loader(test, vocab, 256, shuffle=False)
    torch.manual_seed(seed)
    model = RNNClassifier(len(vocab), len(train.classes), **model_options).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    best = {"select": -1.0}
    curve, seconds, selects, tests = [], [], [], []
    for epoch in range(epochs):
        h = dlcourse.fit(model, train_loader, optimizer, epochs=1, val_loader=select_loader, clip_grad=5.0,
                         device=device, amp=False, progress=False, live_plot=False)
        test_acc = dlcourse.evaluate(model, test_loader, device=device, amp=False)["accuracy"]
        selects.append(h.last("val_accuracy"))
        tests.append(test_acc)
        if selects[-1] > best["select"]:
            best = {"select": selects[-1], "test": test_acc, "epoch": epoch + 1,
                    "state": copy.deepcopy(model.state_dict())}
        curve.append(best["test"])          # what the model chosen so far scores: time to target is honest
        seconds.append(h["time"][-1])
        print(f"  epoch {epoch + 1}: train acc {h.last('train_accuracy'):.3f}, select {selects[-1]:.3f}, "
              f"test {test_acc:.3f}, {seconds[-1]:.0f} s", flush=True)
    model.load_state_dict(best["state"])
    machine = f"{device}: {describe_device(device)}, torch threads: {torch.get_num_threads()}"
    return {"value": best["test"], "best_epoch": best["epoch"], "curve": curve, "epoch_seconds": seconds,
            "select_curve": selects, "test_curve": tests, "machine": machine, "model": model, "vocab": vocab}
