"""Reference models, one module per architecture (see COURSE.md's chapter map)."""
from dlcourse.models.mlp import MLP, ManualMLP
from dlcourse.models.perceptron import Perceptron
from dlcourse.models.small_cnn import SmallCNN

__all__ = ["Perceptron", "MLP", "ManualMLP", "SmallCNN"]
