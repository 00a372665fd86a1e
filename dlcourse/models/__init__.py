"""Reference models, one module per architecture (the README's chapter map says which chapter builds which).

The builders googlenet(), alexnet() and build_efficientnet() stay in their modules: a package
attribute named googlenet or alexnet would shadow the submodule of that name.
"""
from dlcourse.models.airbench import (FrozenScaleBatchNorm2d, ResidualConvGroup, WhitenedResNet, WhiteningStem,
                                     resnet_whitened)
from dlcourse.models.alexnet import AlexNet, alexnet_cifar
from dlcourse.models.attention import (AdditiveAttention, MultiheadAttention, capture_attention,
                                       scaled_dot_product_attention)
from dlcourse.models.decoding import beam_search, greedy_decode, sequence_accuracy
from dlcourse.models.efficientnet import (EfficientNet, MBConv, SqueezeExcitation, efficientnet_b0,
                                          efficientnet_b0_cifar, efficientnet_b1, efficientnet_b2, efficientnet_b3,
                                          efficientnet_b4, efficientnet_b5, efficientnet_b6, efficientnet_b7)
from dlcourse.models.googlenet import GoogLeNet, Inception, googlenet_cifar
from dlcourse.models.lenet import LeNet5, lenet5
from dlcourse.models.mlp import MLP, ManualMLP
from dlcourse.models.mobilenet import (DepthwiseSeparable, InvertedResidual, MobileNetV1, MobileNetV2, mobilenet_v1,
                                       mobilenet_v1_cifar, mobilenet_v2, mobilenet_v2_cifar)
from dlcourse.models.perceptron import Perceptron
from dlcourse.models.resnet import (BasicBlock, Bottleneck, ResNet, resnet18, resnet34, resnet50, resnet101,
                                    resnet152, resnet_cifar, resnet_fast)
from dlcourse.models.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from dlcourse.models.rnn_tasks import RNNClassifier, RNNForecaster
from dlcourse.models.seq2seq import BahdanauSeq2Seq, Seq2SeqTransformer, translation_step
from dlcourse.models.small_cnn import SmallCNN
from dlcourse.models.transformer import (LearnedPositionalEncoding, SinusoidalPositionalEncoding, Transformer,
                                         TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
                                         TransformerEncoderLayer)
from dlcourse.models.vgg import (VGG, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn,
                                 vgg_cifar)

__all__ = [
    # Part 1
    "Perceptron", "MLP", "ManualMLP", "SmallCNN",
    # Part 3: convolutional networks
    "LeNet5", "lenet5", "AlexNet", "alexnet_cifar", "VGG", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16",
    "vgg16_bn", "vgg19", "vgg19_bn", "vgg_cifar",
    "BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "resnet_cifar", "resnet_fast", "FrozenScaleBatchNorm2d", "ResidualConvGroup", "WhitenedResNet", "WhiteningStem",
    "resnet_whitened",
    "GoogLeNet", "Inception", "googlenet_cifar", "DepthwiseSeparable", "InvertedResidual", "MobileNetV1",
    "MobileNetV2", "mobilenet_v1", "mobilenet_v1_cifar", "mobilenet_v2", "mobilenet_v2_cifar",
    "EfficientNet", "MBConv", "SqueezeExcitation", "efficientnet_b0", "efficientnet_b0_cifar", "efficientnet_b1",
    "efficientnet_b2", "efficientnet_b3", "efficientnet_b4", "efficientnet_b5", "efficientnet_b6", "efficientnet_b7",
    # Part 4: sequence models
    "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "RNNClassifier", "RNNForecaster",
    "scaled_dot_product_attention", "MultiheadAttention", "AdditiveAttention", "capture_attention",
    "SinusoidalPositionalEncoding", "LearnedPositionalEncoding", "TransformerEncoderLayer",
    "TransformerDecoderLayer", "TransformerEncoder", "TransformerDecoder", "Transformer",
    "BahdanauSeq2Seq", "Seq2SeqTransformer", "translation_step", "greedy_decode", "beam_search", "sequence_accuracy",
]
