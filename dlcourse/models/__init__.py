"""Reference models, one module per architecture (see COURSE.md's chapter map)."""
from dlcourse.models.attention import MultiheadAttention, scaled_dot_product_attention
from dlcourse.models.mlp import MLP, ManualMLP
from dlcourse.models.perceptron import Perceptron
from dlcourse.models.small_cnn import SmallCNN
from dlcourse.models.resnet import (BasicBlock, Bottleneck, ResNet, resnet18, resnet34, resnet50, resnet101,
                                    resnet152, resnet_cifar, resnet_fast)
from dlcourse.models.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from dlcourse.models.transformer import (LearnedPositionalEncoding, SinusoidalPositionalEncoding, Transformer,
                                         TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
                                         TransformerEncoderLayer)
# The builders googlenet() and build_efficientnet() stay in their modules: a package attribute
# named googlenet would shadow the submodule dlcourse.models.googlenet.
from dlcourse.models.googlenet import GoogLeNet, Inception, googlenet_cifar
from dlcourse.models.mobilenet import (DepthwiseSeparable, InvertedResidual, MobileNetV1, MobileNetV2, mobilenet_v1,
                                       mobilenet_v1_cifar, mobilenet_v2, mobilenet_v2_cifar)
from dlcourse.models.efficientnet import (EfficientNet, MBConv, SqueezeExcitation, efficientnet_b0,
                                          efficientnet_b0_cifar, efficientnet_b1, efficientnet_b2, efficientnet_b3,
                                          efficientnet_b4, efficientnet_b5, efficientnet_b6, efficientnet_b7)
from dlcourse.models.attention import AdditiveAttention, capture_attention
from dlcourse.models.seq2seq import BahdanauSeq2Seq, Seq2SeqTransformer, translation_step
from dlcourse.models.decoding import beam_search, greedy_decode, sequence_accuracy

__all__ = ["Perceptron", "MLP", "ManualMLP", "SmallCNN", "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell",
           "scaled_dot_product_attention", "MultiheadAttention",
           "SinusoidalPositionalEncoding", "LearnedPositionalEncoding", "TransformerEncoderLayer",
           "TransformerDecoderLayer", "TransformerEncoder", "TransformerDecoder", "Transformer",
           "GoogLeNet", "Inception", "googlenet_cifar", "DepthwiseSeparable", "InvertedResidual",
           "MobileNetV1", "MobileNetV2", "mobilenet_v1", "mobilenet_v1_cifar", "mobilenet_v2", "mobilenet_v2_cifar",
           "EfficientNet", "MBConv", "SqueezeExcitation", "efficientnet_b0", "efficientnet_b0_cifar",
           "efficientnet_b1", "efficientnet_b2", "efficientnet_b3", "efficientnet_b4", "efficientnet_b5",
           "efficientnet_b6", "efficientnet_b7",
           "AdditiveAttention", "capture_attention", "BahdanauSeq2Seq", "Seq2SeqTransformer", "translation_step",
           "greedy_decode", "beam_search", "sequence_accuracy",
           "BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
           "resnet_cifar", "resnet_fast"]
from dlcourse.models.resnet import (FrozenScaleBatchNorm2d, ResidualConvGroup, WhitenedResNet,  # noqa: E402
                                    WhiteningStem, resnet_whitened)
__all__ += ["FrozenScaleBatchNorm2d", "ResidualConvGroup", "WhitenedResNet", "WhiteningStem", "resnet_whitened"]
