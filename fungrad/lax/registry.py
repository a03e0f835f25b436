"""The one set of helpers that register a primitive's rules, beside the primitive.

``primitive`` makes a primitive with its impl and shape rule; ``defjvp`` / ``defjvp_zero`` /
``deflinear`` fill the JVP table (``deflinear`` also the eager one-step table),
``deftranspose`` the transpose table, ``broadcast_batcher`` / ``vectorized_batcher`` the batching
table; ``fungrad.compiler`` has ``defcodegen`` and ``defsimplify`` for jit. Rules that need more
write to the ``*_rules`` tables directly. The helpers for writing rules (``unbroadcast``,
``moveaxis``, ``bdim_to_front``, ``instantiate``) build lax operations, so they live here.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from fungrad.compiler.codegen import defcodegen, emit_ufunc
from fungrad.core import Primitive, abstract_eval_rules, current_state, get_aval, impl_rules
from fungrad.interpreters import eager_linearize
from fungrad.interpreters.ad import Zero, add_tangents, jvp_rules
from fungrad.interpreters.batching import batch_rules
from fungrad.interpreters.transpose import is_undefined, transpose_rules
from fungrad.errors import ShapeError, broadcast_error
from fungrad.ir import ShapedArray, weak_scalar


def primitive(name: str, impl: Callable[..., Any], shape_rule: Callable[..., Any],
              multiple_results: bool = False) -> Primitive:
    """A new primitive with its NumPy implementation and its shape/dtype rule.

    When the impl is a NumPy ufunc, jit calls it directly and may pass ``out=`` a dying buffer.
    """
    prim = Primitive(name, multiple_results)
    impl_rules[prim] = impl
    abstract_eval_rules[prim] = shape_rule
    if isinstance(impl, np.ufunc):
        defcodegen(prim, emit_ufunc, "inplace")
    return prim


def broadcast_shapes(name: str, *shapes: tuple[int, ...]) -> tuple[int, ...]:
    """The shape ``shapes`` broadcast to, as NumPy's ``broadcast_shapes`` gives it (in Python:
    NumPy's builds arrays for it: five times slower on the few axes of a shape rule).

    >>> broadcast_shapes("add", (5, 1, 3), (4, 1), ())
    (5, 4, 3)
    """
    out: list[int] = []
    for shape in shapes:
        if len(shape) > len(out):
            out[:0] = shape[:len(shape) - len(out)]
        offset = len(out) - len(shape)
        for i, n in enumerate(shape):
            m = out[offset + i]
            if m != n and n != 1:
                if m != 1:
                    raise broadcast_error(name, shapes)
                out[offset + i] = n
    return tuple(out)


def same_dtype(name: str, *avals: ShapedArray) -> np.dtype[Any]:
    dtype = avals[0].dtype
    for a in avals[1:]:
        if a.dtype != dtype:
            raise ShapeError(f"{name} requires operands of one dtype, got "
                             f"{', '.join(str(a.dtype) for a in avals)}")
    return dtype


def real_floating(name: str, dtype: Any) -> None:
    """Refuse a non-real-floating operand of ``name`` (JAX's error for erf, lgamma... of complex)."""
    if np.dtype(dtype).kind != "f":
        raise TypeError(f"{name} does not accept dtype {np.dtype(dtype)}: it takes real floating-point "
                        "input (as in JAX); convert it with .astype(float) or take the real part first")


def real_floating_shape(name: str) -> Callable[..., ShapedArray]:
    """Shape rule of a one-operand elementwise function defined on real floats only."""
    def rule(x: ShapedArray) -> ShapedArray:
        real_floating(name, x.dtype)
        return x
    return rule


def elementwise_shape(name: str, out_dtype: Any = None) -> Callable[..., ShapedArray]:
    """Shape rule of NumPy-broadcasting elementwise operations on operands of one dtype."""
    fixed = None if out_dtype is None else np.dtype(out_dtype)

    def rule(*avals: ShapedArray, **params: Any) -> ShapedArray:
        first = avals[0]
        if fixed is None and len(avals) == 2:
            second = avals[1]
            if first.shape == second.shape and first.dtype == second.dtype:
                return first
        elif fixed is None and len(avals) == 1:
            return first
        dtype = same_dtype(name, *avals)
        shape = avals[0].shape
        for a in avals[1:]:
            if a.shape != shape and a.shape:  # scalars broadcast to anything
                shape = a.shape if not shape else broadcast_shapes(name, shape, a.shape)
        return ShapedArray(shape, fixed if fixed is not None else dtype)
    return rule


def as_operand(x: Any, like: Any) -> Any:
    """A Python scalar becomes an array of ``like``'s dtype (weak typing); anything else passes."""
    if type(x) in PY_SCALARS:   # (a tracer's dtype is worked out once, not for hasattr too)
        dtype = getattr(like, "dtype", None)
        return weak_scalar(x, get_aval(like).dtype if dtype is None else dtype)
    return x


PY_SCALARS = {int, float, complex, bool}


# ---------------------------------------------------------------- forward mode

def zeros(aval: ShapedArray) -> Any:
    """A zero array of type ``aval`` (a ``full``)."""
    return shape_ops.full(aval.shape, 0, aval.dtype)


def instantiate(t: Any) -> Any:
    """A real array for a possibly symbolic zero."""
    return zeros(t.aval) if type(t) is Zero else t



def defjvp(prim: Primitive, *rules: Callable[..., Any] | None) -> None:
    """One rule per operand, ``rule(t, ans, *primals, **params)``, each linear in ``t``.

    The tangent of the output is the sum over operands with a nonzero tangent; an operand whose
    rule is None is not differentiable (its tangent is ignored). Results are broadcast to the
    output's shape, so elementwise rules can be written for the operand's own shape.
    """
    def jvp(primals: Sequence[Any], tangents: Sequence[Any], **params: Any) -> tuple[Any, Any]:
        ans = current_state().trace.process_primitive(prim, primals, params)
        if ans.dtype.kind not in "fc":
            return ans, Zero.like(ans)
        out: Any = None
        for rule, t in zip(rules, tangents):
            if rule is not None and type(t) is not Zero:
                contrib = rule(t, ans, *primals, **params)
                out = contrib if out is None else add_tangents(out, contrib)
        if out is None:
            return ans, Zero.like(ans)
        if out.shape != ans.shape:
            out = shape_ops.broadcast_to(out, ans.shape)
        return ans, out
    jvp_rules[prim] = jvp


def defjvp_zero(prim: Primitive) -> None:
    """``prim``'s output does not change to first order (comparisons, floor, argmax, ...)."""
    def jvp(primals: Sequence[Any], tangents: Sequence[Any], **params: Any) -> tuple[Any, Any]:
        ans = prim.bind(*primals, **params)
        if prim.multiple_results:
            return ans, [Zero(get_aval(a)) for a in ans]
        return ans, Zero(get_aval(ans))
    jvp_rules[prim] = jvp


def deflinear(prim: Primitive, linear_argnums: Sequence[int] | None = None) -> None:
    """``prim`` is linear jointly in ``linear_argnums`` (all operands when None).

    Its tangent is ``prim`` applied to the tangents of the linear operands, with the other
    operands (indices, predicates) passed as they are.
    """
    def jvp(primals: Sequence[Any], tangents: Sequence[Any], **params: Any) -> tuple[Any, Any]:
        ans = prim.bind(*primals, **params)
        lin = range(len(primals)) if linear_argnums is None else linear_argnums
        if all(type(tangents[i]) is Zero for i in lin):
            zero = [Zero(get_aval(a)) for a in ans] if prim.multiple_results else Zero(get_aval(ans))
            return ans, zero
        args = list(primals)
        for i in lin:
            args[i] = instantiate(tangents[i])
        return ans, prim.bind(*args, **params)
    jvp_rules[prim] = jvp
    if not prim.multiple_results:
        eager_linearize.linear(prim, None if linear_argnums is None else tuple(linear_argnums))



def moveaxis(x: Any, src: int, dst: int) -> Any:
    """Move axis ``src`` of ``x`` to ``dst`` (a transpose; nothing when they agree)."""
    nd = get_aval(x).ndim
    src, dst = src % nd, dst % nd
    if src == dst:
        return x
    perm = [i for i in range(nd) if i != src]
    perm.insert(dst, src)
    return shape_ops.transpose(x, tuple(perm))


def bdim_to_front(x: Any, bdim: int | None, size: int) -> Any:
    """``x`` with its batch axis first; an unbatched ``x`` is broadcast along a new first axis."""
    if bdim is None:
        shape = get_aval(x).shape
        return shape_ops.broadcast_to(x, (size,) + shape)
    return moveaxis(x, bdim, 0)


def broadcast_batcher(prim: Primitive) -> None:
    """Batch rule for NumPy-broadcasting elementwise primitives: batch axes first, ranks aligned."""
    def rule(vals: Sequence[Any], dims: Sequence[int | None], **params: Any) -> tuple[Any, int]:
        shapes = [get_aval(v).shape for v in vals]
        rank = 0
        for shape, d in zip(shapes, dims):
            if len(shape) - (d is not None) > rank:
                rank = len(shape) - (d is not None)
        args = []
        for v, d, shape in zip(vals, dims, shapes):
            if d is not None:
                if d:
                    v = moveaxis(v, d, 0)
                    shape = get_aval(v).shape
                missing = rank - (len(shape) - 1)
                if missing:
                    v = shape_ops.reshape(v, shape[:1] + (1,) * missing + shape[1:])
            args.append(v)
        return prim.bind(*args, **params), 0
    batch_rules[prim] = rule


def vectorized_batcher(prim: Primitive) -> None:
    """Batch rule for unary primitives that act on every element alike: the axis stays put."""
    def rule(vals: Sequence[Any], dims: Sequence[int | None], **params: Any) -> tuple[Any, Any]:
        out = prim.bind(*vals, **params)
        return out, ([dims[0]] * len(out) if prim.multiple_results else dims[0])
    batch_rules[prim] = rule


def shift_axes(axes: Sequence[int], bdim: int) -> tuple[int, ...]:
    """Logical axes -> physical axes of a value whose batch axis is ``bdim``."""
    return tuple(a + (a >= bdim) for a in axes)



def unbroadcast(ct: Any, aval: ShapedArray) -> Any:
    """Sum ``ct`` over the axes along which an operand of type ``aval`` was broadcast."""
    shape = ct.shape
    if shape == aval.shape:
        return ct
    lead = len(shape) - len(aval.shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(aval.shape) if n == 1 and shape[lead + i] != 1)
    if axes:
        ct = shape_ops.reduce_sum(ct, axes=axes)
    if get_aval(ct).shape != aval.shape:
        ct = shape_ops.reshape(ct, aval.shape)
    return ct


def deftranspose(prim: Primitive, *rules: Callable[..., Any] | None) -> None:
    """Per-operand transposes, ``rule(ct, *operands, **params)``, used for each undefined operand."""
    def transpose(ct: Any, *args: Any, **params: Any) -> list[Any]:
        return [None if not is_undefined(x) or rule is None else rule(ct, *args, **params)
                for rule, x in zip(rules, args)]
    transpose_rules[prim] = transpose


# The helpers above build lax operations when rules run. Imported last, as modules: they import
# this one first, for the helpers.
from fungrad.lax import shape_ops  # noqa: E402
