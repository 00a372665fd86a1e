"""Chapter 24's exercise checks pass the worked solutions, report None as not attempted, and name
the fix for each usual mistake."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from dlcourse.checks import CheckError
from dlcourse.exercises.chapters import ch24_autoencoders_vae as ex

spec = importlib.util.spec_from_file_location("sol24", Path(__file__).parents[1] / "solutions/chapters/24_autoencoders_vae.py")
sol = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sol)   # runs every check on the worked solutions


def test_none_is_not_attempted(capsys):
    ex.check_reparameterise(lambda *a: None), ex.check_kl_to_prior(lambda *a: None)
    assert capsys.readouterr().out.count("not attempted yet") == 2


@pytest.mark.parametrize("wrong, message", [
    (lambda mu, logvar: torch.normal(mu, torch.exp(0.5 * logvar)), "no gradient"),
    (lambda mu, logvar: torch.distributions.Normal(mu, torch.exp(0.5 * logvar)).sample(), "no gradient"),
    (lambda mu, logvar: mu + 0 * logvar, "every draw equals mu"),
    (lambda mu, logvar: mu + torch.exp(logvar) * torch.randn_like(mu), "square root"),
    (lambda mu, logvar: mu + torch.exp(0.5 * logvar) * torch.rand_like(mu), "centre on mu"),
    (lambda mu, logvar: mu + logvar * torch.randn_like(mu), "spread"),
    (lambda mu, logvar: mu[:1], "shaped like mu"),
])
def test_reparameterise_mistakes_are_named(wrong, message):
    with pytest.raises(CheckError, match=message):
        ex.check_reparameterise(wrong)


@pytest.mark.parametrize("wrong, message", [
    (lambda mu, lv: -0.5 * (mu ** 2 + lv.exp() - lv - 1).sum(-1), "sign is flipped"),
    (lambda mu, lv: (mu ** 2 + lv.exp() - lv - 1).sum(-1), "factor 1/2"),
    (lambda mu, lv: 0.5 * (mu ** 2 + lv.exp() - lv - 1).mean(-1), "mean over the latent"),
    (lambda mu, lv: 0.5 * (mu ** 2 + lv.exp() - lv - 1), r"shape \(6, 4\).*sum over the latent"),
    (lambda mu, lv: 0.5 * (mu ** 2 + (2 * lv).exp() - 2 * lv - 1).sum(-1), "log sigma"),
    (lambda mu, lv: 0.5 * (mu ** 2 + lv.exp() - lv).sum(-1), "KL"),
    (lambda mu, lv: 0.5 * (mu ** 2 + lv.exp() - lv - 1).sum(-1).detach(), "no gradient"),
])
def test_kl_mistakes_are_named(wrong, message):
    with pytest.raises(CheckError, match=message):
        ex.check_kl_to_prior(wrong)
