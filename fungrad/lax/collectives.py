"""Collectives over named axes: psum, pmean, pmax, pmin, all_gather, psum_scatter, ppermute,
all_to_all and axis_index, with JAX's semantics.

A named axis is a batch axis of ``vmap(f, axis_name=...)`` or an axis of processes bound by
``fungrad.distributed.pmap``. The primitives have one meaning and two places to run:

- under ``vmap`` their batch rules act on the batch axis (``psum`` is a ``reduce_sum`` over it);
- at evaluation (eagerly, or in the code ``jit`` generates) the axis must be an axis of
  processes, and the impls call its communicator (``process_axes``, filled by
  ``fungrad.distributed`` with MPI collectives on NumPy buffers).

Differentiation follows JAX: ``psum``'s transpose is ``psum`` (the cotangent of a sum over the
axis is summed over the axis), ``all_gather`` and ``psum_scatter`` transpose into each other,
``ppermute`` into the inverse permutation, ``all_to_all`` into the swapped one.

>>> import fungrad, numpy as np
>>> fungrad.vmap(lambda x: psum(x, "i"), axis_name="i")(np.array([1.0, 2.0, 3.0]))
array([6., 6., 6.])
>>> fungrad.vmap(lambda x: all_gather(x, "i"), axis_name="i")(np.array([1.0, 2.0]))
array([[1., 2.],
       [1., 2.]])
"""
from __future__ import annotations

from typing import Any, Callable, Protocol, Sequence

import numpy as np

from fungrad.compiler.codegen import EmitContext, defcodegen
from fungrad.core import Primitive, abstract_eval_rules, get_aval, impl_rules
from fungrad.errors import ShapeError
from fungrad.interpreters.ad import Zero, jvp_rules, linearize_rules
from fungrad.interpreters.batching import batch_rules, give_batch_axis, rule_axis_name
from fungrad.interpreters.named_axes import (
    UnboundAxisError, axis_name_rules, axis_size, normalize_axis_name,
)
from fungrad.interpreters.transpose import transpose_rules
from fungrad.ir import Eqn, ShapedArray
from fungrad.lax.elementwise import add, convert_element_type, div, eq, mul
from fungrad.lax.slicing import slice_in_dim
from fungrad.lax.reductions import reduce_max, reduce_min
from fungrad.lax.registry import (
    bdim_to_front, defjvp_zero, deflinear, deftranspose, moveaxis, primitive,
)
from fungrad.lax.shape_ops import concatenate, full, iota, reduce_sum, reshape
from fungrad.source_info import at_user_line
from fungrad.tree_util import tree_flatten, tree_map, tree_unflatten


class ProcessAxis(Protocol):
    """A communicator for one axis of processes (``fungrad.distributed`` implements it)."""

    size: int
    index: int

    # sum, mean, max or min; ``writable[i]``: the caller gives up ``xs[i]``, which may be reduced
    # in its own buffer and returned.
    def allreduce(self, xs: list[np.ndarray], op: str,
                  writable: tuple[bool, ...] = ()) -> list[np.ndarray]: ...
    def allgather(self, x: np.ndarray) -> np.ndarray: ...            # -> (size, *x.shape)
    def reduce_scatter(self, x: np.ndarray) -> np.ndarray: ...       # (size, *s) -> s, summed
    def permute(self, x: np.ndarray, perm: tuple[tuple[int, int], ...]) -> np.ndarray: ...
    def alltoall(self, x: np.ndarray) -> np.ndarray: ...             # (size, *s) -> (size, *s)


# Axis name -> its communicator, for axes bound by fungrad.distributed.pmap.
process_axes: dict[Any, ProcessAxis] = {}


def _process_axis(names: tuple[Any, ...], what: str) -> ProcessAxis:
    """The communicator of the one process axis an evaluated collective runs over."""
    if len(names) != 1 or names[0] not in process_axes:
        raise UnboundAxisError(
            f"{what} over {names} ran outside any mapped axis: bind the axis with "
            f"vmap(..., axis_name=...) or fungrad.distributed.pmap(..., axis_name=...) "
            f"(one axis of processes per collective){at_user_line()}")
    return process_axes[names[0]]


# A named vmap axis batches a call (jit, cond, scan...) whose body has a collective over it even
# when no operand is batched: it gives the first operand the batch axis with this.
give_batch_axis[:] = [lambda x, n: bdim_to_front(x, None, n)]


def _collective(name: str, impl: Callable[..., Any], shape_rule: Callable[..., Any],
                linear: bool = False) -> Primitive:
    prim = primitive(name, impl, shape_rule)
    axis_name_rules[prim] = lambda params: params["axis_name"]
    if linear:
        deflinear(prim)
        # Eager grad's one-step rules are for local NumPy work; a collective takes its JVP rule.
        linearize_rules.pop(prim, None)
    return prim


def _same_shape(x: ShapedArray, **params: Any) -> ShapedArray:
    return x


# ---------------------------------------------------------------- psum, pmean, pmax, pmin
# One equation reduces every leaf of a pytree: over processes, one agreement check and one
# message per dtype for all.

def _reducer(op: str, batch_reduce: Callable[[Any, int, int], Any],
             unbatched: Callable[[Any, int], Any]) -> Primitive:
    prim = Primitive(f"p{op}", multiple_results=True)
    impl_rules[prim] = lambda *xs, axis_name: _process_axis(axis_name, f"p{op}").allreduce(
        list(xs), op)
    abstract_eval_rules[prim] = lambda *avals, axis_name: list(avals)
    axis_name_rules[prim] = lambda params: params["axis_name"]
    defcodegen(prim, _emit_allreduce, "consume")

    def rule(vals: Sequence[Any], dims: Sequence[int | None], *,
             axis_name: tuple[Any, ...]) -> tuple[list[Any], list[int | None]]:
        mine = rule_axis_name()
        if mine not in axis_name:   # another axis: elementwise along ours
            return prim.bind(*vals, axis_name=axis_name), list(dims)
        n = axis_size(mine)
        ys = [unbatched(x, n) if d is None else batch_reduce(x, d, n) for x, d in zip(vals, dims)]
        rest = tuple(name for name in axis_name if name != mine)
        return (prim.bind(*ys, axis_name=rest) if rest else ys), [None] * len(ys)
    batch_rules[prim] = rule
    return prim


def _emit_allreduce(ctx: EmitContext, eqn: Eqn, ins: list[str], outs: list[str]) -> list[str]:
    """The generated code calls the communicator's ``allreduce`` itself, with no impl between,
    giving up the operands whose buffers die there (a training step's gradients: reduced in
    their own buffers, not copied)."""
    name = eqn.primitive.name
    writable = f", {ctx.ref(ctx.consumed)}" if any(ctx.consumed) else ""
    call = (f"{ctx.ref(_process_axis)}({ctx.ref(eqn.params['axis_name'])}, {ctx.ref(name)})"
            f".allreduce([{', '.join(ins)}], {ctx.ref(name[1:])}{writable})")
    return [f"{', '.join(outs)}, = {call}" if outs else call]


def _times(x: Any, n: int) -> Any:
    return mul(x, np.asarray(n, get_aval(x).dtype))


def _mean(x: Any, d: int, n: int) -> Any:
    return div(reduce_sum(x, (d,)), np.asarray(n, get_aval(x).dtype))


psum_p = _reducer("sum", lambda x, d, n: reduce_sum(x, (d,)), _times)
pmean_p = _reducer("mean", _mean, lambda x, n: x)
pmax_p = _reducer("max", lambda x, d, n: reduce_max(x, (d,)), lambda x, n: x)
pmin_p = _reducer("min", lambda x, d, n: reduce_min(x, (d,)), lambda x, n: x)


def _self_transpose(prim: Primitive) -> None:
    """``prim`` is linear and its own transpose: the cotangent of a sum over the axis is summed
    over the axis (JAX's convention), that of a mean averaged."""
    def transpose(cts: Sequence[Any], *args: Any, axis_name: tuple[Any, ...]) -> list[Any]:
        live = [i for i, ct in enumerate(cts) if type(ct) is not Zero]
        summed = iter(prim.bind(*[cts[i] for i in live], axis_name=axis_name) if live else [])
        return [next(summed) if i in live else None for i in range(len(cts))]
    deflinear(prim)
    transpose_rules[prim] = transpose


_self_transpose(psum_p)
_self_transpose(pmean_p)


def _extremum_jvp(prim: Primitive) -> Callable[..., tuple[list[Any], list[Any]]]:
    """The tangent where the extremum is attained, averaged over ties (as for reduce_max)."""
    def jvp(primals: Sequence[Any], tangents: Sequence[Any], *,
            axis_name: tuple[Any, ...]) -> tuple[list[Any], list[Any]]:
        ans = prim.bind(*primals, axis_name=axis_name)
        live = [i for i, t in enumerate(tangents) if type(t) is not Zero]
        wins = [convert_element_type(eq(primals[i], ans[i]), get_aval(ans[i]).dtype)
                for i in live]
        sums = psum_p.bind(*[mul(tangents[i], w) for i, w in zip(live, wins)], *wins,
                           axis_name=axis_name) if live else []
        out_t: list[Any] = [Zero(get_aval(a)) for a in ans]
        for k, i in enumerate(live):
            out_t[i] = div(sums[k], sums[len(live) + k])
        return ans, out_t
    return jvp


jvp_rules[pmax_p] = _extremum_jvp(pmax_p)
jvp_rules[pmin_p] = _extremum_jvp(pmin_p)


def _numeric(x: Any) -> Any:
    return convert_element_type(x, np.int32) if get_aval(x).dtype == np.dtype(bool) else x


def _each_leaf(prim: Primitive, tree: Any, axis_name: Any) -> Any:
    names = normalize_axis_name(axis_name, prim.name)
    leaves, treedef = tree_flatten(tree)
    return tree_unflatten(treedef, prim.bind(*map(_numeric, leaves), axis_name=names))


def psum(x: Any, axis_name: Any) -> Any:
    """Sum of ``x`` (a pytree) over the named axis (or tuple of axes); booleans count as int32.

    >>> import fungrad, numpy as np
    >>> fungrad.vmap(lambda x: psum(x, "i"), axis_name="i")(np.arange(3.0))
    array([3., 3., 3.])
    """
    return _each_leaf(psum_p, x, axis_name)


def pmean(x: Any, axis_name: Any) -> Any:
    """Mean of ``x`` (a pytree) over the named axis: ``psum(x) / axis size``, integers and
    booleans as float64.

    One primitive of its own, so a mean over processes is one message: each process scales its
    part by ``1 / size`` as it packs it (exactly, for a power-of-two size; within rounding of
    ``psum(x) / size`` otherwise) and the sum of the parts is the mean.

    >>> import fungrad, numpy as np
    >>> fungrad.vmap(lambda x: pmean(x, "i"), axis_name="i")(np.arange(3.0))
    array([1., 1., 1.])
    """
    names = normalize_axis_name(axis_name, "pmean")

    def inexact(v: Any) -> Any:
        return v if get_aval(v).dtype.kind in "fc" else convert_element_type(v, np.float64)
    leaves, treedef = tree_flatten(x)
    return tree_unflatten(treedef, pmean_p.bind(*map(inexact, leaves), axis_name=names))


def pmax(x: Any, axis_name: Any) -> Any:
    """Maximum of ``x`` (a pytree) over the named axis; its derivative follows the winners.

    >>> import fungrad, numpy as np
    >>> fungrad.vmap(lambda x: pmax(x, "i"), axis_name="i")(np.array([1.0, 5.0]))
    array([5., 5.])
    """
    return _each_leaf(pmax_p, x, axis_name)


def pmin(x: Any, axis_name: Any) -> Any:
    """Minimum of ``x`` (a pytree) over the named axis.

    >>> import fungrad, numpy as np
    >>> fungrad.vmap(lambda x: pmin(x, "i"), axis_name="i")(np.array([1.0, 5.0]))
    array([1., 1.])
    """
    return _each_leaf(pmin_p, x, axis_name)


# ---------------------------------------------------------------- all_gather, psum_scatter

def _single(axis_name: Any, fname: str) -> tuple[Any]:
    names = normalize_axis_name(axis_name, fname)
    if len(names) != 1:
        raise NotImplementedError(f"{fname} over several axes {names}: give one axis name "
                                  f"(as JAX's vmap does){at_user_line()}")
    return (names[0],)


def _check_axis(fname: str, axis: int, ndim: int) -> int:
    if not -ndim <= axis < ndim:
        raise ShapeError(f"{fname}: axis {axis} is out of range for an operand of rank {ndim}"
                         f"{at_user_line()}")
    return axis % ndim


def _gather_shape(x: ShapedArray, *, axis_name: tuple[Any], axis: int,
                  axis_size: int) -> ShapedArray:
    return ShapedArray(x.shape[:axis] + (axis_size,) + x.shape[axis:], x.dtype)


def _gather_impl(x: Any, *, axis_name: tuple[Any], axis: int, axis_size: int) -> Any:
    return np.moveaxis(_process_axis(axis_name, "all_gather").allgather(np.asarray(x)), 0, axis)


def _scatter_shape(x: ShapedArray, *, axis_name: tuple[Any], scatter_dimension: int,
                   axis_size: int) -> ShapedArray:
    if x.shape[scatter_dimension] != axis_size:
        raise ShapeError(f"psum_scatter: dimension {scatter_dimension} of {x} must equal the "
                         f"size {axis_size} of axis {axis_name[0]!r}{at_user_line()}")
    return ShapedArray(x.shape[:scatter_dimension] + x.shape[scatter_dimension + 1:], x.dtype)


def _scatter_impl(x: Any, *, axis_name: tuple[Any], scatter_dimension: int,
                  axis_size: int) -> Any:
    front = np.ascontiguousarray(np.moveaxis(np.asarray(x), scatter_dimension, 0))
    return _process_axis(axis_name, "psum_scatter").reduce_scatter(front)


all_gather_p = _collective("all_gather", _gather_impl, _gather_shape, linear=True)
psum_scatter_p = _collective("psum_scatter", _scatter_impl, _scatter_shape, linear=True)
deftranspose(all_gather_p, lambda ct, x, *, axis_name, axis, axis_size: psum_scatter_p.bind(
    ct, axis_name=axis_name, scatter_dimension=axis, axis_size=axis_size))
deftranspose(psum_scatter_p, lambda ct, x, *, axis_name, scatter_dimension, axis_size:
             all_gather_p.bind(ct, axis_name=axis_name, axis=scatter_dimension,
                               axis_size=axis_size))


def _gather_batch(vals: Sequence[Any], dims: Sequence[int | None], *, axis_name: tuple[Any],
                  axis: int, axis_size: int) -> tuple[Any, int | None]:
    (x,), (d,) = vals, dims
    x = bdim_to_front(x, d, axis_size)
    if rule_axis_name() != axis_name[0]:
        return all_gather_p.bind(x, axis_name=axis_name, axis=axis + 1, axis_size=axis_size), 0
    return moveaxis(x, 0, axis), None    # the batch axis is the gathered axis


def _scatter_batch(vals: Sequence[Any], dims: Sequence[int | None], *, axis_name: tuple[Any],
                   scatter_dimension: int, axis_size: int) -> tuple[Any, int | None]:
    (x,), (d,) = vals, dims
    if rule_axis_name() != axis_name[0]:
        x = bdim_to_front(x, d, axis_size)
        return psum_scatter_p.bind(x, axis_name=axis_name, scatter_dimension=scatter_dimension + 1,
                                   axis_size=axis_size), 0
    _scatter_shape(ShapedArray(_logical_shape(x, d), get_aval(x).dtype), axis_name=axis_name,
                   scatter_dimension=scatter_dimension, axis_size=axis_size)
    total = _times(x, axis_size) if d is None else reduce_sum(x, (d,))
    return total, scatter_dimension     # example j keeps slice j of the sum


def _logical_shape(x: Any, d: int | None) -> tuple[int, ...]:
    shape = get_aval(x).shape
    return shape if d is None else shape[:d] + shape[d + 1:]


batch_rules[all_gather_p] = _gather_batch
batch_rules[psum_scatter_p] = _scatter_batch


def _merge(x: Any, axis: int) -> Any:
    """Axes ``axis`` and ``axis + 1`` of ``x`` as one (the first major)."""
    s = get_aval(x).shape
    return reshape(x, s[:axis] + (s[axis] * s[axis + 1],) + s[axis + 2:])


def _split(x: Any, axis: int, parts: int, fname: str) -> Any:
    """Axis ``axis`` of ``x`` as two, ``(parts, rest)``."""
    s = get_aval(x).shape
    if s[axis] % parts:
        raise ShapeError(f"{fname}: dimension {axis} of size {s[axis]} does not split into "
                         f"{parts} equal parts (the axis size){at_user_line()}")
    return reshape(x, s[:axis] + (parts, s[axis] // parts) + s[axis + 1:])


def all_gather(x: Any, axis_name: Any, *, axis: int = 0, tiled: bool = False) -> Any:
    """Every member's ``x`` (a pytree), stacked along a new axis ``axis`` (or concatenated along
    ``axis`` when ``tiled``).

    >>> import fungrad, numpy as np
    >>> fungrad.vmap(lambda x: all_gather(x, "i", tiled=True), axis_name="i")(np.ones((2, 1)))
    array([[1., 1.],
           [1., 1.]])
    """
    names = _single(axis_name, "all_gather")
    n = axis_size(names[0])

    def gather(v: Any) -> Any:
        nd = get_aval(v).ndim
        ax = _check_axis("all_gather", axis, nd if tiled else nd + 1)
        out = all_gather_p.bind(v, axis_name=names, axis=ax, axis_size=n)
        return _merge(out, ax) if tiled else out
    return tree_map(gather, x)


def psum_scatter(x: Any, axis_name: Any, *, scatter_dimension: int = 0,
                 tiled: bool = False) -> Any:
    """``psum(x)``, of which member ``i`` keeps block ``i`` along ``scatter_dimension`` (a slice
    of size 1 that is dropped, or a block of ``size / axis size`` when ``tiled``).

    >>> import fungrad, numpy as np
    >>> fungrad.vmap(lambda x: psum_scatter(x, "i"), axis_name="i")(np.arange(4.0).reshape(2, 2))
    array([2., 4.])
    """
    names = _single(axis_name, "psum_scatter")
    n = axis_size(names[0])

    def scatter(v: Any) -> Any:
        dim = _check_axis("psum_scatter", scatter_dimension, get_aval(v).ndim)
        if tiled:
            v = _split(v, dim, n, "psum_scatter")
        return psum_scatter_p.bind(v, axis_name=names, scatter_dimension=dim, axis_size=n)
    return tree_map(scatter, x)


# ---------------------------------------------------------------- ppermute

def _permute_impl(x: Any, *, axis_name: tuple[Any], perm: tuple[tuple[int, int], ...]) -> Any:
    return _process_axis(axis_name, "ppermute").permute(np.asarray(x), perm)


ppermute_p = _collective("ppermute", _permute_impl, _same_shape, linear=True)
deftranspose(ppermute_p, lambda ct, x, *, axis_name, perm: ppermute_p.bind(
    ct, axis_name=axis_name, perm=tuple((d, s) for s, d in perm)))


def _permute_batch(vals: Sequence[Any], dims: Sequence[int | None], *, axis_name: tuple[Any],
                   perm: tuple[tuple[int, int], ...]) -> tuple[Any, int | None]:
    (x,), (d,) = vals, dims
    if rule_axis_name() != axis_name[0]:
        return ppermute_p.bind(x, axis_name=axis_name, perm=perm), d
    n = axis_size(axis_name[0])
    x = bdim_to_front(x, d, n)
    source = {dst: src for src, dst in perm}
    shape, dtype = (1,) + get_aval(x).shape[1:], get_aval(x).dtype
    rows = [slice_in_dim(x, source[j], source[j] + 1) if j in source else full(shape, 0, dtype)
            for j in range(n)]
    return concatenate(rows, 0), 0


batch_rules[ppermute_p] = _permute_batch


def ppermute(x: Any, axis_name: Any, perm: Sequence[tuple[int, int]]) -> Any:
    """Send ``x`` (a pytree) from member ``src`` to member ``dst`` for each pair of ``perm``;
    members nobody sends to get zeros.

    >>> import fungrad, numpy as np
    >>> shift = lambda x: ppermute(x, "i", [(0, 1), (1, 2), (2, 0)])
    >>> fungrad.vmap(shift, axis_name="i")(np.array([1.0, 2.0, 3.0]))
    array([3., 1., 2.])
    """
    names = _single(axis_name, "ppermute")
    n = axis_size(names[0])
    pairs = tuple((int(s), int(d)) for s, d in perm)
    srcs, dsts = [s for s, _ in pairs], [d for _, d in pairs]
    if (len(set(srcs)) != len(srcs) or len(set(dsts)) != len(dsts)
            or not all(0 <= i < n for i in srcs + dsts)):
        raise ValueError(f"ppermute: perm {list(pairs)} must pair distinct sources with distinct "
                         f"destinations in range(axis size {n}){at_user_line()}")
    return tree_map(lambda v: ppermute_p.bind(v, axis_name=names, perm=pairs), x)


# ---------------------------------------------------------------- all_to_all

def _a2a_shape(x: ShapedArray, *, axis_name: tuple[Any], split_axis: int, concat_axis: int,
               axis_size: int) -> ShapedArray:
    if x.shape[split_axis] != axis_size:
        raise ShapeError(f"all_to_all: split_axis {split_axis} of {x} must have the size "
                         f"{axis_size} of axis {axis_name[0]!r}{at_user_line()}")
    rest = x.shape[:split_axis] + x.shape[split_axis + 1:]
    return ShapedArray(rest[:concat_axis] + (axis_size,) + rest[concat_axis:], x.dtype)


def _a2a_impl(x: Any, *, axis_name: tuple[Any], split_axis: int, concat_axis: int,
              axis_size: int) -> Any:
    front = np.ascontiguousarray(np.moveaxis(np.asarray(x), split_axis, 0))
    return np.moveaxis(_process_axis(axis_name, "all_to_all").alltoall(front), 0, concat_axis)


all_to_all_p = _collective("all_to_all", _a2a_impl, _a2a_shape, linear=True)


def _a2a_transpose(ct: Any, x: Any, *, axis_name: tuple[Any], split_axis: int, concat_axis: int,
                   axis_size: int) -> Any:
    return all_to_all_p.bind(ct, axis_name=axis_name, split_axis=concat_axis,
                             concat_axis=split_axis, axis_size=axis_size)


deftranspose(all_to_all_p, _a2a_transpose)


def _a2a_batch(vals: Sequence[Any], dims: Sequence[int | None], *, axis_name: tuple[Any],
               split_axis: int, concat_axis: int, axis_size: int) -> tuple[Any, int | None]:
    (x,), (d,) = vals, dims
    x = bdim_to_front(x, d, axis_size)
    if rule_axis_name() != axis_name[0]:
        return all_to_all_p.bind(x, axis_name=axis_name, split_axis=split_axis + 1,
                                 concat_axis=concat_axis + 1, axis_size=axis_size), 0
    _a2a_shape(ShapedArray(get_aval(x).shape[1:], get_aval(x).dtype), axis_name=axis_name,
               split_axis=split_axis, concat_axis=concat_axis, axis_size=axis_size)
    # Member j gets slice j of everyone's split axis; the senders line up along concat_axis.
    y = moveaxis(x, split_axis + 1, 0)            # (receiver, sender, rest...)
    return moveaxis(y, 1, concat_axis + 1), 0


batch_rules[all_to_all_p] = _a2a_batch


def all_to_all(x: Any, axis_name: Any, split_axis: int, concat_axis: int, *,
               tiled: bool = False) -> Any:
    """Member ``j`` receives block ``j`` of every member's ``split_axis``, the blocks stacked
    along ``concat_axis`` in member order (concatenated along it when ``tiled``).

    >>> import fungrad, numpy as np
    >>> swap = lambda x: all_to_all(x, "i", 0, 0)
    >>> fungrad.vmap(swap, axis_name="i")(np.arange(4.0).reshape(2, 2))
    array([[0., 2.],
           [1., 3.]])
    """
    names = _single(axis_name, "all_to_all")
    n = axis_size(names[0])
    nd = get_aval(x).ndim
    split = _check_axis("all_to_all", split_axis, nd)
    concat = _check_axis("all_to_all", concat_axis, nd)
    if not tiled:
        return all_to_all_p.bind(x, axis_name=names, split_axis=split, concat_axis=concat,
                                 axis_size=n)
    y = all_to_all_p.bind(_split(x, split, n, "all_to_all"), axis_name=names, split_axis=split,
                          concat_axis=concat, axis_size=n)
    return _merge(y, concat)


# ---------------------------------------------------------------- axis_index

def _index_shape(*, axis_name: tuple[Any]) -> ShapedArray:
    return ShapedArray((), np.dtype(np.int32))


axis_index_p = _collective(
    "axis_index", lambda *, axis_name: np.int32(_process_axis(axis_name, "axis_index").index),
    _index_shape)
defjvp_zero(axis_index_p)
batch_rules[axis_index_p] = lambda vals, dims, *, axis_name: (
    iota(np.int32, axis_size(axis_name[0])), 0)


def axis_index(axis_name: Any) -> Any:
    """This member's position along the named axis (int32); for a tuple of axes, the position
    in their product, the first axis major.

    >>> import fungrad, numpy as np
    >>> fungrad.vmap(lambda x: axis_index("i"), axis_name="i")(np.zeros(3))
    array([0, 1, 2], dtype=int32)
    """
    names = normalize_axis_name(axis_name, "axis_index")
    out = axis_index_p.bind(axis_name=names[:1])
    for name in names[1:]:
        out = add(mul(out, np.int32(axis_size(name))), axis_index_p.bind(axis_name=(name,)))
    return out
