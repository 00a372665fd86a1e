"""The training loop: it learns, is deterministic, stops early and fails clearly; and each of its
pieces (per-example means, no per-step sync, clipping, accumulation, schedulers, step functions,
several optimizers, resume) against a hand computation or torch."""
from __future__ import annotations

import copy
import sys

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import dlcourse
from dlcourse import train
from dlcourse.device import resolve_amp
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


def test_fit_trains_when_called_under_no_grad():
    # a model trained on first use (the digit judge) may be built inside a caller's no_grad block
    with torch.no_grad():
        _, h = _run(amp=False, epochs=2)
        assert not torch.is_grad_enabled()       # the caller's mode is given back
    assert h["train_loss"][-1] < h["train_loss"][0]


def test_fit_times_its_evaluations_apart():
    """"time" is each epoch's seconds with its evaluation; "eval_time" the evaluation's share (a
    benchmark's training time is their difference). A slow evaluation shows in eval_time only."""
    import time as clock

    class SlowEval(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Linear(2, 3)

        def forward(self, x):
            if not self.training:
                clock.sleep(0.1)
            return self.net(x)

    model, loader = SlowEval(), DataLoader(_blobs(64, 0), 32)
    h = dlcourse.fit(model, loader, torch.optim.SGD(model.parameters(), lr=0.1), epochs=2,
                     val_loader=DataLoader(_blobs(64, 1), 32), device="cpu", progress=False, live_plot=False)
    assert len(h["eval_time"]) == 2
    for total, evaluating in zip(h["time"], h["eval_time"]):
        assert 0.2 <= evaluating <= total                   # two validation batches of 0.1 s each
        assert total - evaluating < 0.2                     # training the 2 batches never sleeps


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
    from dlcourse import device
    monkeypatch.setattr(device, "autocast_dtype", lambda device: torch.bfloat16)
    cpu = torch.device("cpu")
    assert resolve_amp("auto", cpu, nn.Linear(64, 10)) is None
    assert resolve_amp("auto", cpu, nn.Sequential(nn.Conv2d(1, 6, 5))) == torch.bfloat16
    assert resolve_amp("auto", cpu, nn.Linear(1000, 1000)) == torch.bfloat16
    assert resolve_amp(True, cpu, nn.Linear(64, 10)) == torch.bfloat16
    assert resolve_amp(False, cpu, nn.Linear(1000, 1000)) is None
    with pytest.raises(ValueError, match="amp must be"):
        resolve_amp("fast", cpu)


# ---- the loop's pieces, each against a hand computation or torch ----------------------------

def _quiet_fit(model, loader, optimizer, **kwargs):
    kwargs.setdefault("amp", False)
    return dlcourse.fit(model, loader, optimizer, device="cpu", progress=False, live_plot=False, **kwargs)


def test_train_loss_is_averaged_per_example_not_per_batch():
    # batches of 4 and 1: a per-batch mean would weight the lone last example 4 times over
    torch.manual_seed(0)
    x, y = torch.randn(5, 2) * 3, torch.tensor([0, 1, 2, 0, 1])
    model = nn.Linear(2, 3)
    per_example = F.cross_entropy(model(x), y, reduction="none").detach()
    per_batch = (per_example[:4].mean() + per_example[4]) / 2
    assert abs(per_batch - per_example.mean()) > 1e-2  # the two averages really differ here
    h = _quiet_fit(model, DataLoader(TensorDataset(x, y), 4), torch.optim.SGD(model.parameters(), lr=0.0))
    assert h["train_loss"] == [pytest.approx(per_example.mean().item(), rel=1e-6)]
    correct = (model(x).argmax(-1) == y).float()
    assert h["train_accuracy"] == [pytest.approx(correct.mean().item())]


def test_the_running_loss_is_read_once_per_interval_not_once_per_step(monkeypatch):
    # every way a tensor reaches the host, counted when the training loop itself calls it
    reads = []
    for name in ("item", "tolist", "__bool__", "__float__", "__int__", "cpu", "numpy"):
        real = getattr(torch.Tensor, name)

        def spy(self, *args, _real=real, **kwargs):
            if sys._getframe(1).f_code.co_filename == train.__file__:
                reads.append(sys._getframe(1).f_lineno)
            return _real(self, *args, **kwargs)
        monkeypatch.setattr(torch.Tensor, name, spy)

    def count(n_examples):
        reads.clear()
        torch.manual_seed(0)
        model = nn.Linear(2, 3)
        _quiet_fit(model, DataLoader(_blobs(n_examples), 10), torch.optim.SGD(model.parameters(), lr=0.1),
                   epochs=2, log_every=1000)
        return len(reads)

    assert count(400) == count(40) == 2  # 40 or 4 steps per epoch: one read at each epoch's end


def _one_clipped_step(clip, amp=False):
    torch.manual_seed(0)
    x, y = torch.randn(64, 2), torch.randint(0, 3, (64,))  # small enough for fp16 scaled by 65536
    model = nn.Linear(2, 3)
    before = [p.detach().clone() for p in model.parameters()]
    _quiet_fit(model, DataLoader(TensorDataset(x, y), 64), torch.optim.SGD(model.parameters(), lr=1.0),
               clip_grad=clip, amp=amp)
    return x, y, before, [p.detach() for p in model.parameters()]


def test_clipping_applies_to_this_steps_gradients_after_backward():
    x, y, before, after = _one_clipped_step(clip=0.01)
    reference = nn.Linear(2, 3)
    with torch.no_grad():
        for p, b in zip(reference.parameters(), before):
            p.copy_(b)
    F.cross_entropy(reference(x), y).backward()
    grads = [p.grad for p in reference.parameters()]
    norm = torch.sqrt(sum((g ** 2).sum() for g in grads))
    assert norm > 0.05  # five times the limit the limit: clipping must shrink this step
    for b, a, g in zip(before, after, grads):
        torch.testing.assert_close(a, b - 1.0 * g * (0.01 / norm), rtol=1e-4, atol=1e-7)


def test_clipping_with_a_grad_scaler_clips_unscaled_gradients():
    # fp16 on the CPU runs the GradScaler path; clipping before unscale_ would clip gradients
    # multiplied by 65536 and leave a step about 65536 times too small
    x, y, before, after = _one_clipped_step(clip=0.01, amp=torch.float16)
    step = torch.sqrt(sum(((a - b) ** 2).sum() for a, b in zip(after, before)))
    assert step.item() == pytest.approx(0.01, rel=1e-3)  # lr 1 x the clipped norm


def _accumulated_weights(batch_size, accumulate, n=80):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 3))
    h = _quiet_fit(model, DataLoader(_blobs(n), batch_size), torch.optim.SGD(model.parameters(), lr=0.5),
                   accumulate=accumulate, epochs=2)
    return torch.cat([p.detach().ravel() for p in model.parameters()]), h


def test_gradient_accumulation_equals_the_big_batch_including_a_short_last_group():
    # 80 examples: batches of 32, 32, 16 vs micro-batches of 16 accumulated in pairs (the last
    # group holds a single micro-batch and must not be halved)
    big, h_big = _accumulated_weights(32, 1)
    small, h_small = _accumulated_weights(16, 2)
    torch.testing.assert_close(small, big, rtol=1e-5, atol=1e-6)
    assert h_small["train_loss"] == pytest.approx(h_big["train_loss"], rel=1e-5)
    assert h_small.steps["step"][-1] == h_big.steps["step"][-1] == 6  # 3 optimizer steps per epoch
    plain, _ = _accumulated_weights(16, 1)
    assert not torch.allclose(plain, big, atol=1e-4)  # so the equality above is not a coincidence


def test_a_loader_without_len_still_steps_on_its_last_short_group():
    torch.manual_seed(0)
    x, y = torch.randn(12, 2), torch.randint(0, 3, (12,))
    batches = [(x[i:i + 4], y[i:i + 4]) for i in (0, 4, 8)]

    class Stream:  # like an iterable-style dataset: no len(), so group sizes are not known ahead
        def __iter__(self):
            return iter(batches)

    model = nn.Linear(2, 3)
    reference = copy.deepcopy(model)
    _quiet_fit(model, Stream(), torch.optim.SGD(model.parameters(), lr=0.5), accumulate=2)
    opt = torch.optim.SGD(reference.parameters(), lr=0.5)
    for group in (batches[:2], batches[2:]):  # each loss divided by accumulate, as nanoGPT does
        for xb, yb in group:
            (F.cross_entropy(reference(xb), yb) / 2).backward()
        opt.step()
        opt.zero_grad()
    for p, q in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(p, q)


def _scheduled(interval, make_scheduler, epochs=2):
    torch.manual_seed(0)
    model = nn.Linear(2, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = make_scheduler(opt)
    h = _quiet_fit(model, DataLoader(_blobs(130), 10), opt, epochs=epochs, scheduler=scheduler,
                   scheduler_interval=interval, val_loader=DataLoader(_blobs(20, 1), 10))
    return h, opt


def test_per_step_scheduler_steps_after_every_optimizer_step_and_lr_is_logged():
    h, opt = _scheduled("step", lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda s: 0.9 ** s))
    # 13 steps per epoch; history["lr"] is the rate the epoch's last step used
    assert h["lr"] == pytest.approx([0.1 * 0.9 ** 12, 0.1 * 0.9 ** 25])
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.9 ** 26)


def test_per_epoch_scheduler_steps_once_per_epoch():
    h, opt = _scheduled("epoch", lambda o: torch.optim.lr_scheduler.StepLR(o, 1, gamma=0.5), epochs=3)
    assert h["lr"] == pytest.approx([0.1, 0.05, 0.025])
    assert opt.param_groups[0]["lr"] == pytest.approx(0.0125)


def test_reduce_on_plateau_is_given_the_validation_loss():
    # lr 1e-6 barely moves the weights: val_loss stalls, so from epoch 2 on the rate halves
    h, _ = _scheduled("epoch", lambda o: (o.param_groups[0].update(lr=1e-6),
                                          torch.optim.lr_scheduler.ReduceLROnPlateau(o, factor=0.5, patience=0))[1],
                      epochs=4)
    assert h["lr"] == pytest.approx([1e-6, 1e-6, 5e-7, 2.5e-7])


def test_history_steps_log_each_interval():
    torch.manual_seed(0)
    x, y = torch.randn(30, 2), torch.randint(0, 3, (30,))
    model = nn.Linear(2, 3)
    h = _quiet_fit(model, DataLoader(TensorDataset(x, y), 5), torch.optim.SGD(model.parameters(), lr=0.0),
                   log_every=4, metrics=())
    losses = F.cross_entropy(model(x), y, reduction="none").detach().split(5)
    assert h.steps["step"] == [4, 6]  # batches 1-4, then the epoch's last 2
    assert h.steps["train_loss"] == pytest.approx([torch.cat(losses[:4]).mean().item(),
                                                    torch.cat(losses[4:]).mean().item()], rel=1e-6)
    assert h.steps["lr"] == [0.0, 0.0]


def test_a_step_function_trains_on_dict_batches_and_reports_per_example_means():
    torch.manual_seed(0)
    x, t = torch.randn(7, 3), torch.randn(7, 1)
    batches = [{"x": x[:4], "target": t[:4]}, {"x": x[4:], "target": t[4:]}]  # uneven on purpose
    model = nn.Linear(3, 1)

    def step(model, batch):
        err = model(batch["x"]) - batch["target"]
        return {"loss": (err ** 2).mean(), "mae": err.abs().mean()}

    h = _quiet_fit(model, batches, torch.optim.SGD(model.parameters(), lr=0.0), step=step, val_loader=batches)
    err = (model(x) - t).detach()
    for split in ("train", "val"):
        assert h[f"{split}_loss"] == [pytest.approx((err ** 2).mean().item(), rel=1e-6)]
        assert h[f"{split}_mae"] == [pytest.approx(err.abs().mean().item(), rel=1e-6)]
    trained = _quiet_fit(model, batches, torch.optim.SGD(model.parameters(), lr=0.1), step=step, epochs=20)
    assert trained["train_loss"][-1] < trained["train_loss"][0] / 2


def test_a_step_can_weight_by_its_own_count_such_as_unmasked_tokens():
    torch.manual_seed(0)
    scores, mask = torch.randn(2, 5), torch.tensor([[1, 1, 1, 1, 1], [1, 0, 0, 0, 0]]).bool()
    batches = [(scores[:1], mask[:1]), (scores[1:], mask[1:])]
    model = nn.Linear(5, 5)
    with torch.no_grad():
        model.weight.copy_(torch.eye(5))
        model.bias.zero_()
    step = lambda model, batch: {"loss": model(batch[0])[batch[1]].mean(), "n": batch[1].sum()}
    h = _quiet_fit(model, batches, torch.optim.SGD(model.parameters(), lr=0.0), step=step)
    assert h["train_loss"] == [pytest.approx(scores[mask].mean().item(), rel=1e-6)]  # 6 tokens, not 2 rows


def _gan_step(optimizers):
    def step(model, batch):  # one discriminator step, then one generator step
        real, _ = batch
        fake = model["g"](torch.randn_like(real))
        d_loss = F.softplus(-model["d"](real)).mean() + F.softplus(model["d"](fake.detach())).mean()
        optimizers["d"].zero_grad()
        d_loss.backward()
        optimizers["d"].step()
        g_loss = F.softplus(-model["d"](fake)).mean()
        optimizers["g"].zero_grad()
        g_loss.backward()
        optimizers["g"].step()
        return {"loss": g_loss, "d_loss": d_loss}
    return step


def _gan(seed=0):
    torch.manual_seed(seed)
    model = nn.ModuleDict({"g": nn.Linear(2, 2), "d": nn.Linear(2, 1)})
    optimizers = {"g": torch.optim.SGD(model["g"].parameters(), lr=0.1),
                  "d": torch.optim.SGD(model["d"].parameters(), lr=0.05)}
    return model, optimizers, _gan_step(optimizers)


def test_several_optimizers_are_driven_by_the_step_function_alone():
    batches = [(torch.randn(8, 2, generator=torch.Generator().manual_seed(i)) + 3, torch.zeros(8)) for i in range(3)]
    model, optimizers, step = _gan()
    h = _quiet_fit(model, batches, optimizers, step=step, epochs=2,
                   scheduler=torch.optim.lr_scheduler.StepLR(optimizers["g"], 1, gamma=0.5))
    ref, ref_optimizers, ref_step = _gan()  # the same loop by hand: fit must add no step of its own
    ref_scheduler = torch.optim.lr_scheduler.StepLR(ref_optimizers["g"], 1, gamma=0.5)
    g_losses = []
    for _ in range(2):
        g_losses.append(sum(ref_step(ref, b)["loss"].item() for b in batches) / 3)
        ref_scheduler.step()
    for (name, p), q in zip(model.named_parameters(), ref.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0, msg=name)
    assert h["train_loss"] == pytest.approx(g_losses, rel=1e-6) and len(h["train_d_loss"]) == 2
    assert h["lr_g"] == [0.1, 0.05] and h["lr_d"] == [0.05, 0.05]


def _resumable(tmp_path, epochs, resume=False, checkpoint=True):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))
    loader = DataLoader(_blobs(200), 32, shuffle=True, generator=torch.Generator().manual_seed(0))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    # 7 batches in pairs: 4 optimizer steps per epoch, 16 in the 4-epoch run being resumed
    scheduler = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=16)
    h = _quiet_fit(model, loader, opt, epochs=epochs, scheduler=scheduler, scheduler_interval="step", accumulate=2,
                   val_loader=DataLoader(_blobs(50, 1), 50), early_stopping=10, log_every=3,
                   checkpoint=tmp_path / "run.pt" if checkpoint else None, resume=resume)
    return model, h


def test_resuming_a_checkpoint_gives_the_uninterrupted_run(tmp_path):
    whole, h_whole = _resumable(tmp_path, 4, checkpoint=False)
    _resumable(tmp_path, 2)  # interrupted after epoch 2
    torch.manual_seed(123)  # a new process: every random generator elsewhere
    resumed, h_resumed = _resumable(tmp_path, 4, resume=True)
    assert set(h_resumed) == set(h_whole) and len(h_resumed["train_loss"]) == 4
    for key in set(h_whole) - {"time", "eval_time"}:   # clocks differ run to run
        assert h_resumed[key] == h_whole[key], key
    assert h_resumed.steps == h_whole.steps
    for p, q in zip(resumed.parameters(), whole.parameters()):
        assert torch.equal(p, q)
    again, h_again = _resumable(tmp_path, 4, resume=True)  # a finished run resumes to itself
    assert h_again["train_loss"] == h_whole["train_loss"]
    assert all(torch.equal(p, q) for p, q in zip(again.parameters(), whole.parameters()))


def test_options_that_would_train_wrongly_are_refused(tmp_path):
    model = nn.Linear(2, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loader = DataLoader(_blobs(20), 10)
    model_gan, optimizers, step = _gan()
    cases = [
        (dict(optimizer=[opt, opt]), "as a dict"),
        (dict(scheduler_interval="batch"), "'step' or 'epoch'"),
        (dict(accumulate=0), "accumulate"),
        (dict(optimizer=optimizers), "pass a step function"),
        (dict(optimizer=optimizers, step=step, clip_grad=1.0), "clip there"),
        (dict(optimizer=optimizers, step=step, val_loader=loader), "val_step"),
        (dict(early_stopping=2), "pass a val_loader"),
        (dict(resume=True), "checkpoint="),
        (dict(step=lambda m, b: 1.0), "scalar tensor"),
        (dict(step=lambda m, b: {"mse": m(b[0]).mean()}), "'loss' entry"),
    ]
    for options, message in cases:
        options.setdefault("optimizer", opt)
        with pytest.raises(ValueError, match=message):
            _quiet_fit(model_gan if isinstance(options["optimizer"], dict) else model, loader, options.pop("optimizer"),
                       **options)


def test_a_gan_run_resumes_with_each_optimizer_restored(tmp_path):
    batches = [(torch.randn(8, 2, generator=torch.Generator().manual_seed(i)) + 3, torch.zeros(8)) for i in range(3)]

    def run(epochs, **kwargs):
        model, _, _ = _gan()
        optimizers = {"g": torch.optim.Adam(model["g"].parameters(), lr=0.01),  # Adam: state to restore
                      "d": torch.optim.Adam(model["d"].parameters(), lr=0.01)}
        return model, _quiet_fit(model, batches, optimizers, step=_gan_step(optimizers), epochs=epochs, **kwargs)

    whole, h_whole = run(3)
    run(1, checkpoint=tmp_path / "gan.pt")
    torch.manual_seed(7)
    resumed, h_resumed = run(3, checkpoint=tmp_path / "gan.pt", resume=True)
    assert h_resumed["train_d_loss"] == h_whole["train_d_loss"] and h_resumed["lr_g"] == h_whole["lr_g"]
    assert all(torch.equal(p, q) for p, q in zip(resumed.parameters(), whole.parameters()))
    model = nn.Linear(2, 3)
    with pytest.raises(ValueError, match="Resume with the same setup"):  # one optimizer is not the GAN's two
        _quiet_fit(model, batches, torch.optim.SGD(model.parameters(), lr=0.1), step=lambda m, b: m(b[0]).mean(),
                   checkpoint=tmp_path / "gan.pt", resume=True)


def test_the_progress_bars_show_the_running_loss_once_per_interval(monkeypatch):
    postfixes = []

    class RecordingBar(train.tqdm):
        def set_postfix(self, ordered_dict=None, refresh=True, **kwargs):
            postfixes.append((self.desc, dict(ordered_dict or {}, **kwargs)))
            return super().set_postfix(ordered_dict, refresh, **kwargs)

    monkeypatch.setattr(train, "tqdm", RecordingBar)
    torch.manual_seed(0)
    model = nn.Linear(2, 3)
    h = dlcourse.fit(model, DataLoader(_blobs(40), 10), torch.optim.SGD(model.parameters(), lr=0.1), epochs=2,
                     device="cpu", amp=False, live_plot=False, log_every=2)
    batch_bars = [p["loss"] for desc, p in postfixes if desc.startswith("epoch ")]
    assert batch_bars == [f"{v:.4f}" for v in h.steps["train_loss"]] and len(batch_bars) == 4  # 2 per epoch
    epoch_bar = [p for desc, p in postfixes if desc == "epochs"]
    assert epoch_bar[-1]["train_loss"] == f"{h.last('train_loss'):.4f}"
