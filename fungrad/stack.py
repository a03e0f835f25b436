"""Room on Python's stack for programs that nest deeply.

Tracing, transforming and compiling a branch or loop body recurses into it, so a program with
control flow nested a few hundred deep needs more frames than Python's default limit of 1000.
``recursion_headroom`` raises the limit while such work runs (and restores it after), so nesting
depth is bounded by memory, not by that default.

>>> import sys
>>> before = sys.getrecursionlimit()
>>> with recursion_headroom(frames=before + 500):
...     sys.getrecursionlimit() >= before + 500
True
>>> sys.getrecursionlimit() == before
True
"""
from __future__ import annotations

import contextlib
import sys
from typing import Iterator

# Frames kept free above the current depth whenever fungrad enters a nested body.
HEADROOM = 2000


def stack_depth() -> int:
    """The number of frames on the calling thread's stack."""
    depth, frame = 0, sys._getframe(1)
    while frame is not None:
        depth, frame = depth + 1, frame.f_back  # type: ignore[assignment]
    return depth


@contextlib.contextmanager
def recursion_headroom(frames: int = HEADROOM) -> Iterator[None]:
    """Within the block, at least ``frames`` frames may be added to the current stack."""
    limit = sys.getrecursionlimit()
    needed = stack_depth() + frames
    if needed <= limit:
        yield
        return
    sys.setrecursionlimit(needed)
    try:
        yield
    finally:
        if sys.getrecursionlimit() == needed:  # not changed meanwhile by someone else
            sys.setrecursionlimit(limit)
