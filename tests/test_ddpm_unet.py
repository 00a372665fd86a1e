"""The diffusion noise predictor: its timestep embedding equals diffusers' get_timestep_embedding, its
output has the input's shape, and the timestep and the class (with a "no class" row) both steer it."""
from __future__ import annotations

import pytest
import torch
from diffusers.models.embeddings import get_timestep_embedding

from dlcourse.checks import check_close
from dlcourse.models.ddpm_unet import NoisePredictor, SelfAttention2d, timestep_embedding


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


def test_self_attention_equals_torch_multihead_attention():
    torch.manual_seed(0)
    ours = SelfAttention2d(16, heads=4)
    theirs = torch.nn.MultiheadAttention(16, 4, batch_first=True)
    with torch.no_grad():
        theirs.in_proj_weight.copy_(ours.qkv.weight[:, :, 0, 0]), theirs.in_proj_bias.copy_(ours.qkv.bias)
        theirs.out_proj.weight.copy_(ours.proj.weight[:, :, 0, 0]), theirs.out_proj.bias.copy_(ours.proj.bias)
    x = torch.randn(2, 16, 7, 7, requires_grad=True)
    tokens = ours.norm(x).flatten(2).transpose(1, 2)                           # (N, 49, C)
    attended, _ = theirs(tokens, tokens, tokens, need_weights=False)
    reference = x + attended.transpose(1, 2).reshape(x.shape)
    out = ours(x)
    check_close("self-attention over a 7x7 map == nn.MultiheadAttention", out, reference)
    (g_ours,) = torch.autograd.grad(out.square().sum(), x)
    (g_ref,) = torch.autograd.grad(reference.square().sum(), x)
    check_close("its gradient", g_ours, g_ref)
