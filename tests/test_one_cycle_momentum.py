"""One-cycle's momentum (issue 22): ``as_scheduler(optimizer, one_cycle, ...)`` cycles SGD's momentum
and Adam's betas[0] as torch.optim.lr_scheduler.OneCycleLR does (cycle_momentum=True, base_momentum
0.85, max_momentum 0.95 by default), every step's rate and momentum equal to torch's; with
cycle_momentum=False only the rate moves. Schedules are closed-form numbers, compared to rounding.
"""
from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.optim import lr_scheduler as L
from torch.utils.data import DataLoader, TensorDataset

import dlcourse
from dlcourse import optim as ours_optim
from dlcourse import schedules as S
from dlcourse.checks import CheckError, check_close

LR = 0.1
TOL = dict(atol=1e-12, rtol=1e-9)    # rounding only: torch writes the cosine as (a - b) / 2 * (cos + 1)

OPTIMIZERS = {
    "torch SGD momentum": lambda ps: torch.optim.SGD(ps, lr=LR, momentum=0.9),
    "torch SGD nesterov": lambda ps: torch.optim.SGD(ps, lr=LR, momentum=0.9, nesterov=True),
    "torch Adam": lambda ps: torch.optim.Adam(ps, lr=LR, betas=(0.8, 0.99)),
    "torch AdamW": lambda ps: torch.optim.AdamW(ps, lr=LR),
    "torch RMSprop": lambda ps: torch.optim.RMSprop(ps, lr=LR, momentum=0.5),
    "dlcourse SGD": lambda ps: ours_optim.SGD(ps, lr=LR, momentum=0.9),
    "dlcourse Adam": lambda ps: ours_optim.Adam(ps, lr=LR),
}
# name: (OneCycleLR's arguments, ours), the same schedule in each one's words; the total steps first
SCHEDULES = {
    "default": ({"total_steps": 101}, {"total_steps": 101}),
    "linear, pct_start 0.5, div factors": (
        {"total_steps": 50, "pct_start": 0.5, "anneal_strategy": "linear", "div_factor": 10.0, "final_div_factor": 100.},
        {"total_steps": 50, "pct_start": 0.5, "anneal": "linear", "div_factor": 10.0, "final_div_factor": 100.}),
    "three-phase": ({"total_steps": 97, "pct_start": 0.25, "three_phase": True},
                    {"total_steps": 97, "pct_start": 0.25, "three_phase": True}),
    "momentum range": ({"total_steps": 40, "base_momentum": 0.7, "max_momentum": 0.99},
                       {"total_steps": 40, "base_momentum": 0.7, "max_momentum": 0.99}),
    "per-group momentum": ({"total_steps": 30, "base_momentum": [0.8, 0.6], "max_momentum": [0.9, 0.95]},
                           {"total_steps": 30, "base_momentum": [0.8, 0.6], "max_momentum": [0.9, 0.95]}),
    "cycle_momentum=False": ({"total_steps": 60, "cycle_momentum": False}, {"total_steps": 60, "cycle_momentum": False}),
}


def _optimizer(name):
    a, b = nn.Parameter(torch.zeros(2)), nn.Parameter(torch.zeros(3))
    return OPTIMIZERS[name]([{"params": [a]}, {"params": [b], "lr": LR / 4}])   # two groups, two peaks


def _trace(optimizer, scheduler, steps):
    """(steps + 1, groups, 2): each group's rate and momentum (or betas[0]) before each step and after the last."""
    rows = []
    for t in range(steps + 1):
        rows.append([[g["lr"], g["betas"][0] if "betas" in g else g["momentum"]] for g in optimizer.param_groups])
        if t < steps:
            optimizer.step()              # no gradients: nothing moves, and torch does not warn about the order
            scheduler.step()
    return torch.tensor(rows, dtype=torch.float64)


def _traces(opt_name, schedule):
    theirs_args, ours_args = SCHEDULES[schedule]
    steps = theirs_args["total_steps"]
    opt = _optimizer(opt_name)
    theirs = _trace(opt, L.OneCycleLR(opt, [g["lr"] for g in opt.param_groups], **theirs_args), steps)
    opt = _optimizer(opt_name)
    ours = _trace(opt, S.as_scheduler(opt, S.one_cycle, **ours_args), steps)
    return ours, theirs


@pytest.mark.parametrize("schedule", sorted(SCHEDULES))
@pytest.mark.parametrize("opt_name", sorted(OPTIMIZERS))
def test_every_steps_rate_and_momentum_equal_torchs_one_cycle(opt_name, schedule):
    ours, theirs = _traces(opt_name, schedule)
    check_close(f"{opt_name}, {schedule}: rates", ours[..., 0], theirs[..., 0], **TOL, verbose=False)
    check_close(f"{opt_name}, {schedule}: momentum", ours[..., 1], theirs[..., 1], **TOL, verbose=False)
    momentum = theirs[:-1, 0, 1]
    if SCHEDULES[schedule][1].get("cycle_momentum", True):      # the case is sharp: momentum really moves
        assert float(momentum.max() - momentum.min()) > 0.09
    else:                                                       # the optimizer's own momentum, untouched
        assert momentum.unique().numel() == 1


def test_adams_second_beta_is_kept():
    opt = _optimizer("torch Adam")
    scheduler = S.as_scheduler(opt, S.one_cycle, total_steps=10)
    for _ in range(4):
        opt.step()
        scheduler.step()
    assert [g["betas"][1] for g in opt.param_groups] == [0.99, 0.99]
    assert isinstance(scheduler, S.OneCycle) and isinstance(scheduler, L.LambdaLR)


def test_the_pure_momentum_function_is_the_schedulers():
    opt = _optimizer("torch SGD momentum")
    theirs = _trace(opt, L.OneCycleLR(opt, LR, total_steps=33, pct_start=0.4), 33)[:-1, 0, 1]
    got = torch.tensor([S.one_cycle_momentum(t, total_steps=33, pct_start=0.4) for t in range(33)], dtype=torch.float64)
    check_close("one_cycle_momentum", got, theirs, **TOL, verbose=False)
    assert S.one_cycle_momentum(0, total_steps=33) == 0.95 and S.one_cycle_momentum(32, total_steps=33) == 0.95


@pytest.mark.parametrize("bug", ["moves with the rate", "phase ends rounded to steps", "no momentum at step 0"])
def test_a_momentum_that_is_not_torchs_is_caught(bug, monkeypatch):
    right = S.one_cycle_momentum

    def wrong(step, *, total_steps, pct_start=0.3, base_momentum=0.85, max_momentum=0.95, **kw):
        if bug == "moves with the rate":
            return right(step, total_steps=total_steps, pct_start=pct_start, base_momentum=max_momentum,
                         max_momentum=base_momentum, **kw)
        if bug == "phase ends rounded to steps":
            return right(step, total_steps=total_steps, pct_start=round(pct_start * total_steps) / total_steps,
                         base_momentum=base_momentum, max_momentum=max_momentum, **kw)
        return 0.9 if step == 0 else right(step, total_steps=total_steps, pct_start=pct_start,
                                           base_momentum=base_momentum, max_momentum=max_momentum, **kw)

    monkeypatch.setattr(S, "one_cycle_momentum", wrong)
    ours, theirs = _traces("torch SGD momentum", "default")
    with pytest.raises(CheckError):
        check_close("momentum", ours[..., 1], theirs[..., 1], **TOL, verbose=False)


def test_a_resumed_cycle_continues_the_same_momentum():
    opt = _optimizer("torch Adam")
    whole = _trace(opt, S.as_scheduler(opt, S.one_cycle, total_steps=20), 20)
    opt = _optimizer("torch Adam")
    scheduler = S.as_scheduler(opt, S.one_cycle, total_steps=20)
    first = _trace(opt, scheduler, 8)
    saved = opt.state_dict(), scheduler.state_dict()
    opt = _optimizer("torch Adam")
    scheduler = S.as_scheduler(opt, S.one_cycle, total_steps=20)
    opt.load_state_dict(saved[0])
    scheduler.load_state_dict(saved[1])
    rest = _trace(opt, scheduler, 12)
    check_close("resumed run", torch.cat([first[:-1], rest]), whole, atol=0, rtol=0, verbose=False)


def test_fit_trains_exactly_as_under_torchs_one_cycle():
    """The same model, batches and SGD through dlcourse.fit under ours and under OneCycleLR: the same
    per-step rates and the same final weights (the momentum cycle reaches the update)."""
    runs = []
    for make in (lambda o, n: S.as_scheduler(o, S.one_cycle, total_steps=n),
                 lambda o, n: L.OneCycleLR(o, LR, total_steps=n)):
        torch.manual_seed(0)
        data = TensorDataset(torch.randn(70, 4), torch.randint(0, 3, (70,)))
        loader = DataLoader(data, batch_size=16)
        model = nn.Linear(4, 3)
        opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)
        history = dlcourse.fit(model, loader, opt, epochs=3, scheduler=make(opt, 3 * len(loader)),
                               scheduler_interval="step", log_every=1, device="cpu", amp=False, progress=False,
                               live_plot=False)
        runs.append((torch.tensor(history.steps["lr"], dtype=torch.float64), model.weight.detach().clone(),
                     opt.param_groups[0]["momentum"]))
    (lr_o, w_o, m_o), (lr_t, w_t, m_t) = runs
    check_close("fit's per-step rates", lr_o, lr_t, **TOL, verbose=False)
    check_close("final weights", w_o, w_t, verbose=False)
    assert m_o == pytest.approx(m_t, abs=1e-12) and m_o > 0.9


def test_an_optimizer_without_momentum_is_refused_in_words():
    opt = torch.optim.Adagrad([nn.Parameter(torch.zeros(1))], lr=LR)
    with pytest.raises(ValueError, match="cycle_momentum=True needs an optimizer with a momentum or betas"):
        S.as_scheduler(opt, S.one_cycle, total_steps=10)
    with pytest.raises(ValueError):                                   # torch refuses it too
        L.OneCycleLR(opt, LR, total_steps=10)
    S.as_scheduler(opt, S.one_cycle, total_steps=10, cycle_momentum=False)   # the rate alone is fine
    with pytest.raises(ValueError, match="one per parameter group"):
        S.as_scheduler(_optimizer("torch SGD momentum"), S.one_cycle, total_steps=10, base_momentum=[0.8])
