"""One-step linearization rules for the commonest primitives when primal values are concrete.

``linearize`` runs a JVP trace over a partial evaluator: a JVP rule binds its primal
computations (forwarded to NumPy) and its tangent computations (staged into the linear jaxpr)
one bind at a time, each through two interpreters. At the top level (no jit, no vmap around),
the primal values are NumPy arrays, and for the primitives below a rule here does the same work
in one step: NumPy computes the primal output and the tangent's coefficient, and the tangent
equation is appended to the linear jaxpr directly.

A rule records exactly the equations the primitive's JVP rule would record (same primitives,
same operands, same order), so transposition, ``print_saved_residuals`` and everything after
linearization are unchanged; tests compare the two paths. A rule returns ``NotImplemented``
for anything but the plain case (0-d or non-array primals, known tangents, broadcasting, non-
float dtypes) and the primitive's JVP rule runs as usual.

>>> import fungrad, fungrad.numpy as fnp
>>> fungrad.grad(lambda x: fnp.sin(x * 2.0).sum())(np.zeros(3))  # sin and mul: one step each
array([2., 2., 2.])
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from fungrad.core import EVAL_TRACE, Primitive, call_with_trace, impl_rules
from fungrad.interpreters.ad import JVPTrace, JVPTracer, linearize_rules
from fungrad.interpreters.staging import StagingTrace, StagingTracer
from fungrad.ir import Atom, Eqn, ShapedArray, Var



def _is_operand(c: Any, like: np.ndarray) -> bool:
    """A known operand that needs no broadcasting of the tangent: same shape, or a 0-d array."""
    return type(c) is np.ndarray and c.dtype == like.dtype and (c.shape == like.shape or not c.ndim)


def stage(lin: StagingTrace, prim: Primitive, inputs: list[Atom], like: StagingTracer) -> Any:
    """Append ``prim inputs`` (output typed like ``like``) to the linear jaxpr."""
    var = Var(like.ir_var.aval)
    lin.eqns.append(Eqn(prim, inputs, {}, [var], None))
    return StagingTracer(lin, var)


def scaled_unary(prim: Primitive, op: Primitive, coef: Callable[[Any, Any], Any]) -> None:
    """Register the rule of ``prim`` whose tangent is ``op(t, coef(ans, x))`` (op: mul or div)."""
    impl = impl_rules[prim]

    def rule(trace: JVPTrace, args: Any, params: Any) -> Any:
        x = args[0]
        if type(x) is not JVPTracer or x._trace is not trace or not x.plain or params:
            return NotImplemented
        p, t = x.primal, x.tangent
        ans = impl(p)
        c = call_with_trace(EVAL_TRACE, coef, ans, p)
        lin: StagingTrace = trace.parent  # type: ignore[assignment]
        if type(c) is np.ndarray and c.shape == p.shape and c.dtype == p.dtype:
            # A residual of the tangent's own type (an existing one when c is, as log's x).
            aval = t.ir_var.aval
            var = Var(aval)
            lin.eqns.append(Eqn(op, [t.ir_var, lin.constvar(c, aval)], {}, [var], None))
            return JVPTracer(trace, ans, StagingTracer(lin, var), True)
        # An unusual coefficient: let the staging trace type it.
        return JVPTracer(trace, ans, trace.call_on_parent(op.bind, t, c), True)
    linearize_rules[prim] = rule


def binary(prim: Primitive, tangent: Callable[..., Any]) -> None:
    """Register the rule of a binary ``prim`` (add, sub, mul): ``tangent(lin, tx, ty, px, py)``
    records the tangent of the output (``tx``/``ty`` None for a known operand)."""
    impl = impl_rules[prim]

    def rule(trace: JVPTrace, args: Any, params: Any) -> Any:
        x, y = args
        lin: StagingTrace = trace.parent  # type: ignore[assignment]
        if type(x) is JVPTracer and x._trace is trace:
            if not x.plain:
                return NotImplemented
            px, tx = x.primal, x.tangent
        else:
            px, tx = x, None
        if type(y) is JVPTracer and y._trace is trace:
            if not y.plain:
                return NotImplemented
            py, ty = y.primal, y.tangent
            if tx is None:
                if not _is_operand(px, py):
                    return NotImplemented
            elif py.shape != px.shape or py.dtype != px.dtype:
                return NotImplemented
        else:
            py, ty = y, None
            # (_is_operand, inlined: a tracer and a constant is the commonest case)
            if tx is None or type(py) is not np.ndarray or py.dtype != px.dtype or (
                    py.shape != px.shape and py.ndim):
                return NotImplemented
        return JVPTracer(trace, impl(px, py), tangent(lin, tx, ty, px, py), True)
    linearize_rules[prim] = rule


# ---------------------------------------------------------------- linear and bilinear primitives
# The tangent of a primitive linear in some operands is the primitive itself on their tangents;
# its type is the primal output's, so no shape rule runs for it.

def linear(prim: Primitive, linear_argnums: tuple[int, ...] | None) -> None:
    """Register the rule of a single-output ``prim`` that is linear in ``linear_argnums``
    (all operands when None); the other operands (indices, predicates) must be known."""
    impl = impl_rules[prim]

    def rule(trace: JVPTrace, args: Any, params: Any) -> Any:
        lin: StagingTrace = trace.parent  # type: ignore[assignment]
        primals: list[Any] = []
        inputs: list[Atom] = []
        for i, a in enumerate(args):
            ours = type(a) is JVPTracer and a._trace is trace
            if ours != (linear_argnums is None or i in linear_argnums) or ours and not a.plain:
                return NotImplemented   # a known linear operand (its tangent is a zero) etc.
            primals.append(a.primal if ours else a)
            inputs.append(a.tangent.ir_var if ours else lin.to_atom(a))
        ans = impl(*primals, **params)
        if not _is_float_value(ans):
            return NotImplemented
        return _staged_like(trace, lin, ans, prim, inputs, params)
    linearize_rules[prim] = rule


def bilinear(prim: Primitive, add: Primitive) -> None:
    """Register the rule of ``prim(x, y)`` linear in each operand (``dot_general``): the tangent
    is ``add(prim(tx, y), prim(x, ty))``, for operands of one dtype."""
    impl = impl_rules[prim]

    def rule(trace: JVPTrace, args: Any, params: Any) -> Any:
        x, y = args
        lin: StagingTrace = trace.parent  # type: ignore[assignment]
        tx = x if type(x) is JVPTracer and x._trace is trace else None
        ty = y if type(y) is JVPTracer and y._trace is trace else None
        if (tx is None and ty is None or tx is not None and not tx.plain
                or ty is not None and not ty.plain):
            return NotImplemented
        px = x.primal if tx is not None else x
        py = y.primal if ty is not None else y
        if type(px) is not np.ndarray or type(py) is not np.ndarray or px.dtype != py.dtype:
            return NotImplemented
        ans = impl(px, py, **params)
        if not _is_float_value(ans):
            return NotImplemented
        out = None
        if tx is not None:
            out = _staged_like(trace, lin, ans, prim, [tx.tangent.ir_var, lin.to_atom(py)], params)
        if ty is not None:
            right = _staged_like(trace, lin, ans, prim, [lin.to_atom(px), ty.tangent.ir_var],
                                 dict(params))
            if out is not None:
                total = stage(lin, add, [out.tangent.ir_var, right.tangent.ir_var],
                               right.tangent)
                return JVPTracer(trace, ans, total, right.plain)
            out = right
        return out
    linearize_rules[prim] = rule


def _is_float_value(ans: Any) -> bool:
    """An impl's float result: an ndarray, or a NumPy scalar for 0-d outputs (``np.sum``)."""
    return isinstance(ans, (np.ndarray, np.floating)) and ans.dtype.kind == "f"


def _staged_like(trace: JVPTrace, lin: StagingTrace, ans: Any, prim: Primitive,
                 inputs: list[Atom], params: Any) -> Any:
    """``ans`` paired with the tangent ``prim inputs``, typed like ``ans``."""
    var = Var(ShapedArray(ans.shape, ans.dtype))
    lin.eqns.append(Eqn(prim, inputs, params, [var], None))
    tangent = StagingTracer(lin, var)
    return JVPTracer(trace, ans, tangent, trace.is_plain(ans, tangent))
