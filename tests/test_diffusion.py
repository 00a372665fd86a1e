"""Chapter 26's schedules and samplers equal diffusers' DDPMScheduler and DDIMScheduler: the same
betas, the same forward noising, and the same x_{t-1} at every step given the same model output
and noise; classifier-free guidance's combination and the training loss by their definitions."""
from __future__ import annotations

import copy

import pytest
import torch
from diffusers import DDIMScheduler, DDPMScheduler
from torch.utils.data import DataLoader, TensorDataset

import dlcourse
from dlcourse.checks import check_close
from dlcourse.diffusion import NoiseSchedule, ddim_sample, ddpm_sample, diffusion_loss, diffusion_step, guided_eps
from dlcourse.models.ddpm_unet import NoisePredictor

SCHEDULES = {"linear": NoiseSchedule.linear, "squaredcos_cap_v2": NoiseSchedule.cosine}


def _fake_eps(x, t):
    """A stand-in for a trained network: any fixed function of x and t will do for a step-by-step check."""
    return 0.3 * torch.tanh(x) + 0.001 * t.float().view(-1, 1, 1, 1)


@pytest.mark.parametrize("name", SCHEDULES)
def test_schedules_equal_diffusers(name):
    theirs = DDPMScheduler(num_train_timesteps=1000, beta_schedule=name)
    ours = SCHEDULES[name]()
    check_close(f"{name} betas", ours.betas, theirs.betas)
    check_close(f"{name} alphas_cumprod", ours.alphas_cumprod, theirs.alphas_cumprod)
    x0, noise = torch.randn(4, 1, 8, 8), torch.randn(4, 1, 8, 8)
    t = torch.tensor([0, 1, 500, 999])
    check_close("add_noise", ours.add_noise(x0, noise, t), theirs.add_noise(x0, noise, t))


@pytest.mark.parametrize("name, clip", [("linear", False), ("linear", True), ("squaredcos_cap_v2", False)])
def test_ddpm_chain_equals_diffusers_step_for_step(name, clip):
    theirs = DDPMScheduler(num_train_timesteps=1000, beta_schedule=name, clip_sample=clip, variance_type="fixed_small")
    ours = SCHEDULES[name]()
    x = torch.randn(2, 1, 6, 6, generator=torch.Generator().manual_seed(0))
    mine, ref = x.clone(), x.clone()
    for t in reversed(range(1000)):
        tt = torch.full((2,), t)
        noise_seed = 10_000 + t
        ref = theirs.step(_fake_eps(ref, tt), t, ref, generator=torch.Generator().manual_seed(noise_seed)).prev_sample
        noise = torch.randn(mine.shape, generator=torch.Generator().manual_seed(noise_seed))
        mine = ours.ddpm_step(_fake_eps(mine, tt), t, mine, noise, clip)
        if t in (999, 500, 1, 0):
            check_close(f"x_{t - 1} after DDPM step t={t}", mine, ref, verbose=False)
    check_close("DDPM x_0 after 1,000 steps", mine, ref)


@pytest.mark.parametrize("eta, clipped_eps", [(0.0, False), (1.0, False), (0.0, True)])
def test_ddim_chain_equals_diffusers_step_for_step(eta, clipped_eps):
    theirs = DDIMScheduler(num_train_timesteps=1000, beta_schedule="linear", clip_sample=True)
    theirs.set_timesteps(50)
    ours = NoiseSchedule.linear()
    assert ours.ddim_timesteps(50) == theirs.timesteps.tolist()
    x = torch.randn(2, 1, 6, 6, generator=torch.Generator().manual_seed(1))
    mine, ref = x.clone(), x.clone()
    g = torch.Generator().manual_seed(2)
    for t in ours.ddim_timesteps(50):
        tt = torch.full((2,), t)
        noise = torch.randn(x.shape, generator=g)
        ref = theirs.step(_fake_eps(ref, tt), t, ref, eta=eta, use_clipped_model_output=clipped_eps,
                          variance_noise=noise).prev_sample
        mine = ours.ddim_step(_fake_eps(mine, tt), t, t - 20, mine, eta, noise, clip=True, clipped_eps=clipped_eps)
        check_close(f"x after DDIM step t={t}", mine, ref, verbose=False)
    check_close(f"DDIM (eta={eta}) x_0 after 50 steps", mine, ref)


def test_samplers_guidance_and_loss():
    schedule = NoiseSchedule.linear(50)
    model = lambda x, t, y: _fake_eps(x, t) + (0 if y is None else 0.01 * y.float().view(-1, 1, 1, 1))  # noqa: E731
    x, trace = ddpm_sample(model, schedule, (3, 1, 4, 4), generator=torch.Generator().manual_seed(0), trace_every=10)
    assert x.shape == (3, 1, 4, 4) and len(trace) == 5 and x.abs().max() <= 1.5
    a = ddim_sample(model, schedule, (3, 1, 4, 4), steps=10, generator=torch.Generator().manual_seed(0))
    b = ddim_sample(model, schedule, (3, 1, 4, 4), steps=10, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, b)                                   # eta = 0: deterministic from the start noise
    x, t, y = torch.randn(3, 1, 4, 4), torch.tensor([1, 2, 3]), torch.tensor([4, 5, 6])
    expected = model(x, t, torch.full_like(y, 10)) + 3.0 * (model(x, t, y) - model(x, t, torch.full_like(y, 10)))
    check_close("classifier-free guidance", guided_eps(model, x, t, y, 3.0, null_label=10), expected)
    with pytest.raises(ValueError, match="null_label"):
        guided_eps(model, x, t, y, 3.0, None)
    with pytest.raises(ValueError, match="between 1 and 50"):
        schedule.ddim_timesteps(60)
    torch.manual_seed(0)
    loss = diffusion_loss(lambda x, t, y: torch.zeros_like(x), torch.zeros(4096, 1, 2, 2), schedule)
    assert abs(float(loss) - 1.0) < 0.05                       # predicting 0 for N(0, I) noise: MSE 1


def test_diffusion_step_is_the_loss_on_images_in_minus_one_to_one():
    schedule = NoiseSchedule.linear(50)
    seen = {}

    def model(x, t, y):
        seen["y"] = y
        return torch.zeros_like(x)
    images, labels = torch.ones(8, 1, 2, 2), torch.arange(8)
    torch.manual_seed(0)
    loss = diffusion_step(schedule)(model, (images, labels))
    torch.manual_seed(0)
    check_close("the step == diffusion_loss on 2x - 1", loss, diffusion_loss(model, images * 2 - 1, schedule))
    assert seen["y"] is None                                    # unconditional: labels ignored
    diffusion_step(schedule, conditional=True, null_label=10, drop=0.0)(model, (images, labels))
    assert torch.equal(seen["y"], labels)
    with pytest.raises(ValueError, match="null_label"):
        diffusion_step(schedule, conditional=True)


def test_diffusion_step_trains_a_noise_predictor_through_fit():
    torch.manual_seed(0)
    model = NoisePredictor(widths=(8, 16, 16), num_classes=10, emb_dim=32)
    before = copy.deepcopy(model.state_dict())
    data = TensorDataset(torch.rand(64, 1, 28, 28), torch.randint(0, 10, (64,)))
    history = dlcourse.fit(model, DataLoader(data, 16), torch.optim.Adam(model.parameters(), 1e-3), epochs=1,
                           step=diffusion_step(NoiseSchedule.cosine(), True, model.null_label), metrics=(),
                           device="cpu", amp=False, progress=False, live_plot=False)
    assert len(history["train_loss"]) == 1 and 0 < history.last("train_loss") < 10
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())
