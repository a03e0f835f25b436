"""Pausing Python's cyclic garbage collector while jit traces and compiles.

Tracing and compiling allocate many small objects that all stay alive until the program is built
(equations, variables, their lists), and Python's collector runs a collection every few hundred
allocations, now and then over every object the process holds: on a long program it spent about
40% of the time rescanning the growing jaxpr, finding nothing to free (a program is freed by
reference counting). While a pause is active the collector does not run by itself; it runs again
as usual once the last pause ends. Pauses nest and may overlap across threads.

>>> import gc
>>> with gc_paused():
...     gc.isenabled()
False
>>> gc.isenabled()
True
"""
from __future__ import annotations

import gc
import threading
from typing import Any

_lock = threading.Lock()
_active = 0
_was_enabled = False


class gc_paused:
    """``with gc_paused():`` the cyclic collector does not run automatically inside the block
    (unless it was already disabled, nothing changes afterwards)."""

    __slots__ = ()

    def __enter__(self) -> None:
        global _active, _was_enabled
        with _lock:
            if not _active:
                _was_enabled = gc.isenabled()
                gc.disable()
            _active += 1

    def __exit__(self, *exc: Any) -> None:
        global _active
        with _lock:
            _active -= 1
            if not _active and _was_enabled:
                gc.enable()
