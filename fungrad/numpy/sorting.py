"""Sorting with NumPy's names: sort, argsort (stable), msort-free, partition-free.

>>> import fungrad.numpy as fnp
>>> fnp.argsort(np.array([3.0, 1.0, 2.0]))
array([1, 2, 0])
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fungrad import lax
from fungrad.numpy.manipulation import canonical_axis, flip, ravel
from fungrad.numpy.promotion import asarray


def _axis(a: Any, axis: int | None) -> tuple[Any, int]:
    a = asarray(a)
    if axis is None:
        return ravel(a), 0
    return a, canonical_axis(axis, a.ndim)


def sort(a: Any, axis: int | None = -1, kind: Any = None, order: Any = None, *,
         stable: Any = None, descending: bool = False) -> Any:
    """``a`` sorted along ``axis`` (flattened when None); NaNs go last, as in NumPy."""
    a, ax = _axis(a, axis)
    out = lax.sort(a, dimension=ax)
    return flip(out, ax) if descending else out


def argsort(a: Any, axis: int | None = -1, kind: Any = None, order: Any = None, *,
            stable: Any = None, descending: bool = False) -> Any:
    """Indices that sort ``a`` along ``axis`` (stable: ties keep their order)."""
    a, ax = _axis(a, axis)
    if descending:
        n = a.shape[ax]
        rev = lax.argsort(flip(a, ax), dimension=ax)
        return flip(lax.sub(np.asarray(n - 1, rev.dtype), rev), ax)
    return lax.argsort(a, dimension=ax)
