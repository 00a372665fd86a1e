"""The diffusion noise predictor: its timestep embedding equals diffusers' get_timestep_embedding, its
output has the input's shape, and the timestep and the class (with a "no class" row) both steer it."""
from __future__ import annotations

import pytest
import torch
from diffusers.models.embeddings import get_timestep_embedding

from dlcourse.checks import check_close
from dlcourse.models.ddpm_unet import NoisePredictor, timestep_embedding


@pytest.mark.parametrize("dim", [32, 128])
def test_timestep_embedding_equals_diffusers(dim):
    t = torch.tensor([0, 1, 17, 500, 999])
    check_close(f"sinusoidal embedding, {dim} channels", timestep_embedding(t, dim),
                get_timestep_embedding(t, dim, flip_sin_to_cos=True, downscale_freq_shift=0))


def test_noise_predictor_shapes_and_conditioning():
    torch.manual_seed(0)
    model = NoisePredictor(widths=(8, 16, 16), num_classes=10, emb_dim=32)
    x = torch.randn(3, 1, 28, 28)
    t, y = torch.tensor([10, 10, 10]), torch.tensor([1, 2, 3])
    out = model(x, t, y)
    assert out.shape == x.shape and model.null_label == 10
    assert not torch.allclose(out, model(x, t + 500, y))                     # the step steers it
    assert not torch.allclose(out, model(x, t, y + 1))                       # so does the class
    torch.testing.assert_close(model(x, t), model(x, t, torch.full((3,), 10)))  # no labels = the "no class" row
    assert NoisePredictor(widths=(8, 16, 16), emb_dim=32)(x, torch.tensor(5)).shape == x.shape
    with pytest.raises(ValueError, match="28, 28"):
        model(torch.randn(1, 1, 32, 32), t[:1])
    with pytest.raises(ValueError, match="three widths"):
        NoisePredictor(widths=(8, 16))
