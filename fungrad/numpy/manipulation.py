"""Shape manipulation with NumPy's names: reshape, transpose, stacking, splitting, tiling.

All shapes and axes are static; each function lowers to a few lax shape primitives.

>>> import fungrad.numpy as fnp
>>> fnp.stack([np.zeros(2), np.ones(2)], axis=1).shape
(2, 2)
"""
from __future__ import annotations

import math

import builtins
from typing import Any, Sequence

import numpy as np

from fungrad.numpy.static_values import static
from fungrad import lax
from fungrad.errors import ShapeError, broadcast_error
from fungrad.numpy.promotion import asarray, result_type
from fungrad.source_info import at_user_line


def canonical_axis(axis: int, ndim: int) -> int:
    """``axis`` in ``[0, ndim)``, or an error naming the user's line."""
    if not -ndim <= axis < builtins.max(ndim, 1) or (ndim == 0 and axis not in (0, -1)):
        raise ShapeError(f"axis {axis} is out of bounds for an array of dimension {ndim}"
                         f"{at_user_line()}")
    return axis % builtins.max(ndim, 1)


def canonical_axes(axis: Any, ndim: int) -> tuple[int, ...]:
    """A tuple of non-negative axes from None (all), an int or a sequence."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        return (canonical_axis(int(axis), ndim),)
    axes = tuple(canonical_axis(int(a), ndim) for a in axis)
    if len(set(axes)) != len(axes):
        raise ShapeError(f"repeated axis in {tuple(axis)}{at_user_line()}")
    return axes


def shape(a: Any) -> tuple[int, ...]:
    """The shape of ``a``."""
    return tuple(asarray(a).shape)


def ndim(a: Any) -> int:
    """The number of dimensions of ``a``."""
    return len(shape(a))


def size(a: Any, axis: int | None = None) -> int:
    """The number of elements of ``a`` (along ``axis`` if given)."""
    s = shape(a)
    return math.prod(s) if axis is None else s[axis]


def astype(x: Any, dtype: Any) -> Any:
    """``x`` converted to ``dtype``."""
    return lax.convert_element_type(asarray(x), np.dtype(dtype))


def copy(a: Any) -> Any:
    """A copy of ``a`` (values are immutable, so the array itself under transforms)."""
    a = asarray(a)
    return a.copy() if isinstance(a, np.ndarray) else a


def reshape(a: Any, newshape: Any = None, order: str = "C", *, shape: Any = None) -> Any:
    """``a`` with a new shape; one entry may be -1. ``order="F"`` reads column-major."""
    a = asarray(a)
    target = shape if shape is not None else newshape
    dims = [int(target)] if isinstance(target, (int, np.integer)) else [int(d) for d in target]
    if dims.count(-1) > 1:
        raise ShapeError(f"reshape: can only specify one unknown dimension{at_user_line()}")
    if -1 in dims:
        known = math.prod([d for d in dims if d != -1])
        if known == 0 or a.size % known:
            raise ShapeError(f"reshape: cannot reshape array of size {a.size} into shape "
                             f"{tuple(dims)}{at_user_line()}")
        dims[dims.index(-1)] = a.size // known
    if math.prod(dims) != a.size:
        raise ShapeError(f"reshape: cannot reshape array of size {a.size} into shape "
                         f"{tuple(dims)}{at_user_line()}")
    if order == "F":
        rev = transpose(a)
        return transpose(lax.reshape(rev, dims[::-1]))
    return lax.reshape(a, dims)


def ravel(a: Any, order: str = "C") -> Any:
    """``a`` flattened to one dimension."""
    return reshape(a, (-1,), order)


def transpose(a: Any, axes: Any = None) -> Any:
    """``a`` with its axes permuted (reversed when ``axes`` is None)."""
    a = asarray(a)
    perm = tuple(range(a.ndim))[::-1] if axes is None else canonical_axes(axes, a.ndim)
    if len(perm) != a.ndim:
        raise ShapeError(f"transpose: axes {axes} don't match an array of dimension {a.ndim}"
                         f"{at_user_line()}")
    return lax.transpose(a, perm)


def permute_dims(a: Any, axes: Any = None) -> Any:
    """The array-API name of ``transpose``."""
    return transpose(a, axes)


def swapaxes(a: Any, axis1: int, axis2: int) -> Any:
    """``a`` with two axes interchanged."""
    a = asarray(a)
    perm = list(range(a.ndim))
    i, j = canonical_axis(axis1, a.ndim), canonical_axis(axis2, a.ndim)
    perm[i], perm[j] = perm[j], perm[i]
    return lax.transpose(a, perm)


def rollaxis(a: Any, axis: int, start: int = 0) -> Any:
    """Axis ``axis`` moved to just before position ``start`` (NumPy's older ``moveaxis``).

    >>> import fungrad.numpy as fnp
    >>> fnp.rollaxis(np.ones((2, 3, 4, 5)), 3, 1).shape
    (2, 5, 3, 4)
    """
    a = asarray(a)
    axis = canonical_axis(axis, a.ndim)
    if not -a.ndim <= start <= a.ndim:
        raise ValueError(f"rollaxis: start={start} must satisfy {-a.ndim} <= start <= {a.ndim}")
    start = start + a.ndim if start < 0 else start
    return moveaxis(a, axis, start - 1 if start > axis else start)


def moveaxis(a: Any, source: Any, destination: Any) -> Any:
    """``a`` with axes ``source`` moved to positions ``destination``."""
    a = asarray(a)
    src, dst = canonical_axes(source, a.ndim), canonical_axes(destination, a.ndim)
    if len(src) != len(dst):
        raise ShapeError(f"moveaxis: source and destination must have the same number of "
                         f"elements{at_user_line()}")
    perm = [i for i in range(a.ndim) if i not in src]
    for d, s in sorted(zip(dst, src)):
        perm.insert(d, s)
    return lax.transpose(a, perm)


def expand_dims(a: Any, axis: Any) -> Any:
    """``a`` with new length-1 axes at positions ``axis``."""
    a = asarray(a)
    axes = canonical_axes(axis, a.ndim + (1 if isinstance(axis, int) else len(axis)))
    dims = list(a.shape)
    for ax in sorted(axes):
        dims.insert(ax, 1)
    return lax.reshape(a, dims)


def squeeze(a: Any, axis: Any = None) -> Any:
    """``a`` without length-1 axes (all of them, or those in ``axis``)."""
    a = asarray(a)
    if axis is None:
        axes = tuple(i for i, n in enumerate(a.shape) if n == 1)
    else:
        axes = canonical_axes(axis, a.ndim)
        if any(a.shape[i] != 1 for i in axes):
            raise ShapeError(f"squeeze: cannot select an axis to squeeze out which has size not "
                             f"equal to one{at_user_line()}")
    return lax.reshape(a, [n for i, n in enumerate(a.shape) if i not in axes])


def broadcast_shapes(*shapes: Sequence[int]) -> tuple[int, ...]:
    """The shape that ``shapes`` broadcast to."""
    try:
        return tuple(np.broadcast_shapes(*[tuple(s) for s in shapes]))
    except ValueError:
        raise broadcast_error("broadcast", [tuple(s) for s in shapes], at_user_line()) from None


def broadcast_to(a: Any, shape: Any) -> Any:
    """``a`` broadcast to ``shape`` (NumPy's rules)."""
    a = asarray(a)
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(d) for d in shape)
    if broadcast_shapes(a.shape, shape) != shape:
        raise ShapeError(f"cannot broadcast an array of shape {a.shape} to {shape}"
                         f"{at_user_line()}")
    return lax.broadcast_to(a, shape)


def broadcast_arrays(*args: Any) -> list[Any]:
    """The arguments broadcast against each other."""
    arrays = [asarray(a) for a in args]
    target = broadcast_shapes(*[a.shape for a in arrays])
    return [lax.broadcast_to(a, target) for a in arrays]


def _atleast_shape(s: tuple[int, ...], nd: int) -> tuple[int, ...]:
    if len(s) >= nd:
        return s
    if nd == 3 and len(s) > 0:
        return (1,) * (2 - len(s)) + s + (1,)
    return (1,) * (nd - len(s)) + s


def _atleast(nd: int, where: str) -> Any:
    def f(*arys: Any) -> Any:
        out = [lax.reshape(a, _atleast_shape(tuple(a.shape), nd)) for a in map(asarray, arys)]
        return out[0] if len(out) == 1 else out
    f.__name__ = f.__qualname__ = f"atleast_{nd}d"
    f.__doc__ = f"The inputs viewed with at least {nd} dimensions ({where})."
    return f


atleast_1d = _atleast(1, "scalars become shape (1,)")
atleast_2d = _atleast(2, "a vector of length N becomes (1, N)")
atleast_3d = _atleast(3, "(N,) becomes (1, N, 1), (M, N) becomes (M, N, 1)")


def flip(m: Any, axis: Any = None) -> Any:
    """``m`` with the order of elements reversed along ``axis`` (all axes when None)."""
    m = asarray(m)
    axes = canonical_axes(axis, m.ndim)
    return lax.rev(m, axes) if axes else m


def fliplr(m: Any) -> Any:
    """Reverse the columns (axis 1)."""
    return flip(m, 1)


def flipud(m: Any) -> Any:
    """Reverse the rows (axis 0)."""
    return flip(m, 0)


def slice_axis(x: Any, start: int, stop: int, axis: int) -> Any:
    """``x[..., start:stop, ...]`` along ``axis`` (static, in-bounds)."""
    if start == 0 and stop == x.shape[axis]:
        return x
    starts = [0] * x.ndim
    limits = list(x.shape)
    starts[axis], limits[axis] = start, stop
    return lax.slice(x, starts, limits)


def roll(a: Any, shift: Any, axis: Any = None) -> Any:
    """Elements shifted by ``shift`` along ``axis``, wrapping around (flattened when None)."""
    a = asarray(a)
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), a.shape)
    shifts = (shift,) if isinstance(shift, (int, np.integer)) else tuple(shift)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    if len(shifts) == 1:
        shifts = shifts * len(axes)
    elif len(axes) == 1:
        axes = axes * len(shifts)
    for s, ax in zip(shifts, axes):
        ax = canonical_axis(ax, a.ndim)
        n = a.shape[ax]
        s = int(s) % n if n else 0
        if s:
            a = lax.concatenate([slice_axis(a, n - s, n, ax), slice_axis(a, 0, n - s, ax)], ax)
    return a


def rot90(m: Any, k: int = 1, axes: tuple[int, int] = (0, 1)) -> Any:
    """Rotate by 90 degrees ``k`` times in the plane of ``axes``."""
    m = asarray(m)
    k %= 4
    if k == 0:
        return m
    if k == 2:
        return flip(flip(m, axes[0]), axes[1])
    if k == 1:
        return swapaxes(flip(m, axes[1]), axes[0], axes[1])
    return flip(swapaxes(m, axes[0], axes[1]), axes[1])


def tile(A: Any, reps: Any) -> Any:
    """``A`` repeated ``reps`` times along each axis."""
    A = asarray(A)
    reps = static(reps, "tile", "reps")
    reps = (int(reps),) if isinstance(reps, (int, np.integer)) else tuple(int(r) for r in reps)
    nd = builtins.max(A.ndim, len(reps))
    reps = (1,) * (nd - len(reps)) + reps
    A = lax.reshape(A, (1,) * (nd - A.ndim) + tuple(A.shape))
    shape = A.shape
    big = lax.broadcast_in_dim(A, [x for r, n in zip(reps, shape) for x in (r, n)],
                               [2 * i + 1 for i in range(nd)])
    return lax.reshape(big, [r * n for r, n in zip(reps, shape)])


def repeat(a: Any, repeats: Any, axis: int | None = None) -> Any:
    """Each element repeated ``repeats`` times (static: an int or one count per element)."""
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = canonical_axis(axis, a.ndim)
    reps = np.asarray(static(repeats, "repeat", "repeats"))
    if reps.ndim == 0:
        r = int(reps)
        shape = tuple(a.shape)
        big = lax.broadcast_in_dim(a, shape[:axis + 1] + (r,) + shape[axis + 1:],
                                   [i + (i > axis) for i in range(a.ndim)])
        return lax.reshape(big, shape[:axis] + (shape[axis] * r,) + shape[axis + 1:])
    from fungrad.numpy.indexing import take  # cycle within the layer: that module imports this one
    return take(a, np.repeat(np.arange(a.shape[axis]), reps), axis=axis)


def concatenate(arrays: Sequence[Any], axis: int | None = 0, dtype: Any = None) -> Any:
    """The arrays joined along an existing axis (flattened first when ``axis`` is None)."""
    arrays = [asarray(a) for a in arrays]
    if not arrays:
        raise ValueError(f"need at least one array to concatenate{at_user_line()}")
    if axis is None:
        arrays, axis = [ravel(a) for a in arrays], 0
    out_dtype = np.dtype(dtype) if dtype is not None else result_type(*arrays)
    arrays = [lax.convert_element_type(a, out_dtype) for a in arrays]
    nd = arrays[0].ndim
    if nd == 0:
        raise ShapeError(f"zero-dimensional arrays cannot be concatenated{at_user_line()}")
    if len(arrays) == 1:
        return arrays[0]
    return lax.concatenate(arrays, canonical_axis(axis, nd))


def concat(arrays: Sequence[Any], axis: int | None = 0) -> Any:
    """The array-API name of ``concatenate``."""
    return concatenate(arrays, axis)


def stack(arrays: Sequence[Any], axis: int = 0, dtype: Any = None) -> Any:
    """The arrays (all of one shape) joined along a new axis."""
    arrays = [asarray(a) for a in arrays]
    if not arrays:
        raise ValueError(f"need at least one array to stack{at_user_line()}")
    if len({tuple(a.shape) for a in arrays}) != 1:
        raise ShapeError(f"all input arrays must have the same shape, got "
                         f"{[tuple(a.shape) for a in arrays]}{at_user_line()}")
    axis = canonical_axis(axis, arrays[0].ndim + 1)
    return concatenate([expand_dims(a, axis) for a in arrays], axis, dtype)


def hstack(tup: Sequence[Any], dtype: Any = None) -> Any:
    """Join horizontally (axis 1, or 0 for vectors)."""
    arrs = [atleast_1d(a) for a in tup]
    return concatenate(arrs, 0 if arrs[0].ndim == 1 else 1, dtype)


def vstack(tup: Sequence[Any], dtype: Any = None) -> Any:
    """Join vertically (vectors become rows)."""
    return concatenate([atleast_2d(a) for a in tup], 0, dtype)


def dstack(tup: Sequence[Any], dtype: Any = None) -> Any:
    """Join along the third axis."""
    return concatenate([atleast_3d(a) for a in tup], 2, dtype)


def column_stack(tup: Sequence[Any]) -> Any:
    """Vectors as columns of a 2-D array (2-D inputs joined along axis 1)."""
    arrs = [asarray(a) for a in tup]
    return concatenate([lax.reshape(a, (a.size, 1)) if a.ndim < 2 else a for a in arrs], 1)


def append(arr: Any, values: Any, axis: int | None = None) -> Any:
    """``arr`` with ``values`` appended (both flattened when ``axis`` is None)."""
    return concatenate([arr, values], axis)


def _split_points(n: int, sections: Any, even: bool) -> list[int]:
    if isinstance(sections, (int, np.integer)):
        k = int(sections)
        if k <= 0:
            raise ValueError("number sections must be larger than 0.")
        if even and n % k:
            raise ValueError(f"array split does not result in an equal division{at_user_line()}")
        q, r = divmod(n, k)
        sizes = [q + 1] * r + [q] * (k - r)
        return [int(x) for x in np.cumsum(sizes)[:-1]]
    return [int(i) for i in sections]


def _split(ary: Any, indices_or_sections: Any, axis: int, even: bool) -> list[Any]:
    ary = asarray(ary)
    axis = canonical_axis(axis, ary.ndim)
    n = ary.shape[axis]
    points = _split_points(n, indices_or_sections, even)
    bounds = [0] + points + [n]
    out = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        lo = builtins.min(builtins.max(lo + n if lo < 0 else lo, 0), n)
        hi = builtins.min(builtins.max(hi + n if hi < 0 else hi, 0), n)
        out.append(slice_axis(ary, lo, builtins.max(lo, hi), axis))
    return out


def split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    """Split into equal sections, or at the given indices, along ``axis``."""
    return _split(ary, indices_or_sections, axis, True)


def array_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    """Like ``split``, but sections may differ in size by one."""
    return _split(ary, indices_or_sections, axis, False)


def hsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    """Split along axis 1 (axis 0 for vectors)."""
    return split(ary, indices_or_sections, 1 if ndim(ary) > 1 else 0)


def vsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    """Split along axis 0."""
    return split(ary, indices_or_sections, 0)


def dsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    """Split along axis 2."""
    return split(ary, indices_or_sections, 2)


def pad(array: Any, pad_width: Any, mode: str = "constant", constant_values: Any = 0) -> Any:
    """``array`` padded with a constant (``mode="constant"`` only)."""
    if mode != "constant":
        raise NotImplementedError(f"pad: mode {mode!r} (only 'constant'){at_user_line()}")
    array = asarray(array)
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (array.ndim, 2))
    config = [(int(lo), int(hi), 0) for lo, hi in widths]
    value = np.asarray(constant_values, array.dtype)
    return lax.pad(array, value, config)
