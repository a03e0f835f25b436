"""Array creation with NumPy's names: constants, ranges, grids and triangular matrices.

Shapes are static; what does not depend on a traced value is computed by NumPy right away
(under ``jit`` it becomes a constant of the program).

>>> import fungrad.numpy as fnp
>>> fnp.tril(np.ones((2, 2)))
array([[1., 0.],
       [1., 1.]])
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from fungrad import lax
from fungrad.core import Tracer
from fungrad.numpy.manipulation import broadcast_to, concatenate, reshape
from fungrad.numpy.promotion import asarray, is_array, promote_inexact
from fungrad.numpy.static_values import static
from fungrad.numpy.indexing import IndexUpdateHelper
from fungrad.numpy.manipulation import moveaxis
from fungrad.numpy.ufuncs import BINARY
from fungrad.numpy.linear import diagonal


def _shape(shape: Any, fname: str = "an array constructor") -> tuple[int, ...]:
    shape = static(shape, fname, "the shape")
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in shape)


def array(object: Any, dtype: Any = None, copy: bool = True, ndmin: int = 0) -> Any:  # noqa: A002
    """An array from ``object`` (an array, a tracer, a scalar, or nested lists of them)."""
    out = asarray(object, dtype)
    if isinstance(out, np.ndarray) and copy and isinstance(object, np.ndarray) and \
            np.may_share_memory(out, object):  # (``object`` itself, or a fungrad.Array's view)
        out = out.copy()
    if out.ndim < ndmin:
        out = reshape(out, (1,) * (ndmin - out.ndim) + tuple(out.shape))
    return out


def asarray_(a: Any, dtype: Any = None, order: Any = None, *, copy: Any = None) -> Any:
    """``a`` as an array, without copying when it already is one."""
    return asarray(a, None if dtype is None else np.dtype(dtype))


def zeros(shape: Any, dtype: Any = None) -> Any:
    """An array of zeros (float64 unless ``dtype`` is given)."""
    return np.zeros(_shape(shape, "zeros"), dtype or np.float64)


def ones(shape: Any, dtype: Any = None) -> Any:
    """An array of ones (float64 unless ``dtype`` is given)."""
    return np.ones(_shape(shape, "ones"), dtype or np.float64)


def empty(shape: Any, dtype: Any = None) -> Any:
    """An array of the given shape (zero-filled: values are never left undefined)."""
    return zeros(shape, dtype)


def full(shape: Any, fill_value: Any, dtype: Any = None) -> Any:
    """An array of ``shape`` filled with ``fill_value`` (which may be traced)."""
    if is_array(fill_value):
        v = asarray(fill_value, dtype)
        return broadcast_to(v, _shape(shape, "full"))
    return np.full(_shape(shape, "full"), fill_value, dtype)


def _like(name: str, value: Any) -> Any:
    def f(a: Any, dtype: Any = None, shape: Any = None) -> Any:
        a = asarray(a)
        s = a.shape if shape is None else _shape(shape)
        return lax.full(s, value, np.dtype(dtype) if dtype is not None else a.dtype)
    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"An array of {value}s with the shape and dtype of ``a``."
    return f


zeros_like = _like("zeros_like", 0)
ones_like = _like("ones_like", 1)
empty_like = _like("empty_like", 0)


def full_like(a: Any, fill_value: Any, dtype: Any = None, shape: Any = None) -> Any:
    """An array of ``fill_value`` with the shape and dtype of ``a``."""
    a = asarray(a)
    s = a.shape if shape is None else _shape(shape)
    dt = np.dtype(dtype) if dtype is not None else a.dtype
    if is_array(fill_value):
        return broadcast_to(asarray(fill_value, dt), s)
    return lax.full(s, fill_value, dt)


def arange(start: Any, stop: Any = None, step: Any = None, dtype: Any = None) -> Any:
    """Evenly spaced values in ``[start, stop)`` (static bounds)."""
    start, stop, step = static((start, stop, step), "arange", "the bounds and step")
    return np.arange(start, stop, step, dtype=dtype)


def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True,
             retstep: bool = False, dtype: Any = None, axis: int = 0) -> Any:
    """``num`` evenly spaced values from ``start`` to ``stop`` (bounds may be traced)."""
    num = static(num, "linspace", "num")
    if not (isinstance(start, Tracer) or isinstance(stop, Tracer)):
        return np.linspace(start, stop, num, endpoint, retstep, dtype, axis)  # type: ignore[call-overload]
    start, stop = promote_inexact(start, stop)
    div = (num - 1) if endpoint else num
    steps = np.arange(num, dtype=np.float64).reshape((-1,) + (1,) * start.ndim)
    delta = stop - start
    step = delta / div if div > 0 else delta * np.nan
    # with one point (div == 0) the values are just `start`: a NaN step must not reach them
    out = steps.astype(start.dtype) * (step if div > 0 else delta * 0) + start
    if endpoint and num > 1:
        out = IndexUpdateHelper(out)[-1].set(stop)
    out = moveaxis(out, 0, axis)
    if dtype is not None:
        out = asarray(out, dtype)
    return (out, step) if retstep else out


def logspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, base: float = 10.0,
             dtype: Any = None, axis: int = 0) -> Any:
    """``base ** linspace(start, stop, num)``."""
    y = linspace(start, stop, num, endpoint, axis=axis)
    out = BINARY["power"](base, y)
    return out if dtype is None else asarray(out, dtype)


def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> Any:
    """A 2-D array with ones on diagonal ``k``."""
    N, M, k = static((N, M, k), "eye", "N, M and k")
    return np.eye(N, M, k, dtype=dtype or np.float64)


def identity(n: int, dtype: Any = None) -> Any:
    """The ``n`` by ``n`` identity matrix."""
    n = static(n, "identity", "n")
    return np.identity(n, dtype=dtype or np.float64)


def tri(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> Any:
    """Ones at and below diagonal ``k``, zeros above."""
    return np.tri(N, M, k, dtype=dtype or np.float64)


def _triangle(m: Any, k: int, lower: bool) -> Any:
    m = asarray(m)
    n_rows, n_cols = m.shape[-2:]
    mask = np.tri(n_rows, n_cols, k if lower else k - 1, dtype=bool)
    if not lower:
        mask = ~mask
    return lax.select(mask, m, lax.full(m.shape, 0, m.dtype))


def tril(m: Any, k: int = 0) -> Any:
    """``m`` with the elements above diagonal ``k`` zeroed."""
    return _triangle(m, k, True)


def triu(m: Any, k: int = 0) -> Any:
    """``m`` with the elements below diagonal ``k`` zeroed."""
    return _triangle(m, k, False)


def diag(v: Any, k: int = 0) -> Any:
    """The ``k``-th diagonal of a matrix, or a matrix with vector ``v`` on its ``k``-th diagonal."""
    v = asarray(v)
    if v.ndim == 1:
        n = v.shape[0] + abs(k)
        zeros_ = lax.full((abs(k),), 0, v.dtype)
        w = concatenate([zeros_, v] if k >= 0 else [v, zeros_])  # M[r, c] = w[c] on the diagonal
        mask = np.eye(n, n, k, dtype=bool)
        return lax.select(mask, lax.broadcast_to(w, (n, n)), lax.full((n, n), 0, v.dtype))
    if v.ndim == 2:
        return diagonal(v, k)
    raise ValueError("diag: input must be 1-d or 2-d")


def diagflat(v: Any, k: int = 0) -> Any:
    """A matrix with the flattened ``v`` on diagonal ``k``."""
    return diag(reshape(asarray(v), (-1,)), k)


def meshgrid(*xi: Any, indexing: str = "xy", sparse: bool = False) -> list[Any]:
    """Coordinate arrays from coordinate vectors (``indexing="xy"`` or ``"ij"``)."""
    vecs = [reshape(asarray(x), (-1,)) for x in xi]
    n = len(vecs)
    shape = [v.shape[0] for v in vecs]
    if indexing == "xy" and n >= 2:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, v in enumerate(vecs):
        axis = {0: 1, 1: 0}.get(i, i) if indexing == "xy" and n >= 2 else i
        s = [1] * n
        s[axis] = v.shape[0]
        g = reshape(v, s)
        out.append(g if sparse else broadcast_to(g, shape))
    return out


def indices(dimensions: Sequence[int], dtype: Any = int) -> Any:
    """An array of index grids, one per dimension."""
    return np.indices(tuple(dimensions), dtype=dtype)


def tril_indices(n: int, k: int = 0, m: int | None = None) -> Any:
    """Row and column indices of the lower triangle."""
    return np.tril_indices(n, k, m)


def triu_indices(n: int, k: int = 0, m: int | None = None) -> Any:
    """Row and column indices of the upper triangle."""
    return np.triu_indices(n, k, m)


def vander(x: Any, N: int | None = None, increasing: bool = False) -> Any:
    """The Vandermonde matrix of ``x``: columns are powers of ``x``."""
    x = asarray(x)
    n = x.shape[0] if N is None else N
    powers = np.arange(n) if increasing else np.arange(n - 1, -1, -1)
    return BINARY["power"](reshape(x, (-1, 1)), powers.astype(x.dtype))
