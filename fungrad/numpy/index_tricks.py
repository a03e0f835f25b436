"""``r_`` and ``c_``: NumPy's concatenation by index notation (slices become ranges).

>>> import fungrad.numpy as fnp
>>> fnp.r_[0:3, 7, np.array([8.0, 9.0])]
array([0., 1., 2., 7., 8., 9.])
>>> fnp.c_[np.array([1, 2]), np.array([3, 4])]
array([[1, 3],
       [2, 4]])
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fungrad import lax
from fungrad.core import Tracer
from fungrad.numpy.creation import arange, linspace
from fungrad.numpy.manipulation import concatenate, expand_dims, transpose
from fungrad.numpy.promotion import asarray, result_type


def _range(s: slice) -> Any:
    start = 0 if s.start is None else s.start
    step = 1 if s.step is None else s.step
    if isinstance(step, complex):  # a number of points, as in np.linspace
        return linspace(start, s.stop, int(abs(step)))
    return arange(start, s.stop, step)


def _directive(text: str, defaults: tuple[int, int, int]) -> tuple[int, int, int]:
    """``'axis[,ndmin[,trans1d]]'``; what it leaves out keeps its default."""
    if text in ("r", "c"):
        raise NotImplementedError(f"r_/c_: the matrix directive {text!r} is not supported "
                                  "(fungrad has no np.matrix)")
    try:
        parts = [int(p) for p in text.split(",")]
    except ValueError:
        raise ValueError(f"r_/c_: unknown directive {text!r}: expected 'axis[,ndmin[,trans1d]]'")
    axis, ndmin, trans1d = (parts + list(defaults[len(parts):]))[:3]
    return axis, ndmin, trans1d


def _at_least(x: Any, ndmin: int, trans1d: int) -> Any:
    """``x`` with ones added to reach ``ndmin`` axes; ``trans1d`` says where its own axes go."""
    nd = x.ndim
    if nd >= ndmin:
        return x
    x = expand_dims(x, tuple(range(ndmin - nd)))
    if trans1d == -1:
        return x
    k1 = trans1d + (ndmin - nd) + 1 if trans1d < 0 else trans1d
    k2 = ndmin - nd
    axes = list(range(ndmin))
    return transpose(x, axes[:k1] + axes[k2:] + axes[k1:k2])


class _Concatenator:
    """``obj[items]`` concatenates the items along ``axis`` after bringing each to ``ndmin``
    axes; a leading string ``'axis,ndmin,trans1d'`` overrides the defaults."""

    def __init__(self, axis: int, ndmin: int, trans1d: int) -> None:
        self.defaults = (axis, ndmin, trans1d)

    def __getitem__(self, key: Any) -> Any:
        items = list(key) if isinstance(key, tuple) else [key]
        axis, ndmin, trans1d = self.defaults
        if items and isinstance(items[0], str):
            axis, ndmin, trans1d = _directive(items.pop(0), self.defaults)
        if not items:
            return np.zeros(0)
        arrays, scalars = [], []
        for item in items:
            if isinstance(item, slice):
                arrays.append(_range(item))
            elif isinstance(item, (np.ndarray, Tracer, list, tuple)) or np.ndim(item):
                arrays.append(asarray(item))
            else:
                scalars.append(item)
                arrays.append(None)
        dtype = result_type(*[a for a in arrays if a is not None], *scalars)
        parts = []
        for item, arr in zip(items, arrays):
            x = asarray(item, dtype) if arr is None else lax.convert_element_type(arr, dtype)
            parts.append(_at_least(x if x.ndim else x.reshape(1), max(ndmin, 1), trans1d))
        return concatenate(parts, axis)

    def __len__(self) -> int:
        return 0


r_ = _Concatenator(0, 1, -1)
c_ = _Concatenator(-1, 2, 0)
