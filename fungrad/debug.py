"""``fungrad.debug``: print and inspect values at run time, inside ``jit`` and ``vmap`` too.

>>> import fungrad, fungrad.numpy as fnp
>>> @fungrad.jit
... def f(x):
...     fungrad.debug.print("x = {x}, total {}", fnp.sum(x), x=x)
...     return x * 2
>>> _ = f(np.array([1.0, 2.0]))
x = [1. 2.], total 3.0
"""
from __future__ import annotations

import bdb
import builtins
import numbers
import pprint
import sys
from typing import Any, Callable

import numpy as np

from fungrad.core import Tracer
from fungrad.lax.debugging import debug_callback
from fungrad.numpy.promotion import asarray
from fungrad.tree_util import tree_flatten, tree_unflatten

__all__ = ["breakpoint", "callback", "print"]


class _Formatter:
    """Prints ``fmt.format(*args, **kwargs)`` for the leaves it is called with."""

    def __init__(self, fmt: str, treedef: Any, callback: Callable[..., Any] | None) -> None:
        self.fmt, self.treedef, self.callback = fmt, treedef, callback

    def __call__(self, *leaves: Any) -> None:
        args, kwargs = tree_unflatten(self.treedef, leaves)
        if self.callback is None:
            builtins.print(self.fmt.format(*args, **kwargs))
        else:
            self.callback(*args, **kwargs)

    def __repr__(self) -> str:
        return repr(self.fmt) if self.callback is None else repr(self.callback)


def print(fmt: str, *args: Any, ordered: bool = False, **kwargs: Any) -> None:  # noqa: A001
    """Print ``fmt.format(*args, **kwargs)`` with the arrays' values when the program runs:
    eagerly at once, under ``jit`` on every call, under ``vmap`` once per example, under
    ``grad`` with the primal values. ``ordered`` is accepted: fungrad runs in program order.

    >>> import fungrad
    >>> _ = fungrad.vmap(lambda x: fungrad.debug.print("{:.1f}", x))(np.array([1.0, 2.0]))
    1.0
    2.0
    """
    leaves, treedef = tree_flatten((args, kwargs))
    debug_callback(_Formatter(fmt, treedef, None), *[asarray(x) for x in leaves])


def callback(callback: Callable[..., Any], *args: Any, ordered: bool = False,
             **kwargs: Any) -> None:
    """Call ``callback(*args, **kwargs)`` with the arrays' values when the program runs (as
    ``print`` does); its return value is ignored.

    >>> import fungrad
    >>> seen = []
    >>> _ = fungrad.jit(lambda x: fungrad.debug.callback(seen.append, x))(np.float64(2.0))
    >>> seen
    [array(2.)]
    """
    leaves, treedef = tree_flatten((args, kwargs))
    debug_callback(_Formatter("", treedef, callback), *[asarray(x) for x in leaves])


_HELP = """commands: p EXPR (print), pp EXPR (pretty-print), l (the local values), c (continue),
q (quit: raise bdb.BdbQuit); any other line runs as Python over the local values"""


def breakpoint(*, backend: Any = None, filter_frames: bool = True, num_frames: Any = None,  # noqa: A001
               ordered: bool = False, token: Any = None, **kwargs: Any) -> None:
    """Pause when the program runs and inspect the caller's local values: a small ``pdb``-like
    prompt (``p x``, ``pp x``, ``l``, ``c``, ``q``, ``help``). Under ``jit``, ``vmap`` and
    ``grad`` it is a ``callback``, so traced locals show their run-time values; inside
    ``lax.cond`` it pauses only when that branch runs. The end of input continues. JAX's
    keyword arguments are accepted; fungrad has no backends or stack filtering.

    >>> import io, sys, fungrad, fungrad.numpy as fnp
    >>> @fungrad.jit
    ... def f(x):
    ...     y = fnp.sin(x)
    ...     fungrad.debug.breakpoint()
    ...     return y * 2
    >>> sys.stdin = io.StringIO("p y\\nc\\n")
    >>> _ = f(np.float64(0.5))  # doctest: +ELLIPSIS
    Entering fungrad.debug.breakpoint (locals: x, y)
    (fdb) 0.479425538604203
    (fdb) 
    >>> sys.stdin = sys.__stdin__
    """
    frame = sys._getframe(1)
    arrays = {k: v for k, v in frame.f_locals.items()
              if isinstance(v, (Tracer, np.ndarray, np.generic, numbers.Number))}
    others = {k: v for k, v in frame.f_locals.items() if k not in arrays}
    others.update({k: v for k, v in frame.f_globals.items() if k not in frame.f_locals})
    names = list(arrays)
    debug_callback(_Console(names, others), *[asarray(arrays[k]) for k in names])


class _Console:
    """The prompt of ``breakpoint``: reads commands from standard input until ``c`` or its end."""

    def __init__(self, names: list[str], others: dict[str, Any]) -> None:
        self.names, self.others = names, others

    def __repr__(self) -> str:
        return f"breakpoint({', '.join(self.names)})"

    def __call__(self, *values: Any) -> None:
        env = dict(self.others)
        env.update(zip(self.names, values))
        builtins.print(f"Entering fungrad.debug.breakpoint (locals: {', '.join(self.names)})")
        while True:
            builtins.print("(fdb) ", end="", flush=True)
            line = sys.stdin.readline()
            if not line:
                builtins.print()
                return
            command, _, rest = line.strip().partition(" ")
            if command in ("c", "cont", "continue"):
                return
            if command in ("q", "quit", "exit"):
                raise bdb.BdbQuit
            try:
                if command in ("p", "pp"):
                    value = eval(rest, env)  # noqa: S307 (the user's own debugging session)
                    builtins.print(pprint.pformat(value) if command == "pp" else
                                   value if isinstance(value, (np.ndarray, np.generic)) else repr(value))
                elif command in ("l", "locals"):
                    for k in self.names:
                        builtins.print(f"{k} = {env[k]!r}")
                elif command in ("h", "help"):
                    builtins.print(_HELP)
                elif line.strip():
                    exec(compile(line, "<fdb>", "single"), env)  # noqa: S102
            except Exception as e:  # a typo must not end the session
                builtins.print(f"*** {type(e).__name__}: {e}")
