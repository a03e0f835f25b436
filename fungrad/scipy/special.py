"""``fungrad.scipy.special``: SciPy's special functions, differentiable (as ``jax.scipy.special``).

>>> import fungrad, fungrad.scipy.special as sp
>>> round(float(sp.gammaln(5.0)), 12), round(float(fungrad.grad(sp.gammaln)(1.0)), 12)
(3.178053830348, -0.577215664902)
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

import fungrad.numpy as fnp
from fungrad import lax
from fungrad import nn
from fungrad.custom_derivatives import custom_jvp
from fungrad.numpy.promotion import asarray, promote_inexact
from fungrad.numpy.array_methods import wrap_namespace

__all__ = ["beta", "betainc", "betaln", "digamma", "entr", "erf", "erfc", "erfinv", "expit",
           "factorial", "gamma", "gammainc", "gammaincc", "gammaln", "gammasgn", "i0", "i0e",
           "i1", "i1e", "kl_div", "log_ndtr", "log_softmax", "loggamma", "logit", "logsumexp",
           "multigammaln", "ndtr", "ndtri", "poch", "polygamma", "rel_entr", "softmax", "xlog1py",
           "xlogy"]

_SQRT2 = math.sqrt(2.0)


def _float(x: Any) -> Any:
    return promote_inexact(asarray(x))[0]


def _real(name: str, *args: Any) -> list[Any]:
    """The operands promoted to one real float dtype (complex input raises, as in JAX)."""
    out = promote_inexact(*args)
    if out[0].dtype.kind == "c":
        raise TypeError(f"{name}: complex input is not supported (real operands only)")
    return out


def gammainc(a: Any, x: Any) -> Any:
    """The regularized lower incomplete gamma function ``P(a, x)``.

    Power series below ``x = max(a, 1)``, a continued fraction above; relative error below
    1e-12 for ``a`` in [1e-3, 1e7] (measured against SciPy, and against mpmath for large ``a``,
    where SciPy is less accurate; see ``fungrad.lax.incomplete``). The cost grows like
    ``sqrt(a)`` near ``x = a``.
    NaN for ``a < 0``, ``x < 0`` or ``a = x = 0``. Differentiable in ``x`` and ``a``.

    >>> round(float(gammainc(1.0, 2.0)), 12)   # 1 - exp(-2)
    0.864664716763
    >>> import fungrad
    >>> round(float(fungrad.grad(gammainc, argnums=1)(1.0, 2.0)), 12)   # exp(-2)
    0.135335283237
    """
    return lax.igamma(*_real("gammainc", a, x))


def gammaincc(a: Any, x: Any) -> Any:
    """The regularized upper incomplete gamma function ``Q(a, x) = 1 - P(a, x)``, accurate
    where it is tiny.

    >>> round(float(gammaincc(1.0, 2.0)), 12)   # exp(-2)
    0.135335283237
    """
    return lax.igammac(*_real("gammaincc", a, x))


def betainc(a: Any, b: Any, x: Any) -> Any:
    """The regularized incomplete beta function ``I_x(a, b)``.

    A continued fraction; relative error below 2e-11 against SciPy for ``a, b`` in
    [1e-3, 1e5] (1e-13 near the bulk of the distribution). Differentiable in ``x`` only:
    the gradient in ``a`` or ``b`` raises ``ValueError``, as in JAX.

    >>> round(float(betainc(2.0, 3.0, 0.5)), 12)
    0.6875
    >>> import fungrad
    >>> round(float(fungrad.grad(betainc, argnums=2)(2.0, 3.0, 0.5)), 12)   # the density
    1.5
    """
    return lax.betainc(*_real("betainc", a, b, x))


def gammaln(x: Any) -> Any:
    """``log |Gamma(x)|``; its derivative is ``digamma``."""
    return lax.lgamma(_float(x))


def digamma(x: Any) -> Any:
    """The logarithmic derivative of Gamma (NaN at the poles 0, -1, -2...)."""
    return lax.digamma(_float(x))


def polygamma(n: Any, x: Any) -> Any:
    """The ``n``-th derivative of ``digamma`` (``n`` a concrete non-negative integer).

    >>> round(float(polygamma(1, 1.0)), 12)   # pi**2 / 6
    1.644934066848
    """
    if np.ndim(n) or not float(n).is_integer():
        raise ValueError(f"polygamma: n must be one concrete non-negative integer, got {n!r}")
    return lax.polygamma(int(n), _float(x))


def gamma(x: Any) -> Any:
    """The Gamma function: ``exp(gammaln(x))`` with the sign it has for negative ``x``.

    >>> round(float(gamma(5.0)), 12), round(float(gamma(-0.5)), 12)
    (24.0, -3.544907701811)
    """
    x = _float(x)
    return _gamma_sign(x) * lax.exp(lax.lgamma(x))


def beta(a: Any, b: Any) -> Any:
    """The beta function ``Gamma(a) Gamma(b) / Gamma(a + b)`` (with its sign for negative
    non-integer arguments).

    >>> round(float(beta(2.0, 3.0)), 12)   # 1 / 12
    0.083333333333
    """
    a, b = promote_inexact(a, b)
    sign = _gamma_sign(a) * _gamma_sign(b) * _gamma_sign(a + b)
    return sign * lax.exp(betaln(a, b))


def _gamma_sign(x: Any) -> Any:
    negative_odd = lax.bitwise_and(lax.lt(x, 0.0), lax.ne(lax.rem(lax.floor(x), 2.0), 0.0))
    return fnp.where(negative_odd, -1.0, 1.0)


def factorial(n: Any, exact: bool = False) -> Any:
    """``n! = Gamma(n + 1)``, 0 for negative ``n`` (``exact=True`` is not supported, as in JAX).

    >>> round(float(factorial(4)), 9), float(factorial(-1.0))
    (24.0, 0.0)
    """
    if exact:
        raise NotImplementedError("factorial: exact=True is not supported (as in JAX); use "
                                  "math.factorial for exact integers")
    n = _float(n)
    return fnp.where(lax.lt(n, 0.0), 0.0, lax.exp(lax.lgamma(n + 1.0)))


def gammasgn(x: Any) -> Any:
    """The sign of the Gamma function (NaN at its poles 0, -1, -2, ...; 1 at 0, as SciPy).

    >>> gammasgn(np.array([-2.5, -1.0, 0.5]))
    array([-1., nan,  1.])
    """
    x = _float(x)
    pole = lax.bitwise_and(lax.lt(x, 0.0), lax.eq(x, lax.floor(x)))
    return fnp.where(pole, np.nan, _gamma_sign(x))


def loggamma(x: Any) -> Any:
    """``log(Gamma(x))`` for real ``x > 0`` (NaN for ``x <= 0``, as ``jax.scipy.special``).

    >>> round(float(loggamma(3.0)), 12)
    0.69314718056
    """
    x = _real("loggamma", x)[0]
    return fnp.where(lax.gt(x, 0.0), lax.lgamma(fnp.where(lax.gt(x, 0.0), x, 1.0)), np.nan)


def poch(z: Any, m: Any) -> Any:
    """The rising factorial ``Gamma(z + m) / Gamma(z)``.

    >>> round(float(poch(2.0, 3.0)), 9), round(float(poch(-1.5, 3.0)), 12)
    (24.0, 0.375)
    """
    z, m = promote_inexact(z, m)
    sign = _gamma_sign(z + m) * _gamma_sign(z)
    return sign * lax.exp(lax.lgamma(z + m) - lax.lgamma(z))


def multigammaln(a: Any, d: int) -> Any:
    """The log of the multivariate gamma function of dimension ``d`` (a concrete integer):
    ``d (d - 1) / 4 log(pi) + sum_j gammaln(a - j / 2)`` for j in 0..d-1.

    >>> round(float(multigammaln(3.0, 3)), 12)
    2.694924879807
    """
    if np.ndim(d) or int(d) != d or d < 1:
        raise ValueError(f"multigammaln: d must be one concrete positive integer, got {d!r}")
    a = _float(a)
    d = int(d)
    total = d * (d - 1) / 4 * math.log(math.pi) + gammaln(a)
    for j in range(1, d):
        total = total + gammaln(a - j / 2)
    return total


def i0e(x: Any) -> Any:
    """The exponentially scaled modified Bessel function ``exp(-|x|) I0(x)``.

    >>> round(float(i0e(0.0)), 12), round(float(i0e(1.0)), 12)
    (1.0, 0.465759607594)
    """
    return lax.bessel_i0e(_real("i0e", x)[0])


def i1e(x: Any) -> Any:
    """The exponentially scaled modified Bessel function ``exp(-|x|) I1(x)``.

    >>> round(float(i1e(1.0)), 12)
    0.20791041535
    """
    return lax.bessel_i1e(_real("i1e", x)[0])


def i0(x: Any) -> Any:
    """The modified Bessel function ``I0(x)``.

    >>> round(float(i0(1.0)), 12)
    1.266065877752
    """
    x = _real("i0", x)[0]
    return lax.exp(lax.abs(x)) * lax.bessel_i0e(x)


def i1(x: Any) -> Any:
    """The modified Bessel function ``I1(x)``.

    >>> round(float(i1(1.0)), 12)
    0.565159103992
    """
    x = _real("i1", x)[0]
    return lax.exp(lax.abs(x)) * lax.bessel_i1e(x)


def betaln(a: Any, b: Any) -> Any:
    """``log |B(a, b)| = gammaln(a) + gammaln(b) - gammaln(a + b)``."""
    a, b = promote_inexact(a, b)
    return gammaln(a) + gammaln(b) - gammaln(a + b)


def erf(x: Any) -> Any:
    """The error function."""
    return lax.erf(_float(x))


def erfc(x: Any) -> Any:
    """``1 - erf(x)``, accurate where ``erf`` is close to 1."""
    return lax.erfc(_float(x))


def erfinv(x: Any) -> Any:
    """The inverse of ``erf`` on (-1, 1)."""
    return lax.erf_inv(_float(x))


def expit(x: Any) -> Any:
    """The logistic sigmoid ``1 / (1 + exp(-x))``."""
    return lax.logistic(_float(x))


@custom_jvp
def logit(x: Any) -> Any:
    """``log(x / (1 - x))``, the inverse of ``expit``."""
    x = _float(x)
    return lax.log(lax.div(x, lax.sub(1.0, x)))


@logit.defjvp
def _logit_jvp(primals: Any, tangents: Any) -> Any:
    (x,), (t,) = primals, tangents
    x = _float(x)
    return logit(x), t / (x * (1.0 - x))


def _x_times_log(log: Any, dlog: Any, name: str, doc: str) -> Any:
    """``x * log(y)``, 0 where ``x == 0``, with JAX's derivative ``log(y) tx + x dlog(y) ty``."""
    def fn(x: Any, y: Any) -> Any:
        x, y = promote_inexact(x, y)
        return fnp.where(lax.ne(x, 0.0), lax.mul(x, log(y)), fnp.zeros_like(x))
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    f = custom_jvp(fn)

    @f.defjvp
    def _jvp(primals: Any, tangents: Any) -> Any:
        (x, y), (tx, ty) = primals, tangents
        x, y = promote_inexact(x, y)
        return f(x, y), tx * log(y) + ty * x * dlog(y)
    return f


xlogy = _x_times_log(lax.log, lambda y: 1.0 / y, "xlogy", """``x * log(y)``, 0 where ``x == 0``
    (also when ``y == 0``).

    >>> float(xlogy(0.0, 0.0)), float(xlogy(2.0, np.e))
    (0.0, 2.0)
    """)
xlog1py = _x_times_log(lax.log1p, lambda y: 1.0 / (1.0 + y), "xlog1py",
                       """``x * log1p(y)``, 0 where ``x == 0``.

    >>> float(xlog1py(0.0, -1.0)), float(xlog1py(2.0, np.e - 1))
    (0.0, 2.0)
    """)


def entr(x: Any) -> Any:
    """``-x log x`` for ``x > 0``, 0 at 0, ``-inf`` below."""
    x = _float(x)
    safe = fnp.where(lax.gt(x, 0.0), x, fnp.ones_like(x))
    return fnp.where(lax.gt(x, 0.0), -x * lax.log(safe),
                     fnp.where(lax.eq(x, 0.0), fnp.zeros_like(x), -np.inf))


def ndtr(x: Any) -> Any:
    """The standard normal CDF, ``erfc(-x / sqrt 2) / 2``."""
    x = _float(x)
    return 0.5 * lax.erfc(lax.div(lax.neg(x), _SQRT2))


def ndtri(p: Any) -> Any:
    """The inverse of ``ndtr``, accurate in both tails."""
    return lax.ndtri(_float(p))


def log_ndtr(x: Any) -> Any:
    """``log(ndtr(x))``, accurate in both tails (an asymptotic series below -20).

    >>> round(float(log_ndtr(-40.0)), 6)
    -804.608442
    """
    x = _float(x)
    upper = fnp.where(lax.ge(x, 0.0), x, fnp.zeros_like(x))
    middle = fnp.where(lax.bitwise_and(lax.lt(x, 0.0), lax.ge(x, -20.0)), x, -fnp.ones_like(x))
    lower = fnp.where(lax.lt(x, -20.0), x, -30.0 * fnp.ones_like(x))
    from_upper = lax.log1p(-0.5 * lax.erfc(lax.div(upper, _SQRT2)))
    from_middle = lax.log(0.5 * lax.erfc(lax.div(lax.neg(middle), _SQRT2)))
    z = 1.0 / (lower * lower)  # log(1 - z + 3z^2 - 15z^3 + 105z^4 - 945z^5)
    series = 1.0 + z * (-1.0 + z * (3.0 + z * (-15.0 + z * (105.0 - 945.0 * z))))
    from_lower = (-0.5 * lower * lower - lax.log(-lower) - 0.5 * math.log(2 * math.pi)
                  + lax.log(series))
    return fnp.where(lax.ge(x, 0.0), from_upper,
                     fnp.where(lax.ge(x, -20.0), from_middle, from_lower))


def rel_entr(p: Any, q: Any) -> Any:
    """``p log(p / q)`` for ``p, q > 0``, 0 at ``p = 0 <= q``, ``inf`` otherwise.

    >>> round(float(rel_entr(1.0, 2.0)), 12), float(rel_entr(0.0, 0.0))
    (-0.69314718056, 0.0)
    """
    p, q = promote_inexact(p, q)
    both = lax.bitwise_and(lax.gt(p, 0.0), lax.gt(q, 0.0))
    safe_p, safe_q = fnp.where(both, p, 1.0), fnp.where(both, q, 1.0)
    value = safe_p * lax.log(safe_p / safe_q)
    zero = lax.bitwise_and(lax.eq(p, 0.0), lax.ge(q, 0.0))
    return fnp.where(both, value, fnp.where(zero, 0.0, np.inf))


def kl_div(p: Any, q: Any) -> Any:
    """``p log(p / q) - p + q`` for ``p, q > 0``, ``q`` at ``p = 0 <= q``, ``inf`` otherwise.

    >>> round(float(kl_div(1.0, 2.0)), 12)
    0.30685281944
    """
    p, q = promote_inexact(p, q)
    inside = lax.bitwise_and(lax.ge(p, 0.0), lax.ge(q, 0.0))
    return fnp.where(inside, rel_entr(p, q) - p + q, np.inf)


def logsumexp(a: Any, axis: Any = None, b: Any = None, keepdims: bool = False,
              return_sign: bool = False, where: Any = None) -> Any:
    """``log(sum(b * exp(a)))`` over ``axis``, computed stably; ``where`` leaves elements out.

    >>> round(float(logsumexp(np.array([0.0, 0.0, 5.0]), where=np.array([True, True, False]))), 12)
    0.69314718056
    """
    if where is not None:
        a = fnp.where(where, _float(a), -np.inf)
    return nn.logsumexp(a, axis=axis, b=b, keepdims=keepdims, return_sign=return_sign)


def softmax(x: Any, /, *, axis: Any = None) -> Any:
    """``exp(x) / sum(exp(x))`` over ``axis``: all axes by default, as in SciPy and JAX (unlike
    ``fungrad.nn.softmax``, whose default is the last axis).

    >>> softmax(np.zeros((2, 2)))
    array([[0.25, 0.25],
           [0.25, 0.25]])
    """
    return nn.softmax(x, axis=axis)


def log_softmax(x: Any, /, *, axis: Any = None) -> Any:
    """``x - logsumexp(x)`` over ``axis`` (all axes by default, as in SciPy and JAX).

    >>> round(float(log_softmax(np.zeros((2, 2))).sum()), 9)   # 4 log(1/4)
    -5.545177444
    """
    return nn.log_softmax(x, axis=axis)


# Concrete results are fungrad.Arrays, as JAX's are (tracers pass through).
wrap_namespace(globals())
