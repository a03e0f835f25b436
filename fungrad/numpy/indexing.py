"""NumPy indexing on fungrad values: ``x[idx]``, ``x.at[idx].set(v)``, take, where, searchsorted.

Basic indices (ints, slices, None, Ellipsis) lower to cheap ``slice``/``rev``/``reshape``
primitives; integer arrays, traced integer scalars and concrete boolean masks go through
``lax.gather``, with NumPy's placement of the advanced-index dimensions. A traced boolean mask
has no static shape, so it is an error pointing to ``where``.

>>> import fungrad.numpy as fnp
>>> x = np.arange(6.0).reshape(2, 3)
>>> fnp.at(x)[0, 1].add(10.0)[0]
array([ 0., 11.,  2.])
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from fungrad.numpy.keywords import check_out
from fungrad import lax
from fungrad.core import Tracer, concrete_or_none
from fungrad.errors import ConcretizationError
from fungrad.lax.index_layout import Slice
from fungrad.lax.indexing import gather_p
from fungrad.numpy.manipulation import broadcast_shapes, canonical_axis, ravel, reshape
from fungrad.numpy.promotion import asarray, asarray_of, promote
from fungrad.source_info import at_user_line
from fungrad.numpy import ufuncs
from fungrad.numpy.reductions import sum as _sum

_BASIC = (int, np.integer, slice, type(None), type(Ellipsis))


def _as_tuple(idx: Any) -> tuple[Any, ...]:
    return idx if isinstance(idx, tuple) else (idx,)


def _expand_ellipsis(idx: tuple[Any, ...], ndim: int) -> list[Any]:
    n_real = sum(_consumed(e) for e in idx)
    out: list[Any] = []
    seen = False
    for e in idx:
        if e is Ellipsis:
            if seen:
                raise IndexError("an index can only have a single ellipsis ('...')")
            seen = True
            out.extend([slice(None)] * (ndim - n_real))
        else:
            out.append(e)
    if n_real > ndim:
        raise IndexError(f"too many indices for array: array is {ndim}-dimensional, but "
                         f"{n_real} were indexed{at_user_line()}")
    return out + [slice(None)] * (0 if seen else ndim - n_real)


def _consumed(e: Any) -> int:
    """How many axes of the array an index entry consumes."""
    if e is None or e is Ellipsis:
        return 0
    return e.ndim if isinstance(e, np.ndarray) and e.dtype == bool else 1


def _basic_getitem(x: Any, idx: tuple[Any, ...]) -> Any:
    """``x[idx]`` for static ints/slices/None/Ellipsis: one slice, one rev, one reshape."""
    entries = _expand_ellipsis(idx, x.ndim)
    starts, limits, strides, flips, out_shape = [], [], [], [], []
    axis = 0
    for e in entries:
        if e is None:
            out_shape.append(1)
            continue
        n = x.shape[axis]
        if isinstance(e, slice):
            start, stop, step = e.indices(n)
            count = len(range(start, stop, step))
            if step < 0:
                first = start + (count - 1) * step if count else 0
                start, step = first, -step
                flips.append(axis)
            starts.append(start)
            limits.append(start + (count - 1) * step + 1 if count else start)
            strides.append(step)
            out_shape.append(count)
        else:
            i = int(e)
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for axis {axis} with size {n}"
                                 f"{at_user_line()}")
            i %= n
            starts.append(i)
            limits.append(i + 1)
            strides.append(1)
        axis += 1
    out = x
    if starts != [0] * x.ndim or limits != list(x.shape) or strides != [1] * x.ndim:
        out = lax.slice(x, starts, limits, strides)
    if flips:
        out = lax.rev(out, flips)
    return lax.reshape(out, out_shape)


def _int_getitem(x: Any, i: int) -> Any:
    """``x[i]`` for a Python int: ``_basic_getitem``'s slice and reshape, built directly (the
    commonest index: a model's parameters ``b[0]``, ``b[1]``... under ``jacfwd``)."""
    shape = x.shape
    if not shape:
        return _basic_getitem(x, (i,))   # (its error)
    n = shape[0]
    if not -n <= i < n:
        raise IndexError(f"index {i} is out of bounds for axis 0 with size {n}{at_user_line()}")
    i %= n
    if n != 1:
        index = (Slice(i, i + 1, 1),) + tuple(Slice(0, m, 1) for m in shape[1:])
        x = gather_p.bind(x, indexer=index, mode="clip", fill_value=None)
    return lax.reshape(x, shape[1:])


def _concrete_mask(e: Any) -> Any:
    """A boolean index as a concrete NumPy array, or a clear error."""
    val = concrete_or_none(e)
    if val is None:
        raise ConcretizationError(
            f"a boolean mask index needs concrete values: under jit/vmap its number of True "
            f"entries (and so the result's shape) is unknown. Use "
            f"fungrad.numpy.where(mask, x, 0) or a fixed-size integer index{at_user_line()}")
    return np.asarray(val)


def _normalize(x: Any, idx: Any) -> tuple[Any, ...]:
    """The index with lists as arrays, boolean masks concrete, and array bounds checked."""
    out = []
    for e in _as_tuple(idx):
        if isinstance(e, (list, np.ndarray)) or (isinstance(e, Tracer) and e.dtype == bool):
            if isinstance(e, Tracer) or (isinstance(e, (list, np.ndarray))
                                         and np.asarray(e).dtype == bool):
                e = _concrete_mask(e)
            else:
                e = np.asarray(e)
                if e.dtype.kind not in "iub":
                    if e.size == 0:
                        e = e.astype(np.int64)
                    else:
                        raise IndexError(f"arrays used as indices must be of integer (or "
                                         f"boolean) type{at_user_line()}")
        out.append(e)
    return tuple(out)


def _check_bounds(x: Any, idx: tuple[Any, ...]) -> None:
    """NumPy raises IndexError for out-of-bounds concrete integer arrays; so do we."""
    if not any(isinstance(e, np.ndarray) and e.dtype.kind in "iu" for e in idx):
        return
    entries = _expand_ellipsis(idx, x.ndim)
    axis = 0
    for e in entries:
        if e is None:
            continue
        if isinstance(e, np.ndarray) and e.dtype == bool:
            axis += e.ndim
            continue
        if isinstance(e, np.ndarray) and e.size:
            n = x.shape[axis]
            if e.min() < -n or e.max() >= n:
                raise IndexError(f"index {int(e.max() if e.max() >= n else e.min())} is out "
                                 f"of bounds for axis {axis} with size {n}{at_user_line()}")
        axis += 1


def getitem(x: Any, idx: Any) -> Any:
    """``x[idx]`` with NumPy's semantics (traced integer indices are clamped into range)."""
    if type(idx) is int and isinstance(x, Tracer):
        return _int_getitem(x, idx)
    x = asarray(x)
    tup = _as_tuple(idx)
    if all(isinstance(e, _BASIC) and not isinstance(e, (bool, np.bool_)) for e in tup) and \
            all(not isinstance(e, slice) or _static_slice(e) for e in tup):
        return _basic_getitem(x, tup)
    tup = _normalize(x, tup)
    _check_bounds(x, tup)
    return lax.gather(x, tup)


def _static_slice(s: slice) -> bool:
    return all(v is None or isinstance(v, (int, np.integer)) for v in (s.start, s.stop, s.step))


# ---------------------------------------------------------------- x.at[idx].op(v)
class IndexUpdateHelper:
    """``x.at``: indexing it gives an ``IndexUpdateRef`` for functional updates."""

    __slots__ = ("array",)

    def __init__(self, array: Any) -> None:
        self.array = array

    def __getitem__(self, index: Any) -> IndexUpdateRef:
        return IndexUpdateRef(self.array, index)

    def __repr__(self) -> str:
        return f"_IndexUpdateHelper({self.array!r})"


def _update(kind: str, doc: str) -> Callable[..., Any]:
    """An ``x.at[idx]`` method scattering with ``kind`` (JAX's keywords; ``mode`` is honoured)."""
    def method(self: IndexUpdateRef, values: Any, *, indices_are_sorted: bool = False,
               unique_indices: bool = False, mode: str | None = None) -> Any:
        return self._scatter(values, kind, mode)
    method.__doc__ = doc
    return method


def _via_factors(combine: str, doc: str) -> Callable[..., Any]:
    """``x`` combined with the product of the updates landing on each element (divide, power)."""
    def method(self: IndexUpdateRef, values: Any, **kw: Any) -> Any:
        x = asarray(self.array)
        factors = IndexUpdateRef(lax.full(x.shape, 1, x.dtype), self.index)._scatter(
            values, "mul", kw.get("mode"))
        return getattr(ufuncs, combine)(x, factors)
    method.__doc__ = doc
    return method


class IndexUpdateRef:
    """``x.at[idx]``: each method returns a new array, ``x`` itself is never changed.

    As in JAX, out-of-bounds updates are dropped (``mode="clip"`` clamps them instead).
    """

    __slots__ = ("array", "index")

    def __init__(self, array: Any, index: Any) -> None:
        self.array = array
        self.index = index

    def _indices(self) -> tuple[Any, tuple[Any, ...]]:
        """The array and the index with integers as 0-d arrays: out-of-bounds entries go to the
        gather/scatter's mode (JAX's rule for ``.at``), never to NumPy's IndexError."""
        x = asarray(self.array)
        return x, tuple(np.asarray(e) if isinstance(e, (int, np.integer)) and not isinstance(e, bool)
                        else e for e in _normalize(x, _as_tuple(self.index)))

    def _scatter(self, values: Any, kind: str, mode: str | None = None) -> Any:
        x, idx = self._indices()
        oob = "clip" if mode in ("clip", "promise_in_bounds") else "drop"
        return lax.scatter(x, idx, asarray_of(values, x.dtype), kind, oob)

    def get(self, mode: str | None = None, fill_value: Any = None) -> Any:
        """``x[idx]``; out-of-bounds indices are clamped (JAX's default), or with ``mode="fill"``
        give ``fill_value`` (NaN for inexact dtypes when not given)."""
        x, idx = self._indices()
        if mode == "fill":
            return lax.gather(x, idx, "fill", fill_value)
        return lax.gather(x, idx)

    set = _update("set", "``x`` with ``x[idx] = values``.")
    add = _update("add", "``x`` with ``x[idx] += values`` (repeated indices accumulate).")
    multiply = mul = _update("mul", "``x`` with ``x[idx] *= values``.")
    min = _update("min", "``x`` with ``x[idx] = minimum(x[idx], values)``.")
    max = _update("max", "``x`` with ``x[idx] = maximum(x[idx], values)``.")
    divide = _via_factors("divide", "``x`` with ``x[idx] /= values``.")
    power = _via_factors("power", "``x`` with ``x[idx] **= values``.")

    def subtract(self, values: Any, **kw: Any) -> Any:
        """``x`` with ``x[idx] -= values``."""
        neg = lax.neg(asarray_of(values, asarray(self.array).dtype))
        return self._scatter(neg, "add", kw.get("mode"))

    def apply(self, func: Callable[[Any], Any]) -> Any:
        """``x`` with ``x[idx] = func(x[idx])`` (indices assumed unique)."""
        return self.set(func(getitem(self.array, self.index)))


def at(x: Any) -> IndexUpdateHelper:
    """``x.at`` for any array, NumPy arrays included: ``fnp.at(x)[i].set(v)``."""
    return IndexUpdateHelper(asarray(x))


# ---------------------------------------------------------------- index-based functions
def take(a: Any, indices: Any, axis: int | None = None, out: None = None,
         mode: str | None = None) -> Any:
    """Elements of ``a`` at ``indices`` along ``axis`` (of the flattened array when None)."""
    check_out("take", out)
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = canonical_axis(axis, a.ndim)
    ind = indices if isinstance(indices, Tracer) else np.asarray(indices)
    if mode == "wrap":
        ind = lax.rem(ind, a.shape[axis]) if isinstance(ind, Tracer) else ind % a.shape[axis]
    elif mode == "clip" and not isinstance(ind, Tracer):
        ind = np.clip(ind, 0, a.shape[axis] - 1)
    return getitem(a, (slice(None),) * axis + (ind,))


def take_along_axis(arr: Any, indices: Any, axis: int | None) -> Any:
    """``arr`` indexed along ``axis`` by ``indices`` (same rank; other axes broadcast)."""
    arr = asarray(arr)
    if axis is None:
        arr, axis = ravel(arr), 0
    ind = asarray(indices)
    if ind.ndim != arr.ndim:
        raise ValueError(f"take_along_axis: `indices` and `arr` must have the same number of "
                         f"dimensions{at_user_line()}")
    axis = canonical_axis(axis, arr.ndim)
    shape = broadcast_shapes(tuple(n for i, n in enumerate(arr.shape) if i != axis),
                             tuple(n for i, n in enumerate(ind.shape) if i != axis))
    full_shape = list(shape)
    full_shape.insert(axis, ind.shape[axis])
    ind = lax.broadcast_to(ind, full_shape)
    index: list[Any] = []
    for d in range(arr.ndim):
        if d == axis:
            index.append(ind)
        else:
            s = [1] * arr.ndim
            s[d] = full_shape[d]
            index.append(np.arange(full_shape[d]).reshape(s) if arr.shape[d] != 1
                         else np.zeros(s, np.int64))
    return getitem(arr, tuple(index))


def where(condition: Any, x: Any = None, y: Any = None, *, size: int | None = None,
          fill_value: Any = None) -> Any:
    """``x`` where ``condition`` else ``y`` (broadcast); with one argument, ``nonzero``."""
    if x is None and y is None:
        return nonzero(condition, size=size, fill_value=fill_value)
    if x is None or y is None:
        raise ValueError("where: either both or neither of x and y should be given")
    c = asarray(condition)
    if c.dtype != bool:
        c = lax.ne(c, np.zeros((), c.dtype))
    a, b = promote(x, y)
    shape = broadcast_shapes(c.shape, np.shape(a) if not isinstance(a, Tracer) else a.shape,
                             np.shape(b) if not isinstance(b, Tracer) else b.shape)
    return lax.select(lax.broadcast_to(c, shape), a, b)


def select(condlist: Any, choicelist: Any, default: Any = 0) -> Any:
    """The first choice whose condition holds, elementwise (``default`` when none does)."""
    out = default
    for c, v in reversed(list(zip(condlist, choicelist))):
        out = where(c, v, out)
    return asarray(out)


def _concrete(a: Any, name: str) -> Any:
    val = concrete_or_none(a)
    if val is None:
        raise ConcretizationError(
            f"{name} needs concrete values: its result's shape depends on the data. Under "
            f"jit/vmap use fungrad.numpy.where{at_user_line()}")
    return np.asarray(val)


def nonzero(a: Any, *, size: int | None = None, fill_value: Any = None) -> tuple[Any, ...]:
    """Indices of the nonzero elements, one array per axis.

    Traced input needs a static ``size`` (as in JAX): the first ``size`` hits, padded with
    ``fill_value`` (default 0).
    """
    if size is None:
        return tuple(np.nonzero(_concrete(a, "nonzero (without size=)")))
    a = asarray(a)
    flat = ravel(a)
    hit = flat if flat.dtype == bool else lax.ne(flat, np.zeros((), flat.dtype))
    order = lax.argsort(lax.convert_element_type(lax.bitwise_not(hit), np.int8), dimension=0)
    n = flat.shape[0]
    first = getitem(order, slice(0, size)) if size <= n else lax.concatenate(
        [order, lax.full((size - n,), 0, order.dtype)], 0)
    valid = lax.lt(np.arange(size), _sum(hit, None, np.int64))
    out = []
    for dim in reversed(a.shape):
        out.append(lax.rem(first, np.int64(dim)))
        first = lax.div(first, np.int64(dim))
    fill = 0 if fill_value is None else fill_value
    return tuple(lax.select(valid, idx, np.asarray(fill, idx.dtype)) for idx in reversed(out))


def flatnonzero(a: Any) -> Any:
    """Indices of the nonzero elements of the flattened array (concrete input only)."""
    return np.flatnonzero(_concrete(a, "flatnonzero"))


def argwhere(a: Any) -> Any:
    """Indices of the nonzero elements, one row per element (concrete input only)."""
    return np.argwhere(_concrete(a, "argwhere"))


def compress(condition: Any, a: Any, axis: int | None = None, out: None = None) -> Any:
    """The slices of ``a`` along ``axis`` where the concrete ``condition`` holds."""
    check_out("compress", out)
    keep = np.nonzero(_concrete(condition, "compress"))[0]
    return take(a, keep, axis)


def extract(condition: Any, arr: Any) -> Any:
    """The elements of ``arr`` where the concrete ``condition`` holds."""
    return take(ravel(asarray(arr)), np.flatnonzero(_concrete(condition, "extract")))


def searchsorted(a: Any, v: Any, side: str = "left", sorter: Any = None) -> Any:
    """Where to insert ``v`` into the sorted 1-D ``a`` to keep it sorted (int64 indices)."""
    a, v = promote(asarray(a), asarray(v))
    if sorter is not None:
        a = take(a, sorter)
    cmp = lax.lt if side == "left" else lax.le
    hits = cmp(reshape(a, (1,) * v.ndim + (a.shape[0],)), reshape(v, tuple(v.shape) + (1,)))
    return _sum(hits, -1, np.int64)


def digitize(x: Any, bins: Any, right: bool = False) -> Any:
    """Indices of the bins (increasing ``bins``) that ``x`` falls in."""
    return searchsorted(bins, x, side="left" if right else "right")


def bincount(x: Any, weights: Any = None, minlength: int = 0, *,
             length: int | None = None) -> Any:
    """Counts (or summed ``weights``) of each non-negative integer in ``x``.

    Concrete input sizes the result like NumPy; traced input needs a static ``length``
    (values beyond it are dropped), as in JAX.
    """
    x = asarray(x)
    if length is None:
        val = _concrete(x, "bincount (without length=)")
        length = max(int(val.max()) + 1 if val.size else 0, minlength)
    w = np.ones((), np.int64) if weights is None else asarray(weights)
    dtype = np.dtype(np.int64) if weights is None else np.result_type(w.dtype, np.float64) \
        if w.dtype.kind in "biu" else w.dtype
    updates = lax.broadcast_to(lax.convert_element_type(w, dtype), x.shape)
    return lax.scatter(lax.full((length,), 0, dtype), (x,), updates, "add")
