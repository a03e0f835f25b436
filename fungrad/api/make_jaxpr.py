"""make_jaxpr: show the program a function stages."""
from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import numpy as np

from fungrad.api_util import StaticArgs, abstractify, flatten_fun
from fungrad.interpreters.staging import trace_to_jaxpr
from fungrad.ir import Jaxpr
from fungrad.tree_util import tree_flatten


def make_jaxpr(fun: Callable[..., Any], static_argnums: int | Sequence[int] = (),
               static_argnames: str | Sequence[str] = ()) -> Callable[..., Jaxpr]:
    """A function that traces ``fun`` on its arguments' types and returns the jaxpr.

    >>> import fungrad, fungrad.numpy as fnp
    >>> print(fungrad.make_jaxpr(lambda x: fnp.sin(x) * 2.0)(1.0))
    { lambda ; a:f64[]. let b:f64[] = sin a; c:f64[] = mul b 2.0:f64[] in (c,) }
    """
    static = StaticArgs(fun, static_argnums, static_argnames)

    @functools.wraps(fun)
    def make(*args: Any, **kwargs: Any) -> Jaxpr:
        dyn, _ = static.split(args, kwargs)
        leaves, in_tree = tree_flatten(dyn)
        flat, _ = flatten_fun(fun, in_tree, lambda d: static.merge(args, kwargs, d))
        return trace_to_jaxpr(flat, [abstractify(x) for x in leaves])

    return make


class ShapeDtypeStruct:
    """A stand-in argument carrying only a shape and a dtype (for make_jaxpr, jit.lower).

    >>> import fungrad, fungrad.numpy as fnp
    >>> print(fungrad.make_jaxpr(fnp.sum)(ShapeDtypeStruct((2, 3), np.float32)))
    { lambda ; a:f32[2,3]. let b:f32[] = reduce_sum[axes=(0, 1)] a in (b,) }
    """

    __slots__ = ("shape", "dtype")

    def __init__(self, shape: Sequence[int], dtype: Any) -> None:
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)

    def __repr__(self) -> str:
        return f"ShapeDtypeStruct(shape={self.shape}, dtype={self.dtype})"
