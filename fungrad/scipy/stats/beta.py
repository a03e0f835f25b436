"""The beta distribution with shapes ``a`` and ``b`` on ``[loc, loc + scale]``.

Its ``cdf`` and ``sf`` are the incomplete beta function, differentiable in ``x`` (and ``loc``,
``scale``) but not in ``a`` or ``b``, as in JAX.

>>> round(float(pdf(0.5, 2.0, 2.0)), 12), round(float(cdf(0.5, 2.0, 3.0)), 12)
(1.5, 0.6875)
"""
from __future__ import annotations

from typing import Any

import fungrad.numpy as fnp
from fungrad import lax
from fungrad.numpy.promotion import promote_inexact
from fungrad.scipy.special import betainc, betaln, xlog1py, xlogy
from fungrad.numpy.array_methods import wrap_namespace


def logpdf(x: Any, a: Any, b: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """Log density (``-inf`` outside ``[loc, loc + scale]``)."""
    x, a, b, loc, scale = promote_inexact(x, a, b, loc, scale)
    y = (x - loc) / scale
    inside = fnp.logical_and(lax.ge(y, 0.0), lax.le(y, 1.0))
    y = fnp.where(inside, y, 0.5 * fnp.ones_like(y))
    value = xlogy(a - 1.0, y) + xlog1py(b - 1.0, -y) - betaln(a, b) - lax.log(scale)
    return fnp.where(inside, value, -fnp.inf)


def pdf(x: Any, a: Any, b: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """Density."""
    return lax.exp(logpdf(x, a, b, loc, scale))


def _unit(x: Any, loc: Any, scale: Any) -> Any:
    return lax.clamp(0.0, (x - loc) / scale, 1.0)


def cdf(x: Any, a: Any, b: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """Distribution function ``I_y(a, b)`` at ``y = (x - loc) / scale`` clipped to [0, 1].

    >>> float(cdf(0.25, 1.0, 1.0))
    0.25
    """
    x, a, b, loc, scale = promote_inexact(x, a, b, loc, scale)
    return betainc(a, b, _unit(x, loc, scale))


def logcdf(x: Any, a: Any, b: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """``log(cdf)``."""
    return lax.log(cdf(x, a, b, loc, scale))


def sf(x: Any, a: Any, b: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """Survival function ``I_{1-y}(b, a)``, accurate where it is tiny.

    >>> float(sf(0.25, 1.0, 1.0))
    0.75
    """
    x, a, b, loc, scale = promote_inexact(x, a, b, loc, scale)
    return betainc(b, a, 1.0 - _unit(x, loc, scale))


def logsf(x: Any, a: Any, b: Any, loc: Any = 0, scale: Any = 1) -> Any:
    """``log(sf)``."""
    return lax.log(sf(x, a, b, loc, scale))


# Concrete results are fungrad.Arrays, as JAX's are (tracers pass through).
wrap_namespace(globals())
