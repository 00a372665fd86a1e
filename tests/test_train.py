"""The training loop: it learns, is deterministic, stops early, clips, and fails clearly."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import dlcourse
from dlcourse.train import accuracy


def _blobs(n=400, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    centers = torch.tensor([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0]])
    return TensorDataset(centers[y] + torch.randn(n, 2, generator=g), y)


def _run(seed=0, **kwargs):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 3))
    train, val = _blobs(400, 0), _blobs(200, 1)
    loader = DataLoader(train, 32, shuffle=True, generator=torch.Generator().manual_seed(seed))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    kwargs.setdefault("epochs", 5)
    history = dlcourse.fit(model, loader, opt, val_loader=DataLoader(val, 64), device="cpu",
                           progress=False, live_plot=False, **kwargs)
    return model, history


def test_fit_learns_and_logs_every_epoch():
    model, h = _run(amp=False)
    assert len(h["train_loss"]) == 5 and len(h["val_accuracy"]) == 5
    assert h["train_loss"][-1] < h["train_loss"][0]
    assert h.last("val_accuracy") > 0.95
    scores = dlcourse.evaluate(model, DataLoader(_blobs(200, 1), 64), device="cpu", amp=False)
    assert scores["accuracy"] == pytest.approx(h.last("val_accuracy"))
    logits, targets = dlcourse.predict(model, DataLoader(_blobs(200, 1), 64), device="cpu", amp=False)
    assert scores["loss"] == pytest.approx(F.cross_entropy(logits, targets).item(), rel=1e-6)
    assert h.figure is None and h.plot() is not None


def test_fit_is_deterministic():
    _, a = _run(seed=3, amp=False)
    _, b = _run(seed=3, amp=False)
    assert a["train_loss"] == b["train_loss"] and a["val_loss"] == b["val_loss"]


def test_mixed_precision_path_runs():
    _, h = _run(amp=torch.bfloat16, epochs=2)
    assert h.last("val_accuracy") > 0.8


def test_early_stopping_restores_the_best_weights(monkeypatch):
    model, h = _run(amp=False, epochs=50, early_stopping=2)
    assert len(h["val_loss"]) < 50
    best = min(h["val_loss"])
    restored = dlcourse.evaluate(model, DataLoader(_blobs(200, 1), 64), device="cpu", amp=False)
    assert restored["loss"] == pytest.approx(best, rel=1e-5)


def test_clip_grad_is_applied(monkeypatch):
    norms = []
    real = nn.utils.clip_grad_norm_
    monkeypatch.setattr(nn.utils, "clip_grad_norm_", lambda p, m: norms.append(m) or real(p, m))
    _run(amp=False, epochs=1, clip_grad=0.5)
    assert norms and set(norms) == {0.5}


def test_a_diverging_loss_stops_with_a_hint():
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        _run(amp=False, loss_fn=lambda out, y: out.sum() * float("inf"))


def test_bad_batches_get_a_clear_message():
    model = nn.Linear(2, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="pair \\(inputs, targets\\)"):
        dlcourse.fit(model, [torch.zeros(4, 2)], opt, device="cpu", progress=False, live_plot=False)
    with pytest.raises(ValueError, match="no batches"):
        dlcourse.fit(model, [], opt, device="cpu", progress=False, live_plot=False)


def test_accuracy():
    assert accuracy(torch.tensor([[2.0, 1.0], [0.0, 3.0]]), torch.tensor([0, 0])) == 0.5


def test_auto_precision_skips_cpu_bf16_for_small_dense_models(monkeypatch):
    from dlcourse import train
    monkeypatch.setattr(train, "autocast_dtype", lambda device: torch.bfloat16)
    cpu = torch.device("cpu")
    assert train._resolve_amp("auto", cpu, nn.Linear(64, 10)) is None
    assert train._resolve_amp("auto", cpu, nn.Sequential(nn.Conv2d(1, 6, 5))) == torch.bfloat16
    assert train._resolve_amp("auto", cpu, nn.Linear(1000, 1000)) == torch.bfloat16
    assert train._resolve_amp(True, cpu, nn.Linear(64, 10)) == torch.bfloat16
    assert train._resolve_amp(False, cpu, nn.Linear(1000, 1000)) is None
    with pytest.raises(ValueError, match="amp must be"):
        train._resolve_amp("fast", cpu)
