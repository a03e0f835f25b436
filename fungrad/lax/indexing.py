"""NumPy-native indexing primitives: gather (``x[idx]``), scatter (``x[idx] = u`` and ``op.at``).

An index travels as its arrays (operands) and the hashable ``indexer`` param of its static rest
(see ``fungrad.lax.index_layout``); result shapes follow NumPy exactly.

Out-of-bounds array indices (which NumPy would reject, but under tracing nobody can check) are
handled like JAX's defaults: negative indices count from the end, then ``gather`` clamps them
into range (``mode="clip"``) or yields ``fill_value`` (``mode="fill"``), and ``scatter`` drops
out-of-bounds updates (``oob="drop"``) or clamps them (``oob="clip"``).
"""
from __future__ import annotations

import functools
import math
from typing import Any, Callable, Sequence

import numpy as np

from fungrad.compiler.codegen import EmitContext, assign, defcodegen, emit_impl
from fungrad.compiler.passes import Rewriter, defsimplify, expand_rules, moves_elements
from fungrad.core import Primitive, Tracer, get_aval
from fungrad.errors import ShapeError
from fungrad.interpreters.ad import Zero, jvp_rules
from fungrad.lax.registry import (
    as_operand, bdim_to_front, deflinear, deftranspose, instantiate, moveaxis, primitive,
)
from fungrad.interpreters.batching import batch_rules
from fungrad.interpreters.transpose import aval_of, is_undefined, transpose_rules
from fungrad.ir import Atom, Eqn, ShapedArray
from fungrad.lax.elementwise import (
    add, convert_element_type, div, eq, max as lmax, min as lmin, mul, select,
)
from fungrad.lax.index_layout import (
    INDEX_DTYPE, Arr, Entry, Label, Slice, check_index, layout, normalize_index,
)
from fungrad.lax.shape_ops import broadcast_to, full, iota, reduce_sum_p, reshape, transpose
from fungrad.source_info import at_user_line


# ---------------------------------------------------------------- NumPy implementations
def _fix_indices(shape: tuple[int, ...], indexer: tuple[Entry, ...], arrs: Sequence[Any],
                 clip: bool) -> tuple[tuple[Any, ...], list[int] | None]:
    """The NumPy index, negative indices wrapped and out-of-bounds ones clamped (``clip``) or
    sent to a padding slot at the end of their axis; the axes needing that slot (or None)."""
    axes = layout(shape, indexer, tuple(np.shape(a) for a in arrs))[2]
    fixed, pad_axes = [], []
    for a, ax in zip(arrs, axes):
        a, n = np.asarray(a), shape[ax]
        if a.size and (a.min() < 0 or a.max() >= n):
            a = np.where(a < 0, a + n, a)
            if clip:
                a = np.clip(a, 0, n - 1)
            else:
                bad = (a < 0) | (a >= n)
                if bad.any():
                    a = np.where(bad, n, a)
                    pad_axes.append(ax)
        fixed.append(a)
    index = tuple(fixed[e.k] if type(e) is Arr else slice(*e) if type(e) is Slice else e
                  for e in indexer)
    return index, (pad_axes or None)


def _padded(x: Any, axes: Sequence[int], fill: Any) -> Any:
    shape = list(x.shape)
    for ax in set(axes):
        shape[ax] += 1
    buf = np.full(shape, fill, x.dtype)
    buf[tuple(slice(0, n) for n in x.shape)] = x
    return buf


def _gather_impl(x: Any, *arrs: Any, indexer: tuple[Entry, ...], mode: str,
                 fill_value: Any) -> Any:
    x = np.asarray(x)
    if not arrs:   # static ints and slices (checked where the gather was made): basic indexing
        return x[tuple(slice(*e) if type(e) is Slice else e for e in indexer)]
    index, pad_axes = _fix_indices(x.shape, indexer, arrs, clip=mode == "clip")
    if pad_axes:
        x = _padded(x, pad_axes, fill_value)
    return x[index]


def _scatter_impl(combine: Callable[[Any, Any, Any, bool], None]) -> Callable[..., Any]:
    def impl(x: Any, updates: Any, *arrs: Any, indexer: tuple[Entry, ...], oob: str) -> Any:
        x = np.asarray(x)
        index, pad_axes = _fix_indices(x.shape, indexer, arrs, clip=oob == "clip")
        out = _padded(x, pad_axes, 0) if pad_axes else x.copy()
        combine(out, index, updates, bool(arrs))
        return out[tuple(slice(0, n) for n in x.shape)] if pad_axes else out
    return impl


def _combine_with(ufunc: np.ufunc) -> Callable[[Any, Any, Any, bool], None]:
    """``out[index] op= updates``, accumulating over repeated indices when there are arrays."""
    def combine(out: Any, index: Any, updates: Any, has_arrays: bool) -> None:
        if has_arrays:
            ufunc.at(out, index, updates)
        else:
            out[index] = ufunc(out[index], updates)
    return combine


def _set(out: Any, index: Any, updates: Any, has_arrays: bool) -> None:
    out[index] = updates


# ---------------------------------------------------------------- shape rules
def _gather_shape(x: ShapedArray, *arrs: ShapedArray, indexer: tuple[Entry, ...], mode: str,
                  fill_value: Any) -> ShapedArray:
    return ShapedArray(check_index(x.shape, indexer, arrs)[1], x.dtype)


def _scatter_shape(name: str) -> Callable[..., ShapedArray]:
    def rule(x: ShapedArray, updates: ShapedArray, *arrs: ShapedArray,
             indexer: tuple[Entry, ...], oob: str) -> ShapedArray:
        shape = check_index(x.shape, indexer, arrs)[1]
        if updates.shape != shape or updates.dtype != x.dtype:
            raise ShapeError(f"{name}: updates must be {ShapedArray(shape, x.dtype)} (the type "
                             f"of x[index]), got {updates}")
        return x
    return rule


gather_p = primitive("gather", _gather_impl, _gather_shape)
moves_elements.add(gather_p)


def _index_source(ctx: EmitContext, indexer: tuple[Entry, ...], arr_names: Sequence[str]) -> str:
    """The source of the NumPy index tuple: array entries by name, the static rest as globals."""
    parts = [arr_names[e.k] if type(e) is Arr else ctx.ref(slice(*e) if type(e) is Slice else e)
             for e in indexer]
    return ", ".join(parts) + ","


def _integer_arrays(eqn: Eqn, first: int) -> bool:
    return all(a.aval.dtype.kind in "iu" for a in eqn.inputs[first:])


def _emit_gather(ctx: EmitContext, eqn: Eqn, ins: list[str], outs: list[str]) -> list[str]:
    """``x[index]`` directly. With index arrays, NumPy's own indexing agrees with the impl on
    every in-bounds index (negative ones wrap the same way) and raises IndexError on the others,
    which then go to the impl's clamping or filling."""
    index = _index_source(ctx, eqn.params["indexer"], ins[1:])
    if len(ins) == 1:
        return assign(outs, f"{ins[0]}[{index}]")
    if not _integer_arrays(eqn, 1):
        return emit_impl(ctx, eqn, ins, outs)
    return ["try:", f"    {outs[0]} = {ins[0]}[{index}]", "except IndexError:",
            *("    " + line for line in emit_impl(ctx, eqn, ins, outs))]


defcodegen(gather_p, _emit_gather, "alias")


def _distinct_positions(value: Any, n: int, index_shape: tuple[int, ...]) -> Any:
    """The known index array ``value`` over ``index_shape``, flattened and with negative indices
    wrapped, when its values are in bounds (of an axis of ``n``) and distinct; else None."""
    value = np.broadcast_to(np.asarray(value), index_shape).ravel()
    if value.size and (value.min() < -n or value.max() >= n):
        return None
    value = np.where(value < 0, value + n, value)
    return value if np.unique(value).size == value.size else None


def _provably_unique(ctx: EmitContext, eqn: Eqn) -> bool:
    """Whether the index arrays of ``eqn`` (a scatter) never name one element twice: true when
    one of them is a compile-time constant, in bounds, whose values are distinct over the
    broadcast index shape (then so are the tuples of all the arrays' values)."""
    arrs = eqn.inputs[2:]
    shape = eqn.inputs[0].aval.shape
    axes = layout(shape, eqn.params["indexer"], tuple(a.aval.shape for a in arrs))[2]
    index_shape = np.broadcast_shapes(*(a.aval.shape for a in arrs))
    return any(_distinct_positions(value, shape[ax], index_shape) is not None
               for a, ax in zip(arrs, axes) if (value := ctx.constant(a)) is not None)


def _uniform(value: Any) -> Any:
    """The one scalar every element of ``value`` (a known array) equals, else None."""
    if value is None or not np.ndim(value) or not value.size:
        return None
    first = value.flat[0]
    return first if not any(value.strides) or bool((value == first).all()) else None


def _zeros(value: Any) -> bool:
    """Is ``value`` (a known array or None) all positive zeros of a real or integer dtype?"""
    return (value is not None and value.dtype.kind in "fiu" and not value.any()
            and not np.signbit(value).any())


def _emit_scatter_add(ctx: EmitContext, eqn: Eqn, ins: list[str], outs: list[str]) -> list[str]:
    """``out = x.copy()`` then ``out[index] += u`` when the indices are provably unique, else
    ``np.add.at(out, index, u)``; out-of-bounds indices raise IndexError in NumPy and go to the
    impl (on the untouched ``x``) for its dropping or clamping.

    A transpose of ``gather`` scatters into zeros, often one constant (``-1/B`` in a mean of picked
    log-probabilities): then ``out`` starts as new zeros instead of a copy, a constant update is
    the scalar, and with unique indices the scalar ``0 + u`` is assigned rather than added."""
    if len(ins) == 2 or not _integer_arrays(eqn, 2):
        return emit_impl(ctx, eqn, ins, outs)
    x, u, out = ins[0], ins[1], outs[0]
    index = _index_source(ctx, eqn.params["indexer"], ins[2:])
    unique = _provably_unique(ctx, eqn)
    scalar = _uniform(ctx.constant(eqn.inputs[1]))
    if scalar is not None:
        u = ctx.ref(scalar)
    if _zeros(ctx.constant(eqn.inputs[0])):
        aval = eqn.outvars[0].aval
        start = f"{out} = {ctx.ref(np.zeros)}({ctx.ref(aval.shape)}, {ctx.ref(aval.dtype)})"
        if scalar is not None:
            u = ctx.ref(np.zeros((), aval.dtype) + scalar)   # 0 + (-0.0) is 0.0, as adding gives
            unique_update = f"{out}[{index}] = {u}"
        else:
            unique_update = f"{out}[{index}] += {u}"
    else:
        start, unique_update = f"{out} = {x}.copy()", f"{out}[{index}] += {u}"
    update = unique_update if unique else f"{ctx.ref(np.add.at)}({out}, ({index}), {u})"
    return [start, "try:", f"    {update}", "except IndexError:",
            *("    " + line for line in emit_impl(ctx, eqn, ins, outs))]


def _constant_updates(rw: Rewriter, eqn: Eqn) -> Eqn:
    """``scatter_add(x, broadcast(c), ...)`` of a known scalar ``c``: the updates become ``c``
    broadcast as a constant that takes no memory, which the emitter passes NumPy as the scalar
    (rather than broadcasting it on every call)."""
    producer = rw.producer_of(eqn.inputs[1])
    if producer is None or producer.primitive not in expand_rules:
        return eqn
    if not all(rw.known(a) is not None and np.ndim(rw.known(a)) == 0 for a in producer.inputs):
        return eqn
    value = rw.known(expand_rules[producer.primitive](rw, producer))   # type: ignore[arg-type]
    if value is None:
        return eqn
    aval = eqn.inputs[1].aval
    u = rw.const(np.broadcast_to(np.asarray(value, aval.dtype), aval.shape))
    return Eqn(eqn.primitive, [eqn.inputs[0], u, *eqn.inputs[2:]], eqn.params, eqn.outvars,
               eqn.source)


def _summed_one_hot(rw: Rewriter, eqn: Eqn) -> Atom | Eqn:
    """The sum over every axis but one of a scatter-add of one constant ``c`` into zeros, each
    update at its own position along the kept axis (a known index array with distinct values):
    a constant, ``0 + c`` at those positions and 0 elsewhere. It is the row sum of the transpose
    of picking one log-probability per example (``log_softmax(z)[arange(B), labels]``), which
    the backward pass of ``log_softmax`` needs; the other indices only pick a column, and with
    ``oob="clip"`` no update is dropped, so the sum is known before any label is."""
    s = rw.producer_of(eqn.inputs[0])
    if s is None or s.primitive is not scatter_add_p or s.params["oob"] != "clip":
        return eqn
    x, u, *arrs = s.inputs
    indexer, aval = s.params["indexer"], x.aval
    c = _uniform(rw.known(u))
    kept = [ax for ax in range(aval.ndim) if ax not in eqn.params["axes"]]
    if (c is None or not _zeros(rw.known(x)) or len(kept) != 1 or len(indexer) != aval.ndim
            or not all(type(e) is Arr for e in indexer)
            or not all(a.aval.dtype.kind in "iu" for a in arrs)):
        return eqn
    index = rw.known(arrs[indexer[kept[0]].k])
    n = aval.shape[kept[0]]
    rows = None if index is None else _distinct_positions(
        index, n, np.broadcast_shapes(*(a.aval.shape for a in arrs)))
    if rows is None:
        return eqn
    out = np.zeros(n, aval.dtype)
    out[rows] = np.zeros((), aval.dtype) + c
    return rw.const(out)


scatter_p = primitive("scatter", _scatter_impl(_set), _scatter_shape("scatter"))
scatter_add_p = primitive("scatter_add", _scatter_impl(_combine_with(np.add)),
                          _scatter_shape("scatter_add"))
defcodegen(scatter_add_p, _emit_scatter_add, "fresh")
defsimplify(scatter_add_p, _constant_updates)
defsimplify(reduce_sum_p, _summed_one_hot)
scatter_mul_p = primitive("scatter_mul", _scatter_impl(_combine_with(np.multiply)),
                          _scatter_shape("scatter_mul"))
scatter_min_p = primitive("scatter_min", _scatter_impl(_combine_with(np.minimum)),
                          _scatter_shape("scatter_min"))
scatter_max_p = primitive("scatter_max", _scatter_impl(_combine_with(np.maximum)),
                          _scatter_shape("scatter_max"))
SCATTERS = {"set": scatter_p, "add": scatter_add_p, "mul": scatter_mul_p, "min": scatter_min_p,
            "max": scatter_max_p}


# ---------------------------------------------------------------- the lax functions
def gather(x: Any, index: Any, mode: str = "clip", fill_value: Any = None) -> Any:
    """``x[index]`` for a NumPy index (ints, slices, None, ..., integer arrays or tracers).

    Out-of-bounds array indices are clamped (``mode="clip"``) or give ``fill_value``
    (``mode="fill"``; default NaN for inexact dtypes, else 0).

    >>> gather(np.arange(10.0).reshape(2, 5), np.s_[:, [4, 0]])
    array([[4., 0.],
           [9., 5.]])
    """
    if mode not in ("clip", "fill"):
        raise ValueError(f"gather: mode must be 'clip' or 'fill', got {mode!r}")
    indexer, arrays = normalize_index(x, index)
    aval = get_aval(x)
    _checked(aval.shape, indexer, arrays)
    if mode == "fill":
        fill_value = _default_fill(aval.dtype) if fill_value is None else fill_value
        fill_value = np.asarray(fill_value, aval.dtype).item()
    else:
        fill_value = None
    return gather_p.bind(x, *arrays, indexer=indexer, mode=mode, fill_value=fill_value)


def scatter(x: Any, index: Any, updates: Any, mode: str = "set", oob: str = "drop") -> Any:
    """``x`` with ``x[index]`` replaced by (``"set"``) or combined with (``"add"``, ``"mul"``,
    ``"min"``, ``"max"``) ``updates``, which broadcast to the shape of ``x[index]``.

    Repeated indices accumulate for add/mul/min/max; for set the last one wins. Out-of-bounds
    updates are dropped (``oob="drop"``) or clamped into range (``oob="clip"``).

    >>> scatter(np.zeros(4), (np.array([1, 1, 3]),), 1.0, mode="add")
    array([0., 2., 0., 1.])
    """
    prim = SCATTERS.get(mode)
    if prim is None:
        raise ValueError(f"scatter: mode must be one of {sorted(SCATTERS)}, got {mode!r}")
    if oob not in ("drop", "clip"):
        raise ValueError(f"scatter: oob must be 'drop' or 'clip', got {oob!r}")
    indexer, arrays = normalize_index(x, index)
    aval = get_aval(x)
    shape = _checked(aval.shape, indexer, arrays)
    updates = as_operand(updates, x)
    u = get_aval(updates)
    if u.dtype != aval.dtype:
        raise ShapeError(f"scatter: updates of dtype {u.dtype} for an array of dtype "
                         f"{aval.dtype} (convert them first){at_user_line()}")
    try:
        np.broadcast_shapes(u.shape, shape)
    except ValueError:
        raise ShapeError(f"scatter: updates of shape {u.shape} do not broadcast to the indexed "
                         f"shape {shape}{at_user_line()}") from None
    if u.shape != shape:
        updates = broadcast_to(updates, shape)
    return prim.bind(x, updates, *arrays, indexer=indexer, oob=oob)


def _checked(shape: tuple[int, ...], indexer: tuple[Entry, ...],
             arrays: Sequence[Any]) -> tuple[int, ...]:
    try:
        return check_index(shape, indexer, [get_aval(a) for a in arrays])[1]
    except ShapeError as e:
        raise ShapeError(f"{e}{at_user_line()}") from None


def _default_fill(dtype: np.dtype[Any]) -> Any:
    return np.nan if dtype.kind in "fc" else 0


# ---------------------------------------------------------------- JVP rules
def _gather_jvp(primals: Sequence[Any], tangents: Sequence[Any], *, indexer: tuple[Entry, ...],
                mode: str, fill_value: Any) -> tuple[Any, Any]:
    ans = gather_p.bind(*primals, indexer=indexer, mode=mode, fill_value=fill_value)
    if type(tangents[0]) is Zero:
        return ans, Zero.like(ans)
    t = gather_p.bind(tangents[0], *primals[1:], indexer=indexer, mode=mode,
                      fill_value=None if mode == "clip" else 0)
    return ans, t


def _scatter_mul_jvp(primals: Sequence[Any], tangents: Sequence[Any], *,
                     indexer: tuple[Entry, ...], oob: str) -> tuple[Any, Any]:
    """d(x * prod u) = dx * prod u + x * sum_j du_j prod_{k != j} u_k, zero-safe: the product of
    the others is counted from the nonzero updates and the number of zeros at each position."""
    x, u, *arrs = primals
    tx, tu = tangents[0], tangents[1]
    kw = dict(indexer=indexer, oob=oob)
    ans = scatter_mul_p.bind(x, u, *arrs, **kw)
    out: Any = Zero.like(ans)
    if type(tx) is not Zero:
        out = scatter_mul_p.bind(tx, u, *arrs, **kw)
    if type(tu) is not Zero:
        zero_u = eq(u, 0)
        ones, zeros = full(get_aval(x).shape, 1, u.dtype), full(get_aval(x).shape, 0, u.dtype)
        nonzero_prod = scatter_mul_p.bind(ones, select(zero_u, 1.0, u), *arrs, **kw)
        n_zeros = scatter_add_p.bind(zeros, convert_element_type(zero_u, u.dtype), *arrs, **kw)
        g = functools.partial(_gather_like, arrs=arrs, indexer=indexer, oob=oob)
        p_at, z_at = g(nonzero_prod), g(n_zeros)
        others = select(zero_u, mul(p_at, convert_element_type(eq(z_at, 1), u.dtype)),
                        mul(div(p_at, select(zero_u, 1.0, u)),
                            convert_element_type(eq(z_at, 0), u.dtype)))
        du = scatter_add_p.bind(zeros, mul(mul(tu, others), g(x)), *arrs, **kw)
        out = du if type(out) is Zero else add(out, du)
    return ans, out


def _scatter_extremum_jvp(prim: Primitive) -> Callable[..., tuple[Any, Any]]:
    """The tangent of whichever value won (x or an update), averaged over ties."""
    def jvp(primals: Sequence[Any], tangents: Sequence[Any], *, indexer: tuple[Entry, ...],
            oob: str) -> tuple[Any, Any]:
        x, u, *arrs = primals
        kw = dict(indexer=indexer, oob=oob)
        ans = prim.bind(x, u, *arrs, **kw)
        dtype = get_aval(x).dtype
        x_won = convert_element_type(eq(x, ans), dtype)
        u_won = convert_element_type(eq(u, _gather_like(ans, arrs, indexer, oob)), dtype)
        count = add(x_won, scatter_add_p.bind(full(get_aval(x).shape, 0, dtype), u_won,
                                              *arrs, **kw))
        tx, tu = instantiate(tangents[0]), instantiate(tangents[1])
        total = scatter_add_p.bind(mul(tx, x_won), mul(tu, u_won), *arrs, **kw)
        return ans, div(total, count)
    return jvp


def _gather_like(y: Any, arrs: Sequence[Any], indexer: tuple[Entry, ...], oob: str) -> Any:
    """``y[index]`` with the out-of-bounds policy matching a scatter's ``oob``."""
    if oob == "clip":
        return gather_p.bind(y, *arrs, indexer=indexer, mode="clip", fill_value=None)
    return gather_p.bind(y, *arrs, indexer=indexer, mode="fill", fill_value=0)


jvp_rules[gather_p] = _gather_jvp
deflinear(scatter_p, (0, 1))
deflinear(scatter_add_p, (0, 1))
jvp_rules[scatter_mul_p] = _scatter_mul_jvp
jvp_rules[scatter_min_p] = _scatter_extremum_jvp(scatter_min_p)
jvp_rules[scatter_max_p] = _scatter_extremum_jvp(scatter_max_p)


# ---------------------------------------------------------------- transpose rules
def _gather_transpose(ct: Any, x: Any, *arrs: Any, indexer: tuple[Entry, ...], mode: str,
                      fill_value: Any) -> Any:
    a = aval_of(x)
    return scatter_add_p.bind(full(a.shape, 0, a.dtype), ct, *arrs, indexer=indexer,
                              oob="clip" if mode == "clip" else "drop")


def _scatter_set_transpose(ct: Any, x: Any, u: Any, *arrs: Any, indexer: tuple[Entry, ...],
                           oob: str) -> list[Any]:
    """x: ``ct`` with the written positions zeroed; updates: ``ct[index]`` where they won."""
    ua = aval_of(u)
    ct_x = ct_u = None
    if is_undefined(x):
        ct_x = scatter_p.bind(ct, full(ua.shape, 0, ua.dtype), *arrs, indexer=indexer, oob=oob)
    if is_undefined(u):
        ct_u = _gather_like(ct, arrs, indexer, oob)
        if arrs:  # repeated indices: only the update NumPy wrote last reaches the output
            ids = reshape(iota(INDEX_DTYPE, math.prod(ua.shape)), ua.shape)
            written = scatter_p.bind(full(aval_of(x).shape, -1, INDEX_DTYPE), ids, *arrs,
                                     indexer=indexer, oob=oob)
            won = eq(_gather_like(written, arrs, indexer, oob), ids)
            ct_u = select(won, ct_u, full(ua.shape, 0, ua.dtype))
    return [ct_x, ct_u] + [None] * len(arrs)


def _scatter_add_transpose(ct: Any, x: Any, u: Any, *arrs: Any, indexer: tuple[Entry, ...],
                           oob: str) -> list[Any]:
    ct_u = _gather_like(ct, arrs, indexer, oob) if is_undefined(u) else None
    return [ct if is_undefined(x) else None, ct_u] + [None] * len(arrs)


def _scatter_mul_transpose(ct: Any, x: Any, u: Any, *arrs: Any, indexer: tuple[Entry, ...],
                           oob: str) -> list[Any]:
    if is_undefined(u):
        raise NotImplementedError("scatter_mul is linear in its operand only, not its updates")
    return [scatter_mul_p.bind(ct, u, *arrs, indexer=indexer, oob=oob)] + [None] * (1 + len(arrs))



deftranspose(gather_p, _gather_transpose)
transpose_rules[scatter_p] = _scatter_set_transpose
transpose_rules[scatter_add_p] = _scatter_add_transpose
transpose_rules[scatter_mul_p] = _scatter_mul_transpose


# ---------------------------------------------------------------- batching rules
def _batch_index(indexer: tuple[Entry, ...], arrs: Sequence[Any], dims: Sequence[int | None],
                 x_batched: bool, size: int) -> tuple[tuple[Entry, ...], list[Any], Any]:
    """Index the batched x (batch axis first when ``x_batched``) with the batched indices.

    Returns the new indexer and arrays and a map from the new result labels to the old ones
    (``"batch"`` for the batch axis). Unbatched indices get a leading full slice; batched ones
    get their batch axis first and, when x is batched, an ``arange`` index pairs them up.
    """
    if all(d is None for d in dims):
        def old_label(lab: Label) -> Any:
            if lab[0] == "a":
                return lab
            return "batch" if lab == ("e", 0) else ("e", lab[1] - 1) + lab[2:]
        return (Slice(None, None, None),) + indexer, list(arrs), old_label
    rank = len(np.broadcast_shapes(*[logical_shape(a, d) for a, d in zip(arrs, dims)]))
    new_arrs = []
    for a, d in zip(arrs, dims):
        if d is not None:
            a = moveaxis(a, d, 0)
            shape = get_aval(a).shape
            a = reshape(a, shape[:1] + (1,) * (rank + 1 - len(shape)) + shape[1:])
        new_arrs.append(a)
    shift = 0
    if x_batched:
        new_arrs.append(reshape(iota(INDEX_DTYPE, size), (size,) + (1,) * rank))
        indexer = (Arr(len(arrs)),) + indexer
        shift = 1

    def old_label_adv(lab: Label) -> Any:
        if lab[0] == "a":
            return "batch" if lab[1] == 0 else ("a", lab[1] - 1)
        return ("e", lab[1] - shift) + lab[2:]
    return indexer, new_arrs, old_label_adv


def logical_shape(a: Any, d: int | None) -> tuple[int, ...]:
    shape = get_aval(a).shape
    return shape if d is None else shape[:d] + shape[d + 1:]


def axis_size(vals: Sequence[Any], dims: Sequence[int | None]) -> int:
    return next(get_aval(v).shape[d] for v, d in zip(vals, dims) if d is not None)


def _new_labels(x: Any, indexer: tuple[Entry, ...], arrs: Sequence[Any]) -> tuple[Label, ...]:
    return layout(get_aval(x).shape, indexer, tuple(get_aval(a).shape for a in arrs))[0]


def _gather_batch(vals: Sequence[Any], dims: Sequence[int | None], *, indexer: tuple[Entry, ...],
                  mode: str, fill_value: Any) -> tuple[Any, int]:
    x, xd = vals[0], dims[0]
    if xd is not None:
        x = moveaxis(x, xd, 0)
        if len(vals) == 1:   # basic indexing (slices of a batched x): the batch axis stays first
            return gather_p.bind(x, indexer=(Slice(None, None, None),) + indexer, mode=mode,
                                 fill_value=fill_value), 0
    new_indexer, arrs, old = _batch_index(indexer, vals[1:], dims[1:], xd is not None,
                                          axis_size(vals, dims))
    out = gather_p.bind(x, *arrs, indexer=new_indexer, mode=mode, fill_value=fill_value)
    got = [old(lab) for lab in _new_labels(x, new_indexer, arrs)]
    bdim = got.index("batch")
    logical = layout(logical_shape(vals[0], xd), indexer,
                     tuple(logical_shape(a, d) for a, d in zip(vals[1:], dims[1:])))[0]
    if got[:bdim] + got[bdim + 1:] == list(logical):
        return out, bdim
    # an arange index moved the advanced dims to the front: restore NumPy's order
    return transpose(out, [got.index(lab) for lab in ("batch",) + logical]), 0


def _scatter_batch(prim: Primitive) -> Callable[..., tuple[Any, int]]:
    def rule(vals: Sequence[Any], dims: Sequence[int | None], *, indexer: tuple[Entry, ...],
             oob: str) -> tuple[Any, int]:
        size = axis_size(vals, dims)
        x = bdim_to_front(vals[0], dims[0], size)
        u = bdim_to_front(vals[1], dims[1], size)
        arrs = vals[2:]
        old_labels = layout(get_aval(x).shape[1:], indexer,
                            tuple(logical_shape(a, d) for a, d in zip(arrs, dims[2:])))[0]
        new_indexer, new_arrs, old = _batch_index(indexer, arrs, dims[2:], True, size)
        have = ("batch",) + old_labels
        perm = [have.index(old(lab)) for lab in _new_labels(x, new_indexer, new_arrs)]
        return prim.bind(x, transpose(u, perm), *new_arrs, indexer=new_indexer, oob=oob), 0
    return rule


batch_rules[gather_p] = _gather_batch
for _p in SCATTERS.values():
    batch_rules[_p] = _scatter_batch(_p)


def take_along_axis(x: Any, indices: Any, axis: int) -> Any:
    """``np.take_along_axis`` as a gather: ``out[.., i, ..] = x[.., indices[.., i, ..], ..]``.

    >>> take_along_axis(np.array([[10, 20, 30]]), np.array([[2, 0]]), 1)
    array([[30, 10]])
    """
    shape = get_aval(indices).shape
    index = tuple(indices if d == axis else
                  reshape(iota(INDEX_DTYPE, n), (1,) * d + (n,) + (1,) * (len(shape) - d - 1))
                  for d, n in enumerate(shape))
    return gather(x, index)
