"""Shape primitives: full, iota, broadcast_in_dim, reshape, transpose, reduce_sum, concatenate,
pad, rev, clamp (and squeeze/expand_dims, which are reshapes)."""
from __future__ import annotations

import math

from typing import Any, Sequence

import numpy as np

from fungrad.compiler.codegen import EmitContext, assign, defcodegen
from fungrad.compiler.passes import (
    Rewriter, defsimplify, expand_rules, moves_elements, permute_rules, same_type,
)
from fungrad.core import get_aval
from fungrad.errors import ShapeError
from fungrad.lax import elementwise  # a module: it imports this one while being imported
from fungrad.lax.registry import (
    as_operand, bdim_to_front, defjvp, defjvp_zero, deflinear, deftranspose, moveaxis, primitive,
    shift_axes,
)
from fungrad.interpreters.batching import batch_rules
from fungrad.interpreters.transpose import aval_of, is_undefined, transpose_rules
from fungrad.ir import Atom, Eqn, Literal, ShapedArray, Var
from fungrad.source_info import at_user_line


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
    # (the method directly: np.reshape's dispatch costs more than the reshape of a small array)
    return x.reshape(new_sizes) if type(x) is np.ndarray else np.reshape(x, new_sizes)


def _reshape_shape(x: ShapedArray, *, new_sizes: tuple[int, ...]) -> ShapedArray:
    if math.prod(new_sizes) != x.size:
        raise ShapeError(f"reshape: cannot reshape {x} into shape {new_sizes}")
    return ShapedArray(new_sizes, x.dtype)


def _reshape_batch(vals: Any, dims: Any, *, new_sizes: tuple[int, ...]) -> tuple[Any, int]:
    x = moveaxis(vals[0], dims[0], 0)
    return reshape(x, get_aval(x).shape[:1] + new_sizes), 0


reshape_p = primitive("reshape", _reshape, _reshape_shape)
moves_elements.add(reshape_p)
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
    return x.transpose(permutation) if type(x) is np.ndarray else np.transpose(x, permutation)


def _transpose_shape(x: ShapedArray, *, permutation: tuple[int, ...]) -> ShapedArray:
    if sorted(permutation) != list(range(x.ndim)):
        raise ShapeError(f"transpose: {permutation} is not a permutation of the axes of {x}")
    return ShapedArray(tuple(x.shape[p] for p in permutation), x.dtype)


def _transpose_batch(vals: Any, dims: Any, *, permutation: tuple[int, ...]) -> tuple[Any, int]:
    x = moveaxis(vals[0], dims[0], 0)
    return transpose(x, (0,) + tuple(p + 1 for p in permutation)), 0


transpose_p = primitive("transpose", _transpose, _transpose_shape)
moves_elements.add(transpose_p)
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


def reduce_shape(x: ShapedArray, *, axes: tuple[int, ...]) -> ShapedArray:
    if any(not 0 <= a < x.ndim for a in axes):
        raise ShapeError(f"reduction axes {axes} out of range for {x}")
    return ShapedArray(tuple(n for i, n in enumerate(x.shape) if i not in axes), x.dtype)


def _reduce_sum_transpose(ct: Any, x: Any, *, axes: tuple[int, ...]) -> Any:
    shape = aval_of(x).shape
    kept = tuple(i for i in range(len(shape)) if i not in axes)
    return broadcast_in_dim(ct, shape, kept)


def reduce_batch(prim: Any) -> Any:
    def rule(vals: Any, dims: Any, *, axes: tuple[int, ...], **params: Any) -> tuple[Any, int]:
        d = dims[0]
        new_axes = tuple(a + (a >= d) for a in axes)
        out_dim = d - sum(a < d for a in axes)
        return prim.bind(vals[0], axes=new_axes, **params), out_dim
    return rule


reduce_sum_p = primitive("reduce_sum", _reduce_sum, reduce_shape)
deflinear(reduce_sum_p)
deftranspose(reduce_sum_p, _reduce_sum_transpose)
batch_rules[reduce_sum_p] = reduce_batch(reduce_sum_p)


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


# ---------------------------------------------------------------- concatenate
def _concatenate_shape(*xs: ShapedArray, dimension: int) -> ShapedArray:
    first = xs[0]
    if not 0 <= dimension < first.ndim or any(
            x.ndim != first.ndim or x.dtype != first.dtype
            or any(n != m for i, (n, m) in enumerate(zip(x.shape, first.shape)) if i != dimension)
            for x in xs):
        raise ShapeError(f"concatenate along dimension {dimension}: operands "
                         f"{', '.join(map(str, xs))} must agree in rank, dtype and other axes")
    size = sum(x.shape[dimension] for x in xs)
    return ShapedArray(first.shape[:dimension] + (size,) + first.shape[dimension + 1:], first.dtype)


def _concatenate_transpose(ct: Any, *xs: Any, dimension: int) -> list[Any]:
    from fungrad.lax.slicing import slice_in_dim  # slicing imports this module
    outs, start = [], 0
    for x in xs:
        n = aval_of(x).shape[dimension]
        outs.append(slice_in_dim(ct, start, start + n, axis=dimension) if is_undefined(x) else None)
        start += n
    return outs


def _concatenate_batch(vals: Any, dims: Any, *, dimension: int) -> tuple[Any, int]:
    size = next(get_aval(v).shape[d] for v, d in zip(vals, dims) if d is not None)
    return concatenate([bdim_to_front(v, d, size) for v, d in zip(vals, dims)], dimension + 1), 0


concatenate_p = primitive("concatenate", lambda *xs, dimension: np.concatenate(xs, dimension),
                          _concatenate_shape)
deflinear(concatenate_p)
transpose_rules[concatenate_p] = _concatenate_transpose
batch_rules[concatenate_p] = _concatenate_batch


def concatenate(operands: Sequence[Any], dimension: int) -> Any:
    """The ``operands`` joined along axis ``dimension`` (same dtype, same other axes).

    >>> concatenate([np.zeros(2), np.ones(1)], 0)
    array([0., 0., 1.])
    """
    operands = list(operands)
    if not operands:
        raise ValueError("concatenate needs at least one operand")
    if len(operands) == 1:
        return operands[0]
    return concatenate_p.bind(*operands, dimension=int(dimension) % get_aval(operands[0]).ndim)


# ---------------------------------------------------------------- pad
PadConfig = tuple[tuple[int, int, int], ...]


def _pad(x: Any, value: Any, *, padding_config: PadConfig) -> Any:
    x = np.asarray(x)
    grown = [(max(lo, 0), max(hi, 0), i) for lo, hi, i in padding_config]
    shape = [lo + hi + (n + (n - 1) * i if n else 0) for (lo, hi, i), n in zip(grown, x.shape)]
    out = np.full(shape, value, x.dtype)
    out[tuple(slice(lo, lo + (n - 1) * (i + 1) + 1, i + 1) for (lo, _, i), n
              in zip(grown, x.shape))] = x
    return out[tuple(slice(max(-lo, 0), m - max(-hi, 0))
                     for (lo, hi, _), m in zip(padding_config, shape))]


def _pad_shape(x: ShapedArray, value: ShapedArray, *, padding_config: PadConfig) -> ShapedArray:
    if value.shape != () or value.dtype != x.dtype:
        raise ShapeError(f"pad: the padding value must be a scalar of dtype {x.dtype}, got {value}")
    if len(padding_config) != x.ndim or any(i < 0 for _, _, i in padding_config):
        raise ShapeError(f"pad: padding_config {padding_config} needs one (lo, hi, interior) "
                         f"with interior >= 0 per axis of {x}")
    shape = tuple(lo + hi + (n + (n - 1) * i if n else 0)
                  for (lo, hi, i), n in zip(padding_config, x.shape))
    if any(n < 0 for n in shape):
        raise ShapeError(f"pad: padding_config {padding_config} leaves a negative size for {x}")
    return ShapedArray(shape, x.dtype)


def _unpad(ct: Any, padding_config: PadConfig) -> Any:
    """The transpose of ``pad`` in its operand: crop the edges, keep every (interior+1)-th entry."""
    from fungrad.lax.slicing import slice as slice_  # slicing imports this module
    cropped = pad(ct, 0, [(-lo, -hi, 0) for lo, hi, _ in padding_config])
    shape = get_aval(cropped).shape
    return slice_(cropped, [0] * len(shape), shape, [i + 1 for _, _, i in padding_config])


def _pad_transpose(ct: Any, x: Any, value: Any, *, padding_config: PadConfig) -> list[Any]:
    ct_x = _unpad(ct, padding_config)
    ct_v = None
    if is_undefined(value):
        everything = tuple(range(get_aval(ct).ndim))
        ct_v = elementwise.sub(reduce_sum(ct, everything), reduce_sum(ct_x, everything))
    return [ct_x if is_undefined(x) else None, ct_v]


def _pad_batch(vals: Any, dims: Any, *, padding_config: PadConfig) -> tuple[Any, int]:
    x, value = vals
    xd, vd = dims
    size = get_aval(x if xd is not None else value).shape[xd if xd is not None else vd]
    config = ((0, 0, 0),) + padding_config
    if vd is None:
        return pad(moveaxis(x, xd, 0), value, config), 0
    x = bdim_to_front(x, xd, size)
    padded = pad(x, np.zeros((), get_aval(x).dtype), config)
    inside = pad(full(get_aval(x).shape, True, bool), False, config)
    everywhere = broadcast_in_dim(moveaxis(value, vd, 0), get_aval(padded).shape, (0,))
    return elementwise.select(inside, padded, everywhere), 0


pad_p = primitive("pad", _pad, _pad_shape)
deflinear(pad_p)
transpose_rules[pad_p] = _pad_transpose
batch_rules[pad_p] = _pad_batch


def pad(x: Any, padding_value: Any, padding_config: Sequence[Sequence[int]]) -> Any:
    """``x`` padded with the scalar ``padding_value``: ``(lo, hi, interior)`` per axis, where
    negative lo/hi crop and ``interior`` entries go between neighbours.

    >>> pad(np.array([1, 2, 3]), 0, [(1, -1, 1)])
    array([0, 1, 0, 2, 0])
    """
    config = tuple((int(lo), int(hi), int(i)) for lo, hi, i in padding_config)
    return pad_p.bind(x, as_operand(padding_value, x), padding_config=config)


# ---------------------------------------------------------------- squeeze, expand_dims, rev
def squeeze(x: Any, dimensions: Sequence[int]) -> Any:
    """``x`` without the axes ``dimensions``, each of size 1.

    >>> squeeze(np.zeros((1, 3, 1)), (0, 2)).shape
    (3,)
    """
    shape = get_aval(x).shape
    dims = {int(d) % len(shape) for d in dimensions} if shape else set()
    if any(shape[d] != 1 for d in dims):
        raise ShapeError(f"squeeze: axes {tuple(dimensions)} of {get_aval(x)} are not all of "
                         f"size 1{at_user_line()}")
    return reshape(x, tuple(n for i, n in enumerate(shape) if i not in dims))


def expand_dims(x: Any, dimensions: Sequence[int]) -> Any:
    """``x`` with new axes of size 1 at ``dimensions`` (positions in the result).

    >>> expand_dims(np.zeros(3), (0, 2)).shape
    (1, 3, 1)
    """
    shape = list(get_aval(x).shape)
    rank = len(shape) + len(dimensions)
    for d in sorted(int(d) % rank for d in dimensions):
        shape.insert(d, 1)
    return reshape(x, shape)


def _rev_batch(vals: Any, dims: Any, *, dimensions: tuple[int, ...]) -> tuple[Any, int]:
    return rev(vals[0], shift_axes(dimensions, dims[0])), dims[0]


rev_p = primitive("rev", lambda x, *, dimensions: np.flip(x, dimensions),
                  lambda x, *, dimensions: _check_axes("rev", x, dimensions))
deflinear(rev_p)
moves_elements.add(rev_p)
deftranspose(rev_p, lambda ct, x, *, dimensions: rev(ct, dimensions))
batch_rules[rev_p] = _rev_batch


def _check_axes(name: str, x: ShapedArray, axes: tuple[int, ...]) -> ShapedArray:
    if any(not 0 <= a < x.ndim for a in axes) or len(set(axes)) != len(axes):
        raise ShapeError(f"{name}: axes {axes} are not distinct axes of {x}")
    return x


def rev(x: Any, dimensions: Sequence[int]) -> Any:
    """``x`` reversed along the axes ``dimensions``.

    >>> rev(np.arange(3), (0,))
    array([2, 1, 0])
    """
    nd = get_aval(x).ndim
    dims = tuple(sorted(int(d) % nd for d in dimensions)) if nd else ()
    return rev_p.bind(x, dimensions=dims) if dims else x


# ---------------------------------------------------------------- clamp
def _clamp_shape(lo: ShapedArray, x: ShapedArray, hi: ShapedArray) -> ShapedArray:
    for bound in (lo, hi):
        if bound.shape not in ((), x.shape) or bound.dtype != x.dtype:
            raise ShapeError(f"clamp: bounds must be scalars or of the operand's type {x}, "
                             f"got {lo} and {hi}")
    return x


def _clamp_jvps() -> tuple[Any, Any, Any]:
    ew = elementwise

    def where(pred: Any, t: Any) -> Any:
        t = broadcast_to(t, get_aval(pred).shape)
        return ew.select(pred, t, full(get_aval(t).shape, 0, get_aval(t).dtype))
    return (lambda t, ans, lo, x, hi: where(ew.bitwise_and(ew.gt(lo, x), ew.lt(lo, hi)), t),
            lambda t, ans, lo, x, hi: where(ew.bitwise_and(ew.gt(x, lo), ew.lt(x, hi)), t),
            lambda t, ans, lo, x, hi: where(ew.lt(hi, x), t))


clamp_p = primitive("clamp", lambda lo, x, hi: np.minimum(np.maximum(x, lo), hi), _clamp_shape)
defjvp(clamp_p, *_clamp_jvps())


def _clamp_batch(vals: Any, dims: Any) -> tuple[Any, int]:
    size = next(get_aval(v).shape[d] for v, d in zip(vals, dims) if d is not None)
    x_shape = _logical_shape(vals[1], dims[1])
    args = [bdim_to_front(broadcast_to(v, x_shape) if d is None else v, d, size)
            for v, d in zip(vals, dims)]
    args = [a if get_aval(a).ndim == len(x_shape) + 1 else
            broadcast_in_dim(a, (size,) + x_shape, (0,)) for a in args]
    return clamp_p.bind(*args), 0


def _logical_shape(v: Any, d: int | None) -> tuple[int, ...]:
    shape = get_aval(v).shape
    return shape if d is None else shape[:d] + shape[d + 1:]


batch_rules[clamp_p] = _clamp_batch


def clamp(min: Any, x: Any, max: Any) -> Any:
    """``x`` limited to ``[min, max]`` elementwise (bounds: scalars or arrays shaped like x).

    >>> clamp(0.0, np.array([-1.0, 0.5, 2.0]), 1.0)
    array([0. , 0.5, 1. ])
    """
    return clamp_p.bind(as_operand(min, x), x, as_operand(max, x))


# ---------------------------------------------------------------- jit statements

def _emit_reduce_sum(ctx: EmitContext, eqn: Eqn, ins: list[str], outs: list[str]) -> list[str]:
    return assign(outs, f"{ctx.ref(np.add.reduce)}({ins[0]}, {ctx.ref(eqn.params['axes'])})")


def _emit_reshape(ctx: EmitContext, eqn: Eqn, ins: list[str], outs: list[str]) -> list[str]:
    return assign(outs, f"{ins[0]}.reshape({ctx.ref(eqn.params['new_sizes'])})")


def _emit_transpose(ctx: EmitContext, eqn: Eqn, ins: list[str], outs: list[str]) -> list[str]:
    return assign(outs, f"{ins[0]}.transpose({ctx.ref(eqn.params['permutation'])})")


def _emit_broadcast_in_dim(ctx: EmitContext, eqn: Eqn, ins: list[str],
                           outs: list[str]) -> list[str]:
    shape, dims = eqn.params["shape"], eqn.params["broadcast_dimensions"]
    x = ins[0]
    in_shape = eqn.inputs[0].aval.shape
    if dims != tuple(range(len(shape) - len(dims), len(shape))):
        expanded = [1] * len(shape)
        for d, n in zip(dims, in_shape):
            expanded[d] = n
        x = f"{x}.reshape({ctx.ref(tuple(expanded))})"
    return assign(outs, f"{ctx.ref(np.broadcast_to)}({x}, {ctx.ref(shape)})")


def _emit_full(ctx: EmitContext, eqn: Eqn, ins: list[str], outs: list[str]) -> list[str]:
    p = eqn.params
    args = ", ".join(ctx.ref(p[k]) for k in ("shape", "fill_value", "dtype"))
    return assign(outs, f"{ctx.ref(np.full)}({args})")


defcodegen(reduce_sum_p, _emit_reduce_sum, "fresh")
defcodegen(reshape_p, _emit_reshape, "alias")
defcodegen(transpose_p, _emit_transpose, "alias")
defcodegen(broadcast_in_dim_p, _emit_broadcast_in_dim, "alias")
defcodegen(full_p, _emit_full, "fresh")


# ---------------------------------------------------------------- jit simplifications

def _same_as_operand(rw: Rewriter, eqn: Eqn) -> Atom | Eqn:
    """A reshape, broadcast or transpose that changes nothing."""
    x = eqn.inputs[0]
    if x.aval != eqn.outvars[0].aval:
        return eqn
    if eqn.primitive is transpose_p and eqn.params["permutation"] != tuple(range(x.aval.ndim)):
        return eqn
    return x


def _compose(first: tuple[int, ...], second: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(first[i] for i in second)


def _reshape_fused(rw: Rewriter, eqn: Eqn) -> Atom | Eqn:
    """reshape(reshape x) is one reshape of x (or x); a reshaped scalar broadcast stays one."""
    inner = rw.producer_of(eqn.inputs[0])
    if inner is None:
        return eqn
    if inner.primitive is reshape_p:
        x = inner.inputs[0]
        if x.aval == eqn.outvars[0].aval:
            return x
        return Eqn(reshape_p, [x], eqn.params, eqn.outvars, eqn.source)
    if inner.primitive is broadcast_in_dim_p and inner.inputs[0].aval.ndim == 0:
        return Eqn(broadcast_in_dim_p, inner.inputs, {"shape": eqn.params["new_sizes"],
                                                      "broadcast_dimensions": ()},
                   eqn.outvars, eqn.source)
    return eqn


def _transpose_fused(rw: Rewriter, eqn: Eqn) -> Atom | Eqn:
    """transpose(transpose x) is one transpose of x (or x); a product whose only use is its
    transpose is computed transposed directly (``permute_rules``), coming out contiguous."""
    inner = rw.producer_of(eqn.inputs[0])
    if inner is None:
        return eqn
    perm = eqn.params["permutation"]
    if inner.primitive is transpose_p:
        composed = _compose(inner.params["permutation"], perm)
        if composed == tuple(range(len(perm))):
            return same_type(eqn, inner.inputs[0])
        return Eqn(transpose_p, [inner.inputs[0]], {"permutation": composed}, eqn.outvars,
                   eqn.source)
    permute = permute_rules.get(inner.primitive)
    if permute is not None and rw.uses(inner.outvars[0]) == 1:
        direct = permute(inner, perm)
        if direct is not None:
            return Eqn(direct.primitive, direct.inputs, direct.params, eqn.outvars, eqn.source)
    return eqn


def _reduce_sum_fused(rw: Rewriter, eqn: Eqn) -> Atom | Eqn:
    """reduce_sum(reduce_sum x) is one reduce_sum of x."""
    inner = rw.producer_of(eqn.inputs[0])
    if inner is None or inner.primitive is not reduce_sum_p:
        return eqn
    first = inner.params["axes"]
    kept = [i for i in range(inner.inputs[0].aval.ndim) if i not in first]
    axes = tuple(sorted(first + tuple(kept[j] for j in eqn.params["axes"])))
    return Eqn(reduce_sum_p, [inner.inputs[0]], {"axes": axes}, eqn.outvars, eqn.source)


def _broadcast_source(rw: Rewriter, eqn: Eqn) -> Atom | None:
    """The operand with size-1 axes where it was expanded (or the scalar itself): NumPy
    broadcasting expands it the same way."""
    x, dims = eqn.inputs[0], eqn.params["broadcast_dimensions"]
    if x.aval.ndim == 0:
        return x
    shape = [1] * len(eqn.params["shape"])
    for d, n in zip(dims, x.aval.shape):
        shape[d] = n
    while shape and shape[0] == 1 and len(shape) > x.aval.ndim:
        shape.pop(0)
    if tuple(shape) == x.aval.shape:
        return x
    v = Var(ShapedArray(tuple(shape), x.aval.dtype))
    rw.keep(Eqn(reshape_p, [x], {"new_sizes": tuple(shape)}, [v], eqn.source))
    return v


def _full_source(rw: Rewriter, eqn: Eqn) -> Atom:
    return Literal(np.asarray(eqn.params["fill_value"], eqn.params["dtype"]))


defsimplify(reshape_p, _same_as_operand, _reshape_fused)
defsimplify(transpose_p, _same_as_operand, _transpose_fused)
defsimplify(broadcast_in_dim_p, _same_as_operand)
defsimplify(reduce_sum_p, _reduce_sum_fused)
expand_rules[broadcast_in_dim_p] = _broadcast_source
expand_rules[full_p] = _full_source
