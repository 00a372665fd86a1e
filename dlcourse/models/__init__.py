"""Reference models, one module per architecture (see COURSE.md's chapter map)."""
from dlcourse.models.mlp import MLP, ManualMLP
from dlcourse.models.perceptron import Perceptron
from dlcourse.models.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell

__all__ = ["Perceptron", "MLP", "ManualMLP", "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]
