"""dlcourse.models finds each family's public names in the family module's __all__ (no hand-kept
list), imports a family only when one of its names is used, and says what was meant on a typo."""
from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import dlcourse.models as models

# The names the hand-kept list of dlcourse/models/__init__.py exported before the registry:
# every chapter, test and benchmark that imports them must keep working.
FORMER_LIST = ["Perceptron", "MLP", "ManualMLP", "SmallCNN", "LeNet5", "lenet5", "AlexNet", "alexnet_cifar", "VGG",
               "vgg11", "vgg16_bn", "vgg_cifar", "BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet152",
               "resnet_cifar", "resnet_fast", "FrozenScaleBatchNorm2d", "ResidualConvGroup", "WhitenedResNet",
               "WhiteningStem", "resnet_whitened", "GoogLeNet", "Inception", "googlenet_cifar", "DepthwiseSeparable",
               "InvertedResidual", "MobileNetV1", "MobileNetV2", "mobilenet_v1", "mobilenet_v2_cifar", "EfficientNet",
               "MBConv", "SqueezeExcitation", "efficientnet_b0", "efficientnet_b7", "efficientnet_b0_cifar", "RNN",
               "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "RNNClassifier", "RNNForecaster",
               "scaled_dot_product_attention", "MultiheadAttention", "AdditiveAttention", "capture_attention",
               "SinusoidalPositionalEncoding", "LearnedPositionalEncoding", "TransformerEncoderLayer",
               "TransformerDecoderLayer", "TransformerEncoder", "TransformerDecoder", "Transformer",
               "BahdanauSeq2Seq", "Seq2SeqTransformer", "translation_step", "greedy_decode", "beam_search",
               "sequence_accuracy"]


def test_every_former_name_still_resolves_to_its_family():
    for name in FORMER_LIST:
        assert name in models.__all__, name
        obj = getattr(models, name)
        assert obj.__module__.startswith("dlcourse.models."), (name, obj.__module__)


def test_every_module_exports_only_names_that_exist_and_each_resolves_to_its_definer():
    for module_name in models.MODULES:
        module = importlib.import_module(f"dlcourse.models.{module_name}")
        for name in getattr(module, "__all__", []):
            assert hasattr(module, name), f"dlcourse.models.{module_name}.__all__ lists {name!r}, which it lacks"
            if name not in models.MODULES:
                assert getattr(models, name) is getattr(module, name), f"{name}: two different objects"


def test_a_name_defined_in_two_families_is_refused(monkeypatch, tmp_path):
    monkeypatch.setattr(models, "MODULES", ("one", "two"))
    monkeypatch.setattr(models, "_HERE", tmp_path)
    (tmp_path / "one.py").write_text('__all__ = ["Block"]\nclass Block: pass\n')
    (tmp_path / "two.py").write_text('__all__ = ["Block"]\nclass Block: pass\n')
    with pytest.raises(ImportError, match="'Block' is defined in both 'one' and 'two'"):
        models._build_index()
    (tmp_path / "two.py").write_text('from one import Block\n__all__ = ["Block"]\n')    # a re-export is fine
    assert models._build_index() == {"Block": "one"}


def test_a_module_name_means_the_module():
    assert models.googlenet is importlib.import_module("dlcourse.models.googlenet")
    assert callable(models.googlenet.googlenet)


def test_a_typo_names_what_was_meant():
    with pytest.raises(AttributeError, match="did you mean .*ResNet"):
        models.Resnet


def test_one_name_imports_one_family_not_all():
    code = ("import sys; from dlcourse.models import MLP; "
            "print(sorted(m for m in sys.modules if m.startswith('dlcourse.models.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['dlcourse.models.mlp']", out
