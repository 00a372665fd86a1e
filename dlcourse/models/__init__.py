"""Reference models, one module per architecture (see COURSE.md's chapter map)."""
from dlcourse.models.attention import MultiheadAttention, scaled_dot_product_attention
from dlcourse.models.mlp import MLP, ManualMLP
from dlcourse.models.perceptron import Perceptron
from dlcourse.models.small_cnn import SmallCNN
from dlcourse.models.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from dlcourse.models.transformer import (LearnedPositionalEncoding, SinusoidalPositionalEncoding, Transformer,
                                         TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
                                         TransformerEncoderLayer)
from dlcourse.models.lenet import LeNet5, lenet5
from dlcourse.models.alexnet import AlexNet, alexnet, alexnet_cifar
from dlcourse.models.vgg import (VGG, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19, vgg19_bn,
                                 vgg_cifar)

__all__ = ["Perceptron", "MLP", "ManualMLP", "SmallCNN", "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell",
           "scaled_dot_product_attention", "MultiheadAttention",
           "SinusoidalPositionalEncoding", "LearnedPositionalEncoding", "TransformerEncoderLayer",
           "TransformerDecoderLayer", "TransformerEncoder", "TransformerDecoder", "Transformer",
           "LeNet5", "lenet5", "AlexNet", "alexnet", "alexnet_cifar", "VGG", "vgg11", "vgg11_bn", "vgg13",
           "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn", "vgg_cifar"]
