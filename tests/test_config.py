"""dlcourse.models.config: a family's config (nanoGPT's GPTConfig shape) and the key map that loads
a reference checkpoint by a documented key copy. The key map is proven on real cases: GPT-2's
transposed Conv1D layout loaded into nn.Linear, and a04's student-facing ResNet block (keys
``shortcut.*``) loaded into the family's BasicBlock (``downsample.*``), which then computes the same
outputs and gradients."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from torch import nn

from dlcourse.checks import check_like_torch, randomise_weights
from dlcourse.exercises.assignments.a04_resnet_cifar10 import ReferenceBasicBlock
from dlcourse.models.config import KeyMap, KeyMapError, ModelConfig
from dlcourse.models.resnet import BasicBlock


@dataclass
class TinyGPTConfig(ModelConfig):
    block_size: int = 64
    vocab_size: int = 65
    n_layer: int = 2
    n_head: int = 2
    n_embd: int = 32
    PRETRAINED_FIELDS = {"block_size": "n_positions"}

    def validate(self) -> None:
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be a multiple of n_head ({self.n_head}).")


def test_config_validates_rejects_unknown_fields_and_round_trips(tmp_path):
    with pytest.raises(ValueError, match="multiple of n_head"):
        TinyGPTConfig(n_embd=30, n_head=4)
    with pytest.raises(TypeError, match="'n_layers' \\(did you mean 'n_layer'\\?\\)"):
        TinyGPTConfig.from_dict({"n_layers": 4})
    config = TinyGPTConfig(n_layer=3)
    assert config.replace(n_head=4).n_head == 4 and config.n_head == 2
    with pytest.raises(ValueError, match="multiple of n_head"):
        config.replace(n_head=3)
    config.save(tmp_path / "config.json")
    assert TinyGPTConfig.load(tmp_path / "config.json") == config


def test_config_reads_a_reference_config_under_its_names():
    """GPT-2's config.json names the context length n_positions; fields it lacks keep our default."""
    reference = {"n_positions": 1024, "n_layer": 12, "n_head": 12, "n_embd": 768, "vocab_size": 50257,
                 "activation_function": "gelu_new"}
    config = TinyGPTConfig.from_pretrained_config(reference, n_layer=1)
    assert config == TinyGPTConfig(block_size=1024, vocab_size=50257, n_layer=1, n_head=12, n_embd=768)

    class AsObject:     # a transformers config is an object with attributes
        n_positions, n_embd, n_head = 128, 48, 3
    assert TinyGPTConfig.from_pretrained_config(AsObject()).block_size == 128


class Conv1D(nn.Module):
    """GPT-2's (transformers') Conv1D: y = x @ W + b with W stored (in, out), the transpose of nn.Linear."""

    def __init__(self, n_out: int, n_in: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_in, n_out))
        self.bias = nn.Parameter(torch.randn(n_out))

    def forward(self, x):
        return x @ self.weight + self.bias


class TheirMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.c_fc, self.c_proj = Conv1D(32, 8), Conv1D(8, 32)
        self.register_buffer("masked_bias", torch.tensor(-1e4))        # not a weight: ignored

    def forward(self, x):
        return self.c_proj(torch.tanh(self.c_fc(x)))


class OurMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc, self.proj = nn.Linear(8, 32), nn.Linear(32, 8)

    def forward(self, x):
        return self.proj(torch.tanh(self.fc(x)))


GPT2_LIKE = KeyMap(rename=[(r"^c_fc\.", "fc."), (r"^c_proj\.", "proj.")], transpose=[r"\.weight$"],
                   ignore=[r"masked_bias$"])


def test_keymap_loads_a_transposed_conv1d_checkpoint_into_linear_layers():
    torch.manual_seed(0)
    theirs = TheirMLP()
    ours = GPT2_LIKE.load(OurMLP(), theirs.state_dict())
    check_like_torch("MLP loaded through the key map", ours, theirs, torch.randn(3, 8))


def test_keymap_errors_list_what_does_not_fit():
    state = TheirMLP().state_dict()
    with pytest.raises(KeyMapError, match="other shape \\(a transpose rule\\?\\)"):
        KeyMap(rename=GPT2_LIKE.rename, ignore=GPT2_LIKE.ignore).load(OurMLP(), state)
    with pytest.raises(KeyMapError, match="(?s)missing from the checkpoint.*fc.weight.*not in the model.*c_fc.weight"):
        KeyMap(transpose=GPT2_LIKE.transpose, ignore=GPT2_LIKE.ignore).load(OurMLP(), state)
    with pytest.raises(KeyMapError, match="two checkpoint keys map to 'fc.weight'"):
        KeyMap(rename=[(r"^c_(fc|proj)\.", "fc.")]).convert(state)


A04_TO_FAMILY = KeyMap(rename=[(r"^shortcut\.", "downsample.")])


@pytest.mark.parametrize("in_channels, out_channels, stride", [(16, 16, 1), (16, 32, 2), (8, 16, 1)])
@pytest.mark.parametrize("train", [False, True])
def test_a04s_reference_block_is_the_families_basic_block(in_channels, out_channels, stride, train):
    """a04 keeps the layout students write (``shortcut``, in_channels/out_channels); loaded into
    dlcourse.models.resnet.BasicBlock through a one-rule key map, it computes the same block."""
    theirs = randomise_weights(ReferenceBasicBlock(in_channels, out_channels, stride), seed=stride)
    projection = None
    if stride != 1 or in_channels != out_channels:
        projection = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                                   nn.BatchNorm2d(out_channels))
    ours = A04_TO_FAMILY.load(BasicBlock(in_channels, out_channels, stride, projection), theirs.state_dict())
    ours.train(train), theirs.train(train)
    x = torch.randn(2, in_channels, 8, 8, generator=torch.Generator().manual_seed(1))
    check_like_torch(f"a04 block {in_channels}->{out_channels}/{stride} ({'train' if train else 'eval'})",
                     ours, theirs, x)
