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
from fungrad.custom_derivatives import custom_jvp
from fungrad.nn import log_softmax, logsumexp, softmax
from fungrad.numpy.promotion import asarray, promote_inexact

__all__ = ["betaln", "digamma", "entr", "erf", "erfc", "erfinv", "expit", "gamma", "gammaln",
           "log_ndtr", "log_softmax", "logit", "logsumexp", "ndtr", "ndtri", "polygamma",
           "softmax", "xlog1py", "xlogy"]

_SQRT2 = math.sqrt(2.0)


def _float(x: Any) -> Any:
    return promote_inexact(asarray(x))[0]


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
    negative_odd = lax.bitwise_and(lax.lt(x, 0.0), lax.ne(lax.rem(lax.floor(x), 2.0), 0.0))
    return fnp.where(negative_odd, -1.0, 1.0) * lax.exp(lax.lgamma(x))


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
