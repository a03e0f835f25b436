"""Shared strategies and the NumPy comparison used by the fungrad.numpy test tables."""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fungrad

SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
NONEMPTY = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


def floats(lo: float = -3.0, hi: float = 3.0, shape: Any = SHAPES,
           dtype: Any = np.float64) -> st.SearchStrategy[np.ndarray]:
    """Float arrays with elements in ``[lo, hi]``."""
    width = 32 if np.dtype(dtype) == np.float32 else 64
    return hnp.arrays(dtype, shape, elements=st.floats(lo, hi, width=width))


def ints(lo: int = -5, hi: int = 5, shape: Any = SHAPES,
         dtype: Any = np.int64) -> st.SearchStrategy[np.ndarray]:
    """Integer arrays with elements in ``[lo, hi]``."""
    return hnp.arrays(dtype, shape, elements=st.integers(lo, hi))


def bools(shape: Any = SHAPES) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(np.bool_, shape)


@st.composite
def broadcast_with(draw: Any, first: Any, second: Any) -> tuple[Any, Any]:
    """Two arrays of mutually broadcastable shapes; ``first``/``second`` map a shape to a
    strategy."""
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3))
    return draw(first(shapes.input_shapes[0])), draw(second(shapes.input_shapes[1]))


def broadcast_pair(lo: float = -3.0, hi: float = 3.0, lo2: float | None = None,
                   hi2: float | None = None, dtype: Any = np.float64) -> Any:
    """Two float arrays of mutually broadcastable shapes."""
    lo2 = lo if lo2 is None else lo2
    hi2 = hi if hi2 is None else hi2
    return broadcast_with(lambda s: floats(lo, hi, s, dtype), lambda s: floats(lo2, hi2, s, dtype))


def assert_like_numpy(got: Any, want: Any, rtol: float | None = None) -> None:
    """Same dtype, same shape, and values equal (inexact: to ``rtol``; NaNs match)."""
    if isinstance(want, (tuple, list)):
        assert isinstance(got, (tuple, list)) and len(got) == len(want)
        for g, w in zip(got, want):
            assert_like_numpy(g, w, rtol)
        return
    want = np.asarray(want)
    got_arr = np.asarray(got)
    assert got_arr.dtype == want.dtype, f"dtype {got_arr.dtype} != NumPy's {want.dtype}"
    assert got_arr.shape == want.shape, f"shape {got_arr.shape} != NumPy's {want.shape}"
    if want.dtype.kind in "fc":
        tol = rtol if rtol is not None else (1e-12 if want.dtype == np.float64 else 1e-5)
        np.testing.assert_allclose(got_arr, want, rtol=tol, atol=tol, equal_nan=True)
    else:
        np.testing.assert_array_equal(got_arr, want)


def check_against_numpy(fn: Callable[..., Any], args: tuple[Any, ...], rtol: float | None = None,
                        trace: bool = True, batch: bool = True) -> None:
    """``fn(fungrad.numpy, *args)`` equals ``fn(numpy, *args)``: eagerly, as staged types
    (``make_jaxpr``), and under ``vmap`` over its first array argument against a loop.

    Array arguments are traced; the rest (axes, flags) stay static.
    """
    import fungrad.numpy as fnp
    with np.errstate(all="ignore"):
        want = fn(np, *args)
    got = fn(fnp, *args)
    assert_like_numpy(got, want, rtol)
    if not trace:
        return
    where = [i for i, a in enumerate(args) if isinstance(a, np.ndarray)]

    def staged(*arrays: Any) -> Any:
        full = list(args)
        for i, a in zip(where, arrays):
            full[i] = a
        return fn(fnp, *full)

    jaxpr = fungrad.make_jaxpr(staged)(*[args[i] for i in where])
    wants = _leaves(want)
    assert [(a.shape, a.dtype) for a in jaxpr.out_avals] == \
        [(np.shape(w), np.asarray(w).dtype) for w in wants]
    if batch and where:
        check_vmap_against_loop(fn, args, where[0], rtol)


def check_vmap_against_loop(fn: Callable[..., Any], args: tuple[Any, ...], i: int,
                            rtol: float | None = None) -> None:
    """``vmap`` over argument ``i`` (a batch of it and its reversed copy) equals a loop."""
    import fungrad.numpy as fnp
    x = args[i]
    batch = np.stack([x, np.flip(x)])

    def one(module: Any, xi: Any) -> Any:
        return fn(module, *args[:i], xi, *args[i + 1:])

    with np.errstate(all="ignore"):
        wants = [_leaves(one(np, xi)) for xi in batch]
    got = _leaves(fungrad.vmap(lambda xi: one(fnp, xi))(batch))
    for k, g in enumerate(got):
        assert_like_numpy(g, np.stack([np.asarray(w[k]) for w in wants]), rtol)


def _leaves(x: Any) -> list[Any]:
    if isinstance(x, (tuple, list)):
        return [leaf for e in x for leaf in _leaves(e)]
    return [x]
