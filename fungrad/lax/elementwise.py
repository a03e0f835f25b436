"""Elementwise primitives. Each line: name, NumPy implementation, derivative.

Binary primitives broadcast like NumPy and require operands of one dtype (``fungrad.numpy``
promotes first); transposes undo broadcasting with ``unbroadcast``.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from fungrad.compiler.codegen import (
    EmitContext, assign, defcodegen, emit_call_inplace, emit_impl,
)
from fungrad.compiler.passes import (
    Rewriter, defsimplify, involution, moves_elements, same_type, unbroadcast_operands,
    unit_operand,
)
from fungrad.core import EVAL_TRACE, Primitive, Tracer, current_state, get_aval
from fungrad.interpreters import eager_linearize
from fungrad.interpreters.eager_linearize import stage
from fungrad.interpreters.staging import StagingTrace, StagingTracer
from fungrad.errors import ShapeError
from fungrad.interpreters.ad import Zero, jvp_rules
from fungrad.interpreters.transpose import UndefinedPrimal, aval_of, transpose_rules
from fungrad.lax.registry import (
    PY_SCALARS, as_operand, broadcast_batcher, defjvp, defjvp_zero, deflinear, deftranspose,
    elementwise_shape, primitive, real_floating, real_floating_shape, unbroadcast, vectorized_batcher,
)
from fungrad.ir import Eqn, ShapedArray, Var
from fungrad.lax.shape_ops import full  # complete: the registry imported it

Jvp = Callable[..., Any] | None
Op1 = Callable[[Any], Any]
Op2 = Callable[[Any, Any], Any]


class Scaled:
    """A tangent ``t * coef(ans, x)`` (``divide=False``) or ``t / coef(ans, x)``."""

    def __init__(self, coef: Callable[[Any, Any], Any], divide: bool = False) -> None:
        self.coef = coef
        self.divide = divide


def times(coef: Callable[[Any, Any], Any]) -> Scaled:
    return Scaled(coef)


def over(coef: Callable[[Any, Any], Any]) -> Scaled:
    return Scaled(coef, divide=True)


def unary(name: str, impl: Callable[..., Any], jvp: Scaled | Jvp | str,
          out_dtype: Any = None, shape_rule: Callable[..., ShapedArray] | None = None) -> Primitive:
    """An elementwise one-operand primitive.

    ``jvp`` is ``times(c)`` / ``over(c)`` for a tangent ``t * c(ans, x)`` / ``t / c(ans, x)``
    (these also get a one-step eager linearization rule), a general rule ``(t, ans, x)``, or
    ``"zero"`` for piecewise-constant functions.
    """
    prim = primitive(name, impl, shape_rule or elementwise_shape(name, out_dtype))
    if jvp == "zero":
        defjvp_zero(prim)
    elif isinstance(jvp, Scaled):
        defjvp(prim, _scaled_jvp(jvp))  # and the same tangent, in one step without jit:
        eager_linearize.scaled_unary(prim, div_p if jvp.divide else mul_p, jvp.coef)
    else:
        defjvp(prim, jvp)  # type: ignore[arg-type]
    vectorized_batcher(prim)
    return prim


def _scaled_jvp(scale: Scaled) -> Callable[..., Any]:
    coef = scale.coef
    if scale.divide:
        return lambda t, ans, x: div(t, coef(ans, x))
    return lambda t, ans, x: mul(t, coef(ans, x))


def binary(name: str, impl: Callable[..., Any], jvp_x: Jvp | str, jvp_y: Jvp = None,
           out_dtype: Any = None) -> Primitive:
    """An elementwise two-operand primitive, broadcasting like NumPy."""
    prim = primitive(name, impl, elementwise_shape(name, out_dtype))
    if jvp_x == "zero":
        defjvp_zero(prim)
    else:
        defjvp(prim, jvp_x, jvp_y)  # type: ignore[arg-type]
    broadcast_batcher(prim)
    defsimplify(prim, unbroadcast_operands)
    return prim


def _bind1(prim: Primitive) -> Callable[[Any], Any]:
    def op(x: Any) -> Any:
        return current_state().trace.process_primitive(prim, (x,), {})
    op.__name__ = op.__qualname__ = prim.name
    op.__doc__ = f"Elementwise ``{prim.name}`` (the primitive, no dtype promotion)."
    primitive_of[op] = prim
    return op


# The primitive each one-operand function above binds (fungrad.numpy binds it directly).
primitive_of: dict[Callable[..., Any], Primitive] = {}


def _bind2(prim: Primitive) -> Callable[[Any, Any], Any]:
    def op(x: Any, y: Any) -> Any:
        if type(x) in PY_SCALARS:
            if type(y) in PY_SCALARS and type(x) is not type(y):
                _mixed_dtypes(prim.name, f"Python {type(x).__name__}", f"Python {type(y).__name__}")
            x = as_operand(x, y)
        elif type(y) in PY_SCALARS:
            y = as_operand(y, x)
        # (tracers are left to the shape rule; asked first: a tracer's dtype costs more)
        elif not (isinstance(x, Tracer) or isinstance(y, Tracer)) and \
                getattr(x, "dtype", None) != getattr(y, "dtype", None):
            _mixed_dtypes(prim.name, get_aval(x).dtype, get_aval(y).dtype)
        return current_state().trace.process_primitive(prim, (x, y), {})
    op.__name__ = op.__qualname__ = prim.name
    op.__doc__ = (f"Elementwise ``{prim.name}`` of operands of one dtype (a Python scalar takes "
                  "the other operand's dtype; no promotion, as in ``jax.lax``).")
    return op


def _mixed_dtypes(name: str, x: Any, y: Any) -> None:
    raise ShapeError(f"lax.{name} requires operands of one dtype, got {x} and {y}: lax does not "
                     "promote (as in JAX); convert one (lax.convert_element_type), or use "
                     "fungrad.numpy, which promotes")


def _sign(x: Any) -> Any:
    return np.sign(x)


def _abs_shape(x: ShapedArray) -> ShapedArray:
    """The magnitude of a complex array is real."""
    if x.dtype.kind != "c":
        return x
    return ShapedArray(x.shape, np.finfo(x.dtype).dtype)


def _abs_real_coef(ans: Any, x: Any) -> Any:
    """1 where x >= 0 (0 included, as in JAX), -1 elsewhere."""
    one = _ones_like(x)
    return select(ge(x, 0.0), one, neg(one))


def _abs_jvp(t: Any, ans: Any, x: Any) -> Any:
    """``t * sign(x)`` for reals; ``Re(conj(x) t) / |x|`` for complex (0 where x == 0, as JAX)."""
    if get_aval(x).dtype.kind != "c":
        return mul(t, _abs_real_coef(ans, x))
    from fungrad.lax.complex_ops import conj, real  # complex_ops imports this module
    return div(real(mul(conj(x), t)), select(eq(ans, 0), _ones_like(ans), ans))


def _rsqrt(x: Any) -> Any:
    return np.reciprocal(np.sqrt(x))


def _logistic(x: Any) -> Any:
    return np.exp(-np.logaddexp(0, -x))


_erf_scalar = np.frompyfunc(math.erf, 1, 1)


def _erf(x: Any) -> Any:
    x = np.asarray(x)
    real_floating("erf", x.dtype)
    return np.asarray(_erf_scalar(x), x.dtype)


def _div(x: Any, y: Any) -> Any:
    x, y = np.asarray(x), np.asarray(y)
    return np.floor_divide(x, y) if x.dtype.kind in "iub" else np.true_divide(x, y)


def _integer_pow(x: Any, *, y: int) -> Any:
    x = np.asarray(x)
    if y == 2:
        return np.multiply(x, x)
    if y < 0 and x.dtype.kind in "iu":
        raise ValueError("integers cannot be raised to negative powers")
    return np.power(x, x.dtype.type(y))


def _select(pred: Any, on_true: Any, on_false: Any) -> Any:
    return np.where(pred, on_true, on_false)


def _convert(x: Any, *, new_dtype: np.dtype[Any]) -> Any:
    return np.asarray(x).astype(new_dtype)


# ---------------------------------------------------------------- the table
# Squares in coefficients are ``integer_pow(., 2)``: the same bits as ``mul(a, a)``, and its own
# derivative is one product (``2a * t``) instead of two and a sum, which matters for hessians.
add_p = binary("add", np.add, lambda t, ans, x, y: t, lambda t, ans, x, y: t)
sub_p = binary("sub", np.subtract, lambda t, ans, x, y: t, lambda t, ans, x, y: neg(t))
mul_p = binary("mul", np.multiply, lambda t, ans, x, y: mul(t, y), lambda t, ans, x, y: mul(x, t))
div_p = binary("div", _div, lambda t, ans, x, y: div(t, y),
               lambda t, ans, x, y: neg(mul(t, div(ans, y))))
pow_p = binary("pow", np.power, lambda t, ans, x, y: mul(t, _pow_dx(x, y)),
               lambda t, ans, x, y: mul(t, mul(_safe_log(x), ans)))
max_p = binary("max", np.maximum, lambda t, ans, x, y: mul(t, _balanced_pick(x, y)),
               lambda t, ans, x, y: mul(t, _balanced_pick(y, x)))
min_p = binary("min", np.minimum, lambda t, ans, x, y: mul(t, _balanced_pick(y, x)),
               lambda t, ans, x, y: mul(t, _balanced_pick(x, y)))
atan2_p = binary("atan2", np.arctan2,
                 lambda t, ans, x, y: mul(t, div(y, add(mul(x, x), mul(y, y)))),
                 lambda t, ans, x, y: neg(mul(t, div(x, add(mul(x, x), mul(y, y))))))
logaddexp_p = binary("logaddexp", np.logaddexp,
                     lambda t, ans, x, y: mul(t, _logaddexp_weight(x, ans)),
                     lambda t, ans, x, y: mul(t, _logaddexp_weight(y, ans)))
rem_p = binary("rem", np.remainder, lambda t, ans, x, y: t,
               lambda t, ans, x, y: neg(mul(t, floor(div(x, y)))))
nextafter_p = binary("nextafter", np.nextafter, "zero")
eq_p = binary("eq", np.equal, "zero", out_dtype=bool)
ne_p = binary("ne", np.not_equal, "zero", out_dtype=bool)
lt_p = binary("lt", np.less, "zero", out_dtype=bool)
le_p = binary("le", np.less_equal, "zero", out_dtype=bool)
gt_p = binary("gt", np.greater, "zero", out_dtype=bool)
ge_p = binary("ge", np.greater_equal, "zero", out_dtype=bool)
and_p = binary("and", np.bitwise_and, "zero")
or_p = binary("or", np.bitwise_or, "zero")
xor_p = binary("xor", np.bitwise_xor, "zero")

neg_p = unary("neg", np.negative, lambda t, ans, x: neg(t))
moves_elements.add(neg_p)
exp_p = unary("exp", np.exp, times(lambda ans, x: ans))
log_p = unary("log", np.log, over(lambda ans, x: x))
log1p_p = unary("log1p", np.log1p, over(lambda ans, x: add(x, 1)))
expm1_p = unary("expm1", np.expm1, times(lambda ans, x: add(ans, 1)))
sin_p = unary("sin", np.sin, times(lambda ans, x: cos(x)))
cos_p = unary("cos", np.cos, times(lambda ans, x: neg(sin(x))))
tan_p = unary("tan", np.tan, times(lambda ans, x: add(integer_pow(ans, 2), 1)))
asin_p = unary("asin", np.arcsin, times(lambda ans, x: rsqrt(sub(1, mul(x, x)))))
acos_p = unary("acos", np.arccos, times(lambda ans, x: neg(rsqrt(sub(1, mul(x, x))))))
atan_p = unary("atan", np.arctan, over(lambda ans, x: add(integer_pow(x, 2), 1)))
sinh_p = unary("sinh", np.sinh, times(lambda ans, x: cosh(x)))
cosh_p = unary("cosh", np.cosh, times(lambda ans, x: sinh(x)))
tanh_p = unary("tanh", np.tanh, times(lambda ans, x: sub(1, integer_pow(ans, 2))))
asinh_p = unary("asinh", np.arcsinh, times(lambda ans, x: rsqrt(add(mul(x, x), 1))))
acosh_p = unary("acosh", np.arccosh, times(lambda ans, x: rsqrt(mul(sub(x, 1), add(x, 1)))))
atanh_p = unary("atanh", np.arctanh, over(lambda ans, x: mul(sub(1, x), add(1, x))))
sqrt_p = unary("sqrt", np.sqrt, over(lambda ans, x: mul(ans, 2)))
cbrt_p = unary("cbrt", np.cbrt, over(lambda ans, x: mul(mul(ans, ans), 3)))  # inf at 0, as JAX
rsqrt_p = unary("rsqrt", _rsqrt, times(lambda ans, x: mul(div(ans, x), -0.5)))
abs_p = unary("abs", np.abs, lambda t, ans, x: _abs_jvp(t, ans, x), shape_rule=_abs_shape)
sign_p = unary("sign", _sign, "zero")
floor_p = unary("floor", np.floor, "zero")
ceil_p = unary("ceil", np.ceil, "zero")
round_p = unary("round", np.round, "zero")
is_finite_p = unary("is_finite", np.isfinite, "zero", out_dtype=bool)
not_p = unary("not", np.invert, "zero")
logistic_p = unary("logistic", _logistic, times(lambda ans, x: mul(ans, sub(1, ans))))
erf_p = unary("erf", _erf, times(lambda ans, x: mul(exp(neg(mul(x, x))), 2 / math.sqrt(math.pi))),
              shape_rule=real_floating_shape("erf"))
integer_pow_p = unary("integer_pow", _integer_pow, lambda t, ans, x, *, y: _integer_pow_jvp(t, x, y))



def _select_shape(pred: ShapedArray, a: ShapedArray, b: ShapedArray) -> ShapedArray:
    if pred.dtype != np.dtype(bool):
        raise ShapeError(f"select: the predicate must be boolean, got {pred.dtype}")
    out = elementwise_shape("select")(a, b)
    return ShapedArray(elementwise_shape("select")(
        ShapedArray(pred.shape, out.dtype), out).shape, out.dtype)


select_p = primitive("select", _select, _select_shape)
deflinear(select_p, (1, 2))
broadcast_batcher(select_p)
defsimplify(select_p, unbroadcast_operands)


def _convert_shape(x: ShapedArray, *, new_dtype: np.dtype[Any]) -> ShapedArray:
    return ShapedArray(x.shape, new_dtype)


convert_element_type_p = primitive("convert_element_type", _convert, _convert_shape)
vectorized_batcher(convert_element_type_p)


def _convert_jvp(primals: Any, tangents: Any, *, new_dtype: np.dtype[Any]) -> tuple[Any, Any]:
    ans = convert_element_type(primals[0], new_dtype)
    t = tangents[0]
    if new_dtype.kind not in "fc" or type(t) is Zero:
        return ans, Zero(get_aval(ans))
    return ans, convert_element_type(t, new_dtype)


jvp_rules[convert_element_type_p] = _convert_jvp

# ---------------------------------------------------------------- eager one-step tangents
# ``tangent(lin, tx, ty, px, py)``: the tangent of the output recorded into the linear jaxpr
# ``lin`` (``tx``/``ty``: tangent tracers, None for a known operand; ``px``/``py``: primals).

def _add_tangent(lin: StagingTrace, tx: Any, ty: Any, px: Any, py: Any) -> Any:
    if tx is None:
        return ty
    if ty is None:
        return tx
    return stage(lin, add_p, [tx.ir_var, ty.ir_var], tx)


def _sub_tangent(lin: StagingTrace, tx: Any, ty: Any, px: Any, py: Any) -> Any:
    if ty is None:
        return tx
    neg_ty = stage(lin, neg_p, [ty.ir_var], ty)
    if tx is None:
        return neg_ty
    return stage(lin, add_p, [tx.ir_var, neg_ty.ir_var], tx)


def _mul_tangent(lin: StagingTrace, tx: Any, ty: Any, px: Any, py: Any) -> Any:
    if ty is None:  # a tracer times a constant, 3 in 8 ops of a typical chain: stage inlined
        var = Var(tx.ir_var.aval)
        lin.eqns.append(Eqn(mul_p, [tx.ir_var, lin.to_atom(py)], {}, [var], None))
        return StagingTracer(lin, var)
    out = None
    if tx is not None:
        out = stage(lin, mul_p, [tx.ir_var, lin.to_atom(py)], tx)
    if ty is not None:
        right = stage(lin, mul_p, [lin.to_atom(px), ty.ir_var], ty)
        out = right if out is None else stage(lin, add_p, [out.ir_var, right.ir_var], out)
    return out


# ---------------------------------------------------------------- transposes of the linear ones
# Hand-written transposes for the commonest linear ops: one call each, no per-operand dispatch.
def _neg_transpose(ct: Any, x: Any) -> list[Any]:
    return [neg(ct)]


def _add_transpose(ct: Any, x: Any, y: Any) -> list[Any]:
    return [unbroadcast(ct, x.aval) if type(x) is UndefinedPrimal else None,
            unbroadcast(ct, y.aval) if type(y) is UndefinedPrimal else None]


def _sub_transpose(ct: Any, x: Any, y: Any) -> list[Any]:
    return [unbroadcast(ct, x.aval) if type(x) is UndefinedPrimal else None,
            unbroadcast(neg(ct), y.aval) if type(y) is UndefinedPrimal else None]


def _mul_transpose(ct: Any, x: Any, y: Any) -> list[Any]:
    # Linear in one operand only: the other is a known value.
    # Both operands are arrays of one dtype here, so bind without _bind2's scalar checks;
    # without a trace around (eager grad), multiply right away.
    if type(x) is UndefinedPrimal:
        trace = current_state().trace
        if trace is EVAL_TRACE and type(ct) is np.ndarray and type(y) is np.ndarray:
            r = np.multiply(ct, y)
        else:
            r = trace.process_primitive(mul_p, (ct, y), {})
        return [r if r.shape == x.aval.shape else unbroadcast(r, x.aval), None]
    r = current_state().trace.process_primitive(mul_p, (x, ct), {})
    return [None, r if r.shape == y.aval.shape else unbroadcast(r, y.aval)]


transpose_rules[neg_p] = _neg_transpose
transpose_rules[add_p] = _add_transpose
transpose_rules[sub_p] = _sub_transpose
transpose_rules[mul_p] = _mul_transpose

# One-step rules for linearizing concrete values (fungrad/interpreters/eager_linearize.py).
eager_linearize.scaled_unary(abs_p, mul_p, _abs_real_coef)  # only real floats reach them
eager_linearize.binary(add_p, _add_tangent)
eager_linearize.binary(sub_p, _sub_tangent)
eager_linearize.binary(mul_p, _mul_tangent)
deftranspose(div_p, lambda ct, x, y: unbroadcast(div(ct, y), aval_of(x)), None)
deftranspose(select_p, None,
             lambda ct, p, a, b: unbroadcast(select(p, ct, _zeros_like(ct)), aval_of(a)),
             lambda ct, p, a, b: unbroadcast(select(p, _zeros_like(ct), ct), aval_of(b)))


def _convert_transpose(ct: Any, x: Any, *, new_dtype: np.dtype[Any]) -> Any:
    """Back to the operand's dtype; a real operand promoted to complex gets the real part."""
    old = aval_of(x).dtype
    if get_aval(ct).dtype.kind == "c" and old.kind != "c":
        from fungrad.lax.complex_ops import real  # complex_ops imports this module
        ct = real(ct)
    return convert_element_type(ct, old)


deftranspose(convert_element_type_p, _convert_transpose)


# ---------------------------------------------------------------- functions binding them
neg: Op1 = _bind1(neg_p)
exp: Op1 = _bind1(exp_p)
log: Op1 = _bind1(log_p)
log1p: Op1 = _bind1(log1p_p)
expm1: Op1 = _bind1(expm1_p)
sin: Op1 = _bind1(sin_p)
cos: Op1 = _bind1(cos_p)
tan: Op1 = _bind1(tan_p)
asin: Op1 = _bind1(asin_p)
acos: Op1 = _bind1(acos_p)
atan: Op1 = _bind1(atan_p)
sinh: Op1 = _bind1(sinh_p)
cosh: Op1 = _bind1(cosh_p)
tanh: Op1 = _bind1(tanh_p)
asinh: Op1 = _bind1(asinh_p)
acosh: Op1 = _bind1(acosh_p)
atanh: Op1 = _bind1(atanh_p)
sqrt: Op1 = _bind1(sqrt_p)
rsqrt: Op1 = _bind1(rsqrt_p)
cbrt: Op1 = _bind1(cbrt_p)
abs: Op1 = _bind1(abs_p)
sign: Op1 = _bind1(sign_p)
floor: Op1 = _bind1(floor_p)
ceil: Op1 = _bind1(ceil_p)
round: Op1 = _bind1(round_p)
is_finite: Op1 = _bind1(is_finite_p)
bitwise_not: Op1 = _bind1(not_p)
logistic: Op1 = _bind1(logistic_p)
erf: Op1 = _bind1(erf_p)
add: Op2 = _bind2(add_p)
sub: Op2 = _bind2(sub_p)
mul: Op2 = _bind2(mul_p)
div: Op2 = _bind2(div_p)
pow: Op2 = _bind2(pow_p)
max: Op2 = _bind2(max_p)
min: Op2 = _bind2(min_p)
atan2: Op2 = _bind2(atan2_p)
logaddexp: Op2 = _bind2(logaddexp_p)
rem: Op2 = _bind2(rem_p)
nextafter: Op2 = _bind2(nextafter_p)
eq: Op2 = _bind2(eq_p)
ne: Op2 = _bind2(ne_p)
lt: Op2 = _bind2(lt_p)
le: Op2 = _bind2(le_p)
gt: Op2 = _bind2(gt_p)
ge: Op2 = _bind2(ge_p)
bitwise_and: Op2 = _bind2(and_p)
bitwise_or: Op2 = _bind2(or_p)
bitwise_xor: Op2 = _bind2(xor_p)


def integer_pow(x: Any, y: int) -> Any:
    """``x ** y`` for a static Python integer ``y``."""
    return integer_pow_p.bind(x, y=int(y))


def select(pred: Any, on_true: Any, on_false: Any) -> Any:
    """``on_true`` where ``pred`` else ``on_false`` (broadcasting; operands of one dtype)."""
    return select_p.bind(pred, as_operand(on_true, on_false), as_operand(on_false, on_true))


def convert_element_type(x: Any, new_dtype: Any) -> Any:
    """``x`` cast to ``new_dtype`` (nothing is bound when it already has it)."""
    dtype = np.dtype(new_dtype)
    if (x.dtype if type(x) is np.ndarray or isinstance(x, Tracer) else get_aval(x).dtype) == dtype:
        return x
    return convert_element_type_p.bind(x, new_dtype=dtype)


def _zeros_like(x: Any) -> Any:
    a = get_aval(x)
    return full(a.shape, 0, a.dtype)


def _integer_pow_jvp(t: Any, x: Any, y: int) -> Any:
    if y == 0:
        return _zeros_like(t)
    return t if y == 1 else mul(t, mul(integer_pow(x, y - 1), y))


def _pow_dx(x: Any, y: Any) -> Any:
    """y x^(y-1), but 0 where x == y == 0 (not 0 * inf: x**3's third derivative at 0 is 6)."""
    return select(bitwise_and(eq(x, 0), eq(y, 0)), _zeros_like(mul(x, y)),
                  mul(y, pow(x, sub(y, 1))))


def _safe_log(x: Any) -> Any:
    """log(x) where x > 0, else 0: the y-derivative of x**y vanishes there by convention."""
    positive = gt(x, 0)
    return select(positive, log(select(positive, x, _ones_like(x))), _zeros_like(x))


def _logaddexp_weight(x: Any, ans: Any) -> Any:
    """``exp(x - logaddexp(x, y))``, the weight of x's tangent, with +inf read as 0 in both (so
    it is 1 where x = +inf; where both are -inf it is nan): JAX's conventions at infinities."""
    def finite_top(v: Any) -> Any:
        return select(eq(v, np.inf), _zeros_like(v), v)
    return exp(sub(finite_top(x), finite_top(ans)))


def _ones_like(x: Any) -> Any:
    a = get_aval(x)
    return full(a.shape, 1, a.dtype)


def _balanced_pick(x: Any, y: Any) -> Any:
    """1 where x > y, 1/2 where x == y, 0 elsewhere: the weight of x's tangent in max(x, y)."""
    dtype = get_aval(x).dtype
    return add(convert_element_type(gt(x, y), dtype),
               mul(convert_element_type(eq(x, y), dtype), 0.5))


# ---------------------------------------------------------------- jit statements

def _emit_div(ctx: EmitContext, eqn: Eqn, ins: list[str], outs: list[str]) -> list[str]:
    """Division is true division for inexact dtypes, floor division for integers."""
    kind = eqn.outvars[0].aval.dtype.kind
    return emit_call_inplace(ctx, np.floor_divide if kind in "iub" else np.true_divide, ins, outs)


def _emit_select(ctx: EmitContext, eqn: Eqn, ins: list[str], outs: list[str]) -> list[str]:
    return assign(outs, f"{ctx.ref(np.where)}({', '.join(ins)})")


def _emit_convert(ctx: EmitContext, eqn: Eqn, ins: list[str], outs: list[str]) -> list[str]:
    return assign(outs, f"{ins[0]}.astype({ctx.ref(eqn.params['new_dtype'])})")


def _emit_integer_pow(ctx: EmitContext, eqn: Eqn, ins: list[str], outs: list[str]) -> list[str]:
    y, x = eqn.params["y"], ins[0]
    mul = ctx.ref(np.multiply)
    if y == 2:
        if ctx.inplace:
            return [f"{mul}({x}, {x}, out={ctx.inplace})"]
        return assign(outs, f"{mul}({x}, {x})")
    if y == 3:
        return assign(outs, f"{mul}({mul}({x}, {x}), {x})")
    return emit_impl(ctx, eqn, ins, outs)


def _integer_pow_buffers(eqn: Eqn) -> str:
    y = eqn.params["y"]
    return "inplace" if y == 2 else "fresh" if y == 3 else "alias"


defcodegen(div_p, _emit_div, "inplace")
defcodegen(select_p, _emit_select, "fresh")
defcodegen(convert_element_type_p, _emit_convert, "fresh")
defcodegen(integer_pow_p, _emit_integer_pow, _integer_pow_buffers)


# ---------------------------------------------------------------- jit simplifications

def _integer_pow_one(rw: Rewriter, eqn: Eqn) -> Any:
    return same_type(eqn, eqn.inputs[0]) if eqn.params["y"] == 1 else eqn


defsimplify(mul_p, unit_operand(1))
defsimplify(add_p, unit_operand(0))
defsimplify(sub_p, unit_operand(0, left=False))
defsimplify(div_p, unit_operand(1, left=False))
defsimplify(neg_p, involution)
defsimplify(integer_pow_p, _integer_pow_one)
defsimplify(convert_element_type_p, lambda rw, eqn: same_type(eqn, eqn.inputs[0]))
