"""``debug_callback``: call a Python function on values at run time, also inside ``jit``.

The primitive has no outputs and is *effectful* (``fungrad.core.effect_rules``): the compiler never
drops, merges or folds it, so a jitted function calls back on every call. Under ``vmap`` it calls
back once per example, in order; under differentiation it sees the primal values only.

>>> import fungrad
>>> f = fungrad.jit(lambda x: (debug_callback(lambda v: print("saw", v), x), x * 2)[1])
>>> f(np.float64(3.0))
saw 3.0
array(6.)
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from fungrad.core import effect_rules
from fungrad.interpreters.ad import jvp_rules
from fungrad.interpreters.batching import batch_rules
from fungrad.ir import ShapedArray
from fungrad.lax.registry import primitive
from fungrad.lax.slicing import index_in_dim


def _impl(*args: Any, callback: Callable[..., Any]) -> list[Any]:
    callback(*[np.asarray(a) for a in args])
    return []


def _shape(*avals: ShapedArray, callback: Callable[..., Any]) -> list[ShapedArray]:
    return []


debug_callback_p = primitive("debug_callback", _impl, _shape, multiple_results=True)
effect_rules[debug_callback_p] = "calls a host function"


def _jvp(primals: Sequence[Any], tangents: Sequence[Any], **params: Any) -> tuple[Any, Any]:
    debug_callback_p.bind(*primals, **params)
    return [], []


def _batch(vals: Sequence[Any], dims: Sequence[int | None], **params: Any) -> tuple[Any, Any]:
    size = next(np.shape(v)[d] if not hasattr(v, "aval") else v.aval.shape[d]
                for v, d in zip(vals, dims) if d is not None)
    for i in range(size):
        debug_callback_p.bind(*[v if d is None else index_in_dim(v, i, d, keepdims=False)
                                for v, d in zip(vals, dims)], **params)
    return [], []


jvp_rules[debug_callback_p] = _jvp
batch_rules[debug_callback_p] = _batch


def debug_callback(callback: Callable[..., Any], *args: Any) -> None:
    """Call ``callback(*args)`` (array arguments, as NumPy arrays) when the program runs."""
    debug_callback_p.bind(*args, callback=callback)
