"""Chapter 25's GAN pieces: DCGAN == PyTorch's examples/dcgan key for key (outputs, parameter counts),
the losses == binary cross-entropy (and the saturating one's vanishing gradient), AdaIN ==
F.instance_norm with the style's scale and shift, the mapping network's paper count, the cycle loss,
and a GAN step through dlcourse.fit."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

import dlcourse
from dlcourse.checks import check_close
from dlcourse.data import mnist
from dlcourse.models.cyclegan import Translator, cycle_consistency_loss, cycle_gan_step
from dlcourse.models.gan import (Discriminator, Generator, dcgan_init, discriminator_loss, gan_step, generator_loss,
                                 to_unit)
from dlcourse.models.stylegan import AdaIN, MappingNetwork

nz, ngf, ndf, nc = 100, 64, 64, 3


class ExamplesGenerator(nn.Module):
    """pytorch/examples dcgan/main.py's Generator, verbatim (ngpu left out)."""

    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh())

    def forward(self, input):
        return self.main(input)


class ExamplesDiscriminator(nn.Module):
    """pytorch/examples dcgan/main.py's Discriminator, verbatim (ngpu left out)."""

    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid())

    def forward(self, input):
        return self.main(input).view(-1, 1).squeeze(1)


def _count(module):
    return sum(p.numel() for p in module.parameters())


def test_dcgan_equals_examples_dcgan_both_ways():
    torch.manual_seed(0)
    theirs_g, theirs_d = ExamplesGenerator().apply(dcgan_init), ExamplesDiscriminator().apply(dcgan_init)
    ours_g, ours_d = Generator(nz, ngf, nc, 64), Discriminator(nc, ndf, 64)
    assert _count(ours_g) == _count(theirs_g) == 3_576_704 and _count(ours_d) == _count(theirs_d) == 2_765_568
    ours_g.load_state_dict(theirs_g.state_dict(), strict=True)
    ours_d.load_state_dict(theirs_d.state_dict(), strict=True)
    for module in (ours_g, ours_d, theirs_g, theirs_d):
        module.double()
    z = torch.randn(4, nz, dtype=torch.float64)
    fake = ours_g(z)
    check_close("G(z)", fake, theirs_g(z[:, :, None, None]))
    check_close("sigmoid(our D logit) == examples' D", torch.sigmoid(ours_d(fake)), theirs_d(fake))
    ExamplesGenerator().load_state_dict(Generator(nz, ngf, nc, 64).state_dict(), strict=True)   # and back
    ExamplesDiscriminator().load_state_dict(Discriminator(nc, ndf, 64).state_dict(), strict=True)


def test_mnist_sizes_conditioning_and_messages():
    g, d = Generator(16, 8, 1, 28, num_classes=10), Discriminator(1, 8, 28, num_classes=10)
    z, labels = torch.randn(5, 16), torch.arange(5)
    images = g(z, labels)
    assert images.shape == (5, 1, 28, 28) and images.abs().max() <= 1 and d(images, labels).shape == (5,)
    g.eval()
    assert not torch.allclose(g(z, labels), g(z, labels + 1))           # the class steers the image
    with pytest.raises(ValueError, match="one class label per example"):
        g(z)
    with pytest.raises(ValueError, match="unconditional"):
        Generator(16, 8, 1, 28)(z, labels)
    with pytest.raises(ValueError, match="start"):
        Generator(16, 8, 1, 100)
    with pytest.raises(ValueError, match=r"\(N, nz=16\)"):
        g(torch.randn(5, 15), labels)


def test_losses_are_binary_cross_entropy_and_the_saturating_one_vanishes():
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(7, generator=g, dtype=torch.float64), torch.randn(7, generator=g, dtype=torch.float64)
    bce = F.binary_cross_entropy_with_logits
    check_close("D's loss", discriminator_loss(real, fake), bce(real, torch.ones(7, dtype=torch.float64))
                + bce(fake, torch.zeros(7, dtype=torch.float64)))
    check_close("G's non-saturating loss", generator_loss(fake), bce(fake, torch.ones(7, dtype=torch.float64)))
    check_close("G's saturating loss, log(1 - D)", generator_loss(fake, saturating=True),
                torch.log(1 - torch.sigmoid(fake)).mean())
    rejected = torch.full((1,), -8.0, dtype=torch.float64, requires_grad=True)    # D is sure it is fake
    (saturating,) = torch.autograd.grad(generator_loss(rejected, saturating=True), rejected)
    (non_saturating,) = torch.autograd.grad(generator_loss(rejected), rejected)
    assert abs(float(saturating)) < 1e-3 < 0.99 < abs(float(non_saturating))


def test_adain_equals_instance_norm_with_the_styles_scale_and_shift():
    torch.manual_seed(0)
    adain = AdaIN(6, 10).double()
    x = torch.randn(3, 6, 5, 7, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 10, dtype=torch.float64, requires_grad=True)

    def reference(x, w):
        scale, shift = adain.style(w).chunk(2, 1)
        return F.instance_norm(x, eps=adain.eps) * scale[:, :, None, None] + shift[:, :, None, None]

    ours, theirs = adain(x, w), reference(x, w)
    check_close("AdaIN(x, w)", ours, theirs)
    upstream = torch.randn_like(ours)
    for name, a, b in zip(("x", "w"), torch.autograd.grad(ours, (x, w), upstream),
                          torch.autograd.grad(theirs, (x, w), upstream)):
        check_close(f"d AdaIN / d {name}", a, b)


def test_mapping_network_has_the_papers_size():
    assert _count(MappingNetwork()) == 8 * (512 * 512 + 512) == 2_101_248
    w = MappingNetwork(16, 32, layers=2)(torch.randn(4, 16))
    assert w.shape == (4, 32)
    torch.manual_seed(1)
    mapping = MappingNetwork(16, 32, layers=2)
    torch.testing.assert_close(mapping(torch.full((1, 16), 3.0)), mapping(torch.ones(1, 16)))   # z is normalised first


def test_cycle_consistency_loss():
    torch.manual_seed(0)
    a, b = torch.rand(2, 1, 28, 28) * 2 - 1, torch.rand(2, 1, 28, 28) * 2 - 1
    identity = nn.Identity()
    assert float(cycle_consistency_loss(a, b, identity, identity)) == 0.0
    g, f = Translator(width=8, blocks=1), Translator(width=8, blocks=1)
    expected = (f(g(a)) - a).abs().mean() + (g(f(b)) - b).abs().mean()
    check_close("L_cyc", cycle_consistency_loss(a, b, g, f), expected)
    assert g(a).shape == a.shape
    with pytest.raises(ValueError, match="even"):
        g(torch.rand(1, 1, 27, 27))


def test_gan_step_trains_both_players_through_fit():
    dlcourse.setup(seed=0, threads=1, quiet=True)
    loader = DataLoader(mnist("train", normalise=False, limit=128), 32)
    model = nn.ModuleDict({"g": Generator(16, 8, 1, 28, 10), "d": Discriminator(1, 8, 28, 10)}).apply(dcgan_init)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimizers = {k: torch.optim.Adam(model[k].parameters(), 2e-4, betas=(0.5, 0.999)) for k in "gd"}
    history = dlcourse.fit(model, loader, optimizers, epochs=1, step=gan_step(optimizers, conditional=True),
                           metrics=(), progress=False, live_plot=False, amp=False)
    assert {"train_loss", "train_d_loss", "train_d_real", "train_d_fake"} <= set(history)
    for name in ("g.main.0.weight", "d.main.0.weight"):
        assert not torch.equal(before[name], model.state_dict()[name]), name
    with torch.no_grad():
        assert 0 <= float(to_unit(model["g"](torch.randn(2, 16), torch.tensor([3, 4]))).min())


def test_cycle_gan_step_trains_translators_and_discriminators_through_fit():
    dlcourse.setup(seed=0, threads=1, quiet=True)
    images = mnist("train", normalise=False, limit=64).tensors[0] * 2 - 1
    loader = DataLoader(torch.utils.data.TensorDataset(images[:32], images[32:]), 16)
    model = nn.ModuleDict({"to_b": Translator(width=8, blocks=1), "to_a": Translator(width=8, blocks=1),
                           "d_b": Discriminator(1, 8, 28), "d_a": Discriminator(1, 8, 28)})
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimizers = {"g": torch.optim.Adam([*model["to_b"].parameters(), *model["to_a"].parameters()], 2e-4),
                  "d": torch.optim.Adam([*model["d_b"].parameters(), *model["d_a"].parameters()], 2e-4)}
    history = dlcourse.fit(model, loader, optimizers, epochs=1, step=cycle_gan_step(optimizers), metrics=(),
                           progress=False, live_plot=False, amp=False, channels_last=False)
    assert {"train_loss", "train_cycle", "train_d_loss"} <= set(history)
    for name in ("to_b.net.0.0.weight", "to_a.net.0.0.weight", "d_b.main.0.weight", "d_a.main.0.weight"):
        assert not torch.equal(before[name], model.state_dict()[name]), name
