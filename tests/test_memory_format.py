"""fit/evaluate's channels_last option: decided as documented, plumbed to the model and its 4-D inputs,
and the same numbers as the contiguous (NCHW) layout within fp32 / bf16 tolerance."""
from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import dlcourse
from dlcourse import memory_format
from dlcourse.models import resnet_cifar


def _images(n=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return TensorDataset(torch.randn(n, 3, 16, 16, generator=g), torch.randint(0, 10, (n,), generator=g))


def test_auto_is_on_for_conv_nets_on_cuda_and_fast_bf16_cpus_only(monkeypatch):
    conv, dense = resnet_cifar(8), nn.Linear(4, 2)
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    monkeypatch.setattr(memory_format, "cpu_has_fast_bf16", lambda: True)
    assert memory_format.use_channels_last("auto", cpu, conv) and memory_format.use_channels_last("auto", cuda, conv)
    assert not memory_format.use_channels_last("auto", cpu, dense)
    assert not memory_format.use_channels_last("auto", torch.device("mps"), conv)
    monkeypatch.setattr(memory_format, "cpu_has_fast_bf16", lambda: False)
    assert not memory_format.use_channels_last("auto", cpu, conv)
    assert memory_format.use_channels_last(True, cpu, dense) and not memory_format.use_channels_last(False, cuda, conv)
    with pytest.raises(ValueError, match="'auto', True or False"):
        memory_format.use_channels_last("yes", cpu, conv)


def test_only_4d_floating_tensors_change_layout():
    x, y, mask = torch.randn(2, 3, 4, 5), torch.tensor([1, 2]), torch.ones(2, 3, 4, 5, dtype=torch.bool)
    out = memory_format.to_channels_last({"x": x, "y": y, "pair": (x, mask)})
    assert out["x"].is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous(
        memory_format=torch.channels_last)
    assert out["y"] is y and out["pair"][1] is mask and torch.equal(out["pair"][0], x)


@pytest.mark.parametrize("channels_last", [True, False])
def test_fit_passes_the_layout_to_the_model_and_its_inputs(channels_last):
    torch.manual_seed(0)
    model = resnet_cifar(8)
    seen = []
    model.conv1.register_forward_pre_hook(lambda m, args: seen.append(
        args[0].is_contiguous(memory_format=torch.channels_last)))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    dlcourse.fit(model, DataLoader(_images(), 8), opt, epochs=1, val_loader=DataLoader(_images(8, 1), 8),
                 device="cpu", amp=False, channels_last=channels_last, progress=False, live_plot=False)
    assert seen and all(s == channels_last for s in seen), "training and validation batches in the asked layout"
    assert model.conv1.weight.is_contiguous(memory_format=torch.channels_last) == channels_last


@pytest.mark.parametrize("amp, atol", [(False, 1e-5), (torch.bfloat16, 0.1)])
def test_channels_last_gives_the_contiguous_numbers(amp, atol):
    """fp32: the same sums in another order (1e-5); bf16: within bf16's rounding of the logits."""
    torch.manual_seed(1)
    model = resnet_cifar(8).eval()
    loader = DataLoader(_images(32, 2), 16)
    nchw_out, _ = dlcourse.predict(model, loader, "cpu", amp=amp, channels_last=False)
    nhwc_out, _ = dlcourse.predict(model, loader, "cpu", amp=amp, channels_last=True)
    assert model.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    worst = (nchw_out - nhwc_out).abs().max().item()
    print(f"channels-last vs contiguous, amp={amp}: worst |difference| {worst:.2e}")
    torch.testing.assert_close(nhwc_out, nchw_out, atol=atol, rtol=atol)
