"""Every elementwise primitive's derivative rules, as a table.

Each line names a primitive, the function that binds it, the domain its operands are drawn
from and the closed-form partial derivatives (in NumPy). One checker runs ``check_grads`` to
order 2 in forward and reverse mode (finite differences along random directions), in float64
and float32; another compares ``grad`` of the sum with the closed form to a few ulps.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays, mutually_broadcastable_shapes

import fungrad
from fungrad import lax
from fungrad.core import Primitive
from fungrad.lax import elementwise
from fungrad.lax.elementwise import logaddexp
from fungrad.test_util import check_grads

F64, F32 = np.dtype(np.float64), np.dtype(np.float32)


@dataclass
class Rule:
    """One table line: ``fn`` applied to operands drawn from ``domains``; ``derivs`` in NumPy."""

    prim: str
    fn: Callable[..., Any]
    domains: tuple[tuple[float, float], ...]
    derivs: tuple[Callable[..., Any], ...]
    post: Callable[..., Any] = field(default=lambda *xs: xs)  # push operands off kinks

    @property
    def id(self) -> str:
        return self.fn.__name__ if self.fn.__name__ != "<lambda>" else self.prim


def away_from_int(center: float) -> Callable[[Any], tuple[Any]]:
    """Points within 0.1 of ``k + center``: off the jumps of floor/ceil (0.5) and round (0)."""
    def post(x: Any) -> tuple[Any]:
        return (np.floor(x) + center + 0.2 * (x - np.floor(x) - 0.5)).astype(x.dtype),
    return post


def grid(*xs: Any) -> tuple[Any, ...]:
    """Operand i on the grid i/4 + Z/2: distinct operands differ by at least 1/4 (max, min, eq)."""
    return tuple((np.round(x * 2) / 2 + i / 4).astype(x.dtype) for i, x in enumerate(xs))


def rem_safe(x: Any, y: Any) -> tuple[Any, Any]:
    """x/y at least 0.2 away from an integer, so floor(x/y) is locally constant."""
    q = x / y
    return (y * (np.floor(q) + 0.3 + 0.4 * (q - np.floor(q)))).astype(x.dtype), y


def signed(lo: float, hi: float) -> Callable[..., Any]:
    """Magnitude in [lo, hi] with the sign of the drawn value (abs away from its kink)."""
    def post(x: Any) -> tuple[Any]:
        return (np.where(x < 0, -1, 1) * (lo + (hi - lo) * np.abs(x) / 3)).astype(x.dtype),
    return post


def ipow(n: int) -> Callable[[Any], Any]:
    def f(x: Any) -> Any:
        return lax.integer_pow(x, n)
    f.__name__ = f"integer_pow_{n}"
    return f


def sec2(x: Any) -> Any:
    return 1 / np.cos(x) ** 2


R = (-3.0, 3.0)
POS = (0.2, 4.0)
UNIT = (-0.9, 0.9)
UNARY: list[Rule] = [
    Rule("neg", lax.neg, (R,), (lambda x: -np.ones_like(x),)),
    Rule("exp", lax.exp, (R,), (np.exp,)),
    Rule("log", lax.log, (POS,), (lambda x: 1 / x,)),
    Rule("log1p", lax.log1p, ((-0.8, 4.0),), (lambda x: 1 / (1 + x),)),
    Rule("expm1", lax.expm1, (R,), (np.exp,)),
    Rule("sin", lax.sin, (R,), (np.cos,)),
    Rule("cos", lax.cos, (R,), (lambda x: -np.sin(x),)),
    Rule("tan", lax.tan, ((-1.2, 1.2),), (sec2,)),
    Rule("asin", lax.asin, (UNIT,), (lambda x: 1 / np.sqrt(1 - x ** 2),)),
    Rule("acos", lax.acos, (UNIT,), (lambda x: -1 / np.sqrt(1 - x ** 2),)),
    Rule("atan", lax.atan, (R,), (lambda x: 1 / (1 + x ** 2),)),
    Rule("sinh", lax.sinh, (R,), (np.cosh,)),
    Rule("cosh", lax.cosh, (R,), (np.sinh,)),
    Rule("tanh", lax.tanh, (R,), (lambda x: 1 - np.tanh(x) ** 2,)),
    Rule("asinh", lax.asinh, (R,), (lambda x: 1 / np.sqrt(x ** 2 + 1),)),
    Rule("acosh", lax.acosh, ((1.2, 4.0),), (lambda x: 1 / np.sqrt(x ** 2 - 1),)),
    Rule("atanh", lax.atanh, (UNIT,), (lambda x: 1 / (1 - x ** 2),)),
    Rule("sqrt", lax.sqrt, (POS,), (lambda x: 0.5 / np.sqrt(x),)),
    Rule("rsqrt", lax.rsqrt, (POS,), (lambda x: -0.5 * x ** -1.5,)),
    Rule("cbrt", lax.cbrt, (R,), (lambda x: np.cbrt(x) ** -2 / 3,), signed(0.2, 3.0)),
    Rule("abs", lax.abs, (R,), (np.sign,), signed(0.2, 3.0)),
    Rule("logistic", lax.logistic, (R,), (lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2,)),
    Rule("erf", lax.erf, (R,), (lambda x: 2 / np.sqrt(np.pi) * np.exp(-x ** 2),)),
    Rule("sign", lax.sign, (R,), (np.zeros_like,), signed(0.2, 3.0)),
    Rule("floor", lax.floor, (R,), (np.zeros_like,), away_from_int(0.5)),
    Rule("ceil", lax.ceil, (R,), (np.zeros_like,), away_from_int(0.5)),
    Rule("round", lax.round, (R,), (np.zeros_like,), away_from_int(0.0)),
    Rule("integer_pow", ipow(0), (R,), (np.zeros_like,)),
    Rule("integer_pow", ipow(1), (R,), (np.ones_like,)),
    Rule("integer_pow", ipow(2), (R,), (lambda x: 2 * x,)),
    Rule("integer_pow", ipow(3), (R,), (lambda x: 3 * x ** 2,)),
    Rule("integer_pow", ipow(-2), (R,), (lambda x: -2 / x ** 3,), signed(0.3, 3.0)),
]
BINARY: list[Rule] = [
    Rule("add", lax.add, (R, R), (lambda x, y: np.ones_like(x), lambda x, y: np.ones_like(y))),
    Rule("sub", lax.sub, (R, R), (lambda x, y: np.ones_like(x), lambda x, y: -np.ones_like(y))),
    Rule("mul", lax.mul, (R, R), (lambda x, y: y, lambda x, y: x)),
    Rule("div", lax.div, (R, POS), (lambda x, y: 1 / y, lambda x, y: -x / y ** 2)),
    Rule("pow", lax.pow, ((0.3, 3.0), (-2.0, 2.0)),
         (lambda x, y: y * x ** (y - 1), lambda x, y: np.log(x) * x ** y)),
    Rule("max", lax.max, (R, R), (lambda x, y: (x > y) * 1.0, lambda x, y: (y > x) * 1.0), grid),
    Rule("min", lax.min, (R, R), (lambda x, y: (x < y) * 1.0, lambda x, y: (y < x) * 1.0), grid),
    Rule("atan2", lax.atan2, (POS, R),
         (lambda x, y: y / (x ** 2 + y ** 2), lambda x, y: -x / (x ** 2 + y ** 2))),
    Rule("logaddexp", logaddexp, (R, R),
         (lambda x, y: 1 / (1 + np.exp(y - x)), lambda x, y: 1 / (1 + np.exp(x - y)))),
    Rule("rem", lax.rem, (R, (0.5, 2.0)), (lambda x, y: np.ones_like(x),
                                           lambda x, y: -np.floor(x / y)), rem_safe),
]


def select_true(x: Any, y: Any) -> Any:
    """``select`` with a predicate computed from the operands (it carries no derivative)."""
    return lax.select(lax.gt(x, y), x, y)


def cast_roundtrip(x: Any) -> Any:
    """``convert_element_type`` to a wider float and back: 3 times the identity's derivative."""
    wider = F64 if x.dtype == F32 else np.dtype(np.longdouble)
    return lax.convert_element_type(lax.mul(lax.convert_element_type(x, wider), 3.0), x.dtype)


SPECIAL: list[Rule] = [
    Rule("select", select_true, (R, R),
         (lambda x, y: (x > y) * 1.0, lambda x, y: (x <= y) * 1.0), grid),
    Rule("convert_element_type", cast_roundtrip, (R,), (lambda x: 3 * np.ones_like(x),)),
]
ALL = UNARY + BINARY + SPECIAL

# Primitives whose outputs are boolean or integer (or a float that is locally constant by
# definition): they pass no derivative. ``test_no_derivative_flows`` covers them.
NONDIFF = {"eq", "ne", "lt", "le", "gt", "ge", "and", "or", "xor", "not", "is_finite",
           "nextafter"}


def test_every_elementwise_primitive_is_in_the_table() -> None:
    prims = {p.name for p in vars(elementwise).values() if isinstance(p, Primitive)}
    covered = {r.prim for r in ALL} | NONDIFF
    assert prims - covered == set(), "add a table line for these primitives"


# ---------------------------------------------------------------- drawing operands

def operands(draw: Any, rule: Rule, dtype: np.dtype[Any]) -> tuple[Any, ...]:
    n = len(rule.domains)
    shapes = draw(mutually_broadcastable_shapes(num_shapes=n, max_dims=2, max_side=3)).input_shapes
    width: Literal[32, 64] = 32 if dtype == F32 else 64
    xs = [draw(arrays(dtype, s, elements=st.floats(float(dtype.type(lo)), float(dtype.type(hi)),
                                                   width=width)))
          for s, (lo, hi) in zip(shapes, rule.domains)]
    return tuple(np.asarray(x, dtype) for x in rule.post(*xs))


@st.composite
def rule_args(draw: Any, rule: Rule, dtype: np.dtype[Any]) -> tuple[Any, ...]:
    return operands(draw, rule, dtype)


TOL = {F64: dict(), F32: dict(atol=3e-2, eps=2e-3)}


@pytest.mark.parametrize("dtype", [F64, F32], ids=["f64", "f32"])
@pytest.mark.parametrize("rule", ALL, ids=lambda r: r.id)
@settings(max_examples=8)
@given(data=st.data())
def test_check_grads_order_2(rule: Rule, dtype: np.dtype[Any], data: Any) -> None:
    args = data.draw(rule_args(rule, dtype))
    check_grads(rule.fn, args, order=2, modes=("fwd", "rev"), **TOL[dtype])  # type: ignore[arg-type]


def unbroadcast_np(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``g`` down to ``shape``, as the derivative of a broadcast operand is summed."""
    while g.ndim > len(shape):
        g = g.sum(0)
    return g.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1),
                 keepdims=True).reshape(shape)


def assert_ulps(got: Any, want: Any, ulps: float) -> None:
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    assert got.shape == want.shape
    scale = np.spacing(np.maximum(np.abs(want), 1.0))
    err = np.abs(got - want) / scale
    assert np.all(err <= ulps), f"max error {err.max():.1f} ulps\ngot  {got}\nwant {want}"


@pytest.mark.parametrize("rule", ALL, ids=lambda r: r.id)
@settings(max_examples=10)
@given(data=st.data())
def test_grad_matches_closed_form(rule: Rule, data: Any) -> None:
    args = data.draw(rule_args(rule, F64))
    argnums = tuple(range(len(args)))
    grads = fungrad.grad(lambda *xs: sum_all(rule.fn(*xs)), argnums)(*args)
    full = np.broadcast_arrays(*args)
    for g, d, x in zip(grads, rule.derivs, args):
        want = unbroadcast_np(np.broadcast_to(d(*full), full[0].shape).astype(np.float64),
                              x.shape)
        assert_ulps(g, want, ulps=8)


# ---------------------------------------------------------------- no derivative

def sum_all(x: Any) -> Any:
    return lax.reduce_sum(x, range(x.ndim))


def as_float(b: Any) -> Any:
    return lax.convert_element_type(b, np.float64)


CMP = [lax.eq, lax.ne, lax.lt, lax.le, lax.gt, lax.ge]
NP_CMP = [np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal]


@pytest.mark.parametrize("op,np_op", list(zip(CMP, NP_CMP)), ids=lambda o: o.__name__)
@given(data=st.data())
def test_no_derivative_through_comparisons(op: Any, np_op: Any, data: Any) -> None:
    x, y = data.draw(rule_args(Rule("cmp", op, (R, R), ()), F64).map(lambda a: grid(*a)))
    # d/dx [x * (x op y)] = (x op y): the indicator is locally constant.
    g = fungrad.grad(lambda x: sum_all(lax.mul(x, as_float(op(x, y)))))(x)
    want = unbroadcast_np(np.broadcast_to(np_op(x, y).astype(float), np.broadcast_shapes(
        x.shape, y.shape)), x.shape)
    np.testing.assert_array_equal(g, want)


def test_no_derivative_flows() -> None:
    """Integer, boolean and ``is_finite`` results carry no tangent into what follows."""
    x = np.array([0.5, -1.5, np.inf])
    bits = [lambda i: lax.bitwise_and(i, 6), lambda i: lax.bitwise_or(i, 1),
            lambda i: lax.bitwise_xor(i, 3), lax.bitwise_not]
    for f in bits:
        def g(x: Any, f: Any = f) -> Any:
            i = lax.convert_element_type(lax.floor(x[:2]), np.int64)
            return lax.reduce_sum(lax.mul(x[:2], as_float(f(i))), (0,))
        want = np.asarray(f(np.floor(x[:2]).astype(np.int64)), float)
        np.testing.assert_array_equal(fungrad.grad(g)(x)[:2], want)
    fin = fungrad.grad(lambda x: lax.reduce_sum(lax.mul(as_float(lax.is_finite(x)), 2.0), (0,)))
    np.testing.assert_array_equal(fin(x), np.zeros(3))
    _, t = fungrad.jvp(lambda x: lax.lt(x, 0.0), (x,), (np.ones(3),))
    assert not np.any(t)


def test_pow_derivatives_at_zero() -> None:
    """x**3 with a float exponent: every derivative at 0 is finite (no 0 * inf from x**-1)."""
    d3 = fungrad.grad(fungrad.grad(fungrad.grad(lambda x: lax.pow(x, 3.0))))
    assert d3(0.0) == 6.0
    assert fungrad.grad(fungrad.grad(lambda x: lax.pow(x, 1.0)))(0.0) == 0.0
    # d/dy [y x^(y-1)] = x^(y-1) (1 + y log x): 1/2 at (2, 0); the guard is for x == 0 only
    assert fungrad.grad(fungrad.grad(lax.pow), 1)(2.0, 0.0) == pytest.approx(0.5, rel=1e-15)
