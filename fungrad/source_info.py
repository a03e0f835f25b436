"""Find the user's line: the innermost stack frame outside the fungrad package."""
from __future__ import annotations

import os
import sys

_PKG_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def user_frame_summary() -> str | None:
    """``"file.py:12 (fun)"`` for the innermost frame that is not fungrad's own code."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not filename.startswith(_PKG_DIR):
            return f"{filename}:{frame.f_lineno} ({frame.f_code.co_name})"
        frame = frame.f_back  # type: ignore[assignment]
    return None


def at_user_line() -> str:
    """A suffix for error messages: `` (at file.py:12 (fun))``, or nothing when unknown."""
    where = user_frame_summary()
    return f"\n  at {where}" if where else ""
