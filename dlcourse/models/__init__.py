"""Reference models, one module per architecture (see COURSE.md's chapter map)."""
from dlcourse.models.mlp import MLP, ManualMLP
from dlcourse.models.perceptron import Perceptron

__all__ = ["Perceptron", "MLP", "ManualMLP"]
