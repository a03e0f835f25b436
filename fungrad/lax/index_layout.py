"""NumPy's indexing layout: which axes an index tuple keeps, drops, adds and gathers, and where.

An index is a NumPy index tuple of static ints, slices, ``None`` and ``Ellipsis``, and integer
arrays (or tracers, including 0-d ones) used as advanced indices. ``normalize_index`` splits it
into a hashable *indexer* of static entries, where ``Arr(k)`` marks the k-th index array, and the
arrays themselves; ``layout`` gives the result's dimensions exactly as NumPy places them
(including where the advanced-index dimensions land). Gather and scatter are built on this.

>>> layout((4, 5, 6), (Slice(None, None, None), Arr(0)), ((2, 3),))[1]
(4, 2, 3, 6)
"""
from __future__ import annotations

import functools
from typing import Any, NamedTuple, Sequence

import numpy as np

from fungrad.core import Tracer, get_aval
from fungrad.errors import ShapeError
from fungrad.ir import ShapedArray
from fungrad.source_info import at_user_line


class Slice(NamedTuple):
    """A static slice (``slice`` objects are not hashable before Python 3.12)."""
    start: int | None
    stop: int | None
    step: int | None

    def __repr__(self) -> str:
        lo, hi, step = ("" if v is None else str(v) for v in self)
        return f"{lo}:{hi}" + (f":{step}" if step else "")


class Arr(NamedTuple):
    """Placeholder for the k-th index-array operand."""
    k: int

    def __repr__(self) -> str:
        return f"#{self.k}"


Entry = Any  # int | None | Ellipsis | Slice | Arr
Label = tuple[Any, ...]  # ("e", position[, j]) for basic dims, ("a", k) for advanced dims
INDEX_DTYPE = np.dtype(np.int64)


# ---------------------------------------------------------------- NumPy's indexing layout
@functools.lru_cache(maxsize=4096)
def layout(shape: tuple[int, ...], indexer: tuple[Entry, ...],
           arr_shapes: tuple[tuple[int, ...], ...]
           ) -> tuple[tuple[Label, ...], tuple[int, ...], tuple[int, ...]]:
    """(label of each result dim, result shape, axis of ``shape`` each index array indexes)."""
    consuming = sum(e is not None and e is not Ellipsis for e in indexer)
    if consuming > len(shape):
        raise ShapeError(f"too many indices: {consuming} for an array of rank {len(shape)}")
    if sum(e is Ellipsis for e in indexer) > 1:
        raise ShapeError("an index can only have a single ellipsis ('...')")
    entries = indexer if Ellipsis in indexer else indexer + (Ellipsis,)
    try:
        block_shape = tuple(np.broadcast_shapes(*arr_shapes)) if arr_shapes else ()
    except ValueError:
        raise ShapeError(f"index arrays of shapes {', '.join(map(str, arr_shapes))} do not "
                         "broadcast together") from None
    advanced = [i for i, e in enumerate(entries)
                if type(e) is Arr or (arr_shapes and type(e) is int)]
    together = advanced == list(range(advanced[0], advanced[-1] + 1)) if advanced else True
    dims: list[tuple[Label, int]] = []
    arr_axes = [0] * len(arr_shapes)
    block_at, axis = 0, 0
    for pos, e in enumerate(entries):
        if together and advanced and pos == advanced[0]:
            block_at = len(dims)
        if e is None:
            dims.append((("e", pos), 1))
        elif e is Ellipsis:
            for j in range(len(shape) - consuming):
                dims.append((("e", pos, j), shape[axis]))
                axis += 1
        elif type(e) is Slice:
            if e.step == 0:
                raise ShapeError("slice step cannot be zero")
            dims.append((("e", pos), len(range(*slice(*e).indices(shape[axis])))))
            axis += 1
        elif type(e) is int:
            if not -shape[axis] <= e < shape[axis]:
                raise ShapeError(f"index {e} is out of bounds for axis {axis} with size "
                                 f"{shape[axis]}")
            axis += 1
        else:
            arr_axes[e.k] = axis
            axis += 1
    block = [(("a", k), n) for k, n in enumerate(block_shape)]
    dims[block_at:block_at] = block
    return tuple(d[0] for d in dims), tuple(d[1] for d in dims), tuple(arr_axes)


def normalize_index(x: Any, index: Any) -> tuple[tuple[Entry, ...], list[Any]]:
    """(static indexer, index arrays) for a NumPy index of ``x``; boolean masks must be concrete."""
    entries: list[Entry] = []
    arrays: list[Any] = []
    for e in index if isinstance(index, tuple) else (index,):
        if e is None or e is Ellipsis:
            entries.append(e)
        elif isinstance(e, slice):
            entries.append(Slice(*(None if v is None else _static_int(v, "a slice bound")
                                   for v in (e.start, e.stop, e.step))))
        elif isinstance(e, (bool, np.bool_)):
            raise TypeError(f"boolean scalar indices are not supported{at_user_line()}")
        elif isinstance(e, (int, np.integer)):
            entries.append(int(e))
        else:
            a = e if isinstance(e, (np.ndarray, Tracer)) else np.asarray(e)
            dtype = get_aval(a).dtype
            if dtype == np.dtype(bool) and isinstance(a, np.ndarray):
                for nz in np.nonzero(a):
                    entries.append(Arr(len(arrays)))
                    arrays.append(nz)
                continue
            if dtype.kind not in "iu":
                raise TypeError(f"array indices must be integers, got dtype {dtype} (boolean "
                                f"masks must be concrete: use fungrad.numpy.where){at_user_line()}")
            entries.append(Arr(len(arrays)))
            arrays.append(a)
    return tuple(entries), arrays


def _static_int(v: Any, what: str) -> int:
    try:
        return int(v.__index__())
    except Exception:
        raise TypeError(f"{what} must be a static integer, got {v!r}: for traced starts use "
                        f"lax.dynamic_slice{at_user_line()}") from None


def check_index(shape: tuple[int, ...], indexer: tuple[Entry, ...],
                 arrs: Sequence[ShapedArray]) -> tuple[tuple[Label, ...], tuple[int, ...]]:
    for a in arrs:
        if a.dtype.kind not in "iu":
            raise ShapeError(f"index arrays must have an integer dtype, got {a.dtype}")
    labels, out_shape, _ = layout(shape, indexer, tuple(a.shape for a in arrs))
    return labels, out_shape
