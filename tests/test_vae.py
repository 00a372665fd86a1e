"""The course's VAE equals PyTorch's examples/vae with the same weights and noise (the loss and every
gradient), its KL term equals torch.distributions', and the reparameterised draw has the right
mean, spread and gradients."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Normal, kl_divergence
from torch.utils.data import DataLoader

import dlcourse
from dlcourse.checks import check_close
from dlcourse.data import mnist
from dlcourse.models.vae import (EXAMPLES_VAE_KEYS, VAE, Autoencoder, gaussian_kl, negative_elbo,
                                 reconstruction_nll, reparameterise, vae_step)


class ExamplesVAE(nn.Module):
    """pytorch/examples vae/main.py's model, verbatim (the reference the chapter's anchor comes from)."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def examples_loss_function(recon_x, x, mu, logvar):
    """examples/vae's loss: BCE summed over pixels and the batch, plus the closed-form KL."""
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def test_vae_equals_examples_vae_loss_and_gradients():
    torch.manual_seed(0)
    theirs = ExamplesVAE().double()
    ours = VAE().double()
    EXAMPLES_VAE_KEYS.load(ours, theirs.state_dict())
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters()) == 652_824
    x = mnist("test", normalise=False, limit=16).tensors[0].double()
    torch.manual_seed(1)
    recon, mu_theirs, logvar_theirs = theirs(x)
    their_loss = examples_loss_function(recon, x, mu_theirs, logvar_theirs)
    torch.manual_seed(1)                          # the same noise: both draw eps from the global stream
    logits, mu, logvar = ours(x)
    ours_loss = negative_elbo(logits, x, mu, logvar)["loss"] * len(x)   # ours is the mean per image
    check_close("-ELBO (summed over the batch)", ours_loss, their_loss)
    their_loss.backward(), ours_loss.backward()
    mapped = dict(zip(["fc1.weight", "fc1.bias", "fc21.weight", "fc21.bias", "fc22.weight", "fc22.bias",
                       "fc3.weight", "fc3.bias", "fc4.weight", "fc4.bias"],
                      ["encoder.net.0.weight", "encoder.net.0.bias", "mu.weight", "mu.bias", "logvar.weight",
                       "logvar.bias", "decoder.net.0.weight", "decoder.net.0.bias", "decoder.net.2.weight",
                       "decoder.net.2.bias"]))
    their_params, our_params = dict(theirs.named_parameters()), dict(ours.named_parameters())
    for theirs_name, ours_name in mapped.items():
        check_close(f"grad {ours_name}", our_params[ours_name].grad, their_params[theirs_name].grad)


def test_kl_equals_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(8, 5, generator=g, dtype=torch.float64), torch.randn(8, 5, generator=g, dtype=torch.float64)
    expected = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(-1)
    check_close("KL(q || N(0, I)) per row", gaussian_kl(mu, logvar), expected)


def test_reconstruction_equals_bernoulli_log_prob():
    g = torch.Generator().manual_seed(0)
    logits, x = torch.randn(4, 784, generator=g, dtype=torch.float64), torch.rand(4, 784, generator=g, dtype=torch.float64)
    binary = (x > 0.5).double()
    expected = -torch.distributions.Bernoulli(logits=logits).log_prob(binary).sum(-1)
    check_close("-log p(x|z), binarised pixels", reconstruction_nll(logits, binary), expected)
    with pytest.raises(ValueError, match=r"normalise=False"):
        reconstruction_nll(logits, x * 3 - 1)
    with pytest.raises(ValueError, match="unknown likelihood"):
        reconstruction_nll(logits, x, likelihood="gaussian")


def test_reparameterised_draw_has_the_right_law_and_gradients():
    mu = torch.tensor([[1.5, -2.0]], dtype=torch.float64).expand(200_000, 2).clone().requires_grad_()
    logvar = torch.tensor([[0.0, 2 * torch.log(torch.tensor(3.0)).item()]], dtype=torch.float64)
    logvar = logvar.expand(200_000, 2).clone().requires_grad_()
    z = reparameterise(mu, logvar, torch.Generator().manual_seed(0))
    torch.testing.assert_close(z.mean(0), torch.tensor([1.5, -2.0], dtype=torch.float64), atol=0.02, rtol=0)
    torch.testing.assert_close(z.std(0), torch.tensor([1.0, 3.0], dtype=torch.float64), atol=0.02, rtol=0)
    z.sum().backward()                             # dz/dmu = 1; dz/dlogvar = eps * sigma / 2
    assert torch.equal(mu.grad, torch.ones_like(mu))
    eps = (z - mu) / (0.5 * logvar).exp()
    check_close("dz/dlogvar", logvar.grad, (eps * 0.5 * (0.5 * logvar).exp()).detach())


def test_shapes_and_messages():
    x = torch.rand(3, 1, 28, 28)
    assert Autoencoder(latent=2)(x).shape == (3, 784)
    logits, mu, logvar = VAE(hidden=(64, 32), latent=4)(x)
    assert logits.shape == (3, 784) and mu.shape == logvar.shape == (3, 4)
    assert VAE(latent=3).sample(5).shape == (5, 784)
    with pytest.raises(ValueError, match=r"expected 784 input features, got 28"):
        VAE()(torch.rand(28, 28))


def test_vae_learns_through_fit():
    """From 784 ln 2 = 543 nats (a decoder that says 0.5 everywhere) down, on real digits."""
    dlcourse.setup(seed=0, threads=1, quiet=True)
    train = DataLoader(mnist("train", flatten=True, normalise=False, limit=2000), 100, shuffle=True,
                       generator=torch.Generator().manual_seed(0))
    test = DataLoader(mnist("test", flatten=True, normalise=False, limit=500), 500)
    model = VAE(hidden=(200,), latent=8)
    before = dlcourse.evaluate(model, test, step=vae_step, amp=False)["loss"]
    history = dlcourse.fit(model, train, torch.optim.Adam(model.parameters(), 1e-3), epochs=2, step=vae_step,
                           val_loader=test, metrics=(), progress=False, live_plot=False, amp=False)
    assert 500 < before < 600, before
    assert history.last("val_loss") < 250, history["val_loss"]
    assert set(history) >= {"train_reconstruction", "train_kl", "val_loss"}
