"""Shape primitives: full, broadcast_in_dim, reshape, transpose (more are added beside them)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from fungrad.core import get_aval
from fungrad.errors import ShapeError
from fungrad.interpreters.ad import deflinear, defjvp_zero
from fungrad.interpreters.batching import batch_rules, moveaxis
from fungrad.interpreters.transpose import aval_of, deftranspose
from fungrad.ir import ShapedArray
from fungrad.lax.registry import primitive


def _full(*, shape: tuple[int, ...], fill_value: Any, dtype: np.dtype[Any]) -> Any:
    return np.full(shape, fill_value, dtype)


full_p = primitive("full", _full, lambda *, shape, fill_value, dtype: ShapedArray(shape, dtype))
defjvp_zero(full_p)


def full(shape: Sequence[int], fill_value: Any, dtype: Any = None) -> Any:
    """An array of ``shape`` filled with the static scalar ``fill_value``."""
    dtype = np.dtype(dtype) if dtype is not None else np.asarray(fill_value).dtype
    return full_p.bind(shape=tuple(int(d) for d in shape),
                       fill_value=np.asarray(fill_value, dtype).item(), dtype=dtype)


# ---------------------------------------------------------------- broadcast_in_dim
def _broadcast_in_dim(x: Any, *, shape: tuple[int, ...],
                      broadcast_dimensions: tuple[int, ...]) -> Any:
    x = np.asarray(x)
    expanded = [1] * len(shape)
    for d, n in zip(broadcast_dimensions, x.shape):
        expanded[d] = n
    return np.broadcast_to(x.reshape(expanded), shape)


def _broadcast_in_dim_shape(x: ShapedArray, *, shape: tuple[int, ...],
                            broadcast_dimensions: tuple[int, ...]) -> ShapedArray:
    if len(broadcast_dimensions) != x.ndim or any(
            x.shape[i] not in (1, shape[d]) for i, d in enumerate(broadcast_dimensions)):
        raise ShapeError(f"broadcast_in_dim: cannot broadcast {x} to {shape} along "
                         f"dimensions {broadcast_dimensions}")
    return ShapedArray(shape, x.dtype)


def _broadcast_in_dim_transpose(ct: Any, x: Any, *, shape: tuple[int, ...],
                                broadcast_dimensions: tuple[int, ...]) -> Any:
    xa = aval_of(x)
    summed = tuple(i for i in range(len(shape)) if i not in broadcast_dimensions)
    kept_ones = tuple(d for i, d in enumerate(broadcast_dimensions)
                      if xa.shape[i] == 1 and shape[d] != 1)
    out = reduce_sum(ct, tuple(sorted(summed + kept_ones)))
    return reshape(out, xa.shape)


def _broadcast_in_dim_batch(vals: Any, dims: Any, *, shape: tuple[int, ...],
                            broadcast_dimensions: tuple[int, ...]) -> tuple[Any, int]:
    x = moveaxis(vals[0], dims[0], 0)
    size = get_aval(x).shape[0]
    out = broadcast_in_dim(x, (size,) + shape, (0,) + tuple(d + 1 for d in broadcast_dimensions))
    return out, 0


broadcast_in_dim_p = primitive("broadcast_in_dim", _broadcast_in_dim, _broadcast_in_dim_shape)
deflinear(broadcast_in_dim_p)
deftranspose(broadcast_in_dim_p, _broadcast_in_dim_transpose)
batch_rules[broadcast_in_dim_p] = _broadcast_in_dim_batch


def broadcast_in_dim(x: Any, shape: Sequence[int], broadcast_dimensions: Sequence[int]) -> Any:
    """``x`` broadcast to ``shape``, its axis ``i`` becoming axis ``broadcast_dimensions[i]``."""
    shape, dims = tuple(int(d) for d in shape), tuple(int(d) for d in broadcast_dimensions)
    if get_aval(x).shape == shape and dims == tuple(range(len(shape))):
        return x
    return broadcast_in_dim_p.bind(x, shape=shape, broadcast_dimensions=dims)


def broadcast_to(x: Any, shape: Sequence[int]) -> Any:
    """NumPy's ``broadcast_to``: align trailing axes."""
    shape = tuple(shape)
    nd = get_aval(x).ndim
    return broadcast_in_dim(x, shape, tuple(range(len(shape) - nd, len(shape))))


# ---------------------------------------------------------------- reshape
def _reshape(x: Any, *, new_sizes: tuple[int, ...]) -> Any:
    return np.reshape(x, new_sizes)


def _reshape_shape(x: ShapedArray, *, new_sizes: tuple[int, ...]) -> ShapedArray:
    if int(np.prod(new_sizes, dtype=np.int64)) != x.size:
        raise ShapeError(f"reshape: cannot reshape {x} into shape {new_sizes}")
    return ShapedArray(new_sizes, x.dtype)


def _reshape_batch(vals: Any, dims: Any, *, new_sizes: tuple[int, ...]) -> tuple[Any, int]:
    x = moveaxis(vals[0], dims[0], 0)
    return reshape(x, get_aval(x).shape[:1] + new_sizes), 0


reshape_p = primitive("reshape", _reshape, _reshape_shape)
deflinear(reshape_p)
deftranspose(reshape_p, lambda ct, x, *, new_sizes: reshape(ct, aval_of(x).shape))
batch_rules[reshape_p] = _reshape_batch


def reshape(x: Any, new_sizes: Sequence[int]) -> Any:
    """``x`` with shape ``new_sizes`` (row-major order; no ``-1``: see fungrad.numpy.reshape)."""
    new_sizes = tuple(int(d) for d in new_sizes)
    if get_aval(x).shape == new_sizes:
        return x
    return reshape_p.bind(x, new_sizes=new_sizes)


# ---------------------------------------------------------------- transpose
def _transpose(x: Any, *, permutation: tuple[int, ...]) -> Any:
    return np.transpose(x, permutation)


def _transpose_shape(x: ShapedArray, *, permutation: tuple[int, ...]) -> ShapedArray:
    if sorted(permutation) != list(range(x.ndim)):
        raise ShapeError(f"transpose: {permutation} is not a permutation of the axes of {x}")
    return ShapedArray(tuple(x.shape[p] for p in permutation), x.dtype)


def _transpose_batch(vals: Any, dims: Any, *, permutation: tuple[int, ...]) -> tuple[Any, int]:
    x = moveaxis(vals[0], dims[0], 0)
    return transpose(x, (0,) + tuple(p + 1 for p in permutation)), 0


transpose_p = primitive("transpose", _transpose, _transpose_shape)
deflinear(transpose_p)
deftranspose(transpose_p,
             lambda ct, x, *, permutation: transpose(ct, tuple(np.argsort(permutation))))
batch_rules[transpose_p] = _transpose_batch


def transpose(x: Any, permutation: Sequence[int]) -> Any:
    """``x`` with axes permuted: output axis ``i`` is input axis ``permutation[i]``."""
    perm = tuple(int(p) for p in permutation)
    if perm == tuple(range(len(perm))):
        return x
    return transpose_p.bind(x, permutation=perm)


# ---------------------------------------------------------------- reduce_sum
def _reduce_sum(x: Any, *, axes: tuple[int, ...]) -> Any:
    return np.sum(x, axis=axes)


def _reduce_shape(x: ShapedArray, *, axes: tuple[int, ...]) -> ShapedArray:
    if any(not 0 <= a < x.ndim for a in axes):
        raise ShapeError(f"reduction axes {axes} out of range for {x}")
    return ShapedArray(tuple(n for i, n in enumerate(x.shape) if i not in axes), x.dtype)


def _reduce_sum_transpose(ct: Any, x: Any, *, axes: tuple[int, ...]) -> Any:
    shape = aval_of(x).shape
    kept = tuple(i for i in range(len(shape)) if i not in axes)
    return broadcast_in_dim(ct, shape, kept)


def _reduce_batch(prim: Any) -> Any:
    def rule(vals: Any, dims: Any, *, axes: tuple[int, ...], **params: Any) -> tuple[Any, int]:
        d = dims[0]
        new_axes = tuple(a + (a >= d) for a in axes)
        out_dim = d - sum(a < d for a in axes)
        return prim.bind(vals[0], axes=new_axes, **params), out_dim
    return rule


reduce_sum_p = primitive("reduce_sum", _reduce_sum, _reduce_shape)
deflinear(reduce_sum_p)
deftranspose(reduce_sum_p, _reduce_sum_transpose)
batch_rules[reduce_sum_p] = _reduce_batch(reduce_sum_p)


def reduce_sum(x: Any, axes: Sequence[int]) -> Any:
    """Sum of ``x`` over ``axes`` (non-negative, static)."""
    axes = tuple(sorted(int(a) for a in axes))
    if not axes:
        return x
    return reduce_sum_p.bind(x, axes=axes)


# ---------------------------------------------------------------- iota
def _iota(*, dtype: np.dtype[Any], shape: tuple[int, ...], dimension: int) -> Any:
    ones = [1] * len(shape)
    ones[dimension] = shape[dimension]
    return np.broadcast_to(np.arange(shape[dimension], dtype=dtype).reshape(ones), shape)


def _iota_shape(*, dtype: np.dtype[Any], shape: tuple[int, ...], dimension: int) -> ShapedArray:
    if not 0 <= dimension < len(shape):
        raise ShapeError(f"broadcasted_iota: dimension {dimension} out of range for shape {shape}")
    return ShapedArray(shape, dtype)


iota_p = primitive("iota", _iota, _iota_shape)
defjvp_zero(iota_p)


def broadcasted_iota(dtype: Any, shape: Sequence[int], dimension: int) -> Any:
    """An array of ``shape`` counting 0, 1, ... along ``dimension``.

    >>> broadcasted_iota(np.int64, (2, 3), 1)
    array([[0, 1, 2],
           [0, 1, 2]])
    """
    shape = tuple(int(d) for d in shape)
    return iota_p.bind(dtype=np.dtype(dtype), shape=shape, dimension=int(dimension) % len(shape))


def iota(dtype: Any, size: int) -> Any:
    """``[0, 1, ..., size - 1]`` of ``dtype``.

    >>> iota(np.int32, 3)
    array([0, 1, 2], dtype=int32)
    """
    return broadcasted_iota(dtype, (int(size),), 0)
