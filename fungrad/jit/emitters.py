"""Fast statements for the hot primitives, keyed by primitive name.

``fast_emitters[name] = (emit, kind)``: ``emit(ctx, eqn, ins, outs)`` returns source lines,
``kind`` says how it treats buffers ("fresh", "inplace" or "alias", see fungrad.jit.liveness),
or is a function of the equation giving that. Every param reaches the code through ``ctx.ref``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from fungrad.ir import Eqn
from fungrad.lax.indexing import Slice

if TYPE_CHECKING:
    from fungrad.jit.codegen import EmitContext

Lines = list[str]


def _assign(outs: list[str], expr: str) -> Lines:
    return [f"{outs[0]} = {expr}"]


def emit_reduce_sum(ctx: EmitContext, eqn: Eqn, ins: list[str], outs: list[str]) -> Lines:
    axes = eqn.params["axes"]
    return _assign(outs, f"{ctx.ref(np.add.reduce)}({ins[0]}, {ctx.ref(axes)})")


def _reducer(ufunc: np.ufunc) -> Callable[..., Lines]:
    def emit(ctx: EmitContext, eqn: Eqn, ins: list[str], outs: list[str]) -> Lines:
        axes = eqn.params["axes"]
        if any(eqn.inputs[0].aval.shape[a] == 0 for a in axes):  # empty: the impl knows
            from fungrad.jit.codegen import emit_impl
            return emit_impl(ctx, eqn, ins, outs)
        return _assign(outs, f"{ctx.ref(ufunc.reduce)}({ins[0]}, {ctx.ref(axes)})")
    return emit


def emit_reshape(ctx: EmitContext, eqn: Eqn, ins: list[str], outs: list[str]) -> Lines:
    return _assign(outs, f"{ins[0]}.reshape({ctx.ref(eqn.params['new_sizes'])})")


def emit_transpose(ctx: EmitContext, eqn: Eqn, ins: list[str], outs: list[str]) -> Lines:
    return _assign(outs, f"{ins[0]}.transpose({ctx.ref(eqn.params['permutation'])})")


def emit_broadcast_in_dim(ctx: EmitContext, eqn: Eqn, ins: list[str], outs: list[str]) -> Lines:
    shape, dims = eqn.params["shape"], eqn.params["broadcast_dimensions"]
    x = ins[0]
    in_shape = eqn.inputs[0].aval.shape
    if dims != tuple(range(len(shape) - len(dims), len(shape))):
        expanded = [1] * len(shape)
        for d, n in zip(dims, in_shape):
            expanded[d] = n
        x = f"{x}.reshape({ctx.ref(tuple(expanded))})"
    return _assign(outs, f"{ctx.ref(np.broadcast_to)}({x}, {ctx.ref(shape)})")


def emit_select(ctx: EmitContext, eqn: Eqn, ins: list[str], outs: list[str]) -> Lines:
    return _assign(outs, f"{ctx.ref(np.where)}({', '.join(ins)})")


def emit_convert(ctx: EmitContext, eqn: Eqn, ins: list[str], outs: list[str]) -> Lines:
    return _assign(outs, f"{ins[0]}.astype({ctx.ref(eqn.params['new_dtype'])})")


def emit_full(ctx: EmitContext, eqn: Eqn, ins: list[str], outs: list[str]) -> Lines:
    p = eqn.params
    args = ", ".join(ctx.ref(p[k]) for k in ("shape", "fill_value", "dtype"))
    return _assign(outs, f"{ctx.ref(np.full)}({args})")


def emit_integer_pow(ctx: EmitContext, eqn: Eqn, ins: list[str], outs: list[str]) -> Lines:
    y, x = eqn.params["y"], ins[0]
    mul = ctx.ref(np.multiply)
    if y == 2:
        if ctx.inplace:
            return [f"{mul}({x}, {x}, out={ctx.inplace})"]
        return _assign(outs, f"{mul}({x}, {x})")
    if y == 3:
        return _assign(outs, f"{mul}({mul}({x}, {x}), {x})")
    from fungrad.jit.codegen import emit_impl
    return emit_impl(ctx, eqn, ins, outs)


def emit_div(ctx: EmitContext, eqn: Eqn, ins: list[str], outs: list[str]) -> Lines:
    """Division is true division for inexact dtypes, floor division for integers."""
    kind = eqn.outvars[0].aval.dtype.kind
    fn = ctx.ref(np.floor_divide if kind in "iub" else np.true_divide)
    if ctx.inplace:
        return [f"{fn}({', '.join(ins)}, out={ctx.inplace})"]
    return _assign(outs, f"{fn}({', '.join(ins)})")


def emit_gather(ctx: EmitContext, eqn: Eqn, ins: list[str], outs: list[str]) -> Lines:
    """``x[index]`` directly when the index is static (ints, slices, None, Ellipsis): the impl's
    wrapping, clamping and filling only ever apply to index arrays."""
    if len(eqn.inputs) > 1:
        from fungrad.jit.codegen import emit_impl
        return emit_impl(ctx, eqn, ins, outs)
    index = tuple(slice(*e) if type(e) is Slice else e for e in eqn.params["indexer"])
    return _assign(outs, f"{ins[0]}[{ctx.ref(index)}]")


def _integer_pow_kind(eqn: Eqn) -> str:
    y = eqn.params["y"]
    return "inplace" if y == 2 else "fresh" if y == 3 else "alias"


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


def emit_dot_general(ctx: EmitContext, eqn: Eqn, ins: list[str], outs: list[str]) -> Lines:
    plan = _matmul_operands(eqn)
    if plan is None:
        from fungrad.jit.codegen import emit_impl
        return emit_impl(ctx, eqn, ins, outs)
    a, b = (f"{x}.swapaxes(-1, -2)" if s else x for x, s in zip(ins, plan))
    return _assign(outs, f"{ctx.ref(np.matmul)}({a}, {b})")


def _dot_kind(eqn: Eqn) -> str:
    # Every path of the dot_general impl returns a new array (matmul, broadcast multiply, or a
    # reshape of a fresh matmul result), never a view of an operand.
    return "fresh"


fast_emitters: dict[str, tuple[Callable[..., Lines], Any]] = {
    "dot_general": (emit_dot_general, _dot_kind),
    "reduce_sum": (emit_reduce_sum, "fresh"),
    "reduce_max": (_reducer(np.maximum), "fresh"),
    "reduce_min": (_reducer(np.minimum), "fresh"),
    "div": (emit_div, "inplace"),
    "reshape": (emit_reshape, "alias"),
    "transpose": (emit_transpose, "alias"),
    "broadcast_in_dim": (emit_broadcast_in_dim, "alias"),
    "select": (emit_select, "fresh"),
    "convert_element_type": (emit_convert, "fresh"),
    "full": (emit_full, "fresh"),
    "integer_pow": (emit_integer_pow, _integer_pow_kind),
    "gather": (emit_gather, "alias"),
}
