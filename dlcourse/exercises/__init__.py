"""The checks of the chapters' in-notebook exercises, one module per chapter.

The notebook's check cell and the worked solution in ``solutions/chapters/`` call the same
function, so the two cannot drift apart. A check given a function that still returns None
(the placeholder) prints that the exercise is not attempted yet and passes; otherwise it
fails with a ``CheckError`` whose hint says what to change.
"""


def not_attempted(result, number: int, what: str) -> bool:
    """True, after saying so, when an exercise's answer is still the placeholder's None."""
    if result is None:
        print(f"Exercise {number} not attempted yet: {what}")
        return True
    return False
