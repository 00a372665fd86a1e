"""``CheckError``: a self-check failed, and its message says what to change.

Its own module so that every check (``dlcourse.checks``, ``dlcourse.gradcheck``, ``dlcourse.rules``)
raises the one class without importing each other.
"""
from __future__ import annotations

import os

__all__ = ["CheckError"]


class CheckError(AssertionError):
    """A self-check failed; the message says what to change."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows for this error: the student's own frames, then the message.

        ``__tracebackhide__`` is not enough there: IPython always prints the innermost frame,
        and that is ours (the ``raise``), ~10 lines of checks.py before the one useful line.
        So the frames inside ``dlcourse`` are unlinked and IPython formats the rest.
        """
        from IPython import get_ipython

        kept, tb = [], self.__traceback__
        while tb is not None:
            if not tb.tb_frame.f_code.co_filename.startswith(_PACKAGE_DIR):
                kept.append(tb)
            tb = tb.tb_next
        for outer, inner in zip(kept, kept[1:] + [None]):
            outer.tb_next = inner
        # tb_offset=1: the first frame is IPython's run_code, which IPython hides too.
        return get_ipython().InteractiveTB.structured_traceback(
            type(self), self, kept[0] if kept else None, tb_offset=1)


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep       # .../dlcourse/
