"""dlcourse.optim == torch.optim, parameter for parameter, over 150 steps of a real model.

The model is a 64-32-10 MLP on scikit-learn's digits, trained on shuffled mini-batches: every
parameter is compared with torch.optim's after every step (fp32, atol 1e-6 + rtol 1e-5, and
the worst difference seen so far was 0), and so is every entry of every parameter's state.
A missing bias correction, AdamW's decay put on the gradient, a wrong Nesterov term or one
state shared by all parameters moves some weight by far more than that within a few steps.
"""
from __future__ import annotations

import pytest
import torch
from torch import nn

from dlcourse import optim as ours
from dlcourse.train import fit

STEPS = 150
ATOL, RTOL = 1e-6, 1e-5

CASES = [  # (ours, torch's, hyper-parameters)
    (ours.SGD, torch.optim.SGD, dict(lr=0.1)),
    (ours.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9)),
    (ours.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    (ours.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=5e-3)),
    (ours.RMSprop, torch.optim.RMSprop, dict(lr=1e-3)),
    (ours.RMSprop, torch.optim.RMSprop, dict(lr=5e-4, alpha=0.9, eps=1e-6, momentum=0.9, weight_decay=1e-2)),
    (ours.Adam, torch.optim.Adam, dict(lr=1e-3)),
    (ours.Adam, torch.optim.Adam, dict(lr=3e-3, betas=(0.8, 0.95), eps=1e-6, weight_decay=1e-2)),
    (ours.AdamW, torch.optim.AdamW, dict(lr=1e-3)),
    (ours.AdamW, torch.optim.AdamW, dict(lr=3e-3, betas=(0.85, 0.99), weight_decay=0.1)),
    # torch's options: AMSGrad's running maximum of v, centred RMSprop, and gradient ascent
    (ours.Adam, torch.optim.Adam, dict(lr=3e-3, weight_decay=1e-2, amsgrad=True)),
    (ours.AdamW, torch.optim.AdamW, dict(lr=3e-3, betas=(0.8, 0.95), weight_decay=0.1, amsgrad=True)),
    (ours.RMSprop, torch.optim.RMSprop, dict(lr=1e-3, centered=True)),
    (ours.RMSprop, torch.optim.RMSprop, dict(lr=5e-4, momentum=0.9, weight_decay=1e-2, centered=True)),
    (ours.SGD, torch.optim.SGD, dict(lr=0.01, momentum=0.9, weight_decay=1e-3, maximize=True)),
    (ours.RMSprop, torch.optim.RMSprop, dict(lr=1e-4, momentum=0.5, centered=True, maximize=True)),
    (ours.Adam, torch.optim.Adam, dict(lr=1e-3, weight_decay=1e-2, amsgrad=True, maximize=True)),
    (ours.AdamW, torch.optim.AdamW, dict(lr=1e-3, maximize=True)),
]


def _digits():
    from sklearn.datasets import load_digits
    d = load_digits()
    return torch.tensor(d.data, dtype=torch.float32) / 16.0, torch.tensor(d.target)


X, Y = _digits()


def _model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))


def _train_both(our_class, torch_class, hyper, groups=None, steps=STEPS):
    """Train two copies of one model on the same shuffled batches; yield both after every step."""
    models = [_model(), _model()]
    if groups is None:
        opts = [cls(m.parameters(), **hyper) for cls, m in zip((our_class, torch_class), models)]
    else:
        opts = [cls(groups(m), **hyper) for cls, m in zip((our_class, torch_class), models)]
    order = torch.randperm(len(X), generator=torch.Generator().manual_seed(0))
    for step in range(steps):
        idx = order[(step * 32) % (len(X) - 32):][:32]
        for model, opt in zip(models, opts):
            opt.zero_grad()
            nn.functional.cross_entropy(model(X[idx]), Y[idx]).backward()
            opt.step()
        yield step, models, opts


def _assert_close(label, a, b):
    bad = (a - b).abs() > ATOL + RTOL * b.abs()
    assert not bad.any(), f"{label}: max abs difference {float((a - b).abs().max()):.2e}"
    return float((a - b).abs().max())


@pytest.mark.parametrize("our_class, torch_class, hyper", CASES,
                         ids=[f"{c[0].__name__}-{'-'.join(f'{k}={v}' for k, v in c[2].items())}" for c in CASES])
def test_matches_torch_optim_every_step_on_a_real_model(our_class, torch_class, hyper):
    worst = 0.0
    for step, (m_ours, m_torch), (o_ours, o_torch) in _train_both(our_class, torch_class, hyper):
        for (name, p), q in zip(m_ours.named_parameters(), m_torch.parameters()):
            worst = max(worst, _assert_close(f"step {step + 1}, {name}", p.detach(), q.detach()))
    moved = (list(m_ours.parameters())[0] - list(_model().parameters())[0]).abs().max()
    assert moved > 1e-2, "the parameters hardly moved: the comparison would prove nothing"
    # state per parameter: the same keys and values as torch.optim's, and no tensor shared
    for p, q in zip(m_ours.parameters(), m_torch.parameters()):
        mine, theirs = o_ours.state[p], o_torch.state[q]
        assert set(mine) == set(theirs), (sorted(mine), sorted(theirs))
        for key, value in theirs.items():
            got = mine[key]
            if key == "step":
                assert float(got) == float(value) == STEPS
            else:
                assert got.shape == p.shape
                worst = max(worst, _assert_close(f"state {key}", got, value))
    tensors = [v for s in o_ours.state.values() for v in s.values() if isinstance(v, torch.Tensor)]
    assert len({t.data_ptr() for t in tensors}) == len(tensors), "two parameters share a state tensor"
    print(f"{our_class.__name__} {hyper}: worst difference {worst:.1e}")


@pytest.mark.parametrize("our_class, torch_class, hyper", [
    (ours.AdamW, torch.optim.AdamW, dict(lr=3e-3, weight_decay=0.1)),
    (ours.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2)),
    (ours.RMSprop, torch.optim.RMSprop, dict(lr=1e-3, momentum=0.5, weight_decay=1e-2)),
], ids=["AdamW", "SGD-nesterov", "RMSprop"])
def test_param_groups_use_their_own_hyper_parameters(our_class, torch_class, hyper):
    """No weight decay on biases and a 10x smaller learning rate on the output layer, the usual split."""
    def groups(model):
        first, _, last = model
        return [{"params": [first.weight]}, {"params": [first.bias], "weight_decay": 0.0},
                {"params": [last.weight, last.bias], "lr": hyper["lr"] / 10}]
    for step, (m_ours, m_torch), _ in _train_both(our_class, torch_class, hyper, groups, steps=100):
        for p, q in zip(m_ours.parameters(), m_torch.parameters()):
            _assert_close(f"step {step + 1}", p.detach(), q.detach())
    # and the groups really differ: the same settings on every weight give another last layer
    grouped = m_ours
    *_, (_, (ungrouped, _), _) = _train_both(our_class, torch_class, hyper, steps=100)
    assert not torch.allclose(grouped[2].weight, ungrouped[2].weight, atol=1e-4)


def test_a_parameter_without_gradient_is_left_alone_and_gets_no_state():
    model = _model()
    frozen = model[0].weight.detach().clone()
    model[0].weight.requires_grad_(False)
    opt = ours.Adam(model.parameters(), lr=1e-2)
    nn.functional.cross_entropy(model(X[:32]), Y[:32]).backward()
    opt.step()
    assert torch.equal(model[0].weight, frozen) and model[0].weight not in opt.state
    assert len(opt.state) == 3


def test_state_dict_round_trip_continues_the_same_run():
    """Stop after 50 steps, reload the state into a fresh optimizer, go on: same as 100 at once."""
    straight = list(_train_both(ours.Adam, ours.Adam, dict(lr=3e-3), steps=100))[-1][1][0]
    model = _model()
    opt = ours.Adam(model.parameters(), lr=3e-3)
    order = torch.randperm(len(X), generator=torch.Generator().manual_seed(0))
    for step in range(100):
        if step == 50:
            saved = opt.state_dict()
            opt = ours.Adam(model.parameters(), lr=3e-3)
            opt.load_state_dict(saved)
        idx = order[(step * 32) % (len(X) - 32):][:32]
        opt.zero_grad()
        nn.functional.cross_entropy(model(X[idx]), Y[idx]).backward()
        opt.step()
    for p, q in zip(model.parameters(), straight.parameters()):
        assert torch.equal(p, q)


def _train(make, steps=100, switch_at=None, make_after=None):
    """Train _model() on _train_both's batches; at step switch_at, hand the state dict to make_after's optimizer."""
    model = _model()
    opt = make(model.parameters())
    order = torch.randperm(len(X), generator=torch.Generator().manual_seed(0))
    for step in range(steps):
        if step == switch_at:
            saved = opt.state_dict()
            opt = make_after(model.parameters())
            opt.load_state_dict(saved)
        idx = order[(step * 32) % (len(X) - 32):][:32]
        opt.zero_grad()
        nn.functional.cross_entropy(model(X[idx]), Y[idx]).backward()
        opt.step()
    return model, opt


TRANSFERS = [(ours.Adam, torch.optim.Adam, dict(lr=3e-3, weight_decay=1e-2)),
             (ours.Adam, torch.optim.Adam, dict(lr=3e-3, amsgrad=True)),
             (ours.AdamW, torch.optim.AdamW, dict(lr=3e-3, weight_decay=0.1)),
             (ours.AdamW, torch.optim.AdamW, dict(lr=3e-3, amsgrad=True)),
             (ours.RMSprop, torch.optim.RMSprop, dict(lr=1e-3, momentum=0.9, centered=True)),
             (ours.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True))]


@pytest.mark.parametrize("direction", ["torch-then-ours", "ours-then-torch"])
@pytest.mark.parametrize("our_class, torch_class, hyper", TRANSFERS,
                         ids=[f"{c[0].__name__}-{'-'.join(f'{k}={v}' for k, v in c[2].items())}" for c in TRANSFERS])
def test_a_state_dict_moves_between_torch_optim_and_ours_mid_run(our_class, torch_class, hyper, direction):
    """50 steps with one, its state dict loaded into the other, 50 more: torch's uninterrupted 100 steps.
    torch keeps state["step"] as a tensor; it must count on in ours, and our state must resume in torch."""
    first, then = (torch_class, our_class) if direction == "torch-then-ours" else (our_class, torch_class)
    straight, _ = _train(lambda p: torch_class(p, **hyper))
    resumed, opt = _train(lambda p: first(p, **hyper), switch_at=50, make_after=lambda p: then(p, **hyper))
    assert type(opt) is then
    for (name, p), q in zip(resumed.named_parameters(), straight.parameters()):
        _assert_close(f"{direction}, {name} after 100 steps", p.detach(), q.detach())
    assert all(float(s["step"]) == 100 for s in opt.state.values() if "step" in s)


def test_fit_and_lr_schedulers_drive_our_optimizers_as_they_drive_torchs():
    from torch.utils.data import DataLoader, TensorDataset
    histories = []
    for optimizer_class in (ours.SGD, torch.optim.SGD):
        model = _model()
        opt = optimizer_class(model.parameters(), lr=0.1, momentum=0.9)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
        loader = DataLoader(TensorDataset(X, Y), batch_size=64, shuffle=True,
                            generator=torch.Generator().manual_seed(0))
        histories.append(fit(model, loader, opt, epochs=3, scheduler=sched, amp=False, progress=False,
                             live_plot=False))
    mine, theirs = histories
    assert mine["lr"] == pytest.approx([0.1, 0.05, 0.025])
    assert mine["train_loss"] == pytest.approx(theirs["train_loss"], rel=1e-6, abs=1e-7)
    assert mine["train_loss"][-1] < 0.5 * mine["train_loss"][0]


@pytest.mark.parametrize("bad, message", [
    (lambda p: ours.SGD(p, lr=-1.0), "lr must be"),
    (lambda p: ours.SGD(p, lr=0.1, nesterov=True), "Nesterov"),
    (lambda p: ours.Adam(p, betas=(1.0, 0.999)), "betas"),
    (lambda p: ours.RMSprop(p, alpha=1.5), "alpha"),
    (lambda p: ours.RMSprop(p, 1e-2, 0.99, 1e-8, 0, 0, False, True), "capturable=True is left out"),
    (lambda p: ours.AdamW(p, fused=True), "AdamW: fused=True is left out"),
    (lambda p: ours.SGD(p, differentiable=True), "differentiable=True is left out"),
])
def test_bad_hyper_parameters_are_refused_with_their_name(bad, message):
    with pytest.raises(ValueError, match=message):
        bad(_model().parameters())


def test_torchs_implementation_switches_are_accepted_where_they_change_nothing():
    # foreach=False or True, capturable/differentiable/fused off: torch's call, unchanged, runs ours too
    for our_class, torch_class, flags in [(ours.SGD, torch.optim.SGD, dict(foreach=False, fused=None)),
                                          (ours.RMSprop, torch.optim.RMSprop, dict(foreach=True, capturable=False)),
                                          (ours.Adam, torch.optim.Adam, dict(foreach=False, differentiable=False)),
                                          (ours.AdamW, torch.optim.AdamW, dict(foreach=True, fused=False))]:
        for a, b in zip(ours.trajectory(our_class, "rosenbrock", 20, lr=1e-3, **flags),
                        ours.trajectory(torch_class, "rosenbrock", 20, lr=1e-3, **flags)):
            _assert_close(f"{our_class.__name__}({flags})", a, b)


def test_trajectory_records_every_step_and_matches_torch_on_both_problems():
    for problem, hyper in (("rosenbrock", dict(lr=1e-3, momentum=0.9)), ("digits_mlp", dict(lr=0.1))):
        start = ours.init_params(problem)
        path = ours.trajectory(ours.SGD, problem, 120, **hyper)
        ref = ours.trajectory(torch.optim.SGD, problem, 120, **hyper)
        assert [tuple(t.shape) for t in path] == [(121, *p.shape) for p in start]
        assert all(torch.equal(t[0], p) for t, p in zip(path, start)), "row 0 is the starting point"
        for a, b in zip(path, ref):
            _assert_close(problem, a, b)
        loss = ours.LOSSES[problem]
        assert float(loss([t[-1] for t in path])) < 0.8 * float(loss(start)), f"{problem}: the loss did not fall"
    # by hand: one SGD step on the valley is x - lr * grad, and the valley's minimum is (1, 1)
    xy = torch.tensor([-1.5, 2.0])
    x, y = xy
    grad = torch.stack([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])
    step1 = ours.trajectory(ours.SGD, "rosenbrock", 1, lr=1e-3)[0][1]
    _assert_close("one step by hand", step1, xy - 1e-3 * grad)
    assert float(ours.rosenbrock(torch.tensor([1.0, 1.0]))) == 0.0


def test_trajectory_param_groups_by_index():
    groups = [{"params": [0, 2]}, {"params": [1, 3], "weight_decay": 0.0}]
    a = ours.trajectory(ours.AdamW, steps=30, groups=groups, lr=1e-2, weight_decay=0.5)
    b = ours.trajectory(torch.optim.AdamW, steps=30, groups=groups, lr=1e-2, weight_decay=0.5)
    c = ours.trajectory(ours.AdamW, steps=30, lr=1e-2, weight_decay=0.5)
    for x, y in zip(a, b):
        _assert_close("groups", x, y)
    assert not torch.allclose(a[1], c[1]), "the bias group's weight_decay=0 had no effect"
