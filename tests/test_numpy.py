"""fungrad.numpy elementwise functions against NumPy itself: one table line per function.

Each line: a name, a hypothesis strategy for the arguments, and ``fn(module, *args)`` run with
``numpy`` and with ``fungrad.numpy``; values (1e-12 relative in float64), dtypes and shapes
must agree, eagerly and as staged by ``make_jaxpr``.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fungrad
import fungrad.numpy as fnp
from fungrad.test_util import check_grads
from test_numpy_util import (
    SHAPES, assert_like_numpy, bools, broadcast_pair, broadcast_with, check_against_numpy, floats, ints,
)

Case = tuple[str, st.SearchStrategy[Any], Callable[..., Any]]


def unary(name: str, strat: st.SearchStrategy[Any] = floats()) -> Case:
    return (name, st.tuples(strat), lambda m, x: getattr(m, name)(x))


def binary(name: str, strat: st.SearchStrategy[Any] = broadcast_pair()) -> Case:
    return (name, strat, lambda m, x, y: getattr(m, name)(x, y))


POS, UNIT = floats(0.1, 5.0), floats(-0.99, 0.99)
F32 = floats(-3, 3, dtype=np.float32)
INT_PAIR = broadcast_with(lambda s: ints(-6, 6, s), lambda s: ints(1, 4, s))

CASES: list[Case] = [
    *(unary(n) for n in ["sin", "cos", "arctan", "sinh", "cosh", "tanh", "arcsinh", "exp",
                         "expm1", "exp2", "cbrt", "deg2rad", "rad2deg", "radians", "degrees",
                         "sinc", "rint", "negative", "positive", "absolute", "abs", "fabs",
                         "sign", "square", "floor", "ceil", "trunc", "fix", "isnan", "isinf",
                         "isfinite", "isposinf", "isneginf", "signbit", "logical_not",
                         "conjugate", "conj", "real", "imag"]),
    unary("tan", floats(-1.4, 1.4)),
    *(unary(n, UNIT) for n in ["arcsin", "arccos", "arctanh", "asin", "acos", "atanh"]),
    unary("arccosh", floats(1.01, 5.0)),
    *(unary(n, POS) for n in ["log", "log1p", "log2", "log10", "sqrt", "reciprocal"]),
    *(unary(n, ints()) for n in ["negative", "absolute", "sign", "square", "floor", "ceil",
                                 "trunc", "isnan", "isfinite", "invert", "bitwise_not"]),
    *(unary(n, ints(0, 9)) for n in ["sqrt", "sin", "exp", "log1p", "rint"]),
    *(unary(n, F32) for n in ["sin", "exp", "tanh", "square", "floor", "abs"]),
    unary("logical_not", bools()),
    unary("invert", bools()),
    ("nan_to_num", st.tuples(st.sampled_from([np.array([np.nan, np.inf, -np.inf, 1.5]),
                                              np.array([[np.inf], [2.0]])])),
     lambda m, x: m.nan_to_num(x)),
    ("isnan_special", st.tuples(st.just(np.array([np.nan, np.inf, -np.inf, 0.0]))),
     lambda m, x: (m.isnan(x), m.isinf(x), m.isfinite(x), m.isposinf(x), m.isneginf(x))),
    ("around", st.tuples(floats(-50, 50), st.integers(-1, 3)),
     lambda m, x, d: m.around(x, d)),
    ("round", st.tuples(floats(-50, 50), st.integers(0, 2)), lambda m, x, d: m.round(x, d)),
    ("around_int", st.tuples(ints(-99, 99), st.integers(-2, 1)), lambda m, x, d: m.around(x, d)),
    ("clip", st.tuples(floats(), st.floats(-2, 0), st.floats(0, 2)),
     lambda m, x, lo, hi: m.clip(x, lo, hi)),
    ("clip_upper", st.tuples(floats()), lambda m, x: m.clip(x, None, 1.0)),
    ("clip_kw", st.tuples(floats()), lambda m, x: (m.clip(x, a_min=-1.0, a_max=0.5),
                                                   m.clip(x, max=0.5))),
    *(binary(n) for n in ["add", "subtract", "multiply", "divide", "true_divide", "maximum",
                          "minimum", "fmax", "fmin", "arctan2", "atan2", "hypot", "logaddexp",
                          "logaddexp2", "copysign", "nextafter", "equal", "not_equal", "less",
                          "less_equal", "greater", "greater_equal", "logical_and",
                          "logical_or", "logical_xor", "heaviside"]),
    *(binary(n, broadcast_pair(-5, 5, 0.5, 3)) for n in ["floor_divide", "mod", "remainder",
                                                         "fmod", "divmod"]),
    *(binary(n, broadcast_pair(-5, 5, -3, -0.5)) for n in ["floor_divide", "mod", "fmod"]),
    *(binary(n, broadcast_pair(0.1, 3)) for n in ["power", "float_power", "pow"]),
    *(binary(n, INT_PAIR) for n in ["add", "subtract", "multiply", "floor_divide", "mod",
                                    "fmod", "power", "divide", "maximum", "bitwise_and",
                                    "bitwise_or", "bitwise_xor", "left_shift", "right_shift",
                                    "less", "divmod"]),
    binary("logical_and", broadcast_with(lambda s: bools(s), lambda s: bools(s))),
    binary("multiply", broadcast_pair(dtype=np.float32)),
    binary("arctan2", broadcast_pair(dtype=np.float32)),
    ("mixed_f32_int", broadcast_with(lambda s: floats(-3, 3, s, np.float32),
                                      lambda s: ints(shape=s)), lambda m, x, y: m.add(x, y)),
    ("mixed_int_f64", broadcast_with(lambda s: ints(shape=s),
                                      lambda s: floats(shape=s)), lambda m, x, y: m.multiply(x, y)),
    ("weak_scalar_f32", st.tuples(F32), lambda m, x: m.multiply(x, 2.5)),
    ("weak_scalar_int", st.tuples(ints()), lambda m, x: m.add(x, 3)),
    ("int_times_float_scalar", st.tuples(ints()), lambda m, x: m.multiply(x, 0.5)),
    ("scalar_first", st.tuples(F32), lambda m, x: m.subtract(1.0, x)),
    ("int_power_scalar", st.tuples(floats()), lambda m, x: m.power(x, 3)),
    ("isclose", broadcast_pair(-1, 1), lambda m, x, y: m.isclose(x, x + 1e-9 * y)),
    ("allclose", broadcast_pair(-1, 1), lambda m, x, y: m.allclose(x, x + 1e-3 * y)),
    ("isclose_inf", st.tuples(st.just(np.array([np.inf, -np.inf, np.nan, 1.0]))),
     lambda m, x: m.isclose(x, np.array([np.inf, np.inf, np.nan, 1.0]), equal_nan=True)),
    ("logaddexp_inf", st.tuples(st.just(np.array([-np.inf, np.inf, -np.inf, 2.0]))),
     lambda m, x: m.logaddexp(x, np.array([-np.inf, np.inf, 1.0, np.inf]))),
]


@pytest.mark.parametrize("name,strat,fn", CASES, ids=[c[0] for c in CASES])
@settings(max_examples=8)
@given(data=st.data())
def test_elementwise_matches_numpy(name: str, strat: Any, fn: Any, data: Any) -> None:
    check_against_numpy(fn, data.draw(strat))


def test_at_least_150_public_functions() -> None:
    public = [n for n in dir(fnp) if not n.startswith("_") and callable(getattr(fnp, n))
              and not isinstance(getattr(fnp, n), type)]
    assert len(public) >= 150, len(public)
    for n in public:
        assert getattr(fnp, n).__doc__, f"{n} has no docstring"


def test_result_type_follows_numpy2() -> None:
    for args in [(np.float32, 2.0), (np.int32, 1.5), (np.int8, 3), (np.float32, np.int64),
                 (np.bool_, 1)]:
        assert fnp.result_type(*args) == np.result_type(*args)
    assert fnp.result_type(np.zeros(2, np.float32), 1.0) == np.float32


# ---------------------------------------------------------------- gradients
GRAD_UNARY = [("sin", floats()), ("cos", floats()), ("tan", floats(-1.2, 1.2)),
              ("exp", floats()), ("log", POS), ("sqrt", POS), ("tanh", floats()),
              ("arctan", floats()), ("sinh", floats()), ("log1p", POS), ("expm1", floats()),
              ("square", floats()), ("reciprocal", POS), ("cbrt", POS), ("log2", POS),
              ("log10", POS), ("exp2", floats()), ("arcsin", floats(-0.9, 0.9)),
              ("arctanh", floats(-0.9, 0.9)), ("sinc", floats(0.2, 2.0)), ("negative", floats())]


@pytest.mark.parametrize("name,strat", GRAD_UNARY, ids=[c[0] for c in GRAD_UNARY])
@settings(max_examples=3)
@given(data=st.data())
def test_unary_grads(name: str, strat: Any, data: Any) -> None:
    check_grads(getattr(fnp, name), (data.draw(strat),), order=2)


GRAD_BINARY = ["add", "subtract", "multiply", "divide", "power", "arctan2", "hypot",
               "logaddexp", "logaddexp2", "maximum", "minimum"]


@pytest.mark.parametrize("name", GRAD_BINARY)
@settings(max_examples=3)
@given(data=st.data())
def test_binary_grads(name: str, data: Any) -> None:
    x, y = data.draw(broadcast_pair(0.5, 3.0))
    if name in ("maximum", "minimum"):
        y = y + 0.01  # away from ties, where the derivative is not defined
        x = np.where(np.abs(x - y) < 0.05, x + 0.1, x)
    check_grads(getattr(fnp, name), (x, y), order=2)


def test_logaddexp_grad_at_ties_and_infinities() -> None:
    g = fungrad.grad(lambda x: fnp.sum(fnp.logaddexp(x, x)))(np.array([0.5, -2.0]))
    np.testing.assert_allclose(g, [1.0, 1.0])  # d/dx log(2 e^x) = 1
    gx = fungrad.grad(lambda x: fnp.logaddexp(x, -np.inf))(1.5)
    assert gx == 1.0


def test_float32_stays_float32_under_grad() -> None:
    x = np.array([0.5, 1.0], np.float32)
    g = fungrad.grad(lambda x: fnp.sum(fnp.sin(x) * 2.0))(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, 2 * np.cos(x), rtol=1e-6)


@settings(max_examples=5)
@given(x=floats(-2, 2, shape=SHAPES))
def test_multiply_fast_path_matches(x: Any) -> None:
    assert_like_numpy(fnp.multiply(x, x), x * x)
    g = fungrad.grad(lambda v: fnp.sum(v * v * 3.0))(x)
    assert_like_numpy(g, 6.0 * x)
