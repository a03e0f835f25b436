"""The slicing family: static ``slice`` / ``slice_in_dim`` / ``index_in_dim`` (gathers of static
slices) and the ``dynamic_slice`` / ``dynamic_update_slice`` primitives with traced starts.
"""
from __future__ import annotations

import builtins
from typing import Any, Sequence

import numpy as np

from fungrad.core import get_aval
from fungrad.errors import ShapeError
from fungrad.interpreters.batching import batch_rules
from fungrad.lax.registry import (
    as_operand, bdim_to_front, deflinear, deftranspose, moveaxis, primitive,
)
from fungrad.interpreters.transpose import aval_of, is_undefined, transpose_rules
from fungrad.ir import ShapedArray
from fungrad.lax.elementwise import add, convert_element_type, max as lmax, min as lmin
from fungrad.lax.index_layout import INDEX_DTYPE, Slice
from fungrad.lax.indexing import axis_size, gather, gather_p, logical_shape, scatter
from fungrad.lax.shape_ops import full, iota, reshape
from fungrad.source_info import at_user_line

_slice = builtins.slice  # this module defines lax.slice


def slice(x: Any, start_indices: Sequence[int], limit_indices: Sequence[int],
          strides: Sequence[int] | None = None) -> Any:
    """``x[start:limit:stride]`` along every axis (static bounds).

    >>> slice(np.arange(10), (1,), (8,), (3,))
    array([1, 4, 7])
    """
    shape = get_aval(x).shape
    strides = (1,) * len(shape) if strides is None else tuple(strides)
    if not len(start_indices) == len(limit_indices) == len(strides) == len(shape):
        raise ShapeError(f"slice: start {tuple(start_indices)}, limit {tuple(limit_indices)} and "
                         f"strides {strides} must each have one entry per axis of "
                         f"{get_aval(x)}{at_user_line()}")
    for lo, hi, st, n in zip(start_indices, limit_indices, strides, shape):
        if not (0 <= lo <= hi <= n and st >= 1):
            raise ShapeError(f"slice: bounds {tuple(start_indices)}:{tuple(limit_indices)} "
                             f"(strides {strides}) do not fit {get_aval(x)}{at_user_line()}")
    index = tuple(Slice(int(lo), int(hi), int(st)) for lo, hi, st in
                  zip(start_indices, limit_indices, strides))
    return gather_p.bind(x, indexer=index, mode="clip", fill_value=None)


def slice_in_dim(x: Any, start_index: int | None, limit_index: int | None, stride: int = 1,
                 axis: int = 0) -> Any:
    """``x[start:limit:stride]`` along ``axis`` (static; negative and None bounds as in NumPy).

    >>> slice_in_dim(np.arange(6).reshape(2, 3), 1, None, axis=1)
    array([[1, 2],
           [4, 5]])
    """
    shape = get_aval(x).shape
    axis %= len(shape)
    lo, hi, _ = _slice(start_index, limit_index).indices(shape[axis])
    starts, limits = [0] * len(shape), list(shape)
    starts[axis], limits[axis] = lo, max(lo, hi)
    strides = [1] * len(shape)
    strides[axis] = stride
    return slice(x, starts, limits, strides)


def index_in_dim(x: Any, index: int, axis: int = 0, keepdims: bool = True) -> Any:
    """Entry ``index`` (static, negative counts from the end) of ``x`` along ``axis``."""
    shape = get_aval(x).shape
    axis %= len(shape)
    index = index + shape[axis] if index < 0 else index
    out = slice_in_dim(x, index, index + 1, axis=axis)
    return out if keepdims else reshape(out, shape[:axis] + shape[axis + 1:])


def _clamped_starts(shape: Sequence[int], starts: Sequence[Any], sizes: Sequence[int]) -> Any:
    return tuple(_slice(s, s + k) for s, k in zip(
        (int(np.clip(int(s), 0, n - k)) for s, n, k in zip(starts, shape, sizes)), sizes))


def _dynamic_slice_impl(x: Any, *starts: Any, slice_sizes: tuple[int, ...]) -> Any:
    x = np.asarray(x)
    return x[_clamped_starts(x.shape, starts, slice_sizes)]


def _dynamic_update_slice_impl(x: Any, update: Any, *starts: Any) -> Any:
    out = np.array(x, copy=True)
    out[_clamped_starts(out.shape, starts, np.shape(update))] = update
    return out


def _check_starts(name: str, x: ShapedArray, starts: Sequence[ShapedArray]) -> None:
    if len(starts) != x.ndim or any(s.shape != () or s.dtype.kind not in "iu" for s in starts):
        raise ShapeError(f"{name}: needs {x.ndim} scalar integer start indices for {x}, got "
                         f"({', '.join(map(str, starts))})")


def _dynamic_slice_shape(x: ShapedArray, *starts: ShapedArray,
                         slice_sizes: tuple[int, ...]) -> ShapedArray:
    _check_starts("dynamic_slice", x, starts)
    if len(slice_sizes) != x.ndim or any(not 0 <= k <= n for k, n in zip(slice_sizes, x.shape)):
        raise ShapeError(f"dynamic_slice: slice sizes {slice_sizes} do not fit {x}")
    return ShapedArray(slice_sizes, x.dtype)


def _dynamic_update_slice_shape(x: ShapedArray, update: ShapedArray,
                                *starts: ShapedArray) -> ShapedArray:
    _check_starts("dynamic_update_slice", x, starts)
    if (update.ndim != x.ndim or update.dtype != x.dtype
            or any(k > n for k, n in zip(update.shape, x.shape))):
        raise ShapeError(f"dynamic_update_slice: update {update} does not fit into {x}")
    return x


dynamic_slice_p = primitive("dynamic_slice", _dynamic_slice_impl, _dynamic_slice_shape)
dynamic_update_slice_p = primitive("dynamic_update_slice", _dynamic_update_slice_impl,
                                   _dynamic_update_slice_shape)
deflinear(dynamic_slice_p, (0,))
deflinear(dynamic_update_slice_p, (0, 1))


def dynamic_slice(x: Any, start_indices: Sequence[Any], slice_sizes: Sequence[int]) -> Any:
    """The block of ``x`` of shape ``slice_sizes`` at ``start_indices`` (traced scalars allowed);
    starts are clamped so that the block fits, as in JAX.

    >>> dynamic_slice(np.arange(6), (4,), (3,))
    array([3, 4, 5])
    """
    return dynamic_slice_p.bind(x, *start_indices, slice_sizes=tuple(int(k) for k in slice_sizes))


def dynamic_update_slice(x: Any, update: Any, start_indices: Sequence[Any]) -> Any:
    """``x`` with the block at ``start_indices`` replaced by ``update`` (starts clamped to fit).

    >>> dynamic_update_slice(np.zeros(4), np.ones(2), (1,))
    array([0., 1., 1., 0.])
    """
    return dynamic_update_slice_p.bind(x, as_operand(update, x), *start_indices)


def _starts_in_dim(x: Any, index: Any, axis: int) -> list[Any]:
    starts: list[Any] = [0] * get_aval(x).ndim
    starts[axis] = index
    return starts


def dynamic_slice_in_dim(x: Any, start_index: Any, slice_size: int, axis: int = 0) -> Any:
    """``x`` sliced to ``slice_size`` entries from ``start_index`` along ``axis``."""
    shape = list(get_aval(x).shape)
    axis %= len(shape)
    shape[axis] = slice_size
    return dynamic_slice(x, _starts_in_dim(x, start_index, axis), shape)


def dynamic_index_in_dim(x: Any, index: Any, axis: int = 0, keepdims: bool = True) -> Any:
    """Entry ``index`` (traced allowed, clamped) of ``x`` along ``axis``.

    >>> dynamic_index_in_dim(np.arange(6).reshape(2, 3), 1, axis=1, keepdims=False)
    array([1, 4])
    """
    axis %= get_aval(x).ndim
    out = dynamic_slice_in_dim(x, index, 1, axis)
    if keepdims:
        return out
    shape = get_aval(out).shape
    return reshape(out, shape[:axis] + shape[axis + 1:])


def dynamic_update_slice_in_dim(x: Any, update: Any, start_index: Any, axis: int) -> Any:
    """``x`` with ``update`` written from ``start_index`` along ``axis``."""
    axis %= get_aval(x).ndim
    return dynamic_update_slice(x, update, _starts_in_dim(x, start_index, axis))


def dynamic_update_index_in_dim(x: Any, update: Any, index: Any, axis: int) -> Any:
    """``x`` with entry ``index`` along ``axis`` replaced by ``update`` (rank of x, or one less)."""
    axis %= get_aval(x).ndim
    ua = get_aval(update)
    if ua.ndim == get_aval(x).ndim - 1:
        update = reshape(update, ua.shape[:axis] + (1,) + ua.shape[axis:])
    return dynamic_update_slice_in_dim(x, update, index, axis)


def _dus_transpose(ct: Any, x: Any, update: Any, *starts: Any) -> list[Any]:
    ua = aval_of(update)
    ct_x = (dynamic_update_slice_p.bind(ct, full(ua.shape, 0, ua.dtype), *starts)
            if is_undefined(x) else None)
    ct_u = dynamic_slice_p.bind(ct, *starts, slice_sizes=ua.shape) if is_undefined(update) else None
    return [ct_x, ct_u] + [None] * len(starts)


deftranspose(dynamic_slice_p, lambda ct, x, *starts, slice_sizes: dynamic_update_slice_p.bind(
    full(aval_of(x).shape, 0, aval_of(x).dtype), ct, *starts))
transpose_rules[dynamic_update_slice_p] = _dus_transpose


def _window_index(shape: Sequence[int], starts: Sequence[Any], dims: Sequence[int | None],
                  sizes: Sequence[int], size: int) -> list[Any]:
    """Index arrays picking, per batch member, the clamped window of ``sizes`` at ``starts``:
    all adjacent, so the result is (batch, *sizes)."""
    rank = len(shape)
    out = []
    for axis, (s, d, n, k) in enumerate(zip(starts, dims, shape, sizes)):
        s = convert_element_type(s, INDEX_DTYPE) if get_aval(s).dtype != INDEX_DTYPE else s
        s = lmin(lmax(s, 0), n - k)
        s = reshape(s, ((size,) if d is not None else (1,)) + (1,) * rank)
        offsets = reshape(iota(INDEX_DTYPE, k), (1,) * (axis + 1) + (k,) + (1,) * (rank - axis - 1))
        out.append(add(s, offsets))
    return out


def _dynamic_slice_batch(vals: Sequence[Any], dims: Sequence[int | None], *,
                         slice_sizes: tuple[int, ...]) -> tuple[Any, int]:
    x, xd, starts = vals[0], dims[0], vals[1:]
    if all(d is None for d in dims[1:]):
        x = moveaxis(x, xd, 0)  # type: ignore[arg-type]
        n = get_aval(x).shape[0]
        return dynamic_slice_p.bind(x, 0, *starts, slice_sizes=(n,) + slice_sizes), 0
    size = axis_size(vals, dims)
    logical = logical_shape(x, xd)
    index = _window_index(logical, starts, dims[1:], slice_sizes, size)
    if xd is not None:
        x = moveaxis(x, xd, 0)
        index.insert(0, reshape(iota(INDEX_DTYPE, size), (size,) + (1,) * len(logical)))
    return gather(x, tuple(index)), 0


def _dynamic_update_slice_batch(vals: Sequence[Any],
                                dims: Sequence[int | None]) -> tuple[Any, int]:
    size = axis_size(vals, dims)
    x = bdim_to_front(vals[0], dims[0], size)
    u = bdim_to_front(vals[1], dims[1], size)
    starts = vals[2:]
    if all(d is None for d in dims[2:]):
        return dynamic_update_slice_p.bind(x, u, 0, *starts), 0
    logical = get_aval(x).shape[1:]
    index = _window_index(logical, starts, dims[2:], get_aval(u).shape[1:], size)
    index.insert(0, reshape(iota(INDEX_DTYPE, size), (size,) + (1,) * len(logical)))
    return scatter(x, tuple(index), u, mode="set"), 0


batch_rules[dynamic_slice_p] = _dynamic_slice_batch
batch_rules[dynamic_update_slice_p] = _dynamic_update_slice_batch
