"""Elementwise functions with NumPy's names, dtype promotion and broadcasting.

Each table line is one function: its lax implementation and how its operands are promoted
(``promote``: to the common dtype; ``promote_inexact``: integers become floats, as ``np.sin``
does). Composite functions follow NumPy's own formulas so values agree to the last bits.

>>> import fungrad.numpy as fnp
>>> float(fnp.logaddexp(0.0, 0.0))  # log(2)
0.6931471805599453
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from fungrad.numpy.keywords import check_out
from fungrad import lax
from fungrad.core import Tracer, current_state
from fungrad.lax.elementwise import add_p, div_p, logaddexp, mul_p, primitive_of, sub_p
from fungrad.ir import weak_scalar
from fungrad.numpy.promotion import asarray, promote, promote_inexact

Fn1 = Callable[[Any], Any]
Fn2 = Callable[[Any, Any], Any]
_ARRAYS = (np.ndarray, Tracer)
_REAL_SCALARS = {float, int}   # (not bool: True + x promotes differently)


def _unary(name: str, impl: Fn1, inexact: bool, doc: str) -> Fn1:
    promote1 = promote_inexact if inexact else promote
    prim = primitive_of.get(impl)  # when impl only binds a primitive, bind it here

    def f(x: Any) -> Any:
        if (type(x) is np.ndarray or isinstance(x, Tracer)) and (
                not inexact or x.dtype.kind == "f"):
            if prim is not None:  # the fast path: nothing to convert
                return current_state().trace.process_primitive(prim, (x,), {})
            return impl(x)
        return impl(promote1(asarray(x))[0])
    f.__name__ = f.__qualname__ = name
    f.__doc__ = doc
    return f


def _binary(name: str, impl: Fn2, inexact: bool, doc: str) -> Fn2:
    promote2 = promote_inexact if inexact else promote

    def f(x: Any, y: Any) -> Any:
        return impl(*promote2(x, y))
    f.__name__ = f.__qualname__ = name
    f.__doc__ = doc
    return f


def _fast(prim: Any, fallback: Fn2, name: str, doc: str) -> Fn2:
    """``prim`` bound directly for two arrays of one dtype, or a real floating array and a
    Python float or int on either side (the hot paths of Tracer operators: what ``promote``
    gives, the scalar taking the array's dtype)."""
    def f(x: Any, y: Any) -> Any:
        if type(x) is np.ndarray or isinstance(x, Tracer):  # (not a masked array, a matrix...)
            if type(y) is np.ndarray or isinstance(y, Tracer):
                if x.dtype == y.dtype:
                    return current_state().trace.process_primitive(prim, (x, y), {})
            elif type(y) in _REAL_SCALARS:
                dtype = x.dtype
                if dtype.kind == "f":
                    return current_state().trace.process_primitive(prim, (x, weak_scalar(y, dtype)), {})
        elif type(x) in _REAL_SCALARS and (type(y) is np.ndarray or isinstance(y, Tracer)):
            dtype = y.dtype
            if dtype.kind == "f":
                return current_state().trace.process_primitive(prim, (weak_scalar(x, dtype), y), {})
        return fallback(*promote(x, y))
    f.__name__ = f.__qualname__ = name
    f.__doc__ = doc
    return f


# ---------------------------------------------------------------- helpers (lax-level, one dtype)
def _zeros(x: Any) -> Any:
    a = asarray(x)
    return lax.full(a.shape, 0, a.dtype)


def _is_int(x: Any) -> bool:
    return bool(x.dtype.kind in "iub")


def _isnan(x: Any) -> Any:
    return lax.ne(x, x) if not _is_int(x) else lax.full(x.shape, False, np.dtype(bool))


def _isinf(x: Any) -> Any:
    return lax.eq(lax.abs(x), np.inf) if not _is_int(x) else lax.full(x.shape, False, bool)


def _trunc(x: Any) -> Any:
    return x if _is_int(x) else lax.select(lax.lt(x, 0), lax.ceil(x), lax.floor(x))


def _square(x: Any) -> Any:
    return lax.integer_pow(x, 2)


def _fmod(x: Any, y: Any) -> Any:
    """C's fmod: the sign of ``x``; exact, as the remainder of the magnitudes."""
    r = lax.rem(lax.abs(x), lax.abs(y))
    return lax.select(lax.lt(x, 0), lax.neg(r), r)


def _floor_divide(x: Any, y: Any) -> Any:
    """NumPy's floor division; for floats its exact ``divmod`` recipe (fmod, then correct)."""
    if _is_int(x):
        return lax.div(x, y)
    m = _fmod(x, y)
    d = lax.div(lax.sub(x, m), y)
    fix = lax.bitwise_and(lax.ne(m, 0), lax.ne(lax.lt(y, 0), lax.lt(m, 0)))
    d = lax.select(fix, lax.sub(d, 1), d)
    fd = lax.floor(d)
    fd = lax.select(lax.gt(lax.sub(d, fd), 0.5), lax.add(fd, 1), fd)
    fd = lax.select(lax.eq(d, 0), lax.mul(lax.sign(lax.div(x, y)), 0), fd)
    return lax.select(lax.eq(y, 0), lax.div(x, y), fd)


def _fmax(x: Any, y: Any) -> Any:
    return lax.select(_isnan(y), x, lax.select(_isnan(x), y, lax.max(x, y)))


def _fmin(x: Any, y: Any) -> Any:
    return lax.select(_isnan(y), x, lax.select(_isnan(x), y, lax.min(x, y)))


def _logaddexp_base(x: Any, y: Any, log1p_exp: Fn1) -> Any:
    """``big + log1p_exp(small - big)``: smooth on both sides of ``x == y`` (all orders)."""
    x_big = lax.ge(x, y)
    big, small = lax.select(x_big, x, y), lax.select(x_big, y, x)
    bad = lax.bitwise_and(lax.eq(x, y), _isinf(x))  # inf - inf would be nan
    zero = np.zeros((), x.dtype)
    out = lax.add(big, log1p_exp(lax.sub(lax.select(bad, zero, small),
                                         lax.select(bad, zero, big))))
    return lax.select(bad, big, out)


def _logaddexp2(x: Any, y: Any) -> Any:
    ln2 = math.log(2.0)
    return _logaddexp_base(
        x, y, lambda d: lax.div(lax.log1p(lax.exp(lax.mul(d, ln2))), ln2))


def _hypot(x: Any, y: Any) -> Any:
    """``s * sqrt((x/s)**2 + (y/s)**2)`` with the scale ``s = max(|x|, |y|)`` held constant: no
    overflow, exact derivatives of every order. At the origin ``(|x| + |y|) / 2``, which gives
    JAX's derivative there, ``(1/2, 1/2)``."""
    ax, ay = lax.abs(x), lax.abs(y)
    scale = lax.stop_gradient(lax.max(ax, ay))
    origin = lax.eq(scale, 0)
    scale = lax.select(origin, lax.full(scale.shape, 1, scale.dtype), scale)
    sx = lax.select(origin, lax.full(scale.shape, 1, scale.dtype), lax.div(x, scale))
    sy = lax.div(y, scale)  # (sx = 1 at the origin keeps the unused branch's derivative finite)
    r = lax.mul(scale, lax.sqrt(lax.add(lax.mul(sx, sx), lax.mul(sy, sy))))
    r = lax.select(lax.bitwise_or(_isinf(ax), _isinf(ay)), lax.full(r.shape, np.inf, r.dtype), r)
    return lax.select(origin, lax.mul(lax.add(ax, ay), 0.5), r)


def _heaviside(x: Any, h0: Any) -> Any:
    one, zero = lax.full(x.shape, 1, x.dtype), _zeros(x)
    return lax.select(lax.lt(x, 0), zero, lax.select(lax.gt(x, 0), one, h0))


def _copysign(x: Any, y: Any) -> Any:
    return lax.select(_signbit(y), lax.neg(lax.abs(x)), lax.abs(x))


def _sinc(x: Any) -> Any:
    zero = lax.eq(x, 0)
    px = lax.mul(lax.select(zero, lax.full(x.shape, 1, x.dtype), x), math.pi)
    return lax.select(zero, lax.full(x.shape, 1, x.dtype), lax.div(lax.sin(px), px))


def _logical(op: Fn2) -> Fn2:
    def f(x: Any, y: Any) -> Any:
        return op(lax.ne(x, 0) if x.dtype != bool else x, lax.ne(y, 0) if y.dtype != bool else y)
    return f


def _logical_not(x: Any) -> Any:
    return lax.eq(x, 0) if x.dtype != bool else lax.bitwise_not(x)


def _shift(left: bool) -> Fn2:
    def f(x: Any, y: Any) -> Any:
        factor = lax.pow(lax.full(y.shape, 2, y.dtype), y)
        return lax.mul(x, factor) if left else lax.div(x, factor)
    return f


def _exp2(x: Any) -> Any:
    return lax.pow(np.asarray(2, x.dtype), x)


def _log_base(base: float) -> Fn1:
    return lambda x: lax.div(lax.log(x), math.log(base))


def _identity(x: Any) -> Any:
    return x


def _conj(x: Any) -> Any:
    return lax.conj(x) if x.dtype.kind == "c" else x


def _reciprocal(x: Any) -> Any:
    return lax.div(np.asarray(1, x.dtype), x)


def _signbit(x: Any) -> Any:
    """Negative numbers and -0.0: ``atan2(x, -1)`` is -pi for those, +pi otherwise."""
    if x.dtype.kind != "f":
        return lax.lt(x, np.zeros((), x.dtype))
    return lax.lt(lax.atan2(x, np.asarray(-1, x.dtype)), np.zeros((), x.dtype))


# ---------------------------------------------------------------- the tables
_UNARY: list[tuple[str, Fn1, bool, str]] = [
    # name, lax implementation, inexact?, doc
    ("sin", lax.sin, True, "Sine, elementwise."),
    ("cos", lax.cos, True, "Cosine, elementwise."),
    ("tan", lax.tan, True, "Tangent, elementwise."),
    ("arcsin", lax.asin, True, "Inverse sine, elementwise."),
    ("arccos", lax.acos, True, "Inverse cosine, elementwise."),
    ("arctan", lax.atan, True, "Inverse tangent, elementwise."),
    ("sinh", lax.sinh, True, "Hyperbolic sine, elementwise."),
    ("cosh", lax.cosh, True, "Hyperbolic cosine, elementwise."),
    ("tanh", lax.tanh, True, "Hyperbolic tangent, elementwise."),
    ("arcsinh", lax.asinh, True, "Inverse hyperbolic sine, elementwise."),
    ("arccosh", lax.acosh, True, "Inverse hyperbolic cosine, elementwise."),
    ("arctanh", lax.atanh, True, "Inverse hyperbolic tangent, elementwise."),
    ("exp", lax.exp, True, "Exponential, elementwise."),
    ("expm1", lax.expm1, True, "``exp(x) - 1``, accurate near 0."),
    ("exp2", _exp2, True, "``2 ** x``, elementwise."),
    ("log", lax.log, True, "Natural logarithm, elementwise."),
    ("log1p", lax.log1p, True, "``log(1 + x)``, accurate near 0."),
    ("log2", _log_base(2.0), True, "Base-2 logarithm, elementwise."),
    ("log10", _log_base(10.0), True, "Base-10 logarithm, elementwise."),
    ("sqrt", lax.sqrt, True, "Square root, elementwise."),
    ("cbrt", lax.cbrt, True, "Cube root, elementwise (negative inputs allowed)."),
    ("deg2rad", lambda x: lax.mul(x, math.pi / 180.0), True, "Degrees to radians."),
    ("rad2deg", lambda x: lax.mul(x, 180.0 / math.pi), True, "Radians to degrees."),
    ("sinc", _sinc, True, "Normalized sinc: ``sin(pi x) / (pi x)``, 1 at 0."),
    ("rint", lax.round, True, "Round to the nearest integer (halves to even), as floats."),
    ("negative", lax.neg, False, "Numerical negative, elementwise."),
    ("positive", _identity, False, "``+x``, elementwise (a copy)."),
    ("absolute", lax.abs, False, "Absolute value, elementwise."),
    ("fabs", lax.abs, True, "Absolute value as a float, elementwise."),
    ("sign", lax.sign, False, "-1, 0 or 1 by the sign of each element."),
    ("square", _square, False, "``x * x``, elementwise."),
    ("reciprocal", _reciprocal, False, "``1 / x``, elementwise."),
    ("floor", lambda x: x if _is_int(x) else lax.floor(x), False, "Round down, elementwise."),
    ("ceil", lambda x: x if _is_int(x) else lax.ceil(x), False, "Round up, elementwise."),
    ("trunc", _trunc, False, "Round toward zero, elementwise."),
    ("fix", _trunc, False, "Round toward zero, elementwise."),
    ("isnan", _isnan, False, "True where ``x`` is NaN."),
    ("isinf", _isinf, False, "True where ``x`` is +/-inf."),
    ("isfinite", lambda x: lax.is_finite(x) if not _is_int(x) else lax.eq(x, x),
     False, "True where ``x`` is neither inf nor NaN."),
    ("isposinf", lambda x: lax.eq(x, np.inf), False, "True where ``x`` is +inf."),
    ("isneginf", lambda x: lax.eq(x, -np.inf), False, "True where ``x`` is -inf."),
    ("signbit", _signbit, False, "True where the sign bit is set (negative numbers)."),
    ("logical_not", _logical_not, False, "Elementwise logical NOT."),
    ("invert", lax.bitwise_not, False, "Bitwise (booleans: logical) NOT."),
    ("conjugate", _conj, False, "Complex conjugate (the identity on real arrays)."),
]

_BINARY: list[tuple[str, Fn2, bool, str]] = [
    ("true_divide", lax.div, True, "``x / y``, elementwise, as floats."),
    ("floor_divide", _floor_divide, False, "``x // y``: the floor of the quotient."),
    ("remainder", lax.rem, False, "``x % y``, with the sign of ``y`` (Python's modulo)."),
    ("fmod", _fmod, False, "C's remainder, with the sign of ``x``."),
    ("power", lax.pow, False, "``x ** y``, elementwise."),
    ("float_power", lax.pow, True, "``x ** y`` in float64 (or complex128)."),
    ("maximum", lax.max, False, "Elementwise maximum (NaNs propagate)."),
    ("minimum", lax.min, False, "Elementwise minimum (NaNs propagate)."),
    ("fmax", _fmax, False, "Elementwise maximum ignoring NaNs."),
    ("fmin", _fmin, False, "Elementwise minimum ignoring NaNs."),
    ("arctan2", lax.atan2, True, "Angle of the point ``(y=x1, x=x2)``, elementwise."),
    ("hypot", _hypot, True, "``sqrt(x**2 + y**2)``, elementwise."),
    ("logaddexp", logaddexp, True, "``log(exp(x) + exp(y))``, computed stably."),
    ("logaddexp2", _logaddexp2, True, "``log2(2**x + 2**y)``, computed stably."),
    ("copysign", _copysign, True, "The magnitude of ``x`` with the sign of ``y``."),
    ("heaviside", _heaviside, True, "Heaviside step: 0 below 0, 1 above, ``h0`` at 0."),
    ("nextafter", lax.nextafter, True, "The next float after ``x`` toward ``y``."),
    ("equal", lax.eq, False, "``x == y``, elementwise."),
    ("not_equal", lax.ne, False, "``x != y``, elementwise."),
    ("less", lax.lt, False, "``x < y``, elementwise."),
    ("less_equal", lax.le, False, "``x <= y``, elementwise."),
    ("greater", lax.gt, False, "``x > y``, elementwise."),
    ("greater_equal", lax.ge, False, "``x >= y``, elementwise."),
    ("logical_and", _logical(lax.bitwise_and), False, "Elementwise logical AND."),
    ("logical_or", _logical(lax.bitwise_or), False, "Elementwise logical OR."),
    ("logical_xor", _logical(lax.bitwise_xor), False, "Elementwise logical XOR."),
    ("bitwise_and", lax.bitwise_and, False, "Bitwise (booleans: logical) AND."),
    ("bitwise_or", lax.bitwise_or, False, "Bitwise (booleans: logical) OR."),
    ("bitwise_xor", lax.bitwise_xor, False, "Bitwise (booleans: logical) XOR."),
    ("left_shift", _shift(True), False, "``x << y`` for integers."),
    ("right_shift", _shift(False), False, "``x >> y`` for integers (arithmetic shift)."),
]

UNARY: dict[str, Fn1] = {n: _unary(n, f, inexact, doc) for n, f, inexact, doc in _UNARY}
BINARY: dict[str, Fn2] = {n: _binary(n, f, inexact, doc) for n, f, inexact, doc in _BINARY}


add = _fast(add_p, lax.add, "add", "``x + y``, elementwise.")
subtract = _fast(sub_p, lax.sub, "subtract", "``x - y``, elementwise.")
multiply = _fast(mul_p, lax.mul, "multiply", "``x * y``, elementwise.")


def divide(x: Any, y: Any) -> Any:
    """``x / y``, elementwise (true division: integers give floats)."""
    if isinstance(x, _ARRAYS) and isinstance(y, _ARRAYS) and x.dtype == y.dtype \
            and x.dtype.kind == "f":
        return div_p.bind(x, y)
    return lax.div(*promote_inexact(x, y))


def power(x: Any, y: Any) -> Any:
    """``x ** y``, elementwise; a static Python int exponent binds ``integer_pow`` (as in JAX):
    plain products, with derivatives exact to every order, also at 0."""
    if type(y) is int and isinstance(x, _ARRAYS) and (
            x.dtype.kind == "f" or x.dtype.kind in "iu" and y >= 0):
        return lax.integer_pow(x, y)
    return lax.pow(*promote(x, y))


BINARY["power"] = power  # one power for fnp.power, ** and internal uses


def divmod(x: Any, y: Any) -> tuple[Any, Any]:  # noqa: A001 - NumPy's name
    """``(x // y, x % y)``, elementwise."""
    a, b = promote(x, y)
    return _floor_divide(a, b), lax.rem(a, b)


def around(x: Any, decimals: int = 0, out: None = None) -> Any:
    """Round to ``decimals`` places, halves to even (NumPy's ``round``)."""
    check_out("around", out)
    x = asarray(x)
    if decimals == 0 or _is_int(x) and decimals > 0:
        return x if _is_int(x) else lax.round(x)
    if _is_int(x):
        f = 10 ** -decimals
        return lax.mul(lax.round(lax.div(lax.convert_element_type(x, np.float64), float(f))),
                       f).astype(x.dtype)
    if decimals > 0:
        f = float(10 ** decimals)
        return lax.div(lax.round(lax.mul(x, f)), f)
    f = float(10 ** -decimals)
    return lax.mul(lax.round(lax.div(x, f)), f)


def clip(x: Any, min: Any = None, max: Any = None, out: None = None, *,  # noqa: A002
         a_min: Any = None, a_max: Any = None) -> Any:
    """``x`` limited to ``[min, max]`` (either bound may be None; ``a_min``/``a_max`` too)."""
    check_out("clip", out)
    min = a_min if min is None else min
    max = a_max if max is None else max
    out = asarray(x)
    if min is not None:
        out = lax.max(*promote(out, min))
    if max is not None:
        out = lax.min(*promote(out, max))
    return out


def real(x: Any) -> Any:
    """The real part (the array itself for real dtypes).

    >>> import fungrad.numpy as fnp
    >>> fnp.real(fnp.asarray([1 + 2j, 3 - 4j]))
    array([1., 3.])
    """
    x = asarray(x)
    return lax.real(x) if x.dtype.kind == "c" else x


def imag(x: Any) -> Any:
    """The imaginary part (zeros for real dtypes).

    >>> import fungrad.numpy as fnp
    >>> fnp.imag(fnp.asarray([1 + 2j, 3 - 4j]))
    array([ 2., -4.])
    """
    x = asarray(x)
    return lax.imag(x) if x.dtype.kind == "c" else _zeros(x)


def angle(z: Any, deg: bool = False) -> Any:
    """The argument of each element, in radians (degrees with ``deg=True``): ``atan2(imag, real)``.

    >>> import fungrad.numpy as fnp
    >>> fnp.angle(fnp.asarray([1j, -1.0]))
    array([1.57079633, 3.14159265])
    """
    z = promote_inexact(asarray(z))[0]
    if z.dtype.kind == "c":
        out = lax.atan2(lax.imag(z), lax.real(z))
    else:
        out = lax.atan2(_zeros(z), z)
    return lax.mul(out, 180.0 / math.pi) if deg else out


def isclose(a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Any:
    """Where ``|a - b| <= atol + rtol * |b|``, as NumPy decides it (infinities equal if alike)."""
    a, b = promote_inexact(a, b)
    close = lax.le(lax.abs(lax.sub(a, b)), lax.add(lax.mul(lax.abs(b), rtol), atol))
    both_inf = lax.bitwise_and(_isinf(a), lax.eq(a, b))
    out = lax.bitwise_and(lax.bitwise_or(close, both_inf),
                          lax.bitwise_not(lax.bitwise_or(_isinf(a), _isinf(b))))
    out = lax.bitwise_or(out, both_inf)
    if equal_nan:
        out = lax.bitwise_or(out, lax.bitwise_and(_isnan(a), _isnan(b)))
    return out


def nan_to_num(x: Any, copy: bool = True, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None) -> Any:
    """NaN -> ``nan``, +inf -> ``posinf`` (largest float), -inf -> ``neginf`` (most negative)."""
    x = asarray(x)
    if _is_int(x):
        return x
    info = np.finfo(x.dtype)
    hi = info.max if posinf is None else posinf
    lo = info.min if neginf is None else neginf
    x = lax.select(_isnan(x), np.asarray(nan, x.dtype), x)
    x = lax.select(lax.eq(x, np.inf), np.asarray(hi, x.dtype), x)
    return lax.select(lax.eq(x, -np.inf), np.asarray(lo, x.dtype), x)
