"""Bit-level primitives: shifts, bitcasts and the threefry2x32 hash (random number streams).

Shifts follow JAX: a shift by the bit width or more (or by a negative amount) gives 0, or the
sign fill for ``shift_right_arithmetic``. Their outputs do not change to first order (zero
derivatives); they batch elementwise and compile to one NumPy call.

>>> shift_left(np.uint32([1, 3]), np.uint32([4, 31]))
array([        16, 2147483648], dtype=uint32)
>>> threefry2x32(np.uint32(0), np.uint32(0), np.uint32([0]), np.uint32([0]))[0]
array([1797259609], dtype=uint32)
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from fungrad.core import get_aval
from fungrad.errors import ShapeError
from fungrad.interpreters.batching import batch_rules
from fungrad.ir import ShapedArray
from fungrad.lax.elementwise import binary
from fungrad.lax.registry import (as_operand, broadcast_batcher, defjvp_zero, elementwise_shape,
                                  primitive, vectorized_batcher)


def _bits(x: np.ndarray) -> int:
    return x.dtype.itemsize * 8


def _unsigned(dtype: np.dtype[Any]) -> np.dtype[Any]:
    return np.dtype(f"uint{dtype.itemsize * 8}")


def _in_range(x: np.ndarray, y: np.ndarray) -> Any:
    """Where the shift amount ``y`` is in ``[0, bits)``."""
    y = np.asarray(y)
    ok = y < _bits(x)
    return ok & (y >= 0) if y.dtype.kind == "i" else ok


def _shift_left(x: Any, y: Any) -> Any:
    x, y = np.asarray(x), np.asarray(y)
    ok = _in_range(x, y)
    return np.where(ok, np.left_shift(x, np.where(ok, y, 0)), np.zeros((), x.dtype))


def _shift_right_logical(x: Any, y: Any) -> Any:
    x, y = np.asarray(x), np.asarray(y)
    ok = _in_range(x, y)
    u = x.view(_unsigned(x.dtype)) if x.dtype.kind == "i" else x
    out = np.right_shift(u, np.where(ok, y, 0).astype(u.dtype))
    return np.where(ok, out, np.zeros((), u.dtype)).astype(x.dtype, copy=False).view(x.dtype)


def _shift_right_arithmetic(x: Any, y: Any) -> Any:
    x, y = np.asarray(x), np.asarray(y)
    s = x.view(np.dtype(f"int{_bits(x)}")) if x.dtype.kind == "u" else x
    amount = np.where(_in_range(x, y), y, _bits(x) - 1).astype(s.dtype)
    return np.right_shift(s, amount).view(x.dtype)


shift_left_p = binary("shift_left", _shift_left, "zero")
shift_right_logical_p = binary("shift_right_logical", _shift_right_logical, "zero")
shift_right_arithmetic_p = binary("shift_right_arithmetic", _shift_right_arithmetic, "zero")


def shift_left(x: Any, y: Any) -> Any:
    """``x << y`` elementwise (0 where ``y`` is out of ``[0, bits)``); operands of one dtype."""
    return shift_left_p.bind(x, as_operand(y, x))


def shift_right_logical(x: Any, y: Any) -> Any:
    """``x >> y`` filling with zeros (0 where ``y`` is out of ``[0, bits)``).

    >>> shift_right_logical(np.int8([-128]), np.int8([7]))
    array([1], dtype=int8)
    """
    return shift_right_logical_p.bind(x, as_operand(y, x))


def shift_right_arithmetic(x: Any, y: Any) -> Any:
    """``x >> y`` filling with the sign bit (all sign bits where ``y`` is out of range).

    >>> shift_right_arithmetic(np.int8([-128]), np.int8([9]))
    array([-1], dtype=int8)
    """
    return shift_right_arithmetic_p.bind(x, as_operand(y, x))


# ---------------------------------------------------------------- bitcasts

def _bitcast(x: Any, *, new_dtype: np.dtype[Any]) -> Any:
    x = np.asarray(x)
    return (x if x.flags.c_contiguous else x.copy()).view(new_dtype)


def _bitcast_shape(x: ShapedArray, *, new_dtype: np.dtype[Any]) -> ShapedArray:
    if x.dtype.itemsize != new_dtype.itemsize:
        raise ShapeError(f"bitcast_convert_type from {x.dtype} to {new_dtype}: the widths differ "
                         "(only same-width bitcasts are supported)")
    return ShapedArray(x.shape, new_dtype)


bitcast_convert_type_p = primitive("bitcast_convert_type", _bitcast, _bitcast_shape)
defjvp_zero(bitcast_convert_type_p)
vectorized_batcher(bitcast_convert_type_p)


def bitcast_convert_type(x: Any, new_dtype: Any) -> Any:
    """The bits of ``x`` read as ``new_dtype`` (of the same width).

    >>> bitcast_convert_type(np.float32(1.0), np.uint32)
    array(1065353216, dtype=uint32)
    """
    new = np.dtype(new_dtype)
    _bitcast_shape(get_aval(x), new_dtype=new)  # checked up front, also without a trace
    return bitcast_convert_type_p.bind(x, new_dtype=new)


# ---------------------------------------------------------------- threefry2x32

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def _rotl(v: np.ndarray, r: int) -> np.ndarray:
    return (v << np.uint32(r)) | (v >> np.uint32(32 - r))  # type: ignore[no-any-return]


def _threefry2x32(k1: Any, k2: Any, x1: Any, x2: Any) -> list[Any]:
    """Threefry-2x32 with 20 rounds (Salmon et al., "Parallel random numbers: as easy as
    1, 2, 3", 2011): a counter-based hash of the pair ``(x1, x2)`` under the key ``(k1, k2)``."""
    k1, k2, x1, x2 = (np.array(a, np.uint32) for a in np.broadcast_arrays(k1, k2, x1, x2))
    ks = (k1, k2, k1 ^ k2 ^ np.uint32(0x1BD11BDA))
    x1 = x1 + ks[0]
    x2 = x2 + ks[1]
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            x1 = x1 + x2
            x2 = _rotl(x2, r) ^ x1
        x1 = x1 + ks[(i + 1) % 3]
        x2 = x2 + ks[(i + 2) % 3] + np.uint32(i + 1)
    return [x1, x2]


def _threefry_shape(*avals: ShapedArray) -> list[ShapedArray]:
    if any(a.dtype != np.uint32 for a in avals):
        raise ShapeError(f"threefry2x32 takes uint32 operands, got {[str(a) for a in avals]}")
    shape = elementwise_shape("threefry2x32")(*avals).shape
    return [ShapedArray(shape, np.dtype(np.uint32))] * 2


threefry2x32_p = primitive("threefry2x32", _threefry2x32, _threefry_shape, multiple_results=True)
defjvp_zero(threefry2x32_p)
broadcast_batcher(threefry2x32_p)
_broadcast_rule = batch_rules[threefry2x32_p]


def _threefry_batch(vals: Sequence[Any], dims: Sequence[int | None]) -> tuple[Any, list[int]]:
    outs, _ = _broadcast_rule(vals, dims)
    return outs, [0, 0]


batch_rules[threefry2x32_p] = _threefry_batch


def threefry2x32(k1: Any, k2: Any, x1: Any, x2: Any) -> list[Any]:
    """The threefry2x32 hash of counters ``(x1, x2)`` under key ``(k1, k2)``, elementwise
    (uint32 operands, broadcasting). The generator behind ``fungrad.random``."""
    _threefry_shape(*map(get_aval, (k1, k2, x1, x2)))  # checked up front
    return threefry2x32_p.bind(k1, k2, x1, x2)  # type: ignore[no-any-return]
