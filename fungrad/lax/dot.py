"""``dot_general``: contraction over paired axes with batch axes, JAX's output layout.

The result's axes are the batch axes, then the free axes of ``lhs``, then those of ``rhs`` (each
in their order in the operand). The NumPy implementation folds every case into one (batched)
``np.matmul``, which hands 2-D products straight to BLAS.
"""
from __future__ import annotations

import math

from typing import Any, Sequence

import numpy as np

from fungrad.compiler.codegen import EmitContext, assign, defcodegen, emit_impl
from fungrad.compiler.passes import permute_rules
from fungrad.core import get_aval
from fungrad.errors import ShapeError
from fungrad.interpreters import eager_linearize
from fungrad.lax.registry import defjvp, deftranspose, primitive
from fungrad.interpreters.batching import batch_rules
from fungrad.interpreters.transpose import aval_of
from fungrad.ir import Eqn, ShapedArray
from fungrad.lax.elementwise import add_p, convert_element_type
from fungrad.lax.shape_ops import transpose

Dims = tuple[tuple[tuple[int, ...], tuple[int, ...]], tuple[tuple[int, ...], tuple[int, ...]]]


def _free(ndim: int, contract: Sequence[int], batch: Sequence[int]) -> list[int]:
    return [d for d in range(ndim) if d not in contract and d not in batch]


def _dot_general(lhs: Any, rhs: Any, *, dimension_numbers: Dims,
                 preferred_element_type: np.dtype[Any] | None) -> Any:
    (lc, rc), (lb, rb) = dimension_numbers
    lhs, rhs = np.asarray(lhs), np.asarray(rhs)
    if preferred_element_type is not None and preferred_element_type != lhs.dtype:
        lhs, rhs = lhs.astype(preferred_element_type), rhs.astype(preferred_element_type)
    if not lb and lc == (lhs.ndim - 1,) and rc == (0,) and lhs.ndim <= 2 and rhs.ndim <= 2:
        return np.matmul(lhs, rhs)  # x @ W, matrix-vector, vector-matrix, inner product
    lf, rf = _free(lhs.ndim, lc, lb), _free(rhs.ndim, rc, rb)
    if not lc:  # an outer product (per batch): einsum beats matmul with k = 1
        rlabels = [lhs.ndim + d for d in range(rhs.ndim)]
        for i, j in zip(lb, rb):
            rlabels[j] = i
        return np.einsum(lhs, list(range(lhs.ndim)), rhs, rlabels,
                         list(lb) + lf + [rlabels[d] for d in rf])
    batch = [lhs.shape[d] for d in lb]
    m, k, n = ([lhs.shape[d] for d in lf], [lhs.shape[d] for d in lc], [rhs.shape[d] for d in rf])
    size = (math.prod(m), math.prod(k), math.prod(n))
    lead = (math.prod(batch),) if lb else ()
    a = lhs.transpose(list(lb) + lf + list(lc)).reshape(lead + size[:2])
    b = rhs.transpose(list(rb) + list(rc) + rf).reshape(lead + size[1:])
    return np.matmul(a, b).reshape(batch + m + n)


def _dot_general_shape(lhs: ShapedArray, rhs: ShapedArray, *, dimension_numbers: Dims,
                       preferred_element_type: np.dtype[Any] | None) -> ShapedArray:
    (lc, rc), (lb, rb) = dimension_numbers

    def error(why: str) -> ShapeError:  # the message is only formatted when it is raised
        return ShapeError(f"dot_general of {lhs} and {rhs} with dimension_numbers "
                          f"{dimension_numbers}: {why}")
    for dims, a in ((lc + lb, lhs), (rc + rb, rhs)):
        if len(set(dims)) != len(dims) or any(not 0 <= d < a.ndim for d in dims):
            raise error("contracting and batch axes must be distinct axes in range")
    if len(lc) != len(rc) or any(lhs.shape[i] != rhs.shape[j] for i, j in zip(lc, rc)):
        raise error(f"the contracting axes have sizes "
                    f"{[lhs.shape[i] for i in lc]} and {[rhs.shape[j] for j in rc]}")
    if len(lb) != len(rb) or any(lhs.shape[i] != rhs.shape[j] for i, j in zip(lb, rb)):
        raise error(f"the batch axes have sizes {[lhs.shape[i] for i in lb]} and "
                    f"{[rhs.shape[j] for j in rb]}")
    if lhs.dtype != rhs.dtype:
        raise error("operands must have one dtype")
    shape = (tuple(lhs.shape[d] for d in lb) + tuple(lhs.shape[d] for d in _free(lhs.ndim, lc, lb))
             + tuple(rhs.shape[d] for d in _free(rhs.ndim, rc, rb)))
    return ShapedArray(shape, preferred_element_type or lhs.dtype)


dot_general_p = primitive("dot_general", _dot_general, _dot_general_shape)


def dot_general(lhs: Any, rhs: Any, dimension_numbers: Any,
                preferred_element_type: Any = None) -> Any:
    """Contract ``lhs`` and ``rhs`` over paired axes, with paired batch axes.

    ``dimension_numbers = ((lhs_contract, rhs_contract), (lhs_batch, rhs_batch))``; the result
    has the batch axes, then the remaining axes of ``lhs``, then those of ``rhs``.

    >>> dot_general(np.ones((2, 3)), np.ones((3, 4)), (((1,), (0,)), ((), ()))).shape
    (2, 4)
    """
    (lc, rc), (lb, rb) = dimension_numbers
    nl, nr = get_aval(lhs).ndim, get_aval(rhs).ndim
    dims = ((tuple(int(d) % nl for d in lc), tuple(int(d) % nr for d in rc)),
            (tuple(int(d) % nl for d in lb), tuple(int(d) % nr for d in rb)))
    pref = None if preferred_element_type is None else np.dtype(preferred_element_type)
    return dot_general_p.bind(lhs, rhs, dimension_numbers=dims, preferred_element_type=pref)


def dot(lhs: Any, rhs: Any, preferred_element_type: Any = None) -> Any:
    """Vector/matrix product: contracts the last axis of ``lhs`` with the first of ``rhs``.

    >>> dot(np.ones((2, 3)), np.ones(3))
    array([3., 3.])
    """
    return dot_general(lhs, rhs, (((get_aval(lhs).ndim - 1,), (0,)), ((), ())),
                       preferred_element_type)


# ---------------------------------------------------------------- derivatives
defjvp(dot_general_p,
       lambda t, ans, lhs, rhs, **params: dot_general_p.bind(t, rhs, **params),
       lambda t, ans, lhs, rhs, **params: dot_general_p.bind(lhs, t, **params))
eager_linearize.bilinear(dot_general_p, add_p)  # the same two products, in one step without jit


def _transpose_operand(ct: Any, other: Any, x_aval: ShapedArray, x_contract: Sequence[int],
                       x_batch: Sequence[int], o_contract: Sequence[int], o_batch: Sequence[int],
                       ct_free: Sequence[int]) -> Any:
    """The cotangent of one operand ``x`` of a dot_general with ``other``: contract the output
    cotangent with ``other`` over other's free axes, then put x's axes back in order."""
    ct = convert_element_type(ct, x_aval.dtype)
    o_free = _free(get_aval(other).ndim, o_contract, o_batch)
    nb = len(x_batch)
    out = dot_general_p.bind(ct, other, dimension_numbers=(
        (tuple(ct_free), tuple(o_free)), (tuple(range(nb)), tuple(o_batch))),
        preferred_element_type=None)
    x_free = _free(x_aval.ndim, x_contract, x_batch)
    # the remaining axes of `other` are its contracting ones, in their order in `other`
    order = sorted(range(len(o_contract)), key=lambda i: o_contract[i])
    src = list(x_batch) + x_free + [x_contract[i] for i in order]
    return transpose(out, [src.index(d) for d in range(x_aval.ndim)])


def _lhs_transpose(ct: Any, lhs: Any, rhs: Any, *, dimension_numbers: Dims,
                   preferred_element_type: Any) -> Any:
    (lc, rc), (lb, rb) = dimension_numbers
    la = aval_of(lhs)
    nb, nlf = len(lb), la.ndim - len(lc) - len(lb)
    ct_free = range(nb + nlf, get_aval(ct).ndim)
    return _transpose_operand(ct, rhs, la, lc, lb, rc, rb, ct_free)


def _rhs_transpose(ct: Any, lhs: Any, rhs: Any, *, dimension_numbers: Dims,
                   preferred_element_type: Any) -> Any:
    (lc, rc), (lb, rb) = dimension_numbers
    nb, nlf = len(lb), get_aval(lhs).ndim - len(lc) - len(lb)
    return _transpose_operand(ct, lhs, aval_of(rhs), rc, rb, lc, lb, range(nb, nb + nlf))


deftranspose(dot_general_p, _lhs_transpose, _rhs_transpose)


# ---------------------------------------------------------------- batching
def _bump(dims: Sequence[int], at: int) -> tuple[int, ...]:
    """Axis numbers after a new axis is inserted at ``at``."""
    return tuple(d + (d >= at) for d in dims)


def _dot_general_batch(vals: Sequence[Any], dims: Sequence[int | None], *,
                       dimension_numbers: Dims,
                       preferred_element_type: Any) -> tuple[Any, int]:
    (lc, rc), (lb, rb) = dimension_numbers
    lhs, rhs = vals
    ld, rd = dims
    kw = dict(preferred_element_type=preferred_element_type)
    if ld is not None and rd is not None:  # a new batch axis, first in the output
        new = ((_bump(lc, ld), _bump(rc, rd)), ((ld,) + _bump(lb, ld), (rd,) + _bump(rb, rd)))
        return dot_general_p.bind(lhs, rhs, dimension_numbers=new, **kw), 0
    if ld is not None:  # a new free axis of lhs
        new = ((_bump(lc, ld), rc), (_bump(lb, ld), rb))
        free = _free(get_aval(lhs).ndim, new[0][0], new[1][0])
        return dot_general_p.bind(lhs, rhs, dimension_numbers=new, **kw), len(lb) + free.index(ld)
    assert rd is not None
    new = ((lc, _bump(rc, rd)), (lb, _bump(rb, rd)))
    free = _free(get_aval(rhs).ndim, new[0][1], new[1][1])
    n_lhs_free = get_aval(lhs).ndim - len(lc) - len(lb)
    out_dim = len(lb) + n_lhs_free + free.index(rd)
    return dot_general_p.bind(lhs, rhs, dimension_numbers=new, **kw), out_dim


batch_rules[dot_general_p] = _dot_general_batch


# ---------------------------------------------------------------- jit statement

def _matmul_operands(eqn: Eqn) -> tuple[bool, bool] | None:
    """For a dot_general that is a (batched) matrix product of possibly transposed operands:
    whether each operand needs its last two axes swapped. None for any other contraction."""
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    pref = eqn.params.get("preferred_element_type")
    la, ra = eqn.inputs[0].aval, eqn.inputs[1].aval
    nb = len(lb)
    if (pref is not None and pref != la.dtype) or len(lc) != 1 or len(rc) != 1:
        return None
    if tuple(lb) != tuple(range(nb)) or tuple(rb) != tuple(range(nb)):
        return None
    lfree, rfree = la.ndim - nb - 1, ra.ndim - nb - 1
    if not (0 <= lfree <= 1 and 0 <= rfree <= 1) or (nb and (lfree != 1 or rfree != 1)):
        return None
    swap_l = lfree == 1 and lc[0] == nb       # lhs is (k, m): use its transpose
    swap_r = rfree == 1 and rc[0] == ra.ndim - 1  # rhs is (n, k)
    return swap_l, swap_r


def _emit_dot_general(ctx: EmitContext, eqn: Eqn, ins: list[str], outs: list[str]) -> list[str]:
    plan = _matmul_operands(eqn)
    if plan is None:
        return emit_impl(ctx, eqn, ins, outs)
    a, b = (f"{x}.swapaxes(-1, -2)" if s else x for x, s in zip(ins, plan))
    return assign(outs, f"{ctx.ref(np.matmul)}({a}, {b})")


# Every path of the impl returns a new array (matmul, broadcast multiply, or a reshape of a
# fresh matmul result), never a view of an operand.
defcodegen(dot_general_p, _emit_dot_general, "fresh")


def _operands_swapped(eqn: Eqn, perm: tuple[int, ...]) -> Eqn | None:
    """``transpose(dot(a, b))`` that only swaps the free axes is ``dot(b, a)``: the output of
    dot_general is (batch, lhs free, rhs free), so swapping the operands gives (batch, rhs
    free, lhs free) directly."""
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    nb = len(lb)
    nl = eqn.inputs[0].aval.ndim - nb - len(lc)
    nr = eqn.inputs[1].aval.ndim - nb - len(rc)
    swapped = (tuple(range(nb)) + tuple(range(nb + nl, nb + nl + nr))
               + tuple(range(nb, nb + nl)))
    if perm != swapped:
        return None
    params = dict(eqn.params, dimension_numbers=((rc, lc), (rb, lb)))
    return Eqn(dot_general_p, eqn.inputs[::-1], params, eqn.outvars, eqn.source)


permute_rules[dot_general_p] = _operands_swapped
