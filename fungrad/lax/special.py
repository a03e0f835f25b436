"""Special functions as primitives: ``erf_inv``, ``erfc``, ``ndtri``, ``lgamma``, ``digamma``,
``polygamma``.

NumPy has none of them, so each impl is written here in float64 (float32 inputs are computed in
float64 and rounded): series and recurrences accurate to a few ulps. Each derivative is one line.

>>> round(float(erf_inv(np.float64(0.5))), 15)
0.47693627620447
>>> round(float(digamma(np.float64(1.0))), 14)  # minus the Euler-Mascheroni constant
-0.57721566490153
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from fungrad.ir import ShapedArray
from fungrad.lax.elementwise import exp, integer_pow, mul, neg, times, unary
from fungrad.lax.registry import (defjvp, primitive, real_floating, real_floating_shape, same_dtype,
                                  vectorized_batcher)

_SQRT_PI = math.sqrt(math.pi)


def in_float64(fn: Callable[..., np.ndarray], name: str = "") -> Callable[..., Any]:
    """``fn`` on float64 copies of the operands, the result in the first operand's dtype.
    Complex operands are refused (casting would drop the imaginary part silently)."""
    def impl(*args: Any) -> Any:
        dtype = np.asarray(args[0]).dtype
        for v in args:
            real_floating(name or fn.__name__, np.asarray(v).dtype)
        return np.asarray(fn(*(np.asarray(v, np.float64) for v in args)), dtype)
    return impl


_erf1 = np.frompyfunc(math.erf, 1, 1)
_erfc1 = np.frompyfunc(math.erfc, 1, 1)
_lgamma1 = np.frompyfunc(lambda v: math.lgamma(v) if v != math.floor(v) or v > 0 else math.inf,
                         1, 1)


def _erfc(x: np.ndarray) -> np.ndarray:
    return np.asarray(_erfc1(x), np.float64)


def _erf_inv_solve(x: np.ndarray, tail_q: np.ndarray | None = None) -> np.ndarray:
    """erf_inv by root finding: Winitzki's closed form (relative error ~2e-3), then three
    Halley steps on ``erf(y) = x``, or on ``erfc(y) = q`` in the tail where ``q = 1 - |x|`` is
    given exactly. Accurate to an ulp or two but slow (scalar math.erf): it only builds the
    tables of ``_erf_inv``."""
    a = 0.147
    q = 1 - np.abs(x) if tail_q is None else tail_q
    with np.errstate(divide="ignore", invalid="ignore"):
        ln = np.log(q * (2 - q))
        b = 2 / (math.pi * a) + ln / 2
        y = np.copysign(np.sqrt(np.sqrt(b * b - ln / a) - b), x)
        tail = q < 0.5
        for _ in range(3):
            f = np.where(tail, np.sign(x) * (q - _erfc(np.abs(y))),
                         np.asarray(_erf1(y), np.float64) - x)
            slope = 2 / _SQRT_PI * np.exp(-y * y)
            step = f / slope
            y = np.where(np.isfinite(step) & (slope > 0), y - step / (1 + y * step), y)
    return y  # type: ignore[no-any-return]


# erf_inv(x) = sign(x) s h(s) with s = sqrt(-log(1 - x^2)): h is smooth, h(0) = sqrt(pi)/2, so
# tiny x keep their relative accuracy. s reaches 6.1 for |x| = 1 - 2^-53 and 26.6 when 1 - |x|
# is given directly (ndtri of the smallest normal float). h is tabulated once, on first use,
# as Chebyshev series on pieces of width 0.5.
_PIECES, _DEGREE, _S_MAX = 54, 18, 27.0
_erf_inv_table: list[np.ndarray] = []


def _chebyshev_table() -> np.ndarray:
    if not _erf_inv_table:
        width = _S_MAX / _PIECES
        k = np.arange(_DEGREE + 1)
        nodes = np.cos(np.pi * (k + 0.5) / (_DEGREE + 1))  # Chebyshev points on [-1, 1]
        s = (np.arange(_PIECES)[:, None] + (nodes[None, :] + 1) / 2) * width
        e = np.exp(-s * s)
        q = e / (1 + np.sqrt(-np.expm1(-s * s)))  # 1 - x, exactly enough
        g = _erf_inv_solve(np.sqrt(-np.expm1(-s * s)), q) / s
        # coefficients of each piece: a discrete cosine transform of its values about their
        # mean (so rounding scales with the variation across the piece, not with h itself)
        mean = g.mean(axis=1)
        basis = np.cos(np.pi * np.outer(k, k + 0.5) / (_DEGREE + 1))
        coef = (g - mean[:, None]) @ basis.T * (2.0 / (_DEGREE + 1))
        coef[:, 0] = coef[:, 0] / 2 + mean
        _erf_inv_table.append(coef)
    return _erf_inv_table[0]


def _erf_inv_of_q(q: np.ndarray, x: np.ndarray | None = None) -> np.ndarray:
    """``erf_inv(x)`` for ``q = 1 - x`` in [0, 2] given exactly (and ``x`` itself when known,
    for tiny values): Chebyshev pieces of h at s (Clenshaw's recurrence)."""
    coef = _chebyshev_table()
    ax = 1 - q if x is None else x  # exact where it is used (|x| < 0.5)
    with np.errstate(divide="ignore", invalid="ignore"):  # two forms, each exact where used
        s = np.sqrt(np.where(q > 0.5, -np.log1p(-ax * ax), -(np.log(q) + np.log(2 - q))))
    s = np.where(np.abs(ax) < 1e-8, np.abs(ax), s)  # s = x (1 + x^2/4 + ...); x^2 may underflow
    width = _S_MAX / _PIECES
    piece = np.clip(np.nan_to_num(s / width, posinf=0.0).astype(np.int64), 0, _PIECES - 1)
    t = np.where(np.isfinite(s), 2 * (s / width - piece) - 1, 0.0)
    c = coef[piece]
    b1 = np.zeros_like(t)
    b2 = np.zeros_like(t)
    for j in range(_DEGREE, 0, -1):
        b1, b2 = 2 * t * b1 - b2 + c[..., j], b1
    y = np.copysign(s * (t * b1 - b2 + c[..., 0]), ax)
    y = np.where(q == 0, np.inf, np.where(q == 2, -np.inf, y))
    return np.where((q < 0) | (q > 2), np.nan, y)


def _erf_inv(x: np.ndarray) -> np.ndarray:
    """Vectorized erf_inv: its odd symmetry, then ``_erf_inv_of_q`` of ``1 - |x|``."""
    return np.copysign(_erf_inv_of_q(1 - np.abs(x), np.abs(x)), x)  # type: ignore[no-any-return]


def _ndtri(p: np.ndarray) -> np.ndarray:
    """The standard normal quantile: ``-sqrt 2 erfc_inv(2p)``, with ``2p`` (or ``2(1 - p)``
    above 1/2, exact there) handed to the table directly, so the tails keep full precision."""
    low = p < 0.5
    q = np.where(low, 2 * p, 2 * (1 - p))
    y = math.sqrt(2) * _erf_inv_of_q(q)
    return np.where(low, -y, y)


def lgamma_f64(x: np.ndarray) -> np.ndarray:
    """``log |Gamma(x)|`` in float64, elementwise (inf at the poles)."""
    return np.asarray(_lgamma1(x), np.float64)


# Bernoulli numbers B_2k for the asymptotic series of the polygamma functions.
_B2K = [1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510, 43867 / 798,
        -174611 / 330]


def _polygamma_big(n: int, x: np.ndarray) -> np.ndarray:
    """The asymptotic expansion of psi^(n)(x), accurate to double precision for x >= 15."""
    if n == 0:
        out = np.log(x) - 0.5 / x
        for k, b in enumerate(_B2K, start=1):
            out = out - b / (2 * k * x ** (2 * k))
        return out  # type: ignore[no-any-return]
    sign = (-1) ** (n + 1)
    out = math.factorial(n - 1) / x ** n + math.factorial(n) / (2 * x ** (n + 1))
    for k, b in enumerate(_B2K, start=1):
        out = out + b * math.factorial(2 * k + n - 1) / (math.factorial(2 * k) * x ** (2 * k + n))
    return sign * out  # type: ignore[no-any-return]


def polygamma_f64(n: int, x: np.ndarray) -> np.ndarray:
    """psi^(n)(x): recurrence up to x >= 15, then the asymptotic series; reflection below 0
    for the digamma function (poles at the non-positive integers)."""
    x = np.asarray(x, np.float64)
    pole = (x <= 0) & (x == np.floor(x))
    reflect = (x < 0) & ~pole if n == 0 else np.zeros(x.shape, bool)
    z = np.where(reflect, 1 - x, np.where(pole, 1.0, x))
    shift = np.zeros_like(z)
    sign = (-1) ** (n + 1) * math.factorial(n)
    while True:
        small = z < 15
        if not small.any():
            break
        shift = shift + np.where(small, (-1 / z if n == 0 else sign / z ** (n + 1)), 0)
        z = np.where(small, z + 1, z)
    out = _polygamma_big(n, z) + shift
    if n == 0:
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(reflect, out - math.pi / np.tan(math.pi * x), out)
        return np.where(pole, np.nan, out)
    return np.where(pole, np.inf if n % 2 else np.nan, out)


# ---------------------------------------------------------------- the primitives
erf_inv_p = unary("erf_inv", in_float64(_erf_inv, "erf_inv"),
                  times(lambda ans, x: mul(exp(integer_pow(ans, 2)), _SQRT_PI / 2)),
                  shape_rule=real_floating_shape("erf_inv"))
erfc_p = unary("erfc", in_float64(_erfc, "erfc"),
               times(lambda ans, x: mul(exp(neg(integer_pow(x, 2))), -2 / _SQRT_PI)),
               shape_rule=real_floating_shape("erfc"))
ndtri_p = unary("ndtri", in_float64(_ndtri, "ndtri"),
                times(lambda ans, x: mul(exp(mul(integer_pow(ans, 2), 0.5)), math.sqrt(2 * math.pi))),
                shape_rule=real_floating_shape("ndtri"))
lgamma_p = unary("lgamma", in_float64(lgamma_f64, "lgamma"), times(lambda ans, x: digamma(x)),
                shape_rule=real_floating_shape("lgamma"))
digamma_p = unary("digamma", in_float64(lambda x: polygamma_f64(0, x), "digamma"),
                  times(lambda ans, x: polygamma(1, x)),
                  shape_rule=real_floating_shape("digamma"))


def _polygamma_impl(x: Any, *, n: int) -> Any:
    x = np.asarray(x)
    return np.asarray(polygamma_f64(n, x.astype(np.float64)), x.dtype)


def _polygamma_shape(x: ShapedArray, *, n: int) -> ShapedArray:
    same_dtype("polygamma", x)
    return x


polygamma_p = primitive("polygamma", _polygamma_impl, _polygamma_shape)
defjvp(polygamma_p, lambda t, ans, x, *, n: mul(t, polygamma(n + 1, x)))
vectorized_batcher(polygamma_p)


def erf_inv(x: Any) -> Any:
    """The inverse error function (``erf(erf_inv(x)) == x`` on ``(-1, 1)``)."""
    return erf_inv_p.bind(x)


def erfc(x: Any) -> Any:
    """The complementary error function ``1 - erf(x)``, accurate where erf is near 1."""
    return erfc_p.bind(x)


def ndtri(p: Any) -> Any:
    """The inverse of the standard normal CDF, accurate in both tails.

    >>> round(float(ndtri(np.float64(0.975))), 12)
    1.95996398454
    """
    return ndtri_p.bind(p)


def lgamma(x: Any) -> Any:
    """``log |Gamma(x)|`` (inf at the poles 0, -1, -2, ...).

    >>> round(float(lgamma(np.float64(5.0))), 12)  # log(4!)
    3.178053830348
    """
    return lgamma_p.bind(x)


def digamma(x: Any) -> Any:
    """The digamma function, the derivative of ``lgamma``."""
    return digamma_p.bind(x)


def polygamma(n: int, x: Any) -> Any:
    """The ``n``-th derivative of the digamma function (``n`` a static non-negative integer).

    >>> round(float(polygamma(1, np.float64(1.0))), 12)  # pi^2 / 6
    1.644934066848
    """
    if int(n) != n or n < 0:
        raise ValueError(f"polygamma: the order n must be a non-negative integer, got {n}")
    return digamma(x) if n == 0 else polygamma_p.bind(x, n=int(n))
