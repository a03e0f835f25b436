"""Sorting along one axis: ``sort`` (of one array, or of several by the first ``num_keys``),
``argsort`` and ``top_k``. The tangent of a sort is the tangent permuted the same way.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from fungrad.core import get_aval
from fungrad.errors import ShapeError
from fungrad.interpreters.ad import Zero, jvp_rules
from fungrad.interpreters.batching import batch_rules
from fungrad.ir import ShapedArray
from fungrad.lax.elementwise import neg
from fungrad.lax.indexing import take_along_axis
from fungrad.lax.slicing import slice_in_dim
from fungrad.lax.registry import bdim_to_front, primitive
from fungrad.lax.shape_ops import broadcasted_iota


def _sort_impl(*operands: Any, dimension: int, is_stable: bool, num_keys: int) -> list[Any]:
    ops = [np.asarray(o) for o in operands]
    if num_keys == 1:
        perm = np.argsort(ops[0], axis=dimension, kind="stable" if is_stable else None)
    else:  # np.lexsort sorts by its last key first, along the last axis
        keys = [np.moveaxis(k, dimension, -1) for k in ops[:num_keys]]
        perm = np.moveaxis(np.lexsort(keys[::-1], axis=-1), -1, dimension)
    return [np.take_along_axis(o, perm, dimension) for o in ops]


def _sort_shape(*operands: ShapedArray, dimension: int, is_stable: bool,
                num_keys: int) -> list[ShapedArray]:
    shape = operands[0].shape
    if any(o.shape != shape for o in operands) or not 0 <= dimension < len(shape):
        raise ShapeError(f"sort: operands {', '.join(map(str, operands))} must share one shape "
                         f"with an axis {dimension}")
    if not 1 <= num_keys <= len(operands):
        raise ShapeError(f"sort: num_keys={num_keys} for {len(operands)} operands")
    return list(operands)


sort_p = primitive("sort", _sort_impl, _sort_shape, multiple_results=True)


def _sort_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, dimension: int,
              is_stable: bool, num_keys: int) -> tuple[Any, Any]:
    shape = get_aval(primals[0]).shape
    *outs, perm = sort_p.bind(*primals, broadcasted_iota(np.int64, shape, dimension),
                              dimension=dimension, is_stable=is_stable, num_keys=num_keys)
    out_ts = [Zero.like(o) if type(t) is Zero else take_along_axis(t, perm, dimension)
              for o, t in zip(outs, tangents)]
    return outs, out_ts


def _sort_batch(vals: Sequence[Any], dims: Sequence[int | None], *, dimension: int,
                is_stable: bool, num_keys: int) -> tuple[Any, Any]:
    size = next(get_aval(v).shape[d] for v, d in zip(vals, dims) if d is not None)
    outs = sort_p.bind(*[bdim_to_front(v, d, size) for v, d in zip(vals, dims)],
                       dimension=dimension + 1, is_stable=is_stable, num_keys=num_keys)
    return outs, [0] * len(outs)


jvp_rules[sort_p] = _sort_jvp
batch_rules[sort_p] = _sort_batch


def sort(operand: Any, dimension: int = -1, is_stable: bool = True, num_keys: int = 1) -> Any:
    """``operand`` sorted along ``dimension`` (NaNs last); a sequence of arrays is sorted by the
    first ``num_keys`` of them, the rest following the same permutation.

    >>> sort(np.array([3.0, 1.0, 2.0]))
    array([1., 2., 3.])
    >>> sort((np.array([2, 1]), np.array([10, 20])))[1]
    array([20, 10])
    """
    single = not isinstance(operand, (tuple, list))
    ops = [operand] if single else list(operand)
    dim = int(dimension) % get_aval(ops[0]).ndim
    outs = sort_p.bind(*ops, dimension=dim, is_stable=bool(is_stable), num_keys=int(num_keys))
    return outs[0] if single else tuple(outs)


def argsort(x: Any, dimension: int = -1, is_stable: bool = True,
            index_dtype: Any = np.int64) -> Any:
    """The indices that sort ``x`` along ``dimension`` (stable: ties keep their order).

    >>> argsort(np.array([3.0, 1.0, 3.0, 2.0]))
    array([1, 3, 0, 2])
    """
    shape = get_aval(x).shape
    dim = int(dimension) % len(shape)
    iota = broadcasted_iota(index_dtype, shape, dim)
    return sort_p.bind(x, iota, dimension=dim, is_stable=bool(is_stable), num_keys=1)[1]


def top_k(operand: Any, k: int) -> tuple[Any, Any]:
    """The ``k`` largest entries along the last axis, largest first, and their indices (ties:
    the lower index first).

    >>> top_k(np.array([1.0, 4.0, 2.0, 4.0]), 2)
    (array([4., 4.]), array([1, 3]))
    """
    a = get_aval(operand)
    if a.dtype.kind not in "fi":
        raise TypeError(f"top_k: needs a float or signed integer operand, got {a.dtype}")
    if not 0 <= k <= a.shape[-1]:
        raise ValueError(f"top_k: k={k} is out of range for {a}")
    idx = slice_in_dim(argsort(neg(operand), a.ndim - 1), 0, k, axis=-1)
    return take_along_axis(operand, idx, a.ndim - 1), idx
