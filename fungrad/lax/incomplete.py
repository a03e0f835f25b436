"""The regularized incomplete gamma and beta functions as primitives (``igamma``, ``igammac``,
``igamma_grad_a``, ``betainc``), with JAX's names and derivatives.

``P(a, x) = gamma(a, x) / Gamma(a)`` is summed as its power series where ``x < 1`` or ``x <= a``,
and ``Q = 1 - P`` as its continued fraction elsewhere (modified Lentz), the derivative in ``a``
carried along term by term. ``I_x(a, b)`` is its continued fraction, on the side of
``(a + 1) / (a + b + 2)`` where it converges, with the symmetry ``I_x(a, b) = 1 - I_{1-x}(b, a)``.
The prefactors ``x^a e^-x / Gamma(a + 1)`` and ``x^a (1 - x)^b / (a B(a, b))`` are computed from
Stirling's series and ``log1p(d) - d`` for large parameters, so they keep their relative accuracy
near the mean, where the plain logarithms would cancel. Iterations run on the elements not yet
converged; near ``x = a`` both need a number of terms that grows like ``sqrt(a)``.

Everything is float64 (float32 operands are computed in float64 and rounded). Relative error,
for results above 1e-300: ``P`` and ``Q`` below 1e-12 for ``a`` in [1e-3, 1e7] (against SciPy,
and against mpmath for large ``a``, where SciPy itself is off by up to 7e-4 near ``x = a``);
``I_x(a, b)`` below 2e-11 for ``a, b`` in [1e-3, 1e5] (1e-13 near the bulk of the distribution,
the larger errors in far tails of large ``a + b``). Derivatives agree with finite differences
and with JAX.

>>> round(float(igamma(np.float64(2.0), np.float64(1.0))), 15)  # 1 - 2/e
0.264241117657115
>>> round(float(betainc(np.float64(2.0), np.float64(3.0), np.float64(0.5))), 15)
0.6875
"""
from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from fungrad.lax.elementwise import (
    add, bitwise_and, bitwise_or, eq, exp, log, log1p, mul, neg, select, sub,
)
from fungrad.lax.registry import broadcast_batcher, defjvp, elementwise_shape, primitive
from fungrad.lax.special import digamma, in_float64, lgamma, lgamma_f64, polygamma_f64

_EPS = np.finfo(np.float64).eps
_TINY = 1e-300
_MAX_TERMS = 200_000
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
# Stirling's series: lgamma(z) = (z - 1/2) log z - z + log(2 pi)/2 + sum_k c_k / z^(2k-1)
_STIRLING = [1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156]
_BIG = 20.0  # from here on, Stirling's series to 7 terms is exact to double precision


def _stirling_tail(z: np.ndarray) -> np.ndarray:
    """``lgamma(z) - ((z - 1/2) log z - z + log(2 pi) / 2)`` for ``z >= 20``."""
    r = 1 / (z * z)
    out = np.zeros_like(z)
    for c in reversed(_STIRLING):
        out = out * r + c
    return out / z  # type: ignore[no-any-return]


def _log1pmx(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``log(r) - (r - 1)`` for ``r = num / den`` without cancellation: with ``d = r - 1`` and
    ``u = d / (2 + d)``, ``-d^2 / (2 + d) + 2 sum u^(2k+1) / (2k+1)`` near ``r = 1``, the plain
    form (``log`` of the ratio itself, not of ``1 + d``) elsewhere."""
    with np.errstate(divide="ignore", invalid="ignore"):
        d = (num - den) / den
        plain = np.log(num / den) - d
        u = d / (2 + d)
        u2 = u * u
        term = u * u2
        series = np.zeros_like(d)
        for k in range(1, 18):  # |u| < 1/3 where used: u^35 / 35 < eps
            series = series + term / (2 * k + 1)
            term = term * u2
        near = -d * d / (2 + d) + 2 * series
    return np.where(np.abs(d) < 0.5, near, plain)  # type: ignore[no-any-return]


def _log_gamma_prefactor(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``log(x^a e^-x / Gamma(a + 1))``; for large ``a`` written as
    ``a (log1p(d) - d) - log(2 pi a) / 2 - tail(a)`` with ``d = (x - a) / a``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        big = a >= _BIG
        safe_a = np.where(big, a, _BIG)
        stirling = (safe_a * _log1pmx(x, safe_a) - 0.5 * np.log(safe_a)
                    - _HALF_LOG_2PI - _stirling_tail(safe_a))
        small_a = np.where(big, 1.0, a)
        plain = np.where(a == 0, 0.0, small_a * np.log(x)) - x - lgamma_f64(small_a + 1)
    return np.where(big, stirling, plain)  # type: ignore[no-any-return]


def _iterate(step: Callable[..., tuple[Any, ...]], state: tuple[np.ndarray, ...],
             done: Callable[..., np.ndarray]) -> tuple[np.ndarray, ...]:
    """Run ``state = step(n, *state)`` for n = 1, 2, ... on the elements where ``done`` is
    still False (the arrays shrink as elements converge); the final states."""
    out = tuple(s.copy() for s in state)
    active = np.arange(state[0].size)
    cur = tuple(s.ravel() for s in state)
    for n in range(1, _MAX_TERMS):
        if not active.size:
            break
        cur = step(n, *cur)
        finished = done(*cur)
        if finished.any():
            for o, c in zip(out, cur):
                o.ravel()[active[finished]] = c[finished]
            keep = ~finished
            active = active[keep]
            cur = tuple(c[keep] for c in cur)
    for o, c in zip(out, cur):  # not converged in _MAX_TERMS: the last iterate
        o.ravel()[active] = c
    return out


def _lentz(b0: np.ndarray, coef: Callable[..., tuple[Any, Any]],
           params: tuple[np.ndarray, ...]) -> np.ndarray:
    """``1 / (b0 + a1 / (b1 + a2 / (b2 + ...)))`` with ``(a_n, b_n) = coef(n, *params)``, by the
    modified Lentz algorithm, to a relative change below eps."""
    k = len(params)

    def step(n: int, *state: Any) -> tuple[Any, ...]:
        c, d, h = state[k:k + 3]
        an, bn = coef(n, *state[:k])
        d = bn + an * d
        d = 1 / np.where(np.abs(d) < _TINY, _TINY, d)
        c = bn + an / c
        c = np.where(np.abs(c) < _TINY, _TINY, c)
        delta = c * d
        return (*state[:k], c, d, h * delta, delta)

    def done(*state: Any) -> Any:
        return np.abs(state[-1] - 1) <= _EPS

    d = 1 / b0
    start = (*params, np.full_like(b0, 1 / _TINY), d, d, np.full_like(b0, 2.0))
    return _iterate(step, start, done)[k + 2]


def _lower_series_value(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``sum_n x^n / ((a+1)...(a+n))``."""
    def step(n: int, a: Any, x: Any, t: Any, s: Any) -> tuple[Any, ...]:
        t = t * x / (a + n)
        return a, x, t, s + t

    def done(a: Any, x: Any, t: Any, s: Any) -> Any:
        return t <= _EPS * s / 4

    one = np.ones_like(a)
    return _iterate(step, (a, x, one, one), done)[3]


def _upper_fraction_value(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``1 / (x + 1 - a - 1 (1 - a) / (x + 3 - a - 2 (2 - a) / ...))``."""
    return _lentz(x + 1 - a, lambda n, a, x: (-n * (n - a), x + 2 * n + 1 - a), (a, x))


def _lower_series(a: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``sum_n x^n / ((a+1)...(a+n))`` and its derivative in ``a``."""
    one = np.ones_like(a)
    zero = np.zeros_like(a)

    def step(n: int, a: Any, x: Any, t: Any, h: Any, s: Any, ds: Any) -> tuple[Any, ...]:
        t = t * x / (a + n)
        h = h - 1 / (a + n)
        return a, x, t, h, s + t, ds + t * h

    def done(a: Any, x: Any, t: Any, h: Any, s: Any, ds: Any) -> Any:
        return (t <= _EPS * s / 4) & (np.abs(t * h) <= _EPS * np.abs(ds) / 4)

    _, _, _, _, s, ds = _iterate(step, (a, x, one, zero, one, zero), done)
    return s, ds


def _upper_fraction(a: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``1 / (x + 1 - a - 1 (1 - a) / (x + 3 - a - 2 (2 - a) / ...))`` and its derivative in
    ``a`` (Lentz's algorithm, the derivatives of its two recurrences alongside)."""
    b = x + 1 - a
    d = 1 / b
    dd = d * d  # d(1/b)/da with db/da = -1
    c = np.full_like(a, 1 / _TINY)
    dc = np.zeros_like(a)

    def step(n: int, a: Any, b: Any, c: Any, dc: Any, d: Any, dd: Any, h: Any, dh: Any,
             delta: Any, ddelta: Any) -> tuple[Any, ...]:
        an, dan = -n * (n - a), n
        b = b + 2
        den = an * d + b
        dden = dan * d + an * dd - 1
        den = np.where(den == 0, _TINY, den)
        c_new = b + an / c
        dc = -1 + dan / c - an * dc / (c * c)
        c = np.where(c_new == 0, _TINY, c_new)
        d = 1 / den
        dd = -dden * d * d
        delta = c * d
        ddelta = dc * d + c * dd
        return a, b, c, dc, d, dd, h * delta, dh * delta + h * ddelta, delta, ddelta

    def done(a: Any, b: Any, c: Any, dc: Any, d: Any, dd: Any, h: Any, dh: Any, delta: Any,
             ddelta: Any) -> Any:
        return (np.abs(delta - 1) <= _EPS) & (np.abs(h * ddelta) <= _EPS * np.abs(dh) + _TINY)

    ones = np.ones_like(a)
    out = _iterate(step, (a, b, c, dc, d, dd, d, dd, ones, ones), done)
    return out[6], out[7]


def _igamma_f64(a: np.ndarray, x: np.ndarray, want: str) -> np.ndarray:
    """``P(a, x)`` (``want='p'``), ``Q(a, x)`` (``'q'``) or ``dP/da`` (``'da'``), float64."""
    a, x = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(x, np.float64))
    shape = a.shape
    a, x = a.ravel(), x.ravel()
    nan = np.isnan(a) | np.isnan(x) | (a < 0) | (x < 0) | ((a == 0) & (x == 0))
    x_inf, a_inf = np.isinf(x), np.isinf(a)
    plain = ~(nan | x_inf | a_inf | (x == 0) | (a == 0))
    use_fraction = plain & (x >= 1) & (x > a)
    use_series = plain & ~use_fraction
    # P(a, 0) = 0; P(a, inf) = 1 (JAX: also for a = inf); P(0, x) = 1 (JAX: NaN for x < 1)
    p = np.where(x_inf | (a == 0), 1.0, 0.0)
    dpda = np.zeros_like(a)
    if use_series.any():
        aa, xx = a[use_series], x[use_series]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_pref = _log_gamma_prefactor(aa, xx)
            pref = np.exp(log_pref)
            if want != "da":
                p[use_series] = pref * _lower_series_value(aa, xx)
            else:
                s, ds = _lower_series(aa, xx)
                p[use_series] = pref * s
                dlog = np.log(xx) - polygamma_f64(0, aa + 1)
                dpda[use_series] = pref * (s * dlog + ds)
    q = 1 - p
    if use_fraction.any():
        aa, xx = a[use_fraction], x[use_fraction]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            pref = np.exp(_log_gamma_prefactor(aa, xx))
            f, df = (_upper_fraction(aa, xx) if want == "da"
                     else (_upper_fraction_value(aa, xx), None))
            qq = aa * pref * f
            q[use_fraction] = qq
            p[use_fraction] = 1 - qq
            if want == "da":
                dlog = np.log(xx) - polygamma_f64(0, aa)
                dpda[use_fraction] = -(qq * dlog + aa * pref * df)
    out = {"p": p, "q": q, "da": dpda}[want]
    # a = 0: P = 1 for x > 0 (JAX gives NaN below x = 1); dP/da has no limit there
    out = np.where(nan | ((want == "da") & (a == 0)), np.nan, out)
    return out.reshape(shape)


def _lgamma_step(z: np.ndarray, s: np.ndarray) -> np.ndarray:
    """``lgamma(z + s) - lgamma(z)`` for ``z >= 20`` without cancellation:
    ``z log1pmx(1 + s/z) - log1p(s/z) / 2 + s log(z + s)`` plus Stirling's tails."""
    return (z * _log1pmx(z + s, z) - 0.5 * np.log1p(s / z) + s * np.log(z + s)  # type: ignore[no-any-return]
            + _stirling_tail(z + s) - _stirling_tail(z))


def _log_beta_prefactor(a: np.ndarray, b: np.ndarray, log_x: np.ndarray,
                        log_1mx: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``log(x^a (1 - x)^b / (a B(a, b)))``. For large ``a`` and ``b`` it is written with
    ``p = a / (a + b)`` as ``a log1pmx(x / p) + b log1pmx((1 - x) / (1 - p))`` plus Stirling's
    tails, which keeps its relative accuracy near ``x = p``; with one of them large, the ratio
    of gamma functions is ``_lgamma_step``; with both small, plain ``lgamma``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        big_a, big_b = a >= _BIG, b >= _BIG
        both = big_a & big_b
        sa, sb = np.where(both, a, _BIG), np.where(both, b, _BIG)
        n = sa + sb
        p = sa / n
        stirling = (sa * _log1pmx(x, p) + sb * _log1pmx(1 - x, 1 - p)
                    + 0.5 * (np.log(sb) - np.log(sa) - np.log(n)) - _HALF_LOG_2PI
                    - _stirling_tail(sa) - _stirling_tail(sb) + _stirling_tail(n))
        powers = np.where(a == 0, 0.0, a * log_x) + np.where(b == 0, 0.0, b * log_1mx)
        only_a = np.where(big_a, a, _BIG)
        with_big_a = -np.log(only_a) - lgamma_f64(np.where(big_a, b, 1.0)) + _lgamma_step(only_a, b)
        only_b = np.where(big_b, b, _BIG)
        with_big_b = -lgamma_f64(np.where(big_b, a, 0.0) + 1) + _lgamma_step(only_b, a)
        pa, pb = np.where(big_a | big_b, 1.0, a), np.where(big_a | big_b, 1.0, b)
        plain = -lgamma_f64(pa + 1) - lgamma_f64(pb) + lgamma_f64(pa + pb)
        mixed = powers + np.where(big_a, with_big_a, np.where(big_b, with_big_b, plain))
    return np.where(both, stirling, mixed)  # type: ignore[no-any-return]


def _beta_fraction(a: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``1 / (1 + d1 / (1 + d2 / (1 + ...)))`` with DLMF 8.17.22's ``d_m``."""
    def coef(n: int, a: Any, b: Any, x: Any) -> tuple[Any, float]:
        m = n // 2
        if n % 2:
            return -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)), 1.0
        return m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)), 1.0

    return _lentz(np.ones_like(a), coef, (a, b, x))


def _betainc_f64(a: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    a, b, x = np.broadcast_arrays(a, b, x)
    shape = a.shape
    a, b, x = a.ravel(), b.ravel(), x.ravel()
    a_zero = (a == 0) | (b == np.inf)  # the mass sits at 0
    b_zero = (b == 0) | (a == np.inf)  # the mass sits at 1
    nan = (np.isnan(a) | np.isnan(b) | np.isnan(x) | (a < 0) | (b < 0) | (x < 0) | (x > 1)
           | (a_zero & b_zero))
    out = np.where(a_zero & (x > 0), 1.0, 0.0)
    out = np.where(b_zero & (x == 1), 1.0, out)
    plain = ~(nan | a_zero | b_zero | (x == 0) | (x == 1))
    out = np.where(~a_zero & ~b_zero & (x == 1), 1.0, out)
    if plain.any():
        aa, bb, xx = a[plain], b[plain], x[plain]
        swap = xx >= (aa + 1) / (aa + bb + 2)
        a1, b1 = np.where(swap, bb, aa), np.where(swap, aa, bb)
        x1 = np.where(swap, 1 - xx, xx)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
            log_x = np.where(swap, np.log1p(-xx), np.log(xx))
            log_1mx = np.where(swap, np.log(xx), np.log1p(-xx))
            pref = np.exp(_log_beta_prefactor(a1, b1, log_x, log_1mx, x1))
            value = pref * _beta_fraction(a1, b1, x1)
        out[plain] = np.where(swap, 1 - value, value)
    return np.where(nan, np.nan, out).reshape(shape)


# ---------------------------------------------------------------- derivatives (lax compositions)

def _xlogy_safe(c: Any, x: Any) -> Any:
    """``c log x``, 0 where ``c == 0`` (also at ``x = 0`` and ``x = inf``); its derivative in
    ``c`` is ``log x`` there too."""
    edge = bitwise_and(eq(c, 0.0), bitwise_or(eq(x, 0.0), eq(x, math.inf)))
    return mul(c, log(select(edge, 1.0, x)))


def gamma_density(a: Any, x: Any) -> Any:
    """``x^(a-1) e^-x / Gamma(a)``, the derivative of ``P(a, x)`` in ``x``."""
    return exp(sub(sub(_xlogy_safe(sub(a, 1.0), x), x), lgamma(a)))


def beta_density(a: Any, b: Any, x: Any) -> Any:
    """``x^(a-1) (1-x)^(b-1) / B(a, b)``, the derivative of ``I_x(a, b)`` in ``x``."""
    log_beta = sub(add(lgamma(a), lgamma(b)), lgamma(add(a, b)))
    return exp(sub(add(_xlogy_safe(sub(a, 1.0), x), _xlogy_safe(sub(b, 1.0), sub(1.0, x))),
                   log_beta))


def _no_second_a_derivative(t: Any, ans: Any, a: Any, x: Any) -> Any:
    raise NotImplementedError(
        "igamma_grad_a: the second derivative of the incomplete gamma function in `a` is not "
        "implemented (as in JAX); mixed derivatives in `a` and `x` are")


def _betainc_in_a_or_b(t: Any, ans: Any, a: Any, b: Any, x: Any) -> Any:
    raise ValueError("Betainc gradient with respect to a and b not supported. (as in JAX: "
                     "differentiate betainc in x only, or wrap a and b in lax.stop_gradient)")


# ---------------------------------------------------------------- the primitives

def _nary(name: str, impl: Callable[..., np.ndarray], *jvps: Callable[..., Any]) -> Any:
    prim = primitive(name, in_float64(impl), elementwise_shape(name))
    defjvp(prim, *jvps)
    broadcast_batcher(prim)
    return prim


igamma_grad_a_p = _nary("igamma_grad_a", lambda a, x: _igamma_f64(a, x, "da"),
                        _no_second_a_derivative,
                        lambda t, ans, a, x: mul(t, mul(gamma_density(a, x),
                                                        sub(log(x), digamma(a)))))
igamma_p = _nary("igamma", lambda a, x: _igamma_f64(a, x, "p"),
                 lambda t, ans, a, x: mul(t, igamma_grad_a(a, x)),
                 lambda t, ans, a, x: mul(t, gamma_density(a, x)))
igammac_p = _nary("igammac", lambda a, x: _igamma_f64(a, x, "q"),
                  lambda t, ans, a, x: neg(mul(t, igamma_grad_a(a, x))),
                  lambda t, ans, a, x: neg(mul(t, gamma_density(a, x))))
betainc_p = _nary("regularized_incomplete_beta", _betainc_f64, _betainc_in_a_or_b,
                  _betainc_in_a_or_b, lambda t, ans, a, b, x: mul(t, beta_density(a, b, x)))


def igamma(a: Any, x: Any) -> Any:
    """The regularized lower incomplete gamma function ``P(a, x)`` (operands of one float dtype).

    NaN for ``a < 0``, ``x < 0`` or ``a = x = 0``; 0 at ``x = 0``; 1 at ``x = inf``.
    Differentiable in ``x`` and ``a`` (to first order in ``a``).

    >>> round(float(igamma(np.float64(1.0), np.float64(2.0))), 15)  # 1 - exp(-2)
    0.864664716763387
    """
    return igamma_p.bind(a, x)


def igammac(a: Any, x: Any) -> Any:
    """The regularized upper incomplete gamma function ``Q(a, x) = 1 - P(a, x)``, accurate where
    it is tiny.

    >>> round(float(igammac(np.float64(1.0), np.float64(700.0)) / np.exp(-700.0)), 12)
    1.0
    """
    return igammac_p.bind(a, x)


def igamma_grad_a(a: Any, x: Any) -> Any:
    """``dP(a, x)/da`` (JAX's ``lax.igamma_grad_a``; NaN for ``a <= 0``).

    >>> round(float(igamma_grad_a(np.float64(1.0), np.float64(1.0))), 12)
    -0.431729710635
    """
    return igamma_grad_a_p.bind(a, x)


def betainc(a: Any, b: Any, x: Any) -> Any:
    """The regularized incomplete beta function ``I_x(a, b)`` (operands of one float dtype;
    differentiable in ``x`` only, as in JAX).

    >>> round(float(betainc(np.float64(1.0), np.float64(1.0), np.float64(0.25))), 15)
    0.25
    """
    return betainc_p.bind(a, b, x)
