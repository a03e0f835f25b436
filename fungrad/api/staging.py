"""make_jaxpr: show the program a function stages."""
from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import numpy as np

from fungrad.api.util import as_leaf
from fungrad.core import get_aval
from fungrad.interpreters.staging import trace_to_jaxpr
from fungrad.ir import Jaxpr, ShapedArray
from fungrad.tree_util import tree_flatten, tree_unflatten


def abstractify(x: Any) -> ShapedArray:
    """The abstract value of an argument: an array, a scalar, or anything with .shape and .dtype."""
    if hasattr(x, "shape") and hasattr(x, "dtype") and not isinstance(x, np.ndarray):
        try:
            return get_aval(x)
        except TypeError:
            return ShapedArray(tuple(x.shape), np.dtype(x.dtype))
    return get_aval(as_leaf(x))


def make_jaxpr(fun: Callable[..., Any],
               static_argnums: int | Sequence[int] = ()) -> Callable[..., Jaxpr]:
    """A function that traces ``fun`` on its arguments' types and returns the jaxpr.

    >>> import fungrad, fungrad.numpy as fnp
    >>> print(fungrad.make_jaxpr(lambda x: fnp.sin(x) * 2.0)(1.0))
    { lambda ; a:f64[]. let b:f64[] = sin a; c:f64[] = mul b 2.0:f64[] in (c,) }
    """
    static = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)

    @functools.wraps(fun)
    def make(*args: Any, **kwargs: Any) -> Jaxpr:
        dyn_idx = [i for i in range(len(args)) if i not in static]
        leaves, in_tree = tree_flatten([args[i] for i in dyn_idx])

        def flat(*xs: Any) -> list[Any]:
            full = list(args)
            for i, v in zip(dyn_idx, tree_unflatten(in_tree, xs)):
                full[i] = v
            return list(tree_flatten(fun(*full, **kwargs))[0])

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
