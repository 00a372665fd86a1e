"""Reference models, one module per architecture (see COURSE.md's chapter map)."""
from dlcourse.models.attention import MultiheadAttention, scaled_dot_product_attention
from dlcourse.models.mlp import MLP, ManualMLP
from dlcourse.models.perceptron import Perceptron
from dlcourse.models.small_cnn import SmallCNN
from dlcourse.models.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from dlcourse.models.transformer import (LearnedPositionalEncoding, SinusoidalPositionalEncoding, Transformer,
                                         TransformerDecoder, TransformerDecoderLayer, TransformerEncoder,
                                         TransformerEncoderLayer)

__all__ = ["Perceptron", "MLP", "ManualMLP", "SmallCNN", "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell",
           "scaled_dot_product_attention", "MultiheadAttention",
           "SinusoidalPositionalEncoding", "LearnedPositionalEncoding", "TransformerEncoderLayer",
           "TransformerDecoderLayer", "TransformerEncoder", "TransformerDecoder", "Transformer"]
from dlcourse.models.rnn_tasks import RNNClassifier, RNNForecaster

__all__ += ["RNNClassifier", "RNNForecaster"]
