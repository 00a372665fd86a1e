"""The grading tools: instructors' side of the nbgrader assignments (never imported by the course).

* :mod:`.course`: where assignments live, worked solutions, sync and leak checks, partial credit;
* :mod:`.autograder`: grading submissions as hostile code (``python -m dlcourse.grading.autograder``),
  built from :mod:`.runner` (the student's process), :mod:`.judge` (the trusted tests),
  :mod:`.wire` (the data that crosses between them), :mod:`.sandbox` and :mod:`.record`.
"""
from .course import *  # noqa: F401,F403 - the helpers every caller uses: grading.notebook_path, ...
from .course import __all__, main  # noqa: F401
