"""A model of the student's own design, carried as data: its graph and its tensors, rebuilt here.

An assignment that grades a student's architecture (a05's CNN, a06's forecaster, a07's and a08's
text classifiers) must not score what the student's objects say of themselves: ``parameters()``,
``forward`` and ``state_dict`` are theirs to override, and a forward that runs in their process
can look its inputs up in a public copy of the test split. So the model crosses once, as data:
``export_spec`` (run where the student's class lives) traces it with ``torch.export`` in training
and in eval mode and writes each graph as a list of ATen calls (names, plain arguments) next to
its parameters and buffers. ``rebuild`` (run in the grader) turns that back into an ``nn.Module``
that calls only operators of an allow-list, after checking every name, every reference, the
numbers written into the graph and every intermediate size on the ``meta`` device, where nothing
is computed or allocated. ``initialised`` starts every layer the way PyTorch starts it, so the
weights the student's process sent count for nothing. The counts, the FLOPs, the training run
and the accuracy all come from the rebuilt module, with no student code running.

Why not ``torch.export.save``/``load``: ``load`` unpickles (it falls back to
``weights_only=False``), which runs whatever the bytes ask for. The spec is JSON-shaped data
plus tensors, which the grader's wire already carries without pickle.
"""
from dlcourse.model_spec.export import export_spec
from dlcourse.model_spec.init import MAX_KEPT, initialised
from dlcourse.model_spec.ops import ALLOWED_OPS, MAX_LITERALS, MAX_NODES, ModelSpecError
from dlcourse.model_spec.rebuild import MAX_FLOPS, SpecModule, rebuild, time_limit

__all__ = ["ModelSpecError", "export_spec", "rebuild", "initialised", "SpecModule", "ALLOWED_OPS", "MAX_KEPT",
           "MAX_LITERALS", "MAX_NODES", "MAX_FLOPS", "time_limit"]
