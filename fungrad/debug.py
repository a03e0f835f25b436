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

import builtins
from typing import Any, Callable

from fungrad.lax.debugging import debug_callback
from fungrad.numpy.promotion import asarray
from fungrad.tree_util import tree_flatten, tree_unflatten

__all__ = ["callback", "print"]


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
