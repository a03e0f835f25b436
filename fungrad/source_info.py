"""Find the user's line: the innermost stack frame outside the fungrad package.

Staging asks for it once per equation, so the walk is cheap: whether a code object is fungrad's
is decided once per code object, and the text of a line is made once and shared by every
equation staged from that line (a long program holds a few distinct strings, not one per
equation).
"""
from __future__ import annotations

import os
import sys
from types import CodeType

_PKG_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep

# Per code object: is it the user's (not fungrad's)? Bounded: cleared when it grows past _LIMIT.
_is_user: dict[CodeType, bool] = {}
# Per (code object, line): the summary text.
_summaries: dict[tuple[CodeType, int], str] = {}
_LIMIT = 4096


def user_frame_summary() -> str | None:
    """``"file.py:12 (fun)"`` for the innermost frame that is not fungrad's own code.

    >>> user_frame_summary().endswith("(<module>)")
    True
    """
    frame = sys._getframe(1)
    is_user = _is_user
    while frame is not None:
        code = frame.f_code
        mine = is_user.get(code)
        if mine is None:
            if len(is_user) >= _LIMIT:
                is_user.clear()
            mine = is_user[code] = not code.co_filename.startswith(_PKG_DIR)
        if mine:
            key = (code, frame.f_lineno)
            text = _summaries.get(key)
            if text is None:
                if len(_summaries) >= _LIMIT:
                    _summaries.clear()
                text = _summaries[key] = f"{code.co_filename}:{key[1]} ({code.co_name})"
            return text
        frame = frame.f_back  # type: ignore[assignment]
    return None


def at_user_line() -> str:
    """A suffix for error messages: `` (at file.py:12 (fun))``, or nothing when unknown."""
    where = user_frame_summary()
    return f"\n  at {where}" if where else ""
