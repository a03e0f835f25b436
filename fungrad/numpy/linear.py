"""Products and diagonals: dot, matmul, tensordot, inner, outer, vdot, kron, cross, trace.

Every contraction is one ``lax.dot_general`` (output layout: batch, lhs free, rhs free).

>>> import fungrad.numpy as fnp
>>> fnp.matmul(np.ones((4, 2, 3)), np.ones((3, 5))).shape
(4, 2, 5)
"""
from __future__ import annotations

from typing import Any

import numpy as np

from fungrad.numpy.keywords import check_out
from fungrad import lax
from fungrad.errors import ShapeError
from fungrad.numpy.manipulation import (
    broadcast_shapes, canonical_axis, moveaxis, ravel, reshape, slice_axis,
)
from fungrad.numpy.promotion import asarray, promote
from fungrad.numpy.reductions import sum as _sum
from fungrad.source_info import at_user_line
from fungrad.numpy.manipulation import stack


def _operands(a: Any, b: Any) -> tuple[Any, Any]:
    x, y = promote(asarray(a), asarray(b))
    return x, y


def _contract(a: Any, b: Any, ca: tuple[int, ...], cb: tuple[int, ...],
              ba: tuple[int, ...] = (), bb: tuple[int, ...] = ()) -> Any:
    for i, j in zip(ca, cb):
        if a.shape[i] != b.shape[j]:
            raise ShapeError(f"shapes {tuple(a.shape)} and {tuple(b.shape)} not aligned: "
                             f"{a.shape[i]} (dim {i}) != {b.shape[j]} (dim {j}){at_user_line()}")
    return lax.dot_general(a, b, ((ca, cb), (ba, bb)))


def dot(a: Any, b: Any) -> Any:
    """NumPy's ``dot``: the last axis of ``a`` against the second-to-last of ``b``."""
    a, b = _operands(a, b)
    if a.ndim == 0 or b.ndim == 0:
        return lax.mul(a, b)
    return _contract(a, b, (a.ndim - 1,), (max(b.ndim - 2, 0),))


def matmul(a: Any, b: Any) -> Any:
    """Matrix product with broadcast batch dimensions (``a @ b``)."""
    a, b = _operands(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: input operand does not have enough dimensions{at_user_line()}")
    if a.ndim <= 2 and b.ndim <= 2:
        return dot(a, b)
    a2 = reshape(a, (1,) + tuple(a.shape)) if a.ndim == 1 else a
    b2 = reshape(b, tuple(b.shape) + (1,)) if b.ndim == 1 else b
    batch = broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    k = len(batch)
    a2 = lax.broadcast_to(a2, batch + tuple(a2.shape[-2:]))
    b2 = lax.broadcast_to(b2, batch + tuple(b2.shape[-2:]))
    bdims = tuple(range(k))
    out = _contract(a2, b2, (k + 1,), (k,), bdims, bdims)
    if a.ndim == 1:
        out = reshape(out, tuple(out.shape[:-2]) + tuple(out.shape[-1:]))
    if b.ndim == 1:
        out = reshape(out, tuple(out.shape[:-1]))
    return out


def tensordot(a: Any, b: Any, axes: Any = 2) -> Any:
    """Sum of products over ``axes`` (an int: the last/first ``axes`` axes; or two lists)."""
    a, b = _operands(a, b)
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        ca, cb = tuple(range(a.ndim - n, a.ndim)), tuple(range(n))
    else:
        xa, xb = axes
        xa = (xa,) if isinstance(xa, (int, np.integer)) else tuple(xa)
        xb = (xb,) if isinstance(xb, (int, np.integer)) else tuple(xb)
        ca = tuple(canonical_axis(i, a.ndim) for i in xa)
        cb = tuple(canonical_axis(i, b.ndim) for i in xb)
    return _contract(a, b, ca, cb)


def inner(a: Any, b: Any) -> Any:
    """Sum of products over the last axes of ``a`` and ``b``."""
    a, b = _operands(a, b)
    if a.ndim == 0 or b.ndim == 0:
        return lax.mul(a, b)
    return _contract(a, b, (a.ndim - 1,), (b.ndim - 1,))


def outer(a: Any, b: Any) -> Any:
    """``a[i] * b[j]`` over the flattened inputs."""
    a, b = _operands(a, b)
    a, b = ravel(a), ravel(b)
    return lax.mul(reshape(a, (-1, 1)), reshape(b, (1, -1)))


def vdot(a: Any, b: Any) -> Any:
    """Dot product of the flattened inputs."""
    a, b = _operands(a, b)
    return _contract(ravel(a), ravel(b), (0,), (0,))


def vecdot(x1: Any, x2: Any, axis: int = -1) -> Any:
    """Dot products of vectors along ``axis`` (broadcasting the rest)."""
    a, b = _operands(x1, x2)
    return _sum(lax.mul(a, b), axis)


def kron(a: Any, b: Any) -> Any:
    """Kronecker product: blocks ``a[i] * b``."""
    a, b = _operands(a, b)
    nd = max(a.ndim, b.ndim)
    a = reshape(a, (1,) * (nd - a.ndim) + tuple(a.shape))
    b = reshape(b, (1,) * (nd - b.ndim) + tuple(b.shape))
    prod = lax.mul(reshape(a, [d for n in a.shape for d in (n, 1)]),
                   reshape(b, [d for n in b.shape for d in (1, n)]))
    return reshape(prod, [m * n for m, n in zip(a.shape, b.shape)])


def diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """The ``offset`` diagonal of the planes ``(axis1, axis2)``, as the last axis."""
    a = asarray(a)
    i, j = canonical_axis(axis1, a.ndim), canonical_axis(axis2, a.ndim)
    if i == j:
        raise ShapeError(f"diagonal: axis1 and axis2 cannot be the same{at_user_line()}")
    a = moveaxis(a, (i, j), (-2, -1))
    n, m = a.shape[-2:]
    length = max(0, min(n + min(offset, 0), m - max(offset, 0)))
    lead = tuple(a.shape[:-2])
    if length == 0:
        return lax.full(lead + (0,), 0, a.dtype)
    flat = reshape(a, lead + (n * m,))
    start = offset if offset >= 0 else -offset * m  # the diagonal is a strided slice
    return lax.slice(flat, (0,) * len(lead) + (start,),
                     lead + (start + (length - 1) * (m + 1) + 1,), (1,) * len(lead) + (m + 1,))


def trace(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None,
          out: None = None) -> Any:
    """Sum along the ``offset`` diagonal."""
    check_out("trace", out)
    return _sum(diagonal(a, offset, axis1, axis2), -1, dtype)


def cross(a: Any, b: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1,
          axis: int | None = None) -> Any:
    """Cross product of 3-vectors (or the z component for 2-vectors) along an axis."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = _operands(a, b)
    a, b = moveaxis(a, axisa, -1), moveaxis(b, axisb, -1)
    if a.shape[-1] not in (2, 3) or b.shape[-1] not in (2, 3):
        raise ShapeError(f"cross: incompatible dimensions for cross product (dimension must be "
                         f"2 or 3){at_user_line()}")

    def comp(x: Any, k: int) -> Any:
        if k >= x.shape[-1]:
            return lax.full(x.shape[:-1], 0, x.dtype)
        return reshape(slice_axis(x, k, k + 1, x.ndim - 1), x.shape[:-1])

    a0, a1, a2 = (comp(a, k) for k in range(3))
    b0, b1, b2 = (comp(b, k) for k in range(3))
    z = lax.sub(lax.mul(a0, b1), lax.mul(a1, b0))
    if a.shape[-1] == 2 and b.shape[-1] == 2:
        return z
    x = lax.sub(lax.mul(a1, b2), lax.mul(a2, b1))
    y = lax.sub(lax.mul(a2, b0), lax.mul(a0, b2))
    return moveaxis(stack(list(_broadcast(x, y, z)), -1), -1, axisc)


def _broadcast(*xs: Any) -> list[Any]:
    shape = broadcast_shapes(*[x.shape for x in xs])
    return [lax.broadcast_to(x, shape) for x in xs]
