"""The latent walk of chapter 24: the line between two codes decoded end to end, and a slider along it."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

from dlcourse.models.vae import VAE  # noqa: E402
from dlcourse.widgets import interpolate, latent_explorer  # noqa: E402

torch.manual_seed(0)
VAE_ = VAE(hidden=(32,), latent=3).eval()
DECODE = lambda z: VAE_.decode(z).sigmoid()   # noqa: E731
Z_A, Z_B = torch.tensor([1.0, -2.0, 0.5]), torch.tensor([-1.0, 0.0, 3.0])


def test_interpolation_decodes_the_straight_line_between_the_codes():
    frames = interpolate(DECODE, Z_A, Z_B, steps=5)
    assert frames.shape == (5, 28, 28)
    with torch.no_grad():
        for k, t in enumerate(torch.linspace(0, 1, 5)):
            torch.testing.assert_close(frames[k], DECODE(((1 - t) * Z_A + t * Z_B)[None]).reshape(28, 28))
    with pytest.raises(ValueError, match="same model"):
        interpolate(DECODE, Z_A, torch.zeros(4))


def test_explorer_shows_the_frame_the_slider_names():
    box = latent_explorer(DECODE, Z_A, Z_B, steps=21)
    assert box.slider.value == 10 and bytes(box.image.value).startswith(b"\x89PNG")
    torch.testing.assert_close(torch.from_numpy(box.shown), box.frames[10])
    first = bytes(box.image.value)
    box.slider.value = 0
    torch.testing.assert_close(torch.from_numpy(box.shown), box.frames[0])
    assert bytes(box.image.value) != first
