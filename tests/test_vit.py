"""The ViT reference (dlcourse.models.vit) == torchvision's VisionTransformer: keys, counts, values, gradients;
the two patch embeddings agree; attention rollout gives the known answer on hand-made attention."""
from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

import dlcourse
from dlcourse.checks import check_close, check_like_torch
from dlcourse.models import transformer, vit
from dlcourse.profiling import count_params

SMALL = dict(image_size=32, patch_size=4, num_layers=2, num_heads=2, hidden_dim=64, mlp_dim=128, num_classes=10)
PAPER = {"vit_b_16": 86_567_656, "vit_b_32": 88_224_232, "vit_l_16": 304_326_632}   # torchvision's docs


@pytest.mark.parametrize("name", ["vit_b_16", "vit_b_32", "vit_l_16", "vit_l_32", "vit_h_14"])
def test_builders_have_torchvisions_keys_shapes_and_counts_and_load_both_ways(name):
    with torch.device("meta"):        # shapes only: ViT-H's 632M weights would take a minute to initialise
        ours, theirs = getattr(vit, name)(), getattr(torchvision.models, name)(weights=None)
    mine, tv = ours.state_dict(), theirs.state_dict()
    assert list(mine) == list(tv)
    assert {k: tuple(v.shape) for k, v in mine.items()} == {k: tuple(v.shape) for k, v in tv.items()}
    assert count_params(ours) == count_params(theirs) == PAPER.get(name, count_params(theirs))
    ours.load_state_dict(tv, strict=True)
    theirs.load_state_dict(mine, strict=True)


def _random_pair(seed=0, **config):
    torch.manual_seed(seed)
    theirs = torchvision.models.VisionTransformer(**SMALL)
    dlcourse.checks.randomise_weights(theirs, seed)    # the default head and class token are zero: they hide a lot
    ours = vit.ViT(vit.ViTConfig(**SMALL, **config))
    ours.load_state_dict(theirs.state_dict(), strict=True)
    return ours, theirs


@pytest.mark.parametrize("patch_embedding", ["conv", "linear"])
def test_outputs_and_input_gradients_equal_torchvisions(patch_embedding):
    ours, theirs = _random_pair(patch_embedding=patch_embedding)
    check_like_torch(f"ViT ({patch_embedding} patches) vs torchvision", ours, theirs,
                     torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(1)))


def _of_parameters(model):
    """model as a function of (images, *its parameters): check_like_torch then compares every weight's gradient."""
    names = [name for name, _ in model.named_parameters()]
    return lambda x, *params: torch.func.functional_call(model, dict(zip(names, params)), (x,))


def test_parameter_gradients_equal_torchvisions():
    ours, theirs = _random_pair(seed=2)
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    params = [p.detach().clone() for p in theirs.parameters()]
    check_like_torch("ViT vs torchvision, every parameter's gradient", _of_parameters(ours), _of_parameters(theirs),
                     x, *params)


def test_dropout_in_training_mode_follows_torchvisions_random_draws():
    torch.manual_seed(0)
    theirs = torchvision.models.VisionTransformer(**SMALL, dropout=0.1, attention_dropout=0.1)
    ours = vit.ViT(vit.ViTConfig(**SMALL, dropout=0.1, attention_dropout=0.1))
    ours.load_state_dict(theirs.state_dict(), strict=True)
    with torch.no_grad():
        theirs.heads.head.weight.normal_()
        ours.heads.head.weight.copy_(theirs.heads.head.weight)
    x = torch.randn(2, 3, 32, 32)
    torch.manual_seed(5)
    a = theirs.train()(x)
    torch.manual_seed(5)
    b = ours.train()(x)
    check_close("ViT with dropout, train mode", b, a, atol=1e-5, rtol=1e-4)


def test_small_input_and_the_cifar_net():
    model = vit.vit_b_16(num_classes=10, small_input=True)
    assert (model.image_size, model.patch_size, model.seq_length) == (32, 4, 65)
    net = vit.vit_cifar()
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    with pytest.raises(ValueError, match="image_size"):
        net(torch.randn(1, 3, 64, 64))
    with pytest.raises(ValueError, match="multiple of patch_size"):
        vit.ViTConfig(image_size=30, patch_size=4)
    with pytest.raises(ValueError, match="small_input"):
        vit.vit_h_14(small_input=True)


def test_config_round_trips_and_reads_a_hugging_face_config(tmp_path):
    config = vit.ViTConfig(**SMALL)
    config.save(tmp_path / "config.json")
    assert vit.ViTConfig.load(tmp_path / "config.json") == config
    hf = {"hidden_size": 192, "num_hidden_layers": 12, "num_attention_heads": 3, "intermediate_size": 768,
          "image_size": 224, "patch_size": 16, "num_channels": 3, "layer_norm_eps": 1e-12}
    read = vit.ViTConfig.from_pretrained_config(hf, num_classes=10)
    assert (read.hidden_dim, read.num_heads, read.mlp_dim, read.layer_norm_eps) == (192, 3, 768, 1e-12)


def test_patchify_times_the_conv_weight_is_the_strided_convolution():
    conv = nn.Conv2d(3, 8, kernel_size=4, stride=4)
    x = torch.randn(2, 3, 12, 16)
    patches = vit.patchify(x, 4)                                          # (2, 12, 48)
    assert patches.shape == (2, 3 * 4, 48)
    check_like_torch("patchify @ W^T + b vs the stride-4 conv",
                     lambda x: vit.patchify(x, 4) @ conv.weight.flatten(1).T + conv.bias,
                     lambda x: conv(x).flatten(2).transpose(1, 2), x)
    # patch (row 1, col 2) of a 3 x 4 grid is token 1 * 4 + 2, pixels [4:8, 8:12], channel first
    assert torch.equal(patches[0, 6], x[0, :, 4:8, 8:12].reshape(-1))
    with pytest.raises(ValueError, match="multiples of 4"):
        vit.patchify(torch.randn(1, 3, 10, 12), 4)


def test_encoder_block_is_the_courses_pre_ln_encoder_layer_under_a_key_map():
    torch.manual_seed(4)
    layer = transformer.TransformerEncoderLayer(64, 4, 128, dropout=0.0, activation="gelu", layer_norm_eps=1e-6,
                                                batch_first=True, norm_first=True)
    block = vit.EncoderBlock(4, 64, 128, 0.0, 0.0)
    dlcourse.checks.randomise_weights(layer)
    vit.ENCODER_LAYER_KEYS.load(block, layer.state_dict())
    check_like_torch("ViT EncoderBlock vs TransformerEncoderLayer(norm_first=True, gelu)", block, layer,
                     torch.randn(2, 9, 64))


def test_rollout_of_uniform_attention_has_the_closed_form():
    # Every head attends uniformly: A = U = 11^T / n, and (I/2 + U/2)^k = I / 2^k + (1 - 1/2^k) U.
    n, k = 5, 3
    uniform = torch.full((1, 2, n, n), 1 / n)
    rollout = vit.attention_rollout([uniform] * k)
    expected = torch.eye(n) / 2 ** k + (1 - 1 / 2 ** k) / n
    check_close("rollout of uniform attention", rollout[0], expected, atol=1e-6, rtol=0)


def test_rollout_follows_a_path_through_the_layers():
    # Layer 1: the class token (0) looks at patch 3; every patch at itself. Layer 2: the same.
    # One layer: 0.5 e_0 + 0.5 e_3. Two: 0.5 (0.5 e_0 + 0.5 e_3) + 0.5 e_3 = 0.25 e_0 + 0.75 e_3.
    a = torch.eye(5)
    a[0] = torch.tensor([0.0, 0, 0, 1, 0])
    layers = [a.view(1, 1, 5, 5)] * 2
    check_close("rollout, class row", vit.attention_rollout(layers)[0, 0], torch.tensor([0.25, 0, 0, 0.75, 0]),
                atol=1e-7, rtol=0)
    # The order matters. b: patch 3 reads patch 1 (row 3 = e_1). b then a: patch 3 takes in patch 1 first,
    # then the class token reads token 3: 0.5 e_0 + 0.5 (0.5 e_1 + 0.5 e_3), patch 1 reaches the class token.
    # a then b: the class token read token 3 before it held patch 1: 0.5 e_0 + 0.5 e_3, patch 1 does not.
    b = torch.eye(5)
    b[3] = torch.tensor([0.0, 1, 0, 0, 0])
    got = vit.attention_rollout([b.view(1, 1, 5, 5), a.view(1, 1, 5, 5)])[0, 0]
    check_close("rollout, a path of two hops", got, torch.tensor([0.5, 0.25, 0, 0.25, 0]), atol=1e-7, rtol=0)
    got = vit.attention_rollout([a.view(1, 1, 5, 5), b.view(1, 1, 5, 5)])[0, 0]
    check_close("rollout, the hops in the other order", got, torch.tensor([0.5, 0, 0, 0.5, 0]), atol=1e-7, rtol=0)


def test_rollout_maps_of_a_model_with_uniform_attention_are_flat():
    ours, _ = _random_pair()
    with torch.no_grad():   # zero query and key weights: every score equal, every attention row uniform
        for block in ours.encoder.layers:
            block.self_attention.in_proj_weight[:2 * 64].zero_()
            block.self_attention.in_proj_bias[:2 * 64].zero_()
    maps = vit.rollout_maps(ours, torch.randn(2, 3, 32, 32))
    assert maps.shape == (2, 8, 8) and ours.training
    check_close("rollout map of uniform attention", maps, torch.full((2, 8, 8), 1 / 64), atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="head_fusion"):
        vit.attention_rollout([torch.ones(1, 1, 2, 2)], head_fusion="min")


def test_the_cifar_vit_is_resnet_32_sized_and_decays_only_its_matrices():
    from dlcourse.models import resnet_cifar
    net = vit.vit_cifar()
    assert count_params(net) == 460_906 and count_params(resnet_cifar(32)) == 464_154   # the docstring's claim
    decay, rest = net.param_groups(0.05)
    named = {id(p): n for n, p in net.named_parameters()}
    assert decay["weight_decay"] == 0.05 and rest["weight_decay"] == 0.0
    assert all(p.dim() >= 2 for p in decay["params"])
    assert "encoder.pos_embedding" in {named[id(p)] for p in rest["params"]}
    assert len(decay["params"]) + len(rest["params"]) == len(list(net.parameters()))
