"""Schedules, clipping and the LR finder against torch, step for step, over full runs; fit's
stop and callable-clip hooks; and proof that the cases are sharp enough to catch the usual bugs."""
from __future__ import annotations

import math
from functools import partial

import pytest
import torch
from torch import nn
from torch.optim import lr_scheduler as L
from torch.utils.data import DataLoader, TensorDataset

import dlcourse
from dlcourse import clipping, schedules as S
from dlcourse.checks import CheckError, check_close
from dlcourse.exercises.chapters import ch08_schedules as exercises
from dlcourse.lr_finder import lr_find, smoothed_losses

LR = 0.1
TOL = dict(atol=1e-12 * LR, rtol=1e-9)  # rounding only: torch updates recursively, ours in closed form

# name: (torch scheduler factory, our factor schedule, steps in the run)
CASES = {
    "StepLR": (lambda o: L.StepLR(o, step_size=7, gamma=0.5), partial(S.step_decay, step_size=7, gamma=0.5), 60),
    "SGDR T_mult=1": (lambda o: L.CosineAnnealingWarmRestarts(o, T_0=10, eta_min=1e-3),
                      partial(S.cosine_warm_restarts, T_0=10, min_factor=1e-3 / LR), 75),
    "SGDR T_mult=2": (lambda o: L.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2),
                      partial(S.cosine_warm_restarts, T_0=5, T_mult=2), 160),
    "SGDR T_mult=3": (lambda o: L.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=3, eta_min=0.01),
                      partial(S.cosine_warm_restarts, T_0=3, T_mult=3, min_factor=0.1), 130),
    "LinearLR then constant": (lambda o: L.LinearLR(o, start_factor=0.1, total_iters=20),
                               partial(S.linear_warmup, warmup_steps=20, start_factor=0.1), 40),
    "LinearLR then cosine": (
        lambda o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.01, total_iters=10),
                                     L.CosineAnnealingLR(o, T_max=50, eta_min=1e-4)], milestones=[10]),
        partial(S.linear_warmup, warmup_steps=10, start_factor=0.01,
                then=partial(S.cosine_decay, total_steps=50, min_factor=1e-4 / LR)), 61),
    "OneCycleLR": (lambda o: L.OneCycleLR(o, LR, total_steps=101), partial(S.one_cycle, total_steps=101), 101),
    "OneCycleLR linear": (lambda o: L.OneCycleLR(o, LR, total_steps=50, pct_start=0.5, anneal_strategy="linear",
                                                 div_factor=10.0, final_div_factor=100.0),
                          partial(S.one_cycle, total_steps=50, pct_start=0.5, anneal="linear", div_factor=10.0,
                                  final_div_factor=100.0), 50),
    "OneCycleLR three-phase": (
        lambda o: L.OneCycleLR(o, LR, total_steps=97, pct_start=0.25, three_phase=True),
        partial(S.one_cycle, total_steps=97, pct_start=0.25, three_phase=True), 97),
}


def _ours(schedule, steps):
    return torch.tensor([LR * schedule(t) for t in range(steps)], dtype=torch.float64)


def _theirs(make, steps):
    return torch.tensor(S.schedule_trace(make, steps, LR), dtype=torch.float64)


@pytest.mark.parametrize("name", CASES)
def test_schedule_equals_torch_step_for_step(name):
    make, schedule, steps = CASES[name]
    theirs = _theirs(make, steps)
    check_close(f"{name}: our function", _ours(schedule, steps), theirs, **TOL)
    # the same function driving a real optimizer through torch's LambdaLR
    check_close(f"{name}: as_scheduler", _theirs(lambda o: S.as_scheduler(o, schedule), steps), theirs, **TOL)


# Realistic bugs, each expressed through the real functions; every one must fail the comparison,
# so the cases above are sharp enough to see it (a decay that never crosses a boundary would not).
BUGS = {
    "StepLR off by one (late)": ("StepLR", lambda f: lambda t: f(max(t - 1, 0))),
    "StepLR off by one (early)": ("StepLR", lambda f: lambda t: f(t + 1)),
    "SGDR restarts at T_0 forever (T_mult ignored)": (
        "SGDR T_mult=2", lambda f: partial(S.cosine_warm_restarts, T_0=5, T_mult=1)),
    "SGDR period T_0 + 1": ("SGDR T_mult=1", lambda f: partial(S.cosine_warm_restarts, T_0=11, min_factor=1e-2)),
    "SGDR floor forgotten": ("SGDR T_mult=3", lambda f: partial(S.cosine_warm_restarts, T_0=3, T_mult=3)),
    "warmup one step short": ("LinearLR then cosine", lambda f: lambda t: f(t + 1)),
    "warmup reaches 1 a step early": ("LinearLR then constant",
                                      lambda f: partial(S.linear_warmup, warmup_steps=19, start_factor=0.1)),
    "cosine decay counted from step 0, not from the warmup's end": (
        "LinearLR then cosine", lambda f: lambda t: f(t) if t < 10 else S.cosine_decay(t, total_steps=50,
                                                                                        min_factor=1e-3)),
    "one-cycle peak at an integer step": (
        "OneCycleLR", lambda f: partial(S.one_cycle, total_steps=101, pct_start=30 / 101)),
    "one-cycle counted over total_steps + 1": ("OneCycleLR", lambda f: partial(S.one_cycle, total_steps=102)),
    "one-cycle final lr max_lr / final_div_factor": (
        "OneCycleLR", lambda f: lambda t: f(t) if t < 100 else 1 / 1e4),
    "one-cycle cosine where torch is linear": (
        "OneCycleLR linear", lambda f: partial(S.one_cycle, total_steps=50, pct_start=0.5, div_factor=10.0,
                                               final_div_factor=100.0)),
    "three-phase run as two phases": (
        "OneCycleLR three-phase", lambda f: partial(S.one_cycle, total_steps=97, pct_start=0.25)),
}


@pytest.mark.parametrize("bug", BUGS)
def test_the_comparison_catches(bug):
    case, mutate = BUGS[bug]
    make, schedule, steps = CASES[case]
    with pytest.raises(CheckError):
        check_close(bug, _ours(mutate(schedule), steps), _theirs(make, steps), **TOL, verbose=False)


def test_one_cycle_boundaries_and_final_rate():
    total = 101                                                       # peak at step 30.3 - 1: between 29 and 30
    f = partial(S.one_cycle, total_steps=total)
    assert f(0) == pytest.approx(1 / 25, rel=1e-15)
    assert f(29) < 1 and f(30) < 1 and max(f(t) for t in range(total)) in (f(29), f(30))
    assert f(total - 1) == pytest.approx(1 / 25 / 1e4, rel=1e-12)     # the floor, reached on the last step
    assert f(total) > f(total - 1)                                    # fit's scheduler.step() after the last step
    with pytest.raises(ValueError, match="step 102"):
        f(total + 1)
    floor = 1 / 25 / 1e4                                              # peak at 0.5 * 21 - 1 = 9.5, the end at 20
    assert S.one_cycle(10, total_steps=21, pct_start=0.5) == pytest.approx(
        floor + (1 - floor) * (1 + math.cos(math.pi * 0.5 / 10.5)) / 2, rel=1e-14)
    assert S.one_cycle(9, total_steps=20, pct_start=0.5) == 1.0       # an integer peak is hit exactly


def test_sgdr_restarts_where_the_periods_add_up():
    restarts = [t for t in range(1, 200) if S.cosine_warm_restarts(t, T_0=5, T_mult=2)
                > S.cosine_warm_restarts(t - 1, T_0=5, T_mult=2)]
    assert restarts == [5, 15, 35, 75, 155]                           # 5, 5 + 10, + 20, + 40, + 80


def test_one_cycle_through_fit_per_step():
    torch.manual_seed(0)
    data = TensorDataset(torch.randn(70, 4), torch.randint(0, 3, (70,)))
    loader = DataLoader(data, batch_size=16)                          # 5 batches, the last one short
    model = nn.Linear(4, 3)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    total = 3 * len(loader)
    history = dlcourse.fit(model, loader, opt, epochs=3, scheduler=S.as_scheduler(opt, S.one_cycle, total_steps=total),
                           scheduler_interval="step", log_every=1, device="cpu", amp=False, progress=False,
                           live_plot=False)
    theirs = _theirs(lambda o: L.OneCycleLR(o, LR, total_steps=total, cycle_momentum=False), total)
    check_close("fit's per-step rates", torch.tensor(history.steps["lr"], dtype=torch.float64), theirs, **TOL)


# ------------------------------------------------------------------------------ clipping
def _grads(seed, scale):
    g = torch.Generator().manual_seed(seed)
    params = [nn.Parameter(torch.zeros(shape)) for shape in [(5, 3), (3,), (4, 2, 2), (7,)]]
    for p in params[:3]:                                              # the last one has no gradient
        p.grad = torch.randn(p.shape, generator=g) * scale
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("scale", [0.01, 1.0, 100.0], ids=["below", "around", "far above"])
def test_clip_grad_norm_equals_torch(norm_type, scale):
    ours, theirs = _grads(0, scale), _grads(0, scale)
    n_ours = clipping.clip_grad_norm_(ours, 1.0, norm_type)
    n_theirs = nn.utils.clip_grad_norm_(theirs, 1.0, norm_type)
    check_close("total norm", n_ours, n_theirs, atol=0, rtol=1e-6, verbose=False)
    for a, b in zip(ours, theirs):
        assert (a.grad is None) == (b.grad is None)
        if a.grad is not None:
            check_close("clipped gradient", a.grad, b.grad, atol=1e-7, rtol=1e-6, verbose=False)


def test_clip_grad_norm_is_global_not_per_tensor():
    params = _grads(1, 0.4)
    norms = [p.grad.norm() for p in params[:3]]
    total = torch.stack(norms).norm()
    limit = float(max(norms) + total) / 2                            # above each tensor's norm, below all of them
    clipping.clip_grad_norm_(params, limit)
    check_close("norm after clipping", torch.stack([p.grad.norm() for p in params[:3]]).norm(), torch.tensor(limit),
                atol=1e-5, verbose=False)


def test_clip_grad_value_equals_torch():
    ours, theirs = _grads(2, 1.0), _grads(2, 1.0)
    clipping.clip_grad_value_(ours, 0.5)
    nn.utils.clip_grad_value_(theirs, 0.5)
    assert any((p.grad.abs() > 0.5).any() for p in _grads(2, 1.0)[:3])  # something to clip
    for a, b in zip(ours[:3], theirs[:3]):
        assert torch.equal(a.grad, b.grad)


# ------------------------------------------------------------------------------ fit's hooks
def _fit_linear(**options):
    torch.manual_seed(0)
    x, y = torch.randn(64, 2) * 5, torch.randint(0, 3, (64,))
    model = nn.Linear(2, 3)
    before = [p.detach().clone() for p in model.parameters()]
    history = dlcourse.fit(model, DataLoader(TensorDataset(x, y), 16), torch.optim.SGD(model.parameters(), lr=1.0),
                           device="cpu", amp=False, progress=False, live_plot=False, **options)
    return model, before, history, (x, y)


def test_fit_takes_a_clipping_function_called_after_backward():
    model, before, _, (x, y) = _fit_linear(clip_grad=partial(clipping.clip_grad_value_, clip_value=0.01), epochs=1)
    ref = nn.Linear(2, 3)
    with torch.no_grad():
        for p, b in zip(ref.parameters(), before):
            p.copy_(b)
    for i in range(0, 64, 16):                                        # four SGD steps, lr 1, gradients clamped
        ref.zero_grad()
        nn.functional.cross_entropy(ref(x[i:i + 16]), y[i:i + 16]).backward()
        assert any((p.grad.abs() > 0.01).any() for p in ref.parameters())
        with torch.no_grad():
            for p in ref.parameters():
                p -= p.grad.clamp(-0.01, 0.01)
    for a, b in zip(model.parameters(), ref.parameters()):
        torch.testing.assert_close(a, b)


def test_fit_stop_ends_the_run_at_once():
    calls = []

    def stop(history):
        calls.append(len(history.steps["train_loss"]))
        return len(calls) == 3

    _, _, history, _ = _fit_linear(stop=stop, log_every=1, epochs=4)  # 4 batches per epoch, 16 steps possible
    assert calls == [1, 2, 3] and history.steps["step"] == [1, 2, 3]
    assert len(history["train_loss"]) == 1                            # no second epoch


def test_a_halted_run_resumes_as_finished(tmp_path):
    stop = lambda history: len(history.steps["step"]) == 2             # noqa: E731
    options = dict(stop=stop, log_every=1, epochs=4, checkpoint=tmp_path / "run.pt")
    _, _, first, _ = _fit_linear(**options)
    _, _, again, _ = _fit_linear(**options, resume=True)
    assert again == first and again.steps == first.steps and first.steps["step"] == [1, 2]


# ------------------------------------------------------------------------------ the LR finder
def _finder_setup():
    torch.manual_seed(0)
    x = torch.randn(256, 10)
    y = (x[:, :3].sum(1) > 0).long() + (x[:, 3] > 1).long()
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loader = DataLoader(TensorDataset(x, y), 32, shuffle=True, generator=torch.Generator().manual_seed(0))
    for xb, yb in loader:                                             # give the optimizer momentum buffers to keep
        opt.zero_grad()
        nn.functional.cross_entropy(model(xb), yb).backward()
        opt.step()
    return model, opt, loader


def test_lr_finder_sweeps_stops_on_divergence_and_restores_everything():
    model, opt, loader = _finder_setup()
    weights, state = [p.detach().clone() for p in model.parameters()], opt.state_dict()
    buffers = [s["momentum_buffer"].clone() for s in state["state"].values()]
    result = lr_find(model, loader, opt, start_lr=1e-4, end_lr=100.0, num_steps=60, device="cpu", amp=False)
    # the sweep: exponential, one rate per step, starting at start_lr
    n = len(result.lrs)
    expected = [1e-4 * (100.0 / 1e-4) ** (i / 59) for i in range(n)]
    check_close("swept rates", torch.tensor(result.lrs), torch.tensor(expected), atol=0, rtol=1e-9, verbose=False)
    # it stopped on divergence, long before lr 100 (8 loader passes' worth of batches were allowed)
    assert 10 < n < 60 and result.smoothed[-1] > 4 * min(result.smoothed)
    assert result.smoothed == smoothed_losses(result.losses) and result.steepest() < result.minimum()
    # the model and optimizer are as they were: weights, rates, momentum buffers, no sweep leftovers
    for p, w in zip(model.parameters(), weights):
        assert torch.equal(p, w)
    after = opt.state_dict()
    assert [g["lr"] for g in after["param_groups"]] == [0.05] and "initial_lr" not in after["param_groups"][0]
    for s, b in zip(after["state"].values(), buffers):
        assert torch.equal(s["momentum_buffer"], b)


def test_lr_finder_survives_a_loss_that_overflows():
    model, opt, loader = _finder_setup()
    result = lr_find(model, loader, opt, start_lr=1e-3, end_lr=1e12, num_steps=40, diverge=float("inf"),
                     device="cpu", amp=False)
    assert 1 < len(result.losses) < 40 and all(v == v and abs(v) < float("inf") for v in result.losses)


def test_smoothed_losses_debiased():
    pandas = pytest.importorskip("pandas")
    losses = [2.3, 2.1, 2.2, 1.7, 1.9, 1.2, 3.0]
    check_close("smoothed", torch.tensor(smoothed_losses(losses, 0.9)),
                torch.tensor(pandas.Series(losses).ewm(alpha=0.1).mean().to_numpy()), atol=1e-12, verbose=False)
    assert smoothed_losses([5.0], 0.98) == [pytest.approx(5.0)]       # not 0.1: the bias is corrected


# ------------------------------------------------------------------------------ chapter 08's exercise checks
def _poly(t, total, power, clamp=True, last=None):
    last = total if last is None else last
    return (1 - (min(t, last) if clamp else t) / last) ** power


def _momentum(t, total, pct_start=0.3, base=0.85, peak=0.95, how="cos", up_end=None):
    up_end = pct_start * total - 1 if up_end is None else up_end
    if t <= up_end:
        return S._anneal(peak, base, t / up_end, how)
    return S._anneal(base, peak, (t - up_end) / (total - 1 - up_end), how)


def _ema(losses, beta, first=1, debias=True):
    average, out = 0.0, []
    for i, loss in enumerate(losses, start=first):
        average = beta * average + (1 - beta) * loss
        out.append(average / (1 - beta ** i) if debias else average)
    return out


@pytest.mark.parametrize("check, right, wrongs", [
    (exercises.check_polynomial_decay, _poly,
     [partial(_poly, clamp=False),                                          # climbs again after the end
      lambda t, total, power: _poly(t, total, power, last=total - 1)]),    # reaches 0 a step early
    (exercises.check_one_cycle_momentum, _momentum,
     [lambda t, total, pct_start=0.3: _momentum(t, total, pct_start, base=0.95, peak=0.85),   # moves with the rate
      lambda t, total, pct_start=0.3: _momentum(t, total, pct_start, up_end=int(pct_start * total) - 1),
      lambda t, total, pct_start=0.3: _momentum(t, total, pct_start, how="linear")]),
    (exercises.check_smoothed, _ema,
     [partial(_ema, debias=False), partial(_ema, first=2),
      lambda losses, beta: _ema(losses, 1 - beta)]),
], ids=["polynomial", "momentum", "smoothed"])
def test_exercise_checks(check, right, wrongs, exercise_check):
    exercise_check(check, right, wrongs)


def test_lr_finder_refuses_accumulation():
    model, opt, loader = _finder_setup()
    with pytest.raises(ValueError, match="accumulate"):
        lr_find(model, loader, opt, accumulate=2)
