"""Find the user's line: the innermost stack frame outside the fungrad package.

Staging asks for it once per equation, so the walk is cheap: fungrad's code objects are
recognized by a set lookup (the file name is tested once per code object), and the text of a line is made once and shared by every
equation staged from that line (a long program holds a few distinct strings, not one per
equation).
"""
from __future__ import annotations

import os
import sys
from types import CodeType

_PKG_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep

# Code objects known to be fungrad's, and the summary text per (user code object, line): both
# bounded, cleared when they grow past _LIMIT.
_ours: set[CodeType] = set()
_summaries: dict[tuple[CodeType, int], str] = {}
_LIMIT = 4096


def user_frame_summary() -> str | None:
    """``"file.py:12 (fun)"`` for the innermost frame that is not fungrad's own code.

    >>> user_frame_summary().endswith("(<module>)")
    True
    """
    frame = sys._getframe(1)
    ours = _ours
    while frame is not None:
        code = frame.f_code
        if code in ours:
            frame = frame.f_back  # type: ignore[assignment]
            continue
        if code.co_filename.startswith(_PKG_DIR):
            if len(ours) >= _LIMIT:
                ours.clear()
            ours.add(code)
            frame = frame.f_back  # type: ignore[assignment]
            continue
        key = (code, frame.f_lineno)
        text = _summaries.get(key)
        if text is None:
            if len(_summaries) >= _LIMIT:
                _summaries.clear()
            text = _summaries[key] = f"{code.co_filename}:{key[1]} ({code.co_name})"
        return text
    return None


def at_user_line() -> str:
    """A suffix for error messages: `` (at file.py:12 (fun))``, or nothing when unknown."""
    where = user_frame_summary()
    return f"\n  at {where}" if where else ""
