"""Find the user's line: the innermost stack frame outside the fungrad package.

Staging asks for it once per equation, so the walk is cheap: a frame is recognized as fungrad's
by its code's file name, found in a set (a string's hash is cached, a code object's is not), and
the text of a line is made once and shared by every equation staged from that line (a long
program holds a few distinct strings, not one per equation).
"""
from __future__ import annotations

import os
import sys

_PKG_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep

# The source files seen so far, fungrad's and others; the summary text per (file, function,
# line). Bounded: cleared when they grow past _LIMIT.
_ours: set[str] = set()
_theirs: set[str] = set()
_summaries: dict[tuple[str, str, int], str] = {}
_LIMIT = 4096


def user_frame_summary(skip: int = 1) -> str | None:
    """``"file.py:12 (fun)"`` for the innermost frame that is not fungrad's own code, looking
    from the frame ``skip`` calls up (1: the caller, which may be the user's code; a fungrad
    caller that knows the frames above it are fungrad's too skips them unlooked).

    >>> user_frame_summary().endswith("(<module>)")
    True
    """
    frame = sys._getframe(skip)
    ours = _ours
    while True:
        try:   # (the walk over fungrad's frames, as tight as it gets: most of the time here)
            while frame.f_code.co_filename in ours:
                frame = frame.f_back  # type: ignore[assignment]
        except AttributeError:   # past the outermost frame: no user code on the stack
            return None
        code = frame.f_code
        file = code.co_filename
        if file not in _theirs and _is_ours(file):
            continue   # (a file of ours seen for the first time)
        key = (file, code.co_name, frame.f_lineno)
        text = _summaries.get(key)
        if text is None:
            if len(_summaries) >= _LIMIT:
                _summaries.clear()
            text = _summaries[key] = f"{file}:{key[2]} ({key[1]})"
        return text


def _is_ours(file: str) -> bool:
    """Is ``file`` fungrad's? (remembered in ``_ours`` or ``_theirs``)"""
    known = _ours if file.startswith(_PKG_DIR) else _theirs
    if len(known) >= _LIMIT:
        known.clear()
    known.add(file)
    return known is _ours


def at_user_line() -> str:
    """A suffix for error messages: `` (at file.py:12 (fun))``, or nothing when unknown."""
    where = user_frame_summary()
    return f"\n  at {where}" if where else ""
