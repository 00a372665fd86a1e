"""Exercise checks, split by kind:

- ``chapters/ch<NN>_<name>.py``: the checks of chapter NN's in-notebook exercises. The
  notebook's check cell and the worked solution in ``solutions/chapters/`` call the same
  function, so the two cannot drift apart. A check given a function that still returns None
  (the placeholder) prints that the exercise is not attempted yet and passes; otherwise it
  fails with a ``CheckError`` whose hint says what to change.
- ``assignments/a<NN>_<name>.py``: the checks of nbgrader assignment aNN (``source/``), run by
  its visible and hidden tests; ``CHAPTER`` names the chapter it practises, whose reference
  model it checks against. ``sequence_checks`` is what a06-a09 share.
"""
import importlib
import importlib.util
import re


def not_attempted(result, number: int, what: str) -> bool:
    """True, after saying so, when an exercise's answer is still the placeholder's None."""
    if result is None:
        print(f"Exercise {number} not attempted yet: {what}")
        return True
    return False


def __getattr__(name: str):
    """``from dlcourse.exercises import ch12_resnet`` (the flat layout of notebooks downloaded
    before the split) still finds the module in ``chapters/`` or ``assignments/``."""
    kinds = {"chapters": r"ch\d\d_\w+", "assignments": r"a\d\d_\w+"}
    kind = next((kind for kind, pattern in kinds.items() if re.fullmatch(pattern, name)), None)
    if kind is None or importlib.util.find_spec(f"dlcourse.exercises.{kind}.{name}") is None:
        raise AttributeError(f"module 'dlcourse.exercises' has no attribute {name!r}")
    return importlib.import_module(f"dlcourse.exercises.{kind}.{name}")
