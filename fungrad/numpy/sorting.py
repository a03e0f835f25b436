"""Sorting with NumPy's names: sort, argsort (stable), partition, argpartition.

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
from fungrad.core import concrete_or_none
from fungrad.errors import ConcretizationError
from fungrad.source_info import at_user_line
from fungrad.numpy.indexing import nonzero, take
from fungrad.numpy.manipulation import slice_axis


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


def unique(ar: Any, return_index: bool = False, return_inverse: bool = False,
           return_counts: bool = False, axis: int | None = None, *, size: int | None = None,
           fill_value: Any = None) -> Any:
    """The sorted unique values of ``ar`` (flattened).

    Concrete input goes to NumPy (all options). Traced input needs a static ``size``, as in
    JAX: the first ``size`` unique values, padded with ``fill_value`` (default: the smallest).
    """
    val = concrete_or_none(ar) if size is None else None
    if val is not None:
        return np.unique(np.asarray(val), return_index, return_inverse,  # type: ignore[call-overload]
                         return_counts, axis)
    if size is None or return_index or return_inverse or return_counts or axis is not None:
        raise ConcretizationError(
            f"unique of a traced array needs a static size= (and no return_* or axis): its "
            f"number of distinct values is unknown under jit/vmap{at_user_line()}")
    srt = lax.sort(ravel(asarray(ar)), dimension=0)
    n = srt.shape[0]
    if n == 0:
        return lax.full((size,), 0 if fill_value is None else fill_value, srt.dtype)
    first = lax.concatenate([np.ones(1, bool), lax.ne(slice_axis(srt, 1, n, 0),
                                                     slice_axis(srt, 0, n - 1, 0))], 0)
    (pos,) = nonzero(first, size=size, fill_value=n)
    fill = srt[0] if fill_value is None else np.asarray(fill_value, srt.dtype)
    picked = take(lax.concatenate([srt, lax.broadcast_to(fill, (1,))], 0), pos)
    return picked


def _kth(a: Any, kth: int, axis: int) -> tuple[Any, int, int]:
    a = asarray(a)
    if a.dtype.kind == "c":
        raise NotImplementedError("partition of complex arrays is not implemented (as in JAX)")
    ax = canonical_axis(axis, a.ndim)
    n = a.shape[ax]
    if not -n <= int(kth) < n:
        raise ValueError(f"partition: kth={kth} is out of bounds for an axis of size {n}")
    return a, ax, int(kth) % n


def partition(a: Any, kth: int, axis: int = -1) -> Any:
    """``a`` along ``axis`` with its ``kth`` smallest value at position ``kth``, smaller values
    before it and larger after. As in JAX: the part before is sorted ascending, the part after
    descending (NumPy leaves both orders unspecified).

    >>> import fungrad.numpy as fnp
    >>> fnp.partition(np.array([5.0, 1.0, 4.0, 2.0, 3.0]), 1)
    array([1., 2., 5., 4., 3.])
    """
    a, ax, k = _kth(a, kth, axis)
    s = lax.sort(a, dimension=ax)
    n = a.shape[ax]
    low = lax.slice_in_dim(s, 0, k + 1, axis=ax)
    high = lax.rev(lax.slice_in_dim(s, k + 1, n, axis=ax), (ax,))
    return lax.concatenate([low, high], ax)


def argpartition(a: Any, kth: int, axis: int = -1) -> Any:
    """Indices that partition ``a`` (see ``partition``): those of the ``kth + 1`` smallest
    first (ascending; ties by index), then the others in index order, as JAX orders them.

    >>> import fungrad.numpy as fnp
    >>> fnp.argpartition(np.array([5.0, 1.0, 4.0, 2.0, 3.0]), 1)
    array([1, 3, 0, 2, 4])
    """
    a, ax, k = _kth(a, kth, axis)
    n = a.shape[ax]
    iota = lax.broadcasted_iota(np.int64, a.shape, ax)
    ascending = lax.sort((a, iota), dimension=ax, num_keys=1)[1]
    low = lax.slice_in_dim(ascending, 0, k + 1, axis=ax)
    # rank of each element in the ascending order: the high part is rank > k
    rank = lax.sort((ascending, iota), dimension=ax, num_keys=1)[1]
    in_low = lax.convert_element_type(lax.le(rank, np.int64(k)), np.int8)
    order = lax.sort((in_low, iota), dimension=ax, num_keys=1)[1]  # stable: index order
    high = lax.slice_in_dim(order, 0, n - k - 1, axis=ax)
    return lax.concatenate([low, high], ax)
